"""The user's goal for a task: from templates (offline, deterministic) or written by an LLM."""

from __future__ import annotations

import json
import re
from typing import Any


def _phrase(description: str, name: str) -> str:
    """A tool's description as a verb phrase: its first sentence, first letter lowered, no full stop."""
    first = re.split(r"(?<=[.!?])\s", " ".join(description.split()), maxsplit=1)[0].rstrip(".!? ")
    if not first:
        return name.replace("_", " ")
    return first[0].lower() + first[1:]


def template_goal(task: dict[str, Any], ir: dict[str, Any]) -> str:
    tools = {t["name"]: t for t in ir["tools"]}
    steps: list[str] = []
    for call in task["gold_calls"]:
        if not call["ok"]:
            continue
        phrase = _phrase(tools[call["name"]].get("description", ""), call["name"])
        if tools[call["name"]]["effect"] == "read":
            phrase = f"find out the result of: {phrase}" if not phrase.startswith(("get", "find", "list", "look",
                                                                                    "search", "show", "check")) \
                else phrase
        if phrase not in steps:  # the same kind of step twice is said once: a goal, not a call log
            steps.append(phrase)
    what = "; then ".join(steps)
    knows = ", ".join(sorted({f["param"].replace("_", " ") for f in task["user_facts"]}))
    goal = f"You want to {what}."
    if knows:
        goal += f" You know your {knows} and give them when asked."
    return goal


GOAL_PROMPT = """You write the goal of a simulated customer for a tool-using assistant.
The assistant will have to make these tool calls (do not name the tools):
{calls}
The customer knows these facts (mention what they want, not every value):
{facts}
Write the customer's goal in the second person ("You want to ..."), one to three sentences, plain text."""


def llm_goal_writer(backend: Any) -> Any:
    """A goal writer for TaskSampler that asks `backend` (see envdsl.llm) and falls back on failure."""

    def write(task: dict[str, Any], ir: dict[str, Any]) -> str:
        calls = "\n".join(f"- {c['name']}({c['arguments']})" + ("" if c["ok"] else " -> fails")
                          for c in task["gold_calls"])
        facts = "\n".join(f"- {f['param']}: {json.dumps(f['value'])}" for f in task["user_facts"]) or "- none"
        reply = backend.chat([{"role": "user", "content": GOAL_PROMPT.format(calls=calls, facts=facts)}],
                             temperature=0)
        text = " ".join((reply.get("content") or "").split())
        if not text:
            raise ValueError("empty goal")
        return text

    return write


class CountingGoalWriter:
    """Wraps a goal writer to count what it wrote and how often the sampler fell back to a template goal
    (the sampler swallows a writer's errors), so `envdsl tasks --llm` can say so. Once the backend is
    unavailable (BackendUnavailable: down, bad key, no such model) it stops asking: every later call
    would fail the same way, after the same retries."""

    def __init__(self, write: Any):
        self.write = write
        self.written = 0
        self.fallbacks = 0
        self.first_error: str | None = None
        self.unavailable: str | None = None

    def __call__(self, task: dict[str, Any], ir: dict[str, Any]) -> str:
        from envdsl.llm.base import BackendUnavailable

        if self.unavailable is not None:
            self.fallbacks += 1
            raise RuntimeError(self.unavailable)
        try:
            goal = self.write(task, ir)
        except BackendUnavailable as e:
            self.unavailable = str(e)
            self._failed(e)
            raise
        except Exception as e:
            self._failed(e)
            raise
        self.written += 1
        return str(goal)

    def _failed(self, e: Exception) -> None:
        self.fallbacks += 1
        if self.first_error is None:
            self.first_error = f"{type(e).__name__}: {e}"[:300]
