"""Training data: a labelled feature table as features ``X``, classes ``y`` and video groups.

:func:`load_training_data` keeps the target and the numeric feature columns of a dataset table
(e.g. ``BuildAndFormatDatasetJob.format_dataset``'s, or a CSV or Parquet file), maps label text
to class numbers and sets the meta columns aside; it returns a frozen :class:`TrainingData`.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stream_pose_ml.errors import FeatureSpecError, TrainingDataError
from stream_pose_ml.features.columns import META_COLUMNS
from stream_pose_ml.features.spec import FeatureSpec

log = logging.getLogger(__name__)

#: Column that identifies the video a row comes from (the grouping key of every split).
GROUP_COLUMN = "video_id"
#: The most decimals a dataset's rounding is read from its values; beyond, it is not rounded.
MAX_READ_DECIMALS = 10


@dataclass(frozen=True)
class DatasetDescription:
    """What a model learns to predict, and from what: the ``target`` column, the per-column
    label -> class ``value_map``, the ``feature_spec`` that made the features (None when
    unknown) and the ``source`` the rows came from. Saved models record it."""

    target: str | None
    value_map: dict[str, dict[Any, Any]] | None
    feature_spec: FeatureSpec | None
    source: str | None

    @property
    def class_labels(self) -> dict[Any, str]:
        """Class value -> label name: the inverted ``value_map[target]`` (empty without one)."""
        mapping = (self.value_map or {}).get(self.target or "", {})
        return {v: str(k) for k, v in mapping.items()}

    @property
    def target_value_map(self) -> dict[Any, Any] | None:
        """The target's label -> class map (None without one)."""
        return (self.value_map or {}).get(self.target or "")


@dataclass(frozen=True)
class TrainingData:
    """A labelled feature table, ready to split.

    ``X`` is ``(rows, features)`` float64, ``y`` the ``(rows,)`` class values named ``target``,
    ``groups`` the ``(rows,)`` video of each row (None without a ``group_column``), ``meta``
    the meta columns of the kept rows. ``value_map`` maps, per column, label -> class value;
    ``feature_spec`` is the spec that made the feature columns (None when unknown); ``source``
    names where the table came from (a file path, or ``"<DataFrame>"``); ``table_videos`` counts
    the videos of the whole table, before rows were dropped (None without a ``group_column``).
    """

    X: pd.DataFrame
    y: pd.Series
    groups: pd.Series | None
    meta: pd.DataFrame
    target: str
    value_map: dict[str, dict[Any, Any]]
    feature_spec: FeatureSpec | None
    source: str
    group_column: str = GROUP_COLUMN
    table_videos: int | None = None

    @property
    def description(self) -> DatasetDescription:
        """Target, value map, feature spec and source, as saved models record them."""
        return DatasetDescription(self.target, self.value_map, self.feature_spec, self.source)

    def summary(self) -> str:
        """One line: rows, features, videos and rows per class."""
        videos = (
            f"no {self.group_column} column"
            if self.table_videos is None
            else f"{self.table_videos} videos"
        )
        return (
            f"Loaded {len(self.X)} rows x {self.X.shape[1]} features from {self.source}; "
            f"{videos}; classes {self.y.value_counts().sort_index().to_dict()}"
        )


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a dataset file: Parquet by suffix (``.parquet``, ``.pq``), else CSV.

    A first column ``Unnamed: 0`` (a pandas index written by ``to_csv``) is dropped. CSV numbers
    are parsed exactly (``float_precision="round_trip"``), so the rows are the written table's.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainingDataError(f"{path}: no such dataset file")
    if path.suffix.lower() in (".parquet", ".pq"):
        table = pd.read_parquet(path)
    else:  # round_trip: the values to_csv wrote, bit for bit (the default parser can be ulps off)
        table = pd.read_csv(path, float_precision="round_trip")
    if len(table.columns) and str(table.columns[0]).startswith("Unnamed: 0"):
        table = table.drop(columns=table.columns[0])  # a pandas index written with to_csv
    return table


