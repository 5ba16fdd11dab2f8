"""IR types -> JSON Schema, and tools -> OpenAI function-calling schemas."""

from __future__ import annotations

from typing import Any

_PRIM = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_DATE_FORMAT = {"date": "date", "datetime": "date-time"}  # JSON Schema's string formats


class SchemaWriter:
    def __init__(self, ir: dict[str, Any]):
        self.records = {r["name"]: r for r in ir["records"]}
        self.enums = {e["name"]: e for e in ir["enums"]}
        self.unions = {u["name"]: u for u in ir["unions"]}

    def type_schema(self, t: dict[str, Any], stack: tuple[str, ...] = ()) -> dict[str, Any]:
        k = t["k"]
        if k in _PRIM:
            return {"type": _PRIM[k]}
        if k in _DATE_FORMAT:
            return {"type": "string", "format": _DATE_FORMAT[k]}
        if k == "ref":
            return {"type": _PRIM[t["key"]["k"]]}
        if k == "enum":
            return {"type": "string", "enum": list(self.enums[t["name"]]["members"])}
        if k == "opt":
            inner = self.type_schema(t["of"], stack)
            if set(inner) <= {"type"} and isinstance(inner.get("type"), str):
                return {"type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        if k == "list":
            return {"type": "array", "items": self.type_schema(t["of"], stack)}
        if k == "map":
            out: dict[str, Any] = {"type": "object", "additionalProperties": self.type_schema(t["val"], stack)}
            if t["key"]["k"] == "enum":
                out["propertyNames"] = {"enum": list(self.enums[t["key"]["name"]]["members"])}
            return out
        if k == "record":
            return self.record_schema(t["name"], stack)
        if k == "union":
            return {"anyOf": [self.record_schema(v["record"], stack) for v in self.unions[t["name"]]["variants"]]}
        return {}

    def record_schema(self, name: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if name in stack:  # a recursive record: stop inlining
            return {"type": "object"}
        rec = self.records[name]
        props: dict[str, Any] = {}
        required = []
        for f in rec["fields"]:
            if "tag_value" in f:
                props[f["name"]] = {"type": "string", "enum": [f["tag_value"]]}
                required.append(f["name"])
                continue
            props[f["name"]] = self.field_schema(f, stack + (name,))
            if "default" not in f and not f.get("absent"):  # `name?: T`: the key may be left out
                required.append(f["name"])
        out: dict[str, Any] = {"type": "object", "properties": props, "required": required,
                               "additionalProperties": False}
        if rec["description"]:
            out["description"] = rec["description"]
        return out

    def field_schema(self, f: dict[str, Any], stack: tuple[str, ...] = ()) -> dict[str, Any]:
        s = dict(self.type_schema(f["type"], stack))
        c = f.get("constraints", {})
        base = f["type"]["of"] if f["type"]["k"] == "opt" else f["type"]
        sized = {"str": ("minLength", "maxLength"), "list": ("minItems", "maxItems"),
                 "map": ("minProperties", "maxProperties")}.get(base["k"])
        if "min" in c:
            s["minimum"] = c["min"]
        if "max" in c:
            s["maximum"] = c["max"]
        if sized and "min_len" in c:
            s[sized[0]] = c["min_len"]
        if sized and "max_len" in c:
            s[sized[1]] = c["max_len"]
        if "pattern" in c:
            s["pattern"] = c["pattern"]
        if "one_of" in c:
            # an optional field also takes null: the enum must say so, or the schema rejects what the runtime accepts
            s["enum"] = list(c["one_of"]) + ([None] if f["type"]["k"] == "opt" else [])
        if "examples" in c:
            s["examples"] = list(c["examples"])
        if f.get("description"):
            s["description"] = f["description"]
        if "default" in f:
            s["default"] = f["default"]
        return s

    def tool_schema(self, tool: dict[str, Any]) -> dict[str, Any]:
        props = {p["name"]: self.field_schema(p) for p in tool["params"]}
        required = [p["name"] for p in tool["params"] if "default" not in p]
        return {"type": "function",
                "function": {"name": tool["name"], "description": tool["description"],
                             # the runtime rejects unknown arguments, so the schema says so too
                             "parameters": {"type": "object", "properties": props, "required": required,
                                            "additionalProperties": False}}}


def tool_schemas(ir: dict[str, Any], actor: str = "agent") -> list[dict[str, Any]]:
    """The schemas of one actor's tools: the agent's by default, the user's with actor="user"."""
    w = SchemaWriter(ir)
    return [w.tool_schema(t) for t in ir["tools"] if t.get("actor", "agent") == actor]
