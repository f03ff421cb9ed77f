"""``stream-pose-ml run`` on a generated video: a user algorithm on a schedule, pose, errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from stream_videos import cfr_times, write_index_video

from stream_pose_ml.cli import main
from stream_pose_ml.stream import BaseAlgo, FrameWindow, StreamRunner
from stream_pose_ml.stream.results import read_results


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("v") / "clip.mp4"
    return write_index_video(path, cfr_times(60, Fraction(30)), Fraction(30))


def test_run_a_user_algorithm_every_ten_frames(clip, tmp_path, capsys):
    out = tmp_path / "r.parquet"
    code = main(
        [
            "run",
            str(clip),
            "--algo",
            "stream_videos:ShownIndexAlgo",
            "--every",
            "10",
            "--frame-count",
            "3",
            "--frame-step",
            "2",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("60 of 60 frames run (0 dropped, 0 decimated)") and str(out) in line
    run, records, metrics = read_results(out)
    assert [r["frame_index"] for r in records] == list(range(0, 60, 10))
    assert all(r["value"] == {"shown": r["frame_index"], "count": 3} for r in records)
    assert run["algorithms"][0]["schedule"] == "every 10 frames from frame 0"
    assert metrics["algorithms"]["ShownIndexAlgo"]["windows_incomplete"] == 1  # frame 0 only


def test_run_writes_the_default_result_file_next_to_where_it_runs(clip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", str(clip), "--algo", "stream_videos:ShownIndexAlgo", "--fps", "10", "--quiet"]
    assert main(args) == 0
    _, records, metrics = read_results(tmp_path / "clip.jsonl")
    assert len(records) == 20 and metrics["frames_decimated"] == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "nowhere:Thing"], "--algo 'nowhere:Thing': cannot import"),
        (["--algo", "pathlib:Path"], "not a BaseAlgo subclass"),
        (["--algo", "justaname"], "use 'pose' or 'module:Class'"),
        (["--output", "x.csv"], ".jsonl"),
        (["--num-poses", "2", "--subject", "moves_most"], "needs the whole video"),
        (["--num-poses", "2", "--subject", "tallest"], "unknown subject 'tallest'"),
        (["--num-poses", "2", "--subject", "inside:1,0,0,1"], "x0 < x1"),
    ],
)
def test_run_refuses_bad_arguments_with_a_message(clip, tmp_path, capsys, args, message):
    assert main(["run", str(clip), *args, "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_run_names_a_missing_source(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.mp4"), "--quiet"]) == 2
    assert "none.mp4" in capsys.readouterr().err


class Flaky(BaseAlgo):
    """Fails on every third frame; a user algorithm's bug must not end an hour-long run."""

    def __init__(self):  # no super().__init__: stream-infer users write algorithms like this
        self.calls = 0

    def process(self, window: FrameWindow):
        self.calls += 1
        if window.newest.index % 3 == 0:
            raise ValueError("bad frame")
        return window.newest.index


def test_a_failing_algorithm_is_counted_and_the_run_goes_on(clip, tmp_path, caplog):
    out = tmp_path / "f.jsonl"
    summary = StreamRunner(clip, [Flaky()], outputs=[out]).run()
    algo = summary.metrics["algorithms"]["Flaky"]
    assert (algo["errors"], algo["results"]) == (20, 40)
    assert [r["value"] for r in read_results(out)[1]] == [i for i in range(60) if i % 3]
    assert sum("Flaky failed on frame" in r.message for r in caplog.records) == 3  # then counted


def test_run_logs_its_metrics_and_files_to_mlflow(clip, tmp_path, monkeypatch, capsys):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    out = tmp_path / "m.jsonl"
    args = ["run", str(clip), "--algo", "stream_videos:ShownIndexAlgo", "--every", "6"]
    assert main([*args, "--output", str(out), "--mlflow", "stream-test", "--quiet"]) == 0
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["stream-test"], output_format="list")
    assert len(runs) == 1
    metrics, params = runs[0].data.metrics, runs[0].data.params
    assert metrics["frames_decoded"] == 60
    assert metrics["algorithms.ShownIndexAlgo.results"] == 10
    assert params["mode"] == "offline" and params["algorithms"] == "ShownIndexAlgo"
    artifacts = mlflow.artifacts.download_artifacts(
        run_id=runs[0].info.run_id, dst_path=str(tmp_path / "a")
    )
    assert (Path(artifacts) / "m.jsonl").read_bytes() == out.read_bytes()
