"""The Environment API on the shop fixture: bad calls, rollback, reset, snapshots, generated states,
invariants and broken tools. Every failure must leave the state exactly as it was, key order included."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from envdsl.runtime import ToolResult


def dump(env: Any) -> str:
    return json.dumps(env.state())  # no sort_keys: dict key order is part of "exactly as before"


# ---- malformed calls ------------------------------------------------------------------------
BAD_CALLS = [
    ("no_such_tool", {}, "unknown tool 'no_such_tool'; tools: get_product, list_products, place_order"),
    ("get_product", '{"sku": "p1"', "arguments are not valid JSON: "),
    ("get_product", "[1, 2]", "arguments must be a JSON object, got array"),
    ("get_product", '"p1"', "arguments must be a JSON object, got string"),
    ("get_product", [1], "arguments must be a JSON object, got array"),
    ("get_product", {}, "invalid arguments for get_product: missing required argument 'sku'"),
    ("get_product", {"sku": "p1", "color": "red"}, "invalid arguments for get_product: unexpected argument 'color'"),
    ("get_product", {"sku": 7}, "invalid arguments for get_product: sku: expected a string, got integer 7"),
    ("get_product", {"sku": None}, "invalid arguments for get_product: sku: expected a string, got null"),
    ("place_order", {"customer_id": "c1", "sku": "p1", "qty": True},
     "invalid arguments for place_order: qty: expected an integer, got boolean True"),
    ("place_order", {"customer_id": "c1", "sku": "p1", "qty": 2.0},
     "invalid arguments for place_order: qty: expected an integer, got number 2.0"),
    ("place_order", {"customer_id": "c1", "sku": "p1", "qty": 1.5},
     "invalid arguments for place_order: qty: expected an integer, got number 1.5"),
    ("place_order", {"customer_id": "c1", "sku": "p1", "qty": "2"},
     "invalid arguments for place_order: qty: expected an integer, got string '2'"),
    ("place_order", {"customer_id": "c1", "sku": "p1", "qty": 6},
     "invalid arguments for place_order: qty: must be at most 5, got 6"),
    ("place_order", {"customer_id": "c1", "sku": "p1", "qty": 0},
     "invalid arguments for place_order: qty: must be at least 1, got 0"),
    ("place_order", {"customer_id": None, "sku": 3},
     "invalid arguments for place_order: customer_id: expected a string, got null; sku: expected a string, "
     "got integer 3"),
    ("set_status", {"order_id": "o0001", "status": "shipped"},
     "invalid arguments for set_status: status: expected one of 'open', 'paid', 'cancelled', got 'shipped'"),
    ("list_products", {"max_price": "cheap"},
     "invalid arguments for list_products: max_price: expected a number, got string 'cheap'"),
    ("churn", {"rounds": 21}, "invalid arguments for churn: rounds: must be at most 20, got 21"),
]


@pytest.mark.parametrize("tool,args,message", BAD_CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_CALLS)])
def test_malformed_calls_fail_cleanly(shop: Any, tool: str, args: Any, message: str) -> None:
    before, before_hash = dump(shop), shop.state_hash()
    r = shop.call(tool, args)
    assert isinstance(r, ToolResult)
    assert (r.ok, r.internal_error, r.value) == (False, False, None)
    assert r.content.startswith("Error: " + message), r.content
    assert shop.state_hash() == before_hash and dump(shop) == before
    assert shop.db.journal == []


def test_spec_failures_are_clean(shop: Any) -> None:
    before = dump(shop)
    r = shop.call("place_order", {"customer_id": "c1", "sku": "p3", "qty": 3})
    assert (r.ok, r.content) == (False, "Error: Only 2 left of p3")
    r = shop.call("get_product", '{"sku": "zz"}')
    assert (r.ok, r.content) == (False, "Error: Product zz not found")
    assert dump(shop) == before


def test_arguments_as_json_text_and_defaults(shop: Any) -> None:
    r = shop.call("place_order", '{"customer_id": "c2", "sku": "p1"}')  # qty defaults to 1
    assert r.ok and r.value["lines"] == [{"sku": "p1", "qty": 1}]
    assert r.value["total"] == round(1.5 * (1 + 0.2), 2) == 1.8
    assert shop.call("list_products", "").ok  # empty text is no arguments


# ---- rollback of a write that fails part-way --------------------------------------------------------
@pytest.mark.parametrize("rounds", [1, 3, 12])
def test_failure_after_many_changes_restores_everything(shop: Any, rounds: int) -> None:
    before, before_hash = dump(shop), shop.state_hash()
    r = shop.call("churn", {"rounds": rounds, "fail_at_end": True})
    assert (r.ok, r.content, r.internal_error) == (False, "Error: failing on purpose", False)
    assert dump(shop) == before and shop.state_hash() == before_hash
    assert list(shop.state()["products"]) == ["p1", "p2", "p3"]  # p2 was deleted from the middle, then put back
    assert shop.db.journal == []
    # and the same call without the failure really makes those changes
    assert shop.call("churn", {"rounds": rounds}).value == rounds
    after = shop.state()
    assert "p2" not in after["products"] and "c2" not in after["customers"]
    assert after["products"]["p1"]["stock"] == 10 + rounds
    assert after["next_note"] == 1 + rounds
    assert after["customers"]["c1"]["tags"] == [f"tmp{rounds - 1}"]


def test_failure_after_successful_calls_keeps_their_changes(shop: Any) -> None:
    assert shop.call("place_order", {"customer_id": "c2", "sku": "p1", "qty": 2}).ok
    middle = dump(shop)
    assert not shop.call("churn", {"rounds": 4, "fail_at_end": True}).ok
    assert dump(shop) == middle


# ---- reset, snapshot, restore ---------------------------------------------------------------------
def test_reset_restores_the_seed_exactly(shop_class: Any) -> None:
    env, fresh = shop_class(), dump(shop_class())
    for i in range(30):
        env.call("place_order", {"customer_id": "c1", "sku": "p1", "qty": 1 + i % 2})
        env.call("churn", {"rounds": 2})
        env.call("set_status", {"order_id": "o0001", "status": "paid"})
        env.call("restock_all", {"amount": 3})
    assert dump(env) != fresh
    env.reset()
    assert dump(env) == fresh
    assert env.db.journal == []


def test_reset_cost_is_the_journal_not_the_state(shop_class: Any) -> None:
    """Writes are journaled one entry per change; reset() undoes exactly those entries in place: the
    state's untouched objects are the very same objects afterwards (nothing was copied or rebuilt)."""
    env = shop_class()
    data, untouched = env.db.data, env.db.data["products"]["p3"]
    assert env.call("place_order", {"customer_id": "c2", "sku": "p1"}).ok
    # set order.total (a local, journaled anyway), insert the order, set the stock, append to the customer
    assert len(env.db.journal) == 4
    for _ in range(9):
        env.call("place_order", {"customer_id": "c2", "sku": "p1"})
    assert len(env.db.journal) == 40
    env.reset()
    assert env.db.journal == []
    assert env.db.data is data and env.db.data["products"]["p3"] is untouched


