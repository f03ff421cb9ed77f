"""Landmark smoothing: a causal exponential filter (live) and its zero-phase form (offline).

The causal filter is ``s_t = s_{t-1} + a (x_t - s_{t-1})`` with ``a = 1 - exp(-dt / tau)``, so
variable frame rates and dropped frames weigh samples by the time between them. It delays a
signal by about ``tau`` seconds. The zero-phase form runs the same filter forward, then backward,
over each run of frames without a gap: no delay, but it needs the whole recording, so it is
offline only, and its events can differ from the live ones by a frame or two near turning points.
"""

from __future__ import annotations

import numpy as np


def ema_weight(dt_s: float, tau_s: float) -> float:
    """The filter's weight ``a`` of a new sample ``dt_s`` seconds after the previous one."""
    if tau_s <= 0.0:
        return 1.0
    return float(1.0 - np.exp(-max(dt_s, 0.0) / tau_s))


class CausalSmoother:
    """Exponential smoothing of ``(33, 2)`` landmark coordinates, one frame at a time.

    A landmark missing in a frame (NaN) keeps its last smoothed value for that frame's state
    and is returned NaN; ``reset()`` forgets everything (after a gap).
    """

    def __init__(self, tau_s: float) -> None:
        if tau_s < 0.0:
            raise ValueError(f"smoothing time constant must be >= 0 s, got {tau_s}")
        self.tau_s = float(tau_s)
        self.reset()

    def reset(self) -> None:
        self._state: np.ndarray | None = None
        self._time: np.ndarray | None = None

    def update(self, xy: np.ndarray, time_s: float) -> np.ndarray:
        present = ~np.isnan(xy).any(axis=-1)
        if self._state is None or self._time is None:
            self._state = np.array(xy, dtype=np.float64, copy=True)
            self._time = np.where(present, time_s, np.nan)
            return self._state.copy()
        if self.tau_s > 0.0:
            # abs(): the backward pass of `zero_phase` runs with time decreasing
            elapsed = np.abs(time_s - np.nan_to_num(self._time, nan=time_s))
            weight = 1.0 - np.exp(-elapsed / self.tau_s)
        else:
            weight = np.ones(len(xy))
        new = self._state + weight[:, None] * (xy - self._state)
        fresh = present & np.isnan(self._state).any(axis=-1)
        new[fresh] = xy[fresh]
        self._state = np.where(present[:, None], new, self._state)
        self._time = np.where(present, time_s, self._time)
        out = self._state.copy()
        out[~present] = np.nan
        return out


def zero_phase(xy: np.ndarray, times_s: np.ndarray, tau_s: float, max_gap_s: float) -> np.ndarray:
    """Forward-backward exponential smoothing of ``(frames, P, 2)`` coordinates over each run of
    frames whose detections are at most ``max_gap_s`` apart; missing values stay NaN."""
    out = np.array(xy, dtype=np.float64, copy=True)
    if tau_s <= 0.0 or len(out) == 0:
        return out
    detected = ~np.isnan(out).all(axis=(1, 2))
    order = np.flatnonzero(detected)
    if not len(order):
        return out
    breaks = np.flatnonzero(np.diff(times_s[order]) > max_gap_s) + 1
    for run in np.split(order, breaks):
        for direction in (run, run[::-1]):
            smoother = CausalSmoother(tau_s)
            for i in direction:
                out[i] = smoother.update(out[i], float(times_s[i]))
    return out
