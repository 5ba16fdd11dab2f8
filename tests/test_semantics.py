"""What spec code means when it runs: arithmetic as Python floats and ints, failures for division by
zero, f-strings, `??`, comprehensions, loops, sorting, ids, the clock, calc(), unions and value
semantics. Expected values are computed with plain Python next to each call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from testkit import FIXTURES, compile_to

from envdsl.runtime.loader import load_environment_class


@pytest.fixture(scope="module")
def cls() -> Any:
    return load_environment_class(compile_to(FIXTURES / "semantics.env") / "semantics")


@pytest.fixture
def env(cls: Any) -> Any:
    return cls()


def ok(env: Any, tool: str, **args: Any) -> Any:
    r = env.call(tool, args)
    assert r.ok, r.content
    return r.value


def err(env: Any, tool: str, **args: Any) -> str:
    before = json.dumps(env.state())
    r = env.call(tool, args)
    assert not r.ok and not r.internal_error, r.content
    assert json.dumps(env.state()) == before
    return str(r.content)


@pytest.mark.parametrize("tool,a,b,expected", [
    ("add", 0.1, 0.2, 0.1 + 0.2),
    ("sub", 0.3, 0.1, 0.3 - 0.1),
    ("mul", 1.1, 3, 1.1 * 3),
    ("div", 1, 3, 1 / 3),
    ("idiv", 10, 3, 10 // 3),
    ("idiv", -7, 2, -7 // 2),
    ("fdiv", 7.5, 2, 7.5 // 2),
    ("imod", -7, 3, -7 % 3),
    ("imod", 7, -3, 7 % -3),
    ("fmod", -7.5, 2, -7.5 % 2),
    ("ipow", 2, 10, 2 ** 10),
    ("mixed", 3, 0.1, 3 * 0.1 + 3 // 2),
    ("int_div_is_float", 6, 3, 6 / 3),
])
def test_arithmetic_matches_python(env: Any, tool: str, a: Any, b: Any, expected: Any) -> None:
    value = ok(env, tool, a=a, b=b)
    assert value == expected and type(value) is type(expected)


def test_exact_float_text(env: Any) -> None:
    assert env.call("add", {"a": 0.1, "b": 0.2}).content == "0.30000000000000004"
    assert env.call("int_div_is_float", {"a": 6, "b": 3}).content == "2.0"
    assert ok(env, "neg_mod") == [2, -2, -4]


def test_rounding_is_pythons(env: Any) -> None:
    assert ok(env, "rnd", x=2.675, n=2) == round(2.675, 2) == 2.67  # binary floats, not decimal rounding
    assert ok(env, "rnd", x=1.005, n=2) == 1.0
    assert [ok(env, "rnd0", x=x) for x in (0.5, 1.5, 2.5, -2.5)] == [0, 2, 2, -2]  # half to even
    assert env.call("rnd0", {"x": 2.5}).content == "2"  # round(x) is an int


@pytest.mark.parametrize("tool,a,b,message", [
    ("div", 1, 0, "division by zero"),
    ("div", 0.0, 0.0, "division by zero"),
    ("idiv", 5, 0, "division by zero"),
    ("fdiv", 5.0, 0.0, "division by zero"),
    ("imod", 5, 0, "modulo by zero"),
    ("ipow", 10, 100000, "exponent too large"),
])
def test_arithmetic_failures(env: Any, tool: str, a: Any, b: Any, message: str) -> None:
    assert err(env, tool, a=a, b=b) == "Error: " + message


def test_fstrings(env: Any) -> None:
    x, n, s = 3.14159, 1234567, "a{b}c"
    assert ok(env, "fmt", x=x, n=n, s=s) == f"[{x:.2f}|{n:>5}|{n:,}|{s}|{x}|{n:05d}|{x:.1%}]"
    assert ok(env, "fmt", x=0.1 + 0.2, n=7, s="") == "[0.30|    7|7||0.30000000000000004|00007|30.0%]"
    assert ok(env, "braces", s="x") == "{x}"
    assert ok(env, "braces", s="{{y}}") == "{{{y}}}"  # an interpolated value is never re-read


def test_coalesce(env: Any) -> None:
    assert ok(env, "fallback", key="x", d=5) == 1
    assert ok(env, "fallback", key="y", d=5) == 0  # 0 is a value, not a missing one
    assert ok(env, "fallback", key="nope", d=5) == 5
    assert ok(env, "fallback_opt", x=None) == "none"
    assert ok(env, "fallback_opt", x="") == ""
    assert ok(env, "fallback_index", xs=[10, 20], i=1) == 20
    assert ok(env, "fallback_index", xs=[10, 20], i=5) == -1
    assert ok(env, "note_or", item_id="a") == "hello"
    assert ok(env, "note_or", item_id="b") == "no note"  # a null field
    assert ok(env, "must", key="z") == 7
    assert err(env, "must", key="q") == "Error: no score for q"


def test_comprehensions_and_loops(env: Any) -> None:
    assert ok(env, "comp", xs=[1, 2, 3, 4, 5]) == [1, 9, 25]
    assert ok(env, "comp_map") == {"a": 2, "c": 5}
    assert ok(env, "comp_pairs") == ["x=1", "y=0", "z=7"]
    assert ok(env, "loop_values") == 7  # one variable over a collection: its records
    assert ok(env, "loop_keys") == ["x:1", "y:0", "z:7"]  # two variables over a map: key, value
    assert ok(env, "loop_index", xs=["p", "q"]) == ["0p", "1q"]


def test_sorting(env: Any) -> None:
    assert ok(env, "by_price", rev=False) == ["b", "a", "c"]  # stable: a before c at the same price
    assert ok(env, "by_price", rev=True) == ["a", "c", "b"]  # reverse keeps stability, as Python's does
    assert ok(env, "sorted_list", xs=[3, 1, 2]) == [3, 2, 1]


def test_min_of_empty_list_fails(env: Any) -> None:
    assert ok(env, "minimum", xs=[4, 2]) == 2
    assert err(env, "minimum", xs=[]) == "Error: min() of an empty list"


def test_new_id_is_deterministic(cls: Any) -> None:
    env = cls()
    ids = [ok(env, "add_item", n=i) for i in range(3)]
    assert ids == ["it0004", "it0005", "it0006"]  # first unused after the 3 seeded items
    env.reset()
    assert [ok(env, "add_item", n=i) for i in range(3)] == ids
    assert list(env.state()["items"]) == ["a", "b", "c", *ids]


def test_clock(cls: Any) -> None:
    assert ok(cls(), "clock") == "2024-01-01T00:00:00"
    assert ok(cls(clock="2031-05-06T07:08:09"), "clock") == "2031-05-06T07:08:09"


@pytest.mark.parametrize("expr,expected", [
    ("1 + 2*3", 7.0), ("0.1 + 0.2", 0.1 + 0.2), ("(1 + 2) * 3 / 4", 2.25), ("10 // 3", 3.0),
    ("-7 % 3", 2.0), ("2 ** 0.5", 2 ** 0.5), ("  1e3  ", 1000.0),
])
def test_calc(env: Any, expr: str, expected: float) -> None:
    value = ok(env, "arith", expr=expr)
    assert value == expected and isinstance(value, float)


@pytest.mark.parametrize("expr,message", [
    ("1 / 0", "division by zero"),
    ("1 +", "invalid syntax"),
    ("__import__('os').system('true')", "only numbers, + - * / and parentheses are allowed"),
    ("x + 1", "only numbers, + - * / and parentheses are allowed"),
    ("'a' * 3", "only numbers, + - * / and parentheses are allowed"),
    ("10 ** 10 ** 10", "exponent too large"),
    ("1" * 1001, "expression too long"),
])
def test_calc_errors(env: Any, expr: str, message: str) -> None:
    assert err(env, "arith", expr=expr).startswith("Error: " + message)


def test_union_is(env: Any) -> None:
    assert ok(env, "which", kind="card") == [True, False, False]
    assert ok(env, "which", kind="gift") == [False, True, True]


def test_string_builtins(env: Any) -> None:
    s = " A,b "
    assert ok(env, "builtins", s=s) == [s.upper(), s.lower(), s.strip(), "+".join(s.split(",")),
                                        s.replace(",", ";"), str(len(s)), "elan",
                                        '{"b": 1, "a": [true, null]}', '{"a": 2, "b": 1}']


def test_stored_values_are_copies(env: Any) -> None:
    returned = ok(env, "store_then_change", item_id="s1")
    stored = env.state()["items"]["s1"]
    assert stored["n"] == 1 and stored["tags"] == ["a"]  # the local changed after the insert; the state did not
    assert returned["n"] == 99 and returned["tags"][-1] == "c"  # (whether `tags` and item.tags share a list
    # between locals is not part of the contract; only what reaches the state is)
    env.reset()
    returned = ok(env, "copy_then_change", src="a", dst="a2")
    assert env.state()["items"]["a"]["tags"] == [] and env.state()["items"]["a2"]["tags"] == ["changed"]
    assert returned["tags"] == []


def test_loop_over_a_collection_the_body_grows_terminates(env: Any) -> None:
    assert ok(env, "grow_while_looping") == 3
    state = env.state()
    assert list(state["items"]) == ["a", "b", "c", "ax", "bx", "cx"]
    assert state["scores"] == {"x": 1, "y": 0, "z": 7, "xx": 1, "yx": 0, "zx": 7}


def test_state_value_assignment(env: Any) -> None:
    assert [ok(env, "bump") for _ in range(3)] == [1, 2, 3]
    assert env.state()["counter"] == 3
