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

from envdsl.lang.dates import exact_problem
from envdsl.synth import naming as N
from envdsl.synth import seed_values as SV
from envdsl.synth.infer import (
    COMPUTE,
    CREATE,
    DELETE,
    GET,
    LIST,
    UPDATE,
    DomainModel,
    Entity,
    Param,
    ToolPlan,
    infer_domain,
    source_fields,
    source_params,
)
from envdsl.synth.sources import Tool

SEED_RECORDS = 3
FIRST_NUMERIC_KEY = 1001
# locals the bodies use: parameters spelled like them are renamed
LOCALS = frozenset("rows rec key n i x v doomed found".split())


@dataclass
class SpecFiles:
    domain: str
    spec: str  # the .env text
    seed: dict[str, Any]  # the seed JSON
    tools: list[str]  # ids of the tools the spec implements
    probes: list[dict[str, Any]]  # calls that must succeed on the seed: {"tool", "args"}
    sources: dict[str, dict[str, Any]] | None = None  # per spec tool, its source's parameters and returns

    def seed_json(self) -> str:
        return json.dumps(self.seed, indent=1, ensure_ascii=False) + "\n"


def write_domain(domain: str, tools: list[Tool]) -> SpecFiles:
    model = infer_domain(tools)
    give_data(model)
    name_everything(model)
    seed = seed_state(model)
    return SpecFiles(domain, render_spec(domain, tools, model), seed, [t.id for t in tools], probes(model, seed),
                     sources(model))


def sources(model: DomainModel) -> dict[str, dict[str, Any]]:
    """What each spec tool's source says, for the fidelity gate (F0109, F0110): its parameters under the
    name-mapping rule, and the scalar top-level fields of its response where it returns the record."""
    out: dict[str, dict[str, Any]] = {}
    for plan in model.plans:
        returns: list[str] = []
        if plan.kind in (GET, CREATE, UPDATE):
            returns = [name for _, name in source_fields(plan.tool.returns) if name in plan.entity.fields]
        # every parameter of the SOURCE (transport ones aside), not only those the writer kept
        kept = {p.original: {"name": p.name, "type": p.type.split("<")[0]} for p in plan.params}
        params = {k: kept.get(k) or v for k, v in source_params(plan.tool).items()}
        out[plan.name] = {"params": params, "returns": returns}
    return out


def give_data(model: DomainModel) -> None:
    """An entity no parameter or response describes still gets what most API resources have (a
    description and a creation time), so its records carry data beyond a key and a name."""
    from envdsl.synth.infer import Field

    for e in model.entities.values():
        if not [f for f in e.fields if f not in (e.status_field, "title", "name", "last_action")]:  # F0106's rule
            e.fields.setdefault("description", Field("description", "str", f"About the {e.label}"))
            e.fields.setdefault("created_at", Field("created_at", "str", f"When the {e.label} was created"))


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
        if plan.kind == COMPUTE:
            plan.result_record = types.claim(N.type_name(plan.name + "_result", fallback="Result"))
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
    out = [f"# Synthesised by `envdsl synth` (heuristic writer) from {len(tools)} tools of: {', '.join(apis)}"[:400]]
    dropped = sorted({d for plan in model.plans for d in plan.dropped})
    if dropped:  # the name-mapping rule leaves out parameters about the call itself (docs/synth.md)
        out.append(N.text("# transport parameters left out: " + ", ".join(dropped), 400))
    out += [f"domain {domain} {N.string_literal(about, 200)}", f'seed "{domain}.seed.json"', ""]
    for plan in model.plans:
        if plan.kind == COMPUTE:
            out.extend(render_result_record(plan))
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


def result_field(plan: ToolPlan) -> str:
    return "computed" if any(p.name == "result" for p in plan.params) else "result"


def render_result_record(plan: ToolPlan) -> list[str]:
    """A calculator's answer: its inputs as it read them, and the value it computed from them."""
    lines = [f"record {plan.result_record} {N.string_literal('What ' + plan.name + ' computed')} {{"]
    for p in plan.params:
        lines.append(f"  {p.name}: {p.type}{'' if p.required else '?'}")
    lines.append(f"  {result_field(plan)}: {'float' if numeric_inputs(plan) else 'str'}")
    lines.append("}")
    lines.append("")
    return lines


def numeric_inputs(plan: ToolPlan) -> list[Param]:
    return [p for p in plan.params if p.type in ("int", "float")]


