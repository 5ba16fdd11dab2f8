"""The envdsl command line. Thin: each command parses options and calls into the library."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterator, NoReturn

import click

from envdsl import __version__
from envdsl.lang.diagnostics import DiagnosticBag

EXIT_ERRORS = 1
EXIT_USAGE = 2


def _report(bag: DiagnosticBag, fmt: str) -> None:
    if fmt == "json":
        click.echo(bag.to_json())
    elif bag.items:
        click.echo(bag.render(), err=True)


def _format_option(f: Any) -> Any:
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                        help="Diagnostics as text for people or JSON for machines.")(f)


def _allow_dir_option(f: Any) -> Any:
    """--allow-dir for every command that compiles a spec, read the same way by all: the folders join
    $ENVDSL_ALLOW_DIRS for the command's run (compiler.allowing), so each compile inside it sees them."""
    def allow(ctx: click.Context, _param: click.Parameter, folders: tuple[str, ...]) -> None:
        from envdsl import compiler as C

        ctx.with_resource(C.allowing(folders))

    return click.option("--allow-dir", multiple=True, expose_value=False, callback=allow,
                        type=click.Path(exists=True, file_okay=False),
                        help="A folder seed and policy files may also come from (repeatable; "
                             "adds to $ENVDSL_ALLOW_DIRS).")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="envdsl")
def main() -> None:
    """envdsl: typed, verified, executable tool environments for training tool-using agents."""


@main.command("compile")
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--out", default="generated", show_default=True, help="Where packages are written.")
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if OUT is stale.")
@click.option("--emit", "emit", type=click.Choice(["python", "ir"]), multiple=True,
              help="What to write (default: python). --emit ir writes OUT/<domain>.ir.json.")
@click.option("--force", is_flag=True, help="Recompile specs even when their inputs are unchanged.")
@_allow_dir_option
@_format_option
def compile_cmd(paths: tuple[str, ...], out: str, check_only: bool, emit: tuple[str, ...], force: bool,
                fmt: str) -> None:
    """Check specs and generate a Python package per domain under OUT/<domain>/ (a Python keyword as the
    domain name gets a trailing underscore: OUT/class_/)."""
    from envdsl import compiler as C

    emit = emit or ("python",)
    bag = DiagnosticBag()
    out_dir = Path(out)
    t0 = time.perf_counter()
    spec_paths = C.find_specs(list(paths), bag)
    toolchain = C.toolchain_digest()
    specs, skipped = [], 0
    index = C.fingerprint_index(out_dir)
    for p in spec_paths:
        if not force and not check_only and emit == ("python",) and C.unchanged(index, p, toolchain):
            skipped += 1
            continue
        spec = C.check_spec(p, bag)
        if spec is not None:
            specs.append(spec)
    C.check_duplicates(specs, bag)
    if bag.has_errors:
        _report(bag, fmt)
        sys.exit(EXIT_ERRORS)
    written, stale = 0, []
    if not check_only:
        C.remove_leftovers(out_dir)  # what a compile killed half-way left behind
    for spec in specs:
        if "python" in emit:
            C.render(spec, toolchain)
            if check_only:
                files = C.stale_files(out_dir, spec)
                if files:
                    stale.append((spec, files))
            else:
                C.write_package(out_dir, spec)
                written += 1
        if "ir" in emit and not check_only:
            C.write_ir(out_dir, spec)
    if check_only and stale:
        from envdsl.lang.diagnostics import Span

        for spec, files in stale:
            bag.error("E0605", f"{out_dir.as_posix()}/{spec.package} is stale: {', '.join(files[:5])}"
                               f"{' ...' if len(files) > 5 else ''} differ from what {spec.display} compiles to",
                      spec.display, Span(1, 1, 1, 2))
        _report(bag, fmt)
        sys.exit(EXIT_ERRORS)
    elapsed = time.perf_counter() - t0
    if fmt == "json":
        click.echo(json.dumps({"diagnostics": [], "compiled": written, "checked": len(specs), "skipped": skipped,
                               "seconds": round(elapsed, 3)}, sort_keys=True))
    elif check_only:
        click.echo(f"{len(specs)} domain(s) up to date in {out_dir.as_posix()}/")
    else:
        click.echo(f"compiled {written} domain(s), {skipped} unchanged, into {out_dir.as_posix()}/ "
                   f"in {elapsed:.2f}s")


