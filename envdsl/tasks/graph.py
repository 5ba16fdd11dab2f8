"""A domain's tool dependency graph, derived from the typed IR.

Nodes are tools. An edge A -> B says that something A produces can feed a parameter of B:

- "ref": A's result holds a ref<C> (at the top or in a field of a returned record, through
  lists and optionals) and B has a parameter that is a key of collection C;
- "key": A returns records of collection C, whose key field feeds B's key-of-C parameter;
- "field": A's result has a field with the same name and scalar type as a parameter of B
  (an `email` field feeds an `email` parameter);
- "entity": A reads or writes collection C and B has a key-of-C parameter (weaker: A's
  output may not show the key, but the chain acts on the same entities).

A parameter is a "key of C" when its type is ref<C>, when the tool's body (or a helper it
passes the parameter to) indexes or tests membership in C with it, or when its name equals
C's key field name. Edge weights grow with the bag-of-words cosine similarity of A's text
(description, result field names and descriptions) and the parameter's text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

REASON_WEIGHT = {"ref": 1.0, "key": 1.0, "field": 0.8, "entity": 0.4}
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class DomainIndex:
    """What the sampler needs to know about a domain's types, beyond the runtime's tool specs."""

    ir: dict[str, Any]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> state field
    record_collection: dict[str, str] = field(default_factory=dict)  # record name -> its collection
    param_entity: dict[tuple[str, str], str] = field(default_factory=dict)  # (tool, param) -> collection
    touches: dict[str, list[str]] = field(default_factory=dict)  # tool -> collections it reads/writes
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_ir(cls, ir: dict[str, Any]) -> "DomainIndex":
        ix = cls(ir)
        ix.records = {r["name"]: r["fields"] for r in ir.get("records", [])}
        # the agent's walks: a two-actor domain's user tools are no nodes (envdsl/tasks/two_actor.py uses them)
        agent_tools = [t for t in ir.get("tools", []) if t.get("actor", "agent") == "agent"]
        ix.tools = {t["name"]: t for t in agent_tools}
        for f in ir.get("state", []):
            if f["kind"] == "collection":
                ix.collections[f["name"]] = f
                ix.record_collection.setdefault(f["record"], f["name"])
        fn_entities = _function_param_entities(ir)
        key_names: dict[str, list[str]] = {}
        for c, f in ix.collections.items():
            key_names.setdefault(f["key"], []).append(c)
        for t in agent_tools:
            used = _param_entities(t, fn_entities)
            for p in t["params"]:
                pt = _strip_opt(p["type"])
                coll = pt["coll"] if pt["k"] == "ref" else used.get(p["name"])
                if coll is None and len(key_names.get(p["name"], [])) == 1 and pt["k"] in ("str", "int"):
                    coll = key_names[p["name"]][0]
                if coll is not None:
                    ix.param_entity[(t["name"], p["name"])] = coll
            ix.touches[t["name"]] = sorted(_collections_touched(t, ir, set()) & set(ix.collections))
        return ix

    def produced(self, tool: str) -> dict[str, Any]:
        """What a tool's result offers: ref collections, key collections and named scalar fields."""
        refs: set[str] = set()
        keys: set[str] = set()
        fields: dict[str, str] = {}
        words: list[str] = []

        def walk(t: dict[str, Any], depth: int) -> None:
            t = _strip_opt(t)
            k = t["k"]
            if k == "ref":
                refs.add(t["coll"])
            elif k == "list":
                walk(t["of"], depth)
            elif k == "map":
                walk(t["val"], depth)
            elif k == "record" and depth < 2:
                if t["name"] in self.record_collection:
                    keys.add(self.record_collection[t["name"]])
                for f in self.records.get(t["name"], []):
                    ft = _strip_opt(f["type"])
                    words.extend([f["name"], f.get("description", "")])
                    if ft["k"] in ("str", "int", "float", "bool", "enum", "date", "datetime"):
                        fields[f["name"]] = ft["k"] if ft["k"] != "enum" else "enum:" + ft["name"]
                    walk(ft, depth + 1)
            elif k == "union":
                for u in self.ir.get("unions", []):
                    if u["name"] == t["name"]:
                        for v in u["variants"]:
                            walk({"k": "record", "name": v["record"]}, depth)

        walk(self.tools[tool]["returns"], 0)
        return {"refs": refs, "keys": keys, "fields": fields, "words": words}


