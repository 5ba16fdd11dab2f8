"""Filters that keep only conversations a careful human agent would have had.

- policy: the agent identifies the user (a successful call of an identification tool) before acting
  on the user's entities, acts on one user only, gets an explicit yes right before each write the
  rules mark `confirm`, and makes no call after a transfer to a human;
- provenance: every argument value the agent sent was in the user's words, an earlier tool result,
  the system prompt (the policy) or the tools' own schemas: nothing guessed;
- loops: the same call (name and arguments, whatever its call id) made three times in a row;
- agent errors: a tool call without a name, or an empty reply, recorded by the conversation.

Each problem is a reason string ("policy:not_identified", ...), counted per reason in the summary.
"""

from __future__ import annotations

import json
import re
from typing import Any

from envdsl.ir.rules import PolicyRules
from envdsl.tasks.initial import reset_to_initial
from envdsl.tasks.ownership import OwnerIndex
from envdsl.tasks.ownership import leaves as _leaves

AFFIRMATIVE = re.compile(r"\b(yes|yeah|yep|sure|correct|confirm(ed)?|go ahead|please do|do it|that's right|ok(ay)?)\b",
                         re.I)
LOOP_LENGTH = 3


def policy_problems(messages: list[dict[str, Any]], rules: PolicyRules, index: OwnerIndex) -> list[str]:
    """Reasons the conversation breaks the rules; empty when it follows them."""
    if rules.empty:
        return []
    out: list[str] = []
    identify = set(rules.user.identify) if rules.user else set()
    key_field = rules.user.key if rules.user else ""
    identified: set[str] = set()
    touched: set[str] = set()
    confirmed = False
    transferred = False
    last_assistant_text = False  # was the latest assistant turn text only (a question the user answers)?
    pending: dict[str, str] = {}  # call id -> tool name
    lookups: dict[str, set[str]] = {}  # call id -> owners of an identification call's arguments (`keyed` users)
    for m in messages:
        role = m.get("role")
        if role == "user":
            said = m.get("content") or ""
            confirmed = last_assistant_text and bool(AFFIRMATIVE.search(said)) and not _refusal(said)
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            last_assistant_text = not calls
            for call in calls:
                fn = call.get("function") or {}
                name = fn.get("name") or ""
                pending[str(call.get("id"))] = name
                if transferred:
                    out.append("policy:call_after_transfer")
                if name in rules.transfer:
                    transferred = True
                    continue
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    continue
                if name in identify and not key_field:  # a `keyed` user collection: its records hold no key
                    lookups[str(call.get("id"))] = index.owners(args)
                if name not in identify:
                    owners = index.owners(rules.owning_arguments(name, args))  # recipients may be anyone's
                    if owners and rules.user and rules.user.identify:
                        if not identified:
                            out.append("policy:not_identified")
                        elif not owners <= identified:
                            out.append("policy:other_user")
                    touched |= owners
                if name in rules.confirm:
                    if not confirmed:
                        out.append("policy:unconfirmed_write")
        elif role == "tool":
            name = pending.pop(str(m.get("tool_call_id")), m.get("name") or "")
            content = m.get("content") or ""
            if name in rules.confirm and not content.startswith("Error"):
                confirmed = False  # one yes covers one change
            found = lookups.pop(str(m.get("tool_call_id")), set())
            if name in identify and not content.startswith("Error"):
                who = _identified_key(content, key_field) if key_field else None
                if who is not None:
                    identified.add(who)
                elif len(found) == 1:  # identified by the key it was looked up with
                    identified |= found
    if len(identified | touched) > 1:
        out.append("policy:many_users")
    return sorted(set(out))


def _refusal(text: str) -> bool:
    first = text.strip().lower()
    return first.startswith(("no", "not", "don't", "do not", "wait", "stop"))


def _identified_key(content: str, key_field: str) -> str | None:
    try:
        value = json.loads(content)
    except ValueError:
        return content.strip() or None
    if isinstance(value, dict):
        key = value.get(key_field)
        return None if key is None else str(key)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    return None


# ---- provenance

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def provenance_problems(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> list[str]:
    """"provenance:unsupported_argument" when an argument value the agent sent appears nowhere it could
    have come from: the user's messages, earlier tool results, the system prompt or the tool schemas."""
    schemas = json.dumps(tools or [], ensure_ascii=False)
    known = [schemas.lower()]  # grows message by message: each text is lowered and scanned for numbers once
    numbers = {float(x) for x in _NUMBER.findall(schemas)}
    for m in messages:
        role = m.get("role")
        if role == "assistant" and m.get("tool_calls"):
            low = "\n".join(known)
            known = [low]
            for call in m["tool_calls"]:
                try:
                    args = json.loads((call.get("function") or {}).get("arguments") or "{}")
                except ValueError:
                    continue
                if any(not _known(leaf, low, numbers) for leaf in _leaves(args)):
                    return ["provenance:unsupported_argument"]
        elif role in ("system", "user", "tool"):
            text = m.get("content") or ""
            known.append(text.lower())
            numbers.update(float(x) for x in _NUMBER.findall(text))
    return []


def _known(value: Any, low: str, numbers: set[float]) -> bool:
    if value is None or isinstance(value, bool) or value == "":
        return True
    if isinstance(value, (int, float)):
        return float(value) in numbers
    text = str(value).lower()
    if text in low:
        return True
    escaped = json.dumps(str(value), ensure_ascii=False)[1:-1].lower()  # as it stands inside JSON text
    return escaped in low


# ---- loops and the agent's own errors

def loop_problems(messages: list[dict[str, Any]]) -> list[str]:
    """"loop:repeated_call" when the same call (name and canonical arguments) is made LOOP_LENGTH times
    in a row, whatever the call ids and whatever text the turns carry."""
    run = 0
    last: tuple[Any, str] | None = None
    for m in messages:
        if m.get("role") != "assistant":
            continue
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            try:
                args = json.dumps(json.loads(fn.get("arguments") or "{}"), sort_keys=True)
            except ValueError:
                args = str(fn.get("arguments"))
            sig = (fn.get("name"), args)
            run = run + 1 if sig == last else 1
            last = sig
            if run >= LOOP_LENGTH:
                return ["loop:repeated_call"]
    return []


def style_problems(messages: list[dict[str, Any]]) -> list[str]:
    """"style:text_with_tool_call": an assistant turn that both talks to the user and calls a tool
    (the user sees a sentence the agent did not wait an answer to)."""
    for m in messages:
        if m.get("role") == "assistant" and m.get("tool_calls") and (m.get("content") or "").strip():
            return ["style:text_with_tool_call"]
    return []


def agent_error_problems(record: dict[str, Any]) -> list[str]:
    """The agent's own errors the conversation recorded: "agent:nameless_call", "agent:empty_reply"."""
    return sorted({f"agent:{e}" for e in record.get("agent_errors") or []})


class OwnerIndexCache:
    """The rules and owner index of each (domain, initial state) a run judges, built once each."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[PolicyRules, OwnerIndex]] = {}

    def get(self, env: Any, task: dict[str, Any]) -> tuple[PolicyRules, OwnerIndex]:
        initial = task.get("initial") or {"kind": "seed"}
        key = json.dumps([task["domain"], initial], sort_keys=True)
        if key not in self._cache:
            rules = PolicyRules.from_ir(type(env).ir())
            reset_to_initial(env, initial)  # a generated state made again as the sampler made it
            self._cache[key] = (rules, OwnerIndex(rules, env.state()))
        return self._cache[key]