@main.command("check")
@click.argument("paths", nargs=-1, required=True)
@_allow_dir_option
@_format_option
def check_cmd(paths: tuple[str, ...], fmt: str) -> None:
    """Parse and check specs (and their seed data) without writing anything."""
    from envdsl import compiler as C

    bag = DiagnosticBag()
    specs = [s for p in C.find_specs(list(paths), bag) if (s := C.check_spec(p, bag)) is not None]
    C.check_duplicates(specs, bag)
    _report(bag, fmt)
    if bag.has_errors:
        sys.exit(EXIT_ERRORS)
    if fmt != "json":
        click.echo(f"{len(specs)} spec(s) OK")


@main.command("call")
@click.argument("spec")
@click.argument("tool")
@click.argument("arguments", default="{}")
@click.option("--state", "show_state", is_flag=True, help="Also print the state changes the call made.")
@_allow_dir_option
def call_cmd(spec: str, tool: str, arguments: str, show_state: bool) -> None:
    """Run one TOOL of SPEC on its seed state with JSON ARGUMENTS and print the result."""
    from envdsl.session import environment_from_spec

    env = environment_from_spec(spec)
    before = env.state() if show_state else None
    result = env.call(tool, arguments)
    click.echo(result.content)
    if show_state:
        from envdsl.runtime.diff import state_diff

        for change in state_diff(before, env.state()):
            click.echo(json.dumps(change, sort_keys=True), err=True)
    sys.exit(0 if result.ok else EXIT_ERRORS)


