"""The one window definition: counts, starts, the windows new frames complete, cutting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.features.windows import (
    check_window,
    cut_windows,
    window_count,
    window_ends,
    window_starts,
)


def brute_force_ends(n: int, size: int, stride: int) -> list[int]:
    """Frames ending a window, straight from the definition: window k is frames
    k*stride .. k*stride + size - 1."""
    return [k * stride + size - 1 for k in range(n) if k * stride + size - 1 < n]


def test_counts_starts_and_ends_follow_the_definition() -> None:
    rng = np.random.default_rng(0)
    for n, size, stride in itertools.product(range(0, 40), range(1, 9), range(1, 9)):
        ends = brute_force_ends(n, size, stride)
        assert int(window_count(n, size, stride)) == len(ends)
        assert window_starts(n, size, stride).tolist() == [e - size + 1 for e in ends]
        # frames arriving in any chunks complete exactly these windows, in order
        cuts = sorted(set(rng.integers(1, max(2, n), size=3).tolist())) if n > 1 else []
        bounds = [0, *[c for c in cuts if c < n], n]
        got = [window_ends(a, b - a, size, stride).tolist() for a, b in itertools.pairwise(bounds)]
        assert [e for chunk in got for e in chunk] == ends, (n, size, stride, bounds)


def test_window_count_is_elementwise_over_several_streams() -> None:
    np.testing.assert_array_equal(window_count([0, 3, 4, 10], 4, 2), [0, 0, 1, 4])


def test_cut_windows_views_copies_and_pads() -> None:
    data = np.arange(10 * 2 * 1, dtype=float).reshape(10, 2, 1)
    regular = cut_windows(data, [1, 4, 7], 3)
    assert regular.shape == (3, 3, 2, 1) and np.shares_memory(regular, data)
    np.testing.assert_array_equal(regular[1], data[4:7])
    copied = cut_windows(data, [1, 4, 7], 3, copy=True)
    assert not np.shares_memory(copied, data)
    np.testing.assert_array_equal(copied, regular)
    irregular = cut_windows(data, [0, 5, 6], 2)
    np.testing.assert_array_equal(irregular[2], data[6:8])
    padded = cut_windows(data, [2, 8], 4, lengths=[4, 2])
    np.testing.assert_array_equal(padded[0], data[2:6])
    np.testing.assert_array_equal(padded[1, :2], data[8:10])
    assert np.isnan(padded[1, 2:]).all()
    assert cut_windows(data, [], 3).shape == (0, 3, 2, 1)
    with pytest.raises(PoseDataError, match="do not fit"):
        cut_windows(data, [8], 3)
    with pytest.raises(PoseDataError, match="do not fit"):
        cut_windows(data, [-1], 3)


@pytest.mark.parametrize(("size", "stride"), [(0, 1), (2, 0), (True, 1), (2.0, 1)])
def test_bad_window_settings_are_refused(size: object, stride: object) -> None:
    with pytest.raises(PoseDataError, match="integer >= 1"):
        check_window(size, stride)
