"""The classifier method of gait events: per-frame features of each foot, a calibrated random
forest trained through `ModelBuilder` (whole sequences kept on one side of every split) that
says whether a frame is that foot's initial contact, and the causal contact picker.

Features (`contact_feature_names`) come from the gait analyzer's causal signals of one foot:
heel and toe position relative to the pelvis along the walking direction and heel and toe
height above the fitted floor line (leg lengths), at the newest frame, their velocities over the
last ``window`` frames (leg lengths / s), and the other foot's heel and toe positions. The row of
frame ``t`` is labelled 1 when frame ``t - lag`` is a contact, so the classifier sees ``lag``
frames after the contact it names. A contact is emitted when the probability reaches
``threshold`` (the first frame, no peak wait), unless that foot made one within
``refractory_s``: the event comes ``lag`` frames after the frame it names.

A trained model is a directory: ``gait_model.json`` (window, lag, threshold, refractory time,
input columns, classifier format and test metrics) and the classifier file (skops by default,
`stream_pose_ml.learning.serialization`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stream_pose_ml.analysis.analyzer import sequence_times
from stream_pose_ml.analysis.events import AnalysisInputError
from stream_pose_ml.errors import ModelLoadError
from stream_pose_ml.keypoints.sequence import PoseSequence

FEET = ("left", "right")
#: The analyzer's per-foot signals the features are made of (``{foot}_{signal}``).
CONTACT_SIGNALS = ("heel_rel", "toe_rel", "heel_height", "toe_height")
LABEL = "contact"
MANIFEST = "gait_model.json"


def contact_feature_names(window: int) -> tuple[str, ...]:
    """Feature columns for a velocity window of ``window`` frames (this foot, then the other)."""
    values = list(CONTACT_SIGNALS)
    velocities = [f"{s}_velocity_{lag}" for lag in range(window) for s in CONTACT_SIGNALS]
    return (*values, *velocities, "other_heel_rel", "other_toe_rel")


@dataclass
class GaitContactModel:
    """A contact classifier and how it is used: ``classifier`` (``predict_proba`` over
    `contact_feature_names`; None: features only, for training tables), ``window`` (frames of
    velocities), ``lag`` (frames between a contact and the row that names it), ``threshold``
    (probability) and ``refractory_s`` (shortest time between two contacts of one foot)."""

    classifier: Any = None
    window: int = 4
    lag: int = 1
    threshold: float = 0.2
    refractory_s: float = 0.3
    metrics: dict[str, Any] = field(default_factory=dict)
    _fast: tuple[Any, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.window < 1 or self.lag < 0 or self.refractory_s < 0:
            raise AnalysisInputError(
                f"gait model: window must be >= 1 frame, lag and refractory_s >= 0 (got window "
                f"{self.window}, lag {self.lag}, refractory_s {self.refractory_s})"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise AnalysisInputError(
                f"gait model: threshold must be in (0, 1], got {self.threshold}"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        return contact_feature_names(self.window)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Contact probability per row of ``features`` ``(n, columns)``; 0 where a feature is
        missing (the first frames, occlusion) or there is no classifier."""
        features = np.atleast_2d(features)
        out = np.zeros(len(features))
        known = np.isfinite(features).all(axis=1)
        if self.classifier is None or not known.any():
            return out
        if self._fast is None or self._fast[0] is not self.classifier:
            self._fast = (self.classifier, _calibrated_forest_call(self.classifier))
        fast = self._fast[1]
        if fast is not None:
            out[known] = fast(features[known])
            return out
        rows: Any = features[known]
        if hasattr(self.classifier, "feature_names_in_"):  # fitted on a table (ModelBuilder)
            rows = pd.DataFrame(rows, columns=list(self.classifier.feature_names_in_))
        out[known] = self.classifier.predict_proba(rows)[:, 1]
        return out


