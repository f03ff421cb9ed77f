"""The runner's annotated video: every source frame, at the source's times, with the skeleton
drawn, playable in headless Chromium; offline and in real time (frames inference dropped are
written too)."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from stream_videos import cfr_times, read_index, write_index_video
from test_stream_video_out import decode, play_in_chromium, video_server  # noqa: F401

from stream_pose_ml.stream import BaseAlgo, FrameWindow, PoseAlgo, StreamRunner


@pytest.mark.slow
def test_offline_annotated_video_of_the_whole_demo_plays_in_chromium(
    demo_video: Path,
    tmp_path: Path,
    video_server: tuple[str, Path],  # noqa: F811
) -> None:
    out = tmp_path / "annotated.mp4"
    summary = StreamRunner(demo_video, [PoseAlgo(complexity="lite")], video_out=out).run()
    assert summary.metrics["frames_decoded"] == 230
    times, images, stream = sampled(out, every=23)
    assert len(times) == 230 and stream["codec"] == "h264" and stream["average_rate"] == 30
    assert np.abs(np.array(times) - np.arange(230) / 30).max() < 1e-3
    source = sampled(demo_video, every=23)[1]
    changed = [
        float((np.abs(a.astype(int) - b).max(axis=2) > 80).mean())
        for a, b in zip(images, source, strict=True)
    ]
    assert np.median(changed) > 0.0005  # the skeleton is drawn on the frames
    status, report = play_in_chromium(video_server, out)
    assert status == 0, report
    assert report["videoWidth"] == 1768 and report["currentTime"] > 0


def sampled(path: Path, every: int) -> tuple[list[float], list[np.ndarray], dict]:
    """Every frame's time, every ``every``-th frame's RGB image, and the stream's facts."""
    times, images = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = {"codec": stream.codec_context.name, "average_rate": stream.average_rate}
        for i, frame in enumerate(container.decode(stream)):
            times.append(float(frame.time))
            if i % every == 0:
                images.append(frame.to_ndarray(format="rgb24", src_colorspace="ITU601"))
    start = times[0]
    return [t - start for t in times], images, facts


class Slow(BaseAlgo):
    def process(self, window: FrameWindow) -> dict:
        time.sleep(0.1)
        return {"shown": read_index(window.newest.image)}


def test_realtime_annotated_video_keeps_the_frames_inference_dropped(tmp_path: Path) -> None:
    clip = write_index_video(tmp_path / "clip.mp4", cfr_times(90, Fraction(30)), Fraction(30))
    out = tmp_path / "rt.mp4"
    summary = StreamRunner(clip, [Slow()], mode="realtime", buffer=8, video_out=out).run()
    assert summary.metrics["frames_dropped"] > 0
    times, images, _ = decode(out)
    assert [read_index(image) for image in images] == list(range(90))
    assert np.abs(np.array(times) - np.arange(90) / 30).max() < 1e-3