@main.command("replay")
@click.argument("spec")
@click.option("--tasks", "tasks_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder with tasks.json and gold_replay.json (tau2-bench format).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--full", is_flag=True, help="Compare whole-database hashes instead of the changed entities.")
@click.option("--v1", "v1_tasks", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A tau-bench (v1) task file (tasks_test.py, read without running it, or a JSON task list).")
@click.option("--v1-reference", default=None, type=click.Path(exists=True, dir_okay=False),
              help="v1's own outcome of each task (benchmarks/taubench_v1_reference.py): the hashes to compare with.")
@click.option("--v1-data", default=None, type=click.Path(exists=True, file_okay=False),
              help="Start from v1's data folder (<state field>.json files) instead of the spec's seed.")
@_allow_dir_option
def replay_cmd(spec: str, tasks_dir: str | None, as_json: bool, full: bool, v1_tasks: str | None,
               v1_reference: str | None, v1_data: str | None) -> None:
    """Replay every task's gold actions on SPEC and compare with the benchmark's own outcome."""
    from envdsl.replay import load_reference, replay
    from envdsl.replay_check import tau2_comparison_problem, tau2_layout_problem
    from envdsl.session import environment_from_spec

    if v1_tasks is not None or v1_reference is not None or v1_data is not None:
        _replay_v1_cmd(spec, tasks_dir, as_json, full, v1_tasks, v1_reference, v1_data)
        return
    if tasks_dir is None:
        _refuse("give --tasks DIR (tau2-bench) or --v1 TASKS_FILE --v1-reference REF.json (tau-bench v1)")
    problem = tau2_layout_problem(tasks_dir)
    if problem:
        _refuse(problem)
    env = environment_from_spec(spec)
    with _user_errors():
        tasks, gold = load_reference(tasks_dir)
    from envdsl import replay_actors as RA

    problems = RA.replay_problems(env, tasks)
    if problems:  # refuse rather than print a count that silently skipped what it could not run
        _refuse("; ".join(f"cannot replay {p}" for p in problems) + "; nothing was compared")
    if RA.needs_two_actor_replay(env, tasks):
        both = RA.replay_two_actor(env, tasks, gold)
        click.echo(json.dumps(both.to_json(), sort_keys=True) if as_json else "\n".join(RA.report_lines(both)))
        sys.exit(0 if RA.report_ok(both) else EXIT_ERRORS)
    mode = "full" if full else "fast"
    problem = tau2_comparison_problem(tasks, gold, mode)
    if problem:
        _refuse(problem)
    report = replay(env, tasks, gold, mode=mode)
    _print_replay(report, as_json)
    ok = report.db_match == report.tasks and report.outputs_match == report.outputs_total
    sys.exit(0 if ok else EXIT_ERRORS)


def _refuse(message: str) -> NoReturn:
    """No comparison can be made: say why and exit non-zero, rather than print a count that misleads."""
    click.echo(f"error: replay refused: {message}", err=True)
    sys.exit(EXIT_ERRORS)


def _print_replay(report: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"replay of {report.domain} (databases compared by {report.comparison})")
    for col in ("tasks", f"final databases equal ({report.comparison})", "tool outputs identical",
                "initial database", "seconds"):
        table.add_column(col)
    table.add_row(str(report.tasks), f"{report.db_match}/{report.tasks}",
                  f"{report.outputs_match}/{report.outputs_total}",
                  "equal" if report.initial_db_match else "DIFFERS", f"{report.seconds:.2f}")
    console = Console()
    console.print(table)
    for m in report.mismatches[:20]:
        console.print(f"[red]task {m.task_id}[/red] {m.kind} {m.call or ''} at {m.where}: "
                      f"expected {m.expected!r}, got {m.actual!r}", markup=True, highlight=False)
    if len(report.mismatches) > 20:
        console.print(f"... and {len(report.mismatches) - 20} more")


def _replay_v1_cmd(spec: str, tasks_dir: str | None, as_json: bool, full: bool, v1_tasks: str | None,
                   v1_reference: str | None, v1_data: str | None) -> None:
    """tau-bench (v1): the one comparison v1 defines is its data hash, which only v1's own code can give."""
    from envdsl.replay_v1 import V1FormatError, read_v1_data, read_v1_reference, read_v1_tasks, replay_v1
    from envdsl.session import environment_from_spec

    if tasks_dir is not None or full:
        _refuse("--tasks and --full are tau2-bench's; a v1 replay compares v1's data hash only")
    if v1_tasks is None:
        _refuse("give the v1 task file with --v1 (tau_bench/envs/<domain>/tasks_test.py)")
    if v1_reference is None:
        _refuse("a v1 replay compares with the hash v1's own code computes, and no reference gives it: run "
                "benchmarks/taubench_v1_reference.py --v1-dir PATH -o REF.json and pass --v1-reference REF.json")
    assert v1_tasks is not None and v1_reference is not None
    env = environment_from_spec(spec)
    try:
        tasks = read_v1_tasks(v1_tasks)
        reference = read_v1_reference(v1_reference)
        if v1_data is not None:
            names = [f["name"] for f in env.STATE_FIELDS]
            env.reset(state=read_v1_data(v1_data, names))
    except V1FormatError as e:
        _refuse(str(e))
    except ValueError as e:  # the data does not fit the spec's state
        _refuse(f"{v1_data} does not fit {spec}: {e}")
    known = {t["index"] for t in reference["tasks"]}
    unmatched = [t["index"] for t in tasks if t["index"] not in known]
    if not tasks or unmatched:
        _refuse(f"{len(unmatched)} of {len(tasks)} tasks have no entry in the reference" if tasks else
                "the task file holds no tasks: there is nothing to compare")
    report = replay_v1(env, tasks, reference)
    _print_replay(report, as_json)
    sys.exit(0 if report.db_match == report.tasks and report.initial_db_match else EXIT_ERRORS)


@main.command("fmt")
@click.argument("paths", nargs=-1, required=True)
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 listing files that would change.")
def fmt_cmd(paths: tuple[str, ...], check_only: bool) -> None:
    """Rewrite specs (files, or directories searched for *.env) in the canonical layout."""
    from envdsl import compiler as C
    from envdsl.lang.formatter import format_files

    bag = DiagnosticBag()
    files = [(p, C.display_path(p)) for p in C.find_specs(list(paths), bag)]
    result = format_files(files, bag, write=not check_only)
    _report(bag, "text")
    for reason in result.failed:
        click.echo(f"envdsl fmt: {reason}", err=True)
    for name in result.changed:
        click.echo(f"{'would reformat' if check_only else 'reformatted'} {name}")
    verb = "would be reformatted" if check_only else "reformatted"
    click.echo(f"{len(result.changed)} file(s) {verb}, {result.unchanged} unchanged")
    if bag.has_errors or result.failed or (check_only and result.changed):
        sys.exit(EXIT_ERRORS)


def _llm_options(f: Any) -> Any:
    """Flags shared by the commands that may talk to an OpenAI-compatible server."""
    f = click.option("--base-url", default=None,
                     help="Server base URL, such as http://localhost:8000/v1 (default: $OPENAI_BASE_URL; `openai` "
                     "names api.openai.com). Nothing is sent without one.")(f)
    f = click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY).")(f)
    return click.option("--timeout", type=float, default=120.0, show_default=True,
                        help="Seconds per request attempt, in all (connect to last byte).")(f)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Input errors (missing, empty or malformed files, another run's folder, a backend that cannot serve)
    become one message and exit 1 instead of the internal-error line: they are the user's to fix."""
    from envdsl.llm.base import BackendUnavailable
    from envdsl.rollout.identity import RunMismatch
    from envdsl.rollout.runner import RunStopped
    from envdsl.tasks.io import TaskFileError

    try:
        yield
    except (TaskFileError, RunMismatch, RunStopped, BackendUnavailable) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_ERRORS)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        click.echo(f"error: {e.strerror or e}: {e.filename}", err=True)
        sys.exit(EXIT_ERRORS)
    except UnicodeDecodeError as e:
        click.echo(f"error: a file is not UTF-8 text: {e}", err=True)
        sys.exit(EXIT_ERRORS)
    except json.JSONDecodeError as e:
        click.echo(f"error: a file is not valid JSON: {e}", err=True)
        sys.exit(EXIT_ERRORS)