def body_compute(plan: ToolPlan) -> list[str]:
    """A pure function of the inputs: numbers multiplied (scaled by the other inputs' lengths), or the
    inputs joined into one text, so every input shows in the answer and none is looked up."""
    nums = numeric_inputs(plan)
    others = [p for p in plan.params if p not in nums and p.type in ("str", "bool", "int", "float", "date", "datetime")]
    if nums:
        factors = [f"float({p.name})" if p.required else f"float({p.name} ?? 1)" for p in nums]
        factors += [f"float(len(str({p.name})) + 1)" for p in others]
        value = f"round({' * '.join(factors)}, 4)"
    else:
        verb = N.words(plan.name)[0] if N.words(plan.name) else "result"
        parts = " ".join(f"{{{p.name}}}" for p in others) or "nothing"
        value = f'f"{verb}: {parts}"'
    fields = [f"{p.name}={p.name}" for p in plan.params] + [f"{result_field(plan)}={value}"]
    return [f"return {plan.result_record}({', '.join(fields)})"]


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
               DELETE: "str" if plan.key or plan.selector else "int", COMPUTE: plan.result_record}[plan.kind]
    about = t.description or ABOUT[plan.kind].format(label=e.label, plural=N.plural(e.noun).replace("_", " "))
    description = N.string_literal(about, 400)  # what an agent reads: the API's words, nothing of the writer's
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


ABOUT = {GET: "Get one {label} by its key.", LIST: "List {plural}, filtered by the given fields.",
         CREATE: "Create a {label}.", UPDATE: "Change a {label}.", DELETE: "Delete a {label}.",
         COMPUTE: "Compute a result from the inputs."}


def key_expr(p: Param) -> str:
    return f"str({p.name})" if p.type == "int" else p.name


def select(plan: ToolPlan) -> list[str]:
    """Statements binding `rec` to the record the tool acts on (by key, by a field's value, or, for a
    setting-like update with neither, the first record), then checking the other parameters that name
    fields of it (`userID` in `delete_note(userID, noteId)`): a record of another parent is not found."""
    e = plan.entity
    if plan.key is not None:
        out = [f"let rec = {e.lookup_fn}({key_expr(plan.key)})"]
    elif plan.selector is not None and plan.selector.field is not None:
        s = plan.selector
        out = [f"let found = first([x.id for x in {e.collection} if x.{s.field} == {s.name}]) ?? "
               f'fail f"No {e.label} with {s.field} {{{s.name}}}"',
               f"let rec = {e.lookup_fn}(found)"]
    else:
        out = [f'let found = first(keys({e.collection})) ?? fail "No {e.label} yet"',
               f"let rec = {e.lookup_fn}(found)"]
    for p in plan.params:
        if checkable(p, e) and (plan.kind in (GET, DELETE) or p.field in ("id", "name")):
            if p.type.startswith("list<"):  # the record holds every value asked for
                cond = f"all([v in (rec.{p.field} ?? []) for v in ({p.name} ?? [])])"
            else:
                cond = f"rec.{p.field} == {p.name}" if p.required else \
                    f"{p.name} == null or rec.{p.field} == {p.name}"
            out.append(f'require {cond} else f"{e.record} {{rec.id}} has another {p.field}"')
    return out


def filters(plan: ToolPlan) -> str:
    conds = []
    for p in plan.params:
        if p.role == "query":
            conds.append(f"fold({p.name}) in fold(x.name)" if p.required else
                         f"({p.name} == null or fold({p.name} ?? \"\") in fold(x.name))")
        elif p.field and p.type in ("str", "int", "float", "bool", "date", "datetime"):
            conds.append(f"x.{p.field} == {p.name}" if p.required else
                         f"({p.name} == null or x.{p.field} == {p.name})")
        elif p.field and p.type.startswith("list<"):  # records holding every value asked for
            conds.append(f"all([v in (x.{p.field} ?? []) for v in {p.name}])" if p.required else
                         f"all([v in (x.{p.field} ?? []) for v in ({p.name} ?? [])])")
    return " and ".join(conds)


def checkable(p: Param, e: Entity) -> bool:
    """A parameter naming a field of the record that the record's seed value can satisfy."""
    f = e.fields.get(p.field or "")
    bounds = (p.minimum, p.maximum, p.min_len, p.max_len)
    free = (bounds == (None, None, None, None) or (f is not None and f.bounds == bounds)) and \
        (p.enum is None or (f is not None and p.enum == f.enum))
    return bool(p.field) and p.role is None and free and \
        (p.type in ("str", "int", "float", "bool", "date", "datetime") or
         p.type.startswith("list<") and f is not None and f.type == p.type)


