"""The LLM spec writer: a domain's tools -> a draft spec and seed from a model, repaired in rounds.

The prompt holds the language reference (docs/language.md, else the language section of the
project brief), example specs with their seeds (the smallest ones under specs/), and the domain's
tools. Each reply must carry the spec in an ```env block and the seed in a ```json block. A reply
that does not, compiler diagnostics, and gate failures all go back to the model as the next user
message, up to `rounds` repairs. Talks to any OpenAI-compatible server through envdsl.llm.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from envdsl.synth.gate import Verdict, check_spec_dir
from envdsl.synth.sources import Tool

REPO = Path(__file__).resolve().parents[2]
REFERENCE_LIMIT = 60_000  # characters of the language reference in the prompt
EXAMPLE_SPECS = 2
PARAMETERS_LIMIT = 2_000  # characters of one tool's parameter schema, after structural shrinking
RETURNS_LIMIT = 1_200  # characters of one tool's return schema, after structural shrinking
CUT_OFF = "length"  # the finish_reason of a reply that hit max_tokens

FORMAT_RULES = """Reply with exactly two fenced blocks and nothing else that matters:
```env
<the whole spec: `domain {name} "..."`, `seed "{name}.seed.json"`, records, state, fns and one tool per API tool>
```
```json
<the seed: one JSON object with every state field; collections keyed by their key field>
```
Implement every listed tool as a `read tool` or `write tool` with the same name and parameters. Keep the state
small and the seed consistent with it, so that calling a get tool with a key from the seed succeeds."""

NAMING_RULE = """Names: a tool or parameter name that is already a valid identifier (a letter, then letters, digits or
`_`, at most 48 characters, not a keyword) is kept exactly as the API spells it (`orderId` stays `orderId`). Any
other name is written in snake_case from its words: `$filter` -> `filter`, `filter[x]` -> `filter_x`,
`Get User Info` -> `get_user_info`; a reserved word or keyword gets a trailing `_` (`from` -> `from_`). Every API
parameter must appear under that name with its type, optional (`T?` with a default) exactly when the API does
not require it. Where a listing says `spec name:`, use that name. Parameters about the call rather than the data
(credentials such as `api_key`, HTTP `X-` headers, paging tokens) may be left out."""

GATE_RULES = """What the acceptance gate checks, besides compiling and never crashing:
- parameters matter: every parameter is read by the tool's body and changes its result, the state or whether
  it succeeds; a tool that ignores an input or returns a constant is a stub and is rejected;
- names agree with effects: a tool whose name says it creates, updates, deletes, cancels, sends, books or
  sets something is a `write tool` that changes that entity on success (create inserts a new record, update
  changes an existing one and never inserts, delete removes it or moves it to a terminal status, cancel
  changes a status); a tool named get, list, search, find... is a `read tool` and changes nothing;
  a calculator or converter computes its answer from its inputs;
- lookups by natural keys work: a tool that finds a record by a name or a code (a country code, an email)
  finds it for values held in the seed, so key the collection or search by that field;
- records carry realistic data: fields beyond an id and a name, values that look real (names, emails,
  dates, codes, prices varying across records), not placeholders such as "item 1";
