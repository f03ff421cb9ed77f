"""`People`: building from detections, the compact and legacy JSON files, COCO-17 import with
several people per frame, and the subject rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tracking_scenes import FPS, IMAGE_SIZE, hidden, make_scene, still, walk

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX, COCO_17
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking import (
    SUBJECT_RULES,
    People,
    choose_subject,
    people_from_coco,
    people_from_coco_annotations,
    subject,
    track_people,
)
from stream_pose_ml.tracking.selection import choose_in_frame, parse_subject

_COCO_INDEX = [BLAZEPOSE_INDEX[name] for name in COCO_17]


def _scene():
    """A walker (crossing the image), a big person standing left, a small one standing right
    who is hidden for frames 20-39."""
    return make_scene(
        {
            "walker": walk(0.1, 0.9, 0.8, 0.4, 80),
            "big": still(0.15, 0.98, 0.6),
            "small": hidden(still(0.85, 0.6, 0.25), range(20, 40)),
        },
        81,
        seed=11,
    )


def _people(scene=None) -> tuple[People, dict[str, int]]:
    scene = scene or _scene()
    people = track_people(
        scene.frames, frame_numbers=np.arange(100, 181), fps=FPS, image_size=IMAGE_SIZE,
        name="clip",
    )  # fmt: skip
    ids = {}
    for track_id, seq in people.items():
        k = int(np.flatnonzero(seq.detected)[0])
        ids[_truth_of(scene, k, seq.data[k])] = track_id
    return people, ids


def _truth_of(scene, k: int, pose: np.ndarray) -> str:
    for j, truth in enumerate(scene.truths[k]):
        if np.array_equal(scene.frames[k][j], pose):
            return truth
    raise AssertionError(f"frame {k}: pose not among the detections")


def test_track_people_gives_one_sequence_per_person_with_nan_frames() -> None:
    scene = _scene()
    people, ids = _people(scene)
    assert set(ids) == {"walker", "big", "small"} and len(people) == 3
    small = people[ids["small"]]
    assert isinstance(small, PoseSequence)
    assert small.frame_numbers.tolist() == list(range(100, 181))
    assert not small.detected[20:40].any() and small.detected[:20].all()
    assert np.isnan(small.data[20:40]).all()
    # frames from before the track was confirmed are kept
    assert all(people[i].detected[0] for i in people.ids)
    assert small.metadata["track_id"] == ids["small"] and small.fps == FPS
    assert small.image_size == IMAGE_SIZE and small.name == "clip"
    # every pose is the detection of that person in that frame
    for k in (0, 30, 80):
        assert _truth_of(scene, k, people[ids["walker"]].data[k]) == "walker"
    assert people.detected().shape == (3, 81)


def test_npz_round_trip(tmp_path: Path) -> None:
    people, _ = _people()
    path = people.to_npz(tmp_path / "people.npz")
    back = People.from_npz(path)
    assert back.equals(people)
    assert back.metadata["tracker"]["min_hits"] == 5
    with np.load(path, allow_pickle=False) as archive:
        assert archive["data"].shape == (3, 81, 33, 4)
    # a one-person file is refused with a pointer to the right reader
    one = people[people.ids[0]].to_npz(tmp_path / "one.npz")
    with pytest.raises(PoseDataError, match=r"PoseSequence\.from_npz"):
        People.from_npz(one)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(PoseDataError, match="not a people file"):
        People.from_npz(tmp_path / "junk.npz")


def test_legacy_json_one_sequence_per_person(tmp_path: Path) -> None:
    people, _ = _people()
    paths = people.write_legacy_sequence_json(tmp_path, "clip.mp4")
    assert sorted(p.name for p in paths.values()) == [
        f"clip.mp4_person-{i}_sequence.json" for i in people.ids
    ]
    back = People.read_legacy_sequence_json(paths.values())
    assert back.ids == people.ids
    for i in people.ids:
        assert np.allclose(back[i].data, people[i].data, equal_nan=True, atol=1e-9)
        assert back[i].frame_numbers.tolist() == people[i].frame_numbers.tolist()
    with pytest.raises(PoseDataError, match="second file for track id"):
        People.read_legacy_sequence_json([*paths.values(), paths[people.ids[0]]])


def test_people_refuses_sequences_over_different_frames() -> None:
    a, b = PoseSequence.empty(3), PoseSequence.empty(4)
    with pytest.raises(PoseDataError, match="same frames"):
        People({0: a, 1: b})
    with pytest.raises(PoseDataError, match=r"no person with track id 7; ids: \[0\]"):
        People({0: a})[7]


def _coco(scene) -> list[np.ndarray]:
    """The scene's detections as COCO-17 pixel arrays ``(people, 17, 3)``."""
    frames = []
    for detections in scene.frames:
        xy = detections[:, _COCO_INDEX, :2] * np.array(IMAGE_SIZE)
        frames.append(np.concatenate([xy, detections[:, _COCO_INDEX, 3:]], axis=-1))
    return frames


