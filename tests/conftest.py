"""Shared fixtures for the envdsl test suite (tests/train has its own conftest)."""

from __future__ import annotations

import os

# Keep numeric libraries from starting a thread per core: the suite runs on small CI machines.
os.environ["OMP_NUM_THREADS"] = "1"
# specs/tau2 read the benchmark's own policy and database from ../shared/data, outside their folder:
# allowed the way an operator allows it (specs themselves cannot widen where they read from)
os.environ.setdefault("ENVDSL_ALLOW_DIRS", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from testkit import REPO, SHOP_SPEC  # noqa: E402


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run with the repository as the working directory: diagnostics show paths relative to it."""
    monkeypatch.chdir(REPO)
    return REPO


@pytest.fixture(scope="session")
def shop_class() -> Any:
    """The environment class of tests/fixtures/shop, compiled once per session into a temp folder."""
    from testkit import compile_to

    from envdsl.runtime.loader import load_environment_class

    out = compile_to(SHOP_SPEC)
    return load_environment_class(out / "shop")


@pytest.fixture
def shop(shop_class: Any) -> Any:
    return shop_class()
