"""Storage faults of the real API server: a full or read-only data folder, what crashed writes
left, and uploads refused after their bytes arrived.

Each fault is answered with its documented code (``storage_unavailable``, 503; ``bad_overlap``,
400) and leaves no debris: nothing in ``GET /models``, no ``.incoming`` folder, no temp file.
The full and read-only disks are real: a small tmpfs mounted for the test (root only; skipped
elsewhere), remounted read-only, or filled with a file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from api_server import ApiServer, save_legacy_model

pytestmark = pytest.mark.slow

TOKEN = "storage-token-91ab"
SETTINGS = {"STREAM_POSE_ML_API_TOKEN": TOKEN}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def small_disk(path: Path, size_mib: int) -> Iterator[Path]:
    """A tmpfs of ``size_mib`` MiB mounted at ``path`` for the block."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real small disk needs root (mount -t tmpfs)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs failed: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        remount(path, "rw")
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """A file that takes the disk's free space but ``leave`` bytes (0: until it is full)."""
    filler = folder / f"filler-{uuid.uuid4().hex[:8]}"
    with open(filler, "wb", buffering=0) as out:
        while (step := min(1 << 20, shutil.disk_usage(folder).free - leave)) > 0:
            try:
                out.write(b"\0" * step)
            except OSError:
                break
    return filler


def debris(models: Path) -> list[str]:
    """What failed writes left in the model store: uploads in progress and temp files."""
    return sorted(
        str(p.relative_to(models))
        for p in models.rglob("*")
        if p.name.startswith(".") or p.name.endswith(".tmp")
    )


def stored(api: ApiServer) -> tuple[list[str], str | None]:
    listing = api.get("/models").json()
    active = listing["active"]["model_id"] if listing["active"] else None
    return [m["id"] for m in listing["models"]], active


def uploaded(api: ApiServer, model: Path) -> str:
    """Upload ``model`` (it must be accepted); its id."""
    response = api.upload(model, token=TOKEN)
    assert response.status_code == 200, response.text
    return str(response.json()["model"]["id"])


def activate(api: ApiServer, model_id: str, **form: int) -> requests.Response:
    return requests.post(
        f"{api.url}/models/{model_id}/activate", data=form, headers=AUTH, timeout=30
    )


def refused(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("storage-models")
    return {
        "a": save_legacy_model(folder / "a.pkl", window=4, seed=1),
        "b": save_legacy_model(folder / "b.pkl", window=4, seed=2),
        "c": save_legacy_model(folder / "c.pkl", window=2, seed=3),
    }


def test_a_full_data_folder_answers_storage_unavailable_and_keeps_a_stored_model(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    with small_disk(tmp_path / "disk", 24) as disk, ApiServer(disk, SETTINGS) as api:
        store = disk / "models"
        a = uploaded(api, models["a"])
        uploaded(api, models["c"])
        c = stored(api)[1]
        assert c is not None
        assert activate(api, a).status_code == 200
        assert models["a"].stat().st_size > 64 * 1024  # more than the disk will have free

        bomb = tmp_path / "bomb.zip"  # 40 KiB that unpack to 40 MiB, on a 24 MiB disk
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("model/classifier.bin", bytes(40 * 1024**2))
        message = refused(api.upload(bomb, token=TOKEN), 503, "storage_unavailable")
        assert "extracting bomb.zip needs 40.0 MiB" in message
        assert debris(store) == [] and len(stored(api)[0]) == 2

        fillers = [fill(disk, leave=32 * 1024)]
        again = api.upload(models["a"], token=TOKEN)  # stored already: needs no disk space
        assert again.status_code == 200, again.text
        assert again.json()["model"]["id"] == a
        message = refused(api.upload(models["b"], token=TOKEN), 503, "storage_unavailable")
        assert "free" in message and "Nothing was stored" in message
        ids, active = stored(api)
        assert (sorted(ids), active) == (sorted([a, c]), a)
        assert debris(store) == []

        fillers.append(fill(disk, leave=0))  # not a byte left: activation cannot write
        message = refused(activate(api, c), 503, "storage_unavailable")
        assert "is full" in message
        assert stored(api)[1] == a
        assert debris(store) == []  # no .active.json.<hex>.tmp

        for filler in fillers:
            filler.unlink()
        assert api.upload(models["b"], token=TOKEN).status_code == 200  # recovered
        assert len(stored(api)[0]) == 3 and debris(store) == []


def test_a_read_only_data_folder_answers_storage_unavailable(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    with small_disk(tmp_path / "disk", 24) as disk, ApiServer(disk, SETTINGS) as api:
        store = disk / "models"
        a = uploaded(api, models["a"])
        remount(disk, "ro")
        try:
            message = refused(api.upload(models["b"], token=TOKEN), 503, "storage_unavailable")
            assert "read-only" in message
            assert "read-only" in refused(activate(api, a), 503, "storage_unavailable")
            assert stored(api) == ([a], a)
            assert api.get("/ready").status_code == 200  # the loaded model still serves
        finally:
            remount(disk, "rw")
        assert debris(store) == []
        assert api.upload(models["b"], token=TOKEN).status_code == 200


def test_temp_files_of_crashed_writes_are_removed_at_start(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    with ApiServer(tmp_path / "data", SETTINGS) as api:
        assert api.upload(models["c"], token=TOKEN).status_code == 200
        model_id = stored(api)[0][0]
        store = tmp_path / "data" / "models"
        stale = [
            store / f".active.json.{uuid.uuid4().hex}.tmp",
            store / model_id / f".meta.json.{uuid.uuid4().hex}.tmp",
        ]
        fresh = store / f".active.json.{uuid.uuid4().hex}.tmp"  # another replica's, writing
        for path in [*stale, fresh]:
            path.write_text('{"model_id": ')
        hour_ago = time.time() - 3600
        for path in stale:
            os.utime(path, (hour_ago, hour_ago))
        api.restart()
        assert debris(store) == [fresh.name]
        assert stored(api) == ([model_id], model_id)


def test_an_upload_refused_with_bad_overlap_is_not_stored(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    with ApiServer(tmp_path / "data", SETTINGS) as api:
        response = api.upload(models["c"], token=TOKEN, frame_window_overlap=5)
        assert "0..1" in refused(response, 400, "bad_overlap")
        assert stored(api) == ([], None)
        assert debris(tmp_path / "data" / "models") == []
