"""LiveService in process: the classification path, backpressure, sessions, models and errors."""

from __future__ import annotations

import io
import pickle
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from api_server import fit_window_model, frame_message, pose_frames, save_legacy_model
from sklearn.linear_model import LogisticRegression

from stream_pose_ml.features import sliding_windows
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.learning.loading import load_model
from stream_pose_ml.serving import (
    InProcessPredictor,
    LiveService,
    ModelStore,
    PayloadError,
    ServingObserver,
    SessionLimitError,
    SessionStore,
    encode_frames,
)


class Recorder(ServingObserver):
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def _add(self, key: str, n: float = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def frames_received(self, n: int) -> None:
        self._add("frames", n)

    def frames_dropped(self, n: int) -> None:
        self._add("dropped", n)

    def classified(self, n: int, latency_s: float) -> None:
        self._add("classified", n)
        assert latency_s >= 0

    def payload_error(self, code: str) -> None:
        self._add(f"error:{code}")

    def model_loaded(self, source: str, ok: bool) -> None:
        self._add(f"load:{source}:{ok}")


class Harness:
    """A LiveService whose workers run when ``run_workers()`` is called (a busy server)."""

    def __init__(self, root: Path, inline: bool = True, **kwargs) -> None:
        self.emitted: list[tuple[str, dict, str]] = []
        self.pending: list[Callable[[], None]] = []
        self.observer = Recorder()
        self.service = LiveService(
            ModelStore(root / "models"),
            emit=lambda event, body, sid: self.emitted.append((event, body, sid)),
            spawn=(lambda fn: fn()) if inline else self.pending.append,
            observer=self.observer,
            **kwargs,
        )

    def run_workers(self) -> None:
        while self.pending:
            self.pending.pop(0)()

    def events(self, sid: str, event: str = "frame_result") -> list[dict]:
        return [body for name, body, to in self.emitted if name == event and to == sid]

    def upload(self, path: Path, **kwargs):
        with open(path, "rb") as handle:
            return self.service.set_model(handle, path.name, **kwargs)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("service-models")
    return {w: save_legacy_model(folder / f"w{w}.pkl", window=w, seed=w) for w in (3, 4)}


def test_results_equal_the_offline_pipeline(tmp_path: Path, models: dict[int, Path]) -> None:
    harness = Harness(tmp_path)
    record, active, _ = harness.upload(models[3], overlap=1)
    assert active.stride == 2
    service = harness.service
    service.open_session("a")
    service.configure("a", {"include_features": True, "image_size": [1280, 720]})
    frames = pose_frames(11, seed=1)
    for i, frame in enumerate(frames):
        service.keypoints("a", frame_message(frame, frame_id=i))
    results = harness.events("a")
    progress = [r for r in results if r["label"] is None]
    assert [(r["frame_id"], r["window_fill"]) for r in progress] == [(0, 1 / 3), (1, 2 / 3)]
    answered = [r for r in results if r["label"] is not None]
    assert [r["frame_id"] for r in answered] == [2, 4, 6, 8, 10]
    model = load_model(models[3])
    seq = PoseSequence(data=frames, image_size=(1280, 720))
    transform = model.feature_transform().with_input(image_size=(1280, 720))
    rows = transform.transform(sliding_windows(seq, 3, 2))
    np.testing.assert_array_equal(np.array([r["features"] for r in answered]), rows)
    proba = model.predict_proba(rows)
    for result, p in zip(answered, proba, strict=True):
        assert list(result["probabilities"].values()) == pytest.approx(list(p), abs=1e-12)
        assert result["backend"] == "in_process" and result["model_id"] == record.id
        assert result["label"] == max(result["probabilities"], key=result["probabilities"].get)
    status = service.status("a")
    assert (status["frames_in"], status["classifications"], status["frames_dropped"]) == (11, 5, 0)
    assert (status["last_frame_id"], status["last_label"]) == (10, answered[-1]["label"])
    assert harness.observer.counts["load:upload:True"] == 1


def test_a_busy_session_keeps_only_the_newest_job(tmp_path: Path, models: dict[int, Path]):
    harness = Harness(tmp_path, inline=False)
    harness.upload(models[3])
    service = harness.service
    service.open_session("a")
    frames = pose_frames(12, seed=2)
    for i in range(0, 12, 2):  # six messages while the worker has not run yet
        service.keypoints("a", encode_frames(frames[i : i + 2], [i, i + 1]))
    assert len(harness.pending) == 1  # one worker per session, started once
    harness.run_workers()
    answered = [r for r in harness.events("a") if r["label"] is not None]
    assert len(answered) == 1 and answered[0]["frame_id"] == 11
    assert [r["frame_id"] for r in answered[0]["results"]] == [10, 11]
    status = service.status("a")
    # windows due: frames 2..11 = 10; the last message's two were classified
    assert (status["classifications"], status["frames_dropped"]) == (2, 8)
    assert answered[0]["dropped"] == 8
    assert harness.observer.counts["dropped"] == 8
    service.keypoints("a", frame_message(frames[0], frame_id=12))
    harness.run_workers()
    assert harness.events("a")[-1]["frame_id"] == 12  # the worker starts again when needed


def test_sessions_are_independent_and_follow_their_model(
    tmp_path: Path, models: dict[int, Path]
) -> None:
    harness = Harness(tmp_path)
    first, _, _ = harness.upload(models[3])
    service = harness.service
    service.open_session("a")
    service.open_session("b")
    service.configure("a", {"model_id": first.id})  # pinned
    frames = pose_frames(8, seed=3)
    service.keypoints("a", {"frames": [frame_message(f) for f in frames[:2]]})
    service.keypoints("b", {"frames": [frame_message(f) for f in frames[:2]]})
    second, _, _ = harness.upload(models[4])  # b follows the active model: window 4 now
    for sid in ("a", "b"):
        service.keypoints(sid, {"frames": [frame_message(f) for f in frames[2:6]]})
    a, b = harness.events("a")[-1], harness.events("b")[-1]
    assert (a["model_id"], a["window_size"], a["frame_id"]) == (first.id, 3, 5)
    assert (b["model_id"], b["window_size"], b["frame_id"]) == (second.id, 4, 5)
    assert [r["frame_id"] for r in a["results"]] == [2, 3, 4, 5]
    assert "results" not in b  # b's window restarted with the new model at frame 2
    assert service.status("b")["window_fill"] == 4


def test_errors_leave_the_session_usable(tmp_path: Path, models: dict[int, Path]) -> None:
    harness = Harness(tmp_path)
    service = harness.service
    service.open_session("a")
    frames = pose_frames(4, seed=4)

    def code(call: Callable[[], object]) -> str:
        with pytest.raises(PayloadError) as error:
            call()
        return error.value.code

    assert code(lambda: service.keypoints("a", frame_message(frames[0]))) == "no_model"
    harness.upload(models[3])
    assert code(lambda: service.configure("a", {"window_size": 5})) == "window_mismatch"
    assert code(lambda: service.configure("a", {"overlap": 3})) == "bad_overlap"
    with pytest.raises(Exception) as error:
        service.configure("a", {"model_id": "0" * 16})
    assert error.value.code == "unknown_model"
    assert service.configure("a", {})["window_size"] == 3  # settings unchanged by failures
    assert code(lambda: service.keypoints("a", {"landmarks": [1, 2]})) == "landmark_count"
    assert code(lambda: service.keypoints("zz", frame_message(frames[0]))) == "no_session"
    for frame in frames:
        service.keypoints("a", frame_message(frame))
    assert harness.events("a")[-1]["label"] is not None
    assert service.status("a")["errors"] == 5
    assert harness.observer.counts["error:no_model"] == 1


def test_a_failing_model_answers_with_an_error_event(tmp_path: Path) -> None:
    _, spec = fit_window_model(2)
    columns = list(spec.columns)
    raise_on_nan = _nan_refusing_model(columns)
    path = tmp_path / "linear.pkl"
    path.write_bytes(pickle.dumps({"classifier": raise_on_nan}))
    harness = Harness(tmp_path)
    harness.upload(path)
    service = harness.service
    service.open_session("a")
    service.keypoints("a", {"frames": [{"landmarks": []}, {"landmarks": []}]})  # nobody in view
    error = harness.events("a", "error")[-1]
    assert error["code"] == "predict_failed" and "NaN" in error["message"]
    for frame in pose_frames(2, seed=5):  # [nobody, person] fails too, then [person, person]
        service.keypoints("a", frame_message(frame))
    assert len(harness.events("a", "error")) == 2
    assert harness.events("a")[-1]["label"] is not None


def _nan_refusing_model(columns: list[str]) -> LogisticRegression:
    import pandas as pd

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(20, len(columns))), columns=columns)
    return LogisticRegression(max_iter=50).fit(table, np.arange(20) % 2)


