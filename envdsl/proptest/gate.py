"""`envdsl test`: resolve paths, gate every domain, summarise (text for people, JSON for machines)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from envdsl.proptest.report import Failure
from envdsl.proptest.runner import DomainResult, Options, gate_domain
from envdsl.proptest.targets import Targets


@dataclass
class GateReport:
    options: Options
    results: list[DomainResult] = field(default_factory=list)
    load_failures: list[Failure] = field(default_factory=list)

    @property
    def failures(self) -> list[Failure]:
        return self.load_failures + [f for r in self.results for f in r.failures]

    def counts(self) -> dict[str, Any]:
        return {
            "domains": len(self.results) + len(self.load_failures),
            "tools": sum(r.tools for r in self.results),
            "properties": sum(len(r.properties) for r in self.results),
            "examples": sum(r.examples for r in self.results),
            "failures": len(self.failures),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.counts(), "seed": self.options.seed, "examples_per_test": self.options.examples,
                "failures_detail": [f.to_json() for f in self.failures],
                "domains_detail": [{"domain": r.domain, "source": r.source, "tools": r.tools,
                                    "examples": r.examples, "failures": len(r.failures)} for r in self.results]}

    def render(self) -> str:
        lines = [f.render() for f in self.failures]
        for r in self.results:
            status = "ok" if not r.failures else f"{len(r.failures)} failure(s)"
            lines.append(f"{r.domain} ({r.source}): {r.tools} tools, {len(r.properties)} properties, "
                         f"{r.examples} examples: {status}")
        c = self.counts()
        lines.append(f"{c['domains']} domain(s), {c['tools']} tools, {c['properties']} properties, "
                     f"{c['examples']} examples: {c['failures']} failure(s)")
        return "\n".join(lines)


def run_gate(paths: list[str], options: Options | None = None,
             progress: Callable[[DomainResult], None] | None = None) -> GateReport:
    options = options or Options()
    report = GateReport(options)
    with Targets(paths) as targets:
        report.load_failures.extend(targets.failures)
        for domain in targets.domains:
            result = gate_domain(domain, options)
            report.results.append(result)
            if progress is not None:
                progress(result)
    return report


def dumps(report: GateReport) -> str:
    return json.dumps(report.to_json(), indent=1, sort_keys=True, ensure_ascii=False)
