"""envdsl domains as TRL GRPOTrainer environments (`environment_factory`), and a dataset of task prompts.

    from envdsl.integrations.trl import environment_factories, task_dataset
    envs = load_environment_classes(["generated/bank", "generated/library"])
    tasks = read_jsonl("tasks.jsonl")
    trainer = GRPOTrainer(model=..., args=GRPOConfig(...), train_dataset=task_dataset(tasks, envs),
                          environment_factory=environment_factories(envs, tasks))

What TRL 1.16 takes (trl/trainer/grpo_trainer.py): a callable returning an environment instance, or a
dict of them selected per example by the dataset's `environment` column. Every public method of the
instance's class except `reset` and `get_reward` is a tool, its JSON schema built by transformers from
the method's type hints and Google-style docstring; `reset(**row)` receives the example's columns and
its string return is appended to the last user message; `get_reward()` is called once per finished
rollout and is logged under the class name.

Here each domain gets a class whose methods are its agent tools (typed from the domain's tools.json,
documented from the spec), whose `reset` puts the example's task's initial state in place and returns
the user's opening, and whose `get_reward` scores the final state (see `envdsl.integrations.scoring`,
where policy checks plug in). Only this module needs `datasets`; TRL itself is never imported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from envdsl.integrations.episodes import Episode, StaleTask, opening, system_prompt, tasks_by_domain
from envdsl.integrations.pytools import tool_functions, tool_method
from envdsl.integrations.scoring import Score
from envdsl.runtime.loader import load_environment_class

__all__ = ["EnvdslTrlEnvironment", "StaleTask", "environment_class", "environment_factories",
           "load_environment_classes", "task_dataset"]


class EnvdslTrlEnvironment:
    """Base of the generated per-domain classes. Public methods of subclasses are the domain's tools;
    everything else here is private (a leading underscore), as TRL would otherwise expose it as a tool."""

    _ENV_CLS: Any = None
    _TASKS: dict[str, dict[str, Any]] = {}

    def __init__(self) -> None:
        self._episode = Episode(self._ENV_CLS())
        self._last_score: Score | None = None

    def reset(self, **row: Any) -> str:
        """Start the example's task (its `task_id` column) and return the user's opening."""
        task_id = row.get("task_id")
        task = self._TASKS.get(task_id) if isinstance(task_id, str) else None
        if task is None:
            raise ValueError(f"{type(self).__name__}: the example has no known task_id ({task_id!r}); "
                             f"build the dataset with task_dataset() from the same tasks as the factory")
        self._episode.start(task)
        self._last_score = None
        return opening(task)

    def get_reward(self) -> float:
        """1.0 when the final state (and, for read-only tasks, the calls) match the task's gold, else 0.0."""
        self._last_score = self._episode.score()
        return self._last_score.reward

    def _run(self, name: str, arguments: dict[str, Any]) -> str:
        return str(self._episode.call(name, arguments).content)


def environment_class(env_cls: Any, tasks: Iterable[dict[str, Any]]) -> type[EnvdslTrlEnvironment]:
    """A TRL environment class (itself the factory: TRL calls it with no arguments) for one domain,
    knowing the given tasks of that domain by task_id."""
    table = {t["task_id"]: t for t in tasks if t.get("domain") == env_cls.DOMAIN}
    members: dict[str, Any] = {"_ENV_CLS": env_cls, "_TASKS": table,
                               "__doc__": f"The {env_cls.DOMAIN} domain of envdsl as a TRL environment."}
    for function in tool_functions(env_cls):
        members[function["name"]] = tool_method(function, EnvdslTrlEnvironment._run)
    name = "".join(part.capitalize() for part in str(env_cls.DOMAIN).split("_")) + "TrlEnvironment"
    return type(name, (EnvdslTrlEnvironment,), members)


def environment_factories(environments: Mapping[str, Any], tasks: Iterable[dict[str, Any]]
                          ) -> dict[str, type[EnvdslTrlEnvironment]]:
    """{domain: environment class} for GRPOTrainer's dict form, selected by the `environment` column."""
    by_domain = tasks_by_domain(tasks)
    return {domain: environment_class(env_cls, by_domain.get(domain, []))
            for domain, env_cls in sorted(environments.items())}


def load_environment_classes(packages: Iterable[str | Path]) -> dict[str, Any]:
    """{domain: Environment class} from generated package folders (envdsl compile's output)."""
    out: dict[str, Any] = {}
    for package in packages:
        env_cls = load_environment_class(package)
        out[env_cls.DOMAIN] = env_cls
    return out


def task_dataset(tasks: Iterable[dict[str, Any]], environments: Mapping[str, Any]) -> Any:
    """A `datasets.Dataset` with one row per task: `prompt` (the domain's system prompt and an empty user
    turn, which `reset` fills with the user's opening), `task_id` and `environment` (the domain).
    Tasks of domains not in `environments` are refused, so that no example points at a missing factory."""
    from datasets import Dataset

    rows: dict[str, list[Any]] = {"prompt": [], "task_id": [], "environment": []}
    for task in tasks:
        env_cls = environments.get(task["domain"])
        if env_cls is None:
            raise ValueError(f"task {task['task_id']!r} is for domain {task['domain']!r}, which is not among the "
                             f"environments given ({', '.join(sorted(environments)) or 'none'})")
        rows["prompt"].append([{"role": "system", "content": system_prompt(env_cls)}, {"role": "user", "content": ""}])
        rows["task_id"].append(task["task_id"])
        rows["environment"].append(task["domain"])
    return Dataset.from_dict(rows)
