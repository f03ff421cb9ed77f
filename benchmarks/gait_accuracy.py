"""The gait analyzer's accuracy as docs/analysis.md reports it (not a speed benchmark).

On generated walking and running (`tests/analysis_battery.gait_sessions`, scored by
`score_gait`): the coordinate method with the heel-speed rule and with Zeni's peak alone, and
the floor line; with ``--landing-speeds``, the share within one frame as the generator's landing
speed changes; with ``--classifier``, the classifier method trained on seeds 16-47 and scored
on 0-15; with ``--demo``, the demo video's walker against the labelled contacts (MediaPipe, as
`tests/test_analysis_gait_demo.py`), and the heel's speed at those contacts.

    .venv/bin/python benchmarks/gait_accuracy.py --landing-speeds --classifier --demo
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import analysis_battery  # noqa: E402

from stream_pose_ml.analysis import analyze  # noqa: E402
from stream_pose_ml.analysis.gait import GaitAnalyzer, GaitParams  # noqa: E402
from stream_pose_ml.analysis.walking import WalkingSession, walking_session  # noqa: E402
from stream_pose_ml.keypoints import PoseSequence  # noqa: E402
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX  # noqa: E402

logger = logging.getLogger("gait_accuracy")
LABELS = REPO / "tests" / "data" / "demo_walker_contacts.json"
RULES = {"heel_speed": GaitParams(), "peak": GaitParams(contact_rule="peak")}


def by_gait(sessions: list[WalkingSession]) -> dict[str, list[WalkingSession]]:
    return {
        "walking": [s for s in sessions if s.duty > 0.5],
        "running": [s for s in sessions if s.duty < 0.5],
    }


def generated(seeds: range) -> dict[str, Any]:
    """Contacts and toe-offs of each method, walking and running."""
    groups = by_gait(analysis_battery.gait_sessions(seeds))
    methods = {**RULES, "floor_line": GaitParams(method="floor_line")}
    return {
        f"{name} {gait}": analysis_battery.score_gait(group, params)
        for name, params in methods.items()
        for gait, group in groups.items()
    }


def landing_speeds(seeds: range, speeds: list[float]) -> dict[str, Any]:
    """Share of contacts within one frame as the generated heel lands faster or slower."""
    out: dict[str, Any] = {}
    make = analysis_battery.walking_session
    try:
        for speed in speeds:
            analysis_battery.walking_session = (  # type: ignore[assignment]
                lambda *a, speed=speed, **k: walking_session(*a, contact_speed=speed, **k)
            )
            groups = by_gait(analysis_battery.gait_sessions(seeds))
            out[str(speed)] = {
                f"{rule} {gait}": analysis_battery.score_gait(group, params)["initial_contact"][
                    "within_1_frame"
                ]
                for rule, params in RULES.items()
                for gait, group in groups.items()
            }
    finally:
        analysis_battery.walking_session = make
    return out


def classifier() -> tuple[Any, dict[str, Any]]:
    """The classifier method trained on seeds 16-47, scored on 0-15 beside the coordinate's."""
    from stream_pose_ml.analysis.gait_model import (
        GaitRecording,
        gait_feature_table,
        train_gait_model,
    )

    train = analysis_battery.gait_sessions(range(16, 48))
    table = gait_feature_table(
        [GaitRecording(s.sequence, f"seed-{i}", s.truth.contacts) for i, s in enumerate(train)]
    )
    builder, model = train_gait_model(table, tempfile.mkdtemp(prefix="gait-model-"))
    out: dict[str, Any] = {"rows": len(table), "test_roc_auc": builder.report.roc_auc}
    for gait, group in by_gait(analysis_battery.gait_sessions(range(16))).items():
        out[f"classifier {gait}"] = analysis_battery.score_gait(
            group, GaitParams(method="classifier"), model=model
        )["initial_contact"]
        out[f"coordinate {gait}"] = analysis_battery.score_gait(group, GaitParams())[
            "initial_contact"
        ]
    return model, out


def demo_walker() -> PoseSequence:
    from stream_pose_ml.demo_data import DEMO_FPS, DEMO_SIZE, demo_video_path
    from stream_pose_ml.extraction.pose_estimator import PoseEstimator
    from stream_pose_ml.extraction.video import iter_frames
    from stream_pose_ml.tracking import choose_subject, track_people

    with PoseEstimator(num_poses=2, complexity="full") as estimator:
        frames = [
            estimator.detect_people(rgb, round(i * 1000 / DEMO_FPS))
            for i, rgb in iter_frames(demo_video_path())
        ]
    people = track_people(frames, fps=DEMO_FPS, image_size=DEMO_SIZE)
    return people[choose_subject(people, "moves_most")]


def demo(model: Any = None) -> dict[str, Any]:
    """Each method's contacts on the demo walker against the labels, and the heel's forward
    speed at each labelled contact as a share of the walking speed (central differences of the
    landing heel's x against the pelvis's median speed over the walk)."""
    walker = demo_walker()
    labels = np.array(json.loads(LABELS.read_text())["frames"])
    methods: dict[str, tuple[GaitParams, Any]] = {k: (v, None) for k, v in RULES.items()}
    if model is not None:
        methods["classifier"] = (GaitParams(method="classifier"), model)
    out: dict[str, Any] = {}
    feet: dict[int, str] = {}
    for name, (params, gait_model) in methods.items():
        events = analyze(GaitAnalyzer(params, gait_model), walker).events
        contacts = [e for e in events if e.kind == "initial_contact"]
        found = np.array([e.start_frame for e in contacts])
        nearest = [int(np.argmin(np.abs(found - f))) for f in labels]
        errors = found[nearest] - labels
        if name == "heel_speed":
            feet = {
                int(f): str(contacts[i].values["foot"])
                for f, i in zip(labels, nearest, strict=True)
            }
        out[name] = {
            "errors_frames": errors.tolist(),
            "within_1_frame": float(np.mean(np.abs(errors) <= 1)),
            "within_2_frames": float(np.mean(np.abs(errors) <= 2)),
            "mean_error_frames": round(float(errors.mean()), 2),
        }
    x = walker.data[..., 0]
    pelvis = x[:, [BLAZEPOSE_INDEX["left_hip"], BLAZEPOSE_INDEX["right_hip"]]].mean(axis=1)
    walking = abs(float(np.nanmedian(np.diff(pelvis[labels[0] : labels[-1] + 1]))))
    shares = [
        abs(
            x[f + 1, BLAZEPOSE_INDEX[f"{feet[f]}_heel"]]
            - x[f - 1, BLAZEPOSE_INDEX[f"{feet[f]}_heel"]]
        )
        / 2
        / walking
        for f in labels.tolist()
    ]
    out["landing_speed_share"] = {
        "per_contact": [round(float(v), 2) for v in shares],
        "median": round(float(np.median(shares)), 2),
        "walking_px_per_frame": round(walking * (walker.image_size or (1, 1))[0], 1),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=32, help="generated sessions 0..N-1")
    parser.add_argument("--landing-speeds", action="store_true")
    parser.add_argument("--classifier", action="store_true")
    parser.add_argument("--demo", action="store_true", help="MediaPipe on the demo video")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report: dict[str, Any] = {"generated": generated(range(args.seeds))}
    if args.landing_speeds:
        speeds = [0.0, 0.4, 0.6, 0.8, 1.0, 1.2]
        report["landing_speeds"] = landing_speeds(range(args.seeds), speeds)
    model = None
    if args.classifier:
        model, report["classifier"] = classifier()
    if args.demo:
        report["demo"] = demo(model)
    logger.info("%s", json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
