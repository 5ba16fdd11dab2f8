"""IR records, enums and unions -> pydantic model source (models.py of a generated package)."""

from __future__ import annotations

from typing import Any

from envdsl.codegen.pybody import Namer, literal

# names a pydantic model field may not take directly (BaseModel attributes; `Config` is read as the legacy class config)
_MODEL_TAKEN = frozenset({"Config", "model_config", "model_fields", "model_dump", "model_validate", "copy", "dict",
                          "json", "schema", "construct", "validate", "fields", "parse_obj", "parse_raw",
                          "update_forward_refs", "schema_json", "from_orm", "model_computed_fields", "model_extra",
                          "model_fields_set", "model_post_init", "model_copy", "model_dump_json",
                          "model_json_schema", "model_parametrized_name", "model_rebuild", "model_validate_json",
                          "model_validate_strings", "model_construct"})


# what models.py binds at module level besides the spec's types, and the builtins its annotations use
_MODULE_TAKEN = frozenset({"annotations", "Annotated", "Literal", "Union", "BaseModel", "ConfigDict", "Field", "State",
                           "Any", "str", "int", "float", "bool", "list", "dict", "None"})


def _annotation(t: dict[str, Any], types: dict[str, str]) -> str:
    k = t["k"]
    if k in ("str", "int", "float", "bool"):
        return k
    if k in ("date", "datetime"):  # ISO text: the runtime's Schema checks the calendar (envdsl/runtime/dates.py)
        return "str"
    if k == "ref":
        return _annotation(t["key"], types)
    if k in ("enum", "record", "union"):
        return types[t["name"]]
    if k == "opt":
        return f"{_annotation(t['of'], types)} | None"
    if k == "list":
        return f"list[{_annotation(t['of'], types)}]"
    if k == "map":
        return f"dict[{_annotation(t['key'], types)}, {_annotation(t['val'], types)}]"
    return "Any"


def field_line(f: dict[str, Any], types: dict[str, str], fields: Namer) -> str:
    """One pydantic field. Its Python name avoids keywords, pydantic's own attributes and every
    module-level name (a field named `Field` or like a record would hide it in the class body);
    a renamed field keeps its spec name as the alias."""
    name = f["name"]
    py = fields.claim(name + "_" if name.startswith("model_") else name)
    ann = _annotation(f["type"], types)
    if "tag_value" in f:
        ann = f"Literal[{literal(f['tag_value'])}]"
    args = []
    if "tag_value" in f:
        args.append(f"default={literal(f['tag_value'])}")
    elif f.get("absent"):
        # `name?: T`: may be left out; None here stands for absent, and model_dump(exclude_unset=True)
        # leaves it out again, so a model round trip keeps absent apart from null
        ann = ann if ann.endswith("| None") else f"{ann} | None"
        args.append("default=None")
    elif "default" in f:
        d = f["default"]
        args.append(f"default_factory=lambda: {literal(d)}" if isinstance(d, (list, dict)) else
                    f"default={literal(d)}")
    if py != name:
        args.append(f"alias={literal(name)}")
    if f.get("description"):
        args.append(f"description={literal(f['description'])}")
    return f"{py}: {ann} = Field({', '.join(args)})" if args else f"{py}: {ann}"


def type_names(ir: dict[str, Any]) -> dict[str, str]:
    """The Python name of each enum, record and union: distinct, and none of models.py's own names."""
    module = Namer(_MODULE_TAKEN)
    return {t["name"]: module.claim(t["name"]) for kind in ("enums", "records", "unions") for t in ir[kind]}


def _field_namer(types: dict[str, str]) -> Namer:
    return Namer(_MODULE_TAKEN | _MODEL_TAKEN | set(types.values()))


def models_source_parts(ir: dict[str, Any]) -> dict[str, Any]:
    types = type_names(ir)
    enums = [{"name": types[e["name"]], "members": ", ".join(literal(m) for m in e["members"])} for e in ir["enums"]]
    records = []
    for r in ir["records"]:
        fields = _field_namer(types)
        records.append({"name": types[r["name"]], "doc": r["description"],
                        "fields": [field_line(f, types, fields) for f in r["fields"]]})
    tags = {types[v["record"]]: u["tag"] for u in ir["unions"] for v in u["variants"]}
    unions = [{"name": types[u["name"]], "members": ", ".join(types[v["record"]] for v in u["variants"]),
               "tag": u["tag"], "single": len(u["variants"]) == 1} for u in ir["unions"]]
    state_fields = []
    fields = _field_namer(types)
    for s in ir["state"]:
        if s["kind"] == "collection":
            py = fields.claim(s["name"] + "_" if s["name"].startswith("model_") else s["name"])
            alias = f", alias={literal(s['name'])}" if py != s["name"] else ""
            state_fields.append(f"{py}: dict[{_annotation(s['key_type'], types)}, {types[s['record']]}] = "
                                f"Field(default_factory=dict{alias})")
        else:
            state_fields.append(field_line(s, types, fields))
    return {"enums": enums, "records": records, "unions": unions, "state_fields": state_fields,
            "variant_tags": tags}
