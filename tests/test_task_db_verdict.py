"""replay.final_db_matches: the DB check of one task (agent trajectory against gold actions, both run
now), compared only on the entities either run touched. Its verdict must be the one a comparison of the
two whole final databases gives, which is tau2-bench's evaluator's verdict (sha256 of both databases)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envdsl.replay import final_db_matches
from envdsl.runtime.loader import load_environment_class

ROOT = Path(__file__).resolve().parents[1]
TAU2 = ROOT.parent / "shared" / "data" / "tau2"


@pytest.fixture(scope="module", params=["retail", "airline"])
def domain(request: pytest.FixtureRequest) -> tuple[str, Any, list[dict[str, Any]]]:
    env = load_environment_class(ROOT / "generated" / f"tau2_{request.param}")()
    tasks = json.loads((TAU2 / request.param / "tasks.json").read_text(encoding="utf-8"))
    return request.param, env, tasks


def gold(task: dict[str, Any]) -> list[dict[str, Any]]:
    return (task.get("evaluation_criteria") or {}).get("actions") or []


def whole_db_hash_after(env: Any, calls: list[dict[str, Any]]) -> str:
    """The whole-database way: replay, hash everything in one pass, reset."""
    env.reset()
    for c in calls:
        env.call(c["name"], c.get("arguments") or {})
    h: str = env.full_state_hash()
    env.reset()
    return h


def writing_calls(env: Any, calls: list[dict[str, Any]]) -> list[int]:
    env.reset()
    out = []
    for i, c in enumerate(calls):
        mark = env.db.mark()
        env.call(c["name"], c.get("arguments") or {})
        if env.db.mark() > mark:
            out.append(i)
    env.reset()
    return out


def test_gold_passes_and_dropping_a_write_fails_on_every_task(domain: tuple[str, Any, Any]) -> None:
    name, env, tasks = domain
    initial = env.full_state_hash()
    failed_as_expected = 0
    for task in tasks:
        calls = gold(task)
        assert final_db_matches(env, calls, calls), task["id"]
        writes = writing_calls(env, calls)
        if not writes:
            continue
        perturbed = [c for i, c in enumerate(calls) if i != writes[-1]]
        expected = whole_db_hash_after(env, perturbed) == whole_db_hash_after(env, calls)
        assert final_db_matches(env, perturbed, calls) == expected, task["id"]
        failed_as_expected += not expected
        assert env.db.journal == [] and env.full_state_hash() == initial  # left in the initial state
    assert failed_as_expected >= {"retail": 90, "airline": 20}[name]


def test_changes_only_one_side_made_count(domain: tuple[str, Any, Any]) -> None:
    """An agent that does nothing fails a writing task (entities only the gold run touched are compared
    with their initial values); an agent that writes fails a task whose gold calls write nothing."""
    _, env, tasks = domain
    task = next(t for t in tasks if writing_calls(env, gold(t)))
    assert final_db_matches(env, [], gold(task)) is False
    calls = gold(task)
    reads_only = next(t for t in tasks if not writing_calls(env, gold(t)))
    assert final_db_matches(env, calls, gold(reads_only)) is False
    assert final_db_matches(env, [], gold(reads_only)) is True


def test_a_write_undone_by_a_later_one_matches(domain: tuple[str, Any, Any]) -> None:
    """Touched is not changed: an entity written and written back equals the gold one."""
    name, env, _ = domain
    user_id = next(iter(env.db.data["users"]))
    if name == "retail":
        address = dict(env.db.data["users"][user_id]["address"])
        there = {"name": "modify_user_address", "arguments": {
            "user_id": user_id, "address1": "1 Elsewhere", "address2": "", "city": "X", "state": "Y",
            "country": "USA", "zip": "00000"}}
        back = {"name": "modify_user_address", "arguments": {"user_id": user_id, **address}}
        assert final_db_matches(env, [there, back], []) is True
        assert final_db_matches(env, [there], []) is False
    else:
        send = {"name": "send_certificate", "arguments": {"user_id": user_id, "amount": 5}}
        assert final_db_matches(env, [send], [send]) is True
        assert final_db_matches(env, [send, send], [send]) is False


def test_a_trajectory_whose_outputs_do_not_replay_is_an_error(domain: tuple[str, Any, Any]) -> None:
    _, env, tasks = domain
    calls = gold(next(t for t in tasks if gold(t)))
    recorded = [dict(c, output=env.call(c["name"], c.get("arguments") or {}).content) for c in calls]
    env.reset()
    assert final_db_matches(env, recorded, calls) is True
    recorded[0] = dict(recorded[0], output=recorded[0]["output"] + "x")
    with pytest.raises(ValueError, match="replays to another output"):
        final_db_matches(env, recorded, calls)


def test_full_state_hash_is_the_incremental_hash(domain: tuple[str, Any, Any]) -> None:
    _, env, tasks = domain
    env.reset()
    for c in gold(tasks[0]):
        env.call(c["name"], c.get("arguments") or {})
    assert env.full_state_hash() == env.state_hash()
    env.reset()
    assert env.full_state_hash() == env.state_hash()


@pytest.mark.parametrize("with_orjson", [True, False])
def test_state_digest_tells_states_apart_as_canonical_json_does(with_orjson: bool,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from envdsl.runtime import digest

    if not with_orjson:
        monkeypatch.setattr(digest, "orjson", None)
    elif digest.orjson is None:
        pytest.fail("orjson (the `fast` extra) is not installed in this environment")
    d = digest.state_digest
    assert d({"a": 1, "b": [1, 2]}) == d({"b": [1, 2], "a": 1})  # key order does not count
    assert d({"a": 1}) != d({"a": 1.0})  # an int is not the float of the same value
    assert d({"a": 0.1 + 0.2}) != d({"a": 0.3})  # float artifacts count
    assert d({"a": [1, 2]}) != d({"a": [2, 1]})
    assert d({"a": None}) != d({"a": "null"}) != d({})
    assert d({"a": 2 ** 70}) != d({"a": 2 ** 70 + 1})  # beyond 64 bits: the standard encoder
    assert len(d({"a": "é"})) == 64


def test_state_digest_follows_the_state(domain: tuple[str, Any, Any]) -> None:
    from envdsl.runtime.digest import state_digest

    _, env, tasks = domain
    env.reset()
    initial = state_digest(env.db.data)
    calls = gold(next(t for t in tasks if writing_calls(env, gold(t))))
    for c in calls:
        env.call(c["name"], c.get("arguments") or {})
    after = state_digest(env.db.data)
    env.reset()
    assert after != initial and state_digest(env.db.data) == initial
