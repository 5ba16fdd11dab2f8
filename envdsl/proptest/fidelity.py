"""Fidelity: does each tool do what its name and parameters say? (codes F01xx, docs/diagnostics.md)

The property gate checks robustness (never raises, rollback, schema); these checks look at meaning:
- F0101: a parameter that no path of the tool's body reads (static, on the IR);
- F0102: a parameter whose value changes nothing: for every successful call found, every other
  valid value of it gives the same output, the same state and the same success (dynamic);
- F0103: a verb that writes on a `read` tool, or a read verb on a `write` tool (the verb is found
  with a lemmatiser, envdsl/proptest/verbs.py);
- F0104: a write verb whose successful calls do not do what it says: create inserts, update
  changes an existing entity and never inserts, delete removes (or sets a terminal status),
  cancel/close/... change a status field;
- F0105: a lookup that never resolves from the seed: no call with keys and field values of the
  seed succeeds;
- F0106: records holding nothing but a key and a name; F0107: placeholder seed strings
  ("Job 2", "area 1"); F0108: numbers that do not vary across records or fields;
- F0109: a parameter of the source API tool that the spec's tool lacks (synth only: it needs the
  source), F0110: a successful result that lacks the fields of the source's response schema.

Every tool is first called with arguments built from the seed (keys, field values, enum members):
the systematic first pass. An internal error there is a `never_raises` failure with its
reproduction. Specs silence a finding with a comment that gives the reason:

    # fidelity: allow F0102 set_mode: the mode is ignored while the device is off

(the tool name may be `*` for the whole domain).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from envdsl.ir.fidelity_allow import parse_allowances
from envdsl.proptest.domain import Domain
from envdsl.proptest.report import Failure
from envdsl.proptest.verbs import CHANGE, CREATE, DELETE, READ, STATUS, UPDATE, tool_verb

FIDELITY = {
    "F0101": "every parameter is read on some path of the tool's body",
    "F0102": "changing one parameter changes the output, the state or whether the call succeeds",
    "F0103": "a tool whose name says it writes is a write tool, and a read verb names a read tool",
    "F0104": "a successful call does what the tool's verb says to the entity (create inserts, update changes "
             "and never inserts, delete removes, cancel/close change a status)",
    "F0105": "a lookup resolves with keys and field values taken from the seed",
    "F0106": "records carry data beyond a key and a name",
    "F0107": "seed strings are real values, not placeholders such as \"Job 2\"",
    "F0108": "seed numbers vary across records and fields",
    "F0109": "every parameter of the source tool appears in the spec's tool (name-mapping rule), same type",
    "F0110": "a successful result holds the fields of the source tool's response schema",
}
NATURAL_KEY_WORDS = frozenset("code name email symbol username handle iso slug abbreviation".split())
GENERATED_KEY = re.compile(r"^[a-z]{1,8}_\d{3,5}$")
TRIVIAL = frozenset(("[]", "{}", "null", "0", '""', "0.0", "false"))
MAX_CANDIDATES = 6  # values tried per parameter
MAX_FIRST_PASS = 8  # argument sets tried per tool in the first pass
STATUS_WORDS = ("status", "state", "stage", "phase", "active", "enabled", "cancelled", "canceled", "closed",
                "resolved", "archived", "deleted", "open", "done", "completed", "approved")


@dataclass
class Outcome:
    ok: bool
    content: str
    state_hash: str


@dataclass
class ToolFindings:
    successes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (state index, args)
    variants: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # successful one-parameter changes


def allowances(domain: Domain) -> dict[tuple[str, str], str]:
    """{(code, tool or "*"): reason} from `# fidelity: allow` comments: those the compiler copied into the
    IR (a compiled package has no spec beside it), and those of the spec file when the domain came from one."""
    found = list(domain.ir.get("fidelity_allow", []))
    path = Path(domain.source)
    if path.suffix == ".env" and path.is_file():
        found += parse_allowances(path.read_text(encoding="utf-8", errors="replace"))
    return {(a["code"], a["tool"]): a["reason"] for a in found}


def fidelity_checks(domain: Domain, sources: dict[str, dict[str, Any]] | None = None,
                    only: list[str] | None = None) -> list[Failure]:
    """Every fidelity finding of a domain (silenced ones dropped), plus first-pass internal errors."""
    allowed = allowances(domain)
    checker = Checker(domain, sources or {}, only)
    out = []
    for f in checker.run():
        if (f.property, f.test.split(" ", 1)[-1]) in allowed or (f.property, "*") in allowed:
            continue
        out.append(f)
    return out


class Checker:
    def __init__(self, domain: Domain, sources: dict[str, dict[str, Any]], only: list[str] | None):
        self.d = domain
        self.ir = domain.ir
        self.sources = sources
        self.tools = [t for t in self.ir["tools"] if only is None or t["name"] in only]
        self.enums = {e["name"]: e["members"] for e in self.ir["enums"]}
        self.collections = {s["name"]: s for s in self.ir["state"] if s.get("kind") == "collection"}
        self.records = {r["name"]: r for r in self.ir["records"]}
        self.failures: list[Failure] = []
        # the states calls start from: the seed, and (when the seed is empty or huge) generated ones
        self.states: list[tuple[str, dict[str, Any]]] = []
        if not domain.large_seed:
            self.states.append(("seed state", domain.seed_state))
        for g in range(2):
            s = domain.generated_state(g)
            if s is not None:
                self.states.append((f"generated state (seed {g})", s))
        if not self.states:
            self.states.append(("seed state", domain.seed_state))
        self.envs = [domain.env_cls(state=s) if label != "seed state" else domain.new_env() for label, s in self.states]

    # --- reporting --------------------------------------------------------------------------------

    def report(self, code: str, tool: str, actual: str, calls: list[dict[str, Any]] | None = None,
               start: str = "") -> None:
        self.failures.append(Failure(self.d.name, code, f"fidelity {tool}", FIDELITY[code], actual,
                                     start=start, calls=calls or []))

    def run(self) -> list[Failure]:
        self.records_carry_data()
        for tool in self.tools:
            self.unused_parameters(tool)
            self.verb_agrees_with_effect(tool)
            found = self.first_pass(tool)
            if found.successes:
                self.parameters_matter(tool, found)
                self.effect_matches_verb(tool, found)
                self.returns_match_source(tool, found)
            self.source_coverage(tool)
        return self.failures

    # --- calls ------------------------------------------------------------------------------------

    def call(self, i: int, tool: str, args: dict[str, Any]) -> Outcome:
        """Call on state i and undo the call: the states stay as they were."""
        env = self.envs[i]
        snap = env.snapshot()
        r = env.call(tool, args)
        out = Outcome(r.ok, r.content, env.state_hash())
        if r.internal_error:
            self.failures.append(Failure(self.d.name, "never_raises", f"first pass {tool}",
                                         "the call returns a result (an error result at worst)", r.content[:300],
                                         start=self.states[i][0], calls=[{"tool": tool, "args": args}]))
        env.restore(snap)
        return out

    def valid(self, tool: str, args: dict[str, Any]) -> bool:
        env = self.envs[0]
        return not isinstance(env._bind(env.TOOLS[tool], args), str)

    # --- candidate values -------------------------------------------------------------------------

    def candidates(self, tool: dict[str, Any], p: dict[str, Any], state: dict[str, Any]) -> list[Any]:
        t = p["type"]
        optional = t["k"] == "opt"
        base = t["of"] if optional else t
        k = base["k"]
        out: list[Any] = []
        coll = self.d.key_params.get(tool["name"], {}).get(p["name"])
        if coll and isinstance(state.get(coll), dict):
            out.extend(itertools.islice(state[coll].keys(), 3))
        if k == "ref" and isinstance(state.get(base["coll"]), dict):
            out.extend(itertools.islice(state[base["coll"]].keys(), 3))
        out.extend(self.field_values(p["name"], state, self.home(tool))[:3])
        if k == "str" and not coll:
            out.extend(self.seed_words(state)[:2])
        cons = p.get("constraints") or {}
        out.extend((cons.get("one_of") or [])[:3])
        out.extend((cons.get("examples") or [])[:2])
        if k == "enum":
            out.extend(self.enums.get(base["name"], [])[:3])
        out.extend(fallbacks(base, cons))
        if p.get("default") is not None:
            out.insert(0, p["default"])
        if optional:
            out.append(None)
        return dedupe([convert(v, k) for v in out])[:MAX_CANDIDATES + 2]

    def home(self, tool: dict[str, Any]) -> str | None:
        """The collection the tool's key parameters index, if any: its rows give consistent arguments."""
        return next(iter(self.d.key_params.get(tool["name"], {}).values()), None)

    def field_values(self, name: str, state: dict[str, Any], home: str | None = None) -> list[Any]:
        """Values of record fields spelled like the parameter (natural keys: `code`, `email`), the
        tool's own collection first, so the j-th candidates of all parameters come from one record."""
        bare = re.sub(r"_arg(_\d+)?$", "", name)
        out: list[Any] = []
        for cname in sorted(self.collections, key=lambda c: c != home):
            rows = state.get(cname)
            if not isinstance(rows, dict):
                continue
            for row in itertools.islice(rows.values(), 3):
                if not isinstance(row, dict):
                    continue
                # the field itself, or one that ends with the parameter's name (`email` -> `owner_email`)
                fname = bare if bare in row else next((f for f in row if f.endswith("_" + bare)), None)
                if fname is not None and row[fname] is not None and not isinstance(row[fname], (dict, list)):
                    out.append(row[fname])
        return out

    def seed_words(self, state: dict[str, Any]) -> list[str]:
        """A name-like string of the first record of each collection, and its first word (for searches)."""
        out: list[str] = []
        for cname in self.collections:
            rows = state.get(cname)
            row = next(iter(rows.values()), None) if isinstance(rows, dict) and rows else None
            if not isinstance(row, dict):
                continue
            for fname in ("name", "title", "label"):
                v = row.get(fname)
                if isinstance(v, str) and v:
                    out.extend([v, v.split()[0]])
                    break
        return out

    # --- F0101 ------------------------------------------------------------------------------------

    def unused_parameters(self, tool: dict[str, Any]) -> None:
        read = {n["name"] for n in nodes(tool["body"]) if n.get("e") == "local"}
        for p in tool["params"]:
            if p["name"] not in read:
                self.report("F0101", tool["name"], f"parameter {p['name']!r} is never read by the body "
                                                    f"(line {tool.get('line', '?')})")

    # --- F0103 ------------------------------------------------------------------------------------

    def verb_agrees_with_effect(self, tool: dict[str, Any]) -> None:
        verb = tool_verb(tool["name"], tool.get("description", ""))
        if verb is None:
            return
        if verb.writes and tool["effect"] == "read":
            self.report("F0103", tool["name"], f"the verb {verb.word!r} ({verb.lemma}) changes state, "
                                                f"but {tool['name']} is a read tool")
        elif not verb.writes and tool["effect"] == "write" and verb.word in tool["name"].lower():
            self.report("F0103", tool["name"], f"the verb {verb.word!r} ({verb.lemma}) only reads, "
                                                f"but {tool['name']} is a write tool")

    # --- first pass and F0105 ---------------------------------------------------------------------

    def first_pass(self, tool: dict[str, Any]) -> ToolFindings:
        found = ToolFindings()
        name = tool["name"]
        for i, (_, state) in enumerate(self.states):
            cands = [self.candidates(tool, p, state) for p in tool["params"]]
            tried = 0
            seen: set[str] = set()
            for j in range(-1, MAX_FIRST_PASS):
                # j = -1: the broadest call, every optional parameter left out (null)
                args = {p["name"]: (None if j < 0 and p["type"]["k"] == "opt" else c[max(j, 0) % len(c)])
                        for p, c in zip(tool["params"], cands) if c}
                text = json.dumps(args, sort_keys=True, default=str)
                if len(args) < len(tool["params"]) or text in seen or not self.valid(name, args):
                    continue
                seen.add(text)
                tried += 1
                out = self.call(i, name, args)
                if out.ok:
                    found.successes.append((i, args))
                    if sum(1 for x in found.successes if x[0] == i) >= 2:
                        break  # two per state: drawn states differ where the seed does not
            if tried == 0 and not tool["params"]:
                out = self.call(i, name, {})
                if out.ok:
                    found.successes.append((i, {}))
        crashed = any(f.property == "never_raises" and f.test == f"first pass {name}" for f in self.failures)
        natural = any(split_words(p["name"])[-1:] and split_words(p["name"])[-1] in NATURAL_KEY_WORDS
                      for p in tool["params"])
        if not found.successes and not crashed and tool["effect"] == "read" and \
                (self.d.key_params.get(name) or natural):
            self.report("F0105", name, f"no call with keys or field values from the seed succeeds "
                                       f"(tried up to {MAX_FIRST_PASS} argument sets per state)",
                        start=self.states[0][0])
        self.natural_keys(tool)
        return found

    def natural_keys(self, tool: dict[str, Any]) -> None:
        """A parameter named as a natural key (`countryCode`, `username`) that indexes a collection
        whose seed keys are generated ids (`countr_0001`): an agent's real value never resolves."""
        for pname, coll in self.d.key_params.get(tool["name"], {}).items():
            ws = split_words(pname)
            keys = list((self.d.seed_state.get(coll) or {}).keys())[:5]
            if ws and ws[-1] in NATURAL_KEY_WORDS and keys and all(GENERATED_KEY.match(str(k)) for k in keys):
                self.report("F0105", tool["name"], f"{pname!r} is a {ws[-1]}, but {coll} is keyed by generated "
                                                   f"ids such as {keys[0]!r}")

    # --- F0102 ------------------------------------------------------------------------------------

    def parameters_matter(self, tool: dict[str, Any], found: ToolFindings) -> None:
        name = tool["name"]
        for p in tool["params"]:
            if any(f.property == "F0101" and f"{p['name']!r}" in f.actual and f.test == f"fidelity {name}"
                   for f in self.failures):
                continue  # already reported statically
            matters = False
            example: tuple[int, dict[str, Any]] | None = None
            for i, args in list(found.successes):
                base = self.call(i, name, args)
                if not base.ok or base.content.strip() in TRIVIAL:
                    continue  # an empty answer proves nothing either way
                for v in self.candidates(tool, p, self.states[i][1]):
                    if v == args.get(p["name"]) and type(v) is type(args.get(p["name"])):
                        continue
                    alt = {**args, p["name"]: v}
                    if not self.valid(name, alt):
                        continue
                    example = (i, args)
                    out = self.call(i, name, alt)
                    if out.ok and len(found.variants) < 24:
                        found.variants.append((i, alt))
                    if (out.ok, out.content, out.state_hash) != (base.ok, base.content, base.state_hash):
                        matters = True
                        break
                if matters:
                    break
            if not matters and example is not None:
                i, args = example
                self.report("F0102", name, f"parameter {p['name']!r} changes nothing: every other valid value "
                                           "gives the same output, state and success", start=self.states[i][0],
                            calls=[{"tool": name, "args": args}])

    # --- F0104 ------------------------------------------------------------------------------------

    def effect_matches_verb(self, tool: dict[str, Any], found: ToolFindings) -> None:
        verb = tool_verb(tool["name"], tool.get("description", ""))
        if verb is None or verb.effect == READ or tool["effect"] == "read":
            return
        verdicts = []
        for i, args in found.successes + found.variants:
            env = self.envs[i]
            snap = env.snapshot()
            before = env.state()
            r = env.call(tool["name"], args)
            after = env.state() if r.ok else before
            env.restore(snap)
            if r.ok:
                problem = effect_problem(verb.effect, before, after, set(self.collections))
                verdicts.append((problem, i, args))
                if problem is None:
                    return
        distinct = {json.dumps(a, sort_keys=True) for _, _, a in verdicts}
        if verdicts and (len(distinct) >= 2 or "changes" not in (verdicts[0][0] or "") or
                         verb.effect in (CREATE, DELETE, STATUS)):
            problem, i, args = verdicts[0]
            self.report("F0104", tool["name"], f"{verb.lemma}: {problem}", start=self.states[i][0],
                        calls=[{"tool": tool["name"], "args": args}])

    # --- F0106, F0107, F0108 ----------------------------------------------------------------------

    def records_carry_data(self) -> None:
        state = self.d.seed_state
        all_keys = {k for c in self.collections for k in (state.get(c) or {})}
        numbers: dict[tuple[Any, ...], list[str]] = {}
        nums: list[Any]
        for cname, entry in sorted(self.collections.items()):
            rows = [r for r in (state.get(cname) or {}).values() if isinstance(r, dict)]
            record = self.records.get(entry["record"], {"fields": []})
            names = [f["name"] for f in record["fields"]]
            data = [n for n in names if n != entry["key"] and n not in ("name", "title", "last_action")]
            if not data:
                self.report("F0106", cname, f"records of {cname} ({entry['record']}) hold only "
                                            f"{', '.join(names)}")
            if len(rows) < 2:
                continue
            for fname in names:
                values = [r.get(fname) for r in rows]
                strs = [v for v in values if isinstance(v, str)]
                strs = [v for v in strs if v not in all_keys]  # references are ids, not text
                placeholders = [v for v in strs if is_placeholder(v, fname, entry["record"], cname)]
                if fname != entry["key"] and len(strs) >= 2 and len(placeholders) == len(strs):
                    self.report("F0107", cname, f"{cname}.{fname} holds placeholders: "
                                                f"{', '.join(json.dumps(v) for v in strs[:3])}")
                nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
                if len(nums) >= 3 and fname != entry["key"]:
                    if len(set(nums)) == 1 and nums[0] not in (0, 1):  # counters and flags may all be 0
                        self.report("F0108", cname, f"{cname}.{fname} is {nums[0]} in every record")
                    numbers.setdefault(tuple(nums), []).append(f"{cname}.{fname}")
        for seq, fields in sorted(numbers.items()):
            # three fields with one sequence of values (flags may agree: 0 and 1 only do not count)
            if len(fields) >= 3 and len(set(seq)) > 1 and not set(seq) <= {0, 1}:
                self.report("F0108", "*", f"{len(fields)} numeric fields hold the same values "
                                          f"{list(seq)[:4]}: {', '.join(fields[:4])}")

    # --- F0109, F0110 -----------------------------------------------------------------------------

    def source_coverage(self, tool: dict[str, Any]) -> None:
        src = self.sources.get(tool["name"])
        if not src:
            return
        by_name = {p["name"]: p for p in tool["params"]}
        for original, expected in src.get("params", {}).items():
            p = by_name.get(expected.get("name", ""))
            if p is None:
                self.report("F0109", tool["name"], f"the source parameter {original!r} has no parameter "
                                                    f"{expected.get('name')!r}")
                continue
            want = expected.get("type")
            got = p["type"]["of"] if p["type"]["k"] == "opt" else p["type"]
            if want and got["k"] != want and not (want == "str" and got["k"] in ("enum", "ref")):
                self.report("F0109", tool["name"], f"the source parameter {original!r} is {want}, "
                                                    f"the spec's {p['name']!r} is {got['k']}")

    def returns_match_source(self, tool: dict[str, Any], found: ToolFindings) -> None:
        src = self.sources.get(tool["name"])
        fields = (src or {}).get("returns") or []
        if not fields:
            return
        i, args = found.successes[0]
        env = self.envs[i]
        snap = env.snapshot()
        r = env.call(tool["name"], args)
        env.restore(snap)
        value = r.value
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, dict):
            return
        missing = [f for f in fields if f not in value]
        if missing:
            self.report("F0110", tool["name"], f"the result lacks {', '.join(missing[:6])} of the source's "
                                               "response schema", calls=[{"tool": tool["name"], "args": args}])


