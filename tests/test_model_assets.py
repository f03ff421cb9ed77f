"""Pose model bundles: complexity names, building (wheel and npm sources), layout, errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from mediapipe.tasks.python.metadata import metadata

from stream_pose_ml.errors import ModelAssetError
from stream_pose_ml.extraction.model_assets import (
    BUNDLE_DETECTOR,
    BUNDLE_LANDMARKS,
    BUNDLE_SHA256,
    COMPLEXITIES,
    PoseModelConfigError,
    build_model_assets,
    check_bundle,
    copy_web_assets,
    model_sha256,
    models_dir,
    normalize_complexity,
    pose_model_path,
)


@pytest.fixture(scope="module")
def bundles() -> dict[str, Path]:
    """The three bundles in the real models folder, built once if missing (npm for lite/heavy)."""
    return build_model_assets()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "lite"),
        (1, "full"),
        (2, "heavy"),
        ("0", "lite"),
        ("2", "heavy"),
        ("lite", "lite"),
        (" Full ", "full"),
        ("HEAVY", "heavy"),
        ("pose_landmarker_lite", "lite"),
        ("pose_landmarker_heavy.task", "heavy"),
    ],
)
def test_normalize_complexity_accepts_numbers_and_names(value: int | str, expected: str) -> None:
    assert normalize_complexity(value) == expected


@pytest.mark.parametrize("value", [3, -1, "3", "medium", "", True, 1.0, None])
def test_normalize_complexity_rejects_anything_else(value: object) -> None:
    with pytest.raises(PoseModelConfigError, match="complexity"):
        normalize_complexity(value)  # type: ignore[arg-type]


def test_models_dir_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_MODELS", str(tmp_path / "m"))
    assert models_dir() == tmp_path / "m"
    monkeypatch.delenv("STREAM_POSE_ML_MODELS")
    monkeypatch.setenv("STREAM_POSE_ML_CACHE", str(tmp_path / "c"))
    assert models_dir() == tmp_path / "c" / "models"


def test_every_bundle_is_reproducible_and_has_the_known_checksum(bundles: dict[str, Path]) -> None:
    assert sorted(bundles) == sorted(COMPLEXITIES)
    for name, path in bundles.items():
        assert path == models_dir() / f"pose_landmarker_{name}.task"
        assert model_sha256(path) == BUNDLE_SHA256[name]
    assert len(set(BUNDLE_SHA256.values())) == 3


def test_bundle_layout_is_what_pose_landmarker_expects(bundles: dict[str, Path]) -> None:
    norms = {BUNDLE_DETECTOR: ([127.5], [127.5]), BUNDLE_LANDMARKS: ([0.0], [255.0])}
    for path in bundles.values():
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            assert [i.filename for i in infos] == [BUNDLE_DETECTOR, BUNDLE_LANDMARKS]
            for info in infos:
                assert info.compress_type == zipfile.ZIP_STORED  # MediaPipe memory-maps members
                assert info.date_time == (1980, 1, 1, 0, 0, 0)
                model = archive.read(info)
                md = json.loads(
                    metadata.MetadataDisplayer.with_model_buffer(model).get_metadata_json()
                )
                image = md["subgraph_metadata"][0]["input_tensor_metadata"][0]
                options = image["process_units"][0]["options"]
                assert (options["mean"], options["std"]) == norms[info.filename]
                assert image["content"]["content_properties"]["color_space"] == "RGB"


def test_full_bundle_builds_from_the_wheel_without_npm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", "")  # no npm reachable
    paths = build_model_assets(["full"], out_dir=tmp_path)
    assert paths == {"full": tmp_path / "pose_landmarker_full.task"}
    assert model_sha256(paths["full"]) == BUNDLE_SHA256["full"]
    with pytest.raises(ModelAssetError, match="needs npm"):
        build_model_assets(["lite"], out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pose_landmarker_full.task"]


def test_building_is_idempotent_and_force_rebuilds_identically(tmp_path: Path) -> None:
    assert build_model_assets("full", out_dir=tmp_path) == build_model_assets(
        [1, "full"], out_dir=tmp_path
    )
    first = tmp_path / "pose_landmarker_full.task"
    inode = first.stat().st_ino
    assert build_model_assets(["full"], out_dir=tmp_path)["full"].stat().st_ino == inode
    rebuilt = build_model_assets(["full"], out_dir=tmp_path, force=True)["full"]
    assert rebuilt.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert model_sha256(rebuilt) == BUNDLE_SHA256["full"]
    assert [p.name for p in tmp_path.iterdir()] == ["pose_landmarker_full.task"]


def test_missing_bundle_without_build_names_the_file_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_MODELS", str(tmp_path))
    with pytest.raises(
        ModelAssetError, match=r"pose_landmarker_heavy\.task is missing.*model_assets"
    ):
        pose_model_path(2, build=False)
    with pytest.raises(FileNotFoundError):  # ModelAssetError is also a FileNotFoundError
        pose_model_path("lite", build=False)


def test_pose_model_path_builds_a_missing_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_MODELS", str(tmp_path))
    path = pose_model_path()
    assert path == tmp_path / "pose_landmarker_full.task"
    assert model_sha256(path) == BUNDLE_SHA256["full"]
    assert pose_model_path("full", build=False) == path


def test_copy_web_assets_copies_the_three_bundles(bundles: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "web" / "models"
    copies = copy_web_assets(dest)
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in bundles.values())
    for name, path in copies.items():
        assert path.parent == dest
        assert model_sha256(path) == BUNDLE_SHA256[name]
    inode = copies["heavy"].stat().st_ino
    assert copy_web_assets(dest)["heavy"].stat().st_ino == inode  # up to date: not copied again


def test_check_bundle_accepts_real_bundles_and_names_broken_ones(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    for path in bundles.values():
        assert check_bundle(path) == path
    garbage = tmp_path / "garbage.task"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(ModelAssetError, match=r"garbage\.task is not a usable"):
        check_bundle(garbage)
    half = tmp_path / "half.task"
    with zipfile.ZipFile(half, "w") as bundle:
        bundle.writestr(BUNDLE_DETECTOR, b"x")
    with pytest.raises(ModelAssetError, match=f"no {BUNDLE_LANDMARKS}"):
        check_bundle(half)
    with pytest.raises(ModelAssetError, match=r"missing\.task"):
        check_bundle(tmp_path / "missing.task")
