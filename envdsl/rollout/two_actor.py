"""Conversations in two-actor domains: the task's set-up, the user's own tool calls, and its assertions.

A two-actor task (envdsl/tasks/two_actor.py) starts with `init_actions` (env fns run on the initial state),
expects the user to make `user_actions` when the agent asks, and is judged by `assertions` (env fns that
return bool) besides the final state. The agent sees only its own tools; the user's calls run through
`env.call_user` and the user tells the agent what happened in words, as a customer on the phone would.
"""

from __future__ import annotations

import json
import re
from typing import Any

from envdsl.rollout.speech import phrase

_STOPWORDS = {"the", "a", "an", "your", "my", "of", "on", "off", "or", "and", "to", "in", "it", "again"}


class InitialisationFailed(ValueError):
    """A task's set-up call failed: the task does not fit its spec (stale, or made for another one)."""


def run_init_actions(env: Any, task: dict[str, Any]) -> None:
    for i, action in enumerate(task.get("init_actions") or []):
        result = env.call(action["name"], action.get("arguments") or {}, actor=action.get("actor", "env"))
        if not result.ok:
            raise InitialisationFailed(f"{task.get('task_id')}: initialisation action {i} ({action['name']}) "
                                       f"failed: {result.content}")


def assertion_results(env: Any, task: dict[str, Any]) -> list[dict[str, Any]]:
    """Each assertion of the task on the current state: name, arguments, expect, got (None when the call
    failed or did not return a bool), passed."""
    out = []
    for a in task.get("assertions") or []:
        result = env.call(a["name"], a.get("arguments") or {}, actor="env")
        got = result.value if result.ok and isinstance(result.value, bool) else None
        out.append({"name": a["name"], "arguments": a.get("arguments") or {}, "expect": a.get("expect", True),
                    "got": got, "passed": got is not None and got == a.get("expect", True)})
    return out


def is_two_actor(task: dict[str, Any]) -> bool:
    return bool(task.get("init_actions") or task.get("user_actions") or task.get("assertions"))


def request_words(tool: dict[str, Any]) -> list[str]:
    """The words of a user tool's name that an agent's request must mention: `toggle_router_power` ->
    toggle, router, power."""
    return [w for w in tool["name"].lower().split("_") if w and w not in _STOPWORDS]


def requested_tool(text: str, user_tools: dict[str, dict[str, Any]]) -> str | None:
    """The user tool an agent's message asks the user to use: the one whose description the message quotes,
    else the one all of whose name words it mentions (the most words wins); None when none."""
    low = " ".join(text.lower().split())
    for name in sorted(user_tools):
        if phrase(user_tools[name]).lower() in low:
            return name
    words = set(re.findall(r"[a-z0-9]+", low))
    best: tuple[int, str] | None = None
    for name in sorted(user_tools):
        need = request_words(user_tools[name])
        if need and all(w in words or w.rstrip("e") + "ing" in words for w in need):
            if best is None or len(need) > best[0]:
                best = (len(need), name)
    return best[1] if best else None


class UserSide:
    """What a simulated user does with their own tools: make the call the agent asked for, with the
    arguments the task's gold user action gives (a tool with parameters is made only from those), and
    record it."""

    def __init__(self, task: dict[str, Any]):
        self.task = task
        self.env: Any = None
        self.calls: list[dict[str, Any]] = []
        self.tools: dict[str, dict[str, Any]] = {}

    def bind(self, env: Any) -> None:
        self.env = env
        self.tools = {t["name"]: t for t in type(env).ir()["tools"] if t.get("actor") == "user"}

    def act_on(self, text: str) -> str | None:
        """The user's reply after doing what `text` asks, or None when it asks for no user action."""
        if self.env is None or not self.tools:
            return None
        name = requested_tool(text, self.tools)
        if name is None:
            return None
        done = sum(1 for c in self.calls if c["name"] == name)
        gold = [a for a in self.task.get("user_actions") or [] if a["name"] == name]
        if gold:
            arguments = gold[min(done, len(gold) - 1)]["arguments"]
        elif not self.tools[name]["params"]:
            arguments = "{}"
        else:
            return None
        return self.call(name, arguments)

    def call(self, name: str, arguments: str) -> str:
        result = self.env.call_user(name, arguments)
        self.calls.append({"name": name, "arguments": arguments, "ok": result.ok, "output": result.content})
        if result.ok:
            return f"Okay, I did that. {result.content}"
        return f"I tried, but it did not work: {result.content.removeprefix('Error: ')}"


def user_tool_call_reply(side: UserSide, reply: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the tool calls an LLM-played user asked for: one tool message each (OpenAI format), answering the
    call's id, with what the call returned."""
    out = []
    for n, call in enumerate(reply.get("tool_calls") or []):
        fn = call.get("function") or {}
        name = fn.get("name") or ""
        arguments = fn.get("arguments") or "{}"
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        result = side.call(name, arguments)
        out.append({"role": "tool", "tool_call_id": call.get("id") or f"user_call_{n}", "name": name,
                    "content": side.calls[-1]["output"], "said": result})
    return out