def _calibrated_forest_call(classifier: Any) -> Any:
    """For a `CalibratedClassifierCV` (sigmoid, one calibrated forest), its class-1 probability
    computed from the trees directly, the sums scikit-learn makes, without the wrapper's per-call
    work (13 ms a frame against 0.5 ms for 40 trees, measured). Used only after it gave the
    wrapper's answer (to 1e-12) on probe rows; None otherwise, and the wrapper is called."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import RandomForestClassifier

    calibrated = getattr(classifier, "calibrated_classifiers_", None)
    if not isinstance(classifier, CalibratedClassifierCV) or calibrated is None:
        return None
    if len(calibrated) != 1 or len(calibrated[0].calibrators) != 1:
        return None
    forest, calibrator = calibrated[0].estimator, calibrated[0].calibrators[0]
    if not isinstance(forest, RandomForestClassifier) or not hasattr(calibrator, "a_"):
        return None
    if list(forest.classes_) != [0, 1]:
        return None
    trees = [tree.tree_ for tree in forest.estimators_]

    def call(rows: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(rows, dtype=np.float32)
        total = np.zeros((len(x), 2))
        for tree in trees:
            total += tree.predict(x)[:, :2]
        total /= len(trees)
        return np.asarray(1.0 / (1.0 + np.exp(calibrator.a_ * total[:, 1] + calibrator.b_)))

    probes = np.random.default_rng(0).normal(0.0, 3.0, (64, forest.n_features_in_))
    rows: Any = probes
    if hasattr(classifier, "feature_names_in_"):
        rows = pd.DataFrame(probes, columns=list(classifier.feature_names_in_))
    if not np.allclose(call(probes), classifier.predict_proba(rows)[:, 1], rtol=0, atol=1e-12):
        return None
    return call


class ContactDetector:
    """Causal contact picking for both feet: per frame, `features` of the newest frame, then
    `pick` with the model's probabilities for the frame `named_frame` names."""

    def __init__(self, model: GaitContactModel) -> None:
        self.model = model
        self._rows: deque[tuple[int, float, np.ndarray]] = deque(maxlen=model.window + 1)
        self._named: deque[tuple[int, float]] = deque(maxlen=model.lag + 1)
        self._last_contact: dict[str, float] = {}

    def features(self, frame: int, time: float, values: Mapping[str, float]) -> np.ndarray:
        """Add one frame; the ``(2, columns)`` features of the left and right foot (NaN until
        ``window + 1`` frames have been seen)."""
        signals = np.array([values[f"{f}_{s}"] for f in FEET for s in CONTACT_SIGNALS], float)
        self._rows.append((frame, time, signals.reshape(len(FEET), len(CONTACT_SIGNALS))))
        self._named.append((frame, time))
        out = np.full((len(FEET), len(self.model.columns)), np.nan)
        if len(self._rows) <= self.model.window:
            return out
        times = np.array([r[1] for r in self._rows])
        stacked = np.stack([r[2] for r in self._rows])  # (window + 1, feet, signals)
        dt = np.diff(times)[::-1]  # newest interval first
        velocity = np.diff(stacked, axis=0)[::-1] / np.maximum(dt, 1e-6)[:, None, None]
        newest = stacked[-1]
        for i in range(len(FEET)):
            other = newest[1 - i]
            out[i] = np.concatenate([newest[i], velocity[:, i].reshape(-1), other[:2]])
        return out

    def named_frame(self) -> tuple[int, float] | None:
        """The frame (index, time) the newest row names: ``lag`` frames back (None: too few)."""
        return self._named[0] if len(self._named) > self.model.lag else None

    def pick(
        self, named: tuple[int, float], probabilities: np.ndarray
    ) -> list[tuple[str, int, float, float]]:
        """Contacts at the ``named`` frame from the feet's ``probabilities`` ``(2,)``."""
        found = []
        for foot, p in zip(FEET, probabilities, strict=True):
            last = self._last_contact.get(foot)
            ready = last is None or named[1] - last >= self.model.refractory_s - 1e-9
            if p >= self.model.threshold and ready:
                self._last_contact[foot] = named[1]
                found.append((foot, named[0], named[1], float(p)))
        return found


@dataclass(frozen=True)
class GaitRecording:
    """One sequence to learn from, with the frames of each foot's initial contacts
    (``{"left": [...], "right": [...]}``, indices into the sequence)."""

    sequence: PoseSequence
    video_id: str
    contacts: Mapping[str, Sequence[int]]


def gait_feature_table(
    recordings: Iterable[GaitRecording], model: GaitContactModel | None = None
) -> pd.DataFrame:
    """One row per analyzed frame and foot: ``video_id``, ``foot``, ``frame_number`` (the frame
    the row names, ``lag`` back), ``time_s``, the features of ``model`` (its window and lag; default
    `GaitContactModel()`) and ``contact`` (1 at the foot's contact frames)."""
    from stream_pose_ml.analysis.gait import GaitAnalyzer, GaitParams

    spec = replace(model or GaitContactModel(), classifier=None)
    rows: list[dict[str, Any]] = []
    for recording in recordings:
        missing = set(FEET) - set(recording.contacts)
        if missing:
            raise AnalysisInputError(f"{recording.video_id}: no contacts given for {missing}")
        sequence = recording.sequence
        positions = {f: set(int(i) for i in recording.contacts[f]) for f in FEET}
        index_of = {int(n): i for i, n in enumerate(sequence.frame_numbers)}
        analyzer = GaitAnalyzer(GaitParams(method="classifier"), model=spec)
        times = sequence_times(sequence)
        for i in range(sequence.n_frames):
            analyzer.update(
                sequence.data[i], times[i], int(sequence.frame_numbers[i]), sequence.image_size
            )
            for named_frame, named_time, features in analyzer.pushed_features:
                position = index_of.get(named_frame, -1)
                for foot, row in zip(FEET, features, strict=True):
                    rows.append(
                        {
                            "video_id": recording.video_id,
                            "foot": foot,
                            "frame_number": named_frame,
                            "time_s": named_time,
                            **dict(zip(spec.columns, row.tolist(), strict=True)),
                            LABEL: int(position in positions[foot]),
                        }
                    )
    return pd.DataFrame(rows)


