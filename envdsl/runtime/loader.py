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