def effect_problem(effect: str, before: dict[str, Any], after: dict[str, Any], collections: set[str]) -> str | None:
    """Why a state change does not match a verb's effect, or None when it does."""
    added = [(c, k) for c in collections for k in (after.get(c) or {}) if k not in (before.get(c) or {})]
    removed = [(c, k) for c in collections for k in (before.get(c) or {}) if k not in (after.get(c) or {})]
    changed = [(c, k, f) for c in collections for k, row in (after.get(c) or {}).items()
               if k in (before.get(c) or {}) and isinstance(row, dict)
               for f in row if row.get(f) != (before[c][k] or {}).get(f)]
    other = any(before.get(s) != after.get(s) for s in after if s not in collections)
    meaningful = [x for x in changed if x[2] != "last_action"]
    grown = [x for x in changed if isinstance(after[x[0]][x[1]].get(x[2]), (list, dict)) and
             len(after[x[0]][x[1]][x[2]]) > len((before[x[0]][x[1]] or {}).get(x[2]) or [])]
    if effect == CREATE:  # a new entity, or a new item in an entity's list (`add_comment`, `add_allergy`)
        return None if added or grown or other else "a successful call inserts no new entity"
    if effect == UPDATE:
        if added and not changed:
            return f"it inserts {added[0][0]}[{added[0][1]!r}] instead of changing an existing entity"
        return None if meaningful or other or added else "a successful call changes no field of any entity"
    shrunk = [x for x in changed if isinstance(after[x[0]][x[1]].get(x[2]), (list, dict)) and
              len(after[x[0]][x[1]][x[2]]) < len((before[x[0]][x[1]] or {}).get(x[2]) or [])]
    if effect == DELETE:  # an entity removed, an item taken out of a list, or a terminal status
        if removed or shrunk or any(is_status(f) for _, _, f in changed):
            return None
        return "a successful call removes no entity and sets no status"
    if effect == STATUS:
        if removed or shrunk or grown or any(is_status(f) for _, _, f in changed) or other:
            return None
        return "a successful call changes no status field" + (" (only last_action)" if changed else "")
    if effect == CHANGE:
        return None if added or removed or meaningful or other else "a successful call changes nothing"
    return None


