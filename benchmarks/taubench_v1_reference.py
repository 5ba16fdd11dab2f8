"""The reference for `envdsl replay --v1`: what tau-bench (v1)'s own code does with each task's gold actions.

Run against a checkout of github:sierra-research/tau-bench (nothing is copied from it; it is read where it lies):

    python benchmarks/taubench_v1_reference.py --v1-dir PATH/tau-bench --domain airline \
        -o benchmarks/results/taubench_v1_airline_reference.json

For every task of the domain's test split it does what v1's evaluator does to compute the gold outcome:
fresh data from the domain's loader, every gold action but the terminating ones stepped through v1's own
`Env.step`, then v1's own `Env.get_data_hash()`. It records each observation and the final hash, and the
hash of the untouched data. The file it writes is the only input `envdsl replay --v1` trusts for v1's hashes.

This runs v1's Python (its tool modules, its data loader, its Env class), so only point it at a checkout
you trust. The packages v1 imports for its LLM user (litellm and the like) are not needed: the user module
is replaced by a stand-in, since replaying gold actions never asks the user anything.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

FORMAT = "tau-bench-v1-reference"


def _package(name: str, folder: Path) -> None:
    """Register NAME as a package at FOLDER without running its __init__ (which imports the LLM stack)."""
    module = types.ModuleType(name)
    module.__path__ = [str(folder)]
    sys.modules[name] = module


def load_v1(v1_dir: Path, domain: str, tasks_file: Path | None = None) -> tuple[Any, Any, Any, list[Any], list[str]]:
    root = v1_dir / "tau_bench"
    if not (root / "envs" / domain / "tools").is_dir():
        raise SystemExit(f"error: {v1_dir} is not a tau-bench checkout with a {domain} domain "
                         f"(no tau_bench/envs/{domain}/tools)")
    sys.path.insert(0, str(v1_dir))
    _package("tau_bench", root)
    _package("tau_bench.envs", root / "envs")
    _package(f"tau_bench.envs.{domain}", root / "envs" / domain)
    user = types.ModuleType("tau_bench.envs.user")

    class _User:  # replaying gold actions never talks to the user
        def reset(self, instruction: str | None = None) -> str:
            return ""

        def step(self, content: str) -> str:
            return ""

        def get_total_cost(self) -> float:
            return 0.0

    user.UserStrategy = str  # type: ignore[attr-defined]
    user.load_user = lambda *a, **k: _User()  # type: ignore[attr-defined]
    sys.modules["tau_bench.envs.user"] = user
    base = importlib.import_module("tau_bench.envs.base")
    tools = importlib.import_module(f"tau_bench.envs.{domain}.tools")
    data = importlib.import_module(f"tau_bench.envs.{domain}.data")
    if tasks_file is None:
        tasks = importlib.import_module(f"tau_bench.envs.{domain}.tasks_test")
    else:  # another task file in v1's format (the test fixtures), run as v1 runs its own
        spec = importlib.util.spec_from_file_location("v1_tasks_under_test", tasks_file)
        assert spec is not None and spec.loader is not None
        tasks = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tasks)
    env_module = (root / "envs" / domain / "env.py").read_text(encoding="utf-8")
    terminate = ["transfer_to_human_agents"] if "transfer_to_human_agents" in env_module else []
    return base, tools, data, list(tasks.TASKS), terminate


def _folder_loader(folder: Path) -> Any:
    """v1's loader shape (one JSON file per part of the data) over another folder."""
    def load_data() -> dict[str, Any]:
        return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}
    return load_data


def reference(v1_dir: Path, domain: str, tasks_file: Path | None = None,
              data_dir: Path | None = None) -> dict[str, Any]:
    base, tools, data, tasks, terminate = load_v1(v1_dir, domain, tasks_file)
    if data_dir is not None:
        data.load_data = _folder_loader(data_dir)
    env = base.Env(data_load_func=data.load_data, tools=tools.ALL_TOOLS, tasks=tasks, wiki="", rules=[],
                   user_strategy="human", user_model="none", task_index=0)
    env.terminate_tools = terminate
    out: dict[str, Any] = {"format": FORMAT, "domain": domain, "terminate_tools": terminate,
                           "initial_data_hash": env.get_data_hash(), "tasks": []}
    for index, task in enumerate(tasks):
        env.data = data.load_data()
        outputs = []
        for action in task.actions:
            if action.name in terminate or action.name == "respond":
                continue
            response = env.step(action)
            outputs.append(response.observation)
        out["tasks"].append({"index": index, "data_hash": env.get_data_hash(), "outputs": outputs})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--v1-dir", required=True, type=Path, help="a checkout of sierra-research/tau-bench")
    ap.add_argument("--domain", default="airline")
    ap.add_argument("--tasks", type=Path, default=None,
                    help="another task file in v1's format instead of the domain's tasks_test.py")
    ap.add_argument("--data", type=Path, default=None,
                    help="another data folder (<part>.json files) instead of the domain's data")
    ap.add_argument("-o", "--output", required=True, type=Path)
    args = ap.parse_args()
    ref = reference(args.v1_dir.resolve(), args.domain, args.tasks and args.tasks.resolve(),
                    args.data and args.data.resolve())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(ref['tasks'])} {args.domain} tasks: reference written to {args.output}")


if __name__ == "__main__":
    main()
