"""Data shapes of real benchmarks (docs/language.md, "Data shapes"): record fields that may be absent
(`name?: T`, not the same as present and null) and collections keyed by the map key alone (`keyed`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envdsl.runtime.digest import state_digest
from tests.testkit import check_text, env_class_from_text

SPEC = '''
domain shapes_demo "absent fields and keyed collections"
seed "t.seed.json"

record Name { first: str  last: str }

record User {
    name: Name
    email: str
    nickname?: str
}

record Booking {
    booking_id: str
    user: ref<users>
    status?: str
    note?: str?
}

state {
    users: collection<User> keyed
    bookings: collection<Booking> by booking_id
}

read tool get_user(user_id: str) -> User {
    return users[user_id] ?? fail f"User {user_id} not found"
}

read tool booking_status(booking_id: str) -> str {
    let b = bookings[booking_id] ?? fail "no such booking"
    if has(b.status) {
        return b.status
    }
    return b.status ?? "active"
}

read tool has_note(booking_id: str) -> bool {
    let b = bookings[booking_id] ?? fail "no such booking"
    return has(b.note)
}

write tool cancel(booking_id: str) -> Booking {
    let b = bookings[booking_id] ?? fail "no such booking"
    b.status = "cancelled"
    return b
}

write tool reopen(booking_id: str) -> Booking {
    let b = bookings[booking_id] ?? fail "no such booking"
    delete b.status
    return b
}

write tool set_note(booking_id: str, note: str?) -> Booking {
    let b = bookings[booking_id] ?? fail "no such booking"
    b.note = note
    return b
}

write tool cancel_then_fail(booking_id: str) -> Booking {
    let b = bookings[booking_id] ?? fail "no such booking"
    b.status = "cancelled"
    fail "refused"
}

write tool add_user(user_id: str, first: str, last: str, email: str) -> User {
    insert users[user_id] = User(name=Name(first=first, last=last), email=email)
    return users[user_id]
}
'''

SEED = {
    "users": {
        "mia_li_3668": {"name": {"first": "Mia", "last": "Li"}, "email": "mia@example.com"},
        "ana_b_1": {"name": {"first": "Ana", "last": "B"}, "email": "ana@example.com", "nickname": "A"},
    },
    "bookings": {
        "B1": {"booking_id": "B1", "user": "mia_li_3668"},
        "B2": {"booking_id": "B2", "user": "ana_b_1", "status": "cancelled", "note": None},
    },
}


@pytest.fixture(scope="module")
def env_cls(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return env_class_from_text(SPEC, tmp_path_factory.mktemp("shapes"), seed=json.dumps(SEED))


def test_seed_keeps_absent_fields_absent_and_keyed_records_without_key(env_cls: Any) -> None:
    env = env_cls()
    data = env.db.data
    assert "status" not in data["bookings"]["B1"] and "note" not in data["bookings"]["B1"]
    assert data["bookings"]["B2"]["note"] is None  # present and null stays present and null
    assert data["users"]["mia_li_3668"] == SEED["users"]["mia_li_3668"]  # no key field was added
    assert json.loads(env.call("get_user", {"user_id": "mia_li_3668"}).content) == SEED["users"]["mia_li_3668"]


def test_absent_read_through_has_and_fallback(env_cls: Any) -> None:
    env = env_cls()
    assert env.call("booking_status", {"booking_id": "B1"}).content == "active"
    assert env.call("booking_status", {"booking_id": "B2"}).content == "cancelled"
    assert env.call("has_note", {"booking_id": "B1"}).content == "false"
    assert env.call("has_note", {"booking_id": "B2"}).content == "true"  # present, even though null


def test_write_and_delete_make_a_field_present_and_absent(env_cls: Any) -> None:
    env = env_cls()
    before = env.state_hash()
    out = json.loads(env.call("cancel", {"booking_id": "B1"}).content)
    assert out == {"booking_id": "B1", "user": "mia_li_3668", "status": "cancelled"}
    assert env.state_hash() != before
    out = json.loads(env.call("reopen", {"booking_id": "B1"}).content)
    assert out == {"booking_id": "B1", "user": "mia_li_3668"}
    assert env.state_hash() == before  # absent again: the same state as the seed's
    assert env.call("reopen", {"booking_id": "B1"}).ok  # deleting an absent field changes nothing
    assert env.state_hash() == before


def test_absent_and_null_hash_differently(env_cls: Any) -> None:
    env = env_cls()
    absent = env.state_hash()
    absent_digest = state_digest(env.db.data)
    env.call("set_note", {"booking_id": "B1", "note": None})
    assert env.db.data["bookings"]["B1"]["note"] is None
    assert env.state_hash() != absent
    assert state_digest(env.db.data) != absent_digest


def test_failed_call_restores_absence(env_cls: Any) -> None:
    env = env_cls()
    before = json.dumps(env.db.data)
    result = env.call("cancel_then_fail", {"booking_id": "B1"})
    assert not result.ok and result.content == "Error: refused"
    assert json.dumps(env.db.data) == before


def test_keyed_collection_insert_and_state_check(env_cls: Any) -> None:
    env = env_cls()
    out = json.loads(env.call("add_user", {"user_id": "zoe_k_7", "first": "Zoe", "last": "K",
                                           "email": "zoe@example.com"}).content)
    assert out == {"name": {"first": "Zoe", "last": "K"}, "email": "zoe@example.com"}
    assert list(env.db.data["users"]) == ["mia_li_3668", "ana_b_1", "zoe_k_7"]
    assert env_cls.state_errors(SEED) == []
    bad = json.loads(json.dumps(SEED))
    bad["bookings"]["B1"]["status"] = 3
    assert env_cls.state_errors(bad) == ["bookings['B1'].status: expected a string, got integer 3"]


def test_schemas_leave_absent_fields_unrequired(env_cls: Any) -> None:
    from envdsl.codegen.openai_schema import SchemaWriter

    writer = SchemaWriter(env_cls.ir())
    booking = writer.record_schema("Booking", ())
    assert booking["required"] == ["booking_id", "user"]
    assert "status" in booking["properties"] and "note" in booking["properties"]


def test_generated_states_are_valid(env_cls: Any) -> None:
    from envdsl.runtime.generate import generate_state

    for seed in range(5):
        state = generate_state(env_cls, seed)
        assert env_cls.state_errors(state) == []
        assert all("booking_id" in b for b in state["bookings"].values())


@pytest.mark.parametrize("body, code", [
    ("read tool t(id: str) -> str { let b = bs[id] ?? fail \"x\"\n return b.status }", "E1101"),
    ("read tool t(id: str) -> bool { let b = bs[id] ?? fail \"x\"\n return has(b.id) }", "E1104"),
    ("read tool t(id: str) -> bool { return has(id) }", "E1104"),
    ("write tool t(id: str) -> str { let b = bs[id] ?? fail \"x\"\n delete b.id\n return \"ok\" }", "E1103"),
])
def test_checker_rules(tmp_path: Path, body: str, code: str) -> None:
    src = "domain d\nrecord B { id: str  status?: str }\nstate { bs: collection<B> by id }\n" + body + "\n"
    bag = check_text(src, tmp_path)
    assert [d.code for d in bag.items] == [code], bag.render()


def test_has_narrows_only_inside_its_branch(tmp_path: Path) -> None:
    src = ("domain d\nrecord B { id: str  status?: str }\nstate { bs: collection<B> by id }\n"
           "read tool t(id: str) -> str {\n let b = bs[id] ?? fail \"x\"\n"
           " if has(b.status) and b.status == \"x\" { return b.status }\n return b.status\n}\n")
    bag = check_text(src, tmp_path)
    assert [(d.code, d.span.line) for d in bag.items] == [("E1101", 7)], bag.render()


@pytest.mark.parametrize("body", [
    " if has(b.status) {\n  delete b.status\n  return b.status\n }\n return \"none\"",
    " if has(b.status) {\n  b = bs[\"other\"] ?? fail \"y\"\n  return b.status\n }\n return \"none\"",
])
def test_has_stops_holding_after_delete_or_rebinding(tmp_path: Path, body: str) -> None:
    src = ("domain d\nrecord B { id: str  status?: str }\nstate { bs: collection<B> by id }\n"
           "write tool t(id: str) -> str {\n let b = bs[id] ?? fail \"x\"\n" + body + "\n}\n")
    bag = check_text(src, tmp_path)
    assert [d.code for d in bag.items] == ["E1101"], bag.render()


def test_state_json_round_trip_keeps_absent_apart_from_null(env_cls: Any) -> None:
    env = env_cls()
    text = json.dumps(env.state())
    again = env_cls(state=json.loads(text))
    assert json.dumps(again.state()) == text and again.state_hash() == env.state_hash()
    assert "status" not in again.db.data["bookings"]["B1"] and again.db.data["bookings"]["B2"]["note"] is None


def test_pydantic_model_leaves_absent_fields_out_of_an_unset_dump(env_cls: Any) -> None:
    import importlib

    models = importlib.import_module(env_cls.__module__.rsplit(".", 1)[0] + ".models")
    booking = models.Booking.model_validate({"booking_id": "B1", "user": "mia_li_3668"})
    assert booking.model_dump(exclude_unset=True) == {"booking_id": "B1", "user": "mia_li_3668"}
    present = models.Booking.model_validate({"booking_id": "B2", "user": "u", "note": None})
    assert present.model_dump(exclude_unset=True) == {"booking_id": "B2", "user": "u", "note": None}
    assert "user_id" not in models.User.model_fields  # a keyed collection's records hold no key


def test_formatter_keeps_the_new_shapes() -> None:
    from envdsl.lang.diagnostics import DiagnosticBag
    from envdsl.lang.formatter import format_source

    bag = DiagnosticBag()
    once = format_source(SPEC, "t.env", bag)
    assert once is not None and not bag.items, bag.render()
    assert "    status?: str\n" in once and "    note?: str?\n" in once
    assert "    users: collection<User> keyed\n" in once
    assert format_source(once, "t.env", DiagnosticBag()) == once