def body_get(plan: ToolPlan) -> list[str]:
    return [*select(plan), "return rec"]


def body_list(plan: ToolPlan) -> list[str]:
    e = plan.entity
    cond = filters(plan)
    rows = f"[x for x in {e.collection} if {cond}]" if cond else f"values({e.collection})"
    limit = next((p for p in plan.params if p.role == "limit"), None)
    offset = next((p for p in plan.params if p.role == "offset"), None)
    if limit is None and offset is None:
        return [f"return {rows}"]
    start = "0" if offset is None else offset.name if offset.required else f"({offset.name} ?? 0)"
    bound = "len(rows)" if limit is None else limit.name if limit.required else f"({limit.name} ?? len(rows))"
    end = bound if start == "0" else f"{start} + {bound}"
    return [f"let rows = {rows}", f"return slice(rows, {start}, {end})"]


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
        given = next((p for p in plan.params if p.field == "id"), None)
        made = f'new_id({e.collection}, "{id_prefix(e)}_")'
        out.append(f"let key = {given.name} ?? {made}" if given is not None and not given.required else
                   f"let key = {given.name}" if given is not None else f"let key = {made}")
        if given is not None:
            out.append(f'require key not in {e.collection} else f"{e.record} {{key}} already exists"')
    label = next((p for p in plan.params if p.role == "label"), None)
    name = f'f"{e.label} {{key}}"'
    if label is not None:
        name = label.name if label.required else f"{label.name} ?? {name}"
    args = ["id=key", f"name={name}"] + [f"{p.field}={p.name}" for p in plan.params
                                         if p.field and p.field not in ("id", "name")]
    out.append(f"insert {e.collection}[key] = {e.record}({', '.join(args)})")
    out.append(f"return {e.collection}[key]")
    return out


def body_update(plan: ToolPlan) -> list[str]:
    out = select(plan)
    for p in plan.params:
        if p.role == "label":
            out.append(f"rec.name = {p.name}" if p.required else f"rec.name = {p.name} ?? rec.name")
        elif p.field and p.role != "selector" and p.field not in ("id", "name"):
            out.append(f"rec.{p.field} = {p.name}" if p.required else
                       f"if {p.name} != null {{ rec.{p.field} = {p.name} }}")
    if plan.status_to and plan.entity.status_field:
        f = plan.entity.status_field
        out.append(f'require rec.{f} != "{plan.status_to}" else f"{plan.entity.record} {{rec.id}} is already '
                   f'{plan.status_to}"')
        out.append(f'rec.{f} = "{plan.status_to}"')
    out.append(f'rec.last_action = "{plan.name}"')
    out.append("return rec")
    return out


def body_delete(plan: ToolPlan) -> list[str]:
    e = plan.entity
    if plan.key is None and plan.selector is None:
        cond = filters(plan)
        return [f"let doomed = [x.id for x in {e.collection}{' if ' + cond if cond else ''}]",
                f'require len(doomed) > 0 else "No {e.label} matches"',
                f"for key in doomed {{ delete {e.collection}[key] }}",
                "return len(doomed)"]
    return [*select(plan), "let key = rec.id", f"delete {e.collection}[key]",
            f'return f"Deleted {e.label} {{key}}"']


BODIES = {GET: body_get, LIST: body_list, CREATE: body_create, UPDATE: body_update, DELETE: body_delete,
          COMPUTE: body_compute}


# --- seed ----------------------------------------------------------------------------------------

def id_prefix(e: Entity) -> str:
    return "".join(w[:1] for w in e.noun.split("_"))[:3] + e.noun.split("_")[-1][:3] if "_" in e.noun else e.noun[:6]


NATURAL_KEY_WORDS = frozenset("code name number slug key email symbol username handle iso abbreviation".split())


def natural_key(e: Entity) -> bool:
    """Keyed by a natural key (`countryCode`, `username`, `isbn`): the seed holds real-looking ones."""
    ws = N.words(e.key_param)
    return not e.numeric_key and bool(ws) and ws[-1] in NATURAL_KEY_WORDS


def seed_keys(e: Entity) -> list[str]:
    if e.numeric_key:
        return [str(FIRST_NUMERIC_KEY + i) for i in range(SEED_RECORDS)]
    if natural_key(e):
        ws = N.words(e.key_param)
        made = [SV.record_name(e.noun, i) if ws[-1] == "name" else SV.string_value(e.noun, e.key_param, i)
                for i in range(SEED_RECORDS)]
        examples = [str(x) for x in e.key_examples if str(x).strip()][:1]
        keys = list(dict.fromkeys(examples + made))[:SEED_RECORDS]
        if len(keys) == SEED_RECORDS:
            return keys
    # the form new_id() makes, so created records continue the sequence
    return [f"{id_prefix(e)}_{i + 1:04d}" for i in range(SEED_RECORDS)]