def _spec_paths(paths: tuple[str, ...]) -> list[str]:
    """.env files (directories searched) and generated package folders, as given."""
    from envdsl import compiler as C

    bag = DiagnosticBag()
    packages: list[str] = []
    rest: list[str] = []
    for p in paths:
        if (Path(p) / "environment.py").is_file():  # one generated domain package
            packages.append(p)
        elif (Path(p) / "__init__.py").is_file() and not any(Path(p).rglob("*.env")):
            # a folder of generated packages, such as generated/: each domain inside it
            packages.extend(str(d) for d in sorted(Path(p).iterdir()) if (d / "environment.py").is_file())
        else:
            rest.append(p)
    found = [C.display_path(p) for p in C.find_specs(rest, bag)]
    if bag.has_errors:
        _report(bag, "text")
        sys.exit(EXIT_ERRORS)
    return packages + found


@main.command("tasks")
@click.argument("specs", nargs=-1, required=True)
@click.option("-n", "count", type=int, default=10, show_default=True, help="Tasks per domain.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--out", default="tasks.jsonl", show_default=True)
@click.option("--min-calls", type=int, default=1, show_default=True)
@click.option("--max-calls", type=int, default=4, show_default=True)
@click.option("--min-writes", type=int, default=0, show_default=True)
@click.option("--max-writes", type=int, default=None, help="At most this many write calls per task.")
@click.option("--failure-rate", type=float, default=0.2, show_default=True,
              help="Share of tasks with a failing call (a wrong user value) and its recovery.")
@click.option("--initial", type=click.Choice(["seed", "generated", "mixed"]), default="mixed", show_default=True)
@click.option("--generated-states", type=click.IntRange(min=1), default=8, show_default=True,
              help="Distinct generated initial states per domain to draw from (each has its own realistic "
                   "people, emails and ids: training data with many of them cannot be learned by remembering values).")
