"""Untagged unions (issue 15): a result that is one of several records, told apart by a field only
each variant has; checked, validated, published as anyOf and generated as a pydantic Union."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from testkit import REPO, check_text, compile_to

from envdsl.runtime.loader import load_environment_class

EXAMPLE = REPO / "docs" / "examples" / "payments" / "payments.env"


@pytest.fixture(scope="module")
def out() -> Path:
    return compile_to(EXAMPLE)


@pytest.fixture
def env(out: Path) -> Any:
    return load_environment_class(out / "payments")()


def test_each_variant_is_told_apart_by_its_own_field(env: Any) -> None:
    assert env.call("describe", {"customer_id": "c1"}).content == "card ending 4242"
    assert env.call("describe", {"customer_id": "c2"}).content == "voucher SPRING24"
    r = env.call("set_voucher", {"customer_id": "c1", "code": "V1", "amount": 5})
    assert json.loads(r.content) == {"code": "V1", "amount": 5.0}
    assert env.call("describe", {"customer_id": "c1"}).content == "voucher V1"
    assert json.loads(env.call("method_of", {"customer_id": "c2"}).content) == {"code": "SPRING24", "amount": 25.0}


def test_arguments_are_validated_against_the_variants(env: Any) -> None:
    before = env.state_hash()
    r = env.call("set_method", {"customer_id": "c1", "method": {"foo": 1}})
    assert r.content == ("Error: invalid arguments for set_method: method: expected one of Card, Voucher, "
                         "with one of the fields 'card_id', 'code'")
    r = env.call("set_method", {"customer_id": "c1", "method": {"code": "x"}})
    assert r.content == "Error: invalid arguments for set_method: method: missing field 'amount'"
    r = env.call("set_method", {"customer_id": "c1", "method": {"card_id": "k", "last4": "1", "code": "x"}})
    assert not r.ok and "unexpected field 'code'" in r.content  # one variant, never a blend of two
    assert env.state_hash() == before
    r = env.call("set_method", {"customer_id": "c1", "method": {"card_id": "k2", "last4": "1111"}})
    assert json.loads(r.content) == {"card_id": "k2", "last4": "1111"}


def test_tools_json_and_ir(env: Any) -> None:
    schema = next(s for s in env.tool_schemas() if s["function"]["name"] == "set_method")
    method = schema["function"]["parameters"]["properties"]["method"]
    assert [sorted(alt["properties"]) for alt in method["anyOf"]] == [["card_id", "last4"], ["amount", "code"]]
    assert all(alt["additionalProperties"] is False for alt in method["anyOf"])
    union = type(env).ir()["unions"][0]
    assert union["tag"] is None
    assert union["variants"] == [{"value": "card_id", "record": "Card"}, {"value": "code", "record": "Voucher"}]


def test_pydantic_models_validate_the_seed(out: Path) -> None:
    sys.path.insert(0, str(out))
    try:
        models = importlib.import_module("payments.models")
        seed = json.loads(EXAMPLE.with_name("payments.seed.json").read_text())
        state = models.State.model_validate(seed)
        assert type(state.customers["c1"].method).__name__ == "Card"
        assert type(state.customers["c2"].method).__name__ == "Voucher"
    finally:
        sys.path.remove(str(out))


def test_a_seed_value_that_is_no_variant_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "payments.seed.json").write_text(json.dumps(
        {"customers": {"c1": {"customer_id": "c1", "method": {"iban": "DE00"}}}}))
    shown = check_text(EXAMPLE.read_text(), folder, "payments").render()
    assert "E0503" in shown and "expected one of Card, Voucher" in shown


def test_variants_must_be_distinguishable_and_read_after_a_test(tmp_path: Path) -> None:
    shown = check_text('''
        domain u
        record A { id: str  x: int }
        record B { id: str }
        union AB { A, B }
        read tool f(v: AB) -> int { return v.x }
    ''', tmp_path).render()
    assert "E0906" in shown and "variant B of untagged union AB" in shown
    shown = check_text('''
        domain u
        record A { a: str  x: int }
        record B { b: str }
        union AB { A, B }
        read tool f(v: AB) -> int { return v.x }
        read tool g(v: AB) -> int { if v is A { return v.x } return 0 }
    ''', tmp_path).render()
    assert "E0306" in shown and "not every variant of AB has a field 'x'" in shown and shown.count("error") == 2


def test_formatter_keeps_an_untagged_union(tmp_path: Path) -> None:
    from envdsl.lang.diagnostics import DiagnosticBag
    from envdsl.lang.formatter import format_source

    text = 'domain u\nrecord A { a: str }\nrecord B { b: str }\nunion AB "one of two" { A, B }\n'
    once = format_source(text, "u.env", DiagnosticBag())
    assert once is not None and 'union AB "one of two" { A, B }' in once
    assert format_source(once, "u.env", DiagnosticBag()) == once
