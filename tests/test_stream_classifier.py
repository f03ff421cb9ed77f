"""One test, three paths: the stream runner's classifications of the demo video equal the offline
dataset path's and the live Socket.IO server's for the same frames and model.

The frames are the runner's own pose results (real MediaPipe on the demo video); the model is a
bundle trained on them through the documented training path (5-frame windows flattened into
columns), served with stride 2, so windows overlap and only every other frame completes one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from api_server import ApiServer, frame_message, live_clients
from sklearn.ensemble import RandomForestClassifier

from stream_pose_ml.datasets import Dataset
from stream_pose_ml.features import window_starts
from stream_pose_ml.features.columns import is_feature_column
from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob
from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.learning.bundle import save_bundle
from stream_pose_ml.learning.loading import load_model
from stream_pose_ml.stream import ClassifierAlgo, PoseAlgo, StreamRunner
from stream_pose_ml.stream.results import read_results

pytestmark = pytest.mark.slow

N_FRAMES, WINDOW, STRIDE = 48, 5, 2
DEMO_SIZE = (1768, 994)


def runner_results(video: Path, tmp_path: Path, algorithms: list, name: str) -> list[dict]:
    out = tmp_path / f"{name}.jsonl"
    StreamRunner(video, algorithms, outputs=[out], max_frames=N_FRAMES).run()
    return read_results(out)[1]


@pytest.fixture(scope="module")
def poses(demo_video: Path, tmp_path_factory: pytest.TempPathFactory) -> PoseSequence:
    records = runner_results(
        demo_video, tmp_path_factory.mktemp("pose"), [PoseAlgo(complexity="lite")], "pose"
    )
    landmarks = [r["value"]["landmarks"] for r in records]
    assert len(landmarks) == N_FRAMES and all(x is not None for x in landmarks)
    return PoseSequence.from_mediapipe(
        [np.asarray(x, dtype=float) for x in landmarks], fps=30, image_size=DEMO_SIZE
    )


@pytest.fixture(scope="module")
def bundle(poses: PoseSequence, tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = ["up" if (i // 6) % 2 else "down" for i in range(len(poses))]
    table = BuildAndFormatDatasetJob().format_dataset(
        dataset=Dataset.from_labels([poses], [{"arms": labels}], video_ids=["demo"]),
        include_unlabeled_data=True,
        include_joints=True,
        segmentation_strategy="flatten_into_columns",
        segmentation_window=WINDOW,
        segmentation_window_label="arms",
    )
    columns = [c for c in table.columns if is_feature_column(c)]
    rows = table.dropna(subset=columns)
    model = RandomForestClassifier(n_estimators=15, max_depth=3, random_state=0)
    model.fit(rows[columns].to_numpy(), rows["arms"])
    path = tmp_path_factory.mktemp("model") / "arms.zip"
    spec = table.attrs["feature_spec"]
    return save_bundle(path, model, columns, feature_spec=spec, window_stride=STRIDE)


def test_runner_offline_dataset_path_and_live_server_classify_alike(
    demo_video: Path, poses: PoseSequence, bundle: Path, tmp_path: Path
) -> None:
    # 1. the stream runner: pose, then the classifier, over the video
    records = runner_results(
        demo_video,
        tmp_path,
        [PoseAlgo(complexity="lite"), ClassifierAlgo(bundle)],
        "classified",
    )
    pose = {r["frame_index"]: r["value"]["landmarks"] for r in records if r["algorithm"] == "pose"}
    np.testing.assert_array_equal(np.array([pose[i] for i in range(N_FRAMES)]), poses.data)
    runner = {
        r["frame_index"]: (r["value"]["label"], r["value"]["probabilities"])
        for r in records
        if r["algorithm"] == "classifier"
    }
    windows = [
        (r["window_start"], r["window_end"]) for r in records if r["algorithm"] == "classifier"
    ]
    assert windows == [(s, s + WINDOW - 1) for s in range(0, N_FRAMES - WINDOW + 1, STRIDE)]

    # 2. the offline dataset path: the same windows through the model's pipeline
    model = load_model(bundle)
    assert model.window_stride == STRIDE
    starts = window_starts(N_FRAMES, WINDOW, STRIDE)
    proba = model.pipeline().predict_proba([poses[s : s + WINDOW] for s in starts])
    names = model.label(model.classes)
    ends = [int(s) + WINDOW - 1 for s in starts]
    offline = {
        end: (names[int(np.argmax(p))], dict(zip(names, map(float, p), strict=True)))
        for end, p in zip(ends, proba, strict=True)
    }

    # 3. the live server: a real gunicorn process and a real Socket.IO client
    with ApiServer(tmp_path / "data") as api:
        assert api.upload(bundle).status_code == 200
        with live_clients(api.url, 1) as (client,):
            for i in range(N_FRAMES):  # each due window answered before the next frame goes
                message = frame_message(poses.data[i], frame_id=i, image_size=DEMO_SIZE)
                client.emit("keypoints", message)
                if i in ends:
                    client.wait_for(
                        "frame_result", lambda r, i=i: r["frame_id"] == i and r["label"]
                    )
            answers = [x for r in client.received("frame_result") for x in r.get("results", [r])]
            live = {
                r["frame_id"]: (r["label"], r["probabilities"])
                for r in answers
                if r["label"] is not None
            }
    assert sorted(runner) == sorted(offline) == sorted(live) == ends
    labels = {
        path: {k: v[0] for k, v in d.items()}
        for path, d in (("runner", runner), ("offline", offline), ("live", live))
    }
    assert labels["runner"] == labels["offline"] == labels["live"]
    assert len(set(labels["runner"].values())) == 2  # both classes occur: a real comparison
    for end in ends:
        for name in names:
            assert runner[end][1][name] == pytest.approx(offline[end][1][name], abs=1e-12)
            assert live[end][1][name] == pytest.approx(offline[end][1][name], abs=1e-12)
