"""The state store: plain JSON data plus an undo journal.

Every change a tool makes goes through `Db`, which records how to undo it. Undoing the
journal back to a mark restores the state exactly (values and dict key order), so a failed
call rolls back, and reset() costs the number of writes since the last reset, whatever the
size of the database. Values stored into the state are copied, so a local value changed
after it was stored cannot reach the state behind the journal's back.
"""

from __future__ import annotations

from typing import Any

from envdsl.runtime.errors import ToolError

_MISSING = object()

# journal ops
_SET, _APPEND, _REMOVE, _DELETE = 0, 1, 2, 3


def clone(value: Any) -> Any:
    """A deep copy of JSON data (several times faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


class Db:
    """The live state of one environment and its journal."""

    __slots__ = ("data", "journal", "clock")

    def __init__(self, data: dict[str, Any], clock: str = "2024-01-01T00:00:00"):
        self.data = data
        self.journal: list[tuple[Any, ...]] = []
        self.clock = clock  # the virtual clock now() reads: tools never see wall time

    # ---- changes (each records its undo)
    def set(self, obj: Any, key: Any, value: Any) -> None:
        if isinstance(obj, list):
            if not -len(obj) <= key < len(obj):
                raise ToolError(f"list index {key} is out of range")
            old = obj[key]
        else:
            old = obj.get(key, _MISSING)
        self.journal.append((_SET, obj, key, old))
        obj[key] = clone(value)

    def insert(self, obj: dict[Any, Any], key: Any, value: Any) -> None:
        if key in obj:
            raise ToolError(f"{key!r} already exists")
        self.journal.append((_SET, obj, key, _MISSING))
        obj[key] = clone(value)

    def delete(self, obj: dict[Any, Any], key: Any) -> None:
        if key not in obj:
            raise ToolError(f"{key!r} not found")
        position = list(obj).index(key)  # O(n), but deletes are rare and undoing one needs it
        self.journal.append((_DELETE, obj, key, obj[key], position))
        del obj[key]

    def append(self, obj: list[Any], value: Any) -> None:
        self.journal.append((_APPEND, obj))
        obj.append(clone(value))

    def remove(self, obj: list[Any], value: Any) -> None:
        try:
            i = obj.index(value)
        except ValueError:
            raise ToolError(f"{value!r} is not in the list") from None
        self.journal.append((_REMOVE, obj, i, obj[i]))
        del obj[i]

    # ---- undo
    def mark(self) -> int:
        return len(self.journal)

    def rollback(self, mark: int) -> None:
        journal = self.journal
        while len(journal) > mark:
            entry = journal.pop()
            op = entry[0]
            if op == _SET:
                _, obj, key, old = entry
                if old is _MISSING:
                    del obj[key]  # the key was added last, so the order is as before
                else:
                    obj[key] = old
            elif op == _APPEND:
                entry[1].pop()
            elif op == _REMOVE:
                _, obj, i, old = entry
                obj.insert(i, old)
            else:
                _, obj, key, old, position = entry
                _reinsert(obj, key, old, position)


def _reinsert(obj: dict[Any, Any], key: Any, value: Any, position: int) -> None:
    """Put a deleted key back where it was, so that JSON output keeps its order."""
    if position >= len(obj):
        obj[key] = value
        return
    items = list(obj.items())
    items.insert(position, (key, value))
    obj.clear()
    obj.update(items)
