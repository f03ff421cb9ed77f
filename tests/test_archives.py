"""Safe extraction of uploaded archives: good ones unpack, unsafe ones are refused whole."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from stream_pose_ml.archives import ArchiveLimits, archive_kind, safe_extract
from stream_pose_ml.errors import ArchiveError


def make_zip(path: Path, entries: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo("link")
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, link)
    return path


def make_tar(path: Path, entries: dict[str, bytes], special: tarfile.TarInfo | None = None):
    with tarfile.open(path, "w:gz" if path.suffix == ".gz" else "w") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if special is not None:
            archive.addfile(special)
    return path


def test_good_archives_unpack_into_the_destination(tmp_path: Path) -> None:
    entries = {"model/MLmodel": b"flavors: {}", "model/data/model.pkl": b"\x80\x04data"}
    for path in (
        make_zip(tmp_path / "m.zip", entries),
        make_tar(tmp_path / "m.tar", entries),
        make_tar(tmp_path / "m.tar.gz", entries),
    ):
        out = safe_extract(path, tmp_path / f"out-{path.name}", ArchiveLimits())
        assert (out / "model/data/model.pkl").read_bytes() == b"\x80\x04data"
    plain = tmp_path / "model.pkl"
    plain.write_bytes(b"\x80\x04 not an archive")
    assert archive_kind(plain) is None
    assert archive_kind(tmp_path / "m.tar.gz") == "tar"


def _link(kind: bytes, name: str = "evil", target: str = "/etc/passwd") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("zip_dotdot", "unsafe_archive"),
        ("zip_absolute", "unsafe_archive"),
        ("zip_drive", "unsafe_archive"),
        ("zip_symlink", "unsafe_archive"),
        ("tar_dotdot", "unsafe_archive"),
        ("tar_absolute", "unsafe_archive"),
        ("tar_symlink", "unsafe_archive"),
        ("tar_hardlink", "unsafe_archive"),
        ("tar_device", "unsafe_archive"),
        ("tar_fifo", "unsafe_archive"),
        ("zip_many", "archive_too_large"),
        ("tar_many", "archive_too_large"),
        ("zip_big", "archive_too_large"),
        ("tar_big", "archive_too_large"),
        ("zip_lying_size", "bad_archive"),  # zipfile reads only the declared bytes, then CRC
        ("damaged", "bad_archive"),
    ],
)
def test_unsafe_archives_are_refused(tmp_path: Path, kind: str, code: str) -> None:
    ok = {"model.pkl": b"x"}
    build = {
        "zip_dotdot": lambda p: make_zip(p / "a.zip", {**ok, "../../escape.txt": b"!"}),
        "zip_absolute": lambda p: make_zip(p / "a.zip", {"/tmp/escape.txt": b"!"}),
        "zip_drive": lambda p: make_zip(p / "a.zip", {"C:\\escape.txt": b"!"}),
        "zip_symlink": lambda p: make_zip(p / "a.zip", ok, link="/etc/passwd"),
        "tar_dotdot": lambda p: make_tar(p / "a.tar", {"a/../../escape.txt": b"!"}),
        "tar_absolute": lambda p: make_tar(p / "a.tar", {"/tmp/escape.txt": b"!"}),
        "tar_symlink": lambda p: make_tar(p / "a.tar.gz", ok, _link(tarfile.SYMTYPE)),
        "tar_hardlink": lambda p: make_tar(p / "a.tar.gz", ok, _link(tarfile.LNKTYPE)),
        "tar_device": lambda p: make_tar(p / "a.tar", ok, _link(tarfile.BLKTYPE, "sda", "")),
        "tar_fifo": lambda p: make_tar(p / "a.tar", ok, _link(tarfile.FIFOTYPE, "pipe", "")),
        "zip_many": lambda p: make_zip(p / "a.zip", {f"{i}.txt": b"x" for i in range(11)}),
        "tar_many": lambda p: make_tar(p / "a.tar", {f"{i}.txt": b"x" for i in range(11)}),
        "zip_big": lambda p: make_zip(p / "a.zip", {"zeros": bytes(5000)}),
        "tar_big": lambda p: make_tar(p / "a.tar.gz", {"zeros": bytes(5000)}),
        "zip_lying_size": lambda p: _lying_zip(p / "a.zip"),
        "damaged": lambda p: _damaged(make_zip(p / "a.zip", {"zeros": bytes(2000)})),
    }[kind]
    source = tmp_path / "src"
    source.mkdir()
    archive = build(source)
    destination = tmp_path / "dest"
    with pytest.raises(ArchiveError) as error:
        safe_extract(archive, destination, ArchiveLimits(max_files=10, max_bytes=4096))
    assert error.value.code == code, error.value
    assert error.value.status == (413 if code == "archive_too_large" else 400)
    outside = {p for p in tmp_path.rglob("*") if not p.is_relative_to(destination)}
    assert {p.name for p in outside} <= {"src", archive.name}
    assert not Path("/tmp/escape.txt").exists()


def _lying_zip(path: Path) -> Path:
    """A zip whose header claims 10 bytes for a 5000-byte entry."""
    make_zip(path, {"zeros": bytes(5000)})
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def _damaged(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x03\x04") + 30 + len("zeros")
    data[at : at + 8] = b"\xff" * 8  # corrupt the deflate stream
    path.write_bytes(bytes(data))
    return path
