"""Issue 15: a str turned into an enum member fails like a lookup; functions and tools with no result
return nothing, and such a tool's output is the empty string (runtime NO_RESULT_OUTPUT)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from testkit import REPO, compile_to, env_class_from_text

from envdsl.proptest.properties import output_problems
from envdsl.runtime.environment import NO_RESULT_OUTPUT
from envdsl.runtime.loader import load_environment_class

EXAMPLE = REPO / "docs" / "examples" / "loans" / "loans.env"  # the worked example of docs/language.md


@pytest.fixture
def env() -> Any:
    return load_environment_class(compile_to(EXAMPLE) / "loans")()


def test_enum_conversion_accepts_members_and_fails_like_a_lookup(env: Any) -> None:
    r = env.call("set_status", {"loan_id": "L1", "status": "returned"})
    assert (r.ok, r.content) == (True, "returned")
    assert env.state()["loans"]["L1"]["status"] == "returned"
    before = env.state_hash()
    r = env.call("set_status", {"loan_id": "L1", "status": "lost'); import os #"})
    assert not r.ok and not r.internal_error
    assert r.content == "Error: \"lost'); import os #\" is not a Status; one of: 'open', 'returned'"
    assert env.state_hash() == before


def test_a_failed_conversion_rolls_back_earlier_writes(tmp_path: Path) -> None:
    cls = env_class_from_text('''
        domain conv
        enum Size { small, large }
        state { picks: list<str> = [] }
        write tool pick(size: str) -> Size "Record a pick, then convert it." {
          append size to picks
          return Size(size)
        }
    ''', tmp_path)
    env = cls()
    assert env.call("pick", {"size": "large"}).content == "large"
    r = env.call("pick", {"size": "huge"})
    assert r.content == "Error: 'huge' is not a Size; one of: 'small', 'large'"
    assert env.state()["picks"] == ["large"]


def test_a_tool_with_no_result_outputs_nothing(env: Any) -> None:
    r = env.call("note", {"text": "shelf 3 is wobbly"})
    assert (r.ok, r.content) == (True, NO_RESULT_OUTPUT) and NO_RESULT_OUTPUT == ""
    assert list(env.state()["notes"].values()) == [{"note_id": "n0001", "text": "shelf 3 is wobbly"}]
    r = env.call("note", {"text": ""})  # the helper returns early with a bare `return`
    assert (r.ok, r.content) == (True, "")
    assert len(env.state()["notes"]) == 1
    assert type(env).TOOLS["note"].returns == {"k": "none"}
    assert output_problems("", {"k": "none"}, env.schema()) == []
    assert output_problems("null", {"k": "none"}, env.schema()) != []


def test_null_of_an_optional_result_still_shows_null(tmp_path: Path) -> None:
    cls = env_class_from_text('''
        domain opt
        read tool maybe() -> str? "Nothing found." { return null }
        write tool quiet() "Nothing to say." { }
    ''', tmp_path)
    env = cls()
    assert env.call("maybe", {}).content == "null"
    assert env.call("quiet", {}).content == ""
    assert json.loads(json.dumps(env.tool_schemas()))[1]["function"]["name"] == "quiet"