@click.option("--llm", default=None, help="Write goals with an LLM, e.g. openai:gpt-4o-mini (default: templates).")
@_llm_options
@_allow_dir_option
def tasks_cmd(specs: tuple[str, ...], count: int, seed: int, out: str, min_calls: int, max_calls: int,
              min_writes: int, max_writes: int | None, failure_rate: float, initial: str, generated_states: int,
              llm: str | None, base_url: str | None, api_key: str | None, timeout: float) -> None:
    """Sample verified tasks: executed walks over each domain's tool graph, written to OUT as JSONL."""
    from envdsl.session import environment_from_spec
    from envdsl.tasks.build import build_tasks
    from envdsl.tasks.goals import CountingGoalWriter, llm_goal_writer
    from envdsl.tasks.io import relative_specs, write_jsonl
    from envdsl.tasks.sampler import SampleConfig

    if not 1 <= min_calls <= max_calls:
        raise click.UsageError("need 1 <= --min-calls <= --max-calls")
    cfg = SampleConfig(min_calls=min_calls, max_calls=max_calls, min_writes=min_writes, max_writes=max_writes,
                       failure_rate=failure_rate, initial=initial, generated_states=generated_states)
    writer = None
    if llm:
        from envdsl.llm import backend_from_spec
        from envdsl.llm.openai_compat import NO_ENDPOINT, resolve_base_url

        if llm.startswith("openai:") and resolve_base_url(base_url) is None:
            raise click.UsageError(f"--llm {llm}: {NO_ENDPOINT}")
        from envdsl.llm.base import LLMError

        try:
            backend = backend_from_spec(llm, base_url=base_url, api_key=api_key, timeout=timeout)
        except ValueError as e:
            raise click.UsageError(f"--llm: {e}") from None
        except LLMError as e:  # a local checkpoint that does not load
            click.echo(f"error: --llm {llm}: {e}", err=True)
            sys.exit(EXIT_ERRORS)
        writer = CountingGoalWriter(llm_goal_writer(backend))
    if Path(out).is_dir():
        raise click.UsageError(f"-o {out} is a folder; give the tasks file to write, such as {out}/tasks.jsonl")
    tasks, stats = build_tasks(_spec_paths(specs), environment_from_spec, count, seed, cfg, writer)
    if writer is not None and writer.unavailable:
        click.echo(f"error: --llm {llm}: the backend cannot serve ({writer.unavailable}); nothing written. "
                   "Fix the server, or leave out --llm for template goals.", err=True)
        sys.exit(EXIT_ERRORS)
    write_jsonl(out, relative_specs(tasks, out))
    for domain, s in stats.items():
        click.echo(f"{domain}: {s['tasks']} task(s) ({s['read_only']} read-only, {s['with_failure']} with a "
                   f"failure path); graph {s['tools']} tools, {s['edges']} edges; rejected {s['rejections']}")
        cov = s["coverage"]
        missing = f" (none for {', '.join(cov['missing_writes'])})" if cov["missing_writes"] else ""
        click.echo(f"  {s['about_one_user']} about one identified user; write tools covered "
                   f"{cov['writes_covered']}/{cov['writes']}{missing}; tasks per tool: "
                   + ", ".join(f"{k} {v}" for k, v in cov["per_tool"].items()))
        for k, why in s.get("generation_errors", {}).items():
            click.echo(f"  warning: no generated state for seed {k}: {why}", err=True)
    if writer is not None:
        click.echo(f"goals: {writer.written} written by {llm}, {writer.fallbacks} fell back to templates"
                   + (f" (first failure: {writer.first_error})" if writer.fallbacks else ""),
                   err=bool(writer.fallbacks))
    click.echo(f"wrote {len(tasks)} task(s) to {out}")


def _rollout_config(agent: str, user: str, trials: int, workers: int, concurrency: int, max_turns: int,
                    spec: tuple[str, ...], base_url: str | None, api_key: str | None, timeout: float,
                    temperature: float | None = None, max_tokens: int | None = None, max_retries: int = 4) -> Any:
    from envdsl.rollout.runner import RolloutConfig, check_roles
    from envdsl.session import environment_from_spec

    cfg = RolloutConfig(agent=agent, user=user, trials=trials, workers=workers, concurrency=concurrency,
                        max_turns=max_turns, base_url=base_url, api_key=api_key, timeout=timeout,
                        temperature=temperature, max_tokens=max_tokens, max_retries=max_retries)
    try:
        check_roles(cfg)  # before any spec is compiled or task read: a typo costs nothing
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    cfg.specs = {environment_from_spec(p).DOMAIN: p for p in _spec_paths(spec)} if spec else {}
    return cfg


def _rollout_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--agent", default="oracle", show_default=True, help="oracle | flaky:P | openai:MODEL | hf:PATH"),
        click.option("--user", default="scripted", show_default=True, help="scripted | openai:MODEL"),
        click.option("--workers", type=int, default=1, show_default=True, help="Processes."),
        click.option("--concurrency", type=int, default=8, show_default=True, help="Threads (when --workers 1)."),
        click.option("--max-turns", type=int, default=30, show_default=True),
        click.option("--spec", multiple=True, help="Spec for a domain, instead of the path the tasks name."),
        click.option("--calls", "calls_mode", type=click.Choice(["auto", "always", "never"]), default="auto",
                     show_default=True, help="Require the gold calls: for read-only tasks, always, never."),
        click.option("--calls-exact", is_flag=True, help="The agent's successful calls must equal the gold ones."),
        click.option("--temperature", type=float, default=None,
                     help="Sampling temperature of LLM agents and users (default: the server's; LLM users 0)."),
        click.option("--max-tokens", type=int, default=None, help="Most tokens per LLM reply (agent and user)."),
        click.option("--max-retries", type=int, default=4, show_default=True,
                     help="Retries of a failed LLM request (timeouts, 429, 5xx) before the run stops."),
    ]):
        f = opt(f)
    return _allow_dir_option(_llm_options(f))


