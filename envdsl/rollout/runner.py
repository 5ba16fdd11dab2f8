"""Rollouts at scale: many (task, trial) conversations, in parallel, resumable, then filtered and exported.

Layout of an output folder:

    OUT/run.json                  what made the run (agent, user, model settings, tasks checksum, version):
                                  a rerun resumes only the same run (see identity.py)
    OUT/tasks.jsonl               the tasks this run played (so `envdsl eval OUT` needs nothing else)
    OUT/runs/<task_id>.t<k>.json  one finished conversation each: the journal a rerun skips
    OUT/summary.json              filter counts per reason, success and recovery counts
    OUT/dataset/shard-*.jsonl     kept conversations (training rows) + OUT/dataset/manifest.json

Environments come from `make_env(spec)`, a picklable callable given by the caller (the CLI passes
envdsl.session.environment_from_spec), so this layer never imports the compiler. With
workers > 1 conversations run in that many processes; otherwise in `concurrency` threads (what
HTTP agents want: the time goes into waiting on the server). Each thread keeps its own
environments, since an environment is not thread-safe.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from envdsl.llm.base import BackendUnavailable
from envdsl.rollout.agents import LLMAgent, OracleAgent, flaky_oracle
from envdsl.rollout.conversation import run_conversation
from envdsl.rollout.export import export_dataset
from envdsl.rollout.filters import FilterConfig, judge, tool_defaults
from envdsl.rollout.identity import claim_run_folder, run_identity
from envdsl.rollout.policy_filters import OwnerIndexCache
from envdsl.rollout.users import LLMUser, ScriptedUser
from envdsl.tasks.io import TaskFileError, relative_specs, write_json, write_jsonl
from envdsl.tasks.io import read_tasks as read_task_file


@dataclass
class RolloutConfig:
    agent: str = "oracle"  # oracle | flaky:P | openai:MODEL | hf:PATH
    user: str = "scripted"  # scripted | openai:MODEL
    trials: int = 1
    max_turns: int = 30
    workers: int = 1
    concurrency: int = 1
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = 120.0
    max_retries: int = 4
    temperature: float | None = None
    max_tokens: int | None = None
    specs: dict[str, str] = field(default_factory=dict)  # domain -> spec path, overriding the task's


class RunStopped(RuntimeError):
    """The run cannot go on (its LLM backend is unavailable); nothing was scored."""


AGENT_KINDS = "oracle | flaky:P | openai:MODEL | hf:PATH"
USER_KINDS = "scripted | openai:MODEL | hf:PATH"


def check_roles(cfg: RolloutConfig) -> None:
    """Agent and user specs, checked once before anything runs (ValueError with what is wrong and what is
    accepted): a typo must not become one failed conversation per task."""
    from envdsl.llm.openai_compat import NO_ENDPOINT, resolve_base_url

    for role, spec, kinds, fixed in (("agent", cfg.agent, AGENT_KINDS, ("oracle",)),
                                     ("user", cfg.user, USER_KINDS, ("scripted",))):
        if spec in fixed:
            continue
        kind, _, name = spec.partition(":")
        if role == "agent" and kind == "flaky":
            try:
                p = float(name)
            except ValueError:
                p = -1.0
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"--agent {spec}: flaky:P needs a probability P between 0 and 1")
            continue
        if kind not in ("openai", "hf") or not name:
            raise ValueError(f"--{role} {spec!r}: expected {kinds}")
        if kind == "openai" and resolve_base_url(cfg.base_url) is None:
            raise ValueError(f"--{role} {spec}: {NO_ENDPOINT}")
        if kind == "hf" and not Path(name).is_dir():
            raise ValueError(f"--{role} {spec}: no checkpoint folder {name}")
    for flag, value, low in (("--trials", cfg.trials, 1), ("--max-turns", cfg.max_turns, 1),
                             ("--workers", cfg.workers, 1), ("--concurrency", cfg.concurrency, 1),
                             ("--max-retries", cfg.max_retries, 0)):
        if value < low:
            raise ValueError(f"{flag} must be at least {low}, got {value}")
    if cfg.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {cfg.timeout}")
    if cfg.max_tokens is not None and cfg.max_tokens < 1:
        raise ValueError(f"--max-tokens must be at least 1, got {cfg.max_tokens}")
    if cfg.temperature is not None and not 0.0 <= cfg.temperature <= 2.0:
        raise ValueError(f"--temperature must lie in [0, 2], got {cfg.temperature}")


def check_specs(tasks: list[dict[str, Any]], cfg: RolloutConfig) -> None:
    """Every domain's spec exists, before anything runs: one message per domain, not one failure per task."""
    missing: dict[str, str] = {}
    for task in tasks:
        if task["domain"] in missing:
            continue
        spec = cfg.specs.get(task["domain"]) or task.get("spec")
        if not spec or not Path(str(spec)).exists():
            missing[task["domain"]] = f"{task['domain']!r} (the tasks name {spec!r})" if spec else repr(task["domain"])
    if missing:
        raise TaskFileError(f"no spec for domain {', '.join(missing.values())}: keep the specs where the tasks file "
                            "says (relative to its folder), pass --spec PATH, or set ENVDSL_SPEC_PATH to folders "
                            "holding DOMAIN.env")


