"""Run identity: what made a rollout folder, so a rerun resumes only the same run.

`OUT/run.json` records the agent, the user, the model settings, the filters' inputs that change what a
conversation is, the checksum of the tasks played and the envdsl version. A rerun into OUT compares its
own identity with the recorded one: equal, it skips the finished conversations; different (another agent,
other tasks, other sampling parameters) it is refused, since mixing the two would score one agent's
conversations under another's name. Trial counts and worker settings are not identity: a rerun with more
trials extends a run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from envdsl import __version__
from envdsl.tasks.io import dumps_jsonl, write_json

RUN_FILE = "run.json"
IDENTITY_KEYS = ("agent", "user", "base_url", "temperature", "max_tokens", "max_turns", "tasks_sha256",
                 "envdsl_version")


class RunMismatch(ValueError):
    """OUT holds another run's work (or something that is not a run at all)."""


def tasks_checksum(tasks: list[dict[str, Any]]) -> str:
    """sha256 of the tasks as JSONL with their spec locations left out: where a spec lies is not what a
    task is (moving a tasks file must not change it), and the task's initial state hash pins the spec."""
    return hashlib.sha256(dumps_jsonl({k: v for k, v in t.items() if k != "spec"} for t in tasks)
                          .encode("utf-8")).hexdigest()


def run_identity(cfg: Any, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    llm = any(r.startswith(("openai:", "hf:")) for r in (cfg.agent, cfg.user))
    return {"agent": cfg.agent, "user": cfg.user,
            # the server only matters when one is used; a key is never written down
            "base_url": cfg.base_url if llm else None,
            "temperature": cfg.temperature, "max_tokens": cfg.max_tokens, "max_turns": cfg.max_turns,
            "tasks_sha256": tasks_checksum(tasks), "envdsl_version": __version__}


def claim_run_folder(out: Path, identity: dict[str, Any]) -> bool:
    """Make `out` this run's folder or check that it is: True when resuming. Raises RunMismatch otherwise."""
    record = out / RUN_FILE
    fresh = f"start fresh with another -o folder, or delete {out.as_posix()}/ first"
    if record.is_file():
        try:
            recorded = json.loads(record.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise RunMismatch(f"{record.as_posix()} is not readable JSON; {fresh}") from None
        if not isinstance(recorded, dict):
            raise RunMismatch(f"{record.as_posix()} is not a run record; {fresh}")
        differs = [f"{k}: this run {identity.get(k)!r}, the folder's {recorded.get(k)!r}"
                   for k in IDENTITY_KEYS if recorded.get(k) != identity.get(k)]
        if differs:
            raise RunMismatch(f"{out.as_posix()}/ holds another run ({'; '.join(differs)}); refusing to resume "
                              f"into it, which would mix the two runs' conversations. To {fresh}")
        return True
    if out.exists() and any(out.iterdir()):
        raise RunMismatch(f"{out.as_posix()}/ is not empty and was not made by `envdsl rollout` or `envdsl eval` "
                          f"(no {RUN_FILE}); refusing to write into it. To {fresh}")
    write_json(record, identity)
    return False


def read_run(out: Path) -> dict[str, Any]:
    """The identity of a finished run folder ({} for folders written before run.json existed)."""
    try:
        data = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