def test_reset_cost_does_not_grow_with_the_state(shop_class: Any) -> None:
    env = shop_class()
    big = env.state()
    for i in range(5000):
        big["products"][f"x{i}"] = {"sku": f"x{i}", "title": "t", "price": 1.0, "stock": 1}
    env.reset(state=big)
    snap = env.snapshot()
    entity = env.db.data["products"]["x4999"]
    for _ in range(5):
        env.call("place_order", {"customer_id": "c2", "sku": "p1"})
    assert len(env.db.journal) == 20  # the same 4 changes a call as on the tiny seed
    env.restore(snap)
    assert env.db.journal == [] and env.db.data["products"]["x4999"] is entity
    assert len(env.state()["products"]) == 5003


def test_snapshot_and_restore(shop: Any) -> None:
    shop.call("place_order", {"customer_id": "c2", "sku": "p1"})
    snap, at_snap = shop.snapshot(), dump(shop)
    shop.call("churn", {"rounds": 5})
    shop.call("cancel_order", {"order_id": "o0001"})
    assert dump(shop) != at_snap
    shop.restore(snap)
    assert dump(shop) == at_snap
    shop.restore(snap)  # restoring to the same point again is a no-op
    assert dump(shop) == at_snap
    shop.reset()
    with pytest.raises(ValueError, match="snapshot"):
        shop.restore(snap)


def test_reset_to_a_given_state_validates_it(shop: Any) -> None:
    good = shop.state()
    good["products"]["p1"]["stock"] = 99
    shop.reset(state=good)
    assert shop.state()["products"]["p1"]["stock"] == 99
    before = dump(shop)
    bad = shop.state()
    bad["products"]["p1"]["stock"] = "many"
    bad["orders"]["o0001"]["customer_id"] = "nobody"
    with pytest.raises(ValueError, match=r"products\['p1'\]\.stock: expected an integer, got string 'many'"):
        shop.reset(state=bad)
    assert dump(shop) == before  # a rejected state changes nothing
    bad = shop.state()
    bad["orders"]["o0001"]["customer_id"] = "nobody"
    with pytest.raises(ValueError, match=r"orders\['o0001'\]\.customer_id: 'nobody' is not a key of customers"):
        shop.reset(state=bad)
    with pytest.raises(ValueError, match="missing field 'orders'"):
        shop.reset(state={k: v for k, v in shop.state().items() if k != "orders"})
    # a state value with a default may be left out: it starts at its default
    shop.reset(state={k: v for k, v in shop.state().items() if k != "payments"})
    assert shop.state()["payments"] == {}
    with pytest.raises(ValueError):
        shop.reset(state=good, seed=1)
    # the given state was copied: changing the caller's dict later does not reach the environment
    good["products"]["p1"]["stock"] = 5
    assert shop.state()["products"]["p1"]["stock"] == 99


