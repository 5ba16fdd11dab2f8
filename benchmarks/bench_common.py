"""What the benchmark scripts share: command-line flags, a fixture environment, a table printer and
the JSON results file. Timings are wall-clock (time.perf_counter_ns) in this one process."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# specs/tau2 read the benchmark's policy and database from ../shared/data, outside their folder:
# allowed explicitly, as an operator would (docs/security.md)
os.environ.setdefault("ENVDSL_ALLOW_DIRS", str(REPO.parent / "shared" / "data"))
SHOP_SPEC = REPO / "tests" / "fixtures" / "shop" / "shop.env"
DEFAULT_RESULTS = REPO / "benchmarks" / "results"


def parse_args(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, figures mean little")
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="folder for <name>.json")
    ap.add_argument("--spec", type=Path, default=SHOP_SPEC, help="spec whose environment is measured")
    return ap.parse_args()


def load_env_class(spec: Path) -> Any:
    """Compile SPEC into a temporary folder and return its environment class."""
    from envdsl import compiler as C
    from envdsl.lang.diagnostics import DiagnosticBag
    from envdsl.runtime.loader import load_environment_class

    bag = DiagnosticBag()
    compiled = C.check_spec(spec, bag)
    if compiled is None:
        sys.exit(bag.render())
    C.render(compiled, C.toolchain_digest())
    out = Path(tempfile.mkdtemp(prefix="envdsl-bench-"))
    C.write_package(out, compiled)
    return load_environment_class(out / compiled.domain)


def summarize_us(samples_ns: list[int]) -> dict[str, float]:
    """mean / p50 / p99 of per-operation times, in microseconds."""
    xs = sorted(samples_ns)
    p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
    return {"mean_us": statistics.fmean(xs) / 1e3, "p50_us": statistics.median(xs) / 1e3, "p99_us": p99 / 1e3,
            "n": len(xs)}


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(title)
    for i, r in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def write_results(folder: Path, name: str, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "python": platform.python_version(), "machine": platform.machine(), **data}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path


def write_json_atomic(path: str | Path, data: dict[str, Any]) -> None:
    """Write a results file whole or not at all (a `.tmp` beside it, then a rename), and echo it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    text = json.dumps(data, indent=1, sort_keys=True)
    tmp.write_text(text + "\n")
    os.replace(tmp, path)
    print(text)
