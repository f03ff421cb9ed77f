"""The example model: "Arms Raised" vs "Arms Lowered", trained on the real demo video.

Demo video (``stream_pose_ml.demo_data``) -> ``ProcessVideosJob`` (MediaPipe keypoints) ->
``BuildAndFormatDatasetJob`` with the hand-made annotations in ``examples/demo/`` ->
ModelBuilder -> a bundle (directory and zip) plus the legacy pickle.
``scripts/build_example_model.py`` is the command line; docs/example.md walks through it.

Choices, and why:

* **One frame per row** (segmentation ``none``, window 1). Raising the arms is a posture, not a
  motion, so one frame holds the answer, with no start-up lag. The demo video has 219 labelled
  frames: the ``window`` / ``flatten_*`` strategies cut non-overlapping tiles, which would leave
  about 21 rows (6 raised) for W=10.
* **Served every third frame** (stride 3: ten answers a second at 30 fps). An arm posture does not
  change faster, and a client then sends three frames per message (docs/api.md, "Sending
  frames"), so a server carries three times the sessions of one message per frame.
* **Logistic regression on standardised features** (missing values as 0, so a frame without a
  detection is answered "Arms Lowered" rather than an error), the cheapest model that scores as
  well as a 100-tree random forest on the held-out blocks (accuracy 0.946, ROC AUC 1.0 for both;
  gradient-boosted trees scored 0.71, their splits not reaching a held-out block's arm
  positions): one answer is a dot product, where the forest took 7 to 12 ms per call.
* **Arm features only**: body-centred, torso-scaled coordinates (``norm_*``, origin mid-hip) of
  shoulders, elbows and wrists, and the elbow and shoulder angles. No raw image positions (a webcam
  user stands elsewhere in the picture) and no legs (in the demo's jumping jacks the legs spread
  with the arms, but a webcam user raising the arms may stand still or show no legs at all).
* **Held-out runs, not held-out frames**: with one video, neighbouring frames are near-duplicates,
  so every split groups rows by blocks of at most 20 frames of one contiguous annotation run of
  the ``arms`` class (``arms_block``), never by single frames.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stream_pose_ml import __version__
from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.learning.model_builder import ModelBuilder

log = logging.getLogger(__name__)

#: ``examples/demo`` of a source checkout: ``config.yml`` and ``annotations/demo.json``.
EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "demo"
TARGET = "arms"
POSITIVE_LABEL = "Arms Raised"
VALUE_MAP: dict[str, dict[str, int]] = {TARGET: {"Arms Lowered": 0, POSITIVE_LABEL: 1}}
#: Column holding the id of each row's contiguous annotation run (the split's groups).
GROUP_COLUMN = "arms_block"
ARM_LANDMARKS: tuple[str, ...] = (
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
ARM_ANGLES: tuple[str, ...] = (
    "angle_left_elbow",
    "angle_right_elbow",
    "angle_left_shoulder",
    "angle_right_shoulder",
)
#: Everything that decides the model; part of the fingerprint of a build.
SETTINGS: dict[str, Any] = {
    "segmentation_strategy": "none",
    "window": 1,
    "stride": 3,
    "decimal_precision": 4,
    "classifier": "logistic-regression",
    "params": {"C": 1.0},
    "block_frames": 20,
    "test_size": 0.25,
    "random_state": 7,
    "cv_splits": 3,
}
BUNDLE_NAME = "arms_raised"
BUILD_INFO = "build.json"


@dataclass
class ExampleModel:
    """Paths and numbers of a built example model (``build.json`` in the output folder)."""

    bundle_dir: Path
    bundle_zip: Path
    legacy_pickle: Path
    dataset_csv: Path
    sequence_npz: Path
    plots_dir: Path
    fingerprint: str
    metrics: dict[str, float | None] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    reused: bool = False

    def outputs(self) -> list[Path]:
        return [self.bundle_dir, self.bundle_zip, self.legacy_pickle, self.dataset_csv]

    def to_dict(self, root: Path) -> dict[str, Any]:
        """JSON-ready, with paths relative to ``root`` (the output folder may move)."""
        data = asdict(self)
        data.pop("reused")
        return {
            k: Path(v).relative_to(root).as_posix() if k in _PATH_FIELDS else v
            for k, v in data.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], root: Path) -> ExampleModel:
        return cls(**{k: root / v if k in _PATH_FIELDS else v for k, v in data.items()})


_PATH_FIELDS = (
    "bundle_dir",
    "bundle_zip",
    "legacy_pickle",
    "dataset_csv",
    "sequence_npz",
    "plots_dir",
)


def arm_feature_columns(columns: Sequence[str]) -> list[str]:
    """The model's inputs among a table's columns: arm ``norm_*`` coordinates and arm angles."""
    norm = {f"norm_{name}_{axis}" for name in ARM_LANDMARKS for axis in ("x", "y")}
    chosen = [c for c in columns if c in norm or c in ARM_ANGLES]
    if len(chosen) != len(norm) + len(ARM_ANGLES):
        raise TrainingDataError(
            f"the dataset lacks arm features {sorted((norm | set(ARM_ANGLES)) - set(chosen))}; "
            "build it with include_normalized=True and include_angles=True"
        )
    return chosen


def annotation_blocks(
    table: pd.DataFrame, label_class: str = TARGET, max_frames: int = 20
) -> np.ndarray:
    """Group id per row ``(rows,)``: contiguous annotation runs cut into blocks of at most
    ``max_frames`` frames.

    A run ends where the label or the video changes or frames are skipped (rows must be in frame
    order within each video). Long runs are cut so that a split can hold out parts of them and
    still keep the classes on both sides; neighbouring frames share a block.
    """
    label = table[label_class].astype("string").fillna("")
    frames = table["frame_number"].to_numpy()
    video = table["video_id"].astype(str)
    new = (label != label.shift()) | (video != video.shift())
    new |= pd.Series(np.r_[True, np.diff(frames) != 1], index=table.index)
    run = np.cumsum(new.to_numpy())
    run_start = pd.Series(np.arange(len(table))).groupby(run).transform("min").to_numpy()
    block = (np.arange(len(table)) - run_start) // max_frames
    _, ids = np.unique(np.stack([run, block], axis=1), axis=0, return_inverse=True)
    return ids.reshape(-1)


def extract_demo_keypoints(sequences_dir: Path, video: Path | None = None) -> Path:
    """MediaPipe keypoints of the demo video as ``<sequences_dir>/demo.npz`` (reused if current)."""
    from stream_pose_ml.demo_data import demo_video_path
    from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob, VideoResult

    video = video or demo_video_path()
    output = ProcessVideosJob().process_videos(
        src_videos_path=video,
        output_sequence_data_path=sequences_dir,
        write_serialized_sequence_to_file=True,
        configuration={},
        workers=1,
        progress=False,
    )
    assert isinstance(output, dict)  # return_output=False: the path map with "videos"
    results: list[VideoResult] = output["videos"]
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise TrainingDataError(f"keypoint extraction failed for {video}: {failed[0].error}")
    return sequences_dir / f"{video.stem}.npz"


def build_demo_dataset(sequences_dir: Path, example_dir: Path = EXAMPLE_DIR) -> pd.DataFrame:
    """The labelled per-frame feature table of the demo video, plus ``arms_block``.

    One row per labelled frame (219 for the demo): ``video_id``, ``step_frame_id``,
    ``frame_number``, ``movement``, ``arms``, then ``norm_*``, ``angle_*`` and ``dist_*``
    features (``attrs["feature_spec"]`` records the spec), then ``arms_block``
    (:func:`annotation_blocks`).
    """
    from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob

    config = example_dir / "config.yml"
    if not config.is_file():
        raise TrainingDataError(
            f"{config}: the demo annotation schema is missing; run from a source checkout or "
            "pass the folder holding config.yml and annotations/"
        )
    job = BuildAndFormatDatasetJob(config=config, strict=True)
    dataset = job.build_dataset_from_data_files(
        annotations_data_directory=example_dir / "annotations",
        sequence_data_directory=sequences_dir,
    )
    table = job.format_dataset(
        dataset=dataset,
        pool_frame_data_by_clip=False,
        decimal_precision=SETTINGS["decimal_precision"],
        include_unlabeled_data=False,
        include_angles=True,
        include_distances=True,
        include_normalized=True,
        include_joints=False,
        segmentation_strategy=SETTINGS["segmentation_strategy"],
    )
    table[GROUP_COLUMN] = annotation_blocks(table, max_frames=SETTINGS["block_frames"])
    return table


def train_arms_model(table: pd.DataFrame, data_dir: Path, verbose: bool = True) -> ModelBuilder:
    """Fit the ``arms`` classifier with the notebooks' ModelBuilder calls, split by ``arms_block``.

    The table is :func:`build_demo_dataset`'s. Returns the builder, evaluated (``report``).
    """
    builder = ModelBuilder(data_dir=data_dir, n_jobs=1, verbose=verbose)
    builder.load_and_prep_dataset(
        table,
        target=TARGET,
        value_map=VALUE_MAP,
        column_whitelist=arm_feature_columns(table.columns),
        group_column=GROUP_COLUMN,
        source="demo video",
    )
    builder.set_train_test_split(
        test_size=SETTINGS["test_size"],
        random_state=SETTINGS["random_state"],
        balance_off_target=True,
        upsample_minority=True,
    )
    builder.train(
        arms_classifier(SETTINGS["random_state"]),
        params=SETTINGS["params"],
        random_state=SETTINGS["random_state"],
        model_type=SETTINGS["classifier"],
    )
    # 3 folds: each holds one of the demo's three raised runs, so every fold scores both classes
    builder.evaluate_model(output_dir=data_dir / "plots", cv_splits=SETTINGS["cv_splits"])
    return builder


def arms_classifier(random_state: int) -> Any:
    """Imputation, standardisation, logistic regression (``ModelBuilder``'s
    ``logistic-regression`` with an imputer in front): a frame in which nobody is detected (NaN
    features) gets an answer instead of an error. Missing values become 0 (a point at the
    mid-hip, a closed angle), which the model reads as arms lowered (probability of raised 0.000
    for an empty frame), so an empty room never says Arms Raised."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value=0.0)),
            ("scaler", StandardScaler()),
            ("logreg", LogisticRegression(max_iter=2000, random_state=random_state)),
        ]
    )


