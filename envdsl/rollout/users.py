"""Simulated users: a scripted one that states its facts when asked, and an LLM-played one.

Both answer `opening() -> str` and `respond(messages) -> str`; a reply containing STOP ends
the conversation (tau2-bench's convention)."""

from __future__ import annotations

import re
from typing import Any

from envdsl.rollout.speech import human, mentions, say

STOP = "###STOP###"


def opening_from_goal(goal: str) -> str:
    """The goal in the first person, without the sentence about what the user knows."""
    text = re.sub(r"\s*You know your .*$", "", goal.strip())
    text = re.sub(r"^You want to\b", "I want to", text)
    text = re.sub(r"\byour\b", "my", text)
    return "Hi! " + text


class ScriptedUser:
    """States the facts the agent asks for (matched by parameter name). A fact with `wrong_first` is
    first given wrongly, as users do, and correctly when asked again. Ends the conversation when the
    agent asks for nothing it knows."""

    def __init__(self, task: dict[str, Any]):
        self.task = task
        self.given: dict[int, int] = {}  # fact index -> times stated

    def opening(self) -> str:
        return opening_from_goal(self.task["goal"])

    def respond(self, messages: list[dict[str, Any]]) -> str:
        text = messages[-1].get("content") or ""
        if "anything else" in text.lower():  # the agent is done (its summary may quote field names)
            return f"No, that's all. Thank you! {STOP}"
        facts = self.task["user_facts"]
        asked = [i for i, f in enumerate(facts) if mentions(text, f["param"])]
        if not asked and "?" in text:
            asked = [i for i in range(len(facts)) if i not in self.given]  # a generic question: say all
        if not asked:
            return f"No, that's all. Thank you! {STOP}"
        # of several facts for one parameter, state first those not yet (fully) stated
        parts = []
        for i in sorted(asked, key=lambda i: (self.given.get(i, 0) > ("wrong_first" in facts[i]), i)):
            f = facts[i]
            n = self.given.get(i, 0)
            value = f["wrong_first"] if ("wrong_first" in f and n == 0) else f["value"]
            self.given[i] = n + 1
            parts.append(f"my {human(f['param'])} is {say(value)}")
        return "Sure: " + "; ".join(parts) + "."


USER_PROMPT = """You are a customer talking to a customer-service assistant. Stay in role; be brief.
Your goal: {goal}
What you know (say a value only when the assistant asks for it):
{facts}
When your goal is done, or the assistant cannot help, reply with only {stop}."""


class LLMUser:
    """A user played by an LLM backend: it sees the conversation with roles swapped."""

    def __init__(self, task: dict[str, Any], backend: Any, **params: Any):
        self.task = task
        self.backend = backend
        self.params = params

    def opening(self) -> str:
        return opening_from_goal(self.task["goal"])

    def respond(self, messages: list[dict[str, Any]]) -> str:
        lines = []
        for f in self.task["user_facts"]:
            line = f"- {human(f['param'])}: {say(f['value'])}"
            if "wrong_first" in f:
                line += f" (you first misremember it as {say(f['wrong_first'])}; correct it if told it is wrong)"
            lines.append(line)
        system = USER_PROMPT.format(goal=self.task["goal"], facts="\n".join(lines) or "- nothing", stop=STOP)
        flipped: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for m in messages:
            if m["role"] == "user":
                flipped.append({"role": "assistant", "content": m["content"]})
            elif m["role"] == "assistant" and (m.get("content") or "").strip():
                flipped.append({"role": "user", "content": m["content"]})
        reply = self.backend.chat(flipped, **self.params)
        return (reply.get("content") or "").strip() or STOP
