"""Anchoring a sampled walk on one user, as the spec's policy rules ask.

After a walk is executed, its calls are checked against the owner index of the initial state: a walk
that touches the entities of two users is rejected (one conversation serves one user); a walk that
touches one user's entities starts with an identification call (one of the rules' identification
tools, its arguments taken from the user's own record, run on the initial state), whose arguments
become the user's identity facts. Calls the rules mark `confirm` are flagged so the oracle asks first.
"""

from __future__ import annotations

import json
import random
from typing import Any

from envdsl.ir.rules import PolicyRules
from envdsl.tasks.ownership import OwnerIndex


class NotAnchored(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def anchor_walk(env: Any, rules: PolicyRules, initial: dict[str, Any], calls: list[dict[str, Any]],
                facts: list[dict[str, Any]], rng: random.Random, side: Any = None) -> str | None:
    """Flags and, where needed, prepends the identification call (in place); returns the user's key or
    None when the walk touches no user's entities. Raises NotAnchored with a reason. `side`: an
    environment of the same domain holding `initial` (identification tools only read, so one can be
    reused across walks from the same initial state); made here when not given."""
    for c in calls:
        if c["name"] in rules.confirm:
            c["confirm"] = True
    if rules.user is None:
        return None
    index = OwnerIndex(rules, initial)
    identify = set(rules.user.identify)
    owners: set[str] = set()
    for c in calls:
        if c["name"] not in identify:  # a recipient (the account a payment goes into) may be anyone's
            owners |= index.owners(rules.owning_arguments(c["name"], json.loads(c["arguments"])))
        elif c["ok"]:  # a lookup identifies whoever it finds: that is a user the conversation is about too
            who = _identified(c["output"], rules)
            if who is not None:
                owners.add(who)
    if len(owners) > 1:
        raise NotAnchored("many_users")
    if not owners or not identify:
        return None
    (user,) = owners
    first = calls[0] if calls else None
    if first is not None and first["name"] in identify and first["ok"] and _identified(first["output"], rules) == user:
        first["identifies"] = True
        for f in facts:
            if f.get("step") == 0:
                f["identity"] = True
        return user
    record = (initial.get(rules.user.collection) or {}).get(user)
    if side is None:
        side = type(env)()
        side.reset(state=json.loads(json.dumps(initial)))
    call = _identification_call(env, rules, side, record, user, rng)
    if call is None:
        raise NotAnchored("no_identification")
    calls.insert(0, call)
    for f in facts:
        f["step"] = f.get("step", 0) + 1
    tool = env.TOOLS[call["name"]]
    descriptions = {p["name"]: p.get("description", "") for p in tool.params}
    args = json.loads(call["arguments"])
    identity = [{"key": name, "param": name, "value": value, "description": descriptions.get(name, ""),
                 "tool": call["name"], "step": 0, "identity": True} for name, value in args.items()]
    facts[:0] = identity
    return user


def _identification_call(env: Any, rules: PolicyRules, side: Any, record: Any, user: str,
                         rng: random.Random) -> dict[str, Any] | None:
    """A successful call of an identification tool for `user`, its arguments from the user's record, made
    on the initial state in a second environment."""
    assert rules.user is not None
    tools = list(rules.user.identify)
    keyed = not rules.user.key  # a `keyed` collection: the user's key is an argument, never a field of the record
    rng.shuffle(tools)
    for name in tools:
        args: dict[str, Any] = {}
        for p in env.TOOLS[name].params:
            found = _find(record, p["name"])
            if found is None:  # `email` may be stored as `owner_email`
                found = _find(record, p["name"], suffix=True)
            if found is None and rules.user.key == p["name"]:
                found = user
            elif found is None and keyed and user not in args.values() and p["type"]["k"] in ("str", "ref"):
                found = user
            if found is None:
                if "default" in p:
                    continue
                break
            args[p["name"]] = found
        else:
            result = side.call(name, args)  # a read: `side` keeps the initial state for the next walk
            # with a `keyed` collection the result holds no key: a successful lookup by the key identifies
            if result.ok and (_identified(result.content, rules) == user or (keyed and user in args.values())):
                return {"name": name, "arguments": json.dumps(args, ensure_ascii=False), "ok": True,
                        "output": result.content, "identifies": True}
    return None


def _find(record: Any, name: str, suffix: bool = False) -> Any:
    """The scalar value of the first field called `name` (or, with suffix, `..._name`) in a (nested) record."""
    if isinstance(record, dict):
        for k, v in record.items():
            if (k == name or (suffix and k.endswith("_" + name))) and isinstance(v, (str, int, float)) \
                    and not isinstance(v, bool):
                return v
        for v in record.values():
            found = _find(v, name, suffix)
            if found is not None:
                return found
    return None


def _identified(content: str, rules: PolicyRules) -> str | None:
    assert rules.user is not None
    try:
        value = json.loads(content)
    except ValueError:
        return content.strip() or None
    if isinstance(value, dict):
        key = value.get(rules.user.key)
        return None if key is None else str(key)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    return None