- the result has the shape of the API's return schema where one is listed;
- the source is covered: an API parameter that the spec's tool lacks (under the naming rule above, or with
  another type) and a scalar top-level field of a get, create or update tool's listed response that its record
  result lacks are reported."""


@functools.lru_cache(maxsize=1)
def language_reference() -> str:
    doc = REPO / "docs" / "language.md"
    if doc.is_file():
        return doc.read_text(encoding="utf-8")[:REFERENCE_LIMIT]
    brief = Path("/work/brief.md")
    if brief.is_file():
        text = brief.read_text(encoding="utf-8")
        start = text.find("THE LANGUAGE")
        return text[start if start >= 0 else 0:][:REFERENCE_LIMIT]
    return ""


@functools.lru_cache(maxsize=1)
def example_specs() -> str:
    """The smallest specs under specs/ that have a seed, with their seeds. The spec's `policy file` line
    goes (the file is not shown, and a copied line costs a repair round); the seed is sent compact."""
    found = []
    for spec in sorted((REPO / "specs").rglob("*.env")):
        seed = spec.with_name(f"{spec.stem}.seed.json")
        if seed.is_file():
            found.append((spec.stat().st_size + seed.stat().st_size, spec, seed))
    parts = []
    for _, spec, seed in sorted(found)[:EXAMPLE_SPECS]:
        text = re.sub(r'^[ \t]*policy[ \t]+file[ \t]+"[^"\n]*"[ \t]*\n', "", spec.read_text(encoding="utf-8"),
                      flags=re.M)
        seed_json, what = example_seed(spec, seed)
        parts.append(f"Example `{spec.name}`:\n```env\n{text}\n```\n"
                     f"with `{seed.name}` ({what}):\n```json\n{seed_json}\n```")
    return "\n\n".join(parts)


SEED_SAMPLE = 3  # records per collection in an example seed, plus the records they mention


@functools.lru_cache(maxsize=8)
def example_seed(spec: Path, seed: Path) -> tuple[str, str]:
    """(compact seed JSON, what it is): a sample of the seed when the sample still passes the compiler's
    seed check (types, keys, references), else the whole seed."""
    data = json.loads(seed.read_text(encoding="utf-8"))
    small = sample_records(data, SEED_SAMPLE)
    if small != data and seed_fits(spec, seed, small):
        return compact_json(json.dumps(small)), (f"a sample: {SEED_SAMPLE} records per collection and the "
                                                  "records they mention")
    return compact_json(json.dumps(data)), "whole"


def sample_records(data: Any, per_collection: int) -> Any:
    """The first records of every collection (an object of objects) and, transitively, every record
    whose key appears as a string anywhere in a kept record, so references stay resolvable."""
    if not isinstance(data, dict):
        return data
    colls = {n: v for n, v in data.items()
             if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values())}
    kept = {n: set(list(v)[:per_collection]) for n, v in colls.items()}
    todo = [(n, k) for n, keys in kept.items() for k in keys]
    while todo:
        name, key = todo.pop()
        for text in _strings(colls[name][key]):
            for other, records in colls.items():
                if text in records and text not in kept[other]:
                    kept[other].add(text)
                    todo.append((other, text))
    return {n: ({k: v[k] for k in v if k in kept[n]} if n in colls else v) for n, v in data.items()}


def _strings(value: Any) -> Any:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def seed_fits(spec: Path, seed: Path, data: Any) -> bool:
    from envdsl.compiler import check_spec, load_seed
    from envdsl.lang.diagnostics import DiagnosticBag, Span

    compiled = check_spec(spec, DiagnosticBag())
    if compiled is None:
        return False
    raw = json.dumps(data).encode()
    return load_seed(seed, raw, compiled.ir, DiagnosticBag(), spec.name, Span(1, 1, 1, 1)) is not None


def compact_json(text: str) -> str:
    """A JSON document with no indentation: one line per top-level field, the rest without spaces."""
    data = json.loads(text)
    if not isinstance(data, dict):
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    lines = [f"{json.dumps(k, ensure_ascii=False)}:{json.dumps(v, ensure_ascii=False, separators=(',', ':'))}"
             for k, v in data.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


# --- schemas in the prompt, shrunk by structure (never cut mid-JSON) ---------------------------------

# what a schema needs to say what a value is; titles, examples, x-extensions and the like go first
_SCHEMA_KEYS = ("type", "properties", "required", "items", "enum", "description", "default", "format",
                "anyOf", "oneOf", "allOf", "additionalProperties", "nullable", "minimum", "maximum")


def _shrink(node: Any, depth: int, level: int) -> Any:
    """One pass over a schema. level 0: unknown keys dropped; 1: descriptions to 120 characters, enums to 12
    members; 2: descriptions to 40, below depth 2 only types; 3: no descriptions below the top level, below
    depth 1 only types; 4: no descriptions at all."""
    if isinstance(node, list):
        return [_shrink(x, depth, level) for x in node]
    if not isinstance(node, dict):
        return node
    collapse_at = {2: 3, 3: 2, 4: 2}.get(level)
    if collapse_at is not None and depth >= collapse_at:
        kept = {k: node[k] for k in ("type", "enum") if k in node}
        if "enum" in kept and isinstance(kept["enum"], list):
            kept["enum"] = kept["enum"][:12]
        return kept or {"type": "object"}
    out: dict[str, Any] = {}
    for key in _SCHEMA_KEYS:
        if key not in node:
            continue
        value = node[key]
        if key == "description":
            limit = {0: None, 1: 120, 2: 40, 3: 40 if depth <= 1 else 0, 4: 0}[level]
            if not isinstance(value, str) or limit == 0:
                continue
            value = value if limit is None or len(value) <= limit else value[:limit].rstrip() + "..."
        elif key == "enum" and isinstance(value, list) and level >= 1 and len(value) > 12:
            value = value[:12] + [f"... {len(value) - 12} more"]
        elif key == "properties" and isinstance(value, dict):
            value = {name: _shrink(v, depth + 1, level) for name, v in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
            value = _shrink(value, depth + 1, level)
        out[key] = value
    return out


def shrink_schema(schema: Any, limit: int) -> str:
    """The schema as JSON in at most `limit` characters where structure allows: less and less detail is
    kept (see _shrink), but always whole JSON with every top-level property and the `required` list."""
    text = json.dumps(schema, ensure_ascii=False, sort_keys=True)
    if len(text) <= limit or not isinstance(schema, dict):
        return text
    for level in range(5):
        text = json.dumps(_shrink(schema, 0, level), ensure_ascii=False, sort_keys=True)
        if len(text) <= limit:
            break
    return text


def spec_names(tool: Tool) -> list[str]:
    """`api -> spec` for the tool's and its parameters' names that the naming rule changes."""
    from envdsl.synth.naming import keep_or_identifier

    pairs = [(tool.name, keep_or_identifier(tool.name, fallback="tool"))]
    pairs += [(p, keep_or_identifier(p)) for p in tool.properties]
    return [f"{json.dumps(a, ensure_ascii=False)} -> {b}" for a, b in pairs if a != b]


def gate_sources(tools: list[Tool]) -> dict[str, dict[str, Any]]:
    """What each spec tool's source says, for the fidelity gate (F0109, F0110), in the heuristic writer's
    structure (writer_heuristic.sources): per spec tool name, {"params": {API name: {"name", "type"}},
    "returns": [spec field names]}, under the names the prompt's naming rule gives."""
    from envdsl.synth.infer import (
        CREATE,
        GET,
        UPDATE,
        classify,
        object_properties,
        source_fields,
        source_params,
        verb_and_noun,
    )
    from envdsl.synth.naming import keep_or_identifier

    out: dict[str, dict[str, Any]] = {}
    for t in tools:
        # F0110 checks the first successful result (the first item of a list) for every listed field. The
        # model picks its own record fields, so a field is expected only where that check is fair: a tool
        # that returns the record (get, create, update, as for the heuristic writer; a list tool may mirror
        # a wrapper object), a response whose fields are the object's own top-level properties (not items of
        # an array, a list wrapper or allOf parts, which the shrunk schema in the prompt may hide), and a
        # field whose API name the naming rule keeps as it is (the prompt only names renamed parameters).
        returns: list[str] = []
        top = t.returns.get("properties") if isinstance(t.returns, dict) else None
        if isinstance(top, dict) and object_properties(t.returns) is top and \
                classify(t, verb_and_noun(t)[0]) in (GET, CREATE, UPDATE):
            returns = [name for original, name in source_fields(t.returns) if name == original]
        out[keep_or_identifier(t.name, fallback="tool")] = {"params": source_params(t, fallback="x"),
                                                           "returns": returns}
    return out


