"""Checker rules that accept code: each pairs the accepted form with the nearest rejected one."""

from __future__ import annotations

from envdsl.lang.checker import check_module
from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.lang.parser import parse_source

HEAD = '''domain d
enum Status { "open", "frozen" }
record Acct { acct_id: str  status: Status  balance: float }
record Card { id: str }
record Gift { id: str  balance: float }
union Pay by source { "card": Card, "gift": Gift }
state { accts: collection<Acct> by acct_id }
'''


def codes(body: str) -> list[str]:
    bag = DiagnosticBag()
    module = parse_source(HEAD + body, "t.env", bag)
    assert module is not None, bag.render()
    check_module(module, bag)
    return sorted(d.code for d in bag.sorted())


def test_a_fn_that_can_fail_may_be_called_for_its_check() -> None:
    ok = '''fn must_exist(id: str) -> Acct { return accts[id] ?? fail "no such account" }
write tool freeze(id: str) -> str { must_exist(id) return "ok" }'''
    assert codes(ok) == []
    pure = '''fn twice(x: int) -> int { return x * 2 }
write tool freeze(id: str) -> str { twice(1) return "ok" }'''
    assert codes(pure) == ["E0406"]


def test_a_conditional_of_enum_members_is_an_enum_value() -> None:
    ok = '''write tool set(id: str, frozen: bool) -> str {
    let a = accts[id] ?? fail "no"
    a.status = if frozen then "frozen" else "open"
    return "ok"
}'''
    assert codes(ok) == []
    assert codes(ok.replace('"open"', '"closed"')) == ["E0215"]


def test_narrowing_after_is_and_not_null_including_across_and() -> None:
    ok = '''read tool bal(p: Pay, q: Gift?) -> float {
    if p is Gift and p.balance > 0 { return p.balance }
    if q != null { let g: Gift = q  return g.balance }
    return 0.0
}'''
    assert codes(ok) == []
    # without the `is` test neither use of .balance is allowed (Card has none)
    assert codes(ok.replace("if p is Gift and p.balance > 0", "if p.balance > 0")) == ["E0306", "E0306"]
    # without the null test the optional cannot be stored as a Gift
    assert codes(ok.replace("if q != null { let g: Gift = q  return g.balance }",
                            "let g: Gift = q")) == ["E0301"]


def test_a_parameter_may_share_a_state_name_and_state_dot_reaches_the_state() -> None:
    ok = '''read tool n(accts: list<str>) -> int { return len(accts) + len(state.accts) }'''
    assert codes(ok) == []


def test_power_of_ints_is_an_int_only_for_a_constant_exponent() -> None:
    assert codes("read tool p(a: int) -> int { return a ** 3 ** 2 }") == []
    assert codes("read tool p(a: int, b: int) -> int { return a ** b }") == ["E0301"]


def test_split_on_the_empty_string_is_rejected() -> None:
    assert codes('read tool p(s: str) -> list<str> { return split(s, "") }') == ["E0302"]
    assert codes('read tool p(s: str) -> list<str> { return split(s, ",") }') == []
