"""Train/test split that keeps each video on one side, and balancing of the training rows.

:func:`split_train_test` takes a :class:`~stream_pose_ml.learning.training_data.TrainingData`
and returns a frozen :class:`TrainTestSplit`; :func:`make_sampler` builds the
imbalanced-learn resampler it balances with.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.learning.training_data import TrainingData

log = logging.getLogger(__name__)

#: Ways to balance the training rows: copies of smaller classes' rows, SMOTE rows, or fewer rows
#: of larger classes.
BALANCING: tuple[str, ...] = ("upsample", "smote", "downsample")


@dataclass(frozen=True)
class TrainTestSplit:
    """Train and test rows of a dataset; the training rows balanced by ``sampler`` if any.

    ``X_train``/``y_train``/``groups_train`` are the (balanced) rows to fit on; ``groups_train``
    is None for SMOTE rows, which come from no video. ``X_train_unbalanced`` (and its ``y``,
    ``groups``) are the training rows before resampling: searches and cross-validation resample
    inside their own folds. ``info`` is the summary the legacy pickle and MLflow record.
    """

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    groups_train: pd.Series | None = None
    groups_test: pd.Series | None = None
    X_train_unbalanced: pd.DataFrame | None = None
    y_train_unbalanced: pd.Series | None = None
    groups_train_unbalanced: pd.Series | None = None
    sampler: Any = None
    random_state: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """The split's sides and the class balance of the training rows."""
        grouped = bool(self.info.get("grouped_by_video"))
        videos = (
            f" ({self.info['train_videos']} / {self.info['test_videos']} videos)" if grouped else ""
        )
        balance = self.y_train.value_counts().sort_index().to_string()
        return (
            f"Train/test split ({'whole videos' if grouped else 'rows'}): "
            f"{len(self.X_train)} train rows, {len(self.X_test)} test rows{videos}\n"
            f"Training balance for {self.y_train.name}:\n{balance}"
        )


def split_train_test(
    data: TrainingData,
    test_size: float = 0.2,
    random_state: int | None = None,
    balance: str | None = None,
    group_by_video: bool = True,
) -> TrainTestSplit:
    """Split into train and test rows, whole videos to one side, and balance the training set.

    With ``data.groups`` (and ``group_by_video``) the split is the first fold of a shuffled
    ``StratifiedGroupKFold`` with ``round(1 / test_size)`` folds, so about ``test_size`` of the
    rows, whole videos only; otherwise a stratified row split (scores will be optimistic).
    ``balance`` (one of :data:`BALANCING`) resamples the training rows only: ``"upsample"``
    copies rows of every smaller class up to the largest, ``"smote"`` synthesises them,
    ``"downsample"`` drops rows of every larger class down to the smallest.
    """
    if not 0 < test_size < 1:
        raise TrainingDataError(f"test_size must be between 0 and 1, got {test_size}")
    X, y, groups = data.X, data.y, data.groups
    train_idx, test_idx, grouped = split_indices(y, groups, test_size, random_state, group_by_video)
    X_train = X.iloc[train_idx].reset_index(drop=True)
    y_train = y.iloc[train_idx].reset_index(drop=True)
    groups_train = None if groups is None else groups.iloc[train_idx].reset_index(drop=True)
    y_test = y.iloc[test_idx].reset_index(drop=True)
    missing = set(y.unique()) - set(y_test.unique())
    if missing:
        log.warning("the test set holds no rows of class(es) %s", sorted(missing))

    sampler = None if balance is None else make_sampler(balance, random_state)
    X_fit, y_fit, groups_fit = X_train, y_train, groups_train
    if sampler is not None:
        X_res, y_res = sampler.fit_resample(X_train, y_train)
        X_fit = pd.DataFrame(X_res, columns=X.columns).reset_index(drop=True)
        y_fit = pd.Series(np.asarray(y_res), name=data.target)
        indices = getattr(sampler, "sample_indices_", None)
        if groups_train is not None:  # SMOTE rows have no video
            groups_fit = (
                None if indices is None else groups_train.iloc[indices].reset_index(drop=True)
            )
    train_videos = test_videos = None
    if groups is not None:
        train_videos = int(groups.iloc[train_idx].nunique())
        test_videos = int(groups.iloc[test_idx].nunique())
    return TrainTestSplit(
        X_train=X_fit,
        X_test=X.iloc[test_idx].reset_index(drop=True),
        y_train=y_fit,
        y_test=y_test,
        groups_train=groups_fit,
        groups_test=None if groups is None else groups.iloc[test_idx].reset_index(drop=True),
        X_train_unbalanced=X_train,
        y_train_unbalanced=y_train,
        groups_train_unbalanced=groups_train,
        sampler=sampler,
        random_state=random_state,
        info={
            "grouped_by_video": grouped,
            "test_size": test_size,
            "n_train": len(X_fit),
            "n_test": len(test_idx),
            "train_videos": train_videos,
            "test_videos": test_videos,
            "balancing": None if sampler is None else type(sampler).__name__,
        },
    )


def split_indices(
    y: pd.Series,
    groups: pd.Series | None,
    test_size: float,
    random_state: int | None,
    group_by_video: bool = True,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(train rows, test rows, grouped)``: positions into ``y`` of each side.

    ``grouped`` says whether whole videos went to each side (2+ videos and ``group_by_video``).
    """
    n_groups = 0 if groups is None else int(groups.nunique())
    if group_by_video and n_groups >= 2:
        splits = max(2, min(round(1 / test_size), n_groups))
        folds = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*least populated class.*")
            train_idx, test_idx = next(folds.split(np.zeros(len(y)), y, groups=groups))
        return train_idx, test_idx, True
    if group_by_video:
        log.warning(
            "splitting rows, not videos (%s); neighbouring frames of one video land on "
            "both sides and test scores will be optimistic",
            "no video_id column" if groups is None else "a single video",
        )
    stratify = y if y.value_counts().min() >= 2 else None
    train_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=test_size, random_state=random_state, stratify=stratify
    )
    return train_idx, test_idx, False


def make_sampler(balance: str, random_state: int | None = None) -> Any:
    """The imbalanced-learn resampler for ``balance`` (one of :data:`BALANCING`)."""
    if balance == "smote":
        from imblearn.over_sampling import SMOTE

        return SMOTE(random_state=random_state)
    if balance == "upsample":
        from imblearn.over_sampling import RandomOverSampler

        return RandomOverSampler(random_state=random_state)
    if balance == "downsample":
        from imblearn.under_sampling import RandomUnderSampler

        return RandomUnderSampler(random_state=random_state)
    raise TrainingDataError(f"balance must be one of {list(BALANCING)} or None, got {balance!r}")