def test_coco_arrays_of_several_people_go_through_the_tracker() -> None:
    scene = _scene()
    people = people_from_coco(_coco(scene), IMAGE_SIZE, fps=FPS)
    assert len(people) == 3
    for seq in people.tracks.values():
        assert seq.source == "coco"
        assert np.isnan(seq.data[:, BLAZEPOSE_INDEX["left_heel"]]).all()
    # each track keeps one person: its first frame's truth holds for all its frames
    expected: dict[int, str] = {}
    for k, detections in enumerate(_coco(scene)):
        for track_id, seq in people.items():
            if seq.detected[k]:
                xy = seq.data[k, _COCO_INDEX, :2] * np.array(IMAGE_SIZE)
                j = int(np.argmin(np.abs(detections[..., :2] - xy).sum(axis=(1, 2))))
                assert expected.setdefault(track_id, scene.truths[k][j]) == scene.truths[k][j]
    assert sorted(expected.values()) == ["big", "small", "walker"]


def test_coco_annotations_of_several_people_per_image() -> None:
    scene = _scene()
    annotations = []
    for k, points in enumerate(_coco(scene)):
        for person in points:
            annotations.append(
                {"image_id": k, "category_id": 1, "keypoints": person.reshape(-1).tolist()}
            )
    coco = {
        "images": [{"id": k, "width": IMAGE_SIZE[0], "height": IMAGE_SIZE[1]} for k in range(81)],
        "annotations": annotations,
    }
    people = people_from_coco_annotations(coco, fps=FPS)
    assert len(people) == 3 and people.frame_numbers.tolist() == list(range(81))
    arrays = people_from_coco(_coco(scene), IMAGE_SIZE, fps=FPS)
    for i in people.ids:
        assert np.allclose(people[i].data, arrays[i].data, equal_nan=True)
    with pytest.raises(PoseDataError, match=r"annotations\[0\].*51 numbers"):
        people_from_coco_annotations([{"image_id": 0, "keypoints": [1, 2]}], IMAGE_SIZE)
    with pytest.raises(PoseDataError, match=r"\(people, 17, 3\)"):
        people_from_coco([np.zeros((17, 3))], IMAGE_SIZE)


def test_subject_rules() -> None:
    people, ids = _people()
    assert choose_subject(people, "largest") == ids["big"]
    assert choose_subject(people, "longest_visible") == ids["big"]  # the small one is hidden
    assert choose_subject(people, "moves_most") == ids["walker"]
    assert choose_subject(people, "nearest", (0.9, 0.5)) == ids["small"]
    assert choose_subject(people, "inside", (0.7, 0.3, 1.0, 0.7)) == ids["small"]
    assert choose_subject(people, "by_id", ids["walker"]) == ids["walker"]
    assert subject(people, "moves_most").metadata["track_id"] == ids["walker"]
    assert set(SUBJECT_RULES) == {
        "largest", "longest_visible", "nearest", "inside", "moves_most", "by_id",
    }  # fmt: skip


def test_subject_rules_on_one_frame() -> None:
    """`choose_in_frame`, the runner's live choice: the rules on one frame's people."""
    people, ids = _people()
    k = 40  # a frame where all three are in view
    poses = {i: people[i].data[k] for i in people.ids if people[i].detected[k]}
    assert set(poses) == set(ids.values())
    size = people[ids["big"]].image_size
    assert choose_in_frame(poses, "largest", (), size) == ids["big"]
    small = people[ids["small"]].data[k, :, :2]
    point = tuple(np.nanmean(small, axis=0))
    assert choose_in_frame(poses, "nearest", (point,), size) == ids["small"]
    region = (*np.nanmin(small, axis=0), *np.nanmax(small, axis=0))
    rule, options = parse_subject("inside:{:g},{:g},{:g},{:g}".format(*region))
    assert choose_in_frame(poses, rule, options, size) == ids["small"]
    assert choose_in_frame(poses, "inside", ((0.0, 0.0, 0.01, 0.01),), size) is None
    assert choose_in_frame(poses, "by_id", (ids["walker"],)) == ids["walker"]
    assert choose_in_frame(poses, "by_id", (99,)) is None
    assert choose_in_frame({}, "largest") is None
    with pytest.raises(PoseDataError, match="needs the whole video"):
        choose_in_frame(poses, "moves_most")
    with pytest.raises(PoseDataError, match="x0 < x1"):
        parse_subject("inside:0.5,0,0.2,1")


def test_subject_rules_refuse_what_they_cannot_use() -> None:
    people, _ = _people()
    with pytest.raises(PoseDataError, match="unknown subject rule 'tallest'"):
        choose_subject(people, "tallest")
    with pytest.raises(PoseDataError, match="no person with track id 99"):
        choose_subject(people, "by_id", 99)
    with pytest.raises(PoseDataError, match="no person is inside"):
        choose_subject(people, "inside", (0.0, 0.0, 0.05, 0.05))
    with pytest.raises(PoseDataError, match="x0 < x1"):
        choose_subject(people, "inside", (0.5, 0.5, 0.1, 0.9))
    with pytest.raises(PoseDataError, match="subject rule 'nearest'"):
        choose_subject(people, "nearest")
    with pytest.raises(PoseDataError, match="nobody to choose from"):
        choose_subject(People({}), "moves_most")
