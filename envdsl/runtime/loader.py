"""Find and load a generated environment package by directory or dotted module name."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any


def load_environment(where: str | Path, **kwargs: Any) -> Any:
    """An Environment instance from a generated package: a path such as generated/library,
    or a module name such as generated.library."""
    cls = load_environment_class(where)
    return cls(**kwargs)


def load_environment_class(where: str | Path) -> Any:
    path = Path(where)
    if path.is_dir() and (path / "__init__.py").exists():
        path = path.resolve()
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
        name = f"envdsl_generated_{path.name}_{digest}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                          submodule_search_locations=[str(path)])
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        module = sys.modules[name]
    else:
        module = importlib.import_module(str(where))
    return module.ENVIRONMENT


def import_every_module(env_cls: Any) -> list[str]:
    """Import every module of the package an environment class came from, models.py included
    (loading the environment imports only environment.py and tools.py): a gate that calls this
    finds a package that does not import before anyone else does. Returns the module names."""
    package = env_cls.__module__.rsplit(".", 1)[0]
    folders = getattr(sys.modules[package], "__path__", [])
    names = sorted({p.stem for folder in folders for p in Path(folder).glob("*.py") if p.stem != "__init__"})
    for stem in names:
        importlib.import_module(f"{package}.{stem}")
    return [f"{package}.{stem}" for stem in names]
