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
TOOL_SCHEMA_LIMIT = 1_500  # characters of one tool's parameter schema

FORMAT_RULES = """Reply with exactly two fenced blocks and nothing else that matters:
```env
<the whole spec: `domain {name} "..."`, `seed "{name}.seed.json"`, records, state, fns and one tool per API tool>
```
```json
<the seed: one JSON object with every state field; collections keyed by their key field>
```
Implement every listed tool as a `read tool` or `write tool` with the same name and parameters (names may be
made valid identifiers). Keep the state small and the seed consistent with it, so that calling a get tool
with a key from the seed succeeds."""


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
    """The smallest specs under specs/ that have a seed, with their seeds."""
    found = []
    for spec in sorted((REPO / "specs").rglob("*.env")):
        seed = spec.with_name(f"{spec.stem}.seed.json")
        if seed.is_file():
            found.append((spec.stat().st_size + seed.stat().st_size, spec, seed))
    parts = []
    for _, spec, seed in sorted(found)[:EXAMPLE_SPECS]:
        parts.append(f"Example `{spec.name}`:\n```env\n{spec.read_text(encoding='utf-8')}\n```\n"
                     f"with `{seed.name}`:\n```json\n{seed.read_text(encoding='utf-8')}\n```")
    return "\n\n".join(parts)


def tool_listing(tools: list[Tool]) -> str:
    lines = []
    for t in tools:
        schema = json.dumps(t.parameters, ensure_ascii=False, sort_keys=True)
        if len(schema) > TOOL_SCHEMA_LIMIT:
            schema = schema[:TOOL_SCHEMA_LIMIT] + " ...(cut)"
        lines.append(f"- {t.name} (API {t.api}): {t.description[:300]}\n  parameters: {schema}")
    return "\n".join(lines)


def build_messages(name: str, tools: list[Tool]) -> list[dict[str, Any]]:
    system = ("You write tool environments in the envdsl spec language. The language reference follows.\n\n"
              + language_reference() + "\n\n" + example_specs())
    user = (f"Write the environment `{name}` implementing these {len(tools)} tools:\n{tool_listing(tools)}\n\n"
            + FORMAT_RULES.replace("{name}", name))
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
                            timeout=settings.get("llm_timeout", 120.0), max_retries=settings.get("llm_retries", 4),
                            backoff=settings.get("llm_backoff", 1.0))


def write_with_llm(name: str, tools: list[Tool], work: Path, settings: dict[str, Any], usage: dict[str, int],
                   client: Any = None) -> Verdict:
    """Draft, then repair up to settings["rounds"] times; `usage` gets calls, tokens and rounds."""
    from envdsl.llm import LLMError

    client = client or make_client(settings)
    limiter = settings.get("limiter")
    messages = build_messages(name, tools)
    verdict = Verdict(False, ["no_reply"], ["no reply yet"])
    try:
        for round_no in range(settings.get("rounds", 3) + 1):
            usage["rounds"] = round_no + 1
            if limiter is not None:
                limiter.acquire()
            try:
                reply = client.chat(messages, temperature=0, max_tokens=settings.get("max_tokens", 4096))
            finally:
                account(client, usage)
            content = reply.get("content") or ""
            (work / f"reply_{round_no}.md").write_text(content, encoding="utf-8")
            try:
                spec_text, seed_text = parse_reply(content, name)
            except ReplyError as e:
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
                                             examples=settings.get("examples", 2), seed=settings.get("seed", 0))
                    if verdict.accepted:
                        return verdict
                    what = "The compiler reported" if verdict.reason == "compile" else "The property gate found"
                    feedback = (f"{what}:\n{verdict.feedback()}\n\nFix the spec and seed and reply with both in "
                                "full, in the same two blocks.")
            messages = messages + [{"role": "assistant", "content": content}, {"role": "user", "content": feedback}]
    except LLMError as e:
        return Verdict(False, ["llm_error"], [str(e)] + verdict.details[:3])
    return verdict


def missing_tools(spec_text: str, tools: list[Tool]) -> list[str]:
    """The domain's tools (under their spec spelling) that the spec does not declare."""
    from envdsl.synth.naming import keep_or_identifier

    declared = set(re.findall(r"^\s*(?:read|write)\s+tool\s+([A-Za-z_][A-Za-z0-9_]*)", spec_text, re.M))
    return [n for n in (keep_or_identifier(t.name, fallback="tool") for t in tools) if n not in declared]


def account(client: Any, usage: dict[str, int]) -> None:
    usage["llm_calls"] = int(getattr(client, "attempts", usage.get("llm_calls", 0)))
    for k, v in (getattr(client, "usage", None) or {}).items():
        usage[k] = int(v)