def tool_listing(tools: list[Tool]) -> str:
    lines = []
    for t in tools:
        entry = (f"- {t.name} (API {t.api}): {t.description[:300]}\n"
                 f"  parameters: {shrink_schema(t.parameters, PARAMETERS_LIMIT)}")
        if t.returns not in (None, {}, ""):
            entry += f"\n  returns: {shrink_schema(t.returns, RETURNS_LIMIT)}"
        renamed = spec_names(t)
        if renamed:
            entry += f"\n  spec name: {', '.join(renamed)}"
        lines.append(entry)
    return "\n".join(lines)


def build_messages(name: str, tools: list[Tool]) -> list[dict[str, Any]]:
    system = ("You write tool environments in the envdsl spec language. The language reference follows.\n\n"
              + language_reference() + "\n\n" + example_specs())
    user = (f"Write the environment `{name}` implementing these {len(tools)} tools:\n{tool_listing(tools)}\n\n"
            + NAMING_RULE + "\n\n" + GATE_RULES + "\n\n" + FORMAT_RULES.replace("{name}", name))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class ReplyError(ValueError):
    """A reply without a usable spec and seed."""


_BLOCK = re.compile(r"```([A-Za-z]*)[ \t]*\n(.*?)```", re.DOTALL)


def parse_reply(text: str, name: str) -> tuple[str, str]:
    """(spec text, seed JSON text) from a reply, with the domain and seed names forced to ours."""
    spec = seed = None
    for lang, body in _BLOCK.findall(text or ""):
        untagged_spec = not lang and re.search(r"^\s*domain\s", body, re.M)
        if spec is None and (lang.lower() in ("env", "envdsl") or untagged_spec):
            spec = body
        elif seed is None and lang.lower() in ("json", ""):
            seed = body
    if spec is None:
        raise ReplyError("the reply has no ```env block holding the spec (was it cut off?)")
    if seed is None:
        raise ReplyError("the reply has no ```json block holding the seed (was it cut off?)")
    try:
        json.loads(seed)
    except ValueError as e:
        raise ReplyError(f"the ```json seed block is not valid JSON: {e}") from None
    spec, n = re.subn(r"^(\s*)domain\s+[A-Za-z_][A-Za-z0-9_]*", rf"\1domain {name}", spec, count=1, flags=re.M)
    if not n:
        raise ReplyError(f"the spec has no `domain {name}` declaration")
    spec = re.sub(r'^(\s*)seed\s+"[^"\n]*"', rf'\1seed "{name}.seed.json"', spec, count=1, flags=re.M)
    if not re.search(r'^\s*seed\s+"', spec, re.M):
        spec = spec.replace(f"domain {name}", f'seed "{name}.seed.json"\ndomain {name}', 1)
    return spec, seed


