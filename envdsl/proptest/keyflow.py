"""Which tool parameters name an entity: read from the IR's dataflow, not from parameter names.

A parameter is key-like for collection C when the body (or a helper it passes the parameter
to) indexes C with it (`orders[order_id]`), tests membership in C, or compares it with a
`ref<C>` value. Strategies then draw such arguments mostly from C's current keys, so calls
get past their lookups and reach the rest of their bodies.
"""

from __future__ import annotations

from typing import Any, Iterator


def key_params(ir: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{tool name: {parameter name: name of the state map (collection or map field) it keys}}."""
    # collections and plain map fields alike: both are indexed by key
    collections = {s["name"] for s in ir["state"] if s["type"]["k"] == "map"}
    funcs = {f["name"]: f for f in ir["functions"] + ir["tools"]}
    direct: dict[str, dict[str, str]] = {name: _direct_uses(f, collections) for name, f in funcs.items()}
    # helpers pass parameters on: iterate to a fixpoint (call chains are short, no recursion)
    changed = True
    while changed:
        changed = False
        for name, f in funcs.items():
            params = {p["name"] for p in f["params"]}
            for call in _nodes(f["body"]):
                if call.get("e") != "fcall" or call.get("fn") not in funcs:
                    continue
                callee = funcs[call["fn"]]
                for arg, cparam in zip(call.get("args", []), callee["params"]):
                    coll = direct[call["fn"]].get(cparam["name"])
                    if coll and _is_local(arg, params) and arg["name"] not in direct[name]:
                        direct[name][arg["name"]] = coll
                        changed = True
    return {t["name"]: direct[t["name"]] for t in ir["tools"]}


def _direct_uses(f: dict[str, Any], collections: set[str]) -> dict[str, str]:
    params = {p["name"] for p in f["params"]}
    out: dict[str, str] = {}
    for node in _nodes(f["body"]):
        e = node.get("e")
        if e == "index" and _is_state(node.get("obj"), collections) and _is_local(node.get("key"), params):
            out.setdefault(node["key"]["name"], node["obj"]["name"])
        elif e == "bin" and node.get("op") in ("in", "not in") and _is_local(node.get("l"), params) \
                and _is_state(node.get("r"), collections):
            out.setdefault(node["l"]["name"], node["r"]["name"])
        elif e == "bin" and node.get("op") in ("==", "!="):
            for a, b in ((node.get("l"), node.get("r")), (node.get("r"), node.get("l"))):
                if _is_local(a, params) and isinstance(a, dict) and isinstance(b, dict) \
                        and b.get("t", {}).get("k") == "ref":
                    out.setdefault(a["name"], b["t"]["coll"])
    for s in _nodes(f["body"]):  # `delete m[k]` names an existing key (`insert` a new one: not key-like)
        if s.get("s") == "delete" and _is_state(s.get("obj"), collections) and _is_local(s.get("key"), params):
            out.setdefault(s["key"]["name"], s["obj"]["name"])
    return out


def _is_local(x: Any, params: set[str]) -> bool:
    return isinstance(x, dict) and x.get("e") == "local" and x.get("name") in params


def _is_state(x: Any, collections: set[str]) -> bool:
    return isinstance(x, dict) and x.get("e") == "state" and x.get("name") in collections


def _nodes(x: Any) -> Iterator[dict[str, Any]]:
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from _nodes(v)
    elif isinstance(x, list):
        for v in x:
            yield from _nodes(v)
