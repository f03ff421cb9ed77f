"""`stream-pose-ml` console command: --help everywhere, and each step on the real demo video."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stream_pose_ml.cli import main
from stream_pose_ml.keypoints import PoseSequence

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "demo"


def run(*args: object) -> int:
    """Call the command in-process with ``args`` turned into strings."""
    return main([str(a) for a in args])


SUBCOMMANDS = ["assets", "demo", "extract", "convert", "features", "build-dataset"]


@pytest.mark.parametrize("command", [[], *([c] for c in SUBCOMMANDS), ["assets", "build"]])
def test_every_subcommand_has_help(command) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stream_pose_ml.cli", *command, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: stream-pose-ml" in done.stdout


@pytest.fixture(scope="module")
def sequences(tmp_path_factory, demo_video) -> Path:
    root = tmp_path_factory.mktemp("cli")
    (root / "videos").mkdir()
    shutil.copy(demo_video, root / "videos" / "demo.mp4")
    code = run(
        "extract", root / "videos", "--sequences-dir", root / "seq", "--quiet", "--workers", 1
    )
    assert code == 0
    return root / "seq"


def test_extract_then_build_dataset(sequences, tmp_path, capsys) -> None:
    out = tmp_path / "demo.csv"
    code = run(
        "build-dataset",
        "--annotations",
        EXAMPLE / "annotations",
        "--sequences",
        sequences,
        "--config",
        EXAMPLE / "config.yml",
        "--angles",
        "--output",
        out,
    )
    assert code == 0
    table = pd.read_csv(out)
    assert {"movement", "arms", "angle_left_elbow"} <= set(table.columns)
    assert len(table) == 219  # frames covered by the annotations
    assert "219 rows" in capsys.readouterr().out


def test_features_rows_per_window(sequences, tmp_path) -> None:
    out = tmp_path / "features.parquet"
    code = run("features", sequences / "demo.npz", "--output", out, "--window", 10)
    assert code == 0
    table = pd.read_parquet(out)
    assert len(table) == 230 - 10 + 1
    assert table["frame_number"].iloc[0] == 9
    assert "angle_left_knee__t09" in table.columns


def test_convert_round_trip_through_legacy_json_and_openpose(sequences, tmp_path) -> None:
    src = sequences / "demo.npz"
    seq = PoseSequence.from_npz(src)
    assert run("convert", src, tmp_path / "s.json", "--from", "npz", "--to", "legacy-sequence") == 0
    assert (
        run(
            "convert",
            tmp_path / "s.json",
            tmp_path / "b.npz",
            "--from",
            "legacy-sequence",
            "--to",
            "npz",
        )
        == 0
    )
    assert PoseSequence.from_npz(tmp_path / "b.npz").equals(seq)

    assert run("convert", src, tmp_path / "op", "--from", "npz", "--to", "openpose") == 0
    assert len(list((tmp_path / "op").glob("*_keypoints.json"))) == 230
    to_npz = ("convert", tmp_path / "op", tmp_path / "op.npz", "--from", "openpose", "--to", "npz")
    assert run(*to_npz) == 2  # OpenPose pixels need the image size
    assert run(*to_npz, "--image-size", "1768x994") == 0
    from_openpose = PoseSequence.from_npz(tmp_path / "op.npz")
    assert from_openpose.n_frames == 230
    i = seq.index("left_wrist")
    detected = seq.detected
    assert abs(from_openpose.data[detected, i, :2] - seq.data[detected, i, :2]).max() < 1e-9


def test_user_errors_exit_2_with_a_message(tmp_path, capsys) -> None:
    code = run("features", tmp_path / "missing.npz", "--output", tmp_path / "x.csv")
    assert code == 2
    assert "missing.npz" in capsys.readouterr().err
