"""A small JSON Schema validator for the subset envdsl publishes in tool schemas.

Written independently of the runtime's validator (envdsl/runtime/validate.py) on purpose: the
gate checks that the two agree, so they must not share code. Integers are JSON integers
(Python int, never bool); numbers are int or float; `pattern` is searched, as JSON Schema says.
A keyword outside the subset raises UnsupportedSchema, so a codegen change that publishes
something new is noticed instead of silently ignored.
"""

from __future__ import annotations

import re
from typing import Any

from envdsl.runtime.dates import date_problem, datetime_problem

ANNOTATIONS = frozenset({"description", "default", "examples", "title"})
KNOWN = ANNOTATIONS | {"type", "enum", "anyOf", "items", "properties", "required", "additionalProperties",
                       "propertyNames", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
                       "minProperties", "maxProperties", "pattern", "format"}
# the string formats envdsl publishes: a date and a datetime in the runtime's one ISO form (no zone)
FORMATS = {"date": date_problem, "date-time": datetime_problem}


class UnsupportedSchema(ValueError):
    pass


def json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _has_type(v: Any, name: str) -> bool:
    kind = json_kind(v)
    return kind == name or (name == "number" and kind == "integer")


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, but 1 equals 1.0."""
    ka, kb = json_kind(a), json_kind(b)
    if {ka, kb} <= {"integer", "number"}:
        return bool(a == b)
    if ka != kb:
        return False
    if ka == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if ka == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def schema_problems(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What is wrong with `value` under `schema`, as 'path: problem' lines; empty when valid."""
    unknown = set(schema) - KNOWN
    if unknown:
        raise UnsupportedSchema(f"{path}: unsupported JSON Schema keyword(s) {sorted(unknown)}")
    out: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_has_type(value, t) for t in types):
            return [f"{path}: expected {'/'.join(types)}, got {json_kind(value)}"]
    if "enum" in schema and not any(json_equal(value, m) for m in schema["enum"]):
        out.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "anyOf" in schema and not any(not schema_problems(value, s, path) for s in schema["anyOf"]):
        out.append(f"{path}: matches none of the {len(schema['anyOf'])} alternatives")
    kind = json_kind(value)
    if kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{path}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    elif kind == "string":
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{path}: does not match {schema['pattern']!r}")
        if "format" in schema:
            check = FORMATS.get(schema["format"])
            if check is None:
                raise UnsupportedSchema(f"{path}: unsupported string format {schema['format']!r}")
            problem = check(value)
            if problem is not None:
                out.append(f"{path}: {problem}")
    elif kind == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, x in enumerate(value):
                out.extend(schema_problems(x, schema["items"], f"{path}[{i}]"))
    elif kind == "object":
        out.extend(_object_problems(value, schema, path))
    return out


def _object_problems(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    out: list[str] = []
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            out.append(f"{path}: missing required property {name!r}")
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        out.append(f"{path}: fewer than {schema['minProperties']} properties")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.append(f"{path}: more than {schema['maxProperties']} properties")
    extra = schema.get("additionalProperties", True)
    for key, x in value.items():
        if "propertyNames" in schema:
            out.extend(schema_problems(key, schema["propertyNames"], f"{path} key {key!r}"))
        if key in props:
            out.extend(schema_problems(x, props[key], f"{path}.{key}"))
        elif extra is False:
            out.append(f"{path}: additional property {key!r} is not allowed")
        elif isinstance(extra, dict):
            out.extend(schema_problems(x, extra, f"{path}[{key!r}]"))
    return out
