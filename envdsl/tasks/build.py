"""Tasks for many domains at once: what `envdsl tasks` runs. The caller supplies `load_env(spec)`
(the CLI passes envdsl.session.environment_from_spec), so this layer never imports the compiler."""

from __future__ import annotations

from typing import Any, Callable

from envdsl.tasks.coverage import tool_coverage
from envdsl.tasks.sampler import SampleConfig, TaskSampler
from envdsl.tasks.two_actor import TwoActorSampler


def build_tasks(specs: list[str], load_env: Callable[[str], Any], n: int, seed: int, cfg: SampleConfig,
                goal_writer: Callable[[dict[str, Any], Any], str] | None = None
                ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """n tasks per domain (fewer when the domain cannot give n distinct ones) and per-domain stats.
    Deterministic for (specs, n, seed, cfg): each domain has its own random stream."""
    tasks: list[dict[str, Any]] = []
    stats: dict[str, dict[str, Any]] = {}
    for spec in specs:
        env = load_env(spec)
        sampler = TaskSampler(env, cfg, seed, spec=spec, goal_writer=goal_writer)
        # a two-actor domain: half the tasks (rounded up) need the user to act (envdsl/tasks/two_actor.py)
        two_actor = TwoActorSampler(env, seed, spec=spec, initial=cfg.initial,
                                    generated_states=cfg.generated_states)
        both = two_actor.sample((n + 1) // 2) if two_actor.usable else []
        got = sampler.sample(n - len(both)) + both
        tasks.extend(got)
        stats[sampler.domain] = {"spec": spec, "tasks": len(got), "tools": sampler.graph.number_of_nodes(),
                                 "edges": sampler.graph.number_of_edges(),
                                 "read_only": sum(t["read_only"] for t in got),
                                 "with_failure": sum(t["has_failure"] for t in got),
                                 "rejections": _summed(sampler.rejections, two_actor.rejections),
                                 "two_actor": len(both),
                                 "about_one_user": sum(t.get("user") is not None for t in got),
                                 "coverage": tool_coverage(got, sampler.ir),
                                 # generator seed -> why no state could be made (the rule it kept breaking)
                                 "generation_errors": dict(sorted(sampler.initial_states.generation_errors.items()))}
    return tasks, stats


def _summed(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted(set(a) | set(b))}
