"""IR -> the files of one importable Python package (generated/<domain>/)."""

from __future__ import annotations

import json
import keyword
import pprint
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from envdsl import ir as IR
from envdsl.codegen.models import models_source_parts
from envdsl.codegen.openai_schema import tool_schemas
from envdsl.codegen.pybody import _PY_TAKEN, BodyWriter, Namer, literal, py_type

TEMPLATES = Path(__file__).with_name("templates")


def _docstring(text: str) -> str:
    """Spec text (or a file name) made safe inside a triple-quoted docstring: backslashes and
    triple quotes escaped, and every character Python source cannot hold as itself (NUL, lone
    surrogates, carriage returns, other control characters) written as an escape."""
    text = (text or "").replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()
    if text.endswith('"'):
        text += " "
    return "".join(ch if ch == "\n" or (ch.isprintable() and not "\ud800" <= ch <= "\udfff")
                   else ascii(ch)[1:-1] for ch in text)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["pyliteral"] = literal
    env.filters["docstring"] = _docstring
    return env


def pydata(value: Any, indent: int = 4) -> str:
    """JSON data as a readable, deterministic Python literal."""
    text = pprint.pformat(value, indent=1, width=110, sort_dicts=False, compact=False)
    pad = " " * indent
    return text.replace("\n", "\n" + pad)


def runtime_tables(ir: dict[str, Any]) -> dict[str, Any]:
    """What the runtime needs to know about types: records, enums, unions, state fields."""
    types = {
        "records": {r["name"]: r["fields"] for r in ir["records"]},
        "enums": {e["name"]: e["members"] for e in ir["enums"]},
        "unions": {u["name"]: {"tag": u["tag"], "variants": {v["value"]: v["record"] for v in u["variants"]}}
                   for u in ir["unions"]},
    }
    state_fields = []
    for s in ir["state"]:
        entry = {"name": s["name"], "kind": s["kind"], "type": s["type"]}
        if s["kind"] == "collection":
            entry.update({"record": s["record"], "key": s["key"]})
        else:
            entry.update({"default": s.get("default"), "constraints": s.get("constraints", {})})
        if s.get("actor", "agent") != "agent":  # only the user's side is marked: one-actor packages stay as they were
            entry["actor"] = s["actor"]
        state_fields.append(entry)
    return {"types": types, "state_fields": state_fields}


def class_name(domain: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in domain.split("_") if part) + "Environment"


