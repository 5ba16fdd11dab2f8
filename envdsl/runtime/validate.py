"""Values against types: validation with paths, and normalisation to canonical JSON.

Type descriptors are the IR's JSON types; `Schema` holds a domain's records, enums and
unions. Validation is strict (JSON true is not an int, 1.5 is not an int, "3" is not a
number) because agents must learn to send the types the schema publishes. Normalisation
orders record fields as declared and fills defaults, so outputs and hashes are canonical.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from envdsl.runtime.dates import date_problem, datetime_problem

JSON_KIND = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object",
             type(None): "null"}


def kind_of(v: Any) -> str:
    return JSON_KIND.get(type(v), type(v).__name__)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class Schema:
    def __init__(self, types: dict[str, Any]):
        self.records: dict[str, list[dict[str, Any]]] = types["records"]
        self.enums: dict[str, list[str]] = types["enums"]
        self.unions: dict[str, dict[str, Any]] = types["unions"]
        self.record_names = {name: {f["name"] for f in fields} for name, fields in self.records.items()}

    # ---- validation: returns a list of "path: problem" strings, empty when valid
    def errors(self, value: Any, t: dict[str, Any], path: str, limit: int = 20) -> list[str]:
        out: list[str] = []
        self._check(value, t, path, out, limit)
        return out

    def _check(self, v: Any, t: dict[str, Any], path: str, out: list[str], limit: int) -> None:
        if len(out) >= limit:
            return
        k = t["k"]
        if k == "opt":
            if v is not None:
                self._check(v, t["of"], path, out, limit)
            return
        if k == "any":
            return
        if v is None:
            out.append(f"{path}: expected {self.describe(t)}, got null")
            return
        if k in ("str", "int", "float", "bool"):
            ok = (k == "str" and isinstance(v, str)) or (k == "bool" and isinstance(v, bool)) or \
                 (k == "int" and isinstance(v, int) and not isinstance(v, bool)) or \
                 (k == "float" and isinstance(v, (int, float)) and not isinstance(v, bool))
            if not ok:
                out.append(f"{path}: expected {self.describe(t)}, got {kind_of(v)} {_short(v)}")
        elif k in ("date", "datetime"):
            problem = date_problem(v) if k == "date" else datetime_problem(v)
            if problem is not None:
                out.append(f"{path}: {problem}")
        elif k == "enum":
            if not isinstance(v, str) or v not in self.enums[t["name"]]:
                out.append(f"{path}: expected one of {', '.join(map(repr, self.enums[t['name']]))}, got {_short(v)}")
        elif k == "ref":
            self._check(v, t["key"], path, out, limit)
        elif k == "list":
            if not isinstance(v, list):
                out.append(f"{path}: expected an array, got {kind_of(v)} {_short(v)}")
                return
            for i, x in enumerate(v):
                self._check(x, t["of"], f"{path}[{i}]", out, limit)
        elif k == "map":
            if not isinstance(v, dict):
                out.append(f"{path}: expected an object, got {kind_of(v)} {_short(v)}")
                return
            kt = t["key"]
            for key, x in v.items():
                if kt["k"] == "enum" and key not in self.enums[kt["name"]]:
                    out.append(f"{path}: key {key!r} is not one of {', '.join(map(repr, self.enums[kt['name']]))}")
                self._check(x, t["val"], f"{path}[{key!r}]", out, limit)
        elif k == "record":
            self._check_record(v, t["name"], path, out, limit)
        elif k == "union":
            u = self.unions[t["name"]]
            if not isinstance(v, dict):
                out.append(f"{path}: expected an object, got {kind_of(v)} {_short(v)}")
                return
            if u["tag"] is None:  # untagged: the variant is the one whose own field is there
                rec = self.variant_record(t["name"], v)
                if rec is None:
                    out.append(f"{path}: expected one of {', '.join(sorted(set(u['variants'].values())))}, "
                               f"with one of the fields {', '.join(map(repr, u['variants']))}")
                    return
                self._check_record(v, rec, path, out, limit)
                return
            tag = v.get(u["tag"])
            rec = u["variants"].get(tag) if isinstance(tag, str) else None
            if rec is None:
                out.append(f"{path}.{u['tag']}: expected one of {', '.join(map(repr, u['variants']))}, "
                           f"got {_short(tag)}")
                return
            self._check_record(v, rec, path, out, limit)

    def variant_record(self, union: str, v: dict[str, Any]) -> str | None:
        """The record of a union's value: by its tag, or for an untagged union by the field only that
        variant has (envdsl/lang/unions.py); None when the value is neither."""
        u = self.unions[union]
        if u["tag"] is not None:
            tag = v.get(u["tag"])
            return u["variants"].get(tag) if isinstance(tag, str) else None
        return next((rec for field, rec in u["variants"].items() if field in v), None)

    def _check_record(self, v: Any, name: str, path: str, out: list[str], limit: int) -> None:
        if not isinstance(v, dict):
            out.append(f"{path}: expected an object ({name}), got {kind_of(v)} {_short(v)}")
            return
        known = self.record_names[name]
        for key in v:
            if key not in known:
                out.append(f"{path}: unexpected field {key!r} (a {name} has {', '.join(sorted(known))})")
        for f in self.records[name]:
            fname = f["name"]
            if fname not in v:
                if "default" not in f and not f.get("absent"):  # `name?: T` may be missing
                    out.append(f"{path}: missing field {fname!r}")
                continue
            x = v[fname]
            if "tag_value" in f and x != f["tag_value"]:
                out.append(f"{path}.{fname}: expected {f['tag_value']!r}, got {_short(x)}")
                continue
            self._check(x, f["type"], f"{path}.{fname}", out, limit)
            if f.get("constraints") and x is not None:
                out.extend(constraint_errors(x, f["constraints"], f"{path}.{fname}"))

    # ---- normalisation (after validation): declared field order, defaults filled
    def normalize(self, v: Any, t: dict[str, Any], floats: bool = False) -> Any:
        """`v` in canonical form. With `floats`, an integer where the type says float becomes a float
        (what tool arguments get, see normalize_argument); without, state and seed data keep it as given."""
        k = t["k"]
        if v is None:
            return None
        if k == "opt":
            return self.normalize(v, t["of"], floats)
        if k == "list":
            return [self.normalize(x, t["of"], floats) for x in v]
        if k == "map":
            return {key: self.normalize(x, t["val"], floats) for key, x in v.items()}
        if k == "record":
            return self._normalize_record(v, t["name"], floats)
        if k == "union":
            return self._normalize_record(v, self.variant_record(t["name"], v) or "", floats)
        if k == "float" and isinstance(v, int) and not isinstance(v, bool):
            if floats:
                try:
                    return float(v)
                except OverflowError:  # beyond any float: left as sent (the tool's own checks see it)
                    return v
            return v  # kept as given: JSON 3 stays 3, as the reference data has it
        return v

    def normalize_argument(self, v: Any, t: dict[str, Any]) -> Any:
        """A validated tool argument in canonical form, numbers converted to the declared type: an agent that
        sends `80` where the parameter (or a field inside it) is a float passes 80.0, exactly what `80.0`
        passes, so a number's JSON spelling never changes the state, its hash or the tool's output."""
        return self.normalize(v, t, floats=True)

    def _normalize_record(self, v: dict[str, Any], name: str, floats: bool = False) -> dict[str, Any]:
        out = {}
        for f in self.records[name]:
            if f["name"] in v:
                out[f["name"]] = self.normalize(v[f["name"]], f["type"], floats)
            elif "tag_value" in f:
                out[f["name"]] = f["tag_value"]
            elif "default" in f:
                out[f["name"]] = _copy_default(f["default"])
        return out

    def describe(self, t: dict[str, Any]) -> str:
        k = t["k"]
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
                "list": "an array", "map": "an object", "record": "an object", "union": "an object",
                "date": "a date (YYYY-MM-DD)", "datetime": "a datetime (YYYY-MM-DDTHH:MM:SS)"}.get(k, k)


def constraint_errors(x: Any, c: dict[str, Any], path: str) -> list[str]:
    out = []
    if "min" in c and isinstance(x, (int, float)) and x < c["min"]:
        out.append(f"{path}: must be at least {c['min']}, got {x}")
    if "max" in c and isinstance(x, (int, float)) and x > c["max"]:
        out.append(f"{path}: must be at most {c['max']}, got {x}")
    if "min_len" in c and hasattr(x, "__len__") and len(x) < c["min_len"]:
        out.append(f"{path}: length must be at least {c['min_len']}, got {len(x)}")
    if "max_len" in c and hasattr(x, "__len__") and len(x) > c["max_len"]:
        out.append(f"{path}: length must be at most {c['max_len']}, got {len(x)}")
    if "pattern" in c and isinstance(x, str) and not _regex(c["pattern"]).search(x):
        out.append(f"{path}: must match the pattern {c['pattern']!r}, got {_short(x)}")
    if "one_of" in c and x not in c["one_of"]:
        out.append(f"{path}: must be one of {', '.join(map(repr, c['one_of']))}, got {_short(x)}")
    return out


def _copy_default(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        import copy
        return copy.deepcopy(v)
    return v


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."
