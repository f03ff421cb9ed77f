"""ModelStore refusals that leave nothing behind, checked before any byte is written: a bad
overlap, an archive that does not fit on the disk, a duplicate; and their messages."""

from __future__ import annotations

import errno
import io
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest
from api_server import save_legacy_model

from stream_pose_ml.serving import ModelStore, ModelStoreError
from stream_pose_ml.serving.storage import declared_size, storage_error


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_legacy_model(tmp_path_factory.mktemp("storage") / "window3.pkl", window=3)


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.startswith("."))


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek, as a chunked request body."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_bad_overlap_is_refused_before_the_upload_is_stored(tmp_path: Path, legacy: Path) -> None:
    store = ModelStore(tmp_path / "models")
    for overlap in (3, -1):
        with open(legacy, "rb") as upload, pytest.raises(ModelStoreError) as error:
            store.add(upload, legacy.name, overlap=overlap)
        assert (error.value.code, error.value.status) == ("bad_overlap", 400)
        assert "0..2" in error.value.message
    assert store.records() == [] and leftovers(tmp_path / "models") == []
    with open(legacy, "rb") as upload:
        record = store.add(upload, legacy.name, overlap=2).record
    assert store.activate(record.id, overlap=2)[0].stride == 1


def test_an_unseekable_upload_is_hashed_before_it_is_written(tmp_path: Path, legacy: Path) -> None:
    store = ModelStore(tmp_path / "models")
    first = store.add(OneWayStream(legacy.read_bytes()), legacy.name)  # type: ignore[arg-type]
    assert first.model is not None
    again = store.add(OneWayStream(legacy.read_bytes()), "copy.pkl")  # type: ignore[arg-type]
    assert again.model is None and again.record.id == first.record.id
    assert (tmp_path / "models" / first.record.id / legacy.name).read_bytes() == (
        legacy.read_bytes()
    )


def test_an_archive_that_does_not_fit_on_the_disk_is_not_extracted(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/classifier.bin", bytes(64 * 1024**2))
    assert declared_size(bomb, "zip", 1 << 40) == 64 * 1024**2
    free = shutil.disk_usage(tmp_path).free
    # a disk with room for the upload and the margin but not for its 64 MiB of content
    store = ModelStore(tmp_path / "models", min_free_bytes=free - 32 * 1024**2)
    with open(bomb, "rb") as upload, pytest.raises(ModelStoreError) as error:
        store.add(upload, bomb.name)
    assert (error.value.code, error.value.status) == ("storage_unavailable", 503)
    assert "extracting bomb.zip needs 64.0 MiB" in error.value.message
    assert store.records() == [] and leftovers(tmp_path / "models") == []


def test_a_refused_upload_names_its_file_once(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelStoreError) as error:
        store.add(io.BytesIO(pickle.dumps({"model": 1})), "evil.pickle")
    assert error.value.code == "not_a_model"
    assert error.value.message.startswith("evil.pickle: the pickled dict has no 'classifier'")
    assert error.value.message.count("evil.pickle") == 1


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "is full"),
        (errno.EDQUOT, "is over its disk quota"),
        (errno.EROFS, "is read-only"),
        (errno.EACCES, "is not writable by the server"),
        (errno.EIO, "cannot be written (Input/output error)"),
    ],
)
def test_every_write_fault_is_storage_unavailable(code: int, reason: str) -> None:
    error = storage_error(OSError(code, os.strerror(code)), "store the upload")
    assert (error.code, error.status) == ("storage_unavailable", 503)
    assert f"could not store the upload: its data folder {reason}" in error.message
