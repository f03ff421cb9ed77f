"""Annotation schema (config.yml) and annotation files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stream_pose_ml.datasets.annotations import (
    AnnotationProblem,
    AnnotationSchema,
    index_sequence_files,
    match_sequence,
    read_annotation_file,
    resolve_dotted,
    video_key,
)
from stream_pose_ml.errors import AnnotationError

REPO = Path(__file__).resolve().parents[1]

ORIGINAL_SCHEMA = {
    "annotation_schema": {
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
}


def dataloop_entry(label: str, start: int, end: int) -> dict:
    return {"label": label, "metadata": {"system": {"frame": start, "endFrame": end}}}


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_repo_config_is_the_original_schema_and_matches_the_packaged_copy():
    root = AnnotationSchema.from_yaml(REPO / "config.yml")
    packaged = AnnotationSchema.from_yaml(REPO / "stream_pose_ml/data/config.yml")
    original = AnnotationSchema.from_dict(ORIGINAL_SCHEMA)
    assert root == packaged == original
    assert root.classes == ("step_type", "weight_transfer_type")
    assert root.labels("step_type") == ("Left Step", "Right Step")
    assert root.labels("weight_transfer_type") == (
        "Successful Weight Transfer",
        "Failure Weight Transfer",
    )
    assert root.frame_index_base == 0
    assert (REPO / "config.yml").read_text() == (
        REPO / "stream_pose_ml/data/config.yml"
    ).read_text()


def test_default_schema_prefers_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert AnnotationSchema.default() == AnnotationSchema.from_dict(ORIGINAL_SCHEMA)  # packaged
    (tmp_path / "config.yml").write_text(
        "annotation_schema:\n"
        "  annotations_key: items\n"
        "  annotation_fields: {label: what, start_frame: a, end_frame: b}\n"
        "  label_class_mapping: {Jump: move}\n"
    )
    local = AnnotationSchema.default()
    assert local.annotations_key == "items"
    assert local.classes == ("move",)


def test_nested_dotted_paths_and_list_indices(tmp_path):
    schema = AnnotationSchema.from_dict(
        {
            "annotations_key": "data",
            "annotation_fields": {
                "label": "tags.0.name",
                "start_frame": "span.range.frames.first",
                "end_frame": "span.range.frames.last",
            },
            "label_class_mapping": {"Sit": "posture", "Stand": "posture", "Wave": "gesture"},
        }
    )
    entries = [
        {"tags": [{"name": "Sit"}], "span": {"range": {"frames": {"first": 3, "last": 9}}}},
        {"tags": [{"name": "Wave"}], "span": {"range": {"frames": {"first": 0, "last": 2.0}}}},
    ]
    path = write_json(tmp_path / "clip.json", {"data": entries})
    parsed = read_annotation_file(path, schema)
    assert parsed.labels == ("Sit", "Wave")
    assert parsed.start.tolist() == [3, 0]
    assert parsed.end.tolist() == [9, 2]
    assert parsed.entry.tolist() == [0, 1]
    assert schema.classes == ("posture", "gesture")


def test_resolve_dotted_names_the_missing_part():
    with pytest.raises(KeyError, match=r"no 'endFrame' in metadata\.system"):
        resolve_dotted({"metadata": {"system": {"frame": 1}}}, "metadata.system.endFrame")


def test_frame_index_base_one_shifts_frames(tmp_path):
    config = {**ORIGINAL_SCHEMA["annotation_schema"], "frame_index_base": 1}
    schema = AnnotationSchema.from_dict(config)
    path = write_json(tmp_path / "v.json", {"annotations": [dataloop_entry("Left Step", 1, 4)]})
    parsed = read_annotation_file(path, schema)
    assert (parsed.start.tolist(), parsed.end.tolist()) == ([0], [3])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"annotation_schema": {"annotations_key": "a"}}, "lacks label_class_mapping"),
        (
            {
                "annotations_key": "a",
                "annotation_fields": {"label": "l", "start_frame": "s"},
                "label_class_mapping": {"x": "y"},
            },
            "lacks annotation_fields.end_frame",
        ),
        (
            {
                "annotations_key": "a",
                "annotation_fields": {"label": "l", "start_frame": "s", "end_frame": "e"},
                "label_class_mapping": {},
            },
            "label_class_mapping is empty",
        ),
    ],
)
def test_bad_schema_is_rejected(config, message):
    with pytest.raises(AnnotationError, match=message):
        AnnotationSchema.from_dict(config)


def test_every_bad_entry_is_reported_with_file_and_index_and_the_rest_is_kept(tmp_path):
    schema = AnnotationSchema.from_dict(ORIGINAL_SCHEMA)
    entries = [
        dataloop_entry("Left Step", 0, 4),  # 0 fine
        dataloop_entry("Hop", 5, 6),  # 1 unknown label
        dataloop_entry("Right Step", 9, 7),  # 2 start after end
        {"label": "Right Step", "metadata": {"system": {"frame": 1}}},  # 3 no endFrame
        {"label": "Right Step"},  # 4 no metadata
        dataloop_entry("Right Step", 1.5, 3),  # 5 not a whole frame number
        dataloop_entry("Successful Weight Transfer", 0, 4),  # 6 fine
    ]
    path = write_json(tmp_path / "clip.json", {"name": "clip.webm", "annotations": entries})
    problems: list[AnnotationProblem] = []
    parsed = read_annotation_file(path, schema, problems)
    assert parsed.labels == ("Left Step", "Successful Weight Transfer")
    assert parsed.entry.tolist() == [0, 6]
    assert [p.entry for p in problems] == [1, 2, 3, 4, 5]
    text = [str(p) for p in problems]
    assert all(t.startswith(f"{path}, entry ") for t in text)
    assert "'Hop' is not in label_class_mapping" in text[0]
    assert "start frame 9 is after end frame 7" in text[1]
    assert "'metadata.system.endFrame' does not resolve" in text[2]
    assert "'label' does not resolve" not in text[3] and "no 'metadata'" in text[3]
    assert "whole numbers" in text[4]


def test_strict_raises_on_the_first_bad_entry(tmp_path):
    schema = AnnotationSchema.from_dict(ORIGINAL_SCHEMA)
    path = write_json(
        tmp_path / "clip.json",
        {"annotations": [dataloop_entry("Left Step", 0, 4), dataloop_entry("Hop", 5, 6)]},
    )
    with pytest.raises(AnnotationError, match=r"clip\.json, entry 1: label 'Hop'"):
        read_annotation_file(path, schema, strict=True)


def test_malformed_json_and_missing_annotation_list(tmp_path):
    schema = AnnotationSchema.from_dict(ORIGINAL_SCHEMA)
    broken = tmp_path / "broken.json"
    broken.write_text('{"annotations": [')
    no_list = write_json(tmp_path / "nolist.json", {"items": []})
    problems: list[AnnotationProblem] = []
    assert read_annotation_file(broken, schema, problems) is None
    assert read_annotation_file(no_list, schema, problems) is None
    assert str(problems[0]).startswith(f"{broken}: malformed JSON")
    assert problems[0].entry is None
    assert str(problems[1]).startswith(f"{no_list}: no list of annotations under 'annotations'")
    with pytest.raises(AnnotationError, match=r"broken\.json: malformed JSON"):
        read_annotation_file(broken, schema, strict=True)


@pytest.mark.parametrize(
    ("filename", "key"),
    [
        ("example_video.json", "example_video"),
        ("example_video.npz", "example_video"),
        ("example_video.webm_sequence.json", "example_video"),
        ("example_video_sequence.json", "example_video"),
        ("example_video.webm", "example_video"),
        ("take.2.mp4.npz", "take.2"),
        ("take.2.npz", "take.2"),
    ],
)
def test_video_key(filename, key):
    assert video_key(filename) == key


def test_matching_by_stem_then_by_name_field(tmp_path):
    schema = AnnotationSchema.from_dict(ORIGINAL_SCHEMA)
    sequences = index_sequence_files(
        [tmp_path / "a.json", tmp_path / "a.npz", tmp_path / "b.webm_sequence.json"]
    )
    assert sequences == {"a": tmp_path / "a.npz", "b": tmp_path / "b.webm_sequence.json"}
    by_stem = read_annotation_file(
        write_json(tmp_path / "a.json", {"name": "b.webm", "annotations": []}), schema
    )
    by_name = read_annotation_file(
        write_json(tmp_path / "export-17.json", {"name": "b.webm", "annotations": []}), schema
    )
    nothing = read_annotation_file(
        write_json(tmp_path / "c.json", {"name": "c.mp4", "annotations": []}), schema
    )
    assert match_sequence(by_stem, sequences) == ("a", tmp_path / "a.npz")
    assert match_sequence(by_name, sequences) == ("b", tmp_path / "b.webm_sequence.json")
    assert match_sequence(nothing, sequences) is None
