"""The Environment API every later stage uses: load, reset, call, read, snapshot, hash.

A generated package subclasses `Environment` and fills in its class attributes (tools,
types, schemas, seed). Nothing here raises for a bad tool call: unknown tools, malformed
JSON, missing, extra or mistyped arguments and failures inside a tool all come back as a
`ToolResult` with ok=False, and the state is exactly as it was before the call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from envdsl.runtime import budget
from envdsl.runtime.dates import datetime_problem
from envdsl.runtime.errors import ToolError
from envdsl.runtime.store import Db, clone
from envdsl.runtime.validate import Schema, constraint_errors, kind_of

DEFAULT_CLOCK = "2024-01-01T00:00:00"
# What an agent sees from a successful tool declared with no result: an empty output, as tau-bench's
# tools that return nothing give. (A tool that returns `null` of an optional type shows `null`.)
NO_RESULT_OUTPUT = ""
_WHOLE = object()  # cache key of a whole collection's serialised text


@dataclass(frozen=True)
class ToolSpec:
    name: str
    fn: Callable[..., Any]
    effect: str  # "read" | "write"
    params: tuple[dict[str, Any], ...]  # {"name", "py", "type", "constraints", "default"?}
    returns: dict[str, Any]
    actor: str = "agent"  # "agent" | "user" | "env" (an env fn: set-up and assertions, never offered as a tool)


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: str  # exactly what an agent sees
    internal_error: bool = False  # the tool itself is broken (raised something other than ToolError)

    @property
    def value(self) -> Any:
        """The result as JSON data (a str result stays a str)."""
        if not self.ok:
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            return self.content


@dataclass(frozen=True)
class Snapshot:
    db_id: int
    mark: int
    last_entry: object


class Environment:
    DOMAIN: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    POLICY: ClassVar[str] = ""
    TYPES: ClassVar[dict[str, Any]] = {"records": {}, "enums": {}, "unions": {}}
    STATE_FIELDS: ClassVar[list[dict[str, Any]]] = []
    TOOLS: ClassVar[dict[str, ToolSpec]] = {}  # the agent's tools
    SCHEMAS: ClassVar[list[dict[str, Any]]] = []
    # two-actor domains (docs/runtime.md): the user's tools, the environment's own functions, post-call hooks
    USER_TOOLS: ClassVar[dict[str, ToolSpec]] = {}
    USER_SCHEMAS: ClassVar[list[dict[str, Any]]] = []
    ENV_FUNCTIONS: ClassVar[dict[str, ToolSpec]] = {}
    HOOKS: ClassVar[list[Callable[[Db], Any]]] = []
    INVARIANTS: ClassVar[list[tuple[str, Callable[[Db], Any]]]] = []  # checks take the store, as tools do
    GENERATOR: ClassVar[dict[str, list[int]] | None] = None
    SEED_FILE: ClassVar[str | None] = None  # beside the generated module

    _seed_text: ClassVar[str | None] = None
    _schema: ClassVar[Schema | None] = None
    _ir: ClassVar[dict[str, Any] | None] = None
    _collections: ClassVar[frozenset[str] | None] = None

    def __init__(self, state: dict[str, Any] | None = None, *, clock: str = DEFAULT_CLOCK):
        if datetime_problem(clock) is not None:  # now() is a datetime: a clock that is not one is refused here
            raise ValueError(f"clock: {datetime_problem(clock)}")
        self.clock = clock
        self.db = Db(self._load_seed() if state is None else self._checked_state(state), clock)
        self._base_is_seed = state is None
        self._sync_loaded()

    def _sync_loaded(self) -> None:
        """Run the hooks once on a state just loaded (seed, given or generated), as after a call, so that
        every state the environment shows is in sync (tau2-bench syncs after setting a state too). A hook that
        fails on it makes the state invalid."""
        if not self.HOOKS:
            return
        mark = self.db.mark()
        metering = budget.start()
        try:
            for hook in self.HOOKS:
                hook(self.db)
        except ToolError as e:
            self.db.rollback(mark)
            raise ValueError(f"invalid state: a hook fails on it: {e.message}") from None
        except Exception as e:  # a broken hook: say so, as for a broken tool
            self.db.rollback(mark)
            raise ValueError(f"invalid state: internal error in a hook: {type(e).__name__}: {e}") from None
        finally:
            budget.stop(metering)

    # ---- construction helpers
    @classmethod
    def schema(cls) -> Schema:
        if cls.__dict__.get("_schema") is None:
            cls._schema = Schema(cls.TYPES)
        return cls._schema  # type: ignore[return-value]

    @classmethod
    def _load_seed(cls) -> dict[str, Any]:
        if cls.SEED_FILE is None:
            return cls.empty_state()
        if cls.__dict__.get("_seed_text") is None:
            # the seed was validated and normalised when the package was generated
            cls._seed_text = (Path(cls.module_dir()) / cls.SEED_FILE).read_text(encoding="utf-8")
        data: dict[str, Any] = json.loads(cls._seed_text)  # type: ignore[arg-type]
        return data

    @classmethod
    def module_dir(cls) -> str:
        import sys

        return str(Path(sys.modules[cls.__module__].__file__ or ".").parent)

    @classmethod
    def empty_state(cls) -> dict[str, Any]:
        return {f["name"]: ({} if f["kind"] == "collection" else clone(f.get("default"))) for f in cls.STATE_FIELDS}

    @classmethod
    def state_errors(cls, state: Any, limit: int = 20) -> list[str]:
        """Schema, key and reference problems of a state, as 'path: problem' lines."""
        if not isinstance(state, dict):
            return [f"state: expected an object, got {kind_of(state)}"]
        schema = cls.schema()
        out: list[str] = []
        names = {f["name"] for f in cls.STATE_FIELDS}
        for key in state:
            if key not in names:
                out.append(f"state: unexpected field {key!r}")
        for f in cls.STATE_FIELDS:
            name = f["name"]
            if name not in state:
                if f["kind"] == "value" and f.get("default") is not None:
                    continue  # filled with its default when the state is normalised
                out.append(f"state: missing field {name!r}")
                continue
            out.extend(schema.errors(state[name], f["type"], name, limit))
            if f["kind"] == "collection" and f["key"] is not None and isinstance(state[name], dict):
                for key, entity in state[name].items():
                    if isinstance(entity, dict) and entity.get(f["key"]) != key:
                        out.append(f"{name}[{key!r}].{f['key']}: must equal its key {key!r}, "
                                   f"got {entity.get(f['key'])!r}")
            elif f.get("constraints"):
                out.extend(constraint_errors(state[name], f["constraints"], name))
            if len(out) >= limit:
                return out[:limit]
        if not out:
            out.extend(cls.reference_errors(state, limit))
        return out[:limit]

    @classmethod
    def reference_errors(cls, state: dict[str, Any], limit: int = 20) -> list[str]:
        out: list[str] = []
        schema = cls.schema()

        def walk(v: Any, t: dict[str, Any], path: str) -> None:
            if len(out) >= limit or v is None:
                return
            k = t["k"]
            if k == "ref":
                if v not in state.get(t["coll"], {}):
                    out.append(f"{path}: {v!r} is not a key of {t['coll']}")
            elif k == "opt":
                walk(v, t["of"], path)
            elif k == "list":
                for i, x in enumerate(v):
                    walk(x, t["of"], f"{path}[{i}]")
            elif k == "map":
                for key, x in v.items():
                    walk(x, t["val"], f"{path}[{key!r}]")
            elif k in ("record", "union"):
                rec = t["name"] if k == "record" else schema.variant_record(t["name"], v) or ""
                for f in ref_fields(rec):
                    walk(v.get(f["name"]), f["type"], f"{path}.{f['name']}")

        # which fields of a record can hold a reference depends on the type only: work it out once
        # per record for this call, not once per entity
        cache: dict[str, list[dict[str, Any]]] = {}

        def ref_fields(rec: str) -> list[dict[str, Any]]:
            if rec not in cache:
                cache[rec] = [f for f in schema.records[rec] if _has_ref(f["type"], schema, set())]
            return cache[rec]

        for f in cls.STATE_FIELDS:
            if _has_ref(f["type"], schema, set()):
                walk(state[f["name"]], f["type"], f["name"])
        return out

    def _checked_state(self, state: dict[str, Any]) -> dict[str, Any]:
        errors = self.state_errors(state)
        if errors:
            raise ValueError("invalid state:\n  " + "\n  ".join(errors))
        return self.normalize_state(state)

    @classmethod
    def normalize_state(cls, state: dict[str, Any]) -> dict[str, Any]:
        """A valid state in canonical form: declared field order, defaults filled (a copy)."""
        schema = cls.schema()
        out = {}
        for f in cls.STATE_FIELDS:
            value = state[f["name"]] if f["name"] in state else f.get("default")
            out[f["name"]] = schema.normalize(clone(value), f["type"])
        return out

    # ---- the API
    def reset(self, state: dict[str, Any] | None = None, *, seed: int | None = None) -> None:
        """Back to the seed state (cost: the writes since the last reset), to a given state, or to a
        state generated from `seed`."""
        if state is not None and seed is not None:
            raise ValueError("give a state or a seed, not both")
        if seed is not None:
            from envdsl.runtime.generate import generate_state

            self.db = Db(self._checked_state(generate_state(type(self), seed)), self.clock)
        elif state is not None:
            self.db = Db(self._checked_state(state), self.clock)
        elif self._base_is_seed:
            self.db.rollback(0)
            self._sync_loaded()
            return
        else:
            self.db = Db(self._load_seed(), self.clock)
        self._base_is_seed = state is None and seed is None
        self._sync_loaded()

    def call(self, name: str, arguments: Any = None, *, actor: str = "agent") -> ToolResult:
        """Run one tool call. Never raises: whatever the arguments (any size or depth), the answer
        is a ToolResult, and a call that fails leaves the state as it was. `actor` picks the table:
        "agent" (TOOLS), "user" (USER_TOOLS) or "env" (ENV_FUNCTIONS); each actor reaches only its own."""
        mark = self.db.mark()
        try:
            return self._call(name, arguments, actor)
        except Exception as e:  # noqa: BLE001 - e.g. RecursionError on 100,000-deep arguments, ValueError
            # from an int of more than 4,300 digits: report the kind of failure, never the value
            self.db.rollback(mark)
            return ToolResult(False, "Error: the call could not be processed: its arguments or result are too large "
                                     f"or too deeply nested ({type(e).__name__})")

    def call_user(self, name: str, arguments: Any = None) -> ToolResult:
        """A call of one of the user's tools (a simulated user's action in a two-actor domain)."""
        return self.call(name, arguments, actor="user")

    def call_function(self, name: str, arguments: Any = None) -> ToolResult:
        """A call of an env fn (task initialisation, assertions): never offered to the agent or user."""
        return self.call(name, arguments, actor="env")

    @classmethod
    def tools_of(cls, actor: str) -> dict[str, ToolSpec]:
        tables = {"agent": cls.TOOLS, "user": cls.USER_TOOLS, "env": cls.ENV_FUNCTIONS}
        if actor not in tables:
            raise ValueError(f"unknown actor {actor!r}: agent, user or env")
        return tables[actor]

    def _call(self, name: str, arguments: Any = None, actor: str = "agent") -> ToolResult:
        if actor not in ("agent", "user", "env"):
            return ToolResult(False, f"Error: unknown actor {actor!r}: agent, user or env")
        table = self.tools_of(actor)
        spec = table.get(name) if isinstance(name, str) else None
        if spec is None:
            what = {"agent": "tool", "user": "user tool", "env": "env fn"}[actor]
            return ToolResult(False, f"Error: unknown {what} {name!r}; {what}s: {', '.join(table)}")
        kwargs = self._bind(spec, arguments)
        if isinstance(kwargs, str):
            return ToolResult(False, "Error: " + kwargs)
        db = self.db
        mark = db.mark()
        metering = budget.start()  # the call's step budget (runtime/budget.py): runaway loops fail, rolled back
        try:
            value = spec.fn(db, **kwargs)
            for hook in self.HOOKS:  # in the same transaction: a failing hook undoes the call too
                hook(db)
        except ToolError as e:
            db.rollback(mark)
            return ToolResult(False, "Error: " + e.message)
        except Exception as e:  # a broken tool: report it, keep the state, never crash the caller
            db.rollback(mark)
            return ToolResult(False, f"Error: internal error in tool {name}: {type(e).__name__}: {e}", True)
        finally:
            budget.stop(metering)
        if spec.returns.get("k") == "none":
            return ToolResult(True, NO_RESULT_OUTPUT)
        if isinstance(value, str):
            return ToolResult(True, value)
        try:
            # allow_nan=False: NaN and Infinity are not JSON, so such a result is a failure, not an output
            return ToolResult(True, json.dumps(value, allow_nan=False))
        except ValueError:
            db.rollback(mark)
            return ToolResult(False, "Error: the result is not a finite number")
        except TypeError as e:  # a broken tool returned something that is not JSON data
            db.rollback(mark)
            return ToolResult(False, f"Error: internal error in tool {name}: TypeError: {e}", True)

    def _bind(self, spec: ToolSpec, arguments: Any) -> dict[str, Any] | str:
        if arguments is None:
            arguments = {}
        if isinstance(arguments, (str, bytes)):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as e:
                return f"arguments are not valid JSON: {e}"
        if not isinstance(arguments, dict):
            return f"arguments must be a JSON object, got {kind_of(arguments)}"
        known = {p["name"] for p in spec.params}
        problems = [f"unexpected argument {k!r}" for k in arguments if k not in known]
        schema = self.schema()
        kwargs: dict[str, Any] = {}
        for p in spec.params:
            if p["name"] not in arguments:
                if "default" in p:
                    kwargs[p["py"]] = clone(p["default"])
                else:
                    problems.append(f"missing required argument {p['name']!r}")
                continue
            v = arguments[p["name"]]
            errs = schema.errors(v, p["type"], p["name"])
            if not errs and p["constraints"] and v is not None:
                errs = constraint_errors(v, p["constraints"], p["name"])
            if errs:
                problems.extend(errs)
            else:
                kwargs[p["py"]] = schema.normalize_argument(clone(v), p["type"])  # 80 -> 80.0 for a float
        if problems:
            return f"invalid arguments for {spec.name}: " + "; ".join(problems)
        return kwargs

    def state(self) -> dict[str, Any]:
        """The current state as plain JSON data (a copy)."""
        return clone(self.db.data)  # type: ignore[no-any-return]

    def snapshot(self) -> Snapshot:
        j = self.db.journal
        return Snapshot(id(self.db), len(j), j[-1] if j else None)

    def restore(self, snap: Snapshot) -> None:
        """Undo back to a snapshot taken on this state since its last reset."""
        j = self.db.journal
        valid = snap.db_id == id(self.db) and snap.mark <= len(j) and \
            (snap.mark == 0 or j[snap.mark - 1] is snap.last_entry)
        if not valid:
            raise ValueError("the snapshot was taken before the last reset or restore past it")
        self.db.rollback(snap.mark)

    def tool_schemas(self) -> list[dict[str, Any]]:
        return clone(self.SCHEMAS)  # type: ignore[no-any-return]

    def user_tool_schemas(self) -> list[dict[str, Any]]:
        """The schemas of the user's tools (empty in a one-actor domain)."""
        return clone(self.USER_SCHEMAS)  # type: ignore[no-any-return]

    @classmethod
    def user_state_fields(cls) -> list[str]:
        """The state fields on the user's side (`user state`); the rest are the agent's."""
        return [f["name"] for f in cls.STATE_FIELDS if f.get("actor") == "user"]

    def state_hash(self) -> str:
        """sha256 of the canonical JSON of the state (sorted keys), the same as tau2-bench's DB hash.

        The canonical text is assembled from per-entity pieces cached between calls, so hashing
        after a few changes re-serialises only the entities they touched."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def full_state_hash(self) -> str:
        """state_hash() in one pass over the whole state, with no cache: the quicker way to hash a state
        once (state_hash() first builds its per-entity cache, which pays off from the second call)."""
        return hashlib.sha256(json.dumps(self.db.data, sort_keys=True).encode()).hexdigest()

    def canonical_json(self) -> str:
        """json.dumps(state, sort_keys=True), built incrementally."""
        db = self.db
        cache = self._canonical_cache()
        for root in db.take_dirty():
            cache.pop(root, None)
            cache.pop((root[0], _WHOLE), None)
        parts = []
        for name in sorted(db.data):
            value = db.data[name]
            if name in self._collection_names() and isinstance(value, dict):
                whole = cache.get((name, _WHOLE))
                if whole is None:
                    items = []
                    for key in sorted(value):
                        piece = cache.get((name, key))
                        if piece is None:
                            piece = cache[(name, key)] = json.dumps(value[key], sort_keys=True)
                        items.append(json.dumps(str(key)) + ": " + piece)
                    whole = cache[(name, _WHOLE)] = "{" + ", ".join(items) + "}"
                parts.append(json.dumps(name) + ": " + whole)
            else:
                piece = cache.get((name, None))
                if piece is None:
                    piece = cache[(name, None)] = json.dumps(value, sort_keys=True)
                parts.append(json.dumps(name) + ": " + piece)
        return "{" + ", ".join(parts) + "}"

    def _canonical_cache(self) -> dict[tuple[str, Any], str]:
        db = self.db
        if getattr(self, "_cache_db", None) is not db:
            db.track_owners(self._collection_names())
            db.take_dirty()
            self._cache_db = db
            self._cache: dict[tuple[str, Any], str] = {}
        return self._cache

    @classmethod
    def _collection_names(cls) -> frozenset[str]:
        names = cls.__dict__.get("_collections")
        if names is None:
            names = frozenset(f["name"] for f in cls.STATE_FIELDS if f["kind"] == "collection")
            cls._collections = names
        return names  # type: ignore[no-any-return]

    def changed_entities(self) -> set[tuple[str, Any]]:
        """(state field, entity key) pairs changed since the last reset; (field, None) for plain fields.
        The first call indexes the state (once per loaded state); later calls cost the journal length."""
        self.db.track_owners(self._collection_names())
        return self.db.touched_roots(0)

    @classmethod
    def ir(cls) -> dict[str, Any]:
        """The domain's IR (ir.json beside the generated module): typed tools, types and state."""
        if cls.__dict__.get("_ir") is None:
            cls._ir = json.loads((Path(cls.module_dir()) / "ir.json").read_text(encoding="utf-8"))
        return cls._ir  # type: ignore[return-value]

    def invariant_failures(self) -> list[str]:
        out = []
        for description, check in self.INVARIANTS:
            try:
                ok = check(Db(self.db.data, self.clock))
            except Exception as e:  # an invariant that cannot be evaluated is violated
                out.append(f"{description} (raised {type(e).__name__}: {e})")
                continue
            if not ok:
                out.append(description)
        return out


def _has_ref(t: dict[str, Any], schema: Schema, seen: set[str]) -> bool:
    k = t["k"]
    if k == "ref":
        return True
    if k in ("opt", "list"):
        return _has_ref(t["of"], schema, seen)
    if k == "map":
        return _has_ref(t["val"], schema, seen)
    if k in ("record", "union"):
        if t["name"] in seen:
            return False
        seen.add(t["name"])
        recs = [t["name"]] if k == "record" else list(schema.unions[t["name"]]["variants"].values())
        return any(_has_ref(f["type"], schema, seen) for r in recs for f in schema.records[r])
    return False
