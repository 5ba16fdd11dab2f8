"""Reading and atomically writing JSONL and JSON files (temp file in the same folder + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from envdsl.ir.package_name import package_name


def write_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results, reports and datasets are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    write_atomic(path, dumps_jsonl(rows))


def write_json(path: str | Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    raise ValueError(f"{path}:{n}: not JSON: {e}") from None
    return rows


# ---- task files: validated on reading, spec locations portable

SPEC_PATH_ENV = "ENVDSL_SPEC_PATH"  # folders searched for a domain's spec when a task's own path does not resolve
TASK_KEYS = ("task_id", "domain", "goal", "gold_calls", "user_facts")


class TaskFileError(ValueError):
    """A tasks file that is missing, empty or not made of tasks: a user error, reported with its location."""


def read_tasks(path: str | Path, *, search_path: list[str] | None = None) -> list[dict[str, Any]]:
    """The tasks of a JSONL file, each checked for the keys every stage reads, with `spec` resolved to a
    path that exists from here: as written relative to the task file's folder, else relative to the
    current folder (files written before specs were stored relative), else found by domain name on
    `search_path` (default: $ENVDSL_SPEC_PATH, folders separated by os.pathsep)."""
    p = Path(path)
    if p.is_dir():
        raise TaskFileError(f"{path}: is a folder, not a tasks file (JSONL written by `envdsl tasks`)")
    if not p.is_file():
        raise TaskFileError(f"{path}: no such tasks file")
    try:
        rows = read_jsonl(p)
    except UnicodeDecodeError as e:
        raise TaskFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except ValueError as e:
        raise TaskFileError(str(e)) from None
    if not rows:
        raise TaskFileError(f"{path}: holds no tasks")
    if search_path is None:
        search_path = [d for d in os.environ.get(SPEC_PATH_ENV, "").split(os.pathsep) if d]
    seen: set[str] = set()
    for n, task in enumerate(rows, 1):
        if not isinstance(task, dict):
            raise TaskFileError(f"{path}: task {n}: expected a JSON object, got {type(task).__name__}")
        missing = [k for k in TASK_KEYS if k not in task]
        if missing:
            raise TaskFileError(f"{path}: task {n}: not a task (missing {', '.join(missing)})")
        if not isinstance(task["task_id"], str) or not isinstance(task["domain"], str) \
                or not isinstance(task["gold_calls"], list) or not isinstance(task["user_facts"], list):
            raise TaskFileError(f"{path}: task {n}: task_id and domain must be strings, gold_calls and "
                                "user_facts lists")
        if task["task_id"] in seen:
            raise TaskFileError(f"{path}: task {n}: task_id {task['task_id']!r} appears twice")
        seen.add(task["task_id"])
        task["spec"] = resolve_spec(task.get("spec"), task["domain"], p.parent, search_path)
    return rows


def resolve_spec(spec: Any, domain: str, base: Path, search_path: list[str]) -> str | None:
    """Where a task's spec is from here (see read_tasks); None when nowhere, so the caller can say
    `--spec` (the runner reports it per domain)."""
    if isinstance(spec, str) and spec:
        given = Path(spec)
        for candidate in ([given] if given.is_absolute() else [base / given, given]):
            if candidate.exists():
                return _shortest(candidate)
    for folder in search_path:
        for candidate in (Path(folder) / f"{domain}.env", Path(folder) / domain / f"{domain}.env",
                          Path(folder) / package_name(domain)):
            if candidate.is_file() or (candidate / "environment.py").is_file():
                return _shortest(candidate)
    return spec if isinstance(spec, str) else None


def relative_specs(tasks: list[dict[str, Any]], task_file: str | Path) -> list[dict[str, Any]]:
    """Copies of `tasks` whose spec paths are relative to the folder `task_file` will be in, so the file
    works wherever it and its specs move together (POSIX separators, same bytes on every machine)."""
    base = Path(task_file).resolve().parent
    out = []
    for task in tasks:
        spec = task.get("spec")
        if isinstance(spec, str) and spec and Path(spec).exists():
            spec = Path(os.path.relpath(Path(spec).resolve(), base)).as_posix()
        out.append({**task, "spec": spec})
    return out


def _shortest(path: Path) -> str:
    """`path` relative to the current folder when it lies below it (what messages show), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()
