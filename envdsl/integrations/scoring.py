"""How an episode is scored: the final state against the task's gold, as the rollout filters judge it.

A task is solved when the final state hash equals the task's gold state hash and, for read-only tasks
(whose gold state is the initial state, so the state alone says nothing), the agent's successful calls
contain the gold successful calls in order (AgentScaler's rule; `envdsl.rollout.filters` applies the
same one to conversations).

Extension point: `EXTRA_CHECKS` holds further checks, each `check(env, task, calls) -> list[str]` of
problems (empty = passed). Policy rules (issue 12: identify the user first, confirm before a write)
plug in here, so that TRL, verifiers and MCP all score with them without changes to the adapters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

Check = Callable[[Any, dict[str, Any], list[dict[str, Any]]], list[str]]
EXTRA_CHECKS: list[Check] = []


@dataclass(frozen=True)
class Score:
    reward: float  # 1.0 solved, 0.0 not
    state_ok: bool
    calls_ok: bool
    problems: list[str] = field(default_factory=list)


def tool_defaults(env_cls: Any) -> dict[str, dict[str, Any]]:
    return {name: {p["name"]: p["default"] for p in spec.params if "default" in p}
            for name, spec in env_cls.TOOLS.items()}


def _canonical(name: str, arguments: Any, defaults: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return name, json.dumps({**defaults.get(name, {}), **arguments}, sort_keys=True)


def gold_calls_made(env_cls: Any, task: dict[str, Any], calls: list[dict[str, Any]]) -> bool:
    """The task's successful gold calls are an ordered subsequence of the successful calls made."""
    defaults = tool_defaults(env_cls)
    gold = [_canonical(c["name"], c["arguments"], defaults) for c in task.get("gold_calls", []) if c.get("ok")]
    made = [_canonical(c["name"], c["arguments"], defaults) for c in calls if c.get("ok")]
    it = iter(made)
    return all(any(g == m for m in it) for g in gold)


def score_episode(env: Any, task: dict[str, Any], calls: list[dict[str, Any]],
                  checks: list[Check] | None = None) -> Score:
    """Score the environment's current state and the calls made (name, arguments, ok) against `task`."""
    state_ok = env.state_hash() == task["gold_state_hash"]
    calls_ok = gold_calls_made(type(env), task, calls) if task.get("read_only") else True
    problems = [] if state_ok else ["state_mismatch"]
    if not calls_ok:
        problems.append("calls_mismatch")
    for check in EXTRA_CHECKS if checks is None else checks:
        problems.extend(check(env, task, calls))
    return Score(1.0 if not problems else 0.0, state_ok, calls_ok, problems)
