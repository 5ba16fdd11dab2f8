"""IR records, enums and unions -> pydantic model source (models.py of a generated package)."""

from __future__ import annotations

import keyword
from typing import Any

from envdsl.codegen.pybody import literal

# names a pydantic model field may not take directly (BaseModel attributes)
_MODEL_TAKEN = frozenset({"model_config", "model_fields", "model_dump", "model_validate", "copy", "dict", "json",
                          "schema", "construct", "validate", "fields", "parse_obj", "parse_raw", "update_forward_refs",
                          "schema_json", "from_orm", "model_computed_fields", "model_extra", "model_fields_set",
                          "model_post_init", "model_copy", "model_dump_json", "model_json_schema",
                          "model_parametrized_name", "model_rebuild", "model_validate_json", "model_validate_strings",
                          "model_construct"})


def _annotation(t: dict[str, Any]) -> str:
    k = t["k"]
    if k in ("str", "int", "float", "bool"):
        return k
    if k == "ref":
        return _annotation(t["key"])
    if k == "enum":
        return t["name"]
    if k in ("record", "union"):
        return t["name"]
    if k == "opt":
        return f"{_annotation(t['of'])} | None"
    if k == "list":
        return f"list[{_annotation(t['of'])}]"
    if k == "map":
        return f"dict[{_annotation(t['key'])}, {_annotation(t['val'])}]"
    return "Any"


def field_line(f: dict[str, Any]) -> str:
    name = f["name"]
    py = name + "_" if keyword.iskeyword(name) or name in _MODEL_TAKEN or name.startswith("model_") else name
    ann = _annotation(f["type"])
    if "tag_value" in f:
        ann = f"Literal[{literal(f['tag_value'])}]"
    args = []
    if "tag_value" in f:
        args.append(f"default={literal(f['tag_value'])}")
    elif "default" in f:
        d = f["default"]
        args.append(f"default_factory=lambda: {literal(d)}" if isinstance(d, (list, dict)) else
                    f"default={literal(d)}")
    if py != name:
        args.append(f"alias={literal(name)}")
    if f.get("description"):
        args.append(f"description={literal(f['description'])}")
    return f"{py}: {ann} = Field({', '.join(args)})" if args else f"{py}: {ann}"


def models_source_parts(ir: dict[str, Any]) -> dict[str, Any]:
    enums = [{"name": e["name"], "members": ", ".join(literal(m) for m in e["members"])} for e in ir["enums"]]
    records = [{"name": r["name"], "doc": r["description"], "fields": [field_line(f) for f in r["fields"]]}
               for r in ir["records"]]
    tags = {v["record"]: u["tag"] for u in ir["unions"] for v in u["variants"]}
    unions = [{"name": u["name"], "members": ", ".join(v["record"] for v in u["variants"]), "tag": u["tag"],
               "single": len(u["variants"]) == 1} for u in ir["unions"]]
    state_fields = []
    for s in ir["state"]:
        if s["kind"] == "collection":
            state_fields.append(f"{s['name']}: dict[{_annotation(s['key_type'])}, {s['record']}] = "
                                f"Field(default_factory=dict)")
        else:
            state_fields.append(field_line(s))
    return {"enums": enums, "records": records, "unions": unions, "state_fields": state_fields,
            "variant_tags": tags}
