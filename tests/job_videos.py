"""Short clips for the video job tests: the demo video's first seconds, re-encoded with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av


def cut_clip(source: Path, target: Path, seconds: float = 3.0, width: int = 640) -> Path:
    """The first ``seconds`` of ``source`` as an H.264 MP4 ``width`` pixels wide (even height)."""
    with av.open(str(source)) as container, av.open(str(target), "w") as out:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or 30).limit_denominator(1001)
        height = round(stream.height * width / stream.width / 2) * 2
        encoder = out.add_stream("libx264", rate=rate)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.options = {"preset": "ultrafast"}
        for n, frame in enumerate(container.decode(stream)):
            if n >= round(seconds * float(rate)):
                break
            image = frame.reformat(width=width, height=height, format="yuv420p")
            image.pts = n
            image.time_base = 1 / rate
            for packet in encoder.encode(image):
                out.mux(packet)
        for packet in encoder.encode():
            out.mux(packet)
    return target


def short_clip_path(base: Path, demo_video: Path) -> Path:
    """The 3 s clip under pytest's base temp folder, cut once per session."""
    target = base / "job_clip.mp4"
    if not target.is_file():
        cut_clip(demo_video, base / "job_clip.partial.mp4").replace(target)
    return target


def example_model_path(repo: Path) -> Path:
    """data/example_model/arms_raised.zip, built with scripts/build_example_model.py if missing."""
    import subprocess
    import sys

    path = repo / "data" / "example_model" / "arms_raised.zip"
    if not path.is_file():
        subprocess.run(
            [sys.executable, "scripts/build_example_model.py", "--quiet"], cwd=repo, check=True
        )
    return path
