"""Jinja's sandbox with bounds on what one expression may build.

`SandboxedEnvironment` stops attribute tricks (`__class__`), not work: `{{ 9**9**9 }}` or
`{{ 'x' * 10**10 }}` would run in the caller's process until it froze. Here arithmetic
and string building are checked before they run, and a render stops once its output
passes a limit. Loops (`range` is capped at 100,000 by Jinja, but loops nest) are bounded
by time only: tenant templates also render in a child process with a time and memory
limit (email/isolated.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_INT_BITS = 4096  # a 1,200-digit number is already far beyond any report figure
MAX_SEQUENCE = 1_000_000  # characters (or items) one expression may build
MAX_OUTPUT = 5_000_000  # characters one template may render
# A width or precision of five digits or more in a format spec: '%099999d', '{:>99999}'.
_HUGE_FORMAT = re.compile(r"%[-#0 +]*(\*|\d{5,})|%[-#0 +]*\d*\.(\*|\d{5,})|\{[^{}]*:[^{}]*\d{5,}[^{}]*\}")


class LimitExceeded(SecurityError):
    """A template tried to build more than the limits allow."""


def _size(value) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def _check_power(base, exponent) -> None:
    if isinstance(base, bool) or isinstance(exponent, bool):
        return
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise LimitExceeded(f"{base} ** {exponent} is too large a number for a template")


def _check_repeat(left, right) -> None:
    for seq, times in ((left, right), (right, left)):
        size = _size(seq)
        if size is not None and isinstance(times, int) and size * times > MAX_SEQUENCE:
            raise LimitExceeded(f"repeating a value {times} times builds more than {MAX_SEQUENCE:,} characters")


def _check_format(fmt) -> None:
    if isinstance(fmt, str) and _HUGE_FORMAT.search(fmt):
        raise LimitExceeded("a format width or precision of 10,000 or more is not allowed in a template")


def _bounded_result(result):
    size = _size(result)
    if size is not None and size > MAX_SEQUENCE:
        raise LimitExceeded(f"an expression built more than {MAX_SEQUENCE:,} characters")
    if isinstance(result, int) and not isinstance(result, bool) and result.bit_length() > MAX_INT_BITS:
        raise LimitExceeded("an expression built too large a number")
    return result


def _bounded_filter(fn, *positions, format_arg: int | None = None):
    """Wrap a filter whose numeric arguments (at `positions`, counted after the value's
    environment or context argument, if it takes one) size its output."""
    shift = 1 if hasattr(fn, "jinja_pass_arg") else 0

    def bounded(*args, **kwargs):
        values = [args[shift + i] for i in positions if shift + i < len(args)] + [kwargs.get("width")]
        if any(isinstance(v, int) and v > MAX_SEQUENCE for v in values):
            raise LimitExceeded(f"a width over {MAX_SEQUENCE:,} is not allowed in a template")
        if format_arg is not None and shift + format_arg < len(args):
            _check_format(args[shift + format_arg])
        return _bounded_result(fn(*args, **kwargs))

    if hasattr(fn, "jinja_pass_arg"):
        bounded.jinja_pass_arg = fn.jinja_pass_arg
    return bounded


class BoundedEnvironment(SandboxedEnvironment):
    # Intercepted operators are also never folded at compile time (Jinja's optimizer
    # skips them in a sandbox), so `{{ 9**9**9 }}` cannot run while compiling either.
    intercepted_binops = frozenset({"**", "*", "+", "%", "//"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.globals.pop("lipsum", None)  # lipsum(n=10**9)
        for name, positions in (
            ("center", (1,)),
            ("indent", (1,)),
            ("wordwrap", (1,)),
            ("replace", ()),
            ("join", ()),
            ("string", ()),
            ("list", ()),
        ):
            self.filters[name] = _bounded_filter(self.filters[name], *positions)
        self.filters["format"] = _bounded_filter(self.filters["format"], format_arg=0)

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_repeat(left, right)
        elif operator == "+":
            sizes = (_size(left), _size(right))
            if None not in sizes and sum(sizes) > MAX_SEQUENCE:
                raise LimitExceeded(f"joining values builds more than {MAX_SEQUENCE:,} characters")
        elif operator == "%":
            _check_format(left)
        return _bounded_result(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value):
        """`'{:>99999}'.format(1)`: the sandbox's str.format, with the format string checked."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args, **kwargs):
            _check_format(fmt)
            return _bounded_result(wrapped(*args, **kwargs))

        return checked


def render_bounded(template, variables: dict) -> str:
    """`template.render(variables)`, stopped once the output passes MAX_OUTPUT."""
    parts: list[str] = []
    size = 0
    chunks: Iterable[str] = template.generate(variables)
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise LimitExceeded(f"the template renders more than {MAX_OUTPUT:,} characters")
        parts.append(chunk)
    return "".join(parts)
