"""Spec text is data, never code: strings that look like Python, Jinja or escapes compile to
code that returns them verbatim, and neither compiling nor running executes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from testkit import env_class_from_text


def spec_str(s: str) -> str:
    """A Python string as a spec string literal (the spec language's escapes)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def payloads(marker: Path) -> list[str]:
    m = marker.as_posix()
    return [
        f"__import__('os').system('touch {m}')",
        f"'); __import__('os').system('touch {m}'); ('",
        f'"); __import__("os").system("touch {m}"); ("',
        f'"""; __import__("os").system("touch {m}"); """',
        f"'''; __import__('os').system('touch {m}'); '''",
        "back\\slash \\n not a newline \\\\ and \\x41",
        "a real\nnewline and a\ttab",
        "{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %} {# comment #}",
        "{{ cycler.__init__.__globals__.os.system('touch " + m + "') }}",
        "ends with a quote\"",
        "ends with a backslash\\",
        "{} {0} %s %(x)s {x!r}",
        "\u00e9\u4e2d\U0001f600 unicode",
    ]


@pytest.fixture
def evil(tmp_path: Path) -> tuple[Any, list[str], Path]:
    marker = tmp_path / "MARKER"
    ps = payloads(marker)
    lits = [spec_str(p) for p in ps]
    members = ", ".join(lits[:4])
    spec = f"""
        domain evil {lits[9]}
        policy {lits[8]}
        const TEXT: str = {lits[0]}
        const TEXTS: list<str> = [{", ".join(lits)}]
        enum Kind {{ {members} }}
        record Note {lits[3]} {{
          note_id: str {lits[9]}
          body: str @examples({lits[7]}) = {lits[1]} {lits[10]}
          kind: Kind = {lits[2]}
          tags: list<str> = []
        }}
        state {{ notes: collection<Note> by note_id {lits[4]} }}
        invariant {lits[5]}: len(notes) >= 0
        read tool echo(text: str = {lits[6]} {lits[3]}) -> list<str>
          {lits[9]}
        {{
          return TEXTS + [TEXT, text, FSTRING]
        }}
        write tool add(note_id: str {lits[10]}) -> Note {lits[8]} {{
          let n = Note(note_id=note_id)
          insert notes[note_id] = n
          require note_id != {lits[1]} else {lits[2]}
          return n
        }}
        read tool kinds() -> list<str> {{ return [k for k in [{members}]] }}
    """
    # {{ and }} are literal braces in an f-string; the interpolated value is not re-read as a template
    spec = spec.replace("FSTRING", 'f"{{jinja}} %}} {TEXT}"')
    cls = env_class_from_text(spec, tmp_path / "spec", name="evil")
    return cls, ps, marker


def test_strings_come_back_verbatim_and_nothing_runs(evil: tuple[Any, list[str], Path]) -> None:
    cls, ps, marker = evil
    env = cls()
    r = env.call("echo", {})
    assert r.ok, r.content
    f_part = "{jinja} %} " + ps[0]
    assert r.value == ps + [ps[0], ps[6], f_part]
    r = env.call("echo", {"text": ps[3]})
    assert r.value[-2] == ps[3]
    assert env.call("kinds").value == ps[:4]
    r = env.call("add", {"note_id": "n1"})
    assert r.ok and r.value == {"note_id": "n1", "body": ps[1], "kind": ps[2], "tags": []}
    r = env.call("add", {"note_id": ps[1]})  # the require fails with the spec's message, verbatim
    assert (r.ok, r.content) == (False, "Error: " + ps[2])
    assert env.invariant_failures() == []
    assert not marker.exists()


def test_descriptions_and_policy_are_exact(evil: tuple[Any, list[str], Path]) -> None:
    cls, ps, marker = evil
    assert cls.DESCRIPTION == ps[9]
    assert cls.POLICY == ps[8]
    schemas = {s["function"]["name"]: s["function"] for s in cls().tool_schemas()}
    assert schemas["echo"]["description"] == ps[9]
    assert schemas["echo"]["parameters"]["properties"]["text"]["description"] == ps[3]
    assert schemas["echo"]["parameters"]["properties"]["text"]["default"] == ps[6]
    assert schemas["add"]["description"] == ps[8]
    assert cls.INVARIANTS[0][0] == ps[5]
    assert not marker.exists()


def test_generated_sources_hold_no_raw_payload(evil: tuple[Any, list[str], Path]) -> None:
    cls, ps, marker = evil
    pkg = Path(cls.module_dir())
    # every .py file still parses (nothing broke out of a string), and json files round-trip the strings
    import ast

    for py in pkg.glob("*.py"):
        ast.parse(py.read_text(encoding="utf-8"))
    tools_json = json.loads((pkg / "tools.json").read_text(encoding="utf-8"))
    assert tools_json[0]["function"]["description"] == ps[9]
    # pydantic models accept the payload values as data
    import importlib

    models = importlib.import_module(cls.__module__.rsplit(".", 1)[0] + ".models")
    note = models.Note(note_id="x")
    assert note.body == ps[1] and note.kind == ps[2]
    assert not marker.exists()


def test_compiling_runs_no_spec_text(tmp_path: Path) -> None:
    """Even spec text in positions a careless compiler might evaluate (constants, defaults,
    annotation arguments, seed values) is never run."""
    marker = tmp_path / "MARKER2"
    call = f"__import__('os').system('touch {marker.as_posix()}')"
    seed = json.dumps({"items": {call: {"item_id": call, "n": 1}}})
    spec = f"""
        domain inert "x"
        seed "inert.seed.json"
        const C: str = {spec_str(call)}
        record Item {{ item_id: str @pattern({spec_str('^.*$')}) @examples({spec_str(call)})  n: int = 1 }}
        state {{ items: collection<Item> by item_id }}
        read tool get(item_id: str = {spec_str(call)}) -> Item {{
          return items[item_id] ?? fail C
        }}
    """
    cls = env_class_from_text(spec, tmp_path / "spec", name="inert", seed=seed)
    env = cls()
    assert env.call("get", {}).value == {"item_id": call, "n": 1}
    assert env.call("get", {"item_id": "nope"}).content == "Error: " + call
    assert not marker.exists()