def load_training_data(
    table: pd.DataFrame | str | Path,
    target: str,
    value_map: Mapping[str, Mapping[Any, Any]] | None = None,
    *,
    feature_spec: FeatureSpec | Mapping[str, Any] | None = None,
    column_whitelist: Sequence[str] | None = None,
    drop_list: Sequence[str] | None = None,
    group_column: str = GROUP_COLUMN,
    source: str | None = None,
) -> TrainingData:
    """Keep the target and the features of a dataset table, or of the file at path ``table``.

    ``table`` is a DataFrame (e.g. ``format_dataset``'s; it is not changed) or a CSV/Parquet
    file (:func:`read_table`). ``value_map`` maps, per column, label values to class values
    (``{"weight_transfer_type": {"Failure Weight Transfer": 0, ...}}``); labels it does not
    list become missing. A text target without a map is mapped to ``0..k-1`` in sorted order.
    ``column_whitelist`` (empty: all) keeps only those columns, ``drop_list`` removes columns.
    Meta columns (``video_id``, ``frame_number``, ...) never become features: ``group_column``
    is kept aside as the group of each row, the rest in ``meta``. Rows without a target value
    or with a missing feature value are dropped. ``feature_spec`` is the spec that made the
    features; by default ``table.attrs["feature_spec"]`` (set by the dataset builder), else it
    is read from the column names when they are self-describing, with the rounding the feature
    values show (a CSV keeps no spec). ``group_column`` values must be present and all numbers
    or all text. ``source`` (default: the path, or ``"<DataFrame>"``) names the table in
    messages and saved models.
    """
    if not isinstance(table, pd.DataFrame):
        source = str(table) if source is None else source
        table = read_table(table)
    source = "<DataFrame>" if source is None else source
    if feature_spec is None and isinstance(table.attrs.get("feature_spec"), Mapping):
        feature_spec = table.attrs["feature_spec"]
    table = table.copy()
    if target not in table.columns:
        raise TrainingDataError(
            f"{source}: no target column {target!r}; columns are {list(table.columns)[:12]}..."
        )
    class_maps: dict[str, dict[Any, Any]] = {k: dict(v) for k, v in (value_map or {}).items()}
    for column, mapping in class_maps.items():
        if column in table.columns:
            table[column] = table[column].map(mapping)
    if target not in class_maps and not pd.api.types.is_numeric_dtype(table[target]):
        labels = sorted(table[target].dropna().unique(), key=str)
        class_maps[target] = {label: i for i, label in enumerate(labels)}
        table[target] = table[target].map(class_maps[target])
        log.info("mapped the %r labels to classes: %s", target, class_maps[target])

    groups = table[group_column] if group_column in table.columns else None
    meta = table[[c for c in table.columns if c in META_COLUMNS or c == group_column]]
    features = _feature_columns(table, target, drop_list, column_whitelist, group_column, source)

    keep = table[target].notna() & table[features].notna().all(axis=1)
    n_missing_target = int(table[target].isna().sum())
    n_dropped = int((~keep).sum())
    if n_dropped:
        log.info(
            "dropping %d of %d rows (%d without a %r value, the rest with missing features)",
            n_dropped,
            len(table),
            n_missing_target,
            target,
        )
    if not keep.any():
        raise TrainingDataError(f"{source}: no row has both a {target!r} value and all features")
    if groups is not None:
        check_groups(groups[keep], group_column, source)
    y = table.loc[keep, target]
    if pd.api.types.is_float_dtype(y) and np.all(np.mod(y, 1) == 0):
        y = y.astype(np.int64)
    if y.nunique() < 2:
        raise TrainingDataError(f"{source}: target {target!r} has a single class {y.unique()}")
    X = table.loc[keep, features].astype(np.float64).reset_index(drop=True)
    return TrainingData(
        X=X,
        y=y.reset_index(drop=True).rename(target),
        groups=None if groups is None else groups[keep].reset_index(drop=True),
        meta=meta.loc[keep].reset_index(drop=True),
        target=target,
        value_map=class_maps,
        feature_spec=resolve_feature_spec(feature_spec, features, X.to_numpy()),
        source=str(source),
        group_column=group_column,
        table_videos=None if groups is None else int(groups.nunique()),
    )


