"""Where extraction outputs live: a local folder or any fsspec URL, written atomically.

An output location is a ``Path`` (a local path, or a ``file://`` URL turned into one) or a URL
string (``s3://bucket/seq``, ``memory://seq`` ...) opened with fsspec, which comes with the
``dask`` extra. Every write goes through `write_file` or `write_folder`: the content is made
under a temporary name and then renamed (local folders, filesystems with a rename) or put in
one call (object stores, where a single put is atomic), so a reader sees the old file or the
new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from stream_pose_ml.errors import ExtractionError

#: A local path or an fsspec URL.
Location = Path | str
_CHUNK = 1 << 20
#: Filesystems whose ``put`` of one object is atomic and whose rename is a copy.
_OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory"}


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is a URL (``<protocol>://``) rather than a local path."""
    return isinstance(location, str) and "://" in location


def as_location(location: str | Path) -> Location:
    """A local ``Path`` for a path or a ``file://`` URL, else the URL itself."""
    if not is_url(location):
        return Path(location)
    text = str(location)
    if text.startswith("file://"):
        return Path(unquote(urlparse(text).path))
    return text.rstrip("/")


def join(base: Location, *names: str) -> Location:
    """``base / name / ...`` for a path or a URL."""
    if isinstance(base, Path):
        return base.joinpath(*names)
    return "/".join([base.rstrip("/"), *names])


def name(location: Location) -> str:
    """The last part of a path or URL."""
    return location.name if isinstance(location, Path) else location.rstrip("/").rsplit("/", 1)[-1]


def _fs(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - fsspec comes with dask
        raise ExtractionError(
            f"{url} needs fsspec: pip install 'stream_pose_ml[dask]' (or fsspec and the "
            "filesystem's package, e.g. s3fs)"
        ) from exc
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ExtractionError(f"cannot open {url}: {exc}") from exc
    return fs, path


def _is_object_store(fs: Any) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return bool(_OBJECT_STORES.intersection(protocols))


def exists(location: Location) -> bool:
    if isinstance(location, Path):
        return location.exists()
    fs, path = _fs(location)
    return bool(fs.exists(path))


def is_file(location: Location) -> bool:
    if isinstance(location, Path):
        return location.is_file()
    fs, path = _fs(location)
    return bool(fs.isfile(path))


def list_names(folder: Location, suffix: str = "") -> list[str]:
    """Names of the files directly in ``folder`` ending with ``suffix``, sorted; [] if none."""
    if isinstance(folder, Path):
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.endswith(suffix))
    fs, path = _fs(folder)
    if not fs.isdir(path):
        return []
    entries = fs.ls(path, detail=True)
    names = (e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e["type"] == "file")
    return sorted(n for n in names if n.endswith(suffix))


def remove(location: Location) -> None:
    """Delete a file if it is there."""
    if isinstance(location, Path):
        location.unlink(missing_ok=True)
    elif is_file(location):
        fs, path = _fs(location)
        fs.rm_file(path)


def file_sha256(location: Location) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with _open_read(location) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_read(location: Location) -> Any:
    if isinstance(location, Path):
        return open(location, "rb")
    fs, path = _fs(location)
    return fs.open(path, "rb")


def read_bytes(location: Location) -> bytes:
    with _open_read(location) as handle:
        data: bytes = handle.read()
    return data


@contextlib.contextmanager
def local_copy(location: Location) -> Iterator[Path]:
    """A local path holding ``location``'s file: itself, or a download removed afterwards."""
    if isinstance(location, Path):
        yield location
        return
    with tempfile.TemporaryDirectory(prefix="spml-") as tmp:
        local = Path(tmp) / name(location)
        fs, path = _fs(location)
        fs.get_file(path, str(local))
        yield local


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this process and call (two workers that run
    the same video, as after a lost worker, never write into each other's file)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary path)``, then rename the result to ``path`` (a file or a folder).

    A reader sees the old ``path`` or the new one, never half of it; a folder that exists is
    moved aside first and removed after the rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        write(tmp)
        if tmp.is_dir() and path.exists():
            old = temporary_name(path)
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    return path


def write_file(location: Location, write: Callable[[Path], object]) -> Location:
    """Write one file with ``write(local path)`` and publish it at ``location`` atomically."""
    return _write(location, write, recursive=False)


def write_folder(location: Location, write: Callable[[Path], object]) -> Location:
    """Write a folder of files with ``write(local folder)`` and publish it at ``location``.

    On an object store each file is one atomic put (there is no folder to rename); elsewhere
    the folder is put under a temporary name and renamed.
    """
    return _write(location, write, recursive=True)


def _write(location: Location, write: Callable[[Path], object], recursive: bool) -> Location:
    if isinstance(location, Path):
        return write_atomically(location, write)
    with tempfile.TemporaryDirectory(prefix="spml-") as tmp:
        local = Path(tmp) / name(location)
        write(local)
        _publish(local, location, recursive=recursive)
    return location


def write_text(location: Location, text: str) -> Location:
    return write_file(location, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _publish(local: Path, url: str, recursive: bool) -> None:
    fs, path = _fs(url)
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    if _is_object_store(fs):
        if recursive:
            fs.makedirs(path, exist_ok=True)
            new = sorted(item.name for item in local.iterdir())
            for item_name in new:
                fs.put_file(str(local / item_name), f"{path}/{item_name}")
            stale = set(list_names(url)) - set(new)  # of an earlier, longer version
            for item_name in sorted(stale):
                fs.rm_file(f"{path}/{item_name}")
        else:
            fs.put_file(str(local), path)
        return
    staged = f"{parent}/.{name(url)}.{os.getpid()}-{secrets.token_hex(4)}.partial"
    try:
        fs.put(str(local), staged, recursive=recursive)
        if recursive and fs.exists(path):
            fs.rm(path, recursive=True)
        fs.mv(staged, path, recursive=recursive)
    except BaseException:
        with contextlib.suppress(Exception):
            fs.rm(staged, recursive=recursive)
        raise
