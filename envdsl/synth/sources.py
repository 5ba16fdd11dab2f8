"""Readers: tool collections in, one `Tool` per function out.

Three input shapes are understood:
- JSONL (plain or gzip) in the shape of /work/shared/data/tools (one tool a line);
- a JSON file holding a list of OpenAI function schemas (`{"type": "function", "function": {...}}`
  or bare `{"name", "description", "parameters"}`), or an object with such a list under "tools"/"functions";
- an OpenAPI 3 (or Swagger 2) document, JSON or YAML: one tool per operation, local `$ref`s inlined
  to a fixed depth so recursive schemas terminate.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
REF_DEPTH = 3  # how deep $refs are inlined before a stub replaces them


@dataclass
class Tool:
    id: str
    source: str
    api: str
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    returns: Any = None
    api_description: str = ""
    category: str | None = None
    origin: str = ""

    @property
    def http_method(self) -> str | None:
        """The HTTP method named in `origin` (`...#GET /path`), lower case, when there is one."""
        m = re.search(r"#(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS)\b", self.origin)
        return m.group(1).lower() if m else None

    @property
    def properties(self) -> dict[str, Any]:
        props = (self.parameters or {}).get("properties") or {}
        return props if isinstance(props, dict) else {}

    @property
    def required(self) -> list[str]:
        req = (self.parameters or {}).get("required") or []
        return [r for r in req if isinstance(r, str)] if isinstance(req, list) else []

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, rec: dict[str, Any]) -> "Tool":
        params = rec.get("parameters")
        if not isinstance(params, dict):
            params = {"type": "object", "properties": {}}
        return cls(id=str(rec["id"]), source=str(rec.get("source") or ""), api=str(rec.get("api") or ""),
                   name=str(rec["name"]), description=str(rec.get("description") or ""), parameters=params,
                   returns=rec.get("returns"), api_description=str(rec.get("api_description") or ""),
                   category=rec.get("category"), origin=str(rec.get("origin") or ""))


class SourceError(ValueError):
    """An input file that is not one of the understood shapes."""


def read_inputs(paths: Sequence[str | Path]) -> list[Tool]:
    """Every tool of every input (folders are read file by file, sorted), ids made unique."""
    tools: list[Tool] = []
    for p in paths:
        path = Path(p)
        files = sorted(f for f in path.rglob("*") if f.is_file() and is_input_file(f)) if path.is_dir() else [path]
        for f in files:
            tools.extend(read_file(f))
    return dedupe_ids(tools)


def is_input_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz", ".yaml", ".yml"))


def read_file(path: Path) -> list[Tool]:
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return list(read_jsonl(path))
    data = load_document(path)
    if isinstance(data, dict) and ("openapi" in data or "swagger" in data):
        return read_openapi(data, api=api_name_of(data, path))
    listed = data.get("tools", data.get("functions")) if isinstance(data, dict) else data
    if isinstance(listed, list):
        return read_function_list(data, api=stem(path))
    raise SourceError(f"{path}: neither an OpenAPI document nor a list of function schemas")


def stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json", ".yaml", ".yml"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def open_text(path: Path) -> Any:
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")


def load_document(path: Path) -> Any:
    with open_text(path) as fh:
        text = fh.read()
    if path.name.lower().endswith((".yaml", ".yml")):
        import yaml  # only YAML inputs need it

        return yaml.safe_load(text)
    return json.loads(text)


def read_jsonl(path: Path) -> Iterator[Tool]:
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield Tool.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as e:
                raise SourceError(f"{path}:{lineno}: not a tool record ({type(e).__name__}: {e})") from None


def read_function_list(data: Any, api: str) -> list[Tool]:
    items = data if isinstance(data, list) else data.get("tools", data.get("functions"))
    out = []
    for i, item in enumerate(items):
        fn = item.get("function", item) if isinstance(item, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise SourceError(f"{api}: item {i} is not a function schema")
        params = fn.get("parameters")
        out.append(Tool(id=f"functions/{api}/{fn['name']}", source="functions", api=api, name=fn["name"],
                        description=str(fn.get("description") or ""),
                        parameters=params if isinstance(params, dict) else {"type": "object", "properties": {}},
                        returns=fn.get("returns"), origin=f"{api}#{i}"))
    return out


# --- OpenAPI -------------------------------------------------------------------------------------

def api_name_of(doc: dict[str, Any], path: Path) -> str:
    title = (doc.get("info") or {}).get("title")
    return str(title).strip() if isinstance(title, str) and title.strip() else stem(path)


def read_openapi(doc: dict[str, Any], api: str) -> list[Tool]:
    info = doc.get("info") or {}
    api_description = str(info.get("description") or info.get("title") or "")[:500]
    out = []
    seen: set[str] = set()
    for route, item in sorted((doc.get("paths") or {}).items()):
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            name = unique_name(operation_name(op, method, route), seen)
            params = operation_parameters(doc, shared + (op.get("parameters") or []), op.get("requestBody"))
            description = str(op.get("summary") or "")
            if op.get("description") and op.get("description") != description:
                description = (description + ". " if description else "") + str(op["description"])
            out.append(Tool(id=f"openapi/{api}/{name}", source="openapi", api=api, name=name,
                            description=description[:500], parameters=params,
                            returns=operation_returns(doc, op), api_description=api_description,
                            category=None, origin=f"{api}#{method.upper()} {route}"))
    return out


def operation_name(op: dict[str, Any], method: str, route: str) -> str:
    raw = op.get("operationId") or f"{method}_{route}"
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(raw))
    name = re.sub(r"[^A-Za-z0-9]+", "_", words).strip("_").lower()
    return (name or method)[:64]


def unique_name(name: str, seen: set[str]) -> str:
    out, n = name, 2
    while out in seen:
        out = f"{name[:60]}_{n}"
        n += 1
    seen.add(out)
    return out


def operation_parameters(doc: dict[str, Any], params: list[Any], body: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for p in params:
        p = resolve(doc, p, 0)
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            continue
        if p.get("in") == "body":  # Swagger 2: the body is a parameter
            body = {"content": {"application/json": {"schema": p.get("schema") or {}}}, "required": p.get("required")}
            continue
        if p.get("in") == "header" and p["name"].lower() in ("authorization", "accept", "content-type"):
            continue
        pschema = dict(resolve(doc, p.get("schema") or {k: v for k, v in p.items() if k in ("type", "enum", "items",
                                                                                       "format", "default")}, 0))
        if p.get("description") and "description" not in pschema:
            pschema["description"] = str(p["description"])
        props[p["name"]] = pschema
        if p.get("required") or p.get("in") == "path":
            required.append(p["name"])
    schema = body_schema(doc, body)
    if schema is not None:
        if schema.get("type") == "object" or "properties" in schema:
            for k, v in (schema.get("properties") or {}).items():
                key = k if k not in props else f"body_{k}"
                props[key] = v
                if k in (schema.get("required") or []):
                    required.append(key)
        else:
            props["body"] = schema
            if isinstance(body, dict) and body.get("required"):
                required.append("body")
    return {"type": "object", "properties": props, "required": required}


def body_schema(doc: dict[str, Any], body: Any) -> dict[str, Any] | None:
    body = resolve(doc, body, 0)
    if not isinstance(body, dict):
        return None
    content = body.get("content") or {}
    for media in ("application/json", *sorted(content)):
        schema = (content.get(media) or {}).get("schema")
        if isinstance(schema, dict):
            out = resolve(doc, schema, 0)
            return out if isinstance(out, dict) else None
    return None


def operation_returns(doc: dict[str, Any], op: dict[str, Any]) -> Any:
    responses = op.get("responses") or {}
    for code in sorted(responses, key=str):
        if not str(code).startswith("2"):
            continue
        resp = resolve(doc, responses[code], 0)
        if not isinstance(resp, dict):
            continue
        if isinstance(resp.get("schema"), dict):  # Swagger 2
            return resolve(doc, resp["schema"], 0)
        schema = body_schema(doc, resp)
        if schema is not None:
            return schema
    return None


def resolve(doc: dict[str, Any], node: Any, depth: int) -> Any:
    """`node` with local `$ref`s replaced by what they point at, down to REF_DEPTH nested refs."""
    if isinstance(node, list):
        return [resolve(doc, x, depth) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if depth >= REF_DEPTH or not ref.startswith("#/"):
            return {"type": "object", "description": f"see {ref}"}
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            return {"type": "object", "description": f"unresolved {ref}"}
        return resolve(doc, target, depth + 1)
    return {k: resolve(doc, v, depth) for k, v in node.items()}


def dedupe_ids(tools: list[Tool]) -> list[Tool]:
    seen: set[str] = set()
    for t in tools:
        base, n = t.id, 2
        while t.id in seen:
            t.id = f"{base}#{n}"
            n += 1
        seen.add(t.id)
    return tools
