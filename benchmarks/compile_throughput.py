"""Specs compiled per second: cold (nothing generated yet) and warm (every spec unchanged, so each
is skipped after comparing its input hashes with the package's fingerprint).

Inputs: every spec under specs/ plus N synthetic copies of tests/fixtures/shop with renamed domains.
Run: python benchmarks/compile_throughput.py [--quick]
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench_common import REPO, SHOP_SPEC, parse_args, print_table, write_results

from envdsl import compiler as C
from envdsl.lang.diagnostics import DiagnosticBag


def synthetic_specs(folder: Path, n: int) -> list[Path]:
    """n copies of the shop fixture, each its own domain shop_<i> with its own seed file."""
    text = SHOP_SPEC.read_text(encoding="utf-8")
    seed = SHOP_SPEC.with_name("shop.seed.json").read_text(encoding="utf-8")
    out = []
    for i in range(n):
        sub = folder / f"shop_{i}"
        sub.mkdir(parents=True)
        (sub / "shop.seed.json").write_text(seed, encoding="utf-8")
        spec = sub / f"shop_{i}.env"
        spec.write_text(text.replace("domain shop ", f"domain shop_{i} ", 1), encoding="utf-8")
        out.append(spec)
    return out


def compile_all(specs: list[Path], out: Path, toolchain: str) -> tuple[int, int]:
    """What `envdsl compile` does per spec: skip if unchanged, else check, render and write."""
    written = skipped = 0
    index = C.fingerprint_index(out)
    for spec in specs:
        if C.unchanged(index, spec, toolchain):
            skipped += 1
            continue
        bag = DiagnosticBag()
        compiled = C.check_spec(spec, bag)
        if compiled is None:
            raise SystemExit(bag.render())
        C.render(compiled, toolchain)
        C.write_package(out, compiled)
        written += 1
    return written, skipped


def main() -> None:
    args = parse_args(__doc__ or "")
    n_synthetic = 5 if args.quick else 50
    work = Path(tempfile.mkdtemp(prefix="envdsl-compile-bench-"))
    try:
        specs = synthetic_specs(work / "src", n_synthetic)
        real = [] if args.quick else sorted((REPO / "specs").rglob("*.env"))
        toolchain = C.toolchain_digest()
        compile_all([SHOP_SPEC], work / "warmup", toolchain)  # build the parser once, outside the timings
        rows, results = [], {}
        for label, inputs in (("synthetic", specs), ("specs/", real)):
            if not inputs:
                continue
            out = work / f"out-{label.strip('/')}"
            t0 = time.perf_counter()
            written, _ = compile_all(inputs, out, toolchain)
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            _, skipped = compile_all(inputs, out, toolchain)
            warm = time.perf_counter() - t0
            assert written == skipped == len(inputs)
            results[label] = {"specs": len(inputs), "cold_seconds": cold, "cold_specs_per_s": len(inputs) / cold,
                              "unchanged_seconds": warm, "unchanged_specs_per_s": len(inputs) / warm}
            rows.append([label, len(inputs), len(inputs) / cold, len(inputs) / warm, cold / warm])
        print_table("compile throughput (specs per second)",
                    ["inputs", "specs", "cold/s", "unchanged/s", "skip speed-up"], rows)
        write_results(args.results, "compile_throughput", {"quick": args.quick, "results": results})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
