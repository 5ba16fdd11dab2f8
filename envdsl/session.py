"""Compile a spec in memory and load its environment: for `envdsl call`, tests and notebooks."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.runtime.diff import state_diff

__all__ = ["environment_from_spec", "state_diff"]


def environment_from_spec(spec: str | Path, **kwargs: Any) -> Any:
    """An Environment for a .env file, or a generated package folder. Exits with diagnostics on errors."""
    from envdsl import compiler as C
    from envdsl.runtime.loader import load_environment

    path = Path(spec)
    if path.is_dir():
        if not (path / "environment.py").is_file() or not (path / "__init__.py").is_file():
            click.echo(f"error: {spec} is a folder, not a .env spec or a generated package "
                       "(a folder with environment.py, as `envdsl compile` writes)", err=True)
            sys.exit(1)
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
    return load_environment(tmp / compiled.package, **kwargs)
