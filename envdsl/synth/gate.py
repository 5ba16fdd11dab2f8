"""The acceptance gate for a synthesised spec: it compiles, its package loads, and then either
`envdsl test`'s property gate (mode "proptest", the default) or a smoke check (mode "smoke": every
tool called once on the seed without an internal error) passes; plus the writer's probes (calls that
must succeed on the seed, such as a get with a key from the seed).

`check_spec_dir` is the one function callers use, so changing what acceptance means is one edit here.
"""

from __future__ import annotations

import functools
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GATE_MODES = ("proptest", "smoke")


@dataclass
class Verdict:
    accepted: bool
    reasons: list[str] = field(default_factory=list)  # "compile", "load", failing property names, "probe"...
    details: list[str] = field(default_factory=list)  # diagnostics or rendered failures, for people and LLMs
    tools: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # failures per reason (F01xx codes included)

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def feedback(self, limit: int = 6000) -> str:
        return "\n\n".join(self.details)[:limit]


@functools.lru_cache(maxsize=1)
def toolchain() -> str:
    from envdsl import compiler as C

    return C.toolchain_digest()  # hashes the compiler's sources: once per process


def compile_spec(spec: Path) -> tuple[Any, str]:
    """(compiled spec, "") or (None, rendered diagnostics)."""
    from envdsl import compiler as C
    from envdsl.lang.diagnostics import DiagnosticBag

    bag = DiagnosticBag()
    try:
        compiled = C.check_spec(spec, bag)
    except Exception as e:  # noqa: BLE001 - a compiler crash rejects the domain, it does not stop the run
        return None, f"the compiler crashed: {type(e).__name__}: {e}"
    return (compiled, "") if compiled is not None else (None, bag.render())


def load_class(compiled: Any, where: Path) -> Any:
    from envdsl import compiler as C
    from envdsl.runtime.loader import import_every_module, load_environment_class

    C.render(compiled, toolchain())
    C.write_package(where, compiled)
    env_cls = load_environment_class(where / compiled.package)
    import_every_module(env_cls)  # models.py too: the gate passes only packages that import whole
    return env_cls


def check_spec_dir(spec: Path, *, mode: str = "proptest", examples: int = 2, seed: int = 0,
                   probes: list[dict[str, Any]] | None = None,
                   sources: dict[str, dict[str, Any]] | None = None) -> Verdict:
    """`sources`: per spec tool, what its source API says (`params`: {API name: {"name", "type"}},
    `returns`: top-level response fields), for the fidelity checks F0109 and F0110."""
    t0 = time.perf_counter()
    verdict = _check(spec, mode, examples, seed, probes or [], sources or {})
    verdict.seconds = round(time.perf_counter() - t0, 3)
    return verdict


def _check(spec: Path, mode: str, examples: int, seed: int, probes: list[dict[str, Any]],
           sources: dict[str, dict[str, Any]]) -> Verdict:
    compiled, diagnostics = compile_spec(spec)
    if compiled is None:
        return Verdict(False, ["compile"], [diagnostics])
    with tempfile.TemporaryDirectory(prefix="envdsl-synth-") as tmp:
        try:
            env_cls = load_class(compiled, Path(tmp))
        except Exception as e:  # noqa: BLE001
            return Verdict(False, ["load"], [f"the generated package does not load: {type(e).__name__}: {e}"])
        verdict = Verdict(True, tools=len(env_cls.TOOLS))
        run_probes(env_cls, probes, verdict)
        if mode == "smoke":
            smoke(env_cls, verdict)
            fidelity(env_cls, spec, sources, verdict)
        elif mode == "proptest":
            proptest(env_cls, spec, examples, seed, verdict, sources)
        else:
            raise ValueError(f"unknown gate mode {mode!r} ({', '.join(GATE_MODES)})")
        forget_modules(Path(tmp))
    verdict.accepted = not verdict.reasons
    return verdict


def forget_modules(folder: Path) -> None:
    """Drop the generated package's modules from sys.modules: a worker gates thousands of domains."""
    import sys

    root = str(folder.resolve())
    for name, module in list(sys.modules.items()):
        if name.startswith("envdsl_generated_") and str(getattr(module, "__file__", "") or "").startswith(root):
            del sys.modules[name]


def fail(verdict: Verdict, reason: str, detail: str) -> None:
    verdict.counts[reason] = verdict.counts.get(reason, 0) + 1
    if reason not in verdict.reasons:
        verdict.reasons.append(reason)
    if len(verdict.details) < 8:
        verdict.details.append(detail)


def run_probes(env_cls: Any, probes: list[dict[str, Any]], verdict: Verdict) -> None:
    for probe in probes:
        env = env_cls()
        r = env.call(probe["tool"], probe["args"])
        if not r.ok:
            fail(verdict, "probe", f"{probe['tool']} {json.dumps(probe['args'], sort_keys=True)} on the seed: "
                                   f"expected success, got {r.content[:300]}")


def smoke_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy a published tool schema: required parameters only, simplest values."""
    params = schema["function"]["parameters"]
    out: dict[str, Any] = {}
    for name in params.get("required", []):
        out[name] = simple_value(params["properties"].get(name, {}))
    return out


def simple_value(s: dict[str, Any]) -> Any:
    if "enum" in s and s["enum"]:
        return s["enum"][0]
    t = s.get("type")
    t = next((x for x in t if x != "null"), "string") if isinstance(t, list) else t
    if t == "integer":
        return int(s.get("minimum", 1))
    if t == "number":
        return float(s.get("minimum", 1.0))
    if t == "boolean":
        return True
    if t == "array":
        return []
    if t == "object":
        return {}
    return "x" * max(1, int(s.get("minLength", 1)))


def smoke(env_cls: Any, verdict: Verdict) -> None:
    problems = env_cls.state_errors(env_cls().state())
    if problems:
        fail(verdict, "seed_state_valid", "; ".join(problems[:5]))
    for schema in env_cls.SCHEMAS:
        name = schema["function"]["name"]
        args = smoke_arguments(schema)
        r = env_cls().call(name, args)
        if r.internal_error:
            fail(verdict, "never_raises", f"{name} {json.dumps(args, sort_keys=True)}: {r.content[:300]}")


def fidelity(env_cls: Any, spec: Path, sources: dict[str, dict[str, Any]], verdict: Verdict) -> None:
    """The fidelity checks alone (the smoke gate; the proptest gate runs them inside gate_domain)."""
    from envdsl.proptest.domain import Domain
    from envdsl.proptest.fidelity import fidelity_checks

    try:
        found = fidelity_checks(Domain(env_cls.DOMAIN, env_cls, spec.as_posix()), sources)
    except Exception as e:  # noqa: BLE001
        fail(verdict, "gate_error", f"the fidelity checks crashed: {type(e).__name__}: {e}")
        return
    for f in found:
        fail(verdict, f.property, f.render())


def proptest(env_cls: Any, spec: Path, examples: int, seed: int, verdict: Verdict,
             sources: dict[str, dict[str, Any]] | None = None) -> None:
    from envdsl.proptest import Options, gate_domain
    from envdsl.proptest.domain import Domain

    try:
        result = gate_domain(Domain(env_cls.DOMAIN, env_cls, spec.as_posix()),
                             Options(examples=examples, seed=seed, max_calls=3, sources=sources))
    except Exception as e:  # noqa: BLE001 - a crash of the gate itself is reported, not raised
        fail(verdict, "gate_error", f"the property gate crashed: {type(e).__name__}: {e}")
        return
    for f in result.failures:
        fail(verdict, f.property, f.render())
