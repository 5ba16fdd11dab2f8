"""Tasks as executed random walks over a domain's tool graph.

A walk starts on a fresh environment (the seed state or a generated one), picks each next tool
among the graph successors of the last one (by edge weight), draws its arguments from the state
and earlier outputs, and executes it; a draw whose call fails is redrawn, so every gold call
succeeds and means something, except a deliberate failure: a call with a wrong user value that
returns an error, followed by the recovery call with the right value. The result is a task: the
gold calls, the gold final state (hash and diff), the facts the user knows and the user's goal.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any, Callable

from envdsl.ir.rules import PolicyRules
from envdsl.runtime.diff import state_diff
from envdsl.runtime.store import clone
from envdsl.tasks.anchor import NotAnchored, anchor_walk
from envdsl.tasks.arguments import OUTPUT, USER, ArgumentDrawer, OutputPool
from envdsl.tasks.graph import DomainIndex, build_tool_graph
from envdsl.tasks.initial import InitialStates
from envdsl.tasks.provenance import provenance_problems
from envdsl.tasks.prune import prune_unneeded_reads


@dataclass
class SampleConfig:
    min_calls: int = 1
    max_calls: int = 4
    min_writes: int = 0
    max_writes: int | None = None
    failure_rate: float = 0.0  # share of tasks with a deliberate failed call and its recovery
    initial: str = "mixed"  # "seed" | "generated" | "mixed"
    generated_states: int = 8  # distinct generator seeds to draw initial states from
    draws_per_call: int = 12  # argument draws tried before a tool is given up for this step
    attempts_per_task: int = 40


class Rejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TaskSampler:
    def __init__(self, env: Any, config: SampleConfig, seed: int, *, spec: str | None = None,
                 goal_writer: Callable[[dict[str, Any], Any], str] | None = None):
        self.env = env
        self.cfg = config
        self.ir = type(env).ir()
        self.ix = DomainIndex.from_ir(self.ir)
        self.graph = build_tool_graph(self.ir, self.ix)
        self.domain = type(env).DOMAIN
        self.rng = random.Random(f"{self.domain}:{seed}")
        self.drawer = ArgumentDrawer(env, self.ix, self.rng)
        self.spec = spec
        self.goal_writer = goal_writer
        self.initial_states = InitialStates(env, config.initial, config.generated_states, self.rng)
        self.rejections: dict[str, int] = {}
        self.rules = PolicyRules.from_ir(self.ir)
        self._sides: dict[str, Any] = {}

    # ---- public
    def sample(self, n: int) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(n * self.cfg.attempts_per_task):
            if len(tasks) >= n:
                break
            try:
                task = self.walk()
            except Rejected as r:
                self.rejections[r.reason] = self.rejections.get(r.reason, 0) + 1
                continue
            if task["task_id"] in seen:
                self.rejections["duplicate"] = self.rejections.get("duplicate", 0) + 1
                continue
            seen.add(task["task_id"])
            tasks.append(task)
        return tasks

    def walk(self) -> dict[str, Any]:
        initial = self._reset()
        self.drawer.start_task()
        env, cfg, rng = self.env, self.cfg, self.rng
        before = env.state()
        initial_hash = env.state_hash()
        length = rng.randint(cfg.min_calls, cfg.max_calls)
        fail_at = rng.randrange(length) if rng.random() < cfg.failure_rate else -1
        calls: list[dict[str, Any]] = []
        facts: list[dict[str, Any]] = []
        pool = OutputPool()
        last: str | None = None
        writes = steps = 0
        while steps < length:
            made = self._step(last, pool, calls, facts, writes, inject_failure=(steps == fail_at))
            if made is None:
                break
            last = made
            steps += 1
            writes += self.env.TOOLS[made].effect == "write"
        if steps < cfg.min_calls:
            raise Rejected("too_short")
        if writes < cfg.min_writes:
            raise Rejected("too_few_writes")
        if fail_at >= 0 and not any(not c["ok"] for c in calls):
            raise Rejected("no_failure_path")
        calls, facts = prune_unneeded_reads(calls, facts, {n: t.effect for n, t in env.TOOLS.items()})
        try:
            user = anchor_walk(env, self.rules, before, calls, facts, rng, self._side(initial, before))
        except NotAnchored as e:
            raise Rejected(e.reason) from None
        after = env.state()
        diff = state_diff(before, after)
        if not diff and any(c["ok"] and env.TOOLS[c["name"]].effect == "write" for c in calls):
            # every write succeeded without changing anything (a "new" address equal to the old one): an agent that
            # does nothing would reach the gold state and pass, so the task cannot tell a good agent from none
            raise Rejected("write_changes_nothing")
        task = {
            "domain": self.domain,
            "spec": self.spec,
            "initial": initial,
            "initial_state_hash": initial_hash,
            "gold_calls": calls,
            "gold_state_hash": env.state_hash(),
            "gold_diff": diff,
            "user_facts": facts,
            "read_only": all(self.env.TOOLS[c["name"]].effect == "read" for c in calls),
            "writes": writes,
            "has_failure": any(not c["ok"] for c in calls),
            "user": user,  # the key of the one user the task is about (None: it touches nobody's entities)
        }
        problems = provenance_problems(task)
        if problems:
            raise Rejected("provenance")
        task["task_id"] = f"{self.domain}-{_task_key(task)}"
        task["goal"] = self._goal(task)
        return dict(sorted(task.items()))

    # ---- one step of the walk
    def _step(self, last: str | None, pool: OutputPool, calls: list[dict[str, Any]], facts: list[dict[str, Any]],
              writes: int, inject_failure: bool) -> str | None:
        cfg = self.cfg
        if last is None:
            candidates = {t: 1.0 for t in sorted(self.ix.tools)}
        else:
            candidates = {b: d["weight"] for b, d in sorted(self.graph[last].items())}
        # handing over to a human ends a conversation: never a step of a request
        candidates = {t: w for t, w in candidates.items() if t not in self.rules.transfer}
        if cfg.max_writes is not None and writes >= cfg.max_writes:
            candidates = {t: w for t, w in candidates.items() if self.env.TOOLS[t].effect == "read"}
        order = _weighted_order(candidates, self.rng)
        prefer = len(calls) - 1 if calls else None
        for tool in order:
            for _ in range(cfg.draws_per_call):
                args, sources = self.drawer.draw(tool, pool, prefer)
                snap = self.env.snapshot()
                result = self.env.call(tool, args)
                if not result.ok:
                    continue
                if inject_failure:
                    self.env.restore(snap)
                    failed = self._failed_attempt(tool, args, sources)
                    if failed is None:
                        continue  # nothing the user could plausibly get wrong here: draw again
                    result = self.env.call(tool, args)  # the same call again, now as the recovery
                    assert result.ok, "a call that succeeded must succeed again from the same state"
                    self._add_facts(facts, tool, args, sources, wrong=failed[1], step=len(calls))
                    calls.append(failed[0])
                else:
                    self._add_facts(facts, tool, args, sources, step=len(calls))
                self.drawer.remember(tool, args, sources)
                calls.append({"name": tool, "arguments": json.dumps(args, ensure_ascii=False), "ok": True,
                              "output": result.content})
                pool.add(result.value, len(calls) - 1)
                return tool
        return None

    def _failed_attempt(self, tool: str, args: dict[str, Any],
                        sources: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The call with one user-given value wrong, if that call fails; the state is left unchanged."""
        for name in [n for n, s in sources.items() if s == USER]:
            wrong = self.drawer.wrong_value(tool, name, args[name])
            if wrong is None:
                continue
            bad = {**args, name: wrong}
            snap = self.env.snapshot()
            result = self.env.call(tool, bad)
            if result.ok:
                self.env.restore(snap)
                continue
            return ({"name": tool, "arguments": json.dumps(bad, ensure_ascii=False), "ok": False,
                     "output": result.content}, {name: wrong})
        return None

    def _add_facts(self, facts: list[dict[str, Any]], tool: str, args: dict[str, Any], sources: dict[str, str],
                   wrong: dict[str, Any] | None = None, step: int = 0) -> None:
        params = {p["name"]: p for p in self.ix.tools[tool]["params"]}
        for name, value in args.items():
            if sources.get(name) != USER:
                continue
            if any(f["param"] == name and f["value"] == value for f in facts) and not (wrong and name in wrong):
                continue  # the user already said it
            same = sum(f["param"] == name for f in facts)
            fact = {"key": name if not same else f"{name}_{same + 1}", "param": name, "value": value,
                    "description": params[name].get("description", ""), "tool": tool,
                    "step": step}  # the gold call that needs it (a failed first attempt included)
            if wrong and name in wrong:
                fact["wrong_first"] = wrong[name]
            facts.append(fact)

    # ---- initial states and goals
    def _reset(self) -> dict[str, Any]:
        initial = self.initial_states.reset()
        if initial is None:
            raise Rejected("generator_failed")
        return initial

    def _side(self, initial: dict[str, Any], state: dict[str, Any]) -> Any:
        """A second environment holding this initial state, for identification calls (reads only)."""
        key = json.dumps(initial, sort_keys=True)
        if key not in self._sides:
            side = type(self.env)()
            side.reset(state=clone(state))
            self._sides[key] = side
        return self._sides[key]

    def _goal(self, task: dict[str, Any]) -> str:
        from envdsl.tasks.goals import template_goal

        if self.goal_writer is not None:
            try:
                return self.goal_writer(task, self.ir)
            except Exception:  # an LLM that fails leaves the task with its template goal
                pass
        return template_goal(task, self.ir)


def _weighted_order(weights: dict[str, float], rng: random.Random) -> list[str]:
    """Candidates in a random order where heavier ones tend to come first (weighted sampling without
    replacement: key u^(1/w), Efraimidis-Spirakis)."""
    keyed = [(rng.random() ** (1.0 / max(w, 1e-6)), t) for t, w in weights.items()]
    return [t for _, t in sorted(keyed, reverse=True)]


def _task_key(task: dict[str, Any]) -> str:
    basis = {"initial": task["initial"], "calls": [(c["name"], c["arguments"]) for c in task["gold_calls"]]}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:12]


__all__ = ["OUTPUT", "USER", "Rejected", "SampleConfig", "TaskSampler"]
