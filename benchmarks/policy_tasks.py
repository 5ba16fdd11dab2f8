"""Tasks and conversations against the specs' policy rules, per domain.

    python benchmarks/policy_tasks.py [SPEC_OR_DIR ...] [-n TASKS_PER_DOMAIN] [--seed S]

For each domain (default: specs/): n tasks with the default sampling settings (20% failure paths,
mixed initial states), then one oracle conversation each with the scripted user, judged by every
filter (policy rules included). Reported per domain:
- one_user: share of tasks whose calls touch the entities of at most one user (checked here again
  with the owner index of the task's initial state, not taken from the sampler);
- identified_where_needed: of the tasks that touch a user's entities, the share whose first call is a
  successful identification of that user by one of the rules' identification tools;
- write_coverage: write tools with at least one task / write tools;
- distinct_goals: distinct goal texts / tasks;
- kept: oracle conversations the filters keep / conversations;
- conversations_per_s: oracle conversations (play + judge) per second on one core.
Results go to benchmarks/results/policy_tasks.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench_common import write_json_atomic

from envdsl import compiler as C
from envdsl.ir.rules import PolicyRules
from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.rollout.agents import OracleAgent
from envdsl.rollout.conversation import run_conversation
from envdsl.rollout.filters import FilterConfig, judge, tool_defaults
from envdsl.rollout.policy_filters import OwnerIndexCache
from envdsl.rollout.users import ScriptedUser
from envdsl.session import environment_from_spec
from envdsl.tasks import SampleConfig, TaskSampler
from envdsl.tasks.coverage import tool_coverage

ROOT = Path(__file__).resolve().parent.parent


def measure(spec: str, n: int, seed: int) -> dict[str, object]:
    env = environment_from_spec(spec)
    ir = type(env).ir()
    rules = PolicyRules.from_ir(ir)
    tasks = TaskSampler(env, SampleConfig(failure_rate=0.2), seed=seed, spec=spec).sample(n)
    owners = OwnerIndexCache()
    one_user = needs = identified = 0
    for task in tasks:
        _, index = owners.get(env, task)
        touched: set[str] = set()
        for c in task["gold_calls"]:
            if rules.user is None or c["name"] not in rules.user.identify:
                touched |= index.owners(rules.owning_arguments(c["name"], json.loads(c["arguments"])))
        one_user += len(touched) <= 1
        if touched and rules.user and rules.user.identify:
            needs += 1
            first = task["gold_calls"][0]
            identified += (first["name"] in rules.user.identify and first["ok"] and task["user"] in touched)
    tools_ir = {t["name"]: t for t in ir["tools"]}
    names, defaults = set(env.TOOLS), tool_defaults(env)
    kept = 0
    t0 = time.perf_counter()
    for task in tasks:
        rec = run_conversation(env, task, OracleAgent(task, tools_ir), ScriptedUser(task))
        r, index = owners.get(env, task)
        kept += judge(rec, task, names, defaults, FilterConfig(), r, index)["keep"]
    elapsed = time.perf_counter() - t0
    cov = tool_coverage(tasks, ir)
    return {"tasks": len(tasks), "one_user": round(one_user / max(len(tasks), 1), 3),
            "identified_where_needed": f"{identified}/{needs}",
            "write_coverage": f"{cov['writes_covered']}/{cov['writes']}", "missing_writes": cov["missing_writes"],
            "distinct_goals": f"{len({t['goal'] for t in tasks})}/{len(tasks)}", "kept": f"{kept}/{len(tasks)}",
            "conversations_per_s": round(len(tasks) / elapsed, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("specs", nargs="*", default=[str(ROOT / "specs")])
    ap.add_argument("-n", type=int, default=60, help="tasks per domain")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", default=str(ROOT / "benchmarks" / "results" / "policy_tasks.json"))
    args = ap.parse_args()
    domains = {}
    for p in C.find_specs(args.specs, DiagnosticBag()):
        domains[Path(p).stem] = measure(str(p), args.n, args.seed)
    result = {"tasks_per_domain": args.n, "seed": args.seed, "cores_used": 1, "domains": domains}
    write_json_atomic(args.o, result)


if __name__ == "__main__":
    main()