def test_state_errors_lists_problems(shop_class: Any) -> None:
    assert shop_class.state_errors(shop_class().state()) == []
    assert shop_class.state_errors([]) == ["state: expected an object, got array"]
    state = shop_class().state()
    state["customers"]["c1"]["customer_id"] = "c9"
    assert shop_class.state_errors(state) == [
        "customers['c1'].customer_id: must equal its key 'c1', got 'c9'"]


def test_generated_states_are_deterministic_and_valid(shop_class: Any) -> None:
    a, b = shop_class(), shop_class()
    a.reset(seed=7)
    b.reset(seed=7)
    assert dump(a) == dump(b)
    seen = set()
    for seed in range(8):
        a.reset(seed=seed)
        state = a.state()
        assert shop_class.state_errors(state) == []
        assert a.invariant_failures() == []
        assert 2 <= len(state["customers"]) <= 4 and 2 <= len(state["products"]) <= 5
        assert len(state["orders"]) <= 3
        seen.add(dump(a))
        # tools work on generated states, and reset() goes back to the seed file
        some_sku = next(iter(state["products"]))
        assert a.call("get_product", {"sku": some_sku}).value == state["products"][some_sku]
    assert len(seen) == 8
    a.reset()
    assert dump(a) == dump(shop_class())


def test_invariants(shop: Any) -> None:
    assert shop.invariant_failures() == []
    state = shop.state()
    state["next_note"] = 0
    shop.reset(state=state)
    assert shop.invariant_failures() == ["notes are numbered from 1"]
    assert shop.state()["next_note"] == 0  # checking invariants changes nothing


def test_a_broken_tool_is_an_internal_error(shop_class: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    tools = sys.modules[shop_class.TOOLS["place_order"].fn.__module__]

    def broken_find_product(db: Any, sku: str) -> Any:
        db.set(db.data["products"]["p1"], "stock", 999)  # a change first: it must be undone
        raise RuntimeError("kaput")

    monkeypatch.setattr(tools, "find_product", broken_find_product)
    env = shop_class()
    before = dump(env)
    r = env.call("place_order", {"customer_id": "c1", "sku": "p1"})
    assert (r.ok, r.internal_error) == (False, True)
    assert r.content == "Error: internal error in tool place_order: RuntimeError: kaput"
    assert dump(env) == before

    def broken_tool(db: Any, **kwargs: Any) -> Any:
        return {"not json": {1, 2}}  # a value json cannot encode is a broken tool too

    spec = shop_class.TOOLS["get_product"]
    monkeypatch.setitem(shop_class.TOOLS, "get_product", dataclasses.replace(spec, fn=broken_tool))
    r = env.call("get_product", {"sku": "p1"})
    assert (r.ok, r.internal_error) == (False, True) and "TypeError" in r.content


def test_read_tools_do_not_write(shop: Any) -> None:
    before = dump(shop)
    for name, spec in shop.TOOLS.items():
        if spec.effect == "read":
            shop.call(name, {"sku": "p1"} if name == "get_product" else
                      {"order_id": "o0001"} if name == "payment_kind" else {})
    assert dump(shop) == before and shop.db.journal == []
    assert {n for n, s in shop.TOOLS.items() if s.effect == "read"} == {"get_product", "list_products",
                                                                         "payment_kind"}


def test_state_is_a_copy(shop: Any) -> None:
    s = shop.state()
    s["products"]["p1"]["stock"] = -5
    assert shop.state()["products"]["p1"]["stock"] == 10
    r = shop.call("get_product", {"sku": "p1"})
    r.value["stock"] = 0
    assert shop.state()["products"]["p1"]["stock"] == 10


def test_a_non_finite_result_is_a_failure_and_rolls_back() -> None:
    """NaN and Infinity are not JSON: such a result fails, and the call's writes are undone."""
    from envdsl.runtime.environment import Environment, ToolSpec
    from envdsl.runtime.store import Db

    def overflow(db: Db) -> float:
        db.set(db.data, "n", 1)
        return float("inf")

    class Env(Environment):
        STATE_FIELDS = [{"name": "n", "kind": "value", "type": {"k": "int"}, "default": 0, "constraints": {}}]
        TOOLS = {"overflow": ToolSpec("overflow", overflow, "write", (), {"k": "float"})}

    env = Env(state={"n": 0})
    result = env.call("overflow", {})
    assert (result.ok, result.content, result.internal_error) == (False, "Error: the result is not a finite number",
                                                                  False)
    assert env.state() == {"n": 0}