def grouping_fields(model: DomainModel) -> set[tuple[str, str]]:
    """(entity, field) pairs a list tool filters by a required parameter (`parent`, `projectId`): their
    seed values repeat, so such a list returns several records and its other parameters can show."""
    return {(plan.entity.noun, p.field) for plan in model.plans if plan.kind == LIST
            for p in plan.params if p.required and p.field and p.type in ("str", "int")}


def seed_state(model: DomainModel) -> dict[str, Any]:
    keys = {noun: seed_keys(e) for noun, e in model.entities.items()}
    grouped = grouping_fields(model)
    state: dict[str, Any] = {}
    for noun, e in sorted(model.entities.items(), key=lambda kv: kv[1].collection):
        rows = {}
        named_by_key = natural_key(e) and N.words(e.key_param)[-1] == "name"
        for i, key in enumerate(keys[noun]):
            row: dict[str, Any] = {"id": key, "name": key if named_by_key else SV.record_name(noun, i)}
            for f in e.fields.values():
                at = min(i, 1) if (noun, f.name) in grouped else i  # records 1 and 2 share the value
                row[f.name] = "active" if f.name == e.status_field and not f.examples else \
                    within(seed_value(f.name, f.type, f.enum, f.examples, at, keys, noun, f.bounds), f.bounds)
            rows[key] = row
        state[e.collection] = rows
    return state


def within(value: Any, bounds: tuple[Any, ...]) -> Any:
    """A seed value moved inside its field's bounds (a number clamped, a text padded or cut)."""
    lo, hi, min_len, max_len = bounds
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        v = max(lo, value) if lo is not None else value
        v = min(hi, v) if hi is not None else v
        return type(value)(v)
    if isinstance(value, str):
        if min_len and len(value) < min_len:
            value = (value + "-" + "x" * min_len)[:min_len]
        if max_len is not None and len(value) > max_len:
            value = value[:max_len]
    return value


def seed_value(name: str, ftype: str, enum: list[Any] | None, examples: list[Any], i: int,
               keys: dict[str, list[str]], entity: str = "item",
               bounds: tuple[Any, ...] = (None, None, None, None)) -> Any:
    """A field's value in the i-th record: the API's enum or examples, a key of the entity an `x_id`
    names, else a realistic value for what the field's name means (Faker, seeded: seed_values.py)."""
    if enum:
        return enum[i % len(enum)]
    want: Any = {"str": str, "int": int, "float": (int, float), "bool": bool, "date": str, "datetime": str}.get(ftype)
    fitting = [x for x in examples if want is not None and isinstance(x, want) and
               (ftype == "bool" or not isinstance(x, bool)) and (not isinstance(x, str) or len(x) <= 200) and
               (ftype not in ("date", "datetime") or exact_problem(x, ftype) is None)]
    if fitting and i == 0:
        return fitting[0]  # the API's own example first; the other records vary around it
    ws = N.words(name)
    if ftype == "str":
        if len(ws) >= 2 and ws[-1] == "id" and N.identifier("_".join(ws[:-1])) in keys:
            ref = keys[N.identifier("_".join(ws[:-1]))]
            return ref[i % len(ref)]  # points at a record of that entity
        return SV.string_value(entity, name, i)
    if ftype in ("int", "float"):  # drawn inside the field's bounds: clamping would make them all equal
        return SV.number_value(name, ftype, i, entity, bounds[0], bounds[1])
    if ftype == "bool":
        return i % 2 == 0
    if ftype in ("date", "datetime"):  # a real calendar day per record, a few weeks apart
        return SV.date_value(ftype, i)
    if ftype.startswith("list<"):
        inner = ftype[5:-1]
        return [seed_value(name, inner, None, [], i * 7 + k, keys, entity) for k in range(i % 3)] \
            if inner in ("str", "int", "float") else []
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
            elif p is plan.selector or (p.required and p.field in first and checkable(p, plan.entity)):
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
    if p.type in ("date", "datetime"):
        return SV.date_value(p.type, 0)
    if p.type.startswith("list<"):
        return []
    if p.type.startswith("map<"):
        return {}
    return "x" * max(1, p.min_len or 1)
