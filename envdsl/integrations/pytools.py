"""Python functions with typed signatures and Google-style docstrings for a domain's tools.

TRL (through transformers' `get_json_schema`) and verifiers build a tool's JSON schema from a Python
function's type hints and docstring. The hints are derived here from the domain's own OpenAI schema
(tools.json), so both libraries describe each tool the way envdsl does: names, types, enums, which
arguments are required, descriptions. Constraints that Python hints cannot carry (patterns, bounds)
stay with envdsl, which checks every argument when the tool runs.
"""

from __future__ import annotations

import inspect
import keyword
import re
from typing import Any, Callable, Literal, Union

_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}
RESERVED = {"reset", "get_reward"}  # TRL's environment methods; a tool cannot take these names


def hint(schema: dict[str, Any]) -> Any:
    """The Python type hint of a JSON schema fragment as envdsl's codegen writes them."""
    if "anyOf" in schema:
        parts = [hint(s) for s in schema["anyOf"]]
        return _union(parts)
    if "enum" in schema and schema["enum"]:
        return Literal.__getitem__(tuple(schema["enum"]))  # a Literal built at run time (mypy cannot see it)
    t = schema.get("type")
    if isinstance(t, list):
        return _union([hint({**schema, "type": x}) for x in t])
    if t == "array":
        item = hint(schema["items"]) if isinstance(schema.get("items"), dict) else None
        return list if item is None else list.__class_getitem__(item)  # list[item], built at run time
    if t == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and "properties" not in schema:
            return dict.__class_getitem__((str, hint(extra)))  # dict[str, value], built at run time
        return dict
    if t in _SCALARS:
        return _SCALARS[t]
    return Any


def _union(parts: list[Any]) -> Any:
    return Union.__getitem__(tuple(parts)) if len(parts) > 1 else parts[0]  # type: ignore[attr-defined]


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def docstring(function: dict[str, Any], names: dict[str, str]) -> str:
    """Google style, one line per argument: what transformers' docstring parser reads."""
    params = function["parameters"].get("properties", {})
    lines = [one_line(function.get("description", "")) or function["name"].replace("_", " ")]
    if params:
        lines += ["", "Args:"]
        for name, schema in params.items():
            lines.append(f"    {names[name]}: {one_line(schema.get('description', '')) or name.replace('_', ' ')}")
    lines += ["", "Returns:", "    The tool's result as JSON text, or a message that starts with 'Error:'."]
    return "\n".join(lines)


def python_name(name: str) -> str:
    """A parameter name as a Python identifier (a JSON name such as 'from' becomes 'from_')."""
    out = re.sub(r"\W", "_", name)
    if not out or out[0].isdigit():
        out = "_" + out
    return out + "_" if keyword.iskeyword(out) else out


def tool_method(function: dict[str, Any], run: Callable[[Any, str, dict[str, Any]], str]) -> Callable[..., str]:
    """A method `tool(self, **arguments) -> str` whose signature, hints and docstring describe the tool.

    It takes any keyword arguments so that a wrong call reaches envdsl's validation and comes back as
    an error message the model can read, instead of a TypeError raised before the tool runs."""
    name = function["name"]
    props = function["parameters"].get("properties", {})
    required = set(function["parameters"].get("required", []))
    names = {json_name: python_name(json_name) for json_name in props}
    back = {py: json_name for json_name, py in names.items()}

    def method(self: Any, **arguments: Any) -> str:
        return run(self, name, {back.get(k, k): v for k, v in arguments.items()})

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    # required arguments first: a Python signature cannot put a defaulted one before them
    for json_name in sorted(props, key=lambda n: n not in required):
        schema = props[json_name]
        annotation = hint(schema)
        annotations[names[json_name]] = annotation
        default = inspect.Parameter.empty if json_name in required else schema.get("default")
        params.append(inspect.Parameter(names[json_name], inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=annotation))
    annotations["return"] = str
    method.__name__ = method.__qualname__ = name
    method.__doc__ = docstring(function, names)
    method.__annotations__ = annotations
    method.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
    return method


def tool_functions(env_cls: Any) -> list[dict[str, Any]]:
    """The OpenAI `function` objects of the agent's tools, in declaration order; refuses names that clash
    with the adapters' own methods."""
    from envdsl.integrations.episodes import agent_tools

    wanted = {t["name"] for t in agent_tools(env_cls)}
    out = [s["function"] for s in env_cls.SCHEMAS if s["function"]["name"] in wanted]
    for f in out:
        if f["name"] in RESERVED or f["name"].startswith("_"):
            raise ValueError(f"domain {env_cls.DOMAIN}: tool {f['name']!r} clashes with a method of the "
                             f"environment API ({', '.join(sorted(RESERVED))}, or a leading underscore); rename it")
    return out
