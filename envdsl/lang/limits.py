"""Limits that keep the front end bounded on hostile input, and the checks that enforce them.

Specs, seeds and policies are untrusted (an LLM or an API collection may have written them), so
every input gets an answer in bounded time and memory: nesting deeper than real specs ever need,
text Python cannot encode, and files outside the spec's folder become located diagnostics
(E07xx) instead of a RecursionError, a UnicodeEncodeError or a read of someone else's file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Nesting of brackets and blocks in a spec. The specs in this repository nest at most about 10
# deep; 100 leaves room for generated specs while keeping every recursive pass of the front end
# and the code generator far below Python's recursion limit.
MAX_SPEC_NESTING = 100
# Depth of a parse tree (binary operators nest too: `1 + 1 + ... + 1` is a left-deep chain).
MAX_TREE_DEPTH = 200
# Nesting of seed JSON (objects and lists); real seeds nest a handful of levels.
MAX_SEED_NESTING = 100
# A spec file larger than this is not a hand- or LLM-written domain.
MAX_SPEC_BYTES = 2_000_000


def lone_surrogate(text: str) -> int:
    """The index of the first lone surrogate in text (which cannot be written as UTF-8), or -1."""
    for i, ch in enumerate(text):
        if "\ud800" <= ch <= "\udfff":
            return i
    return -1


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether JSON data nests deeper than limit; iterative, so any depth is safe to measure."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > limit:
                return True
            stack.extend((x, depth + 1) for x in (value.values() if isinstance(value, dict) else value))
    return False


def json_strings(data: Any) -> Any:
    """Every string in JSON data, keys included (iteratively)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield k
                stack.append(v)
        elif isinstance(value, list):
            stack.extend(value)


def bracket_depth_exceeds(text: str, limit: int) -> int:
    """The offset where brackets in text nest deeper than limit, or -1. Quotes are not tracked:
    brackets inside strings count too, which only makes the bound stricter for odd specs."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > limit:
                return i
        elif ch in ")]}" and depth > 0:
            depth -= 1
    return -1


def inside_folder(path: Path, folder: Path) -> bool:
    """Whether path, with every symlink followed, lies inside folder (also resolved)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):  # outside, or a symlink loop
        return False
    return True
