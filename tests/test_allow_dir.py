"""--allow-dir on every command that compiles a spec (issue 10): seed and policy files must lie in the
spec's folder or a folder given on the command line; before, only compile and check took the flag and
the other commands needed $ENVDSL_ALLOW_DIRS."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from testkit import REPO, run_cli

from envdsl.cli import main
from envdsl.compiler import ALLOW_DIRS_ENV

SHARED_DATA = REPO.parent / "shared" / "data"
RETAIL = "specs/tau2/retail.env"
COMPILING = ["compile", "check", "call", "test", "tasks", "rollout", "eval", "replay", "serve", "report"]


@pytest.fixture
def no_allow_env(monkeypatch: pytest.MonkeyPatch, in_repo: Path) -> Path:
    monkeypatch.delenv(ALLOW_DIRS_ENV, raising=False)  # conftest sets it for the rest of the suite
    return in_repo


def test_every_command_that_compiles_a_spec_takes_allow_dir() -> None:
    for name in COMPILING:
        params = {o for p in main.commands[name].params for o in p.opts}
        assert "--allow-dir" in params, name


@pytest.mark.skipif(not (SHARED_DATA / "tau2" / "retail" / "db.json").is_file(), reason="needs ../shared/data")
def test_call_retail_with_allow_dir_and_without(no_allow_env: Path) -> None:
    args = ["call", RETAIL, "find_user_id_by_email", '{"email": "noah.brown7922@example.com"}']
    code, out, err = run_cli(*args)
    assert code == 1 and "E0701" in err and out == ""
    code, out, err = run_cli(*args, "--allow-dir", "../shared/data")
    assert (code, out.strip()) == (0, "noah_brown_6181"), err
    assert ALLOW_DIRS_ENV not in os.environ  # the command's folders do not outlive it


def _spec_with_seed_elsewhere(root: Path) -> Path:
    """A spec whose seed lies in a sibling folder: E0701 unless that folder is allowed."""
    (root / "data").mkdir(parents=True)
    (root / "data" / "seed.json").write_text('{"items": {"a": {"item_id": "a", "n": 2}}}', encoding="utf-8")
    (root / "spec").mkdir()
    spec = root / "spec" / "inv.env"
    spec.write_text(textwrap.dedent('''\
        domain inv
        record Item { item_id: str  n: int }
        state { items: collection<Item> by item_id }
        seed "../data/seed.json"
        read tool stock(item_id: str) -> int { return (items[item_id] ?? fail "no such item").n }
        '''), encoding="utf-8")
    return spec


@pytest.mark.parametrize("args", [
    ["check", "{spec}"],
    ["compile", "{spec}", "-o", "{out}/gen"],
    ["call", "{spec}", "stock", '{{"item_id": "a"}}'],
    ["test", "{spec}", "--examples", "1"],
    ["tasks", "{spec}", "-n", "1", "-o", "{out}/tasks.jsonl"],
])
def test_each_command_reads_allow_dir(args: list[str], no_allow_env: Path, tmp_path: Path) -> None:
    spec = _spec_with_seed_elsewhere(tmp_path / "w")
    argv = [a.format(spec=spec, out=tmp_path) for a in args]
    code, out, err = run_cli(*argv)
    assert code == 1 and "E0701" in out + err, (out, err)
    code, out, err = run_cli(*argv, "--allow-dir", str(tmp_path / "w" / "data"))
    assert code == 0, (out, err)
    assert "E0701" not in out + err
    if args[0] == "call":
        assert json.loads(out) == 2
    assert ALLOW_DIRS_ENV not in os.environ


def test_allow_dir_adds_to_the_variable(monkeypatch: pytest.MonkeyPatch, in_repo: Path, tmp_path: Path) -> None:
    spec = _spec_with_seed_elsewhere(tmp_path / "w")
    monkeypatch.setenv(ALLOW_DIRS_ENV, str(tmp_path / "elsewhere"))
    code, out, err = run_cli("check", str(spec), "--allow-dir", str(tmp_path / "w" / "data"))
    assert code == 0, err
    assert os.environ[ALLOW_DIRS_ENV] == str(tmp_path / "elsewhere")  # restored as it was


def test_allow_dir_must_be_a_folder(no_allow_env: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("check", RETAIL, "--allow-dir", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
