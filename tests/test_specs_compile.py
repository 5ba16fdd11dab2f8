"""Every spec under specs/ compiles cleanly, and every tool of every domain runs once on the seed
state without an internal error (a spec failure or a rejected argument is fine: a crash is not)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from testkit import REPO, compile_to

from envdsl.runtime.generate import GenerationError, _Generator
from envdsl.runtime.loader import load_environment_class

SPECS = sorted((REPO / "specs").rglob("*.env"))


def _arguments(cls: Any, state: dict[str, Any], tool: Any, rng: random.Random) -> dict[str, Any]:
    """Plausible arguments: keys that exist for references and for str parameters named like a
    collection's key field, generated values of the right type for the rest."""
    gen = _Generator(cls, rng)
    key_of = {}
    for f in cls.STATE_FIELDS:
        if f["kind"] == "collection":
            gen.keys[f["name"]] = list(state[f["name"]])
            key_of.setdefault(f["key"], f["name"])
    args: dict[str, Any] = {}
    for p in tool.params:
        if "default" in p:
            continue
        coll = key_of.get(p["name"])
        if coll and state[coll] and p["type"]["k"] in ("str", "int"):
            args[p["name"]] = next(iter(state[coll]))
            continue
        try:
            args[p["name"]] = gen.value(p["type"], p.get("constraints", {}), 0)
        except GenerationError:
            args[p["name"]] = None
    return args


@pytest.mark.parametrize("spec", SPECS, ids=[s.relative_to(REPO / "specs").as_posix() for s in SPECS])
def test_spec_compiles_and_every_tool_runs(spec: Path, tmp_path: Path) -> None:
    out = compile_to(spec, tmp_path)  # raises with the rendered diagnostics on any error
    domain = next(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    cls = load_environment_class(out / domain)
    env = cls()
    assert cls.state_errors(env.state()) == []
    assert env.invariant_failures() == []
    assert cls.TOOLS, f"{spec.name} has no tools"
    rng = random.Random(0)
    for name, tool in cls.TOOLS.items():
        env.reset()
        r = env.call(name, _arguments(cls, env.state(), tool, rng))
        assert not r.internal_error, f"{name}: {r.content}"
        assert r.content if r.ok else r.content.startswith("Error: ")


def test_there_are_specs() -> None:
    assert len(SPECS) >= 1