def make_client(settings: dict[str, Any]) -> Any:
    from envdsl.llm import OpenAIChatClient

    model = settings["writer"].split(":", 1)[1]
    return OpenAIChatClient(model, base_url=settings.get("base_url"), api_key=settings.get("api_key"),
                            timeout=settings.get("llm_timeout", 600.0), max_retries=settings.get("llm_retries", 4),
                            backoff=settings.get("llm_backoff", 1.0))


def cut_off(client: Any, reply: dict[str, Any]) -> bool:
    reason = reply.get("finish_reason") or getattr(client, "last_finish_reason", None)
    return reason == CUT_OFF


def write_with_llm(name: str, tools: list[Tool], work: Path, settings: dict[str, Any], usage: dict[str, int],
                   client: Any = None) -> Verdict:
    """Draft, then repair up to settings["rounds"] times; `usage` gets calls, tokens and rounds."""
    from envdsl.llm import LLMError

    client = client or make_client(settings)
    limiter = settings.get("limiter")
    messages = build_messages(name, tools)
    verdict = Verdict(False, ["no_reply"], ["no reply yet"])
    max_tokens = settings.get("max_tokens", 8192)
    try:
        for round_no in range(settings.get("rounds", 3) + 1):
            usage["rounds"] = round_no + 1
            if limiter is not None:
                limiter.acquire()
            try:
                reply = client.chat(messages, temperature=0, max_tokens=max_tokens)
            finally:
                account(client, usage)
            content = reply.get("content") or ""
            (work / f"reply_{round_no}.md").write_text(content, encoding="utf-8")
            try:
                spec_text, seed_text = parse_reply(content, name)
            except ReplyError as e:
                if cut_off(client, reply):
                    verdict = Verdict(False, ["cut_off"], [f"the reply was cut off at {max_tokens} tokens ({e})"])
                    feedback = (f"Your reply was cut off: shorten it. It stopped at the limit of {max_tokens} tokens "
                                "before both blocks were complete. Keep every tool, but use fewer and shorter "
                                "records in the seed, shorter descriptions and no prose outside the blocks.\n\n"
                                + FORMAT_RULES.replace("{name}", name))
                else:
                    verdict = Verdict(False, ["malformed_output"], [str(e)])
                    feedback = f"Your reply could not be used: {e}\n\n{FORMAT_RULES.replace('{name}', name)}"
            else:
                spec = work / f"{name}.env"
                spec.write_text(spec_text, encoding="utf-8")
                (work / f"{name}.seed.json").write_text(seed_text, encoding="utf-8")
                missing = missing_tools(spec_text, tools)
                if missing:
                    verdict = Verdict(False, ["missing_tools"], [f"tools not implemented: {', '.join(missing)}"])
                    feedback = (f"The spec does not implement these tools: {', '.join(missing)}. Add them and reply "
                                "with the spec and seed in full, in the same two blocks.")
                else:
                    verdict = check_spec_dir(spec, mode=settings.get("gate_mode", "proptest"),
                                             examples=settings.get("examples", 2), seed=settings.get("seed", 0),
                                             sources=gate_sources(tools))
                    if verdict.accepted:
                        return verdict
                    what = "The compiler reported" if verdict.reason == "compile" else "The property gate found"
                    feedback = (f"{what}:\n{bare_file_names(verdict.feedback(), work)}\n\nFix the spec and seed and "
                                "reply with both in "
                                "full, in the same two blocks.")
            messages = messages + [{"role": "assistant", "content": content}, {"role": "user", "content": feedback}]
    except LLMError as e:
        return Verdict(False, ["llm_error"], [str(e)] + verdict.details[:3])
    return verdict


def bare_file_names(text: str, work: Path) -> str:
    """Diagnostics with the spec's and seed's own names (`d00001.env:3:5`) instead of paths into the work
    folder, which the model never sees and which moves once the domain is filed."""
    from envdsl.compiler import display_path

    for folder in sorted({display_path(work), work.resolve().as_posix(), work.as_posix()}, key=len, reverse=True):
        text = text.replace(folder.rstrip("/") + "/", "")
    return text


def missing_tools(spec_text: str, tools: list[Tool]) -> list[str]:
    """The domain's tools (under their spec spelling) that the spec does not declare."""
    from envdsl.synth.naming import keep_or_identifier

    declared = set(re.findall(r"^\s*(?:read|write)\s+tool\s+([A-Za-z_][A-Za-z0-9_]*)", spec_text, re.M))
    return [n for n in (keep_or_identifier(t.name, fallback="tool") for t in tools) if n not in declared]


def account(client: Any, usage: dict[str, int]) -> None:
    usage["llm_calls"] = int(getattr(client, "attempts", usage.get("llm_calls", 0)))
    for k, v in (getattr(client, "usage", None) or {}).items():
        usage[k] = int(v)
