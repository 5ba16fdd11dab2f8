"""Run the gate: every generated test of every domain under hypothesis, with counts and failures.

Tests per domain: the seed and generator checks, one single-call test per tool, one schema
agreement test per tool, and one test of call sequences. Each is a hypothesis run with a seed
derived from --seed and the test's name (deterministic, nothing written to .hypothesis/). When
a run fails, its property is reported and the run repeats without that property, so one failing
property does not hide another behind it.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from envdsl.proptest.domain import Domain
from envdsl.proptest.machine import Driver
from envdsl.proptest.report import PROPERTIES, Failure, PropertyFailure
from envdsl.proptest.schema_agreement import edge_sweep, schema_body

DEFAULT_EXAMPLES = 25
CALL_PROPERTIES = ("never_raises", "output_matches_return_type", "deterministic", "read_only",
                   "failure_leaves_state_unchanged", "write_keeps_state_valid", "undo_restores_state",
                   "state_hash_matches_state")
SCHEMA_PROPERTIES = ("never_raises", "schema_accepts_valid", "schema_rejects_invalid")
GATE_ERROR = "gate_error"  # the gate itself crashed: a bug in envdsl test or in the runtime

Body = Callable[[Any, frozenset[str]], None]


@dataclass
class Options:
    examples: int = DEFAULT_EXAMPLES
    seed: int = 0
    max_calls: int = 5  # longest drawn call sequence
    fidelity: bool = True  # the F01xx checks and the first pass (envdsl/proptest/fidelity.py)
    sources: dict[str, dict[str, Any]] | None = None  # per tool, what its source API says (synth)


@dataclass
class DomainResult:
    domain: str
    source: str
    tools: int = 0
    properties: set[str] = field(default_factory=set)
    examples: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


def gate_domain(domain: Domain, options: Options | None = None, tools: list[str] | None = None) -> DomainResult:
    """Gate one domain; `tools` limits the per-tool tests (and sequences) to those tools."""
    options = options or Options()
    t0 = time.perf_counter()
    result = DomainResult(domain.name, domain.source)
    result.failures.extend(static_checks(domain))
    result.properties.update(("seed_state_valid", "generated_state_valid"))
    chosen = [t for t in domain.tools if tools is None or t in tools]
    if options.fidelity:
        from envdsl.proptest.fidelity import FIDELITY, fidelity_checks

        result.failures.extend(fidelity_checks(domain, options.sources, chosen))
        result.properties.update(FIDELITY)
    result.tools = len(chosen)
    driver = Driver(domain, options.max_calls)
    runs: list[tuple[str, Body, tuple[str, ...]]] = []
    for tool in chosen:
        runs.append((f"tool {tool}", driver.one_call(tool), CALL_PROPERTIES))
    first_skip: dict[str, frozenset[str]] = {}
    for tool in chosen:
        test = f"schema {tool}"
        runs.append((test, schema_body(domain, tool), SCHEMA_PROPERTIES))
        swept, tried = edge_sweep(domain, tool)
        result.examples += tried
        result.failures.extend(Failure.from_exception(domain.name, test, e) for e in swept)
        first_skip[test] = frozenset(e.prop for e in swept)  # found already: look for others
    if chosen:
        runs.append(("sequence", driver.sequence(chosen), CALL_PROPERTIES))
    for test, body, props in runs:
        result.properties.update(props)
        for failure, examples in run_until_clean(domain, test, body, options, first_skip.get(test, frozenset())):
            result.examples += examples
            if failure is not None:
                result.failures.append(failure)
    result.seconds = time.perf_counter() - t0
    return result


def static_checks(domain: Domain) -> list[Failure]:
    """The seed state and a few generated states, checked once each (no drawing involved)."""
    from envdsl.runtime.generate import generate_state

    out = []
    problems = domain.state_problems(domain.seed_state)
    if problems:
        out.append(Failure(domain.name, "seed_state_valid", "seed", PROPERTIES["seed_state_valid"],
                           "; ".join(problems[:5]), start="seed state"))
    for gseed in range(3):
        try:
            state = generate_state(domain.env_cls, gseed)
            problems = domain.state_problems(state)
        except Exception as e:  # noqa: BLE001 - the generator giving up is the finding
            problems = [f"{type(e).__name__}: {e}"]
        if problems:
            out.append(Failure(domain.name, "generated_state_valid", f"generator seed {gseed}",
                               PROPERTIES["generated_state_valid"], "; ".join(problems[:5]),
                               start=f"generated state (seed {gseed})"))
            break
    return out


def run_until_clean(domain: Domain, test: str, body: Body, options: Options, skip: frozenset[str] = frozenset()
                    ) -> list[tuple[Failure | None, int]]:
    """Run a test; after each failure run it again without the failed property."""
    out: list[tuple[Failure | None, int]] = []
    while True:
        failure, examples = run_once(domain, test, body, skip, options)
        if failure is not None and failure.property in skip:  # cannot happen; never loop on it
            failure = Failure(domain.name, GATE_ERROR, test, "the gate runs to the end",
                              f"{failure.property} failed although it was skipped: {failure.actual}")
        out.append((failure, examples))
        if failure is None or failure.property == GATE_ERROR:
            return out
        skip = skip | {failure.property}


def seed_for(options: Options, domain: str, test: str) -> int:
    return (options.seed * 1_000_003 + zlib.crc32(f"{domain}/{test}".encode())) % 2**32


def run_once(domain: Domain, test: str, body: Body, skip: frozenset[str], options: Options
             ) -> tuple[Failure | None, int]:
    count = [0]

    @seed(seed_for(options, domain.name, test))
    @settings(max_examples=options.examples, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet, report_multiple_bugs=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False)
    @given(st.data())
    def run(data: Any) -> None:
        count[0] += 1
        body(data, skip)

    try:
        run()
    except BaseException as e:  # noqa: BLE001 - hypothesis re-raises the shrunk failure, maybe wrapped
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        found = find_property_failure(e)
        if found is not None:
            return Failure.from_exception(domain.name, test, found), count[0]
        return Failure(domain.name, GATE_ERROR, test, "the gate runs to the end",
                       f"{type(e).__name__}: {e}"), count[0]
    return None, count[0]


def find_property_failure(e: BaseException) -> PropertyFailure | None:
    """The PropertyFailure in an exception, an exception group (Flaky...) or its causes."""
    seen: set[int] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, PropertyFailure):
            return x
        stack.extend(getattr(x, "exceptions", ()))
        stack.extend(y for y in (x.__cause__, x.__context__) if y is not None)
    return None
