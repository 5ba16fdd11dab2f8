"""Which state fields a tool may write, and whether it writes the other actor's side (E1001).

In a two-actor domain (`user state`, `user ... tool`) the agent's tools must not change the user's
state and the user's tools must not change the agent's, unless a `shared` declaration allows it: that
is what keeps a rollout honest (the agent cannot "fix" the customer's router by itself). Hooks and
`env fn`s belong to the environment and may write both sides.

The analysis runs on the checked IR bodies. It is flow-insensitive and conservative: a local that
was ever bound to (part of) a state field counts as that field; a call of a helper fn writes what the
helper writes, with the helper's parameters replaced by the fields its arguments come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PARAM = "param:"  # a root that is a helper fn's parameter, mapped to the caller's argument at each call


@dataclass
class Summary:
    writes: dict[str, int] = field(default_factory=dict)  # root -> first line of the body that writes it
    returns: set[str] = field(default_factory=set)  # roots the result may alias


class WriteRoots:
    def __init__(self, functions: dict[str, dict[str, Any]]):
        self.functions = functions
        self._memo: dict[str, Summary] = {}

    def summary(self, fn_name: str) -> Summary:
        if fn_name not in self._memo:
            self._memo[fn_name] = Summary()  # a placeholder breaks any cycle (the checker reports recursion)
            fn = self.functions[fn_name]
            self._memo[fn_name] = self.body(fn["body"], {p["name"]: {PARAM + p["name"]} for p in fn["params"]})
        return self._memo[fn_name]

    def body(self, stmts: list[dict[str, Any]], params: dict[str, set[str]]) -> Summary:
        env: dict[str, set[str]] = {k: set(v) for k, v in params.items()}
        out = Summary()
        for _ in range(4):  # loops can carry aliases backwards: repeat until the locals stop growing
            before = {k: set(v) for k, v in env.items()}
            self._stmts(stmts, env, out)
            if env == before:
                break
        return out

    # ---- statements
    def _stmts(self, stmts: list[dict[str, Any]], env: dict[str, set[str]], out: Summary) -> None:
        for s in stmts:
            self._stmt(s, env, out)

    def _stmt(self, s: dict[str, Any], env: dict[str, set[str]], out: Summary) -> None:
        kind, line = s["s"], s.get("line", 0)

        def write(roots: set[str]) -> None:
            for r in roots:
                out.writes.setdefault(r, line)

        if kind == "let":
            env.setdefault(s["name"], set()).update(self.roots(s["value"], env, out, line))
        elif kind == "assign":
            place = s["place"]
            value_roots = self.roots(s["value"], env, out, line)
            if place["p"] == "local":
                env.setdefault(place["name"], set()).update(value_roots)
            elif place["p"] == "state":
                write({place["name"]})
            else:
                write(self.roots(place["obj"], env, out, line))
                if place["p"] == "index":
                    self.roots(place["key"], env, out, line)
        elif kind in ("insert", "delete", "append", "remove"):
            write(self.roots(s["obj"], env, out, line))
            for k in ("key", "value"):
                if k in s:
                    self.roots(s[k], env, out, line)
        elif kind == "for":
            it = self.roots(s["iter"], env, out, line)
            for var in (s["var"], s.get("var2")):
                if var:
                    env.setdefault(var, set()).update(it)
            self._stmts(s["body"], env, out)
        elif kind == "if":
            for cond, body in s["branches"]:
                self.roots(cond, env, out, line)
                self._stmts(body, env, out)
            self._stmts(s.get("else") or [], env, out)
        elif kind == "return":
            out.returns |= self.roots(s["value"], env, out, line)
        elif kind == "call":
            self.roots(s["call"], env, out, line)
        else:  # require, fail: their expressions may still call helpers that write
            for k in ("cond", "msg"):
                if k in s:
                    self.roots(s[k], env, out, line)

    # ---- expressions: the roots a value may alias, noting the writes of helper calls on the way
    def roots(self, e: Any, env: dict[str, set[str]], out: Summary, line: int) -> set[str]:
        if not isinstance(e, dict) or "e" not in e:
            return set()
        kind = e["e"]
        if kind == "state":
            return {e["name"]}
        if kind == "local":
            return set(env.get(e["name"], set()))
        if kind == "fcall" and e["fn"] in self.functions:
            args = [self.roots(a, env, out, line) for a in e["args"]]
            callee = self.summary(e["fn"])
            params = [p["name"] for p in self.functions[e["fn"]]["params"]]
            mapping = {PARAM + p: a for p, a in zip(params, args)}
            for r in callee.writes:
                for mapped in mapping.get(r, {r}):
                    out.writes.setdefault(mapped, line)
            return {m for r in callee.returns for m in mapping.get(r, {r})}
        found: set[str] = set()
        for key, value in e.items():
            if key in ("t", "e"):
                continue
            for sub in _subexpressions(value):
                found |= self.roots(sub, env, out, line)
        if kind in ("bin", "un", "fstr", "is", "lit"):
            return set()  # a new value: nothing of the state travels in it by reference
        return found


def _subexpressions(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            out.extend(_subexpressions(v))
        return out
    return []


def cross_writes(tools: list[dict[str, Any]], functions: list[dict[str, Any]], state_actor: dict[str, str],
                 shared: set[str]) -> list[tuple[str, str, str, int]]:
    """(tool, its actor, state field of the other actor, line) for each forbidden write."""
    analysis = WriteRoots({f["name"]: f for f in functions})
    found = []
    for tool in tools:
        actor = tool.get("actor", "agent")
        summary = analysis.body(tool["body"], {})
        for root, line in sorted(summary.writes.items(), key=lambda kv: (kv[1], kv[0])):
            owner = state_actor.get(root)
            if owner is not None and owner != actor and root not in shared:
                found.append((tool["name"], actor, root, line))
    return found
