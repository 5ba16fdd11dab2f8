"""The step budget of one tool call: runaway work becomes a tool error, not a hang.

A spec is untrusted, so a tool body may loop 10^15 times (three nested `range(100000)`), double
a string until memory runs out, or square an int until it has billions of digits. Generated code
counts its work here: every loop iteration is one step, every string or list it builds by `+`,
an f-string, join or replace costs steps in proportion to its length, and no such value may
exceed MAX_SIZE. Past MAX_STEPS the call fails with a ToolError, which Environment.call rolls
back like any other tool failure. Counting is deterministic (no clocks): the same call on the
same state always fails or succeeds the same way.

The budget lives in a context variable set by Environment.call, so concurrent environments in
threads each count their own calls; a tool function called directly, outside a call, is not
metered.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from envdsl.runtime.errors import ToolError

MAX_STEPS = 1_000_000  # loop iterations (and size charges) per call
MAX_SIZE = 1_000_000  # characters of a string or items of a list built in one expression
CHARS_PER_STEP = 100  # building a value of n items or characters costs 1 + n // 100 steps
MAX_INT = 2 ** 63  # ints built by * and ** stay below this in magnitude (JSON consumers use 64 bits)

_LEFT: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("envdsl_steps_left", default=None)
T = TypeVar("T")


def start(steps: int = MAX_STEPS) -> contextvars.Token[list[int] | None]:
    """Start metering a tool call (at most `steps` steps); pass the token to stop(). Two plain calls
    rather than a context manager: this runs on every tool call, where microseconds show."""
    return _LEFT.set([steps])


def stop(token: contextvars.Token[list[int] | None]) -> None:
    _LEFT.reset(token)


@contextmanager
def metered(steps: int = MAX_STEPS) -> Iterator[None]:
    """Meter the code run inside: at most `steps` steps."""
    token = start(steps)
    try:
        yield
    finally:
        stop(token)


def _spend(left: list[int], n: int) -> None:
    left[0] -= n
    if left[0] < 0:
        raise ToolError(f"the call ran out of its step budget ({MAX_STEPS} loop iterations and values built); "
                        "it does too much work for one tool call")


def steps(xs: Iterable[T]) -> Iterable[T]:
    """xs, to iterate at one step per item. A list, dict view or other sized iterable that fits in
    what is left is charged in full up front and returned as it is (no per-item cost: loops over
    collections stay as fast as before; a loop that breaks early is charged its whole length);
    anything else is counted item by item, so the budget runs out exactly at its limit."""
    left = _LEFT.get()
    if left is None:
        return xs
    try:
        n = len(xs)  # type: ignore[arg-type]
    except TypeError:  # zip, enumerate, generators
        return _counted(xs, left)
    if n <= left[0]:
        left[0] -= n
        return xs
    return _counted(xs, left)


def _counted(xs: Iterable[T], left: list[int]) -> Iterator[T]:
    for x in xs:
        _spend(left, 1)
        yield x


def sized(value: T) -> T:
    """A string or list just built: refuse it past MAX_SIZE, and charge the work of building it."""
    n = len(value)  # type: ignore[arg-type]
    if n > MAX_SIZE:
        raise ToolError(f"a value of {n} items or characters is larger than the limit of {MAX_SIZE}")
    left = _LEFT.get()
    if left is not None:
        _spend(left, 1 + n // CHARS_PER_STEP)
    return value


def check_size(n: int) -> None:
    """Refuse, before building it, a value that would hold n items or characters."""
    if n > MAX_SIZE:
        raise ToolError(f"a value of {n} items or characters would be larger than the limit of {MAX_SIZE}")


def bounded_int(x: Any) -> Any:
    """An int result of * or **: refuse one too large, before it grows further."""
    if isinstance(x, int) and not isinstance(x, bool) and not -MAX_INT < x < MAX_INT:
        raise ToolError(f"integer result out of range (more than {MAX_INT - 1} in magnitude)")
    return x
