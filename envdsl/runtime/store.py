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

    __slots__ = ("data", "journal", "clock", "owners", "dirty", "indexed_from", "roots")

    def __init__(self, data: dict[str, Any], clock: str = "2024-01-01T00:00:00"):
        self.data = data
        self.journal: list[tuple[Any, ...]] = []
        self.clock = clock  # the virtual clock now() reads: tools never see wall time
        # id(container) -> (state field, entity key or None): built on demand by track_owners()
        self.owners: dict[int, tuple[str, Any]] | None = None
        self.dirty: set[tuple[str, Any]] = set()  # roots changed since the last take_dirty()
        # journal entries from this position on were made with the index in place, so the values they
        # hold were indexed when they were in the state: a rollback need not index them again
        self.indexed_from = 0
        # with the index in place, the root of each journal entry (None before the index or for a local
        # value), noted when the entry is made, so that rollback and touched_roots need not look it up
        self.roots: list[tuple[str, Any] | None] = []

    # ---- which top-level entity each container belongs to (for diffs and incremental hashes)
    def track_owners(self, collections: frozenset[str] | set[str]) -> None:
        """Index every container of the state by its root entity; later stores keep it current.

        `collections` names the state fields that are entity collections: their roots are single
        entities; any other field is one root."""
        if self.owners is not None:
            return
        owners: dict[int, tuple[str, Any]] = {id(self.data): ("", None)}
        for name, value in self.data.items():
            if name in collections and isinstance(value, dict):
                owners[id(value)] = (name, _COLLECTION)
                for key, entity in value.items():
                    _index(entity, (name, key), owners)
            else:
                _index(value, (name, None), owners)
        self.owners = owners
        self.indexed_from = len(self.journal)
        self.roots = [None] * len(self.journal)

    def _adopt(self, container: Any, key: Any, value: Any) -> None:
        owners = self.owners
        if owners is None:
            return
        root = owners.get(id(container))
        if root is None:
            return  # a local value, not (yet) part of the state
        if root[1] is _COLLECTION:
            root = (root[0], key)
        elif root[0] == "":
            root = (key, None)
        _index(value, root, owners)

    def _root_of(self, entry: tuple[Any, ...]) -> tuple[str, Any] | None:
        root = self.owners.get(id(entry[1])) if self.owners is not None else None
        if root is None:
            return None
        if root[1] is _COLLECTION:
            return (root[0], entry[2])
        if root[0] == "":
            return (entry[2], None)
        return root

    def _note(self, entry: tuple[Any, ...]) -> None:
        self.journal.append(entry)
        if self.owners is not None:
            root = self._root_of(entry)
            self.roots.append(root)
            if root is not None:
                self.dirty.add(root)

    def touched_roots(self, since: int = 0) -> set[tuple[str, Any]]:
        """The (state field, entity key) pairs changed by journal entries after `since`.
        Needs track_owners() to have been called before those changes."""
        if self.owners is not None and since >= self.indexed_from:
            return set(filter(None, self.roots[since:]))
        out = set()
        for entry in self.journal[since:]:
            root = self._root_of(entry)
            if root is not None:
                out.add(root)
        return out

    def take_dirty(self) -> set[tuple[str, Any]]:
        """Roots changed (or changed back by a rollback) since the last call."""
        out, self.dirty = self.dirty, set()
        return out

    # ---- changes (each records its undo)
    def set(self, obj: Any, key: Any, value: Any) -> None:
        if isinstance(obj, list):
            if not -len(obj) <= key < len(obj):
                raise ToolError(f"list index {key} is out of range")
            old = obj[key]
        else:
            old = obj.get(key, _MISSING)
        self._note((_SET, obj, key, old))
        obj[key] = stored = clone(value)
        self._adopt(obj, key, stored)

    def insert(self, obj: dict[Any, Any], key: Any, value: Any) -> None:
        if key in obj:
            raise ToolError(f"{key!r} already exists")
        self._note((_SET, obj, key, _MISSING))
        obj[key] = stored = clone(value)
        self._adopt(obj, key, stored)

    def delete(self, obj: dict[Any, Any], key: Any) -> None:
        if key not in obj:
            raise ToolError(f"{key!r} not found")
        position = list(obj).index(key)  # O(n), but deletes are rare and undoing one needs it
        self._note((_DELETE, obj, key, obj[key], position))
        del obj[key]

    def append(self, obj: list[Any], value: Any) -> None:
        self._note((_APPEND, obj))
        stored = clone(value)
        obj.append(stored)
        self._adopt(obj, None, stored)

    def remove(self, obj: list[Any], value: Any) -> None:
        try:
            i = obj.index(value)
        except ValueError:
            raise ToolError(f"{value!r} is not in the list") from None
        self._note((_REMOVE, obj, i, obj[i]))
        del obj[i]

    # ---- undo
    def mark(self) -> int:
        return len(self.journal)

    def rollback(self, mark: int) -> None:
        journal = self.journal
        if len(journal) <= mark:
            return
        entries = journal[mark:]
        del journal[mark:]
        if self.owners is not None:
            roots = self.roots
            if mark < self.indexed_from:
                self._rollback_tracked(entries, mark)
                del roots[mark:]
                return
            # every entry was made with the index in place: its root is known and its values indexed,
            # so the undo is the plain loop below, and their roots are dirty again (the hash cache)
            self.dirty.update(filter(None, roots[mark:]))  # type: ignore[arg-type]
            del roots[mark:]
        # one tight loop, since reset() is this loop
        for entry in reversed(entries):
            op = entry[0]
            if op == _SET:
                old = entry[3]
                if old is _MISSING:
                    del entry[1][entry[2]]  # the key was added last, so the order is as before
                else:
                    entry[1][entry[2]] = old
            elif op == _APPEND:
                entry[1].pop()
            elif op == _REMOVE:
                entry[1].insert(entry[2], entry[3])
            else:
                _reinsert(entry[1], entry[2], entry[3], entry[4])

    def _rollback_tracked(self, entries: list[tuple[Any, ...]], mark: int) -> None:
        """Undo ENTRIES (journal positions mark.., newest last) and mark the roots they belong to dirty
        for the incremental hash."""
        owners = self.owners
        dirty = self.dirty
        indexed_from = self.indexed_from
        position = mark + len(entries)
        for entry in reversed(entries):
            position -= 1
            root = self._root_of(entry)
            if root is not None:
                dirty.add(root)
            op = entry[0]
            restored: Any = None
            if op == _SET:
                _, obj, key, old = entry
                if old is _MISSING:
                    del obj[key]
                else:
                    obj[key] = restored = old
            elif op == _APPEND:
                entry[1].pop()
            elif op == _REMOVE:
                _, obj, i, restored = entry
                obj.insert(i, restored)
            else:
                _, obj, key, restored, where = entry
                _reinsert(obj, key, restored, where)
            # A value put back that was replaced before the index was built was never indexed: index it
            # now, or later writes inside it would not mark its entity dirty. Values replaced later were
            # indexed while they were in the state (the journal keeps them alive, so ids stay theirs).
            if position < indexed_from and root is not None and isinstance(restored, (dict, list)):
                _index(restored, root, owners)  # type: ignore[arg-type]
        self.indexed_from = min(indexed_from, mark)


class _CollectionMarker:
    def __repr__(self) -> str:
        return "<collection>"


_COLLECTION: Any = _CollectionMarker()


def _index(value: Any, root: tuple[str, Any], owners: dict[int, tuple[str, Any]]) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            owners[id(v)] = root
            stack.extend(x for x in v.values() if isinstance(x, (dict, list)))
        elif isinstance(v, list):
            owners[id(v)] = root
            stack.extend(x for x in v if isinstance(x, (dict, list)))


def _reinsert(obj: dict[Any, Any], key: Any, value: Any, position: int) -> None:
    """Put a deleted key back where it was, so that JSON output keeps its order."""
    if position >= len(obj):
        obj[key] = value
        return
    items = list(obj.items())
    items.insert(position, (key, value))
    obj.clear()
    obj.update(items)