def unit_name(task_id: str, trial: int) -> str:
    return f"{task_id}.t{trial}"


def run_rollouts(tasks: list[dict[str, Any]], out_dir: str | Path, make_env: Callable[[str], Any],
                 cfg: RolloutConfig, filters: FilterConfig | None = None, progress: bool = False,
                 shard_size: int = 2000) -> dict[str, Any]:
    filters = filters or FilterConfig()
    out = Path(out_dir)
    check_roles(cfg)
    check_specs(tasks, cfg)
    claim_run_folder(out, run_identity(cfg, tasks))
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "tasks.jsonl", relative_specs(tasks, out / "tasks.jsonl"))
    todo = [(t, k) for t in tasks for k in range(cfg.trials) if not _done(runs / f"{unit_name(t['task_id'], k)}.json")]
    skipped = len(tasks) * cfg.trials - len(todo)
    failures: list[str] = []
    stopped: BackendUnavailable | None = None
    _backend_down.clear()
    if todo:
        executor: Executor = ProcessPoolExecutor(cfg.workers) if cfg.workers > 1 else \
            ThreadPoolExecutor(max(1, cfg.concurrency))
        with executor, _progress(progress, len(todo)) as advance:
            futures = {executor.submit(_play, t, k, asdict(cfg), make_env): (t, k) for t, k in todo}
            for fut in as_completed(futures):
                t, k = futures[fut]
                if fut.cancelled():
                    continue
                try:
                    record = fut.result()
                except BackendUnavailable as e:
                    # the server is down, the key or the model wrong: no conversation can tell anything about
                    # the agent now. Stop; what finished is kept and a rerun resumes after the fix.
                    if stopped is None:
                        stopped = e
                        for other in futures:
                            other.cancel()
                except Exception as e:  # a task that cannot be played (stale, missing spec): report, go on
                    failures.append(f"{unit_name(t['task_id'], k)}: {type(e).__name__}: {e}")
                else:
                    write_json(runs / f"{unit_name(t['task_id'], k)}.json", record)
                advance()
    if stopped is not None:
        raise RunStopped(f"the LLM backend failed, so the run stopped before scoring anything as an agent "
                         f"failure: {stopped}. Finished conversations are kept in {out.as_posix()}/runs/; "
                         "rerun the same command to resume once the backend works.")
    summary = finalize(out, tasks, cfg.trials, make_env, cfg, filters, shard_size)
    summary["played"] = len(todo) - len(failures)
    summary["resumed_skipped"] = skipped
    summary["unplayable"] = failures
    write_json(out / "summary.json", summary)
    return summary


