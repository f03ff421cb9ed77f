"""`ModelBuilder`: the notebooks' workflow of the original StreamPoseML, over the step functions.

``load_and_prep_dataset_from_csv`` -> ``set_train_test_split`` -> ``train_gradient_boost`` (or
another family) -> ``evaluate_model`` -> ``save_model_and_datasets``, as docs/learning.md shows.
Each step is a plain function whose result the builder keeps: loading
(:func:`~stream_pose_ml.learning.training_data.load_training_data` -> ``data``), the split
(:func:`~stream_pose_ml.learning.split.split_train_test` -> ``split``), training
(:func:`~stream_pose_ml.learning.training.train_model` -> ``fitted``), evaluation
(:func:`~stream_pose_ml.learning.training.evaluate_model` -> ``report``); saving is
:mod:`~stream_pose_ml.learning.saving`. The notebooks' attributes (``X``, ``X_train``,
``model``, ``accuracy``, ...) read those results.

Rows of one video are near-duplicates of their neighbours, so the train/test split, the
hyper-parameter search folds and the cross-validation folds all keep each video (the
``video_id`` column, kept aside even when ``drop_list`` names it) on one side.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.learning import paths, saving, training
from stream_pose_ml.learning.builder_state import BuilderState
from stream_pose_ml.learning.estimators import make_estimator, require_class_numbers
from stream_pose_ml.learning.evaluation import EvaluationReport
from stream_pose_ml.learning.search import DEFAULT_SEARCH_SPACES
from stream_pose_ml.learning.split import split_train_test
from stream_pose_ml.learning.training_data import (
    GROUP_COLUMN,
    load_training_data,
    read_table,
)

__all__ = ["DEFAULT_SEARCH_SPACES", "GROUP_COLUMN", "ModelBuilder"]

log = logging.getLogger(__name__)


class ModelBuilder(BuilderState):
    """Set up training data, train classifiers of several families and compare them.

    ``data_dir`` is where models and plots are written (default: ``$STREAM_POSE_ML_DATA`` or
    ``./data``); ``n_jobs`` is passed to the estimators and searches and also caps the
    OpenMP/BLAS threads while training and evaluating (None: the libraries' defaults);
    ``verbose`` prints the balance, search results and evaluation report (as the original
    StreamPoseML did), else they only go to the log.

    State (:class:`~stream_pose_ml.learning.builder_state.BuilderState`): each step's result,
    ``data``, ``split``, ``fitted``, ``report``, the test ``scores``, and ``retrieved``, what
    the last retrieved legacy pickle set. Read-only attributes over them: ``X``, ``y``,
    ``groups``, ``meta`` (load); ``X_train``, ``X_test``, ``y_train``, ``y_test`` (split);
    ``model``, ``model_type``, ``best_params`` (train); ``accuracy``, ``precision``,
    ``recall``, ``f1``, ``auc``, ``confusion_matrix`` (evaluate).
    """

    def __init__(
        self, data_dir: str | Path | None = None, n_jobs: int | None = None, verbose: bool = True
    ) -> None:
        super().__init__()
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.n_jobs = n_jobs
        self.verbose = verbose

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
        table = read_table(path)
        options = (value_map, drop_list, column_whitelist, feature_spec, group_column)
        return self.load_and_prep_dataset(table, target, *options, source=str(path))

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

        See :func:`~stream_pose_ml.learning.training_data.load_training_data`: ``value_map``
        maps label text to class values per column, ``column_whitelist`` (empty: all) and
        ``drop_list`` pick the columns, meta columns never become features (``video_id`` is
        each row's group), rows without a target or a feature value are dropped.
        """
        self.data = load_training_data(
            table,
            target,
            value_map,
            feature_spec=feature_spec,
            column_whitelist=column_whitelist,
            drop_list=drop_list,
            group_column=group_column,
            source=source,
        )
        self._say(self.data.summary())
        return True

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

        See :func:`~stream_pose_ml.learning.split.split_train_test`. ``balance_off_target`` with
        ``upsample_minority`` resamples every smaller class up to the largest (``use_SMOTE``:
        synthesised rows instead of copies), with ``downsample_majority`` every larger class
        down to the smallest. Only the training rows are resampled.
        """
        if self.data is None:
            raise TrainingDataError("load a dataset first (load_and_prep_dataset_from_csv)")
        balance = None
        if balance_off_target and upsample_minority:
            balance = "smote" if use_SMOTE else "upsample"
        elif balance_off_target and downsample_majority:
            balance = "downsample"
        self.split = split_train_test(
            self.data,
            test_size=test_size,
            random_state=random_state,
            balance=balance,
            group_by_video=group_by_video,
        )
        self._say(self.split.summary())

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

        See :func:`~stream_pose_ml.learning.training.train_model`: without ``search``,
        ``params`` are set on the estimator; with ``search="random"`` or ``"grid"`` they are the
        search space (default: :data:`DEFAULT_SEARCH_SPACES`), scored on folds that keep whole
        videos apart. Returns the fitted model, also kept as ``self.model``.
        """
        split = self._require_split()
        self.fitted = training.train_model(
            estimator,
            split,
            params,
            search=search,
            iterations=iterations,
            cv_splits=cv_splits,
            random_state=random_state,
            model_type=model_type,
            n_jobs=self.n_jobs,
        )
        self.report = None
        if self.fitted.best_params is not None:
            self._say(
                f"Best {search} search parameters: {self.fitted.best_params} "
                f"(CV score {self.fitted.search_score:.4f})"
            )
        return self.fitted.model

    def train_gradient_boost(
        self,
        params: Mapping[str, Any] | None = None,
        use_random_search: bool = False,
        use_grid_search: bool = False,
        iterations: int = 10,
        random_state: int | None = None,
    ) -> Any:
        """XGBoost (``xgboost.XGBClassifier``), the original StreamPoseML's "gradient-boost" model.

        Classes must be ``0..k-1`` (use a ``value_map``).
        """
        self._require_split()
        require_class_numbers(self.y)
        search = _search_kind(use_random_search, use_grid_search)
        return self._train_family("gradient-boost", params, search, iterations, random_state)

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
        search = _search_kind(use_random_search, use_grid_search)
        space = dict(param_dist or params or {}) if search else dict(params or {})
        return self._train_family("random-forest", space, search, iterations, random_state)

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
        search = _search_kind(use_random_search, use_grid_search)
        return self._train_family("logistic-regression", params, search, iterations, random_state)

    def train_hist_gradient_boosting(
        self,
        params: Mapping[str, Any] | None = None,
        use_random_search: bool = False,
        use_grid_search: bool = False,
        iterations: int = 10,
        random_state: int | None = 0,
    ) -> Any:
        """scikit-learn ``HistGradientBoostingClassifier`` (fast on large tables)."""
        search = _search_kind(use_random_search, use_grid_search)
        return self._train_family(
            "hist-gradient-boosting", params, search, iterations, random_state
        )

    def _train_family(
        self,
        model_type: str,
        params: Mapping[str, Any] | None,
        search: str | None,
        iterations: int,
        random_state: int | None,
    ) -> Any:
        estimator = make_estimator(model_type, random_state=random_state, n_jobs=self.n_jobs)
        return self.train(
            estimator,
            params=params,
            search=search,
            iterations=iterations,
            random_state=random_state,
            model_type=model_type,
        )

    # -- evaluation -------------------------------------------------------------------------
    def evaluate_model(
        self,
        output_dir: str | Path | None = None,
        cross_validate: bool = True,
        cv_splits: int = 5,
    ) -> EvaluationReport:
        """Score the model on the test rows, cross-validate by video and save the plots.

        Returns (and prints, when ``verbose``) the :class:`EvaluationReport`; ``cross_validate``
        adds grouped k-fold scores on all rows (``cv_scores``; needs 2+ videos). PNG plots go to
        ``output_dir``, default ``<data>/trained_models/<model id>-plots``.
        """
        fitted, split = self._require_model()
        report = training.evaluate_model(
            fitted,
            split,
            self.data,
            class_labels=self.class_labels,
            output_dir=output_dir or self._models_dir() / f"{self.model_id}-plots",
            cross_validate=cross_validate,
            cv_splits=cv_splits,
            n_jobs=self.n_jobs,
        )
        self._hold_report(report)
        self._say(report.summary())
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
        trained = self._trained(cross_validate=False)
        folder = Path(model_path) if model_path else self._models_dir()
        path = saving.save_legacy_pickle(folder, trained, notes=notes, model_type=model_type)
        self._say(f"Saved model to pickle! {path}")
        return path

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
        trained = self._trained(cross_validate=False)
        saved = saving.save_trained_bundle(
            Path(path) if path else self._models_dir() / str(trained.fitted.model_id),
            trained,
            notes=notes,
            classifier_format=classifier_format,
            window_stride=window_stride,
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
        run = saving.log_trained_run(
            self._trained(cross_validate=True),
            experiment=experiment,
            run_name=run_name,
            register_as=register_as,
            tracking_uri=tracking_uri,
        )
        self._say(f"Logged MLflow run {run.run_id} ({run.model_uri}) to {run.tracking_uri}")
        return run

    def save_model_to_mlflow(self, model: Any = None, model_path: str | Path | None = None) -> Path:
        """Save an MLflow model directory (servable by ``mlflow models serve``) and its zip.

        ``model_path`` defaults to ``<data>/trained_models``; returns the directory.
        """
        fitted, split = self._require_model()
        folder = Path(model_path) if model_path else self._models_dir()
        directory = saving.save_trained_mlflow_model(
            folder, fitted, split, self.description, model=model
        )
        self._say(f"Saved MLflow model to {directory} (and {directory.name}.zip)")
        return directory

    def retrieve_model_from_pickle(self, file_path: str | Path) -> tuple[Any, dict[str, Any]]:
        """Load a pickle written by :meth:`save_model_and_datasets`; (model, its dict).

        The builder then holds the pickle's model, its train and test rows, its test metrics
        and its target, value map, feature spec and data file (rows of a dataset loaded before
        stay, as do the split's other parts).
        """
        data = saving.read_legacy_pickle(file_path)
        self._hold_legacy_pickle(data, file_path)
        assert self.fitted is not None
        return self.fitted.model, data

    # -- helpers ----------------------------------------------------------------------------
    def _trained(self, cross_validate: bool) -> saving.TrainedModel:
        """The model, its split, its report (evaluating it first if it has none), its data."""
        fitted, split = self._require_model()
        report = self.report
        if report is None:
            report = self.evaluate_model(cross_validate=cross_validate)
        return saving.TrainedModel(fitted, split, report, self.description)

    def _models_dir(self) -> Path:
        return (self.data_dir or paths.data_dir()) / "trained_models"

    def _say(self, message: str) -> None:
        log.info(message)
        if self.verbose:
            print(message)  # noqa: T201 - the documented notebook workflow prints its reports


def _search_kind(random: bool, grid: bool) -> str | None:
    if random and grid:
        raise TrainingDataError("pick one of use_random_search and use_grid_search")
    return "random" if random else "grid" if grid else None
