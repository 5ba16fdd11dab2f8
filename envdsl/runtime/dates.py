"""Dates and datetimes at run time: ISO text in the state, calendar arithmetic in tools.

A `date` value is the text `YYYY-MM-DD` and a `datetime` value is `YYYY-MM-DDTHH:MM:SS` (no time zone,
whole seconds), exactly as JSON seeds, tool arguments and the state hold them. Keeping the text as the
value means the state stays plain JSON (hashes, diffs and exports are unchanged) and, because the
form is fixed-width, ordering the text orders the dates. Only this canonical form is accepted: a
date-time with a zone or fractions would compare wrongly as text, so it is refused, not guessed at.

Arithmetic is in days for dates and in seconds for datetimes; every failure is a ToolError, so a
bad date from an agent or a seed is a clean tool error that rolls the call back.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from typing import Any

from envdsl.runtime.errors import ToolError

DATE_FORMAT = "YYYY-MM-DD"
DATETIME_FORMAT = "YYYY-MM-DDTHH:MM:SS"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_MIN_DT = _dt.datetime(1, 1, 1)


def date_problem(value: Any) -> str | None:
    """Why `value` is not a date (`YYYY-MM-DD`, a real calendar day), or None when it is one."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return f"{_show(value)} is not a date in the form {DATE_FORMAT}"
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return f"{_show(value)} is not a day of the calendar"
    return None


def datetime_problem(value: Any) -> str | None:
    """Why `value` is not a datetime (`YYYY-MM-DDTHH:MM:SS`, a real calendar time), or None when it is one."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return f"{_show(value)} is not a datetime in the form {DATETIME_FORMAT}"
    try:
        _dt.datetime.fromisoformat(value)
    except ValueError:
        return f"{_show(value)} is not a time of the calendar"
    return None


def parse_date(value: Any) -> str:
    """`date(s)` on a run-time value: a datetime gives its day; anything that is not a date fails the call."""
    if isinstance(value, str) and datetime_problem(value) is None:
        return value[:10]
    problem = date_problem(value)
    if problem is not None:
        raise ToolError(problem)
    return str(value)


def parse_datetime(value: Any) -> str:
    """`datetime(s)` on a run-time value: a date gives its midnight; anything else that is not a datetime fails."""
    if isinstance(value, str) and date_problem(value) is None:
        return value + "T00:00:00"
    problem = datetime_problem(value)
    if problem is not None:
        raise ToolError(problem)
    return str(value)


def date_add(day: str, days: int) -> str:
    """`d + n` and `d - n`: the date n days later (earlier for negative n)."""
    try:
        return (_dt.date.fromisoformat(parse_date(day)) + _dt.timedelta(days=days)).isoformat()
    except (OverflowError, ValueError):
        raise ToolError(f"{day} + {days} days is outside the calendar (years 1 to 9999)") from None


def date_sub(day: str, days: int) -> str:
    return date_add(day, -days)


def date_diff(a: str, b: str) -> int:
    """`a - b` on dates: the number of days from b to a."""
    return (_dt.date.fromisoformat(parse_date(a)) - _dt.date.fromisoformat(parse_date(b))).days


def datetime_add(moment: str, seconds: int) -> str:
    """`t + n` and `t - n` on a datetime: n seconds later (earlier for negative n)."""
    try:
        out = _dt.datetime.fromisoformat(parse_datetime(moment)) + _dt.timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise ToolError(f"{moment} + {seconds} seconds is outside the calendar (years 1 to 9999)") from None
    return out.isoformat(timespec="seconds")


def datetime_sub(moment: str, seconds: int) -> str:
    return datetime_add(moment, -seconds)


def datetime_diff(a: str, b: str) -> int:
    """`a - b` on datetimes: whole seconds from b to a."""
    delta = _dt.datetime.fromisoformat(parse_datetime(a)) - _dt.datetime.fromisoformat(parse_datetime(b))
    return int(delta.total_seconds())


def add_months(value: str, months: int) -> str:
    """`add_months(d, n)`: the same day n months later (earlier for negative n), or the month's last day
    where it is shorter (2024-01-31 + 1 month is 2024-02-29); a datetime keeps its time."""
    day_part = parse_date(value)
    first = _dt.date.fromisoformat(day_part)
    index = first.year * 12 + first.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ToolError(f"{value} + {months} months is outside the calendar (years 1 to 9999)")
    last = calendar.monthrange(year, month + 1)[1]
    moved = _dt.date(year, month + 1, min(first.day, last)).isoformat()
    return moved + value[10:] if len(value) > 10 else moved


def today(clock: str) -> str:
    """`today()`: the day of the environment's fixed clock."""
    return parse_date(clock)


def year(value: str) -> int:
    return int(value[:4])


def month(value: str) -> int:
    return int(value[5:7])


def day(value: str) -> int:
    return int(value[8:10])


def weekday(value: str) -> int:
    """Monday is 0, Sunday is 6 (Python's numbering)."""
    return _dt.date.fromisoformat(parse_date(value)).weekday()


def random_value(kind: str, rng: Any, start: str = "2024-01-01", span_days: int = 730) -> str:
    """A date (or datetime, on a whole minute) drawn from `rng` within span_days of start: generated states,
    property tests and sampled arguments get real calendar days, never a Feb 30."""
    first = _dt.date.fromisoformat(start)
    chosen = first + _dt.timedelta(days=rng.randrange(span_days))
    if kind == "date":
        return chosen.isoformat()
    moment = _dt.datetime(chosen.year, chosen.month, chosen.day, rng.randrange(24), rng.randrange(60))
    return moment.isoformat(timespec="seconds")


def _show(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 40 else r[:37] + "..."
