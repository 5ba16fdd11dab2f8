"""PATH arguments -> domains to test: .env specs, folders of specs, generated package folders.

Specs are compiled into a temporary folder that lives as long as the `Targets` context; a spec
that does not compile, or a package that does not load, becomes a `compiles` failure of its own
instead of stopping the run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envdsl.proptest.domain import Domain
from envdsl.proptest.report import PROPERTIES, Failure


def is_package(path: Path) -> bool:
    return (path / "__init__.py").is_file() and (path / "environment.py").is_file()


@dataclass
class Targets:
    paths: list[str]
    domains: list[Domain] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # specs that did not compile or load
    _tmp: Any = None

    def __enter__(self) -> "Targets":
        self._tmp = tempfile.TemporaryDirectory(prefix="envdsl-test-")
        for p in self.paths:
            path = Path(p)
            if path.is_dir() and is_package(path):
                self._load(path, path.as_posix())
            elif path.is_dir():
                for spec in sorted(path.rglob("*.env")):
                    self._compile(spec)
                for sub in sorted(x for x in path.iterdir() if x.is_dir() and is_package(x)):
                    self._load(sub, sub.as_posix())
            elif path.is_file():
                self._compile(path)
            else:
                self._fail(p, p, f"no such file or directory: {p}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tmp.cleanup()

    def _fail(self, name: str, source: str, message: str) -> None:
        self.failures.append(Failure(name, "compiles", source, PROPERTIES["compiles"], message))

    def _compile(self, spec: Path) -> None:
        from envdsl import compiler as C
        from envdsl.lang.diagnostics import DiagnosticBag

        bag = DiagnosticBag()
        try:
            compiled = C.check_spec(spec, bag)
        except Exception as e:  # noqa: BLE001 - a crash in the compiler is a finding, not the end of the run
            self._fail(spec.stem, spec.as_posix(), f"the compiler crashed: {type(e).__name__}: {e}")
            return
        if compiled is None:
            self._fail(spec.stem, spec.as_posix(), bag.render())
            return
        out = Path(self._tmp.name) / f"{len(self.domains)}"
        C.render(compiled, C.toolchain_digest())
        C.write_package(out, compiled)
        self._load(out / compiled.package, spec.as_posix())

    def _load(self, package: Path, source: str) -> None:
        from envdsl.runtime.loader import import_every_module, load_environment_class

        try:
            env_cls = load_environment_class(package)
            import_every_module(env_cls)  # models.py too: every generated module must import
            self.domains.append(Domain(env_cls.DOMAIN, env_cls, source))
        except Exception as e:  # noqa: BLE001
            self._fail(package.name, source, f"the package does not load: {type(e).__name__}: {e}")
