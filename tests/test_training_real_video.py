"""Training on the real demo video: the example "Arms Raised" model (learning/example.py).

The dataset is built once per module from real MediaPipe keypoints of the demo video and the
hand-made annotations in examples/demo/ (218 labelled frames with a detection, 56 "Arms Raised").

Why the held-out rows are whole blocks and not random frames: the data is one 30 fps video, so a
frame and its neighbour are near-duplicates (same person, same posture, 33 ms apart). A random
frame split scores how well the model remembers the clip. Every split here keeps whole blocks of
at most 20 consecutive frames of one annotation run together (``arms_block``; the raised runs are
18-19 frames, so each is one block), and the strongest check holds out each block in turn.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import LeaveOneGroupOut

from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.learning.example import (
    GROUP_COLUMN,
    POSITIVE_LABEL,
    ExampleModel,
    arm_feature_columns,
    build_demo_dataset,
    build_example_model,
    train_arms_model,
)
from stream_pose_ml.learning.loading import load_model

RAISED_RUNS = [(15, 32), (50, 68), (138, 156)]  # examples/demo/annotations/demo.json


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_video) -> ExampleModel:
    """The example model built once for this module (what scripts/build_example_model.py does)."""
    out = tmp_path_factory.mktemp("example_model")
    return build_example_model(out, video=demo_video, verbose=False)


@pytest.fixture(scope="module")
def table(built) -> pd.DataFrame:
    return build_demo_dataset(built.sequence_npz.parent)


@pytest.fixture(scope="module")
def sequence(built) -> PoseSequence:
    return PoseSequence.from_npz(built.sequence_npz)


def raised(frames: np.ndarray) -> np.ndarray:
    return np.any([(frames >= a) & (frames <= b) for a, b in RAISED_RUNS], axis=0)


def test_the_dataset_is_the_annotated_video(table) -> None:
    assert len(table) == 219
    assert table["arms"].value_counts().to_dict() == {"Arms Lowered": 163, "Arms Raised": 56}
    frames = table["frame_number"].to_numpy()
    np.testing.assert_array_equal(table["arms"] == POSITIVE_LABEL, raised(frames))
    for _, block in table.groupby(GROUP_COLUMN):
        assert block["arms"].nunique() == 1 and len(block) <= 20
        assert np.all(np.diff(block["frame_number"]) == 1)
    assert table[GROUP_COLUMN].nunique() == 13


def test_training_scores_well_above_chance_on_held_out_blocks(table, tmp_path) -> None:
    builder = train_arms_model(table, tmp_path, verbose=False)
    report = builder.report
    majority = 1 - 56 / 218  # always answering "Arms Lowered"
    print(report.summary())  # noqa: T201 - the metrics, shown by pytest -s and on failure
    assert set(builder.y_test) == {0, 1}
    assert not set(builder.groups_test) & set(builder._groups_train_raw)
    assert report.accuracy > majority + 0.1
    assert report.roc_auc > 0.9 and report.f1 > 0.7
    assert np.nanmean(report.cv_scores["roc_auc"]) > 0.9
    assert (tmp_path / "plots" / "roc_curve.png").stat().st_size > 1000

    # Each block predicted by a model that never saw it: every frame is held out once.
    X, y, groups = builder.X, builder.y.to_numpy(), builder.groups.to_numpy()
    scores = np.empty(len(y))
    for train, test in LeaveOneGroupOut().split(X, y, groups):
        model = clone(builder.model).fit(X.iloc[train], y[train])
        scores[test] = model.predict_proba(X.iloc[test])[:, 1]
    accuracy, auc = accuracy_score(y, scores > 0.5), roc_auc_score(y, scores)
    print(  # noqa: T201
        f"leave-one-block-out: accuracy {accuracy:.3f}, ROC AUC {auc:.3f} (chance {majority:.3f})"
    )
    assert accuracy > 0.9 and auc > 0.95

    # The same model on shuffled labels (whole blocks keep their label) is at chance.
    rng = np.random.default_rng(0)
    block_ids = np.unique(groups)
    shuffled = dict(
        zip(block_ids, rng.permutation([y[groups == g][0] for g in block_ids]), strict=True)
    )
    y_null = np.array([shuffled[g] for g in groups])
    null = np.empty(len(y))
    for train, test in LeaveOneGroupOut().split(X, y_null, groups):
        model = clone(builder.model).fit(X.iloc[train], y_null[train])
        null[test] = model.predict_proba(X.iloc[test])[:, 1]
    null_auc = roc_auc_score(y, null)
    print(f"same model, labels shuffled between blocks: ROC AUC {null_auc:.3f}")  # noqa: T201
    assert null_auc < auc - 0.2


def test_bundle_manifest_describes_a_live_model(built) -> None:
    manifest = json.loads((built.bundle_dir / "manifest.json").read_text())
    assert manifest["window"] == {"size": 1, "stride": 3}  # every third frame is classified
    assert manifest["classes"] == [0, 1]
    # the web UI maps the second of the sorted class labels (the positive class) to byte "a"
    assert manifest["class_labels"] == sorted(manifest["class_labels"])
    assert manifest["class_labels"] == ["Arms Lowered", POSITIVE_LABEL]
    columns = manifest["input_columns"]
    assert columns == arm_feature_columns(columns)
    assert not any(c.startswith(("joint_", "dist_")) for c in columns)  # no image positions
    assert manifest["feature_spec"]["normalized"] and manifest["feature_spec"]["angles"]
    assert manifest["metrics"]["roc_auc"] == pytest.approx(built.metrics["roc_auc"], abs=1e-4)


def test_bundle_transform_reproduces_the_dataset_rows(built, table, sequence) -> None:
    model = load_model(built.bundle_dir)
    transform = model.feature_transform()
    window = model.window_size
    columns = list(model.input_columns)
    assert list(transform.get_feature_names_out()) == columns
    rows = table.set_index("frame_number")[columns]
    # the last W frames up to a frame, as the live server holds them
    for frame in (15, 40, 60, 100, 150, 200, int(rows.index[-1])):
        got = transform.transform(sequence[frame - window + 1 : frame + 1])
        assert got.shape == (1, len(columns))
        np.testing.assert_array_equal(got[0], rows.loc[frame].to_numpy(float))
    # every window of the sequence, against the table and the CSV the script wrote
    every = transform.transform(sequence)  # window i ends at frame i + W - 1
    ends = rows.index.to_numpy() - (window - 1)
    np.testing.assert_array_equal(every[ends], rows.to_numpy(float))
    csv = pd.read_csv(built.dataset_csv).set_index("frame_number")[columns]
    np.testing.assert_array_equal(csv.to_numpy(float), rows.to_numpy(float))


def test_predictions_follow_the_annotated_raised_runs(built, sequence) -> None:
    model = load_model(built.bundle_zip)
    frames = np.arange(7, 227)  # the annotated stretch
    frames = frames[sequence.detected[frames]]
    rows = model.feature_transform().transform(sequence[frames])
    labels = np.array(model.label(model.predict(rows)))
    inside = raised(frames)
    said_raised = labels == POSITIVE_LABEL
    print(  # noqa: T201
        f"Arms Raised: {said_raised[inside].mean():.2f} of raised frames, "
        f"{said_raised[~inside].mean():.2f} of the others"
    )
    assert said_raised[inside].mean() > 0.85
    assert said_raised[~inside].mean() < 0.1


def test_legacy_pickle_and_bundle_give_identical_predictions(built, sequence) -> None:
    legacy = load_model(built.legacy_pickle)
    bundle = load_model(built.bundle_zip)
    assert legacy.format == "legacy-pickle" and bundle.format == "bundle"
    assert list(legacy.input_columns) == list(bundle.input_columns)
    rows = bundle.feature_transform().transform(sequence[sequence.detected])
    np.testing.assert_array_equal(legacy.predict(rows), bundle.predict(rows))
    np.testing.assert_array_equal(legacy.predict_proba(rows), bundle.predict_proba(rows))
    # the legacy transform (rebuilt from the pickle's feature spec) makes the same rows
    legacy_rows = legacy.feature_transform().transform(sequence[sequence.detected])
    np.testing.assert_array_equal(legacy_rows, rows)
    with Path(built.legacy_pickle).open("rb") as f:
        data = pickle.load(f)
    assert data["columns"] == list(bundle.input_columns)
    assert data["value_map"] == {"Arms Lowered": 0, POSITIVE_LABEL: 1}


def test_a_frame_without_anybody_is_answered_arms_lowered(built) -> None:
    """The live server classifies every third frame, also when nobody is in the picture."""
    bundle = load_model(built.bundle_zip)
    empty = np.full((1, len(bundle.input_columns)), np.nan)
    assert bundle.label(bundle.predict(empty)) == ["Arms Lowered"]
    assert bundle.predict_proba(empty)[0, 1] < 0.01