def render_package(ir: dict[str, Any], seed: Any, source: str, package: str) -> dict[str, bytes]:
    domain = ir["domain"]["name"]
    # tools.py is one Python scope: functions, invariants and constants claim distinct names there
    module = Namer(_PY_TAKEN | set(keyword.softkwlist) | {"Db", "annotations"})
    hooks_ir = ir.get("hooks", [])
    fn_names = {f["name"]: module.claim(f["name"]) for f in ir["functions"] + ir["tools"] + hooks_ir}
    invariant_names = [module.claim(f"invariant_{i}") for i in range(1, len(ir["invariants"]) + 1)]
    const_names = {c["name"]: module.claim("C_" + c["name"]) for c in ir["consts"]}
    module_names = set(module.used)
    functions = []
    param_names: dict[str, dict[str, str]] = {}  # tool -> spec parameter -> Python parameter
    for kind, items in (("fn", ir["functions"]), ("tool", ir["tools"]), ("hook", hooks_ir)):
        for f in items:
            w = BodyWriter(fn_names, const_names, module_names)
            params = []
            for p in f["params"]:
                py = w.bind(p["name"])
                param_names.setdefault(f["name"], {})[p["name"]] = py
                params.append(f"{py}: {py_type(p['type'])}")
            w.block(f["body"], 0)
            body = w.lines
            uses_state = any("S[" in ln or "(S," in ln for ln in body)
            if uses_state:
                body = ["S = db.data"] + body
            functions.append({"py": fn_names[f["name"]], "signature": ", ".join(["db: Db"] + params),
                              "doc": f["description"] or f"{kind} {f['name']}", "line": f["line"],
                              "kind": _kind(kind, f), "body": body})
    invariants = []
    for inv, inv_py in zip(ir["invariants"], invariant_names, strict=True):
        w = BodyWriter(fn_names, const_names, module_names)
        code = w.expr(inv["expr"])
        body = (["S = db.data"] if "S[" in code else []) + [f"return bool({code})"]
        functions.append({"py": inv_py, "signature": "db: Db", "doc": inv["description"],
                          "line": inv.get("line", 0), "kind": "invariant", "body": body})
        invariants.append({"description": inv["description"], "py": inv_py})
    consts = [{"py": const_names[c["name"]], "type": py_type(c["type"]), "value": literal(c["value"])}
              for c in ir["consts"]]
    schemas = tool_schemas(ir)
    user_schemas = tool_schemas(ir, "user")
    tables = runtime_tables(ir)

    def spec_entry(t: dict[str, Any], effect: str) -> dict[str, Any]:
        tool_params = [{"name": p["name"], "py": param_names[t["name"]][p["name"]], "type": p["type"],
                        "constraints": p.get("constraints", {}),
                        **({"default": p["default"]} if "default" in p else {})}
                       for p in t["params"]]
        return {"name": t["name"], "py": fn_names[t["name"]], "effect": effect,
                "params": pydata(tuple(tool_params), 8), "returns": pydata(t["returns"], 8)}

    # each actor's tools in a table of its own: TOOLS (the agent's) is what every consumer offers an agent
    tools = [spec_entry(t, t["effect"]) for t in ir["tools"] if t.get("actor", "agent") == "agent"]
    user_tools = [spec_entry(t, t["effect"]) for t in ir["tools"] if t.get("actor", "agent") == "user"]
    env_functions = [spec_entry(f, "write" if f.get("writes") else "read") for f in ir["functions"] if f.get("env")]
    hooks = [fn_names[h["name"]] for h in hooks_ir]
    cname = class_name(domain)
    env = _env()
    common = {"domain": domain, "source": source, "description": ir["domain"]["description"],
              "class_name": cname, "package": package}
    files = {
        "__init__.py": env.get_template("__init__.py.j2").render(
            **common, first_tool=ir["tools"][0]["name"] if ir["tools"] else ""),
        "tools.py": env.get_template("tools.py.j2").render(**common, consts=consts, functions=functions),
        "models.py": env.get_template("models.py.j2").render(**common, **models_source_parts(ir)),
        "environment.py": env.get_template("environment.py.j2").render(
            **common, policy=ir["policy"]["text"] or "", seed_file="seed.json" if seed is not None else None,
            generator=pydata(ir["generator"]["counts"] if ir["generator"] else None),
            types=pydata(tables["types"]), state_fields=pydata(tables["state_fields"]), tools=tools,
            schemas=pydata(schemas), invariants=invariants, user_tools=user_tools,
            user_schemas=pydata(user_schemas), env_functions=env_functions, hooks=hooks),
        "tools.json": json.dumps(schemas, indent=2, ensure_ascii=False) + "\n",
        # the IR travels with the package: property tests and task sampling read its typed dataflow
        "ir.json": IR.dumps(ir),
    }
    if user_schemas:  # the user's tools, for a simulated user: never in tools.json, which is the agent's
        files["user_tools.json"] = json.dumps(user_schemas, indent=2, ensure_ascii=False) + "\n"
    out = {name: text.encode("utf-8") for name, text in files.items()}
    if seed is not None:
        out["seed.json"] = json.dumps(seed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    return out


def _kind(kind: str, f: dict[str, Any]) -> str:
    if kind == "tool":
        return f"{tool_effect(f)} tool" + (" of the user" if f.get("actor") == "user" else "")
    if kind == "hook":
        return "hook, run after every successful call"
    return "env fn" if f.get("env") else "helper fn"


def tool_effect(f: dict[str, Any]) -> str:
    return str(f.get("effect", ""))
