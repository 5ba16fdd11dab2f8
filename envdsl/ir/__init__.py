"""The intermediate representation: the one contract between the front end and every backend.

The IR is plain JSON data (dicts, lists, strings, numbers), so `envdsl compile --emit ir`
writes exactly what backends read, and nothing in it can hold code. Node shapes are listed
in docs/ir.md. Types are dicts with a kind `k`:

    {"k": "str" | "int" | "float" | "bool" | "null" | "any"}
    {"k": "list", "of": T}            {"k": "map", "key": T, "val": T}
    {"k": "opt", "of": T}             {"k": "record" | "enum" | "union", "name": N}
    {"k": "ref", "coll": C, "key": T}  (a key of state collection C)
    {"k": "date" | "datetime"}         (ISO text YYYY-MM-DD / YYYY-MM-DDTHH:MM:SS, see envdsl.runtime.dates)
"""

from __future__ import annotations

import json
from typing import Any

IR_VERSION = 1

Type = dict[str, Any]

STR: Type = {"k": "str"}
INT: Type = {"k": "int"}
FLOAT: Type = {"k": "float"}
BOOL: Type = {"k": "bool"}
NULL: Type = {"k": "null"}
ANY: Type = {"k": "any"}
NONE: Type = {"k": "none"}  # the result of a function declared without one (not a value: see show)
DATE: Type = {"k": "date"}
DATETIME: Type = {"k": "datetime"}

SCALAR_KINDS = frozenset({"str", "int", "float", "bool", "null", "enum", "ref", "date", "datetime"})


def list_of(t: Type) -> Type:
    return {"k": "list", "of": t}


def map_of(k: Type, v: Type) -> Type:
    return {"k": "map", "key": k, "val": v}


def opt(t: Type) -> Type:
    if t["k"] in ("opt", "null", "any"):
        return t
    return {"k": "opt", "of": t}


def named(kind: str, name: str) -> Type:
    return {"k": kind, "name": name}


def ref(coll: str, key: Type) -> Type:
    return {"k": "ref", "coll": coll, "key": key}


def strip_opt(t: Type) -> Type:
    return t["of"] if t["k"] == "opt" else t


def is_scalar(t: Type) -> bool:
    return strip_opt(t)["k"] in SCALAR_KINDS


def show(t: Type) -> str:
    """A type as a spec author writes it."""
    k = t["k"]
    # unknown: the items of an empty []
    if k in ("str", "int", "float", "bool", "null", "any", "unknown", "date", "datetime"):
        return "unknown" if k in ("any", "unknown") else str(k)
    if k == "none":
        return "nothing"
    if k == "list":
        return f"list<{show(t['of'])}>"
    if k == "map":
        return f"map<{show(t['key'])}, {show(t['val'])}>"
    if k == "opt":
        return f"{show(t['of'])}?"
    if k == "ref":
        return f"ref<{t['coll']}>"
    return str(t["name"])


def dumps(ir: dict[str, Any]) -> str:
    """Canonical text of an IR document: same IR, same bytes."""
    return json.dumps(ir, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
