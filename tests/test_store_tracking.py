"""The store's owner index: which entity each change belongs to, for diffs and incremental hashes."""

from __future__ import annotations

import hashlib
import json

from envdsl.runtime.store import Db


def full_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def test_a_value_put_back_by_rollback_is_tracked_even_if_indexed_late() -> None:
    """Regression: the index built after a replacement did not know the replaced value; once a
    rollback put it back, writes inside it marked no entity dirty and cached hashes went stale."""
    data = {"items": {"a": {"id": "a", "meta": {"n": 1}}, "b": {"id": "b", "meta": {"n": 0}}}}
    db = Db(data)
    db.set(data["items"]["a"], "meta", {"n": 2})
    db.track_owners({"items"})
    db.take_dirty()
    db.rollback(0)
    assert db.take_dirty() == {("items", "a")}
    db.set(data["items"]["a"]["meta"], "n", 5)
    assert db.take_dirty() == {("items", "a")}


def test_deleted_and_removed_values_put_back_are_tracked() -> None:
    data = {"items": {"a": {"id": "a", "tags": [{"t": 1}]}}, "log": [{"x": 1}]}
    db = Db(data)
    db.remove(data["items"]["a"]["tags"], {"t": 1})
    db.delete(data["items"], "a")
    db.track_owners({"items"})
    db.rollback(0)
    db.take_dirty()
    db.set(data["items"]["a"]["tags"][0], "t", 2)
    assert db.take_dirty() == {("items", "a")}


def test_environment_hash_stays_exact_through_calls_undo_and_repeat() -> None:
    from envdsl.runtime.environment import Environment

    class Env(Environment):
        META = {"k": "map", "key": {"k": "str"}, "val": {"k": "int"}}
        TYPES = {"records": {"Item": [{"name": "id", "type": {"k": "str"}}, {"name": "meta", "type": META}]},
                 "enums": {}, "unions": {}}
        STATE_FIELDS = [{"name": "items", "kind": "collection", "type": {"k": "map", "key": {"k": "str"},
                                                                         "val": {"k": "record", "name": "Item"}},
                         "record": "Item", "key": "id"}]

    env = Env(state={"items": {"a": {"id": "a", "meta": {"n": 1}}}})
    data = env.db.data
    snap = env.snapshot()
    env.db.set(data["items"]["a"], "meta", {"n": 2})
    assert env.state_hash() == full_hash(env.db.data)  # the index is built here, after the write
    env.restore(snap)
    assert env.state_hash() == full_hash(env.db.data)
    env.db.set(env.db.data["items"]["a"]["meta"], "n", 7)
    assert env.state_hash() == full_hash(env.db.data)


def test_incremental_hash_stays_exact_through_random_writes_rollbacks_and_late_indexing() -> None:
    """Rollback re-indexes only values replaced before the index was built; after any mix of writes,
    partial rollbacks and resets, with the index built at any point, the incremental hash is exact."""
    import random

    from envdsl.runtime.environment import Environment

    class Env(Environment):
        META = {"k": "map", "key": {"k": "str"}, "val": {"k": "int"}}
        TYPES = {"records": {"Item": [{"name": "id", "type": {"k": "str"}}, {"name": "meta", "type": META}]},
                 "enums": {}, "unions": {}}
        STATE_FIELDS = [{"name": "items", "kind": "collection", "type": {"k": "map", "key": {"k": "str"},
                                                                         "val": {"k": "record", "name": "Item"}},
                         "record": "Item", "key": "id"}]

    rng = random.Random(7)
    for trial in range(40):
        env = Env(state={"items": {k: {"id": k, "meta": {"n": 0}} for k in "abcd"}})
        data = env.db.data
        index_at = rng.randrange(6)
        marks: list[int] = []
        for step in range(30):
            if step == index_at:
                env.state_hash()  # builds the owner index here, after some writes
            r = rng.random()
            item = data["items"][rng.choice("abcd")]
            if r < 0.35:
                env.db.set(item, "meta", {"n": rng.randrange(9)})  # replace a whole container
            elif r < 0.7:
                env.db.set(item["meta"], "n", rng.randrange(9))  # write inside one
            elif r < 0.85:
                marks.append(env.db.mark())
            elif marks:
                env.db.rollback(marks.pop(rng.randrange(len(marks))))
                marks = [m for m in marks if m <= env.db.mark()]
            else:
                env.db.rollback(0)  # what reset() does for a seeded environment
                marks = []
            if step >= index_at:
                assert env.state_hash() == full_hash(data), (trial, step)
