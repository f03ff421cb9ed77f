"""The dispatcher: the due windows of many sessions in one transform and one model call."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from api_server import frame_message, pose_frames, save_legacy_model

from stream_pose_ml.serving import LiveService, ModelStore
from stream_pose_ml.serving.classifier import WindowClassifier


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_legacy_model(tmp_path_factory.mktemp("dispatch") / "w3.pkl", window=3, seed=3)


def service_with(tmp_path: Path, model: Path, pending: list[Callable[[], None]], sink: list):
    service = LiveService(
        ModelStore(tmp_path / "models"),
        emit=lambda event, body, sid: sink.append((event, body, sid)),
        spawn=pending.append,  # workers run when the test says: a busy server
    )
    with open(model, "rb") as upload:
        service.set_model(upload, model.name)
    return service


def test_windows_of_several_sessions_are_classified_in_one_call(
    tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    classify = WindowClassifier.classify

    def counted(self, windows, image_size):
        calls.append(len(windows))
        return classify(self, windows, image_size)

    monkeypatch.setattr(WindowClassifier, "classify", counted)
    pending: list[Callable[[], None]] = []
    emitted: list = []
    service = service_with(tmp_path, model, pending, emitted)
    frames = {sid: pose_frames(3, seed=i) for i, sid in enumerate("abcde")}
    for sid in frames:
        service.open_session(sid)
        service.configure(sid, {"include_features": True, "image_size": [1280, 720]})
    for sid, data in frames.items():
        for i, frame in enumerate(data):
            service.keypoints(sid, frame_message(frame, frame_id=i))
    assert len(pending) == 1  # one drain loop for all the busy sessions
    while pending:
        pending.pop(0)()
    assert calls == [5]  # five sessions' windows, one transform and one model call
    answered = {
        sid: body for event, body, sid in emitted if event == "frame_result" and body["label"]
    }
    assert sorted(answered) == list("abcde")

    # the same windows one session at a time give the same rows and probabilities
    alone: list = []
    inline = LiveService(
        ModelStore(tmp_path / "models"),
        emit=lambda event, body, sid: alone.append((event, body, sid)),
        spawn=lambda fn: fn(),
    )
    for sid, data in frames.items():
        inline.open_session(sid)
        inline.configure(sid, {"include_features": True, "image_size": [1280, 720]})
        for i, frame in enumerate(data):
            inline.keypoints(sid, frame_message(frame, frame_id=i))
    for event, body, sid in alone:
        if event == "frame_result" and body["label"] is not None:
            np.testing.assert_array_equal(body["features"], answered[sid]["features"])
            assert body["probabilities"] == answered[sid]["probabilities"]
            assert body["frame_id"] == answered[sid]["frame_id"] == 2


@pytest.mark.parametrize("failure", ["serving_error", "unexpected"])
def test_a_session_whose_windows_fail_does_not_fail_the_others(
    tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    pending: list[Callable[[], None]] = []
    emitted: list = []
    service = service_with(tmp_path, model, pending, emitted)
    for sid in "ab":
        service.open_session(sid)
    good, bad = pose_frames(3, seed=1), pose_frames(3, seed=2)
    bad[:, :, 0] = 0.5  # a marker the failing model recognises
    classify = WindowClassifier.classify

    def picky(self, windows, image_size):
        data = np.concatenate([due.data for due in windows])
        if (data[..., 0] == 0.5).all(axis=(1, 2)).any():
            from stream_pose_ml.errors import ServingError

            if failure == "unexpected":  # e.g. a bug in a feature: not a ServingError
                raise ValueError("this window cannot be featurized")
            raise ServingError("predict_failed", "this window cannot be classified", 500)
        return classify(self, windows, image_size)

    monkeypatch.setattr(WindowClassifier, "classify", picky)
    for i in range(3):
        service.keypoints("a", frame_message(good[i], frame_id=i))
        service.keypoints("b", frame_message(bad[i], frame_id=i))
    while pending:
        pending.pop(0)()
    events = {(sid, event) for event, body, sid in emitted if event == "error" or body.get("label")}
    assert ("a", "frame_result") in events and ("b", "error") in events
    assert ("b", "frame_result") not in events and ("a", "error") not in events
    # both sessions are idle again, not left busy: the next windows are served
    for session in (service.sessions.get("a"), service.sessions.get("b")):
        assert session is not None and not session.busy


def test_windows_that_waited_past_the_stale_limit_are_dropped_not_classified(
    tmp_path: Path, model: Path
) -> None:
    """A window the dispatcher reaches ``stale_ms`` after its frames were read (an overloaded
    server) is counted as dropped and costs no classification; the next fresh one is answered."""
    pending: list[Callable[[], None]] = []
    emitted: list = []
    service = service_with(tmp_path, model, pending, emitted)
    service.open_session("a")
    frames = pose_frames(6, seed=4)
    late = time.perf_counter() - 0.3  # read 300 ms before the dispatcher gets to it
    for i in range(3):
        service.keypoints("a", frame_message(frames[i], frame_id=i), received=late)
    while pending:
        pending.pop(0)()
    labels = [body for event, body, _ in emitted if event == "frame_result" and body["label"]]
    assert labels == []
    assert service.status("a")["frames_dropped"] == 1
    for i in range(3, 6):
        service.keypoints("a", frame_message(frames[i], frame_id=i))
        while pending:  # an idle server: each window is served before the next frame
            pending.pop(0)()
    labels = [body for event, body, _ in emitted if event == "frame_result" and body["label"]]
    assert [body["frame_id"] for body in labels] == [3, 4, 5]
    assert {body["dropped"] for body in labels} == {1}


def test_a_window_read_late_counts_its_read_delay_in_its_wait(tmp_path: Path, model: Path) -> None:
    """The budget is the whole wait: a message read 200 ms late (beyond the session's transport
    delay) leaves 50 ms of the 250 ms for the queue, then its windows are dropped."""
    pending: list[Callable[[], None]] = []
    emitted: list = []
    service = service_with(tmp_path, model, pending, emitted)
    service.open_session("a")
    frames = pose_frames(3, seed=5)
    now = time.perf_counter()
    service.keypoints("a", frame_message(frames[0], frame_id=0, timestamp=0.0), received=now)
    # frames 1 and 2, sent 33 and 66 ms later, read in a burst: frame 2 200 ms late
    for i in (1, 2):
        stamp, read = i * 33.0, now + 0.266 + i * 1e-4
        service.keypoints("a", frame_message(frames[i], frame_id=i, timestamp=stamp), received=read)
    job = service.sessions.get("a").pending_job
    assert job is not None and job.read_lag_s == pytest.approx(0.2, abs=0.01)
    assert not service.dispatcher._stale(job, job.received + 0.04)
    assert service.dispatcher._stale(job, job.received + 0.06)
