"""How a change between two periods is said, in one place (email and dashboard).

A relative change is meaningless from a near-zero base: 86,286 against 285 is not
"▲ 30180%". From nothing it reads "new"; from a base ten or more times smaller it reads
"×N"; otherwise a whole percentage.
"""

from __future__ import annotations

RATIO_FROM = 10.0  # at or above this ratio of current to previous, say "×N"


def relative(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / |previous|, or None when there is no meaningful base."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


def describe(current: float | None, previous: float | None) -> str | None:
    """'new', '×302', '+12%', '−5%', or None when there is nothing to compare with."""
    if current is None or previous is None:
        return None
    if previous == 0:
        return "new" if current > 0 else None
    if previous > 0 and current / previous >= RATIO_FROM:
        ratio = current / previous
        return f"×{ratio:,.0f}" if ratio >= 100 else f"×{ratio:.1f}".replace(".0", "")
    change = relative(current, previous)
    return f"{'+' if change >= 0 else '−'}{abs(change) * 100:.0f}%"
