"""Building a `Dataset` from annotation files and sequence files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stream_pose_ml.datasets import AnnotationSchema, Dataset
from stream_pose_ml.errors import AnnotationError
from stream_pose_ml.keypoints import PoseSequence

SCHEMA = AnnotationSchema.from_dict(
    {
        "annotations_key": "annotations",
        "annotation_fields": {
            "label": "label",
            "start_frame": "metadata.system.frame",
            "end_frame": "metadata.system.endFrame",
        },
        "label_class_mapping": {
            "Left Step": "step_type",
            "Right Step": "step_type",
            "Successful Weight Transfer": "weight_transfer_type",
            "Failure Weight Transfer": "weight_transfer_type",
        },
    }
)


def entry(label: str, start: int, end: int) -> dict:
    return {"label": label, "metadata": {"system": {"frame": start, "endFrame": end}}}


def write_annotations(directory: Path, stem: str, entries: list, name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    document = {"name": name or f"{stem}.webm", "annotations": entries}
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(document))
    return path


def write_sequence(directory: Path, stem: str, n_frames: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    data = rng.uniform(0.2, 0.8, size=(n_frames, 33, 4))
    return PoseSequence(data=data, fps=30.0, image_size=(640, 480), name=f"{stem}.webm").to_npz(
        directory / f"{stem}.npz"
    )


def test_labels_are_inclusive_and_zero_based(tmp_path):
    write_sequence(tmp_path / "seq", "walk", 10)
    write_annotations(
        tmp_path / "ann",
        "walk",
        [
            entry("Left Step", 2, 4),
            entry("Successful Weight Transfer", 2, 5),
            entry("Right Step", 5, 9),
        ],
    )
    dataset = Dataset.from_directories(tmp_path / "ann", tmp_path / "seq", SCHEMA)
    assert dataset.video_ids == ("walk",)
    assert dataset.problems == ()
    steps = dataset.label_values("step_type").tolist()
    assert steps == [None, None, "Left Step", "Left Step", "Left Step"] + ["Right Step"] * 5
    wt = dataset.label_values("weight_transfer_type").tolist()
    assert wt == [None, None] + ["Successful Weight Transfer"] * 4 + [None] * 4
    assert [a.tolist() for a in dataset.labeled_frames] == [[2, 3, 4, 5]]
    assert [a.tolist() for a in dataset.unlabeled_frames] == [[0, 1, 6, 7, 8, 9]]
    assert [len(a) for a in dataset.all_frames] == [10]
    table = dataset.to_frame_table()
    assert list(table.columns) == ["video_id", "frame_number", "step_type", "weight_transfer_type"]
    assert table["frame_number"].tolist() == list(range(10))


def test_frame_index_base_one_labels_one_frame_earlier(tmp_path):
    write_sequence(tmp_path / "seq", "walk", 6)
    write_annotations(tmp_path / "ann", "walk", [entry("Left Step", 1, 3)])
    schema = AnnotationSchema.from_dict(
        {
            "annotations_key": "annotations",
            "annotation_fields": {
                "label": "label",
                "start_frame": "metadata.system.frame",
                "end_frame": "metadata.system.endFrame",
            },
            "label_class_mapping": {"Left Step": "step_type"},
            "frame_index_base": 1,
        }
    )
    dataset = Dataset.from_directories(tmp_path / "ann", tmp_path / "seq", schema)
    assert dataset.label_values("step_type").tolist() == [
        "Left Step",
        "Left Step",
        "Left Step",
        None,
        None,
        None,
    ]


def test_a_bad_file_or_entry_is_reported_and_the_rest_is_built(tmp_path):
    seq, ann = tmp_path / "seq", tmp_path / "ann"
    write_sequence(seq, "good", 20)
    write_sequence(seq, "partly", 10, seed=1)
    write_sequence(seq, "by_name", 8, seed=2)
    write_annotations(ann, "good", [entry("Left Step", 0, 19)])
    write_annotations(
        ann,
        "partly",
        [
            entry("Left Step", 0, 4),  # 0 fine
            entry("Right Step", 3, 6),  # 1 overlaps entry 0 of step_type
            entry("Successful Weight Transfer", 5, 12),  # 2 past the last frame (9)
            entry("Jump", 1, 2),  # 3 not in label_class_mapping
            entry("Failure Weight Transfer", 8, 7),  # 4 start after end
            {"label": "Left Step", "metadata": {}},  # 5 dotted path does not resolve
            entry("Failure Weight Transfer", 0, 9),  # 6 fine
        ],
    )
    write_annotations(ann, "export_1", [entry("Right Step", 0, 7)], name="by_name.mp4")
    write_annotations(ann, "orphan", [entry("Left Step", 0, 3)])
    (ann / "broken.json").write_text("{not json")
    (seq / "corrupt.npz").write_bytes(b"not a zip archive")
    write_annotations(ann, "corrupt", [entry("Left Step", 0, 1)])
    dataset = Dataset.from_directories(ann, seq, SCHEMA)

    assert dataset.video_ids == ("by_name", "good", "partly")
    assert dataset.n_frames == 8 + 20 + 10
    partly = dataset.offsets[2]
    steps = dataset.label_values("step_type")
    assert steps[:8].tolist() == ["Right Step"] * 8
    assert steps[partly : partly + 10].tolist() == ["Left Step"] * 5 + [None] * 5
    wt = dataset.label_values("weight_transfer_type")
    assert wt[partly : partly + 10].tolist() == ["Failure Weight Transfer"] * 10

    messages = {(Path(p.path).name, p.entry): str(p) for p in dataset.problems}
    assert set(messages) == {
        ("broken.json", None),
        ("corrupt.json", None),
        ("orphan.json", None),
        ("partly.json", 1),
        ("partly.json", 2),
        ("partly.json", 3),
        ("partly.json", 4),
        ("partly.json", 5),
    }
    for (name, index), text in messages.items():
        expected = str(ann / name) + ("" if index is None else f", entry {index}")
        assert text.startswith(expected + ": ")
    assert "malformed JSON" in messages["broken.json", None]
    assert "its sequence cannot be read" in messages["corrupt.json", None]
    assert "corrupt.npz" in messages["corrupt.json", None]
    assert "no sequence file for video 'orphan'" in messages["orphan.json", None]
    assert "overlaps entry 0 of the same class 'step_type'" in messages["partly.json", 1]
    assert "frames 5..12" in messages["partly.json", 2]
    assert "outside the 10 frames" in messages["partly.json", 2]
    assert "'Jump' is not in label_class_mapping" in messages["partly.json", 3]
    assert "start frame 8 is after end frame 7" in messages["partly.json", 4]
    assert "'metadata.system.frame' does not resolve" in messages["partly.json", 5]


def test_strict_raises_naming_file_and_entry(tmp_path):
    write_sequence(tmp_path / "seq", "walk", 10)
    write_annotations(
        tmp_path / "ann", "walk", [entry("Left Step", 0, 3), entry("Left Step", 8, 10)]
    )
    with pytest.raises(AnnotationError, match=r"walk\.json, entry 1: frames 8\.\.10"):
        Dataset.from_directories(tmp_path / "ann", tmp_path / "seq", SCHEMA, strict=True)


def test_limit_and_unannotated_sequences(tmp_path):
    for i, stem in enumerate(["a", "b", "c"]):
        write_sequence(tmp_path / "seq", stem, 5, seed=i)
        write_annotations(tmp_path / "ann", stem, [entry("Left Step", 0, 1)])
    write_sequence(tmp_path / "seq", "unannotated", 5)
    assert Dataset.from_directories(
        tmp_path / "ann", tmp_path / "seq", SCHEMA, limit=2
    ).video_ids == (
        "a",
        "b",
    )
    everything = Dataset.from_directories(tmp_path / "ann", tmp_path / "seq", SCHEMA)
    assert everything.video_ids == ("a", "b", "c")
    assert everything.problems == ()


def test_sequence_data_is_kept_unchanged(tmp_path):
    path = write_sequence(tmp_path / "seq", "walk", 7)
    write_annotations(tmp_path / "ann", "walk", [entry("Left Step", 0, 6)])
    dataset = Dataset.from_directories(tmp_path / "ann", tmp_path / "seq", SCHEMA)
    assert dataset.sequences[0].equals(PoseSequence.from_npz(path))


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(AnnotationError, match="not a directory"):
        Dataset.from_directories(tmp_path / "nope", tmp_path, SCHEMA)
