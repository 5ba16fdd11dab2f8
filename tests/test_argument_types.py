"""Tool arguments are normalised to the declared parameter types before a tool runs: a number's JSON
spelling (80 or 80.0) never changes the state, its hash or the tool's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from envdsl.runtime.validate import Schema
from envdsl.session import environment_from_spec

BANK = str(Path(__file__).parent.parent / "specs" / "bank" / "bank.env")


@pytest.fixture(scope="module")
def bank_class():
    return type(environment_from_spec(BANK))


def _transfer(env_cls, amount_json: str):
    env = env_cls()
    result = env.call("transfer_between_accounts",
                      '{"from_account": "acc1001", "to_account": "acc1002", "amount": %s}' % amount_json)
    return env, result


def test_an_int_for_a_float_parameter_gives_the_same_state_and_hash(bank_class):
    env_int, r_int = _transfer(bank_class, "80")
    env_float, r_float = _transfer(bank_class, "80.0")
    assert r_int.ok and r_float.ok, (r_int.content, r_float.content)
    assert r_int.content == r_float.content
    assert env_int.state() == env_float.state()
    assert env_int.state_hash() == env_float.state_hash()
    # the float really is what the tool got: the recorded transfer says 80.0, never 80
    transfers = env_int.state()["transfers"]
    amounts = [t["amount"] for t in transfers.values()]
    assert 80.0 in amounts and all(type(a) is float for a in amounts if a == 80)
    assert '"amount": 80.0' in r_int.content


def test_normalisation_reaches_inside_records_lists_and_optionals():
    schema = Schema({"records": {"Line": [{"name": "price", "type": {"k": "float"}},
                                          {"name": "qty", "type": {"k": "int"}}]},
                     "enums": {}, "unions": {}})
    t = {"k": "list", "of": {"k": "record", "name": "Line"}}
    got = schema.normalize_argument([{"price": 3, "qty": 2}], t)
    assert got == [{"price": 3.0, "qty": 2}] and type(got[0]["price"]) is float and type(got[0]["qty"]) is int
    assert type(schema.normalize_argument(5, {"k": "opt", "of": {"k": "float"}})) is float
    assert schema.normalize_argument(True, {"k": "any"}) is True  # only declared floats change
    assert schema.normalize_argument(10 ** 400, {"k": "float"}) == 10 ** 400  # beyond float: left for the tool
    # state and seed data keep their spelling (the tau2 reference hashes depend on it)
    assert type(schema.normalize(3, {"k": "float"})) is int
