"""Several people on real frames: the demo video through MediaPipe with ``num_poses=2``.

Who is who: ``demo_people.who``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from demo_people import ON_THE_BOX_UNTIL, detect_demo_people, who

from stream_pose_ml.demo_data import DEMO_FPS, DEMO_FRAMES, DEMO_SIZE, demo_video_path
from stream_pose_ml.errors import PoseModelConfigError
from stream_pose_ml.extraction.pose_estimator import PoseEstimator, PoseSettings
from stream_pose_ml.extraction.video import iter_frames
from stream_pose_ml.tracking import People, choose_subject, identity_report, track_people
from stream_pose_ml.tracking.tracker import PoseTracker


@pytest.fixture(scope="module")
def detections() -> list[list[np.ndarray]]:
    """MediaPipe's people of every demo frame, in MediaPipe's order."""
    frames = list(detect_demo_people().values())
    assert len(frames) == DEMO_FRAMES
    return frames


def identities(people: People, truth: Callable[[np.ndarray, int], str]) -> list[dict[str, int]]:
    frames = []
    for k in range(len(people.frame_numbers)):
        seen = {i: people[i].data[k] for i in people.ids if people[i].detected[k]}
        named = {truth(pose, k): i for i, pose in seen.items()}
        assert len(named) == len(seen), f"frame {k}: two tracks on one person"
        frames.append(named)
    return frames


def test_both_people_keep_one_id_each_over_the_clip(detections: list[list[np.ndarray]]) -> None:
    assert sum(len(d) == 2 for d in detections) > 100  # both found in most frames
    people = track_people(detections, fps=DEMO_FPS, image_size=DEMO_SIZE)
    assert len(people) == 2
    report = identity_report(identities(people, who))
    assert report.clean, report
    assert {len(ids) for ids in report.tracks_of.values()} == {1}
    man, woman = report.tracks_of["man"][0], report.tracks_of["woman"][0]
    both = people.detected().all(axis=0)
    # frame by frame: the man's track above the woman's while he is on the box
    box = both & (people.frame_numbers <= ON_THE_BOX_UNTIL)
    assert box.sum() > 90
    man_y = np.nanmean(people[man].data[box][:, 23:25, 1], axis=1)
    woman_y = np.nanmean(people[woman].data[box][:, 23:25, 1], axis=1)
    assert (man_y < 0.5).all() and (woman_y > 0.5).all()
    # the woman is seen walking across most of the frame
    woman_x = np.nanmean(people[woman].data[people[woman].detected][:, 23:25, 0], axis=1)
    assert woman_x.max() - woman_x.min() > 0.6
    # the walking person is the one who moves most
    assert choose_subject(people, "moves_most") == woman


def test_two_copies_of_the_demo_shuffled_per_frame_come_back_in_stable_order(
    detections: list[list[np.ndarray]],
) -> None:
    """The notebook's two runners: the demo squeezed into the left and right halves of the
    frame, both copies' people given to the tracker in a new random order every frame."""
    rng = np.random.default_rng(15)
    frames, truths = [], []
    for k, people in enumerate(detections):
        items = []
        for copy, offset in (("left", 0.0), ("right", 0.5)):
            for pose in people:
                squeezed = pose.copy()
                squeezed[:, 0] = pose[:, 0] * 0.5 + offset
                items.append((f"{copy} {who(pose, k)}", squeezed))
        order = rng.permutation(len(items))
        frames.append([items[j][1] for j in order])
        truths.append([items[j][0] for j in order])
    tracker = PoseTracker(image_size=DEMO_SIZE)
    per_frame = []
    for k, frame in enumerate(frames):
        given = {r.detection: r.track_id for r in tracker.update(frame, k / DEMO_FPS)}
        per_frame.append({t: given.get(j) for j, t in enumerate(truths[k]) if j in given})
    report = identity_report(per_frame)
    assert report.clean, report
    assert set(report.tracks_of) == {"left man", "left woman", "right man", "right woman"}
    assert {len(ids) for ids in report.tracks_of.values()} == {1}


def test_num_poses_default_and_detect_people(detections: list[list[np.ndarray]]) -> None:
    frames = [rgb for index, rgb in iter_frames(demo_video_path(), max_frames=100) if index >= 90]
    with (
        PoseEstimator(running_mode="image") as one,
        PoseEstimator(running_mode="image", num_poses=1) as also_one,
        PoseEstimator(running_mode="image", num_poses=3) as three,
    ):
        assert one.num_poses == 1 and one.get_params()["num_poses"] == 1
        found_any = False
        for rgb in frames:
            single = one.detect(rgb)
            listed = also_one.detect_people(rgb)
            if single is None:
                assert listed == []
            else:
                assert len(listed) == 1 and np.array_equal(listed[0], single)
            found = three.detect_people(rgb)
            assert len(found) <= 3 and all(p.shape == (33, 4) for p in found)
            found_any = found_any or bool(found)
    assert found_any
    assert max(len(d) for d in detections) == 2


def test_num_poses_is_checked_and_configurable() -> None:
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(PoseModelConfigError, match="num_poses"):
            PoseSettings(num_poses=bad)  # type: ignore[arg-type]
    assert PoseSettings.from_configuration({"num_poses": 4}).num_poses == 4
    assert PoseSettings().num_poses == 1
