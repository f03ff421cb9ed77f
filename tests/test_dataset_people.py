"""Annotations that name a person: the dataset builder over ``<video>.people.npz``, from real
MediaPipe on 90 frames of the demo video (two people: the man on the box, the woman walking
across; `people_clip.demo_clip`)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from people_clip import demo_clip

from stream_pose_ml.datasets import AnnotationSchema, Dataset
from stream_pose_ml.errors import AnnotationError
from stream_pose_ml.extraction.video import write_video
from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking import People

SCHEMA = {
    "annotations_key": "annotations",
    "annotation_fields": {
        "label": "label",
        "start_frame": "metadata.system.frame",
        "end_frame": "metadata.system.endFrame",
        "track_id": "metadata.user.track_id",
    },
    "label_class_mapping": {"Walk": "activity", "Stand": "activity"},
}
FEATURES = ["angle_left_elbow", "angle_right_knee", "dist_left_wrist-right_wrist"]


def entry(label: str, start: int, end: int, track_id: object = None) -> dict:
    item: dict = {"label": label, "metadata": {"system": {"frame": start, "endFrame": end}}}
    if track_id is not None:
        item["metadata"]["user"] = {"track_id": track_id}
    return item


@pytest.fixture(scope="module")
def extracted(demo_video: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """demo.npz (the walker, by moves_most) and demo.people.npz (both) of the 90-frame clip."""
    root = tmp_path_factory.mktemp("people_dataset")
    videos, sequences = root / "videos", root / "sequences"
    videos.mkdir()
    write_video(videos / "demo.mp4", demo_clip(demo_video), fps=30.0)
    (result,) = ProcessVideosJob.process_videos(
        videos,
        output_sequence_data_path=sequences,
        return_output=True,
        workers=1,
        progress=False,
        num_poses=2,
        subject="moves_most",
    )
    assert result.status == "processed" and result.tracks == 2
    people = People.from_npz(result.people_path)
    (man,) = [i for i in people.ids if i != result.track_id]
    return {"sequences": sequences, "people": people, "walker": result.track_id, "man": man}


def annotate(folder: Path, entries: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demo.json").write_text(json.dumps({"annotations": entries}))
    return folder


def test_each_named_track_is_its_own_person(extracted: dict, tmp_path: Path) -> None:
    walker, man, people = extracted["walker"], extracted["man"], extracted["people"]
    annotations = annotate(
        tmp_path / "a",
        [
            entry("Walk", 20, 79, walker),
            entry("Stand", 20, 79, str(man)),  # the same frames, the same class: another person
            entry("Walk", 30, 39),  # no track id: the video's subject, demo.npz
        ],
    )
    job = BuildAndFormatDatasetJob(SCHEMA, strict=True)
    dataset = job.build_dataset_from_data_files(annotations, extracted["sequences"])
    # the subject first, then the named people in track id order
    persons = [f"demo_person-{i}" for i in sorted([walker, man])]
    assert dataset.video_ids == ("demo", *persons)
    by_id = dict(zip(dataset.video_ids, dataset.sequences, strict=True))
    assert by_id["demo"].equals(PoseSequence.from_npz(extracted["sequences"] / "demo.npz"))
    np.testing.assert_array_equal(by_id[f"demo_person-{walker}"].data, people[walker].data)
    np.testing.assert_array_equal(by_id[f"demo_person-{man}"].data, people[man].data)

    table = job.format_dataset(dataset, include_joints=True)
    rows = {v: t.set_index("frame_number") for v, t in table.groupby("video_id")}
    assert len(rows["demo"]) == 10 and set(rows["demo"]["activity"]) == {"Walk"}
    her, him = rows[f"demo_person-{walker}"], rows[f"demo_person-{man}"]
    assert len(her) == len(him) == 60
    assert set(her["activity"]) == {"Walk"} and set(him["activity"]) == {"Stand"}
    # rows of the same frames, from two different people
    both = her[FEATURES].notna().all(axis=1) & him[FEATURES].notna().all(axis=1)
    assert both.sum() > 40
    assert (her.loc[both, "joint_left_hip_y"] > 0.5).all()
    assert (him.loc[both, "joint_left_hip_y"] < 0.5).all()
    assert not np.allclose(her.loc[both, FEATURES], him.loc[both, FEATURES])
    # the walker's rows are the subject's rows for the frames both hold
    meta = ["video_id", "step_frame_id"]
    pd.testing.assert_frame_equal(
        rows["demo"].drop(columns=meta), her.loc[rows["demo"].index].drop(columns=meta)
    )


def test_an_unknown_track_id_is_a_clear_error(extracted: dict, tmp_path: Path) -> None:
    annotations = annotate(
        tmp_path / "a", [entry("Walk", 20, 29, extracted["walker"]), entry("Stand", 0, 9, 7)]
    )
    ids = sorted([extracted["walker"], extracted["man"]])
    expected = f"track id 7 is not a person of video 'demo'; demo.people.npz holds track ids {ids}"
    with pytest.raises(AnnotationError, match="entry 1: " + re.escape(expected)):
        Dataset.from_directories(
            annotations, extracted["sequences"], AnnotationSchema.from_dict(SCHEMA), strict=True
        )
    dataset = Dataset.from_directories(
        annotations, extracted["sequences"], AnnotationSchema.from_dict(SCHEMA)
    )
    (problem,) = dataset.problems
    assert problem.entry == 1 and expected in problem.message
    assert dataset.video_ids == (f"demo_person-{extracted['walker']}",)  # the rest is built


def test_a_track_id_without_a_people_file_or_of_the_wrong_kind(
    extracted: dict, tmp_path: Path
) -> None:
    sequences = tmp_path / "sequences"
    sequences.mkdir()
    shutil.copy(extracted["sequences"] / "demo.npz", sequences)
    annotations = annotate(
        tmp_path / "a",
        [entry("Walk", 0, 9, 0), entry("Walk", 10, 19, "x"), entry("Walk", 20, 29, -1)],
    )
    dataset = Dataset.from_directories(annotations, sequences, AnnotationSchema.from_dict(SCHEMA))
    messages = {p.entry: p.message for p in dataset.problems}
    assert "there is no people file demo.people.npz" in messages[0]
    assert "--num-poses 2 or more" in messages[0]
    assert "track id 'x' (metadata.user.track_id) is not a whole number >= 0" in messages[1]
    assert "track id -1" in messages[2]
    assert dataset.n_videos == 0


def test_without_a_track_field_nothing_changes(extracted: dict, tmp_path: Path) -> None:
    """The schema's track_id field is optional; without it a track id in an entry is ignored,
    and the people file is never taken for a sequence of its own."""
    plain = {**SCHEMA, "annotation_fields": dict(SCHEMA["annotation_fields"])}
    del plain["annotation_fields"]["track_id"]
    schema = AnnotationSchema.from_dict(plain)
    assert schema.track_id_field is None
    assert AnnotationSchema.default().track_id_field is None
    annotations = annotate(tmp_path / "a", [entry("Walk", 0, 9, extracted["man"])])
    dataset = Dataset.from_directories(annotations, extracted["sequences"], schema, strict=True)
    assert dataset.video_ids == ("demo",)
    assert dataset.sequences[0].equals(PoseSequence.from_npz(extracted["sequences"] / "demo.npz"))


def test_partitioned_dataset_takes_the_named_people_too(extracted: dict, tmp_path: Path) -> None:
    annotations = annotate(
        tmp_path / "a",
        [entry("Walk", 20, 49, extracted["walker"]), entry("Stand", 20, 49, extracted["man"])],
    )
    job = BuildAndFormatDatasetJob(SCHEMA, strict=True)
    in_memory = job.format_dataset(
        job.build_dataset_from_data_files(annotations, extracted["sequences"])
    )
    (part,) = job.write_partitioned_dataset(annotations, extracted["sequences"], tmp_path / "parts")
    assert part.error is None and part.rows == 60
    pd.testing.assert_frame_equal(pd.read_parquet(part.path), in_memory, check_dtype=False)
