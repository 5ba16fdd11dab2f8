"""Compile a spec in memory and load its environment: for `envdsl call`, tests and notebooks."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from envdsl.lang.diagnostics import DiagnosticBag


def environment_from_spec(spec: str | Path, **kwargs: Any) -> Any:
    """An Environment for a .env file, or a generated package folder. Exits with diagnostics on errors."""
    from envdsl import compiler as C
    from envdsl.runtime.loader import load_environment

    path = Path(spec)
    if path.is_dir():
        return load_environment(path, **kwargs)
    bag = DiagnosticBag()
    compiled = C.check_spec(path, bag) if path.is_file() else None
    if compiled is None:
        if not path.is_file():
            click.echo(f"error: no such spec: {spec}", err=True)
        else:
            click.echo(bag.render(), err=True)
        sys.exit(1)
    C.render(compiled, C.toolchain_digest())
    tmp = Path(tempfile.mkdtemp(prefix="envdsl-"))
    C.write_package(tmp, compiled)
    return load_environment(tmp / compiled.domain, **kwargs)


def state_diff(before: Any, after: Any, path: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Changes from one JSON state to another: {path, op: add|remove|change, before?, after?}.

    Lists are compared whole, as tau2-bench's deltas do, because list order matters."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for k in before:
            if k not in after:
                out.append({"path": list(path + (k,)), "op": "remove", "before": before[k]})
            else:
                out.extend(state_diff(before[k], after[k], path + (k,)))
        for k in after:
            if k not in before:
                out.append({"path": list(path + (k,)), "op": "add", "after": after[k]})
        return out
    if before == after and type(before) is type(after):
        return []
    return [{"path": list(path), "op": "change", "before": before, "after": after}]
