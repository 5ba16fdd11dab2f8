"""One episode of a task on an environment: its initial state, the user's opening, the calls made.

Shared by the TRL, verifiers and MCP adapters so that all three start tasks, record calls and score
them the same way.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from envdsl.integrations.scoring import Score, score_episode
from envdsl.tasks.goals import first_person
from envdsl.tasks.initial import reset_to_initial


class StaleTask(ValueError):
    """The environment's initial state for a task differs from the one the task was sampled on."""


def agent_tools(env_cls: Any) -> list[dict[str, Any]]:
    """The IR of the tools an agent may call, in declaration order (deterministic)."""
    return [t for t in env_cls.ir()["tools"] if t.get("actor", "agent") == "agent" and t["name"] in env_cls.TOOLS]


def tasks_by_domain(tasks: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        out.setdefault(task["domain"], []).append(task)
    return out


def opening(task: dict[str, Any]) -> str:
    """What the user says first: the goal in the first person (the convention of envdsl's scripted
    user) followed by the facts the user knows. In a one-turn RL episode nobody answers the agent's
    questions, so the facts are stated up front."""
    text = re.sub(r"\s*You know your .*$", "", str(task.get("goal", "")).strip())
    text = first_person(text)  # every opener the template goals use (envdsl/tasks/goals.py)
    facts = [f"my {f['param'].replace('_', ' ')} is {_say(f['value'])}" for f in task.get("user_facts", [])]
    if facts:
        text += (" " if text else "") + "For reference: " + "; ".join(facts) + "."
    return "Hi! " + text


def _say(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def system_prompt(env_cls: Any) -> str:
    """The same system prompt envdsl's rollouts use: the domain, then its policy."""
    policy = (env_cls.POLICY or "").strip()
    head = f"You are a helpful assistant for the {env_cls.DOMAIN} domain"
    head += f" ({env_cls.DESCRIPTION})." if env_cls.DESCRIPTION else "."
    return head + " Use the tools to act; follow the policy.\n\n# Policy\n" + (policy or "(none)")


class Episode:
    """An environment instance, the task it plays (None for a free episode on a seed) and the calls made."""

    def __init__(self, env: Any):
        self.env = env
        self.task: dict[str, Any] | None = None
        self.calls: list[dict[str, Any]] = []

    def start(self, task: dict[str, Any]) -> None:
        """Put the task's initial state in place; StaleTask if it is not the state the task was sampled on."""
        if task.get("domain") != type(self.env).DOMAIN:
            raise ValueError(f"task {task.get('task_id')!r} is for domain {task.get('domain')!r}, "
                             f"not {type(self.env).DOMAIN!r}")
        initial = task.get("initial") or {"kind": "seed"}
        reset_to_initial(self.env, initial)  # a generated state made again as the sampler made it
        if task.get("initial_state_hash") and self.env.state_hash() != task["initial_state_hash"]:
            raise StaleTask(f"task {task.get('task_id')!r}: the initial state differs from the one it was sampled on "
                            "(the spec or its seed changed since); sample the tasks again")
        for i, action in enumerate(task.get("init_actions") or []):  # a two-actor task's set-up (docs/tasks.md)
            result = self.env.call(action["name"], action.get("arguments") or {}, actor=action.get("actor", "env"))
            if not result.ok:
                raise StaleTask(f"task {task.get('task_id')!r}: initialisation action {i} ({action['name']}) failed: "
                                f"{result.content}")
        self.task = task
        self.calls = []

    def start_free(self, seed: int | None = None) -> None:
        """No task: the seed state, or a state generated from `seed`."""
        self.env.reset(seed=seed) if seed is not None else self.env.reset()
        self.task = None
        self.calls = []

    def call(self, name: str, arguments: Any) -> Any:
        result = self.env.call(name, arguments)
        self.calls.append({"name": name, "arguments": arguments, "ok": result.ok})
        return result

    def score(self) -> Score:
        if self.task is None:
            raise ValueError("this episode plays no task, so there is nothing to score it against")
        return score_episode(self.env, self.task, self.calls)