def train_gait_model(
    table: pd.DataFrame,
    output_dir: str | Path,
    model: GaitContactModel | None = None,
    n_estimators: int = 40,
    max_depth: int | None = 8,
    calibration_folds: int = 3,
    random_state: int = 0,
    builder: Any = None,
) -> tuple[Any, GaitContactModel]:
    """A random forest on `gait_feature_table` rows (made with the same ``model`` settings),
    probabilities calibrated (sigmoid) on folds that keep whole sequences apart, trained and
    evaluated through ``builder`` (a `ModelBuilder`, quiet when None); plots go to
    ``output_dir``. Returns the builder and the `GaitContactModel` holding the classifier."""
    from stream_pose_ml.analysis.grouped_forest import train_grouped_forest

    spec = model or GaitContactModel()
    columns = list(spec.columns)
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise AnalysisInputError(
            f"the table lacks feature columns {absent[:3]}: make it with gait_feature_table and "
            "the same window"
        )
    forest = {"n_estimators": n_estimators, "max_depth": max_depth, "min_samples_leaf": 2}
    builder = train_grouped_forest(
        table,
        columns,
        LABEL,
        "gait contact frames",
        output_dir,
        forest,
        "sigmoid",
        calibration_folds,
        random_state,
        builder,
    )
    report = builder.report
    metrics = {k: v for k, v in report.metrics().items() if isinstance(v, (int, float))}
    return builder, replace(spec, classifier=builder.model, metrics=metrics)


def save_gait_model(
    model: GaitContactModel,
    path: str | Path,
    classifier_format: str = "skops",
    overwrite: bool = False,
) -> Path:
    """Write ``model`` to the directory ``path`` (its manifest and classifier file)."""
    from stream_pose_ml.learning import serialization

    if model.classifier is None:
        raise AnalysisInputError("this gait model has no classifier; train it first")
    path = Path(path)
    if (path / MANIFEST).exists() and not overwrite:
        raise FileExistsError(f"{path} already holds a gait model; pass overwrite=True")
    path.mkdir(parents=True, exist_ok=True)
    file_name, trusted = serialization.write_classifier(model.classifier, path, classifier_format)
    manifest = {
        "kind": "gait-contact-classifier",
        "classifier": {"format": classifier_format, "file": file_name, "trusted_types": trusted},
        "input_columns": list(model.columns),
        "window": model.window,
        "lag": model.lag,
        "threshold": model.threshold,
        "refractory_s": model.refractory_s,
        "metrics": model.metrics,
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def load_gait_model(path: str | Path, trusted_types: Sequence[str] = ()) -> GaitContactModel:
    """Read a directory written by `save_gait_model`; ModelLoadError when it is not one.
    ``trusted_types`` extends the skops allow-list (scikit-learn, NumPy, SciPy)."""
    from stream_pose_ml.learning import serialization

    manifest_path = Path(path) / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        classifier_entry = manifest["classifier"]
        model = GaitContactModel(
            window=int(manifest["window"]),
            lag=int(manifest["lag"]),
            threshold=float(manifest["threshold"]),
            refractory_s=float(manifest["refractory_s"]),
            metrics=dict(manifest.get("metrics") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{manifest_path}: not a gait model manifest ({exc})") from exc
    file_name = str(classifier_entry.get("file", ""))
    if Path(file_name).name != file_name or not file_name:
        raise ModelLoadError(f"{manifest_path}: the classifier file must be a name in the folder")
    if list(manifest.get("input_columns", [])) != list(model.columns):
        raise ModelLoadError(f"{manifest_path}: input columns differ from window {model.window}'s")
    # the manifest's own list of types is never trusted: a crafted file could list anything
    classifier = serialization.read_classifier(
        Path(path) / file_name,
        str(classifier_entry["format"]),
        trusted_types=trusted_types,
    )
    return replace(model, classifier=classifier)
