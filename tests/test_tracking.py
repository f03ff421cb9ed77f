"""The tracker on generated scenes with known identities: no identity switch on any case."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from tracking_scenes import FPS, IMAGE_SIZE, along, hidden, inject_swaps, make_scene, still, walk

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.tracking import PoseTracker, TrackerSettings, identity_report

logger = logging.getLogger(__name__)


def _check_clean(name: str, scene_report, truths: set[str]) -> None:
    report = scene_report
    logger.info("%s: %s", name, report)
    assert report.switches == 0, report
    assert report.merges == 0, report
    assert set(report.tracks_of) == truths
    assert all(len(ids) == 1 for ids in report.tracks_of.values()), report.tracks_of


def test_two_people_crossing() -> None:
    scene = make_scene(
        {"a": walk(0.15, 0.85, 0.85, 0.45, 90), "b": walk(0.85, 0.15, 0.75, 0.38, 90)}, 91
    )
    report, _ = scene.track()
    _check_clean("two crossing", report, {"a", "b"})
    # tentative for the first min_hits - 1 frames only
    assert report.unassigned == 2 * (TrackerSettings().min_hits - 1)


def test_three_people_crossing_the_farthest_hidden_behind() -> None:
    far = walk(0.3, 0.7, 0.68, 0.3, 90)
    scene = make_scene(
        {
            "a": walk(0.1, 0.9, 0.9, 0.5, 90),
            "b": walk(0.9, 0.1, 0.8, 0.42, 90),
            # hidden behind the two others while they pass in front of it
            "c": hidden(far, range(40, 50)),
        },
        91,
        seed=3,
    )
    report, _ = scene.track()
    _check_clean("three crossing", report, {"a", "b", "c"})


def test_occlusion_for_one_second() -> None:
    walker = walk(0.1, 0.9, 0.8, 0.4, 120)
    scene = make_scene(
        {
            "walker": hidden(walker, range(45, 75)),  # 30 frames = 1 s behind the other
            "standing": still(0.5, 0.85, 0.45),
        },
        121,
        seed=4,
    )
    assert sum("walker" not in t for t in scene.truths) == 30
    report, _ = scene.track()
    _check_clean("occlusion 1 s", report, {"walker", "standing"})


def test_one_leaving_and_another_entering() -> None:
    scene = make_scene(
        {
            "leaving": walk(0.6, 1.2, 0.8, 0.4, 60),
            "entering": walk(-0.3, 0.6, 0.82, 0.42, 90, start=45),
            "standing": still(0.3, 0.9, 0.5),
        },
        136,
        seed=5,
    )
    report, _ = scene.track()
    _check_clean("leave and enter", report, {"leaving", "entering", "standing"})
    # the newcomer gets a new id, not the one of the person who left
    assert report.tracks_of["entering"] != report.tracks_of["leaving"]


def test_detector_order_shuffled_every_frame() -> None:
    rng = np.random.default_rng(6)
    paths = {}
    for k in range(4):
        # smooth random walks at four depths, crossing each other many times
        steps = np.cumsum(rng.normal(0.0, 0.004, 200)) + 0.2 + 0.2 * k
        xs = 0.1 + np.abs((steps - 0.1) % 1.6 - 0.8)
        paths[f"p{k}"] = along(xs, 0.6 + 0.1 * k, 0.3 + 0.07 * k)
    scene = make_scene(paths, 200, seed=7)
    orders = [tuple(t) for t in scene.truths]
    assert len(set(orders)) > 10  # the order really changes
    report, _ = scene.track()
    _check_clean("shuffled", report, set(paths))


def test_left_right_swaps_are_corrected() -> None:
    base = make_scene(
        {
            "a": walk(0.2, 0.45, 0.85, 0.45, 150),
            "b": walk(0.8, 0.55, 0.8, 0.4, 150),
        },
        151,
        seed=8,
    )
    scene, swapped = inject_swaps(base, share=0.15)
    assert len(swapped) > 30
    report, outputs = scene.track()
    _check_clean("swaps", report, {"a", "b"})
    corrected = missed = false = 0
    for i, tracked in enumerate(outputs):
        for result in tracked:
            right = np.array_equal(result.pose, scene.clean[i][result.detection], equal_nan=True)
            if (i, result.detection) in swapped:
                corrected += right
                missed += not right
            else:
                false += not right
    logger.info(
        "swaps: %d injected, %d corrected, %d missed, %d false",
        len(swapped),
        corrected,
        missed,
        false,
    )
    assert (corrected, missed, false) == (len(swapped), 0, 0)
    # without the correction the swapped frames come out as they went in
    _, plain = scene.track(TrackerSettings(swap_correction=False))
    kept = sum(
        np.array_equal(r.pose, scene.frames[i][r.detection]) for i, t in enumerate(plain) for r in t
    )
    assert kept == sum(len(t) for t in plain)


def test_tentative_tracks_confirmed_after_min_hits_and_ended_after_max_unseen() -> None:
    scene = make_scene({"a": hidden(still(0.5, 0.8, 0.4), range(20, 100))}, 130)
    tracker = PoseTracker(TrackerSettings(min_hits=3, max_unseen_s=1.0), image_size=IMAGE_SIZE)
    ids, alive = [], []
    for i, frame in enumerate(scene.frames):
        ids.append([r.track_id for r in tracker.update(frame, i / FPS)])
        alive.append(tracker.confirmed_ids)
    assert ids[0] == [None] and ids[1] == [None] and ids[2] == [0]
    assert alive[49] == [0] and alive[50] == []  # last seen at frame 19: ended after 1 s
    # seen again after more than max_unseen_s: a new track, tentative first
    assert ids[100] == [None] and ids[102] == [1]


@pytest.mark.parametrize(("fps", "hits"), [(30.0, 5), (10.0, 5), (5.0, 3), (4.0, 3), (2.0, 2)])
def test_confirmation_takes_min_hits_or_confirm_s(fps: float, hits: int) -> None:
    """5 hits (``min_hits``) at 30 and 10 fps; at a slower pose rate the hits spanning
    ``confirm_s`` (0.4 s), two at least: 3 at 5 and 4 fps, 2 at 2 fps."""
    scene = make_scene({"a": still(0.5, 0.8, 0.4)}, 8)
    tracker = PoseTracker(image_size=IMAGE_SIZE)
    ids = [
        [r.track_id for r in tracker.update(frame, i / fps)] for i, frame in enumerate(scene.frames)
    ]
    assert ids.index([0]) == hits - 1 and ids[: hits - 1] == [[None]] * (hits - 1)


def test_a_blip_never_confirmed_gets_no_id() -> None:
    scene = make_scene({"a": hidden(hidden(still(0.5, 0.8, 0.4), range(3)), range(5, 10))}, 10)
    report, _ = scene.track()
    assert report.assigned == 0 and report.unassigned == 2


def test_cap_on_tracks() -> None:
    paths = {f"p{k}": still(0.1 + 0.2 * k, 0.8, 0.3) for k in range(5)}
    scene = make_scene(paths, 10)
    tracker = PoseTracker(TrackerSettings(max_tracks=3), image_size=IMAGE_SIZE)
    for i, frame in enumerate(scene.frames):
        tracker.update(frame, i / FPS)
    assert len(tracker.confirmed_ids) == 3


def test_duplicate_detections_of_one_person_start_no_track() -> None:
    scene = make_scene({"a": walk(0.2, 0.6, 0.8, 0.4, 40)}, 41)
    tracker = PoseTracker(image_size=IMAGE_SIZE)
    for i, frame in enumerate(scene.frames):
        twice = np.concatenate([frame, frame + 0.001 * (i % 3)])
        assert len(tracker.update(twice, i / FPS)) == 1
    assert tracker.confirmed_ids == [0]


def test_a_repeat_in_the_same_box_with_other_landmarks_keeps_one_track() -> None:
    """The browser's model repeats a person with landmarks scattered inside about the same box
    (OKS well under ``duplicate_similarity``): the box IoU (0.9) drops the repeat, in every
    frame; without it (``duplicate_iou`` 0.99) the repeat starts a track of its own."""
    scene = make_scene({"a": walk(0.2, 0.6, 0.8, 0.4, 40)}, 41)
    assert _tracks_with_a_repeat(scene, TrackerSettings(duplicate_iou=0.99)) > 1
    assert _tracks_with_a_repeat(scene, TrackerSettings()) == 1


def test_a_stray_track_that_drifts_onto_a_tracked_person_is_never_confirmed() -> None:
    """A stray detection (half a person's height above them) starts a tentative track and then
    slides onto the person, as the browser's model does between two people: once it repeats the
    confirmed track's box it is dropped, and nobody gets a second id."""
    scene = make_scene({"a": still(0.5, 0.8, 0.4)}, 30)
    tracker = PoseTracker(image_size=IMAGE_SIZE)
    ids = set()
    for i, frame in enumerate(scene.frames):
        poses = [frame[0]]
        if 10 <= i < 20:
            stray = frame[0].copy()
            stray[:, 1] -= 0.2 * max(0, 13 - i) / 3  # 0.2 above, on the person from frame 13
            poses.append(stray)
        ids.update(r.track_id for r in tracker.update(poses, i / 4.0))  # the browser's 4 fps
    assert ids - {None} == {0}
    assert tracker.confirmed_ids == [0]


def _tracks_with_a_repeat(scene, settings: TrackerSettings) -> int:
    """Tracks started over the scene when each frame also holds a scattered repeat."""
    rng = np.random.default_rng(3)
    tracker = PoseTracker(settings, image_size=IMAGE_SIZE)
    keys = set()
    for i, frame in enumerate(scene.frames):
        repeat = frame[0].copy()
        xy = repeat[:, :2]
        low, high = xy.min(axis=0), xy.max(axis=0)
        extremes = {*xy.argmin(axis=0).tolist(), *xy.argmax(axis=0).tolist()}  # keep the box
        moved = [k for k in range(len(xy)) if k not in extremes]
        repeat[moved, :2] = rng.uniform(low, high, size=(len(moved), 2))
        repeat[:, :2] = low + (repeat[:, :2] - low) * 0.95  # a box a little smaller
        both = [frame[0], repeat] if i % 2 else [repeat, frame[0]]
        assert _oks(frame[0], repeat) < settings.duplicate_similarity
        keys.update(r.key for r in tracker.update(both, i / FPS))
    return len(keys)


def _oks(a: np.ndarray, b: np.ndarray) -> float:
    from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33
    from stream_pose_ml.tracking.similarity import landmark_falloffs, oks_from_terms, oks_terms

    xy_a, xy_b = a[None, :, :2], b[None, :, :2]
    usable = np.ones((1, len(a)), bool)
    scale = np.array([np.sqrt(np.prod(np.ptp(a[:, :2], axis=0)))])
    terms, shared = oks_terms(xy_a, usable, scale, xy_b, usable, landmark_falloffs(BLAZEPOSE_33))
    return float(oks_from_terms(terms, shared, 4)[0, 0])


def test_prediction_carries_a_fast_walker_through_a_gap() -> None:
    # 0.9 image widths in 1.5 s, unseen for 0.5 s: without prediction the gap is too large
    walker = hidden(walk(0.05, 0.95, 0.8, 0.35, 45), range(15, 30))
    scene = make_scene({"a": walker, "b": still(0.5, 0.95, 0.1)}, 46)
    with_prediction, _ = scene.track()
    assert len(with_prediction.tracks_of["a"]) == 1
    without, _ = scene.track(TrackerSettings(predict=False, scale_growth_per_s=0.0))
    assert len(without.tracks_of["a"]) == 2


def test_identity_report_counts_switches_and_merges() -> None:
    frames: list[dict[str, int | None]] = [{"a": 0, "b": 1}, {"a": 1, "b": 0}, {"a": 1, "b": None}]
    report = identity_report(frames)
    assert (report.switches, report.merges, report.unassigned, report.assigned) == (2, 2, 1, 5)
    assert report.tracks_of == {"a": (0, 1), "b": (1, 0)} and not report.clean


def test_bad_input_gets_a_clear_error() -> None:
    tracker = PoseTracker()
    with pytest.raises(PoseDataError, match=r"shape \(people, 33, 4\)"):
        tracker.update(np.zeros((2, 17, 3)), 0.0)
    with pytest.raises(PoseDataError, match="arrays of numbers"):
        tracker.update([np.zeros((33, 4)), np.zeros((32, 4))], 0.0)
    assert tracker.update([], 0.0) == []
    with pytest.raises(PoseDataError, match="times must increase"):
        tracker.update([], 0.0)
    with pytest.raises(PoseDataError, match="min_similarity"):
        TrackerSettings(min_similarity=1.5)
    with pytest.raises(PoseDataError, match="min_hits"):
        TrackerSettings(min_hits=0)
    with pytest.raises(PoseDataError, match="confirm_s"):
        TrackerSettings(confirm_s=0.0)
    with pytest.raises(PoseDataError, match="channels starting x, y"):
        PoseTracker(channels=("visibility", "x", "y"))
