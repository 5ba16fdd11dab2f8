"""`envdsl compile` and `envdsl check`: specs in, checked IR and generated packages out.

Each spec is parsed, checked and rendered in memory; files are written only when every
input is error-free, each package into a temporary folder renamed into place, so a failed
run never leaves a half-written package. A fingerprint of the inputs skips unchanged specs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from envdsl import __version__
from envdsl import ir as IR
from envdsl.codegen.python_package import render_package, runtime_tables
from envdsl.ir.fidelity_allow import parse_allowances
from envdsl.ir.package_name import package_name
from envdsl.jsonloc import locate
from envdsl.lang.checker import Checker
from envdsl.lang.diagnostics import DiagnosticBag, Span
from envdsl.lang.limits import MAX_SEED_NESTING, inside_folder, json_depth_exceeds, json_strings, lone_surrogate
from envdsl.lang.parser import parse_file

FINGERPRINT_FILE = ".envdsl-fingerprint"
# Folders besides a spec's own that its seed and policy files may come from, separated by os.pathsep:
# set by whoever runs the compiler (like --allow-dir), never by a spec.
ALLOW_DIRS_ENV = "ENVDSL_ALLOW_DIRS"


@dataclass
class CompiledSpec:
    path: Path
    display: str
    ir: dict[str, Any]
    seed: Any
    inputs: dict[str, str]  # file (relative to the spec's folder) -> sha256, spec included
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return str(self.ir["domain"]["name"])

    @property
    def package(self) -> str:
        """The generated package's folder and module name: the domain's, unless that is a Python keyword."""
        return package_name(self.domain)


def find_specs(paths: list[str], bag: DiagnosticBag) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(x for x in path.rglob("*.env") if x.is_file())
            if not found:  # an empty input is a mistake, not a successful run over nothing
                bag.error("E0603", f"no .env specs under {p}", p, Span(1, 1, 1, 1))
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            bag.error("E0603", f"no such file or directory: {p}", p, Span(1, 1, 1, 1))
    seen: set[Path] = set()
    unique = []
    for x in out:
        r = x.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(x)
    return unique


def display_path(path: Path) -> str:
    """The path as messages show it: relative to the working directory, climbing out of it with `..`
    when the two share a folder below the root (`../shared/x.env`); else as given."""
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    try:
        return resolved.relative_to(cwd).as_posix()
    except ValueError:
        pass
    if len(Path(os.path.commonpath([resolved, cwd])).parts) > 1:
        return Path(os.path.relpath(resolved, cwd)).as_posix()
    return path.as_posix()


def _toolchain_digest() -> str:
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).parent
    for sub in ("codegen", "lang", "ir"):
        for f in sorted((root / sub).rglob("*")):
            if f.suffix in (".py", ".j2", ".lark") and f.is_file():
                h.update(f.relative_to(root).as_posix().encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def allowed_folders(spec: Path, extra: Sequence[str | Path] = ()) -> list[Path]:
    """Where a spec's seed and policy files may lie: its own folder, folders given on the command
    line (--allow-dir) and those in $ENVDSL_ALLOW_DIRS."""
    env = [p for p in os.environ.get(ALLOW_DIRS_ENV, "").split(os.pathsep) if p]
    return [spec.parent, *(Path(p) for p in [*extra, *env])]


@contextlib.contextmanager
def allowing(folders: Sequence[str | Path]) -> Iterator[None]:
    """Folders given on the command line (--allow-dir) join $ENVDSL_ALLOW_DIRS while one command runs:
    every spec it compiles sees them, in its worker processes too (they inherit the environment),
    however deep the compile sits (tasks, rollouts, replay, serve). Absolute, so a worker that changes
    folder still finds them; the variable is restored afterwards."""
    if not folders:
        yield
        return
    old = os.environ.get(ALLOW_DIRS_ENV)
    os.environ[ALLOW_DIRS_ENV] = os.pathsep.join([*(str(Path(f).resolve()) for f in folders), *([old] if old else [])])
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ALLOW_DIRS_ENV, None)
        else:
            os.environ[ALLOW_DIRS_ENV] = old


def check_spec(path: Path, bag: DiagnosticBag, allow: Sequence[str | Path] = ()) -> CompiledSpec | None:
    display = display_path(path)
    module = parse_file(path, display, bag)
    if module is None:
        return None
    checker = Checker(module, bag)
    ir = checker.check()
    folders = allowed_folders(path, allow)
    if ir is None:
        # still check the policy file and the seed against the declared state, when that part is sound:
        # an author (or an LLM in a repair round) sees every error of the spec at once
        partial = checker.state_ir()
        if partial is not None:
            check_policy_and_seed(path, partial, module, bag, display, {}, folders)
        return None
    source = path.read_bytes()
    inputs = {path.name: _sha(source)}
    ok, seed = check_policy_and_seed(path, ir, module, bag, display, inputs, folders)
    if not ok:
        return None
    # `# fidelity: allow` comments travel in the IR: `envdsl test` on the compiled package honours them
    ir["fidelity_allow"] = parse_allowances(source.decode("utf-8", errors="replace"))
    return CompiledSpec(path, display, ir, seed, inputs)


def check_policy_and_seed(path: Path, ir: dict[str, Any], module: Any, bag: DiagnosticBag, display: str,
                          inputs: dict[str, str], folders: list[Path]) -> tuple[bool, Any]:
    """Read the policy file into `ir` and load the seed, reporting both files' errors (a missing policy
    file does not hide the seed's errors). Both must lie in `folders`. (everything found, the normalised
    seed or None)."""
    ok = True
    # policy file
    policy_file = ir["policy"]["file"]
    if policy_file:
        ppath = path.parent / policy_file
        decl = next(d for d in module.decls if type(d).__name__ == "PolicyDecl")
        if not _confined(ppath, folders, "policy", policy_file, bag, display, decl.span):
            ok = False
        elif not ppath.is_file():
            bag.error("E0601", f"policy file not found: {policy_file} (looked in {display_path(ppath.parent)})",
                      display, decl.span)
            ok = False
        else:
            praw = ppath.read_bytes()
            try:
                ir["policy"]["text"] = praw.decode("utf-8")
                inputs[policy_file] = _sha(praw)
            except UnicodeDecodeError as e:
                bag.error("E0607", f"policy file {policy_file} is not UTF-8 text (byte {e.start})", display,
                          decl.span, "re-save the policy file as UTF-8")
                ok = False
    seed = None
    if ir["seed"] is not None:
        decl = next(d for d in module.decls if type(d).__name__ == "SeedDecl")
        spath = path.parent / ir["seed"]
        if not _confined(spath, folders, "seed", ir["seed"], bag, display, decl.span):
            return False, None
        if not spath.is_file():
            bag.error("E0501", f"seed file not found: {ir['seed']} (looked in {display_path(spath.parent)})",
                      display, decl.span)
            return False, None
        raw = spath.read_bytes()
        inputs[ir["seed"]] = _sha(raw)
        seed = load_seed(spath, raw, ir, bag, display, decl.span)
        if seed is None:
            return False, None
    return ok, seed


def _confined(target: Path, folders: list[Path], what: str, written: str, bag: DiagnosticBag, display: str,
              span: Span) -> bool:
    """Seed and policy files must lie inside the spec's folder (or one allowed by whoever runs the
    compiler), symlinks followed: a spec is untrusted and must not read, or copy into generated
    code, anything else on the machine. The diagnostic names the path as written and never shows
    the file's content."""
    if Path(written).is_absolute() or not any(inside_folder(target, f) for f in folders):
        bag.error("E0701", f"{what} file {written!r} is outside the spec's folder", display, span)
        return False
    return True


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_seed(spath: Path, raw: bytes, ir: dict[str, Any], bag: DiagnosticBag, spec_display: str,
              decl_span: Span) -> Any:
    from envdsl.runtime.environment import Environment

    sdisplay = display_path(spath)
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        bag.error("E0607", f"{sdisplay} is not UTF-8 text", sdisplay, Span(1, 1, 1, 2))
        return None
    except json.JSONDecodeError as e:
        bag.add_source(sdisplay, text)
        bag.error("E0502", f"invalid JSON: {e.msg}", sdisplay, Span(e.lineno, e.colno, e.lineno, e.colno + 1))
        return None
    except RecursionError:  # the json module recurses per level: a 100,000-deep array ends here
        bag.error("E0702", f"{sdisplay} nests deeper than {MAX_SEED_NESTING} levels", sdisplay, Span(1, 1, 1, 2))
        return None
    except ValueError as e:  # an integer of more than 4,300 digits
        bag.error("E0704", f"{sdisplay}: {str(e).split(';')[0]}", sdisplay, Span(1, 1, 1, 2))
        return None
    if json_depth_exceeds(data, MAX_SEED_NESTING):
        bag.error("E0702", f"{sdisplay} nests deeper than {MAX_SEED_NESTING} levels", sdisplay, Span(1, 1, 1, 2))
        return None
    bad = next((s for s in json_strings(data) if lone_surrogate(s) >= 0), None)
    if bad is not None:
        bag.add_source(sdisplay, text)
        line, col = _text_position(text, "\\ud" if "\\ud" in text else "\\uD")
        bag.error("E0703", f"{sdisplay}: a string holds half of a UTF-16 surrogate pair", sdisplay,
                  Span(line, col, line, col + 1))
        return None
    tables = runtime_tables(ir)
    env_cls: type[Environment] = type("SeedCheck", (Environment,), {
        "TYPES": tables["types"], "STATE_FIELDS": tables["state_fields"], "_schema": None})
    errors = env_cls.state_errors(data, limit=50)
    int_keyed = {s["name"]: s["key"] for s in ir["state"]
                 if s["kind"] == "collection" and s.get("key_type", {}).get("k") == "int"}
    if errors:
        bag.add_source(sdisplay, text)
        for problem in errors:
            path, _, msg = problem.partition(": ")
            line, col = locate(text, _seed_location(path, msg))
            code = "E0504" if "is not a key of" in msg else "E0505" if "must equal its key" in msg else "E0503"
            hint = f"the seed must match the state declared in {spec_display}"
            coll = path.split("[", 1)[0]
            if code == "E0505" and coll in int_keyed:
                msg += " (a collection keyed by an int field cannot be seeded: JSON keys are strings)"
                hint = (f"make `{int_keyed[coll]}` a str field so that `{coll}` can be seeded, "
                        f"or seed it empty (\"{coll}\": {{}})")
            bag.error(code, f"{path}: {msg}", sdisplay, Span(line, col, line, col + 1), hint)
        return None
    return env_cls.normalize_state(data)


