"""Pipeline speed: verified tasks per second and oracle conversations per second, on one core.

    /work/venv/bin/python benchmarks/pipeline_speed.py [SPEC_OR_DIR ...] [-n TASKS_PER_DOMAIN]

Defaults to the pipeline test fixtures. Compilation is excluded (environments are built first);
sampling includes executing and checking every task; conversations include filtering. Results
go to benchmarks/results/pipeline_speed.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from bench_common import write_json_atomic

from envdsl import compiler as C
from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.rollout.agents import OracleAgent
from envdsl.rollout.conversation import run_conversation
from envdsl.rollout.filters import FilterConfig, judge, tool_defaults
from envdsl.rollout.policy_filters import OwnerIndexCache
from envdsl.rollout.users import ScriptedUser
from envdsl.session import environment_from_spec
from envdsl.tasks import SampleConfig, TaskSampler

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("specs", nargs="*", default=[str(ROOT / "tests" / "fixtures" / "pipeline")])
    ap.add_argument("-n", type=int, default=200, help="tasks per domain")
    ap.add_argument("-o", default=str(ROOT / "benchmarks" / "results" / "pipeline_speed.json"))
    args = ap.parse_args()
    paths = C.find_specs(args.specs, DiagnosticBag())
    per_domain = {}
    total_tasks = total_convs = 0
    t_tasks = t_convs = 0.0
    for p in paths:
        env = environment_from_spec(p)
        t0 = time.perf_counter()
        tasks = TaskSampler(env, SampleConfig(failure_rate=0.2), seed=0).sample(args.n)
        t1 = time.perf_counter()
        tools_ir = {t["name"]: t for t in type(env).ir()["tools"]}
        names, defaults = set(env.TOOLS), tool_defaults(env)
        kept = 0
        owners = OwnerIndexCache()  # every filter, the policy rules included, as `envdsl rollout` runs them
        for task in tasks:
            rec = run_conversation(env, task, OracleAgent(task, tools_ir), ScriptedUser(task))
            rules, index = owners.get(env, task)
            kept += judge(rec, task, names, defaults, FilterConfig(), rules, index)["keep"]
        t2 = time.perf_counter()
        per_domain[type(env).DOMAIN] = {"tasks": len(tasks), "kept": kept,
                                        "tasks_per_s": round(len(tasks) / (t1 - t0), 1),
                                        "conversations_per_s": round(len(tasks) / (t2 - t1), 1)}
        total_tasks += len(tasks)
        total_convs += len(tasks)
        t_tasks += t1 - t0
        t_convs += t2 - t1
    result = {"cores_used": 1, "machine": f"{platform.machine()} {platform.python_implementation()} "
                                          f"{platform.python_version()}, {os.cpu_count()} cpus",
              "tasks": total_tasks, "verified_tasks_per_s_per_core": round(total_tasks / t_tasks, 1),
              "oracle_conversations_per_s_per_core": round(total_convs / t_convs, 1), "domains": per_domain}
    write_json_atomic(args.o, result)


if __name__ == "__main__":
    main()