def is_status(fname: str) -> bool:
    ws = fname.lower().split("_")
    return any(w in STATUS_WORDS for w in ws) or fname.lower().startswith("is_")


_PLACEHOLDER = re.compile(r"^([A-Za-z][A-Za-z _-]*?)[ _-]?(\d{1,4})$")


def is_placeholder(value: str, fname: str, record: str, collection: str) -> bool:
    """"Job 2", "area 1", "job posting id 1": the field's or record's own words and a counter."""
    m = _PLACEHOLDER.match(value.strip())
    if not m:
        return value.strip().lower() in ("x", "string", "foo", "bar", "test", "example", "value", "")
    words = set(re.split(r"[^a-z]+", m.group(1).lower())) - {""}
    own = set(split_words(fname)) | set(split_words(record)) | set(split_words(collection)) | \
        {"id", "item", "name", "value", "key", "string", "text", "record"}
    own |= {w[:-1] for w in own if w.endswith("s")} | {w + "s" for w in own}
    return bool(words) and words <= own


def split_words(raw: str) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", raw)
    return [w for w in re.split(r"[^a-z]+", text.lower()) if w]


def fallbacks(t: dict[str, Any], cons: dict[str, Any]) -> list[Any]:
    k = t["k"]
    lo, hi = cons.get("min"), cons.get("max")
    vals: list[Any]
    if k == "int":
        a = int(lo) if isinstance(lo, (int, float)) else 1
        vals = [a, a + 1, a + 7] + ([int(hi), (a + int(hi)) // 2] if isinstance(hi, (int, float)) else [])
        return dedupe([v for v in vals if not isinstance(hi, (int, float)) or v <= hi])
    if k == "float":
        a = float(lo) if isinstance(lo, (int, float)) else 1.5  # type: ignore[assignment]
        vals = [a, a + 2.25, a + 10.0] + ([float(hi), (a + float(hi)) / 2] if isinstance(hi, (int, float)) else [])
        return dedupe([v for v in vals if not isinstance(hi, (int, float)) or v <= hi])
    if k == "bool":
        return [True, False]
    if k in ("date", "datetime"):  # real calendar values, a leap day among them
        days = ["2024-01-15", "2024-02-29", "2024-03-01"]
        return days if k == "date" else [d + "T09:30:00" for d in days]
    if k == "str":
        n = int(cons.get("min_len") or 0)
        return [("abc" * (n // 3 + 1))[:max(n, 3)], ("xyzw" * (n // 4 + 1))[:max(n, 4)]]
    if k == "list":
        inner = fallbacks(t["of"], {}) if t["of"]["k"] in ("str", "int", "float", "bool") else []
        return [[], *([[inner[0]]] if inner else [])]
    if k == "map":
        return [{}, {"key": "value"}] if t["key"]["k"] == "str" and t["val"]["k"] == "str" else [{}]
    return []


def convert(v: Any, k: str) -> Any:
    if k == "int" and isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    if k == "str" and isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


def dedupe(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for v in values:
        key = json.dumps(v, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def nodes(x: Any) -> Iterator[dict[str, Any]]:
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from nodes(v)
    elif isinstance(x, list):
        for v in x:
            yield from nodes(v)