def _text_position(text: str, needle: str) -> tuple[int, int]:
    at = max(text.find(needle), 0)
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def _seed_location(path: str, msg: str) -> str:
    """The JSON path to point at for one state error: an unexpected field at its own value, anything
    else about the whole state ('state: ...') at the top-level object."""
    unexpected = re.match(r"unexpected field ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", msg)
    if unexpected:
        key = unexpected.group(1)
        return key[1:-1] if path == "state" and re.fullmatch(r"'[A-Za-z_][A-Za-z0-9_]*'", key) else \
            ("" if path == "state" else f"{path}[{key}]")
    return "" if path == "state" else path


def render(spec: CompiledSpec, toolchain: str) -> None:
    package = f"generated.{spec.package}"
    spec.files = render_package(spec.ir, spec.seed, spec.display, package)
    spec.files[FINGERPRINT_FILE] = fingerprint(spec, toolchain)


def check_duplicates(specs: list[CompiledSpec], bag: DiagnosticBag) -> None:
    seen: dict[str, CompiledSpec] = {}
    for s in specs:
        if s.domain in seen:
            bag.error("E0604", f"domain '{s.domain}' is also declared in {seen[s.domain].display}", s.display,
                      Span(1, 1, 1, 2))
        else:
            seen[s.domain] = s


