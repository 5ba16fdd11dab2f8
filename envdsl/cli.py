"""The envdsl command line. Thin: each command parses options and calls into the library."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

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
@_format_option
def compile_cmd(paths: tuple[str, ...], out: str, check_only: bool, emit: tuple[str, ...], force: bool,
                fmt: str) -> None:
    """Check specs and generate a Python package per domain under OUT/<domain>/."""
    from envdsl import compiler as C

    emit = emit or ("python",)
    bag = DiagnosticBag()
    out_dir = Path(out)
    t0 = time.perf_counter()
    spec_paths = C.find_specs(list(paths), bag)
    toolchain = C.toolchain_digest()
    specs, skipped = [], 0
    for p in spec_paths:
        if not force and not check_only and emit == ("python",) and C.unchanged(out_dir, p, toolchain):
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
            bag.error("E0605", f"{out_dir.as_posix()}/{spec.domain} is stale: {', '.join(files[:5])}"
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
def call_cmd(spec: str, tool: str, arguments: str, show_state: bool) -> None:
    """Run one TOOL of SPEC on its seed state with JSON ARGUMENTS and print the result."""
    from envdsl.session import environment_from_spec

    env = environment_from_spec(spec)
    before = env.state() if show_state else None
    result = env.call(tool, arguments)
    click.echo(result.content)
    if show_state:
        from envdsl.session import state_diff

        for change in state_diff(before, env.state()):
            click.echo(json.dumps(change, sort_keys=True), err=True)
    sys.exit(0 if result.ok else EXIT_ERRORS)


@main.command("replay")
@click.argument("spec")
@click.option("--tasks", "tasks_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder with tasks.json and gold_replay.json (tau2-bench format).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--full", is_flag=True, help="Compare whole-database hashes instead of the changed entities.")
def replay_cmd(spec: str, tasks_dir: str, as_json: bool, full: bool) -> None:
    """Replay every task's gold actions on SPEC and compare with the benchmark's own outcome."""
    from envdsl.replay import load_reference, replay
    from envdsl.session import environment_from_spec

    env = environment_from_spec(spec)
    tasks, gold = load_reference(tasks_dir)
    report = replay(env, tasks, gold, mode="full" if full else "fast")
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"replay of {report.domain} ({report.mode} database comparison)")
        for col in ("tasks", "final databases equal", "tool outputs identical", "initial database", "seconds"):
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
    ok = report.db_match == report.tasks and report.outputs_match == report.outputs_total
    sys.exit(0 if ok else EXIT_ERRORS)


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