def test_session_limits_and_idle_sessions(tmp_path: Path) -> None:
    harness = Harness(tmp_path, sessions=SessionStore(max_sessions=2, idle_timeout_s=0.05))
    service = harness.service
    service.open_session("a")
    service.open_session("b")
    with pytest.raises(SessionLimitError) as error:
        service.open_session("c")
    assert (error.value.code, error.value.status) == ("too_many_sessions", 503)
    time.sleep(0.1)
    service.sessions.get("b").touch()
    assert service.expire_idle() == ["a"]
    service.open_session("c")
    service.close_session("b")
    service.close_session("b")  # twice is harmless
    assert [s.sid for s in service.sessions.all()] == ["c"]


def test_a_session_closed_while_its_job_waits(tmp_path: Path, models: dict[int, Path]) -> None:
    harness = Harness(tmp_path, inline=False)
    harness.upload(models[3])
    service = harness.service
    service.open_session("a")
    service.keypoints("a", encode_frames(pose_frames(3, seed=6)))
    service.close_session("a")
    harness.run_workers()
    assert harness.events("a") == [] and harness.events("a", "error") == []


def test_the_in_process_predictor_equals_the_models_own(models: dict[int, Path]) -> None:
    model = load_model(models[4])
    predictor = InProcessPredictor(model)
    windows = sliding_windows(PoseSequence(data=pose_frames(9, seed=7)), 4)
    rows = model.feature_transform().transform(windows)
    labels, probabilities = predictor.predict_rows(rows)
    expected = model.predict_proba(rows)
    np.testing.assert_allclose([list(p.values()) for p in probabilities], expected, atol=1e-12)
    assert labels == model.label(model.predict(rows))
    again, _ = predictor.predict_rows(rows)
    assert again == labels


def test_set_model_failures_are_counted(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    with pytest.raises(Exception) as error:
        harness.service.set_model(io.BytesIO(b"not a model"), "x.pkl")
    assert error.value.code == "not_a_model"
    assert harness.observer.counts == {"load:upload:False": 1}
    assert harness.service.ready() == (False, "no_model")
