"""The filters a conversation must pass to become training data, each failure named by its reason.

- validity: well-formed messages and calls (roles, ids, tool names that exist, arguments that
  parse as JSON objects, tool results answering the calls), and no heavy n-gram repetition;
- state: the final state hash equals the task's gold state hash;
- calls: the agent's successful calls contain the gold successful calls in order (or equal them,
  with exact=True). By default this is required only for read-only tasks, whose gold state
  equals the initial state (AgentScaler's rule); mode "always" or "never" changes that.

A conversation in which a tool call failed and the agent recovered passes: errors are not filtered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ROLES = {"system", "user", "assistant", "tool"}


@dataclass(frozen=True)
class FilterConfig:
    calls_mode: str = "auto"  # "auto" (read-only tasks only) | "always" | "never"
    calls_exact: bool = False
    ngram: int = 4
    max_repeated_share: float = 0.5  # a message where more n-grams repeat earlier ones than this is degenerate
    min_ngrams: int = 12
    policy: bool = True  # the spec's rules (identification, one user, confirmation, transfer): policy_filters.py
    provenance: bool = True  # every argument value came from the user or an earlier tool result
    loops: bool = True  # the same call three times in a row
    text_with_calls: bool = False  # allow an assistant turn that both talks and calls a tool


def validity_problems(record: dict[str, Any], tool_names: set[str], cfg: FilterConfig = FilterConfig()) -> list[str]:
    msgs = record.get("messages")
    if not isinstance(msgs, list) or len(msgs) < 2:
        return ["invalid:too_short"]
    out: list[str] = []
    if msgs[0].get("role") != "system" or msgs[1].get("role") != "user":
        out.append("invalid:bad_start")
    pending: dict[Any, Any] = {}
    last_assistant: list[str] = []
    for m in msgs:
        role = m.get("role")
        if role not in ROLES:
            out.append("invalid:unknown_role")
            continue
        if not isinstance(m.get("content"), str):
            out.append("invalid:content_not_text")
        if role == "assistant":
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                if not call.get("id") or call.get("type") != "function" or call["id"] in pending:
                    out.append("invalid:bad_call_id")
                if fn.get("name") not in tool_names:
                    out.append("invalid:unknown_tool")
                if not isinstance(fn.get("arguments"), str):
                    out.append("invalid:arguments_not_string")
                else:
                    try:
                        if not isinstance(json.loads(fn["arguments"]), dict):
                            out.append("invalid:arguments_not_object")
                    except ValueError:
                        out.append("invalid:arguments_not_json")
                pending[call.get("id")] = fn.get("name")
            text = m.get("content") or ""
            signature = text + json.dumps(m.get("tool_calls"), sort_keys=True)
            last_assistant = (last_assistant + [signature])[-3:]
            if len(last_assistant) == 3 and len(set(last_assistant)) == 1:
                out.append("invalid:repeated_turns")
        elif role == "tool":
            cid = m.get("tool_call_id")
            if cid not in pending or m.get("name") != pending.get(cid):
                out.append("invalid:orphan_tool_result")
            pending.pop(cid, None)
        if role in ("assistant", "user") and _repetitive(m.get("content") or "", cfg):
            out.append("invalid:repetition")
    if pending:
        out.append("invalid:unanswered_call")
    if record.get("ended") != "user_stop":
        out.append(f"invalid:ended_{record.get('ended')}")
    return sorted(set(out))


def _repetitive(text: str, cfg: FilterConfig) -> bool:
    words = text.lower().split()
    grams = [tuple(words[i:i + cfg.ngram]) for i in range(len(words) - cfg.ngram + 1)]
    if len(grams) < cfg.min_ngrams:
        return False
    # a loop of any period p repeats all but ~p of its n-grams; natural text repeats almost none
    return 1 - len(set(grams)) / len(grams) > cfg.max_repeated_share


def normalize_call(name: str, arguments: str, defaults: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """(name, canonical arguments) with the tool's defaults filled in, so that leaving out a default
    and stating it count the same; None when the arguments do not parse."""
    try:
        args = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return None
    if not isinstance(args, dict):
        return None
    full = {**defaults.get(name, {}), **args}
    return name, json.dumps(full, sort_keys=True)


def calls_match(record: dict[str, Any], task: dict[str, Any], defaults: dict[str, dict[str, Any]],
                exact: bool = False) -> bool:
    gold = [normalize_call(c["name"], c["arguments"], defaults) for c in task["gold_calls"] if c["ok"]]
    made = [normalize_call(c["name"], c["arguments"], defaults) for c in record["agent_calls"] if c["ok"]]
    if exact:
        return gold == made
    it = iter(made)
    return all(any(g == m for m in it) for g in gold)  # gold is an ordered subsequence of made


def needs_calls(task: dict[str, Any], cfg: FilterConfig = FilterConfig()) -> bool:
    """Whether success needs the task's gold calls besides its gold state (a read-only task's state proves
    nothing, so under "auto" its lookups must have been made)."""
    return cfg.calls_mode == "always" or (cfg.calls_mode == "auto" and bool(task.get("read_only")))


def judge(record: dict[str, Any], task: dict[str, Any], tool_names: set[str], defaults: dict[str, dict[str, Any]],
          cfg: FilterConfig = FilterConfig(), rules: Any = None, owners: Any = None) -> dict[str, Any]:
    """Every filter's verdict on one conversation: reasons (empty = keep), success (state and calls,
    as pass^k counts it) and whether the agent recovered from a tool error. `rules` (PolicyRules) and
    `owners` (OwnerIndex of the task's initial state) turn on the policy filter."""
    from envdsl.rollout import policy_filters as pf

    reasons = validity_problems(record, tool_names, cfg) + pf.agent_error_problems(record)
    messages = record.get("messages") or []
    if cfg.policy and rules is not None and owners is not None:
        reasons += pf.policy_problems(messages, rules, owners)
    if cfg.provenance:
        reasons += pf.provenance_problems(messages, record.get("tools"))
    if cfg.loops:
        reasons += pf.loop_problems(messages)
    if not cfg.text_with_calls:
        reasons += pf.style_problems(messages)
    state_ok = record.get("final_state_hash") == task["gold_state_hash"]
    calls_ok = calls_match(record, task, defaults, cfg.calls_exact) if needs_calls(task, cfg) else True
    # two-actor tasks: their assertions (env fns returning bool, run after the conversation) must hold too
    asserts_ok = all(a["passed"] for a in record.get("assertions") or [])
    if not state_ok:
        reasons.append("state_mismatch")
    if not calls_ok:
        reasons.append("calls_mismatch")
    if not asserts_ok:
        reasons.append("assertion_failed")
    success = state_ok and calls_ok and asserts_ok
    recovered = any(not c["ok"] for c in record.get("agent_calls", [])) and success
    return {"keep": not reasons, "reasons": reasons, "success": success, "recovered": recovered}


def tool_defaults(env: Any) -> dict[str, dict[str, Any]]:
    return {name: {p["name"]: p["default"] for p in spec.params if "default" in p} for name, spec in env.TOOLS.items()}
