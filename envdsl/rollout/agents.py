"""Agents: the oracle that follows a task's gold calls, a deliberately flaky oracle, and LLM agents.

Every agent answers `respond(messages, tools) -> assistant message` in the OpenAI format, tool
call arguments as JSON strings.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from envdsl.rollout.speech import action, declined, human, mentions, phrase, say, spoken_list, value_mentioned
from envdsl.rollout.summary import closing


class OracleAgent:
    """Makes the gold calls in order, as a careful human agent would: it asks the user for the facts each
    call needs (identity first: a task's identification call comes first), reads back a change the rules
    mark `confirm` and waits for a yes, never talks and calls a tool in the same turn, asks the user to
    check a value that made a call fail, and closes with a summary of what it did."""

    def __init__(self, task: dict[str, Any], tools_ir: dict[str, dict[str, Any]], skip: set[int] | None = None):
        self.task = task
        self.tools = tools_ir
        self.next = 0  # index of the next gold call
        self.skip = skip or set()  # gold call indices to leave out (the flaky oracle)
        self.asked: dict[int, int] = {}  # gold call index -> times its facts were asked for
        self.confirm_asked: int | None = None  # the gold call whose confirmation was asked for
        self.finished = False
        self.user_asked: set[int] = set()  # user actions (two-actor tasks) the user was asked to make

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        calls = self.task["gold_calls"]
        while self.next in self.skip:
            self.next += 1
        last = messages[-1]
        if last["role"] == "tool" and self.next > 0 and not calls[self.next - 1]["ok"]:
            error = last["content"].removeprefix("Error: ").rstrip(".")
            params = self._wrong_params(self.next - 1)
            return _text(f"That did not go through: {error}. Could you double-check "
                         f"{' and '.join('the ' + human(p) for p in params)}?")
        request = self._user_action_request()
        if request is not None:
            return _text(request)
        if self.next >= len(calls):
            self.finished = True
            return _text(self._closing(messages))
        call = calls[self.next]
        missing = self._missing_facts(self.next, messages)
        if missing and self.asked.get(self.next, 0) < 2:
            self.asked[self.next] = self.asked.get(self.next, 0) + 1
            return _text(self._question(call, missing))
        if call.get("confirm"):
            if self.confirm_asked != self.next:
                self.confirm_asked = self.next
                return _text(f"Just to confirm: I will {action(self.tools[call['name']])}"
                             f"{_details(call['arguments'])}. Shall I go ahead (yes/no)?")
            if last["role"] == "user" and declined(last.get("content") or ""):
                self.finished = True
                return _text("Understood, I will not make that change. Is there anything else I can help you with?")
        self.next += 1
        return {"role": "assistant", "content": "", "tool_calls": [{
            "id": f"call_{self.next - 1}", "type": "function",
            "function": {"name": call["name"], "arguments": call["arguments"]}}]}

    def _user_action_request(self) -> str | None:
        """In a two-actor task, the next thing the user must do on their side once `next` gold calls are made:
        asked for in words (the agent cannot call the user's tools), one at a time."""
        for i, act in enumerate(self.task.get("user_actions") or []):
            if i in self.user_asked or act["after"] > self.next:
                continue
            self.user_asked.add(i)
            tool = self.tools.get(act["name"], {"name": act["name"], "description": ""})
            return f"Could you please {phrase(tool)}{_details(act['arguments'])}, and tell me what you see?"
        return None

    def _question(self, call: dict[str, Any], missing: list[dict[str, Any]]) -> str:
        if call.get("identifies"):
            what = "your " + spoken_list([human(f["param"]) for f in missing])
            return f"I can help with that. First I need to confirm who you are: could you give me {what}?"
        what = "the " + spoken_list([human(f["param"]) for f in missing])
        return f"To {action(self.tools[call['name']])}, could you tell me {what}?"

    def _facts_for(self, i: int) -> list[dict[str, Any]]:
        """The user facts whose value the i-th gold call uses (the wrong one, for a failing call), one per
        parameter: the fact of this very step where two give the same value (an identity zip that is also
        the zip of a new address), so no question asks for one thing twice."""
        call = self.task["gold_calls"][i]
        args = json.loads(call["arguments"])
        by_param: dict[str, dict[str, Any]] = {}
        for f in self.task["user_facts"]:
            if f["param"] not in args:
                continue
            expected = f["wrong_first"] if (not call["ok"] and "wrong_first" in f) else f["value"]
            if args[f["param"]] == expected and (f["param"] not in by_param or f.get("step") == i):
                by_param[f["param"]] = f
        return list(by_param.values())

    def _missing_facts(self, i: int, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        said = "\n".join(m.get("content") or "" for m in messages if m["role"] == "user")
        seen = "\n".join(m.get("content") or "" for m in messages if m["role"] == "tool")
        call = self.task["gold_calls"][i]
        args = json.loads(call["arguments"])
        # a value an earlier result showed need not be asked for (a careful agent reads it there)
        # an empty list is said as "no flights": asked about and answered, it is known
        return [f for f in self._facts_for(i) if not value_mentioned(args[f["param"]], said)
                and not (args[f["param"]] in ([], {}) and mentions(said, f["param"]))
                and not (isinstance(args[f["param"]], str) and value_mentioned(args[f["param"]], seen))]

    def _wrong_params(self, i: int) -> list[str]:
        args = json.loads(self.task["gold_calls"][i]["arguments"])
        return [f["param"] for f in self.task["user_facts"]
                if "wrong_first" in f and args.get(f["param"]) == f["wrong_first"]] or ["details"]

    def _closing(self, messages: list[dict[str, Any]]) -> str:
        """What was done, with the key values, in a sentence or two (envdsl/rollout/summary.py)."""
        calls = self.task["gold_calls"]
        done = [(self.tools[c["name"]], json.loads(c["arguments"])) for i, c in enumerate(calls[:self.next])
                if c["ok"] and i not in self.skip and self.tools[c["name"]]["effect"] == "write"]
        last_read = None
        for i, c in enumerate(calls[:self.next]):
            if c["ok"] and i not in self.skip and self.tools[c["name"]]["effect"] == "read" \
                    and not c.get("identifies"):
                last_read = (self.tools[c["name"]], c["output"])
        # a task about an identified user speaks of "your order" even when no call names the user
        key = self._user_key() or ("" if self.task.get("user") else None)
        if not self.user_asked:
            return closing(done, last_read, key)
        # two actors: the user acted on their side after any result, so a read result would be stale
        thanks = "Thank you for doing that on your side; that should have fixed it."
        if not done:
            return f"{thanks} Is there anything else I can help you with?"
        return f"{thanks} {closing(done, None, key)}"

    def _user_key(self) -> str | None:
        """The parameter that names the user (the identified user's key), left out of the summary."""
        first = self.task["gold_calls"][0] if self.task["gold_calls"] else None
        if not self.task.get("user") or first is None or not first.get("identifies"):
            return None
        for c in self.task["gold_calls"][1:]:
            for k, v in json.loads(c["arguments"]).items():
                if v == self.task["user"]:
                    return str(k)
        return None


def flaky_oracle(task: dict[str, Any], tools_ir: dict[str, dict[str, Any]], p: float, trial: int) -> OracleAgent:
    """An oracle that, with probability p per (task, trial), leaves out its last successful gold call:
    a deliberately broken agent whose pass^k must fall below 1. Deterministic in (task, trial).
    The last write is preferred, since leaving out a read of a write task changes nothing checked."""
    h = int(hashlib.sha256(f"{task['task_id']}:{trial}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    skip: set[int] = set()
    if h < p:
        ok = [i for i, c in enumerate(task["gold_calls"]) if c["ok"]]
        writes = [i for i in ok if tools_ir[task["gold_calls"][i]["name"]]["effect"] == "write"]
        skip = {(writes or ok)[-1]}
    return OracleAgent(task, tools_ir, skip)


class LLMAgent:
    """An agent backed by any envdsl.llm backend (OpenAI-compatible server, local transformers)."""

    def __init__(self, backend: Any, **params: Any):
        self.backend = backend
        self.params = params
        self.finished = False

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return self.backend.chat(messages, tools=tools, **self.params)  # type: ignore[no-any-return]


def _text(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def _details(arguments: str) -> str:
    """A call's arguments read back to the user: ' (order id #W1, reason no longer needed)'."""
    try:
        args = json.loads(arguments)
    except ValueError:
        return ""
    parts = [f"{human(k)} {say(v)}" for k, v in args.items() if v is not None and not isinstance(v, (dict, list))]
    parts += [f"{human(k)} {', '.join(say(x) for x in v)}" for k, v in args.items()
              if isinstance(v, list) and v and all(not isinstance(x, (dict, list)) for x in v)]
    return f" ({'; '.join(parts)})" if parts else ""

