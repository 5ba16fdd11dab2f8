"""The offline spec writer: a domain's tools -> a .env spec and its seed data, from heuristics alone.

Every record has a str key `id`, a `name`, its inferred fields (all optional, so any tool can make
one) and, when some tool acts on it, `last_action`. Tool bodies follow the tool's kind:
get -> the record by key (or by a field); list -> records filtered by the parameters that match
fields; create -> a new record; update -> assign the given fields; delete -> remove by key (or
remove the records matching the filters). The seed holds SEED_RECORDS records per entity whose
values come from the schemas' enums, examples and defaults where there are some, so that a get
with a key from the seed returns a record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from envdsl.synth import naming as N
from envdsl.synth.infer import CREATE, DELETE, GET, LIST, UPDATE, DomainModel, Entity, Param, ToolPlan, infer_domain
from envdsl.synth.sources import Tool

SEED_RECORDS = 3
FIRST_NUMERIC_KEY = 1001
# locals the bodies use: parameters spelled like them are renamed
LOCALS = frozenset("rows rec key n i x doomed found".split())


@dataclass
class SpecFiles:
    domain: str
    spec: str  # the .env text
    seed: dict[str, Any]  # the seed JSON
    tools: list[str]  # ids of the tools the spec implements
    probes: list[dict[str, Any]]  # calls that must succeed on the seed: {"tool", "args"}

    def seed_json(self) -> str:
        return json.dumps(self.seed, indent=1, ensure_ascii=False) + "\n"


def write_domain(domain: str, tools: list[Tool]) -> SpecFiles:
    model = infer_domain(tools)
    name_everything(model)
    seed = seed_state(model)
    return SpecFiles(domain, render_spec(domain, tools, model), seed, [t.id for t in tools], probes(model, seed))


# --- names ---------------------------------------------------------------------------------------

def name_everything(model: DomainModel) -> None:
    """Record, collection, helper and tool names unique; parameters clear of every global and local."""
    param_names = {p.name for plan in model.plans for p in plan.params}
    globals_ = N.NameSpace(N.BUILTINS | LOCALS | param_names)
    types = N.NameSpace()
    for noun, e in sorted(model.entities.items()):
        e.record = types.claim(N.type_name(noun, fallback="Item"))
        e.collection = globals_.claim(N.identifier(N.plural(noun)))
        e.lookup_fn = globals_.claim(f"lookup_{noun}")
    # tools may share a parameter's name, never a builtin's, a collection's or a helper's
    tool_space = N.NameSpace((globals_.taken - param_names) | N.BUILTINS | types.taken)
    for plan in model.plans:
        plan.name = tool_space.claim(plan.name)
    reserved = N.BUILTINS | LOCALS | types.taken | {e.collection for e in model.entities.values()} | \
        {e.lookup_fn for e in model.entities.values()}
    for plan in model.plans:
        space = N.NameSpace({p.name for p in plan.params} | reserved)
        for p in plan.params:
            if p.name in reserved:
                p.name = space.claim(f"{p.name}_arg")


# --- spec text -----------------------------------------------------------------------------------

def render_spec(domain: str, tools: list[Tool], model: DomainModel) -> str:
    apis = sorted({t.api for t in tools})
    about = next((t.api_description for t in tools if t.api_description), "") or f"Tools of {', '.join(apis)}"
    out = [f"# Synthesised by `envdsl synth` (heuristic writer) from {len(tools)} tools of: {', '.join(apis)}"[:400],
           f"domain {domain} {N.string_literal(about, 200)}",
           f'seed "{domain}.seed.json"', ""]
    for e in sorted(model.entities.values(), key=lambda e: e.record):
        out.extend(render_record(e))
    out.append("state {")
    for e in sorted(model.entities.values(), key=lambda e: e.record):
        out.append(f"  {e.collection}: collection<{e.record}> by id {N.string_literal('All ' + N.plural(e.noun))}")
    out.append("}")
    out.append("")
    for e in sorted(model.entities.values(), key=lambda e: e.record):
        out.append(f"fn {e.lookup_fn}(key: str) -> {e.record} {{")
        out.append(f'  return {e.collection}[key] ?? fail f"{e.record} {{key}} not found"')
        out.append("}")
        out.append("")
    for plan in model.plans:
        out.extend(render_tool(plan))
        out.append("")
    return "\n".join(out)


def render_record(e: Entity) -> list[str]:
    article = "An" if e.label[:1] in "aeiou" else "A"
    lines = [f"record {e.record} {N.string_literal(f'{article} {e.label}')} {{",
             f"  id: str {N.string_literal('Key of the ' + e.label)}",
             f"  name: str {N.string_literal('Display name of the ' + e.label)}"]
    for f in e.fields.values():
        desc = f" {N.string_literal(f.description, 160)}" if f.description else ""
        lines.append(f"  {f.name}: {f.type}? = null{desc}")
    if e.has_updates:
        lines.append(f"  last_action: str? = null {N.string_literal('The last action applied to this ' + e.label)}")
    lines.append("}")
    lines.append("")
    return lines


def literal(value: Any) -> str:
    if isinstance(value, str):
        return N.string_literal(value, 10_000)
    if isinstance(value, float):
        return repr(value) if "e" in repr(value) or "." in repr(value) else f"{value}.0"
    return str(int(value))


def render_param(p: Param) -> str:
    annotations = []
    required = p.required or p.role == "key" or p.role == "selector"
    desc = p.description
    if p.enum and required:
        annotations.append("@one_of(" + ", ".join(literal(v) for v in p.enum) + ")")
    elif p.enum:
        # not @one_of on an optional parameter: its published schema would reject null (codegen issue)
        desc = f"{desc} One of: {', '.join(str(v) for v in p.enum)}.".strip()
    if p.minimum is not None:
        annotations.append(f"@min({literal(int(p.minimum) if p.type == 'int' else p.minimum)})")
    if p.maximum is not None:
        annotations.append(f"@max({literal(int(p.maximum) if p.type == 'int' else p.maximum)})")
    if p.min_len is not None or p.max_len is not None:
        annotations.append(f"@len({p.min_len or 0}, {p.max_len if p.max_len is not None else 100_000})")
    ann = (" " + " ".join(annotations)) if annotations else ""
    if p.original != p.name:
        desc = f"{desc} (API name: {p.original})".strip()
    if p.role == "key" and not p.required:
        desc = f"{desc} (optional in the API)".strip()
    text = f" {N.string_literal(desc, 200)}" if desc else ""
    return f"{p.name}: {p.type}{ann}{text}" if required else f"{p.name}: {p.type}?{ann} = null{text}"


def render_tool(plan: ToolPlan) -> list[str]:
    t = plan.tool
    e = plan.entity
    returns = {GET: e.record, LIST: f"list<{e.record}>", CREATE: e.record, UPDATE: e.record,
               DELETE: "str" if plan.key or plan.selector else "int"}[plan.kind]
    about = t.description or f"{plan.kind.capitalize()} {e.label} records"
    description = N.string_literal(f"{about} [API {t.api}, tool {t.name}]", 400)
    params = [render_param(p) for p in plan.params]
    head = f"{'read' if plan.read_only else 'write'} tool {plan.name}("
    lines = [head + (", ".join(params)) + f") -> {returns}" if len(params) <= 2 else head]
    if len(params) > 2:
        lines.extend(f"  {p}," for p in params)
        lines[-1] = lines[-1].rstrip(",")
        lines.append(f") -> {returns}")
    lines.append(f"  {description}")
    lines.append("{")
    lines.extend("  " + s for s in BODIES[plan.kind](plan))
    lines.append("}")
    return lines


def key_expr(p: Param) -> str:
    return f"str({p.name})" if p.type == "int" else p.name


def select(plan: ToolPlan) -> list[str]:
    """Statements binding `rec` to the record the tool acts on (by key, or by a field's value)."""
    e = plan.entity
    if plan.key is not None:
        return [f"let rec = {e.lookup_fn}({key_expr(plan.key)})"]
    s = plan.selector
    assert s is not None and s.field is not None
    return [f"let found = first([x.id for x in {e.collection} if x.{s.field} == {s.name}]) ?? "
            f'fail f"No {e.label} with {s.field} {{{s.name}}}"',
            f"let rec = {e.lookup_fn}(found)"]


def filters(plan: ToolPlan) -> str:
    conds = []
    for p in plan.params:
        if p.role == "query":
            conds.append(f"fold({p.name}) in fold(x.name)" if p.required else
                         f"({p.name} == null or fold({p.name} ?? \"\") in fold(x.name))")
        elif p.field and p.type in ("str", "int", "float", "bool"):
            conds.append(f"x.{p.field} == {p.name}" if p.required else
                         f"({p.name} == null or x.{p.field} == {p.name})")
    return " and ".join(conds)


def body_get(plan: ToolPlan) -> list[str]:
    return [*select(plan), "return rec"]


def body_list(plan: ToolPlan) -> list[str]:
    e = plan.entity
    cond = filters(plan)
    rows = f"[x for x in {e.collection} if {cond}]" if cond else f"values({e.collection})"
    limit = next((p for p in plan.params if p.role == "limit"), None)
    if limit is None:
        return [f"return {rows}"]
    bound = limit.name if limit.required else f"{limit.name} ?? len(rows)"
    return [f"let rows = {rows}", f"return slice(rows, 0, {bound})"]


def body_create(plan: ToolPlan) -> list[str]:
    e = plan.entity
    out: list[str] = []
    if plan.key is not None:
        out += [f"let key = {key_expr(plan.key)}",
                f'require key not in {e.collection} else f"{e.record} {{key}} already exists"']
    elif e.numeric_key:
        out += [f"let n = {FIRST_NUMERIC_KEY}",
                f"for i in range(len({e.collection}) + 1) {{ if str(n) in {e.collection} {{ n += 1 }} }}",
                "let key = str(n)"]
    else:
        out.append(f'let key = new_id({e.collection}, "{id_prefix(e)}_")')
    label = next((p for p in plan.params if p.role == "label"), None)
    name = f'f"{e.label} {{key}}"'
    if label is not None:
        name = label.name if label.required else f"{label.name} ?? {name}"
    args = ["id=key", f"name={name}"] + [f"{p.field}={p.name}" for p in plan.params if p.field]
    out.append(f"insert {e.collection}[key] = {e.record}({', '.join(args)})")
    out.append(f"return {e.collection}[key]")
    return out


def body_update(plan: ToolPlan) -> list[str]:
    out = select(plan)
    for p in plan.params:
        if p.role == "label":
            out.append(f"rec.name = {p.name}" if p.required else f"rec.name = {p.name} ?? rec.name")
        elif p.field and p.role != "selector":
            out.append(f"rec.{p.field} = {p.name}" if p.required else
                       f"if {p.name} != null {{ rec.{p.field} = {p.name} }}")
    out.append(f'rec.last_action = "{plan.name}"')
    out.append("return rec")
    return out


def body_delete(plan: ToolPlan) -> list[str]:
    e = plan.entity
    if plan.key is None and plan.selector is None:
        cond = filters(plan)
        return [f"let doomed = [x.id for x in {e.collection}{' if ' + cond if cond else ''}]",
                f"for key in doomed {{ delete {e.collection}[key] }}",
                "return len(doomed)"]
    return [*select(plan), "let key = rec.id", f"delete {e.collection}[key]",
            f'return f"Deleted {e.label} {{key}}"']


BODIES = {GET: body_get, LIST: body_list, CREATE: body_create, UPDATE: body_update, DELETE: body_delete}


# --- seed ----------------------------------------------------------------------------------------

def id_prefix(e: Entity) -> str:
    return "".join(w[:1] for w in e.noun.split("_"))[:3] + e.noun.split("_")[-1][:3] if "_" in e.noun else e.noun[:6]


def seed_keys(e: Entity) -> list[str]:
    if e.numeric_key:
        return [str(FIRST_NUMERIC_KEY + i) for i in range(SEED_RECORDS)]
    # the form new_id() makes, so created records continue the sequence
    return [f"{id_prefix(e)}_{i + 1:04d}" for i in range(SEED_RECORDS)]


def seed_state(model: DomainModel) -> dict[str, Any]:
    keys = {noun: seed_keys(e) for noun, e in model.entities.items()}
    state: dict[str, Any] = {}
    for noun, e in sorted(model.entities.items(), key=lambda kv: kv[1].collection):
        rows = {}
        for i, key in enumerate(keys[noun]):
            row: dict[str, Any] = {"id": key, "name": f"{e.label.capitalize()} {i + 1}"}
            for f in e.fields.values():
                row[f.name] = seed_value(f.name, f.type, f.enum, f.examples, i, keys)
            rows[key] = row
        state[e.collection] = rows
    return state


def seed_value(name: str, ftype: str, enum: list[Any] | None, examples: list[Any], i: int,
               keys: dict[str, list[str]]) -> Any:
    if enum:
        return enum[i % len(enum)]
    want: Any = {"str": str, "int": int, "float": (int, float), "bool": bool}.get(ftype)
    fitting = [x for x in examples if want is not None and isinstance(x, want) and
               (ftype == "bool" or not isinstance(x, bool)) and (not isinstance(x, str) or len(x) <= 200)]
    if fitting:
        return fitting[i % len(fitting)]
    ws = N.words(name)
    if ftype == "str":
        if len(ws) >= 2 and ws[-1] == "id" and N.identifier("_".join(ws[:-1])) in keys:
            return keys[N.identifier("_".join(ws[:-1]))][i]  # points at a record of that entity
        if any(w in ("date", "day", "time", "at", "timestamp") for w in ws):
            return f"2024-0{i + 1}-1{i} 09:00:00" if "time" in ws or "at" in ws else f"2024-0{i + 1}-1{i}"
        if "email" in ws:
            return f"user{i + 1}@example.com"
        if "url" in ws or "link" in ws:
            return f"https://example.com/{name}/{i + 1}"
        return f"{' '.join(ws) or name} {i + 1}"
    if ftype == "int":
        return (i + 1) * 10
    if ftype == "float":
        return round((i + 1) * 12.5, 2)
    if ftype == "bool":
        return i % 2 == 0
    if ftype.startswith("list<"):
        return []
    return {}


# --- probes --------------------------------------------------------------------------------------

def probes(model: DomainModel, seed: dict[str, Any]) -> list[dict[str, Any]]:
    """For each get tool, a call with a key (or field value) of the seed's first record: it must succeed."""
    out = []
    for plan in model.plans:
        if plan.kind != GET:
            continue
        first = next(iter(seed[plan.entity.collection].values()))
        args: dict[str, Any] = {}
        for p in plan.params:
            if p is plan.key:
                args[p.name] = int(first["id"]) if p.type == "int" else first["id"]
            elif p is plan.selector:
                args[p.name] = first[p.field or ""]
            elif p.required:
                args[p.name] = probe_value(p)
        out.append({"tool": plan.name, "args": args})
    return out


def probe_value(p: Param) -> Any:
    if p.enum:
        return p.enum[0]
    if p.type == "int":
        return int(p.minimum) if p.minimum is not None else 1
    if p.type == "float":
        return p.minimum if p.minimum is not None else 1.0
    if p.type == "bool":
        return True
    if p.type.startswith("list<"):
        return []
    if p.type.startswith("map<"):
        return {}
    return "x" * max(1, p.min_len or 1)