@main.command("rollout")
@click.argument("tasks_file")
@click.option("-o", "--out", required=True, help="Output folder (rerun to resume).")
@click.option("--trials", type=int, default=1, show_default=True)
@_rollout_options
def rollout_cmd(tasks_file: str, out: str, trials: int, agent: str, user: str, workers: int, concurrency: int,
                max_turns: int, spec: tuple[str, ...], calls_mode: str, calls_exact: bool, temperature: float | None,
                max_tokens: int | None, max_retries: int, base_url: str | None, api_key: str | None,
                timeout: float) -> None:
    """Simulate conversations for TASKS_FILE, filter them and export the kept ones to OUT/dataset/."""
    from envdsl.rollout.filters import FilterConfig
    from envdsl.rollout.runner import read_tasks, run_rollouts
    from envdsl.session import environment_from_spec

    cfg = _rollout_config(agent, user, trials, workers, concurrency, max_turns, spec, base_url, api_key, timeout,
                          temperature, max_tokens, max_retries)
    with _user_errors():
        summary = run_rollouts(read_tasks(tasks_file), out, environment_from_spec, cfg,
                               FilterConfig(calls_mode=calls_mode, calls_exact=calls_exact),
                               progress=True)
    for line in summary["unplayable"]:
        click.echo(f"cannot play {line}", err=True)
    click.echo(f"{summary['conversations']} conversation(s): {summary['kept']} kept, {summary['rejected']} rejected "
               f"{summary['reasons']}; {summary['recovered_from_error']} recovered from a tool error; "
               f"dataset in {out}/dataset/")
    if summary["unplayable"]:
        sys.exit(EXIT_ERRORS)


@main.command("eval")
@click.argument("source")
@click.option("-o", "--out", default=None, help="Folder for the rollouts when SOURCE is a tasks file.")
@click.option("--trials", type=int, default=4, show_default=True)
@click.option("-k", "ks", type=int, multiple=True, help="k values (default: 1 and the trial count).")
@click.option("--json", "json_out", default=None, help="Also write the report as JSON here.")
@_rollout_options
def eval_cmd(source: str, out: str | None, trials: int, ks: tuple[int, ...], json_out: str | None, agent: str,
             user: str, workers: int, concurrency: int, max_turns: int, spec: tuple[str, ...], calls_mode: str,
             calls_exact: bool, temperature: float | None, max_tokens: int | None, max_retries: int,
             base_url: str | None, api_key: str | None, timeout: float) -> None:
    """pass^k per domain: SOURCE is a tasks JSONL (played TRIALS times each) or an earlier rollout folder."""
    from envdsl.eval.passk import render_table
    from envdsl.eval.run import evaluate
    from envdsl.rollout.filters import FilterConfig
    from envdsl.session import environment_from_spec
    from envdsl.tasks.io import write_json

    cfg = _rollout_config(agent, user, trials, workers, concurrency, max_turns, spec, base_url, api_key, timeout,
                          temperature, max_tokens, max_retries)
    if not Path(source).is_dir() and out is None:
        raise click.UsageError("give -o OUT for the rollouts of a tasks file")
    if any(k < 1 for k in ks):
        raise click.UsageError("-k needs k >= 1")
    k_list = sorted(set(ks or (1, trials)))
    with _user_errors():
        report = evaluate(source, environment_from_spec, cfg, k_list, out,
                          FilterConfig(calls_mode=calls_mode, calls_exact=calls_exact), progress=True)
    click.echo(render_table(report["passk"], k_list, agent=report["agent"], user=report.get("user")))
    click.echo(f"pass^k intervals: {report['interval']}; per-task results in "
               f"{(Path(source) if Path(source).is_dir() else Path(str(out))).as_posix()}/results.jsonl")
    if json_out:
        write_json(json_out, report)
    for line in report["unplayable"]:  # scored without them, which the figures above must not hide
        click.echo(f"cannot play {line}", err=True)
    if report["unplayable"]:
        click.echo(f"error: {len(report['unplayable'])} conversation(s) could not be played and are not in the "
                   "figures above", err=True)
        sys.exit(EXIT_ERRORS)


