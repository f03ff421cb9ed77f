"""`ModelBuilder`: load a labelled feature table, split it by video, train, evaluate and save.

The documented workflow (the seed notebooks)::

    from stream_pose_ml.learning import model_builder as mb

    model_builder = mb.ModelBuilder()
    model_builder.load_and_prep_dataset_from_csv(
        path="dataset.csv", target="weight_transfer_type", value_map=value_map,
        column_whitelist=[], drop_list=["video_id", "step_frame_id", "frame_number", "step_type"],
    )
    model_builder.set_train_test_split(balance_off_target=True, upsample_minority=True,
                                       downsample_majority=False, use_SMOTE=False,
                                       random_state=40002)
    model_builder.train_gradient_boost()
    model_builder.evaluate_model()
    model_builder.save_model_and_datasets(notes="...", model_type="gradient-boost")

Rows of one video are near-duplicates of their neighbours, so the train/test split, the
hyper-parameter search folds and the cross-validation folds all keep each video (the
``video_id`` column, kept aside even when ``drop_list`` names it) on one side.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
import time
import warnings
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from stream_pose_ml.errors import FeatureSpecError, TrainingDataError
from stream_pose_ml.features.columns import META_COLUMNS
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.learning import paths
from stream_pose_ml.learning.evaluation import (
    EvaluationReport,
    evaluate_classifier,
    feature_importances,
    grouped_cross_validate,
)

log = logging.getLogger(__name__)

#: Column that identifies the video a row comes from (the grouping key of every split).
GROUP_COLUMN = "video_id"

#: Search spaces used when a search is asked for without ``params``.
DEFAULT_SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {
    "gradient-boost": {
        "n_estimators": [50, 100, 200],
        "max_depth": [3, 4, 6],
        "learning_rate": [0.05, 0.1, 0.3],
    },
    "random-forest": {"n_estimators": [50, 100, 200], "max_depth": [None, 8, 16]},
    "logistic-regression": {"C": [0.01, 0.1, 1.0, 10.0]},
    "hist-gradient-boosting": {
        "max_iter": [100, 200],
        "learning_rate": [0.05, 0.1],
        "max_leaf_nodes": [15, 31],
    },
}


class ModelBuilder:
    """Set up training data, train classifiers of several families and compare them.

    ``data_dir`` is where models and plots are written (default: ``$STREAM_POSE_ML_DATA`` or
    ``./data``); ``n_jobs`` is passed to the estimators and searches and also caps the
    OpenMP/BLAS threads while training and evaluating (None: the libraries' defaults);
    ``verbose`` prints the balance, search results and evaluation report (as the seed did), else
    they only go to the log.

    Attributes after each step: ``X``, ``y``, ``groups``, ``meta`` (load); ``X_train``,
    ``X_test``, ``y_train``, ``y_test`` (split); ``model``, ``model_type``, ``best_params``
    (train); ``report`` and ``accuracy``, ``precision``, ``recall``, ``f1``, ``auc``,
    ``confusion_matrix`` (evaluate).
    """

    def __init__(
        self, data_dir: str | Path | None = None, n_jobs: int | None = None, verbose: bool = True
    ) -> None:
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.data_file: str | None = None
        self.target: str | None = None
        self.value_map: dict[Any, Any] | None = None
        self.feature_spec: FeatureSpec | None = None
        self.X: pd.DataFrame | None = None
        self.y: pd.Series | None = None
        self.groups: pd.Series | None = None
        self.meta: pd.DataFrame | None = None
        self.X_train: pd.DataFrame | None = None
        self.X_test: pd.DataFrame | None = None
        self.y_train: pd.Series | None = None
        self.y_test: pd.Series | None = None
        self.groups_train: pd.Series | None = None
        self.groups_test: pd.Series | None = None
        self.sampler: Any = None
        self.split_info: dict[str, Any] = {}
        self.random_state: int | None = None
        self.model: Any = None
        self.model_type: str | None = None
        self.model_id: str | None = None
        self.best_params: dict[str, Any] | None = None
        self.search_score: float | None = None
        self.feature_importances: list[dict[str, str]] | None = None
        self.report: EvaluationReport | None = None
        self._X_train_raw: pd.DataFrame | None = None
        self._y_train_raw: pd.Series | None = None
        self._groups_train_raw: pd.Series | None = None

    # -- data -------------------------------------------------------------------------------
    def load_and_prep_dataset_from_csv(
        self,
        path: str | Path,
        target: str,
        value_map: Mapping[str, Mapping[Any, Any]] | None = None,
        drop_list: Sequence[str] | None = None,
        column_whitelist: Sequence[str] | None = None,
        feature_spec: FeatureSpec | Mapping[str, Any] | None = None,
        group_column: str = GROUP_COLUMN,
    ) -> bool:
        """Load a dataset file (CSV, or Parquet by suffix); see :meth:`load_and_prep_dataset`."""
        return self.load_and_prep_dataset(
            _read_table(Path(path)),
            target,
            value_map=value_map,
            drop_list=drop_list,
            column_whitelist=column_whitelist,
            feature_spec=feature_spec,
            group_column=group_column,
            source=str(path),
        )

    def load_and_prep_dataset(
        self,
        table: pd.DataFrame,
        target: str,
        value_map: Mapping[str, Mapping[Any, Any]] | None = None,
        drop_list: Sequence[str] | None = None,
        column_whitelist: Sequence[str] | None = None,
        feature_spec: FeatureSpec | Mapping[str, Any] | None = None,
        group_column: str = GROUP_COLUMN,
        source: str = "<DataFrame>",
    ) -> bool:
        """Keep the target and the features of a dataset table (e.g. ``format_dataset``'s).

        ``value_map`` maps, per column, label values to class values (``{"weight_transfer_type":
        {"Failure Weight Transfer": 0, ...}}``); labels it does not list become missing. A text
        target without a map is mapped to ``0..k-1`` in sorted order. ``column_whitelist``
        (empty: all) keeps only those columns, ``drop_list`` removes columns. Meta columns
        (``video_id``, ``frame_number``, ...) never become features: ``video_id`` is kept aside as
        the group of each row, the rest in ``meta``. Rows without a target value or with a
        missing feature value are dropped. ``feature_spec`` is the spec that made the features;
        by default ``table.attrs["feature_spec"]`` (set by the dataset builder), else it is read
        from the column names when they are self-describing.
        """
        path = source
        if feature_spec is None and isinstance(table.attrs.get("feature_spec"), Mapping):
            feature_spec = table.attrs["feature_spec"]
        table = table.copy()
        if target not in table.columns:
            raise TrainingDataError(
                f"{path}: no target column {target!r}; columns are {list(table.columns)[:12]}..."
            )
        value_map = {k: dict(v) for k, v in (value_map or {}).items()}
        for column, mapping in value_map.items():
            if column in table.columns:
                table[column] = table[column].map(mapping)
        if target not in value_map and not pd.api.types.is_numeric_dtype(table[target]):
            labels = sorted(table[target].dropna().unique(), key=str)
            value_map[target] = {label: i for i, label in enumerate(labels)}
            table[target] = table[target].map(value_map[target])
            log.info("mapped the %r labels to classes: %s", target, value_map[target])

        groups = table[group_column] if group_column in table.columns else None
        meta = table[[c for c in table.columns if c in META_COLUMNS or c == group_column]]
        columns = list(table.columns)
        if column_whitelist:
            unknown = [c for c in column_whitelist if c not in table.columns]
            if unknown:
                raise TrainingDataError(f"{path}: column_whitelist names unknown columns {unknown}")
            columns = list(dict.fromkeys([*column_whitelist, target]))
        dropped = set(drop_list or ())
        aside = {c for c in columns if c in META_COLUMNS or c == group_column} - dropped
        if aside:
            log.info("keeping meta columns %s out of the features", sorted(aside))
        features = [c for c in columns if c != target and c not in dropped and c not in aside]
        if not features:
            raise TrainingDataError(f"{path}: no feature columns left after whitelist/drop_list")
        non_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(table[c])]
        if non_numeric:
            raise TrainingDataError(
                f"{path}: columns {non_numeric} are not numeric (label columns?); add them to "
                "drop_list or map them with value_map"
            )

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
            raise TrainingDataError(f"{path}: no row has both a {target!r} value and all features")
        y = table.loc[keep, target]
        if pd.api.types.is_float_dtype(y) and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        if y.nunique() < 2:
            raise TrainingDataError(f"{path}: target {target!r} has a single class {y.unique()}")

        self.data_file = str(path)
        self.target = target
        self.value_map = value_map
        self.X = table.loc[keep, features].astype(np.float64).reset_index(drop=True)
        self.y = y.reset_index(drop=True).rename(target)
        self.groups = None if groups is None else groups[keep].reset_index(drop=True)
        self.meta = meta.loc[keep].reset_index(drop=True)
        self.feature_spec = self._resolve_feature_spec(feature_spec, features)
        videos = f"no {group_column} column" if groups is None else f"{groups.nunique()} videos"
        self._say(
            f"Loaded {len(self.X)} rows x {len(features)} features from {path}; {videos}; "
            f"classes {self.y.value_counts().sort_index().to_dict()}"
        )
        return True

    def _resolve_feature_spec(
        self, feature_spec: FeatureSpec | Mapping[str, Any] | None, features: Sequence[str]
    ) -> FeatureSpec | None:
        if feature_spec is not None:
            spec = FeatureSpec.coerce(feature_spec)
            missing = [c for c in features if c not in set(spec.columns)]
            if missing:
                raise FeatureSpecError(
                    f"the feature spec does not make columns {missing[:5]} of the dataset"
                )
            return spec
        try:
            return FeatureSpec.from_columns(features)
        except FeatureSpecError as exc:
            log.info("no feature spec read from the column names (%s); pass feature_spec=", exc)
            return None

    @property
    def class_labels(self) -> dict[Any, str]:
        """Class value -> label name, from the target's value map."""
        mapping = (self.value_map or {}).get(self.target, {})
        return {v: str(k) for k, v in mapping.items()}

    def set_train_test_split(
        self,
        test_size: float = 0.2,
        random_state: int | None = None,
        balance_off_target: bool = False,
        upsample_minority: bool = False,
        downsample_majority: bool = False,
        use_SMOTE: bool = False,
        group_by_video: bool = True,
    ) -> None:
        """Split into train and test rows, whole videos to one side, and balance the training set.

        With a ``video_id`` column (and ``group_by_video``) the split is the first fold of a
        shuffled ``StratifiedGroupKFold`` with ``round(1 / test_size)`` folds, so about
        ``test_size`` of the rows, whole videos only; otherwise a stratified row split (scores
        will be optimistic). ``balance_off_target`` with ``upsample_minority`` resamples every
        smaller class up to the largest (``use_SMOTE``: synthesised rows instead of copies), with
        ``downsample_majority`` every larger class down to the smallest. Only the training rows
        are resampled; the test rows stay as recorded.
        """
        if self.X is None or self.y is None:
            raise TrainingDataError("load a dataset first (load_and_prep_dataset_from_csv)")
        if not 0 < test_size < 1:
            raise TrainingDataError(f"test_size must be between 0 and 1, got {test_size}")
        self.random_state = random_state
        n_groups = 0 if self.groups is None else int(self.groups.nunique())
        if group_by_video and n_groups >= 2:
            splits = max(2, min(round(1 / test_size), n_groups))
            folds = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=random_state)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*least populated class.*")
                train_idx, test_idx = next(folds.split(self.X, self.y, groups=self.groups))
            grouped = True
        else:
            if group_by_video:
                log.warning(
                    "splitting rows, not videos (%s); neighbouring frames of one video land on "
                    "both sides and test scores will be optimistic",
                    "no video_id column" if self.groups is None else "a single video",
                )
            counts = self.y.value_counts()
            stratify = self.y if counts.min() >= 2 else None
            train_idx, test_idx = train_test_split(
                np.arange(len(self.y)),
                test_size=test_size,
                random_state=random_state,
                stratify=stratify,
            )
            grouped = False
        self.X_train = self.X.iloc[train_idx].reset_index(drop=True)
        self.X_test = self.X.iloc[test_idx].reset_index(drop=True)
        self.y_train = self.y.iloc[train_idx].reset_index(drop=True)
        self.y_test = self.y.iloc[test_idx].reset_index(drop=True)
        self.groups_train = None if self.groups is None else self.groups.iloc[train_idx]
        self.groups_test = None if self.groups is None else self.groups.iloc[test_idx]
        if self.groups_train is not None:
            self.groups_train = self.groups_train.reset_index(drop=True)
            self.groups_test = self.groups_test.reset_index(drop=True)
        missing = set(self.y.unique()) - set(self.y_test.unique())
        if missing:
            log.warning("the test set holds no rows of class(es) %s", sorted(missing))
        # before resampling: searches and cross-validation resample inside their folds
        self._X_train_raw, self._y_train_raw = self.X_train, self.y_train
        self._groups_train_raw = self.groups_train

        self.sampler = None
        if balance_off_target and (upsample_minority or downsample_majority):
            self.sampler = _make_sampler(upsample_minority, use_SMOTE, random_state)
            X_res, y_res = self.sampler.fit_resample(self.X_train, self.y_train)
            self.X_train = pd.DataFrame(X_res, columns=self.X.columns).reset_index(drop=True)
            self.y_train = pd.Series(np.asarray(y_res), name=self.target)
            indices = getattr(self.sampler, "sample_indices_", None)
            if self.groups_train is not None:
                self.groups_train = (
                    self.groups_train.iloc[indices].reset_index(drop=True)
                    if indices is not None
                    else None  # SMOTE rows have no video
                )
        train_videos = test_videos = None
        if self.groups is not None:
            train_videos = int(self.groups.iloc[train_idx].nunique())
            test_videos = int(self.groups.iloc[test_idx].nunique())
        self.split_info = {
            "grouped_by_video": grouped,
            "test_size": test_size,
            "n_train": len(self.X_train),
            "n_test": len(self.X_test),
            "train_videos": train_videos,
            "test_videos": test_videos,
            "balancing": None if self.sampler is None else type(self.sampler).__name__,
        }
        videos = f" ({train_videos} / {test_videos} videos)" if grouped else ""
        balance = self.y_train.value_counts().sort_index().to_string()
        self._say(
            f"Train/test split ({'whole videos' if grouped else 'rows'}): "
            f"{len(self.X_train)} train rows, {len(self.X_test)} test rows{videos}\n"
            f"Training balance for {self.target}:\n{balance}"
        )

    # -- training ---------------------------------------------------------------------------
    def train(
        self,
        estimator: Any,
        *,
        params: Mapping[str, Any] | None = None,
        search: str | None = None,
        iterations: int = 10,
        random_state: int | None = None,
        cv_splits: int = 5,
        model_type: str | None = None,
    ) -> Any:
        """Fit ``estimator`` on the training rows, optionally after a hyper-parameter search.

        Without ``search``, ``params`` are set on the estimator (scalars). With ``search="random"``
        or ``"grid"``, ``params`` is the search space: lists (or SciPy distributions for random
        search) of candidate values; a scalar counts as a one-value list; without ``params`` the
        model type's entry of :data:`DEFAULT_SEARCH_SPACES` is searched. The search scores
        folds that keep whole videos apart (``StratifiedGroupKFold``) and resamples inside each
        training fold only; the best parameters are then refit on the whole (balanced) training
        set. Returns the fitted model, also kept as ``self.model``.
        """
        self._require_split()
        model = clone(estimator)
        name = model_type or type(_final_step(model)).__name__
        params = dict(params or {})
        self.best_params, self.search_score = None, None
        with self._thread_limit():
            return self._train(model, name, params, search, iterations, random_state, cv_splits)

    def _train(
        self,
        model: Any,
        name: str,
        params: dict[str, Any],
        search: str | None,
        iterations: int,
        random_state: int | None,
        cv_splits: int,
    ) -> Any:
        if search is None:
            lists = [k for k, v in params.items() if isinstance(v, (list, tuple))]
            if lists:
                raise TrainingDataError(
                    f"params {lists} hold lists of values; pass use_random_search=True (or "
                    "use_grid_search=True) to search over them, or give single values"
                )
            model.set_params(**_prefixed(model, params))
        elif search in ("random", "grid"):
            space = params or DEFAULT_SEARCH_SPACES.get(name, {})
            best = self._search(model, space, search, iterations, random_state, cv_splits)
            model.set_params(**best)
            self.best_params = best
            self._say(f"Best {search} search parameters: {best} (CV score {self.search_score:.4f})")
        else:
            raise TrainingDataError(f"search must be None, 'random' or 'grid', got {search!r}")
        model.fit(self.X_train, self.y_train)
        self.model = model
        self.model_type = name
        self.model_id = f"{name}-{time.time_ns()}"
        self.report = None
        importances = feature_importances(model, list(self.X_train.columns))
        self.feature_importances = [{n: f"{v * 100}%"} for n, v in importances] or None
        return model

    def _search(
        self,
        model: Any,
        params: Mapping[str, Any],
        search: str,
        iterations: int,
        random_state: int | None,
        cv_splits: int,
    ) -> dict[str, Any]:
        if not params:
            raise TrainingDataError(f"a {search} search needs params: a search space")
        space = {k: _as_candidates(v, search) for k, v in _prefixed(model, params).items()}
        X, y, groups = self._X_train_raw, self._y_train_raw, self._groups_train_raw
        searched: Any = model
        prefix = ""
        if self.sampler is not None:
            from imblearn.pipeline import Pipeline as SamplingPipeline

            searched = SamplingPipeline([("sampler", clone(self.sampler)), ("model", model)])
            prefix = "model__"
            space = {prefix + k: v for k, v in space.items()}
        if groups is not None and groups.nunique() >= 2:
            cv: Any = StratifiedGroupKFold(
                n_splits=min(cv_splits, int(groups.nunique())),
                shuffle=True,
                random_state=random_state,
            )
        else:
            cv = StratifiedKFold(
                n_splits=max(2, min(cv_splits, int(y.value_counts().min()))),
                shuffle=True,
                random_state=random_state,
            )
            groups = None
        scoring = _search_scoring(model, y)
        if search == "grid":
            searcher: Any = GridSearchCV(
                searched,
                space,
                scoring=scoring,
                cv=cv,
                n_jobs=self.n_jobs,
                refit=False,
                error_score=np.nan,
            )
        else:
            size = _grid_size(space)
            searcher = RandomizedSearchCV(
                searched,
                space,
                n_iter=min(iterations, size) if size else iterations,
                scoring=scoring,
                cv=cv,
                random_state=random_state,
                n_jobs=self.n_jobs,
                refit=False,
                error_score=np.nan,
            )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*least populated class.*")
            searcher.fit(X, y, groups=groups)
        results = searcher.cv_results_
        scores = np.asarray(results["mean_test_score"], dtype=np.float64)
        if np.isnan(scores).all():
            raise TrainingDataError(
                f"every {search} search candidate failed to score; check the parameter names "
                "and values"
            )
        best = results["params"][int(np.nanargmax(scores))]
        self.search_score = float(np.nanmax(scores))
        return {k.removeprefix(prefix): v for k, v in best.items()}

    def train_gradient_boost(
        self,
        params: Mapping[str, Any] | None = None,
        use_random_search: bool = False,
        use_grid_search: bool = False,
        iterations: int = 10,
        random_state: int | None = None,
    ) -> Any:
        """XGBoost (``xgboost.XGBClassifier``), the seed's "gradient-boost" model.

        Classes must be ``0..k-1`` (use a ``value_map``).
        """
        self._require_split()
        classes = np.sort(self.y.unique())
        if not np.array_equal(classes, np.arange(len(classes))):
            raise TrainingDataError(
                f"XGBoost needs classes 0..{len(classes) - 1}, the target has {list(classes)}; "
                "map them with value_map"
            )
        import xgboost

        estimator = xgboost.XGBClassifier(
            eval_metric="logloss", random_state=random_state, n_jobs=self.n_jobs
        )
        return self.train(
            estimator,
            params=params,
            search=_search_kind(use_random_search, use_grid_search),
            iterations=iterations,
            random_state=random_state,
            model_type="gradient-boost",
        )

    def train_xgboost(self, **kwargs: Any) -> Any:
        """Same as :meth:`train_gradient_boost` (XGBoost); takes the same arguments."""
        return self.train_gradient_boost(**kwargs)

    def train_random_forest(
        self,
        use_random_search: bool = False,
        params: Mapping[str, Any] | None = None,
        param_dist: Mapping[str, Any] | None = None,
        iterations: int = 10,
        random_state: int | None = 123,
        use_grid_search: bool = False,
    ) -> Any:
        """scikit-learn ``RandomForestClassifier``.

        With ``use_random_search`` the search space is ``param_dist``, or ``params`` when no
        ``param_dist`` is given (``{"n_estimators": [20, 50, 100], "max_depth": 9}``: scalars are
        one-value lists). Without a search, ``params`` are the forest's parameters.
        """
        estimator = RandomForestClassifier(random_state=random_state, n_jobs=self.n_jobs)
        search = _search_kind(use_random_search, use_grid_search)
        space = dict(param_dist or params or {}) if search else dict(params or {})
        return self.train(
            estimator,
            params=space,
            search=search,
            iterations=iterations,
            random_state=random_state,
            model_type="random-forest",
        )

    def train_logistic_regression(
        self,
        params: Mapping[str, Any] | None = None,
        use_grid_search: bool = False,
        use_random_search: bool = False,
        iterations: int = 10,
        random_state: int | None = 42,
    ) -> Any:
        """Standardised features into ``LogisticRegression`` (a two-step sklearn Pipeline).

        Parameter names are those of ``LogisticRegression`` (``C``, ``tol``, ...).
        """
        estimator = Pipeline(
            [
                ("scaler", StandardScaler()),
                ("logreg", LogisticRegression(max_iter=2000, random_state=random_state)),
            ]
        )
        search = _search_kind(use_random_search, use_grid_search)
        return self.train(
            estimator,
            params=params,
            search=search,
            iterations=iterations,
            random_state=random_state,
            model_type="logistic-regression",
        )

    def train_hist_gradient_boosting(
        self,
        params: Mapping[str, Any] | None = None,
        use_random_search: bool = False,
        use_grid_search: bool = False,
        iterations: int = 10,
        random_state: int | None = 0,
    ) -> Any:
        """scikit-learn ``HistGradientBoostingClassifier`` (fast on large tables)."""
        estimator = HistGradientBoostingClassifier(random_state=random_state)
        return self.train(
            estimator,
            params=params,
            search=_search_kind(use_random_search, use_grid_search),
            iterations=iterations,
            random_state=random_state,
            model_type="hist-gradient-boosting",
        )

    # -- evaluation -------------------------------------------------------------------------
    def evaluate_model(
        self,
        output_dir: str | Path | None = None,
        cross_validate: bool = True,
        cv_splits: int = 5,
    ) -> EvaluationReport:
        """Score the model on the test rows, cross-validate by video and save the plots.

        Returns (and prints, when ``verbose``) accuracy, precision, recall, F1, ROC AUC, the
        Matthews correlation and the confusion matrix. ``cross_validate`` adds grouped k-fold
        scores of the same configuration on all rows (``cv_scores``; needs 2+ videos). PNG
        plots go to ``output_dir``, default ``<data>/trained_models/<model id>-plots``.
        """
        self._require_model()
        with self._thread_limit():
            report = self._evaluate(output_dir, cross_validate, cv_splits)
        self.report = report
        self.accuracy, self.precision = report.accuracy, report.precision
        self.recall, self.f1 = report.recall, report.f1
        self.auc, self.mcc = report.roc_auc, report.mcc
        self.confusion_matrix = report.confusion_matrix
        self._say(report.summary())
        return report

    def _evaluate(
        self, output_dir: str | Path | None, cross_validate: bool, cv_splits: int
    ) -> EvaluationReport:
        out = Path(output_dir) if output_dir else self._models_dir() / f"{self.model_id}-plots"
        report = evaluate_classifier(
            self.model,
            self.X_test,
            self.y_test,
            class_labels=self.class_labels,
            output_dir=out,
            title=self.model_type or "",
            random_state=self.random_state,
        )
        if cross_validate:
            if self.groups is not None and self.groups.nunique() >= 2:
                report.cv_scores = grouped_cross_validate(
                    self.model,
                    self.X,
                    self.y,
                    self.groups,
                    n_splits=cv_splits,
                    sampler=self.sampler,
                    random_state=self.random_state,
                    n_jobs=self.n_jobs,
                )
            else:
                log.warning("no grouped cross-validation: the dataset has fewer than 2 videos")
        return report

    # -- saving -----------------------------------------------------------------------------
    def save_model_and_datasets(
        self,
        notes: str = "",
        model_type: str | None = None,
        model_path: str | Path | None = None,
    ) -> Path:
        """Write the legacy pickle ``<model_type>-<ns>.pickle`` and ``<...>-meta.json``.

        The pickle is the dict the web app loads: ``{"classifier": model, "columns": [...],
        "X_train", "X_test", "y_train", "y_test", "accuracy", ..., "value_map", "feature_spec"}``.
        ``model_path`` defaults to ``<data>/trained_models``. Returns the pickle's path.
        """
        self._require_model()
        if self.report is None:
            self.evaluate_model(cross_validate=False)
        model_type = model_type or self.model_type or type(self.model).__name__
        folder = Path(model_path) if model_path else self._models_dir()
        folder.mkdir(parents=True, exist_ok=True)
        model_id = f"{model_type}-{time.time_ns()}"
        report = self.report
        assert report is not None
        value_map = (self.value_map or {}).get(self.target)
        meta = {
            "type": model_type,
            "notes": notes,
            "data_file": self.data_file,
            "target": self.target,
            "value_map": value_map,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "auc-roc": _json_float(self.auc),
            "confusion_matrix": str(self.confusion_matrix),
            "features": self.feature_importances,
            "split": self.split_info,
            "best_params": _json_ready(self.best_params),
            "evaluation": report.to_dict(),
            "feature_spec": None if self.feature_spec is None else self.feature_spec.to_dict(),
        }
        model_data = {
            "type": model_type,
            "notes": notes,
            "feature_importances": self.feature_importances,
            "data_file": self.data_file,
            "auc-roc": self.auc,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "confusion_matrix": self.confusion_matrix,
            "classifier": self.model,
            "columns": self.X_test.columns.tolist(),
            "X_train": self.X_train,
            "X_test": self.X_test,
            "y_train": self.y_train,
            "y_test": self.y_test,
            "target": self.target,
            "value_map": value_map,
            "classes": list(getattr(self.model, "classes_", [])),
            "feature_spec": None if self.feature_spec is None else self.feature_spec.to_dict(),
        }
        (folder / f"{model_id}-meta.json").write_text(json.dumps(meta, indent=4, default=str))
        pickle_path = folder / f"{model_id}.pickle"
        with pickle_path.open("wb") as f:
            pickle.dump(model_data, f, pickle.HIGHEST_PROTOCOL)
        self._say(f"Saved model to pickle! {pickle_path}")
        return pickle_path

    def save_bundle(
        self,
        path: str | Path | None = None,
        notes: str = "",
        classifier_format: str | None = None,
        window_stride: int = 1,
        overwrite: bool = False,
    ) -> Path:
        """Save the model as a bundle (directory, or zip when ``path`` ends in ``.zip``).

        ``path`` defaults to ``<data>/trained_models/<model id>``; the manifest records the
        input columns, classes, value map, feature spec and test metrics.
        """
        from stream_pose_ml.learning.bundle import save_bundle

        self._require_model()
        if self.report is None:
            self.evaluate_model(cross_validate=False)
        assert self.report is not None
        target = Path(path) if path else self._models_dir() / str(self.model_id)
        saved = save_bundle(
            target,
            self.model,
            list(self.X_train.columns),
            feature_spec=self.feature_spec,
            class_labels=self.class_labels or None,
            target=self.target,
            value_map=(self.value_map or {}).get(self.target),
            window_stride=window_stride,
            metrics=self.report.metrics(),
            notes=notes,
            classifier_format=classifier_format,
            input_example=self.X_test.head(5),
            overwrite=overwrite,
        )
        self._say(f"Saved model bundle to {saved}")
        return saved

    def log_to_mlflow(
        self,
        experiment: str = "stream_pose_ml",
        run_name: str | None = None,
        register_as: str | None = None,
        tracking_uri: str | None = None,
    ) -> Any:
        """Log this run to MLflow: parameters, split, metrics, plots, feature spec and model.

        ``register_as`` also registers the model under that name. Returns a ``TrackedRun``.
        """
        from stream_pose_ml.learning.mlflow_tracking import log_training_run

        self._require_model()
        if self.report is None:
            self.evaluate_model()
        assert self.report is not None
        estimator = _final_step(self.model)
        params = {f"model.{k}": v for k, v in estimator.get_params().items() if _loggable(v)}
        params.update({f"split.{k}": v for k, v in self.split_info.items()})
        params.update(
            {
                "data_file": self.data_file,
                "target": self.target,
                "model_type": self.model_type,
                "n_features": self.X_train.shape[1],
            }
        )
        labels = self.class_labels
        classes = list(getattr(self.model, "classes_", []))
        run = log_training_run(
            self.model,
            input_columns=list(self.X_train.columns),
            params=params,
            metrics=self.report.metrics(),
            artifacts=list(self.report.plots.values()),
            feature_spec=self.feature_spec,
            input_example=self.X_test.head(5),
            classes=classes or None,
            class_labels=[labels.get(c, str(c)) for c in classes] if classes else None,
            experiment=experiment,
            run_name=run_name or self.model_id,
            register_as=register_as,
            tracking_uri=tracking_uri,
        )
        self._say(f"Logged MLflow run {run.run_id} ({run.model_uri}) to {run.tracking_uri}")
        return run

    def save_model_to_mlflow(self, model: Any = None, model_path: str | Path | None = None) -> Path:
        """Save an MLflow model directory (servable by ``mlflow models serve``) and its zip.

        ``model_path`` defaults to ``<data>/trained_models``; returns the directory.
        """
        from stream_pose_ml.learning.mlflow_tracking import save_mlflow_model
        from stream_pose_ml.learning.serialization import zip_directory

        self._require_model()
        folder = Path(model_path) if model_path else self._models_dir()
        directory = folder / f"{self.model_type}-mlflow-{time.time_ns()}"
        labels = self.class_labels
        classes = list(getattr(self.model, "classes_", []))
        save_mlflow_model(
            model if model is not None else self.model,
            directory,
            input_columns=list(self.X_train.columns),
            input_example=self.X_test.head(5),
            feature_spec=self.feature_spec,
            classes=classes or None,
            class_labels=[labels.get(c, str(c)) for c in classes] if classes else None,
        )
        zip_directory(directory, directory.with_suffix(".zip"))
        self._say(f"Saved MLflow model to {directory} (and {directory.name}.zip)")
        return directory

    def retrieve_model_from_pickle(self, file_path: str | Path) -> tuple[Any, dict[str, Any]]:
        """Load a pickle written by :meth:`save_model_and_datasets`; (model, its dict)."""
        with Path(file_path).open("rb") as f:
            data = pickle.load(f)
        if not isinstance(data, dict) or "classifier" not in data:
            raise TrainingDataError(f"{file_path}: not a pickle written by save_model_and_datasets")
        self.model = data["classifier"]
        self.model_type = data.get("type")
        self.model_id = Path(file_path).stem
        self.feature_importances = data.get("feature_importances")
        self.data_file = data.get("data_file")
        self.accuracy, self.precision = data.get("accuracy"), data.get("precision")
        self.recall, self.auc, self.f1 = data.get("recall"), data.get("auc-roc"), data.get("f1")
        self.confusion_matrix = data.get("confusion_matrix")
        for key in ("X_train", "X_test", "y_train", "y_test"):
            setattr(self, key, data.get(key))
        self.target = data.get("target")
        if data.get("value_map") is not None and self.target:
            self.value_map = {self.target: data["value_map"]}
        if data.get("feature_spec") is not None:
            self.feature_spec = FeatureSpec.from_dict(data["feature_spec"])
        return self.model, data

    # -- helpers ----------------------------------------------------------------------------
    def _thread_limit(self) -> AbstractContextManager[Any]:
        """Cap native thread pools at ``n_jobs``: oversubscribed OpenMP can be 10x slower."""
        if self.n_jobs is None or self.n_jobs < 1:
            return nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=self.n_jobs)

    def _models_dir(self) -> Path:
        return (self.data_dir or paths.data_dir()) / "trained_models"

    def _require_split(self) -> None:
        if self.X_train is None:
            raise TrainingDataError("call set_train_test_split before training")

    def _require_model(self) -> None:
        if self.model is None:
            raise TrainingDataError("train a model first (train_gradient_boost, ...)")

    def _say(self, message: str) -> None:
        log.info(message)
        if self.verbose:
            print(message)  # noqa: T201 - the documented notebook workflow prints its reports


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise TrainingDataError(f"{path}: no such dataset file")
    if path.suffix.lower() in (".parquet", ".pq"):
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path)
    if len(table.columns) and str(table.columns[0]).startswith("Unnamed: 0"):
        table = table.drop(columns=table.columns[0])  # a pandas index written with to_csv
    return table


