"""What the `stream-pose-ml` command prints: defaults in every --help, flags in errors, one line
per extracted video, and none of MediaPipe's native log lines unless --verbose.

Each test runs the installed command in a subprocess; the extraction tests run it on the demo
video, once in a pseudo-terminal (as a user sees it: with the progress bar) and once with its
output captured (as a script or CI log gets it).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream_pose_ml.cli import build_parser, name_flags

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "demo"
COMMAND = [sys.executable, "-m", "stream_pose_ml.cli"]
#: absl (I0000/W0000 ...), TFLite and MediaPipe's start-up lines, as mediapipe 0.10.21 prints them.
NATIVE_LOG = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d"
    r"|INFO: Created TensorFlow Lite|WARNING: All log messages before)"
)


LITE_ONE_WORKER = ["--complexity", "lite", "--workers", "1"]


def _subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _subcommands(child, (*path, name))


def _shown_default(action: argparse.Action) -> str | None:
    """The ``(default: ...)`` text the help must show for ``action``, None if none is due."""
    default = action.default
    if not action.option_strings or default is None or default is argparse.SUPPRESS:
        return None
    if isinstance(default, bool):
        return None
    return " ".join(map(str, default)) if isinstance(default, list) else str(default)


def test_every_subcommand_help_shows_its_defaults() -> None:
    checked = 0
    for path, parser in _subcommands(build_parser()):
        done = subprocess.run(
            [*COMMAND, *path, "--help"], capture_output=True, text=True, check=True
        )
        text = " ".join(done.stdout.split())  # help wraps long lines
        for action in parser._actions:
            shown = _shown_default(action)
            if shown is not None:
                assert f"(default: {shown})" in text, (path, action.option_strings, text)
                checked += 1
    assert checked >= 7  # complexity lists, window, stride, precision, strategy, ...
    help_text = subprocess.run(
        [*COMMAND, "extract", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "(default: full" in " ".join(help_text.split())  # the pose model, chosen later


def test_name_flags_replaces_keywords_of_the_subcommand_only() -> None:
    message = "segmentation_window_label='x' is not a label class; needs segmentation_window"
    assert name_flags(message, "build-dataset") == (
        "--window-label 'x' is not a label class; needs --window"
    )
    assert name_flags(message, "convert") == message


def test_bad_numbers_are_refused_naming_the_flag(tmp_path: Path) -> None:
    done = subprocess.run(
        [*COMMAND, "features", tmp_path / "s.npz", "--output", tmp_path / "x.csv", "--window", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "argument --window: must be 1 or more, got 0" in done.stderr


def _render(raw: str) -> list[str]:
    """The lines a terminal shows: a carriage return rewrites its line."""
    return [line.rsplit("\r", 1)[-1] for line in raw.replace("\r\n", "\n").split("\n")]


def _in_terminal(args: list[str | Path], columns: int = 100) -> tuple[int, str]:
    """Run ``args`` with stdout and stderr on a pseudo-terminal; exit code and all output."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(timeout=300), b"".join(chunks).decode(errors="replace")


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> Path:
    folder = tmp_path_factory.mktemp("cli_output") / "videos"
    folder.mkdir()
    shutil.copy(demo_video, folder / "demo.mp4")
    return folder


@pytest.fixture(scope="module")
def terminal_run(videos: Path) -> tuple[int, list[str], Path]:
    sequences = videos.parent / "seq"
    extract: list[str | Path] = ["extract", videos, "--sequences-dir", sequences]
    code, raw = _in_terminal([*COMMAND, *extract, *LITE_ONE_WORKER])
    return code, _render(raw), sequences


def test_extract_in_a_terminal_shows_one_bar_and_one_line_per_video(terminal_run) -> None:
    code, lines, _ = terminal_run
    assert code == 0, lines
    assert [line for line in lines if NATIVE_LOG.match(line)] == []
    assert len([line for line in lines if "100%" in line]) == 1, lines
    assert len([line for line in lines if "demo.mp4:" in line]) == 1, lines
    assert lines[-2] == "1 of 1 videos done; sequences in " + str(terminal_run[2])


def test_extract_output_captured_has_no_bar_and_native_logs_only_when_verbose(videos) -> None:
    def extract(*extra: str) -> subprocess.CompletedProcess[str]:
        out = videos.parent / f"seq{len(extra)}"
        return subprocess.run(
            [*COMMAND, *extra, "extract", videos, "--sequences-dir", out, *LITE_ONE_WORKER],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )

    quiet = extract()
    assert quiet.stderr == ""  # no bar (not a terminal), no log line, no native line
    assert quiet.stdout.splitlines()[0].startswith("processed demo.mp4: ")
    assert len(quiet.stdout.splitlines()) == 2
    verbose = extract("--verbose")
    assert any(NATIVE_LOG.match(line) for line in verbose.stderr.splitlines()), verbose.stderr


def test_build_dataset_errors_name_the_flags(terminal_run, tmp_path: Path) -> None:
    sequences = terminal_run[2]
    base: list[str | Path] = [*COMMAND, "build-dataset", "--annotations", EXAMPLE / "annotations"]
    base += ["--sequences", sequences, "--config", EXAMPLE / "config.yml", "--angles"]
    base += ["--output", tmp_path / "out.csv"]
    cases = {
        ("--strategy", "window", "--window", "10"): "needs --window-label",
        ("--strategy", "split_on_label"): "needs --splitter-label",
        ("--strategy", "window", "--window", "10", "--window-label", "nope"): (
            "--window-label 'nope' is not a label class"
        ),
    }
    for flags, expected in cases.items():
        done = subprocess.run([*base, *flags], capture_output=True, text=True, check=False)
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr, (flags, done.stderr)
        assert "segmentation_" not in done.stderr