@main.command("report")
@click.argument("run_dirs", nargs=-1, required=True)
@click.option("-o", "--out", default="report.html", show_default=True, help="The HTML file to write.")
@click.option("--max-conversations", type=click.IntRange(0), default=500, show_default=True,
              help="Most conversations per run in the viewer (failures first); figures count all.")
@_allow_dir_option
def report_cmd(run_dirs: tuple[str, ...], out: str, max_conversations: int) -> None:
    """One static HTML page over rollout/eval folders: pass^k per domain side by side, rejection reasons and a
    conversation viewer with each final state's difference from the gold state."""
    from envdsl.eval.report import load_run, render_report
    from envdsl.session import environment_from_spec
    from envdsl.tasks.io import write_atomic

    if Path(out).is_dir():
        raise click.UsageError(f"-o {out} is a folder; give the HTML file to write, such as {out}/report.html")
    with _user_errors():
        runs = [load_run(d, environment_from_spec, max_conversations) for d in run_dirs]
    write_atomic(out, render_report(runs))
    for r in runs:
        click.echo(f"{r['folder']}: agent {r['agent']}, {r['conversations']} conversation(s), {r['kept']} kept, "
                   f"pass^1 {r['passk']['all']['pass^1']:.3f} overall")
    click.echo(f"wrote {out}")


@main.command("test")
@click.argument("paths", nargs=-1, required=True)
@click.option("--examples", default=25, show_default=True, type=click.IntRange(1), help="Examples per test.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same examples, same report.")
@click.option("--json", "as_json", is_flag=True, help="Counts and failures as JSON.")
@_allow_dir_option
def test_cmd(paths: tuple[str, ...], examples: int, seed: int, as_json: bool) -> None:
    """Property-test every domain in PATHS (specs, folders of specs, generated packages); exit 1 on a failure."""
    from envdsl.proptest.gate import dumps, run_gate
    from envdsl.proptest.runner import Options

    report = run_gate(list(paths), Options(examples=examples, seed=seed))
    if not report.results and not report.load_failures:  # nothing to test is a mistake, not a pass
        click.echo(f"error: no .env specs or generated packages in {' '.join(paths)}", err=True)
        sys.exit(EXIT_ERRORS)
    click.echo(dumps(report) if as_json else report.render())
    sys.exit(EXIT_ERRORS if report.failures else 0)


from envdsl.synth.command import synth_cmd  # noqa: E402 - `envdsl synth` lives in its own package

main.add_command(synth_cmd)


@main.command("serve")
@click.argument("specs", nargs=-1, required=True)
@click.option("--tasks", "tasks_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A task file (envdsl tasks): start_episode can then start its tasks and score them.")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="With --transport http: the port on 127.0.0.1 (streamable HTTP at /mcp).")
@_allow_dir_option
def serve_cmd(specs: tuple[str, ...], tasks_path: str | None, transport: str, port: int) -> None:
    """Serve the domains' tools over MCP, with explicit episodes (needs the `mcp` extra)."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        raise click.ClickException("envdsl serve needs the MCP SDK: pip install -e '.[mcp]'")
    from envdsl.integrations.mcp_server import EpisodeTable, serve
    from envdsl.session import environment_from_spec
    from envdsl.tasks.io import read_jsonl

    envs: dict[str, Any] = {}
    for spec in _spec_paths(specs):
        env_cls = type(environment_from_spec(spec))
        if env_cls.DOMAIN in envs:
            raise click.UsageError(f"domain {env_cls.DOMAIN!r} is given twice")
        envs[env_cls.DOMAIN] = env_cls
    try:
        table = EpisodeTable(envs, read_jsonl(tasks_path) if tasks_path else None)
    except (ValueError, KeyError) as e:
        raise click.UsageError(str(e)) from None
    serve(table, transport, port=port)


def run() -> None:
    """Entry point: a bug in envdsl itself prints one clear line, not a traceback (ENVDSL_DEBUG=1 shows it)."""
    import os

    try:
        main(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if os.environ.get("ENVDSL_DEBUG"):
            raise
        click.echo(f"envdsl: internal error: {type(e).__name__}: {e}\n"
                   "This is a bug in envdsl, not in your spec; rerun with ENVDSL_DEBUG=1 for details.", err=True)
        sys.exit(3)


if __name__ == "__main__":
    run()
