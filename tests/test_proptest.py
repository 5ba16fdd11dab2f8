"""`envdsl test`, the property-test gate: it passes a clean domain and catches planted bugs.

Each planted bug is one kind of broken environment the gate exists to stop (a read tool that
writes, a write that breaks a reference, a tool that raises, an output off its declared type,
a nondeterministic tool, a write that bypasses the undo journal, a schema that disagrees with
the runtime); each test asserts the gate names the right property and gives a reproduction.
Bugs are planted in a compiled copy of tests/fixtures/proptest/notes, either by editing its
generated tools.py or by wrapping one tool's function in a subclass.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any, Callable

import pytest
from testkit import FIXTURES, compile_to, run_cli

from envdsl.proptest.domain import Domain
from envdsl.proptest.gate import run_gate
from envdsl.proptest.runner import DomainResult, Options, gate_domain
from envdsl.proptest.schema_check import schema_problems
from envdsl.runtime.loader import load_environment_class
from envdsl.runtime.store import Db

NOTES = FIXTURES / "proptest" / "notes" / "notes.env"
FAST = Options(examples=15, seed=0)


@pytest.fixture(scope="module")
def notes_out() -> Path:
    return compile_to(NOTES)


@pytest.fixture(scope="module")
def notes_class(notes_out: Path) -> Any:
    return load_environment_class(notes_out / "notes")


def gate(env_cls: Any, tools: list[str] | None = None, options: Options = FAST) -> DomainResult:
    return gate_domain(Domain(env_cls.DOMAIN, env_cls, "test"), options, tools)


def properties_failed(result: DomainResult) -> set[str]:
    return {f.property for f in result.failures}


def with_tool(env_cls: Any, tool: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]], **extra: Any) -> Any:
    """A subclass whose `tool` runs wrap(original function); same module, so seed and IR still load."""
    spec = env_cls.TOOLS[tool]
    tools = {**env_cls.TOOLS, tool: dataclasses.replace(spec, fn=wrap(spec.fn))}
    return type(f"Bugged{env_cls.__name__}", (env_cls,), {"TOOLS": tools, "__module__": env_cls.__module__, **extra})


# ---- a clean domain passes ---------------------------------------------------------------------
def test_clean_domain_passes_every_property(notes_class: Any) -> None:
    result = gate(notes_class)
    assert result.failures == []
    assert result.tools == 7
    # every per-call, schema and state property was exercised
    assert {"never_raises", "output_matches_return_type", "deterministic", "read_only",
            "failure_leaves_state_unchanged", "write_keeps_state_valid", "undo_restores_state",
            "schema_accepts_valid", "schema_rejects_invalid", "seed_state_valid",
            "generated_state_valid", "state_hash_matches_state"} <= result.properties
    # 7 tools x (single-call test + schema test) + a sequence test, 15 examples each at least
    assert result.examples >= 15 * 15


def test_cli_passes_a_clean_spec_and_reports_counts_as_json(in_repo: Path) -> None:
    code, out, _ = run_cli("test", str(NOTES.relative_to(in_repo)), "--examples", "5", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["domains"], report["tools"], report["failures"]) == (1, 7, 0)
    # 12 robustness properties and the 10 fidelity codes (F0101-F0110)
    assert report["properties"] == 12 + 10 and report["examples"] >= 5 * 15
    assert report["failures_detail"] == []


def test_same_seed_same_report(notes_class: Any) -> None:
    bugged = with_tool(notes_class, "count_notes", lambda fn: lambda db, author_id: [fn(db, author_id)])
    first = [f.to_json() for f in gate(bugged, ["count_notes"]).failures]
    second = [f.to_json() for f in gate(bugged, ["count_notes"]).failures]
    assert first and first == second


# ---- planted bugs are caught, with the right property named -------------------------------------
def test_read_tool_that_writes_is_caught(notes_out: Path, tmp_path: Path) -> None:
    import shutil

    pkg = tmp_path / "notes"
    shutil.copytree(notes_out / "notes", pkg)
    tools_py = pkg / "tools.py"
    src = tools_py.read_text()
    planted = "    S = db.data\n    db.set(S, 'counter', S['counter'] + 1)  # planted: a read tool that writes\n"
    head, sep, body = src.partition("def count_notes(")
    body = body.replace("    S = db.data\n", planted, 1)
    assert planted in body
    tools_py.write_text(head + sep + body)
    result = gate(load_environment_class(pkg), ["count_notes"])
    assert properties_failed(result) == {"read_only"}
    failure = result.failures[0]
    assert failure.calls[-1]["tool"] == "count_notes"
    assert "counter: 0 -> 1" in failure.actual or "counter:" in failure.actual
    assert "FAIL notes: read_only" in failure.render()


def test_write_that_breaks_a_reference_is_caught(notes_class: Any) -> None:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def archive(db: Db, note_id: str) -> Any:
            out = fn(db, note_id)
            db.set(db.data["notes"][note_id], "author_id", "a999")  # planted: a dangling reference
            return out
        return archive

    result = gate(with_tool(notes_class, "archive", wrap), ["archive"])
    assert "write_keeps_state_valid" in properties_failed(result)
    failure = next(f for f in result.failures if f.property == "write_keeps_state_valid")
    assert "'a999' is not a key of authors" in failure.actual
    assert failure.calls[-1]["tool"] == "archive"


def test_write_that_breaks_an_invariant_is_caught(notes_class: Any) -> None:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def tick(db: Db) -> Any:
            for note in db.data["notes"].values():
                db.set(note, "stars", -1)  # below @min(0) and against the invariant
            return fn(db)
        return tick

    result = gate(with_tool(notes_class, "tick", wrap), ["tick"])
    assert properties_failed(result) == {"write_keeps_state_valid"}
    assert "stars" in result.failures[0].actual


def test_tool_that_raises_is_caught(notes_class: Any) -> None:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def get_note(db: Db, note_id: str) -> Any:
            note = fn(db, note_id)
            return note["title"] + 1  # planted: TypeError on every found note
        return get_note

    result = gate(with_tool(notes_class, "get_note", wrap), ["get_note"])
    assert "never_raises" in properties_failed(result)
    failure = next(f for f in result.failures if f.property == "never_raises")
    assert "internal error in tool get_note: TypeError" in failure.actual
    # the reproduction names an existing note: the strategy drew the id from the state
    note_id = failure.calls[0]["args"]["note_id"]
    assert note_id == "n0001" or note_id in failure.render()


def test_output_off_the_declared_type_is_caught(notes_class: Any) -> None:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def get_note(db: Db, note_id: str) -> Any:
            note = dict(fn(db, note_id))
            note["stars"] = "five"  # planted: a str where the Note record has an int
            return note
        return get_note

    result = gate(with_tool(notes_class, "get_note", wrap), ["get_note"])
    assert properties_failed(result) == {"output_matches_return_type"}
    assert "result.stars: expected an integer, got string" in result.failures[0].actual


def test_enum_output_outside_the_enum_is_caught(notes_class: Any) -> None:
    bugged = with_tool(notes_class, "note_color", lambda fn: lambda db, note_id: fn(db, note_id).upper())
    result = gate(bugged, ["note_color"])
    assert properties_failed(result) == {"output_matches_return_type"}


def test_nondeterministic_tool_is_caught(notes_class: Any) -> None:
    calls = itertools.count()
    bugged = with_tool(notes_class, "count_notes", lambda fn: lambda db, author_id: fn(db, author_id) + next(calls))
    result = gate(bugged, ["count_notes"])
    assert "deterministic" in properties_failed(result)
    failure = next(f for f in result.failures if f.property == "deterministic")
    assert failure.actual.startswith("first ")


def test_write_that_bypasses_the_journal_is_caught(notes_class: Any) -> None:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def tick(db: Db) -> Any:
            db.data["counter"] += 1  # planted: not through db.set, so it cannot be undone
            return fn(db)
        return tick

    result = gate(with_tool(notes_class, "tick", wrap), ["tick"])
    assert "undo_restores_state" in properties_failed(result)


def test_failed_call_that_changes_the_state_is_caught(notes_class: Any) -> None:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def star(db: Db, note_id: str, stars: int) -> Any:
            db.data["counter"] += 1  # planted: a change the rollback of a failed call cannot undo
            return fn(db, note_id, stars)
        return star

    result = gate(with_tool(notes_class, "star", wrap), ["star"])
    assert "failure_leaves_state_unchanged" in properties_failed(result)


def _schemas_with(env_cls: Any, tool: str, param: str, **changes: Any) -> list[dict[str, Any]]:
    schemas = json.loads(json.dumps(env_cls.SCHEMAS))
    fn = next(s["function"] for s in schemas if s["function"]["name"] == tool)
    fn["parameters"]["properties"][param].update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del fn["parameters"]["properties"][param][key]
    return schemas


def test_schema_looser_than_the_runtime_is_caught(notes_class: Any) -> None:
    # the published schema forgets @max(5): it accepts stars=6, which the runtime rejects
    schemas = _schemas_with(notes_class, "star", "stars", maximum=None)
    bugged = type("LooseSchema", (notes_class,), {"SCHEMAS": schemas, "__module__": notes_class.__module__})
    result = gate(bugged, ["star"])
    assert properties_failed(result) == {"schema_accepts_valid"}
    assert "must be at most 5" in result.failures[0].actual


def test_schema_stricter_than_the_runtime_is_caught(notes_class: Any) -> None:
    # the published schema says titles have at most 3 characters; the runtime allows 60
    schemas = _schemas_with(notes_class, "add_note", "title", maxLength=3)
    bugged = type("StrictSchema", (notes_class,), {"SCHEMAS": schemas, "__module__": notes_class.__module__})
    result = gate(bugged, ["add_note"])
    assert properties_failed(result) == {"schema_rejects_invalid"}


def test_seed_that_breaks_an_invariant_is_caught(notes_class: Any) -> None:
    # the seed's note n0001 has 3 stars (the compiler checks seeds against types, not invariants)
    strict = [("no note has 3 stars", lambda db: all(n["stars"] != 3 for n in db.data["notes"].values()))]
    bugged = type("BadSeed", (notes_class,), {"INVARIANTS": strict, "__module__": notes_class.__module__})
    result = gate(bugged, ["get_note"])
    assert "seed_state_valid" in properties_failed(result)
    seed_failure = next(f for f in result.failures if f.property == "seed_state_valid")
    assert seed_failure.actual == "invariant failed: no note has 3 stars"


# ---- reports -------------------------------------------------------------------------------------
def test_a_failure_reads_as_a_reproduction(notes_class: Any) -> None:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def star(db: Db, note_id: str, stars: int) -> Any:
            if stars == 4:
                raise KeyError("planted")
            return fn(db, note_id, stars)
        return star

    result = gate(with_tool(notes_class, "star", wrap), ["star"])
    failure = next(f for f in result.failures if f.property == "never_raises")
    # shrunk to the one call that matters, on an existing note, from the seed state
    call = failure.calls[-1]
    assert call == {"tool": "star", "args": {"note_id": call["args"]["note_id"], "stars": 4}}
    text = failure.render()
    assert "expected: the call returns a result" in text and 'star {"note_id":' in text
    assert json.loads(json.dumps(failure.to_json()))["property"] == "never_raises"


def test_cli_exits_1_and_lists_the_failure(notes_out: Path, tmp_path: Path) -> None:
    import shutil

    pkg = tmp_path / "notes"
    shutil.copytree(notes_out / "notes", pkg)
    tools_py = pkg / "tools.py"
    src = tools_py.read_text()
    src = src.replace("return len(a['notes'])", "return len(a['notes']) / 0", 1)
    assert "/ 0" in src
    tools_py.write_text(src)
    code, out, _ = run_cli("test", str(pkg), "--examples", "5", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["failures"] >= 1
    assert {f["property"] for f in report["failures_detail"]} == {"never_raises"}
    assert all(f["calls"][-1]["tool"] == "count_notes" for f in report["failures_detail"])


def test_a_spec_that_does_not_compile_is_a_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text('domain bad "x"\nread tool t() -> int { return "no" }\n')
    report = run_gate([str(bad)], FAST)
    assert [f.property for f in report.failures] == ["compiles"]
    assert "error E" in report.failures[0].actual


# ---- the small JSON Schema validator the schema agreement relies on -----------------------------
@pytest.mark.parametrize("value, schema, ok", [
    (1, {"type": "integer"}, True),
    (True, {"type": "integer"}, False),
    (1.5, {"type": "integer"}, False),
    (1, {"type": "number"}, True),
    (None, {"type": ["string", "null"]}, True),
    ("b01", {"type": "string", "pattern": "^b[0-9]{3}$"}, False),
    ("ab", {"type": "string", "minLength": 3}, False),
    (6, {"type": "integer", "maximum": 5}, False),
    ("red", {"type": "string", "enum": ["red"]}, True),
    (1, {"enum": [True]}, False),
    ({"a": 1}, {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
                "additionalProperties": False}, True),
    ({"a": 1, "b": 2}, {"type": "object", "properties": {"a": {}}, "additionalProperties": False}, False),
    ({}, {"type": "object", "properties": {"a": {}}, "required": ["a"]}, False),
    ([1, "x"], {"type": "array", "items": {"type": "integer"}}, False),
    ({"k": "x"}, {"anyOf": [{"type": "object", "properties": {"k": {"enum": ["y"]}}}, {"type": "null"}]}, False),
    ({"red": 1}, {"type": "object", "propertyNames": {"enum": ["red", "blue"]}}, True),
    ({"pink": 1}, {"type": "object", "propertyNames": {"enum": ["red", "blue"]}}, False),
])
def test_schema_check(value: Any, schema: dict[str, Any], ok: bool) -> None:
    assert (schema_problems(value, schema) == []) is ok