def fingerprint(spec: "CompiledSpec", toolchain: str) -> bytes:
    rec = {"spec": spec.display, "inputs": spec.inputs, "toolchain": toolchain}
    return (json.dumps(rec, indent=1, sort_keys=True) + "\n").encode()


def fingerprint_index(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The fingerprints of the packages in OUT, by the spec each was compiled from: read once a run,
    so skipping unchanged specs costs one read per package, not one per package per spec."""
    index: dict[str, dict[str, Any]] = {}
    for pkg in sorted(out_dir.glob(f"*/{FINGERPRINT_FILE}")) if out_dir.is_dir() else []:
        if pkg.parent.name.startswith("."):  # a temporary folder a killed compile left: not a package
            continue
        try:
            rec = json.loads(pkg.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("spec"), str):
            index[rec["spec"]] = rec
    return index


def unchanged(index: dict[str, dict[str, Any]], spec_path: Path, toolchain: str) -> bool:
    """True when a package exists whose recorded inputs and toolchain match: no need to even parse."""
    rec = index.get(display_path(spec_path))
    if rec is None or rec.get("toolchain") != toolchain:
        return False
    inputs = rec.get("inputs", {})
    return spec_path.name in inputs and all(
        (spec_path.parent / f).is_file() and _sha((spec_path.parent / f).read_bytes()) == h
        for f, h in inputs.items())


def stale_files(out_dir: Path, spec: CompiledSpec) -> list[str]:
    """Generated files that differ from what the spec compiles to. The fingerprint is not compared:
    it records the compiler's own source too, so a refactor that changes no output is not staleness
    (the next `envdsl compile` refreshes it)."""
    target = out_dir / spec.package
    stale = []
    for name, data in spec.files.items():
        if name == FINGERPRINT_FILE:
            continue
        f = target / name
        if not f.is_file() or f.read_bytes() != data:
            stale.append(name)
    if target.is_dir():
        extra = sorted(p.name for p in target.iterdir() if p.is_file() and p.name not in spec.files)
        stale.extend(extra)
    return stale


# Packages are written into hidden folders beside their target and renamed into place. A compile
# killed half-way leaves such a folder behind; the next compile into the same OUT removes it.
TEMP_PREFIX = ".envdsl-tmp."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_leftovers(out_dir: Path) -> list[str]:
    """Delete what a killed compile left in OUT (temporary package folders, half-written IR files)."""
    removed: list[str] = []
    if not out_dir.is_dir():
        return removed
    for p in sorted(out_dir.iterdir()):
        if p.name.startswith(TEMP_PREFIX) and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        elif p.name.endswith(".ir.tmp") and p.is_file():
            p.unlink()
            removed.append(p.name)
    return removed


def write_package(out_dir: Path, spec: CompiledSpec) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    init = out_dir / "__init__.py"
    if not init.exists():
        init.write_text('"""Environments generated by envdsl compile."""\n', encoding="utf-8")
    target = out_dir / spec.package
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{spec.package}.", dir=out_dir))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a package gets the folder mode umask gives
        for name, data in sorted(spec.files.items()):
            (tmp / name).write_bytes(data)
        old = None
        if target.exists():
            old = out_dir / f"{TEMP_PREFIX}{spec.package}.old"
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_ir(out_dir: Path, spec: CompiledSpec) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{spec.domain}.ir.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(IR.dumps(spec.ir), encoding="utf-8")
    os.replace(tmp, path)
    return path


def toolchain_digest() -> str:
    return _toolchain_digest()


__all__ = ["CompiledSpec", "allowing", "check_duplicates", "remove_leftovers",
           "check_spec", "find_specs", "fingerprint_index", "render", "unchanged",
           "stale_files", "toolchain_digest", "write_ir", "write_package"]