def load_records(out: Path, tasks: list[dict[str, Any]], trials: int | None = None) -> list[dict[str, Any]]:
    records = []
    for t in tasks:
        for path in sorted((out / "runs").glob(f"{t['task_id']}.t*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                trial = record["trial"]
            except (ValueError, KeyError, TypeError):
                raise TaskFileError(f"{path.as_posix()}: not a finished conversation; rerun the same `envdsl "
                                    "rollout` command into the folder to play it again") from None
            if trials is None or trial < trials:
                records.append(record)
    return records


def judge_records(records: list[dict[str, Any]], tasks: list[dict[str, Any]], make_env: Callable[[str], Any],
                  cfg: RolloutConfig, filters: FilterConfig) -> list[dict[str, Any]]:
    """Each record's verdict (record["verdict"]), judged against the tool names and defaults of its domain."""
    by_id = {t["task_id"]: t for t in tasks}
    domain_info: dict[str, tuple[set[str], dict[str, dict[str, Any]]]] = {}
    envs: dict[str, Any] = {}
    owners = OwnerIndexCache()
    for r in records:
        task = by_id[r["task_id"]]
        if task["domain"] not in domain_info:
            env = envs[task["domain"]] = _environment(_spec_of(task, cfg), make_env)
            domain_info[task["domain"]] = (set(env.TOOLS), tool_defaults(env))
        names, defaults = domain_info[task["domain"]]
        rules, index = owners.get(envs[task["domain"]], task)
        r["verdict"] = judge(r, task, names, defaults, filters, rules, index)
    return records


def finalize(out: Path, tasks: list[dict[str, Any]], trials: int, make_env: Callable[[str], Any], cfg: RolloutConfig,
             filters: FilterConfig, shard_size: int = 2000) -> dict[str, Any]:
    records = judge_records(load_records(out, tasks, trials), tasks, make_env, cfg, filters)
    reasons: dict[str, int] = {}
    for r in records:
        for reason in r["verdict"]["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    kept = [r for r in records if r["verdict"]["keep"]]
    summary = {"conversations": len(records), "kept": len(kept), "rejected": len(records) - len(kept),
               "reasons": dict(sorted(reasons.items())),
               "successes": sum(r["verdict"]["success"] for r in records),
               "recovered_from_error": sum(r["verdict"]["recovered"] for r in kept),
               "filters": asdict(filters)}
    manifest = export_dataset(kept, out / "dataset", shard_size=shard_size, summary=summary)
    summary["dataset_rows"] = manifest["rows"]
    return summary


# ---- one conversation (runs in a worker thread or process)

_local = threading.local()
_classes: dict[str, Any] = {}  # spec -> environment class, loaded (compiled) once per process
_classes_lock = threading.Lock()


def _environment(spec: str, make_env: Callable[[str], Any]) -> Any:
    """A new environment for `spec`, compiled once per process (an instance holds live state and is
    not thread-safe; the class is shared). A spec edited during the process's life is not reloaded;
    tasks carry their initial state hash, so playing one on a changed spec fails loudly."""
    with _classes_lock:
        if spec not in _classes:
            env = make_env(spec)
            _classes[spec] = type(env)
            return env
    return _classes[spec]()


_backend_down: list[BackendUnavailable] = []  # set once a backend failed in this process: later units stop at once


def _play(task: dict[str, Any], trial: int, cfg_dict: dict[str, Any], make_env: Callable[[str], Any]) -> dict[str, Any]:
    if _backend_down:  # a unit that started before the runner could cancel it sends nothing
        raise _backend_down[0]
    try:
        return _play_unit(task, trial, cfg_dict, make_env)
    except BackendUnavailable as e:
        _backend_down.append(e)
        raise


def _play_unit(task: dict[str, Any], trial: int, cfg_dict: dict[str, Any], make_env: Callable[[str], Any]
               ) -> dict[str, Any]:
    cfg = RolloutConfig(**cfg_dict)
    envs = _local.__dict__.setdefault("envs", {})
    spec = _spec_of(task, cfg)
    if spec not in envs:
        envs[spec] = _environment(spec, make_env)
    env = envs[spec]
    tools_ir = {t["name"]: t for t in type(env).ir()["tools"]}
    agent = _agent(cfg, task, tools_ir, trial)
    user = _user(cfg, task)
    record = run_conversation(env, task, agent, user, max_turns=cfg.max_turns)
    record["trial"] = trial
    record["agent"] = cfg.agent
    record["user"] = cfg.user
    return record


def _spec_of(task: dict[str, Any], cfg: RolloutConfig) -> str:
    spec = cfg.specs.get(task["domain"]) or task.get("spec")
    if not spec:
        raise ValueError(f"task {task['task_id']}: no spec for domain {task['domain']!r}; pass --spec")
    return str(spec)


def _backend(cfg: RolloutConfig, spec: str) -> Any:
    key = ("backend", spec)
    cache = _local.__dict__.setdefault("backends", {})
    if key not in cache:
        from envdsl.llm import backend_from_spec
        from envdsl.llm.base import LLMError

        try:
            cache[key] = backend_from_spec(spec, base_url=cfg.base_url, api_key=cfg.api_key, timeout=cfg.timeout,
                                           max_retries=cfg.max_retries)
        except LLMError as e:  # a checkpoint that does not load: no task can be played, say it once
            raise BackendUnavailable(f"{spec}: {e}") from None
    return cache[key]


def sampling_params(cfg: RolloutConfig, default_temperature: float | None = None) -> dict[str, Any]:
    """What each request of an LLM agent or user carries: --temperature and --max-tokens when given."""
    params: dict[str, Any] = {}
    temperature = default_temperature if cfg.temperature is None else cfg.temperature
    if temperature is not None:
        params["temperature"] = temperature
    if cfg.max_tokens is not None:
        params["max_tokens"] = cfg.max_tokens
    return params


def _agent(cfg: RolloutConfig, task: dict[str, Any], tools_ir: dict[str, Any], trial: int) -> Any:
    if cfg.agent == "oracle":
        return OracleAgent(task, tools_ir)
    if cfg.agent.startswith("flaky:"):
        return flaky_oracle(task, tools_ir, float(cfg.agent.split(":", 1)[1]), trial)
    return LLMAgent(_backend(cfg, cfg.agent), **sampling_params(cfg))


def _user(cfg: RolloutConfig, task: dict[str, Any]) -> Any:
    if cfg.user == "scripted":
        return ScriptedUser(task)
    return LLMUser(task, _backend(cfg, cfg.user), **sampling_params(cfg, default_temperature=0))


def _done(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        json.loads(path.read_text(encoding="utf-8"))
        return True
    except ValueError:  # cannot happen with atomic writes, but a hand-edited file is replayed
        return False


class _progress:
    """Progress when asked for: a rich bar on a terminal; elsewhere (a log, a pipeline) a plain line on stderr
    at every tenth of the work, so long runs show they are alive. `advance()` either way."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total = enabled, total

    def __enter__(self) -> Callable[[], None]:
        import sys

        if not self.enabled:
            return lambda: None
        if not sys.stderr.isatty():
            self.enabled = False
            done = [0]
            step = max(1, self.total // 10)

            def line() -> None:
                done[0] += 1
                if done[0] % step == 0 or done[0] == self.total:
                    print(f"rollouts: {done[0]}/{self.total} conversation(s) played", file=sys.stderr, flush=True)
            return line
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), transient=False)
        self.bar.__enter__()
        task_id = self.bar.add_task("rollouts", total=self.total)
        return lambda: self.bar.advance(task_id)

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)


def read_tasks(path: str | Path) -> list[dict[str, Any]]:
    """A tasks file, validated, specs resolved from its own folder (see envdsl.tasks.io.read_tasks)."""
    return read_task_file(path)