def fingerprint(video: Path, example_dir: Path = EXAMPLE_DIR) -> str:
    """SHA-256 over everything a build depends on: inputs, settings, code, versions."""
    import sklearn

    digest = hashlib.sha256()
    for path in (
        video,
        example_dir / "config.yml",
        example_dir / "annotations" / "demo.json",
        Path(__file__),
    ):
        if not path.is_file():
            raise TrainingDataError(
                f"{path}: missing; the example needs the demo video and examples/demo/ of a "
                "source checkout (config.yml, annotations/demo.json)"
            )
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps([SETTINGS, __version__, sklearn.__version__]).encode())
    return digest.hexdigest()


def build_example_model(
    out_dir: str | Path,
    *,
    force: bool = False,
    video: Path | None = None,
    example_dir: Path = EXAMPLE_DIR,
    verbose: bool = True,
) -> ExampleModel:
    """Build (or reuse) the example model in ``out_dir``.

    Writes ``arms_raised/`` (bundle) and ``arms_raised.zip``, ``arms_raised.pickle`` (legacy
    ``{"classifier": model, ...}``) with ``arms_raised-meta.json``, ``dataset.csv``,
    ``sequences/demo.npz``, ``plots/*.png`` and ``build.json``. When ``build.json`` holds the
    current fingerprint and every output exists, nothing is rebuilt (``reused``) unless ``force``.
    """
    from stream_pose_ml.demo_data import demo_video_path
    from stream_pose_ml.learning.serialization import zip_directory

    out = Path(out_dir)
    video = video or demo_video_path()
    stamp = fingerprint(video, example_dir)
    info_path = out / BUILD_INFO
    if not force and info_path.is_file():
        try:
            previous = ExampleModel.from_dict(json.loads(info_path.read_text()), out)
        except (ValueError, KeyError, TypeError):
            log.warning("%s is unreadable; rebuilding", info_path)
        else:
            if previous.fingerprint == stamp and all(p.exists() for p in previous.outputs()):
                previous.reused = True
                return previous
            log.info("%s is out of date; rebuilding", info_path)

    out.mkdir(parents=True, exist_ok=True)
    info_path.unlink(missing_ok=True)  # a build interrupted from here on is not current
    npz = extract_demo_keypoints(out / "sequences", video)
    table = build_demo_dataset(out / "sequences", example_dir)
    dataset_csv = out / "dataset.csv"
    table.to_csv(dataset_csv, index=False)
    builder = train_arms_model(table, out, verbose=verbose)
    assert builder.report is not None

    notes = (
        "Example model: Arms Raised (1) vs Arms Lowered (0), one frame per row, trained on the "
        "StreamPoseML demo video with examples/demo/annotations/demo.json"
    )
    bundle_dir = out / BUNDLE_NAME
    builder.save_bundle(bundle_dir, notes=notes, window_stride=SETTINGS["stride"], overwrite=True)
    bundle_zip = zip_directory(bundle_dir, out / f"{BUNDLE_NAME}.zip")
    builder.verbose = False  # its message would name the temporary file
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        written = builder.save_model_and_datasets(
            notes=notes, model_type=SETTINGS["classifier"], model_path=tmp
        )
        legacy = out / f"{BUNDLE_NAME}.pickle"
        written.replace(legacy)
        written.with_name(f"{written.stem}-meta.json").replace(out / f"{BUNDLE_NAME}-meta.json")
    result = ExampleModel(
        bundle_dir=bundle_dir,
        bundle_zip=bundle_zip,
        legacy_pickle=legacy,
        dataset_csv=dataset_csv,
        sequence_npz=npz,
        plots_dir=out / "plots",
        fingerprint=stamp,
        metrics={
            k: None if not np.isfinite(v) else round(v, 4)
            for k, v in builder.report.metrics().items()
        },
        split=builder.split_info,
    )
    info_path.write_text(json.dumps(result.to_dict(out), indent=2) + "\n")
    return result
