"""The capacity search: the most sessions a server carries within the criteria, step by step.

A :class:`CapacitySearch` proposes a session count, is told whether a run with that many passed
(``load_report.failures``: p99 under 50 ms, nothing missing or dropped, no errors), and narrows
down: it doubles from ``start`` until a run fails (or ``most`` is reached), then halves the
interval between the largest pass and the smallest fail until they are ``resolution`` apart
(relative, at least one session). The largest pass is then run ``confirm`` more times; if one of
them fails, it counts as a fail and the search goes on below it. Each step is a short run;
the noise of one run is what the confirmation is for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class CapacitySearch:
    """Bracketing then bisecting over session counts (see the module docstring)."""

    start: int = 10
    most: int = 400
    resolution: float = 0.1
    confirm: int = 1
    passed: int = 0  # the largest count that passed (0: none yet)
    failed: int | None = None  # the smallest count that failed
    steps: list[tuple[int, bool]] = field(default_factory=list)
    _confirmations: int = 0

    def next_count(self) -> int | None:
        """The session count to run next, or None when the search is over."""
        if self.failed is None:
            if self.passed >= self.most:
                return self._confirm_or_stop()
            return min(self.most, self.start if not self.steps else 2 * self.passed)
        if self.failed - self.passed <= max(1, math.floor(self.resolution * self.passed)):
            return self._confirm_or_stop()
        return (self.passed + self.failed) // 2

    def _confirm_or_stop(self) -> int | None:
        if self.passed == 0 or self._confirmations >= self.confirm:
            return None
        return self.passed

    def record(self, count: int, passed: bool) -> None:
        """The outcome of a run with ``count`` sessions."""
        confirming = count == self.passed and any(c == count for c, _ in self.steps)
        self.steps.append((count, passed))
        if confirming:
            if passed:
                self._confirmations += 1
                return
            self._confirmations = 0
        if passed:
            self.passed = max(self.passed, count)
        else:
            self.failed = count if self.failed is None else min(self.failed, count)
            if self.passed >= count:  # a confirmation failed: search below it again
                self.passed = max([c for c, ok in self.steps if ok and c < count], default=0)

    @property
    def capacity(self) -> int:
        """The largest session count that passed (and its confirmations)."""
        return self.passed
