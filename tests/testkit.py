"""Helpers the envdsl tests share: compile a spec, run the CLI in-process, build an environment
from spec text. Kept free of pytest fixtures so benchmarks could use them too."""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from envdsl import compiler as C
from envdsl.cli import main
from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.runtime.loader import load_environment_class

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHOP_SPEC = FIXTURES / "shop" / "shop.env"


def update_golden() -> bool:
    """ENVDSL_UPDATE_GOLDEN=1 rewrites expected files instead of comparing with them."""
    return os.environ.get("ENVDSL_UPDATE_GOLDEN", "") not in ("", "0")


class SpecErrors(AssertionError):
    """A spec a test expected to compile did not; the message is the rendered diagnostics."""


def compile_to(spec: Path, out: Path | None = None) -> Path:
    """Check, render and write one spec's package into OUT (a fresh temp folder by default)."""
    bag = DiagnosticBag()
    compiled = C.check_spec(spec, bag)
    if compiled is None or bag.has_errors:
        raise SpecErrors(bag.render())
    C.render(compiled, C.toolchain_digest())
    out = out or Path(tempfile.mkdtemp(prefix="envdsl-test-"))
    C.write_package(out, compiled)
    return out


def env_class_from_text(source: str, folder: Path, name: str = "t", seed: str | None = None) -> Any:
    """Write spec text (dedented) and an optional seed into FOLDER, compile it, return the class."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / f"{name}.env"
    spec.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    if seed is not None:
        (folder / f"{name}.seed.json").write_text(seed, encoding="utf-8")
    out = compile_to(spec, folder / "out")
    domain = next(p for p in (folder / "out").iterdir() if p.is_dir() and not p.name.startswith("."))
    return load_environment_class(out / domain.name)


def check_text(source: str, folder: Path, name: str = "t") -> DiagnosticBag:
    """Check spec text and return the diagnostics (empty when it is fine)."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / f"{name}.env"
    spec.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    bag = DiagnosticBag()
    C.check_spec(spec, bag)
    return bag


def run_cli(*args: str) -> tuple[int, str, str]:
    """`envdsl ARGS...` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
