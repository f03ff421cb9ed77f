"""PNG plots of an analysis: chosen signals over time with the events shaded and labelled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from stream_pose_ml.analysis.analyzer import AnalysisResult
from stream_pose_ml.analysis.events import AnalysisEvent

#: The signals plotted for each analyzer by `plot_events` (every name is in its signal).
DEFAULT_SIGNALS: dict[str, tuple[str, ...]] = {
    "squat": ("knee_angle_deg", "trunk_lean_deg", "knee_over_toe"),
    "falls": ("probability", "torso_deg", "hip_height"),
    "gait": ("left_heel_rel", "right_heel_rel", "left_heel_height", "right_heel_height"),
}


def plot_analysis(
    result: AnalysisResult,
    path: str | Path,
    signals: Sequence[str],
    title: str = "",
    thresholds: Mapping[str, Sequence[float]] | None = None,
) -> Path:
    """One panel per signal name (against time in seconds), each event shaded over its time
    range (errors in red; one-frame events as vertical lines), dashed lines at
    ``thresholds[signal]``; written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = result.signal["times_s"]
    figure, axes = plt.subplots(len(signals), 1, figsize=(10, 2.2 * len(signals)), sharex=True)
    axes = np.atleast_1d(axes)
    for axis, name in zip(axes, signals, strict=True):
        axis.plot(times, result.signal[name], lw=1.2, color="#0072b2")
        axis.set_ylabel(name, fontsize=8)
        for value in (thresholds or {}).get(name, ()):
            axis.axhline(value, ls="--", lw=0.8, color="#555555")
        for event in result.events:
            color = "#d55e00" if event.errors or event.kind == "fall" else "#009e73"
            if event.end_s > event.start_s:
                axis.axvspan(event.start_s, event.end_s, color=color, alpha=0.18, lw=0)
            else:  # a one-frame event (a foot contact): a line, dashed for the second kind
                dashed = event.kind != result.events[0].kind
                axis.axvline(event.start_s, color=color, lw=0.8, ls="--" if dashed else "-")
    for event in result.events:
        if event.end_s <= event.start_s:
            continue
        label = event.kind if not event.errors else ", ".join(e.kind for e in event.errors)
        axes[0].annotate(
            label,
            (event.start_s, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            va="bottom",
            rotation=20,
        )
    axes[-1].set_xlabel("time (s)")
    if title:
        figure.suptitle(title, fontsize=10, y=1.0)
    figure.tight_layout()
    out = Path(path)
    figure.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return out


def plot_events(
    name: str,
    events: Sequence[Mapping[str, object]] | Sequence[AnalysisEvent],
    signal: Mapping[str, np.ndarray],
    path: str | Path,
    title: str = "",
) -> Path:
    """`plot_analysis` of analyzer ``name``'s `DEFAULT_SIGNALS`, from its events (as objects or
    their ``to_dict`` form) and its ``signal()``."""
    parsed = [e if isinstance(e, AnalysisEvent) else AnalysisEvent.from_dict(e) for e in events]
    result = AnalysisResult(events=parsed, signal=dict(signal))
    return plot_analysis(result, path, DEFAULT_SIGNALS[name], title=title or name)
