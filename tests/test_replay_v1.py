"""`envdsl replay --v1`: tau-bench (v1) task files, v1's own data hash, and replay refusing to count what
it cannot compare. The reference hashes in tests/fixtures/taubench_v1/reference.json were computed by
v1's own code (see the README there), so these tests compare envdsl with v1, not with itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from testkit import REPO, run_cli

from envdsl.replay_v1 import V1FormatError, read_v1_data, read_v1_reference, read_v1_tasks, replay_v1, v1_data_hash
from envdsl.session import environment_from_spec

FIX = REPO / "tests" / "fixtures" / "taubench_v1"
SPEC = REPO / "specs" / "taubench_v1" / "airline.env"
TAU2 = REPO.parent / "shared" / "data" / "tau2" / "airline"
V1_ARGS = ["--v1", str(FIX / "tasks_sample.py"), "--v1-reference", str(FIX / "reference.json")]


@pytest.fixture(scope="module")
def env() -> Any:
    return environment_from_spec(SPEC)


def _data() -> dict[str, Any]:
    return read_v1_data(FIX / "data", ["flights", "reservations", "users"])


def test_v1_hash_of_the_data_is_v1s_own() -> None:
    reference = read_v1_reference(FIX / "reference.json")
    assert v1_data_hash(_data()) == reference["initial_data_hash"]


def test_v1_hash_sees_absent_null_and_number_types_but_not_key_order() -> None:
    data = _data()
    h = v1_data_hash(data)
    data["reservations"]["QX7P2A"]["status"] = None  # present and null is not absent
    assert v1_data_hash(data) != h
    data = _data()
    data["users"]["ada_byron_1815"]["payment_methods"]["certificate_1000003"]["amount"] = 150.0
    assert v1_data_hash(data) != h  # 150.0 is not 150
    data = _data()
    data["users"] = dict(reversed(list(data["users"].items())))
    assert v1_data_hash(data) == h


def test_the_spec_seed_is_v1s_layout(env: Any) -> None:
    """The spec's seed is the fixture's data: keyed users without user_id, no status until cancelled."""
    assert env.db.data == _data()
    assert "status" not in env.db.data["reservations"]["QX7P2A"]
    assert "user_id" not in env.db.data["users"]["ada_byron_1815"]


def test_replay_matches_v1s_hashes(env: Any) -> None:
    tasks = read_v1_tasks(FIX / "tasks_sample.py")
    assert [len(t["actions"]) for t in tasks] == [2, 3, 2]
    report = replay_v1(env, tasks, read_v1_reference(FIX / "reference.json"))
    assert (report.comparison, report.tasks, report.db_match, report.initial_db_match) == ("v1 hash", 3, 3, True)
    assert report.outputs_total == 6  # transfer_to_human_agents ends a v1 task: not replayed, as in v1
    assert env.db.data == _data()  # each task's writes are undone


def test_a_wrong_reference_hash_is_a_mismatch(env: Any, tmp_path: Path) -> None:
    ref = read_v1_reference(FIX / "reference.json")
    ref["tasks"][1]["data_hash"] = "0" * 64
    report = replay_v1(env, read_v1_tasks(FIX / "tasks_sample.py"), ref)
    assert report.db_match == 2 and [m.task_id for m in report.mismatches] == ["1"]


def test_cli_json_says_which_comparison() -> None:
    code, out, err = run_cli("replay", str(SPEC), *V1_ARGS, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["comparison"], report["mode"], report["db_match"], report["tasks"]) == ("v1 hash", "v1", 3, 3)
    code, out, _ = run_cli("replay", str(SPEC), *V1_ARGS)
    assert code == 0 and "compared by v1 hash" in out


def test_cli_v1_data_folder_replaces_the_seed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIX / "data", data)
    code, out, err = run_cli("replay", str(SPEC), *V1_ARGS, "--v1-data", str(data), "--json")
    assert code == 0 and json.loads(out)["db_match"] == 3, err
    users = json.loads((data / "users.json").read_text())
    users["ada_byron_1815"]["membership"] = "silver"  # other data: v1's hashes no longer hold
    (data / "users.json").write_text(json.dumps(users))
    code, out, _ = run_cli("replay", str(SPEC), *V1_ARGS, "--v1-data", str(data), "--json")
    report = json.loads(out)
    assert code != 0 and report["initial_db_match"] is False and report["db_match"] == 0


@pytest.mark.parametrize("args, words", [
    (["--v1", str(FIX / "tasks_sample.py")], "no reference"),
    (["--v1-reference", str(FIX / "reference.json")], "give the v1 task file"),
    ([*V1_ARGS, "--full"], "v1 replay compares v1's data hash only"),
    (["--tasks", str(FIX)], "tau-bench (v1) task files"),
    ([], "give --tasks DIR"),
])
def test_cli_refuses_what_it_cannot_compare(args: list[str], words: str) -> None:
    code, out, err = run_cli("replay", str(SPEC), *args)
    assert code != 0 and out == ""
    assert "replay refused" in err and words in err


def test_cli_refuses_a_reference_that_does_not_cover_the_tasks(tmp_path: Path) -> None:
    ref = json.loads((FIX / "reference.json").read_text())
    ref["tasks"] = ref["tasks"][:2]
    (tmp_path / "ref.json").write_text(json.dumps(ref))
    code, out, err = run_cli("replay", str(SPEC), "--v1", str(FIX / "tasks_sample.py"),
                             "--v1-reference", str(tmp_path / "ref.json"))
    assert code != 0 and out == "" and "1 of 3 tasks have no entry" in err


def test_task_files_are_read_not_run(tmp_path: Path) -> None:
    bad = tmp_path / "tasks_sample.py"
    bad.write_text("import os\nTASKS = [\n    Task(user_id='u', actions=[Action(name='x', kwargs=os.environ)],"
                   " instruction='', outputs=[]),\n]\n")
    with pytest.raises(V1FormatError, match=r"tasks_sample.py:3: only literal values"):
        read_v1_tasks(bad)
    bad.write_text("x = 1\n")
    with pytest.raises(V1FormatError, match="no `TASKS = \\[...\\]`"):
        read_v1_tasks(bad)
    old_style = tmp_path / "tasks.py"  # v1's older file: a list of dicts
    old_style.write_text("tasks = [{'user_id': 'u', 'actions': [{'name': 'think', 'arguments': {'thought': 'a'}}]}]\n")
    assert read_v1_tasks(old_style) == [{"index": 0, "user_id": "u",
                                         "actions": [{"name": "think", "arguments": {"thought": "a"}}]}]


def _tau2_folder(tmp_path: Path, drop: str | None = None, tasks: int | None = None) -> Path:
    d = tmp_path / "tau2"
    d.mkdir()
    all_tasks = json.loads((TAU2 / "tasks.json").read_text())
    gold = json.loads((TAU2 / "gold_replay.json").read_text())
    chosen = all_tasks[:3]
    gold["tasks"] = [t for t in gold["tasks"] if t["task_id"] in {c["id"] for c in chosen}][:tasks]
    if drop:
        for t in gold["tasks"]:
            t.pop(drop)
    (d / "tasks.json").write_text(json.dumps(chosen))
    (d / "gold_replay.json").write_text(json.dumps(gold))
    return d


TAU2_SPEC = REPO / "specs" / "tau2" / "airline.env"


def test_tau2_replay_names_its_comparison(tmp_path: Path) -> None:
    folder = _tau2_folder(tmp_path)
    for flag, comparison in (([], "entity deltas"), (["--full"], "whole-state hash")):
        code, out, err = run_cli("replay", str(TAU2_SPEC), "--tasks", str(folder), "--json", *flag)
        assert code == 0, err
        report = json.loads(out)
        assert (report["comparison"], report["db_match"], report["tasks"]) == (comparison, 3, 3)


@pytest.mark.parametrize("drop, flag, words", [
    ("delta_agent", [], "entity deltas comparison reads `delta_agent`"),
    ("db_hash", ["--full"], "whole-state hash comparison reads `db_hash`"),
    (None, [], "1 of 3 tasks have no entry in gold_replay.json"),
])
def test_tau2_replay_refuses_what_it_cannot_compare(tmp_path: Path, drop: str | None, flag: list[str],
                                                   words: str) -> None:
    folder = _tau2_folder(tmp_path, drop, tasks=None if drop else 2)
    code, out, err = run_cli("replay", str(TAU2_SPEC), "--tasks", str(folder), *flag)
    assert code != 0 and out == "" and words in err, err
