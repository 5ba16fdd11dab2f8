"""Arithmetic, ordering, membership and negation on a value that may be null raise a TypeError at run
time, so the checker rejects them (E0302) unless the value is narrowed or given a fallback first.
The bug this pins: `return 0 + limit ?? 5` parses as `(0 + limit) ?? 5` and used to pass the check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testkit import check_text, env_class_from_text


def _codes(body: str, folder: Path) -> list[str]:
    return sorted(d.code for d in check_text("domain d\n" + body, folder).sorted())


@pytest.mark.parametrize("body", [
    "read tool t(limit: int?) -> int { return 0 + limit ?? 5 }",
    "read tool t(limit: int?) -> int { return limit * 2 ?? 0 }",
    "read tool t(x: float?) -> bool { return x < 1.5 }",
    "read tool t(x: int?) -> bool { return 3 >= x }",
    'read tool t(s: str?) -> str { return s + "!" ?? "" }',
    'read tool t(s: str?) -> bool { return "a" in s }',
    'read tool t(xs: list<str>?) -> bool { return "a" not in xs }',
    "read tool t(x: int?) -> int { return -x ?? 0 }",
    "write tool t(by: int?) -> int {\n let n = 1\n n += by\n return n\n}",
])
def test_an_optional_operand_is_rejected(body: str, tmp_path: Path) -> None:
    assert _codes(body, tmp_path) == ["E0302"]


def test_the_hint_names_the_fallback_and_the_precedence(tmp_path: Path) -> None:
    bag = check_text("domain d\nread tool t(limit: int?) -> int { return 0 + limit ?? 5 }", tmp_path)
    (d,) = bag.sorted()
    assert (d.span.line, d.span.column) == (2, 46)  # at `limit`, the operand that may be null
    assert "(limit ?? 0)" in (d.hint or "") and "binds looser than '+'" in (d.hint or "")


@pytest.mark.parametrize("body", [
    "read tool t(limit: int?) -> int { return 0 + (limit ?? 5) }",
    "read tool t(limit: int?) -> int {\n if limit != null { return limit + 1 }\n return 0\n}",
    "read tool t(limit: int?) -> bool { return limit != null and limit > 3 }",
    "read tool t(limit: int?) -> bool { return limit == null or limit > 3 }",
    "read tool t(a: int?, b: int?) -> bool { return a == null or b == null or a < b }",
    "read tool t(x: int?, xs: list<int>) -> bool { return x in xs }",  # null in a list is just false
    "read tool t(x: int?) -> bool { return x == 3 }",
])
def test_narrowed_or_defaulted_operands_are_accepted(body: str, tmp_path: Path) -> None:
    assert _codes(body, tmp_path) == []


def test_or_narrows_only_its_right_operand(tmp_path: Path) -> None:
    # the right side of `or` runs when the left is false; after the `or`, x may still be null
    body = "read tool t(x: int?) -> bool { return (x == null or x > 3) and x < 9 }"
    assert _codes(body, tmp_path) == ["E0302"]
    # `x != null` false does not make x non-null
    assert _codes("read tool t(x: int?) -> bool { return x != null or x > 3 }", tmp_path) == ["E0302"]


def test_accepted_forms_run_on_null(tmp_path: Path) -> None:
    cls = env_class_from_text("""
        domain d
        read tool page(limit: int?) -> int { return 0 + (limit ?? 5) }
        read tool over(limit: int?) -> bool { return limit == null or limit > 3 }
        """, tmp_path)
    env = cls()
    assert json.loads(env.call("page", {"limit": None}).content) == 5
    assert json.loads(env.call("page", {"limit": 2}).content) == 2
    assert json.loads(env.call("over", {"limit": None}).content) is True
    assert json.loads(env.call("over", {"limit": 1}).content) is False


@pytest.mark.parametrize("body", [
    "read tool t(x: int?) -> int { return abs(x) ?? 0 }",
    "read tool t(x: int?) -> int { return max(x, 1) ?? 0 }",
    "read tool t(x: float?) -> float { return round(x, 1) ?? 0.0 }",
    "read tool t(s: str?) -> int { return len(s) ?? 0 }",
    'read tool t(s: str?) -> str { return upper(s) ?? "" }',
    'read tool t(s: str?) -> bool { return startswith(s, "a") ?? false }',
    "read tool t(s: str?) -> int { return int(s) ?? 0 }",
])
def test_an_optional_builtin_argument_is_rejected(body: str, tmp_path: Path) -> None:
    # each of these raised TypeError (or AttributeError) at run time on null before
    assert _codes(body, tmp_path) == ["E0301"]


@pytest.mark.parametrize("body", [
    "read tool t(x: int?) -> int { return abs(x ?? 0) }",
    "read tool t(s: str?) -> int {\n if s != null { return len(s) }\n return 0\n}",
    "read tool t(s: str?) -> str { return str(s) }",  # str() takes null
])
def test_a_narrowed_builtin_argument_is_accepted(body: str, tmp_path: Path) -> None:
    assert _codes(body, tmp_path) == []