def build_tool_graph(ir: dict[str, Any], index: DomainIndex | None = None) -> nx.DiGraph:
    """The typed dataflow graph of a domain: one node per tool, edges with `weight` and `reasons`."""
    ix = index or DomainIndex.from_ir(ir)
    g = nx.DiGraph()
    for name, t in ix.tools.items():
        g.add_node(name, effect=t["effect"])
    for a, ta in ix.tools.items():
        out = ix.produced(a)
        text_a = _bag(" ".join([a, ta.get("description", "")] + out["words"]))
        for b, tb in ix.tools.items():
            reasons: dict[str, str] = {}  # param -> strongest reason
            for p in tb["params"]:
                coll = ix.param_entity.get((b, p["name"]))
                pt = _strip_opt(p["type"])
                kind = pt["k"] if pt["k"] != "enum" else "enum:" + pt["name"]
                if coll is not None and coll in out["refs"]:
                    reasons[p["name"]] = "ref"
                elif coll is not None and coll in out["keys"]:
                    reasons[p["name"]] = "key"
                elif out["fields"].get(p["name"]) == kind:
                    reasons[p["name"]] = "field"
                elif coll is not None and coll in ix.touches.get(a, []):
                    reasons[p["name"]] = "entity"
            if not reasons or a == b:
                continue
            base = max(REASON_WEIGHT[r] for r in reasons.values())
            text_b = _bag(" ".join(f"{p['name']} {p.get('description', '')}" for p in tb["params"]
                                   if p["name"] in reasons))
            weight = round(base * (0.5 + 0.5 * cosine(text_a, text_b)), 6)
            g.add_edge(a, b, weight=weight, reasons=dict(sorted(reasons.items())))
    return g


def graph_summary(g: nx.DiGraph) -> dict[str, Any]:
    return {"tools": g.number_of_nodes(), "edges": g.number_of_edges(),
            "edge_list": [{"from": a, "to": b, "weight": d["weight"], "reasons": d["reasons"]}
                          for a, b, d in sorted(g.edges(data=True))]}


# ---- text similarity (offline bag of words)

def _bag(text: str) -> Counter[str]:
    words = _WORD.findall(text.lower().replace("_", " "))
    return Counter(w for w in words if len(w) > 1)


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)


# ---- body analysis: which parameter keys which collection

def _strip_opt(t: dict[str, Any]) -> dict[str, Any]:
    return t["of"] if t["k"] == "opt" else t


def _index_uses(node: Any, out: dict[str, str], fn_entities: dict[str, dict[str, str]]) -> None:
    """Record local-name -> collection for `C[x]`, `insert C[x]`, `delete C[x]`, `x in C` and helper calls."""
    if isinstance(node, list):
        for x in node:
            _index_uses(x, out, fn_entities)
        return
    if not isinstance(node, dict):
        return
    obj, key = node.get("obj"), node.get("key")
    if isinstance(obj, dict) and isinstance(key, dict) and obj.get("e") == "state" and key.get("e") == "local":
        out.setdefault(key["name"], obj["name"])
    if node.get("e") == "bin" and node.get("op") in ("in", "not in"):
        left, right = node["l"], node["r"]
        if left.get("e") == "local" and right.get("e") == "state":
            out.setdefault(left["name"], right["name"])
    if node.get("e") == "fcall" and node.get("fn") in fn_entities:
        params = fn_entities[node["fn"]]
        for i, arg in enumerate(node.get("args", [])):
            if isinstance(arg, dict) and arg.get("e") == "local" and i in params:  # type: ignore[comparison-overlap]
                out.setdefault(arg["name"], params[i])  # type: ignore[index]
    for v in node.values():
        if isinstance(v, (dict, list)):
            _index_uses(v, out, fn_entities)


def _function_param_entities(ir: dict[str, Any]) -> dict[str, dict[Any, str]]:
    """For each helper fn: parameter position -> collection it keys. Iterated to a fixpoint, since
    helpers call helpers (never recursively)."""
    result: dict[str, dict[Any, str]] = {f["name"]: {} for f in ir.get("functions", [])}
    for _ in range(len(result) + 1):
        changed = False
        for f in ir.get("functions", []):
            uses: dict[str, str] = {}
            _index_uses(f["body"], uses, result)  # type: ignore[arg-type]
            by_pos = {i: uses[p["name"]] for i, p in enumerate(f["params"]) if p["name"] in uses}
            if by_pos != result[f["name"]]:
                result[f["name"]] = by_pos
                changed = True
        if not changed:
            break
    return result


def _param_entities(tool: dict[str, Any], fn_entities: dict[str, dict[Any, str]]) -> dict[str, str]:
    uses: dict[str, str] = {}
    _index_uses(tool["body"], uses, fn_entities)  # type: ignore[arg-type]
    names = {p["name"] for p in tool["params"]}
    return {k: v for k, v in uses.items() if k in names}


def _collections_touched(node: Any, ir: dict[str, Any], seen: set[str]) -> set[str]:
    out: set[str] = set()
    stack = [node.get("body", [])] if isinstance(node, dict) and "body" in node and "params" in node else [node]
    fns = {f["name"]: f for f in ir.get("functions", [])}
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, dict):
            if x.get("e") == "state":
                out.add(x["name"])
            if x.get("e") == "fcall" and x.get("fn") in fns and x["fn"] not in seen:
                seen.add(x["fn"])
                stack.append(fns[x["fn"]]["body"])
            stack.extend(v for v in x.values() if isinstance(v, (dict, list)))
    return out
