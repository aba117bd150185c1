"""KPI values that fit their tile: compact ($2.90M, 12.3k) with the tenant's reporting
currency, the exact value for the tooltip."""

from __future__ import annotations

SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "INR": "₹",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "MXN": "MX$",
    "BRL": "R$",
    "KRW": "₩",
}
_STEPS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def _short(value: float) -> str:
    """Three significant digits and a suffix: 2.90M, 12.3k, 123k."""
    for size, suffix in _STEPS:
        if abs(value) >= size * 0.9995:
            scaled = value / size
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{digits}f}{suffix}"
    return f"{value:.2f}"


def _with_currency(text: str, currency: str) -> str:
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def money(value: float | None, currency: str = "USD") -> str:
    """$200.00, $9.88k, $2.90M; "–" for no value."""
    if value is None:
        return "–"
    return _with_currency(f"{value:,.2f}" if abs(value) < 1000 else _short(value), currency)


def money_exact(value: float | None, currency: str = "USD") -> str:
    return "–" if value is None else _with_currency(f"{value:,.2f}", currency)


def count(value: int | float | None) -> str:
    """3, 1,234, 12.3k, 4.57M."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) < 10_000 else _short(value)


def count_exact(value: int | float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def exact_note(shown: str, exact: str) -> str:
    """The tooltip's line with the exact value, when the tile shows it rounded."""
    return "" if shown == exact else f"\n\nExact: {exact}"