def _feature_columns(
    table: pd.DataFrame,
    target: str,
    drop_list: Sequence[str] | None,
    column_whitelist: Sequence[str] | None,
    group_column: str,
    source: str,
) -> list[str]:
    """The numeric feature columns left after the whitelist, ``drop_list`` and meta columns."""
    columns = list(table.columns)
    if column_whitelist:
        unknown = [c for c in column_whitelist if c not in table.columns]
        if unknown:
            raise TrainingDataError(f"{source}: column_whitelist names unknown columns {unknown}")
        columns = list(dict.fromkeys([*column_whitelist, target]))
    dropped = set(drop_list or ())
    aside = {c for c in columns if c in META_COLUMNS or c == group_column} - dropped
    if aside:
        log.info("keeping meta columns %s out of the features", sorted(aside))
    features = [c for c in columns if c != target and c not in dropped and c not in aside]
    if not features:
        raise TrainingDataError(f"{source}: no feature columns left after whitelist/drop_list")
    non_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        raise TrainingDataError(
            f"{source}: columns {non_numeric} are not numeric (label columns?); add them to "
            "drop_list or map them with value_map"
        )
    return features


def check_groups(groups: pd.Series, column: str, source: str) -> None:
    """TrainingDataError unless every row has a video id and the ids are of one kind (numbers or
    text): the splits sort them, and NaN or mixed ids would fail inside scikit-learn."""
    missing = groups.isna()
    if missing.any():
        rows = [_plain(i) for i in groups.index[missing.to_numpy()][:5]]
        raise TrainingDataError(
            f"{source}: column {column!r} has no value in {int(missing.sum())} rows (first "
            f"rows {rows}); every row needs the id of its video: fill them in or drop those rows"
        )
    kinds = groups.map(lambda v: "number" if isinstance(v, numbers.Number) else type(v).__name__)
    if kinds.nunique() > 1:
        examples = {kind: _plain(groups[kinds == kind].iloc[0]) for kind in kinds.unique()}
        raise TrainingDataError(
            f"{source}: column {column!r} mixes kinds of values ({examples}); video ids must be "
            f"all numbers or all text, e.g. table[{column!r}] = table[{column!r}].astype(str)"
        )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def dataset_precision(values: np.ndarray) -> int | None:
    """The decimals feature values were rounded to (``format_dataset(decimal_precision=p)``),
    read from them: the smallest ``p <= MAX_READ_DECIMALS`` that leaves every finite value as
    it is (within the few ulps a CSV's text may move it); None when they are not rounded."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    sample = finite[:: max(1, finite.size // 2000)]  # an unrounded p fails here, cheaply
    for p in range(MAX_READ_DECIMALS + 1):
        if _rounded(sample, p) and _rounded(finite, p):
            return p
    return None


def _rounded(values: np.ndarray, decimals: int) -> bool:
    return bool(
        np.all(np.abs(np.round(values, decimals) - values) <= 16 * np.spacing(np.abs(values)))
    )


def resolve_feature_spec(
    feature_spec: FeatureSpec | Mapping[str, Any] | None,
    features: Sequence[str],
    values: np.ndarray | None = None,
) -> FeatureSpec | None:
    """The given spec (checked to make every feature column), else the one the names describe
    with the rounding of the feature ``values`` (:func:`dataset_precision`; the names do not
    record it).

    Returns None when no spec is given and the column names describe none (logged).
    """
    if feature_spec is not None:
        spec = FeatureSpec.coerce(feature_spec)
        missing = [c for c in features if c not in set(spec.columns)]
        if missing:
            raise FeatureSpecError(
                f"the feature spec does not make columns {missing[:5]} of the dataset"
            )
        return spec
    try:
        spec = FeatureSpec.from_columns(features)
    except FeatureSpecError as exc:
        log.info("no feature spec read from the column names (%s); pass feature_spec=", exc)
        return None
    if values is None:
        return spec
    precision = dataset_precision(values)
    log.info(
        "the dataset's features are %s",
        f"rounded to {precision} decimals" if precision is not None else "not rounded",
    )
    return replace(spec, decimal_precision=precision)