def _make_sampler(upsample: bool, smote: bool, random_state: int | None) -> Any:
    if upsample and smote:
        from imblearn.over_sampling import SMOTE

        return SMOTE(random_state=random_state)
    if upsample:
        from imblearn.over_sampling import RandomOverSampler

        return RandomOverSampler(random_state=random_state)
    from imblearn.under_sampling import RandomUnderSampler

    return RandomUnderSampler(random_state=random_state)


def _search_kind(random: bool, grid: bool) -> str | None:
    if random and grid:
        raise TrainingDataError("pick one of use_random_search and use_grid_search")
    return "random" if random else "grid" if grid else None


def _final_step(model: Any) -> Any:
    return model.steps[-1][1] if hasattr(model, "steps") else model


def _prefixed(model: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Pipeline parameters for plain names: ``C`` -> ``logreg__C`` for a pipeline's last step."""
    if not hasattr(model, "steps"):
        return dict(params)
    step = model.steps[-1][0]
    return {k if "__" in k else f"{step}__{k}": v for k, v in params.items()}


def _as_candidates(value: Any, search: str) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    if search == "random" and hasattr(value, "rvs"):
        return value
    return [value]


def _grid_size(space: Mapping[str, Any]) -> int | None:
    if not all(isinstance(v, list) for v in space.values()):
        return None
    return math.prod(len(v) for v in space.values())


def _search_scoring(model: Any, y: pd.Series) -> str:
    binary = y.nunique() == 2
    if hasattr(model, "predict_proba"):
        return "roc_auc" if binary else "roc_auc_ovr_weighted"
    return "f1" if binary else "f1_weighted"


def _loggable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _json_float(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _json_ready(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value
