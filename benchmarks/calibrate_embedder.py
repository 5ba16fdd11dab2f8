"""Calibrate the similarity threshold of a synth embedder (docs/synth.md, "Grouping by meaning").

    python benchmarks/calibrate_embedder.py [--embedder minilm] [--tools 3000]

Takes a seeded sample of the shared collection (the per-API sampling synth itself uses), embeds each
tool's text (name, description, parameter names: envdsl.synth.embed.tool_text), and compares two
kinds of pairs: tools of the same API and resource noun (should be linked), and tools of different
APIs (mostly should not). It prints, per threshold, the share of each kind at or above it, and the
threshold where F1 of "same resource" is best, and writes benchmarks/results/calibrate_<embedder>.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT.parent / "shared" / "data" / "tools"


def main() -> None:
    from envdsl.synth.embed import embed, tool_text
    from envdsl.synth.graph import sample_per_api
    from envdsl.synth.infer import verb_and_noun
    from envdsl.synth.sources import read_inputs

    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--tools", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tools = sample_per_api(read_inputs([str(TOOLS)]), 20, a.seed)
    tools = sorted(rng.sample(tools, min(a.tools, len(tools))), key=lambda t: t.id)
    t0 = time.perf_counter()
    vecs = embed([tool_text(t) for t in tools], a.embedder, a.seed)
    seconds = time.perf_counter() - t0
    groups: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(tools):
        groups.setdefault((t.api, verb_and_noun(t)[1] or t.name), []).append(i)
    pos = [(i, j) for g in groups.values() for x, i in enumerate(g) for j in g[x + 1:]]
    neg = []
    while len(neg) < max(2000, len(pos)):
        i, j = rng.randrange(len(tools)), rng.randrange(len(tools))
        if tools[i].api != tools[j].api:
            neg.append((i, j))
    ps = np.array([float(vecs[i] @ vecs[j]) for i, j in pos])
    ns = np.array([float(vecs[i] @ vecs[j]) for i, j in neg])
    rows = []
    for th in np.arange(0.3, 0.951, 0.05):
        tp, fp = float((ps >= th).mean()), float((ns >= th).mean())
        # F1 with positives and negatives weighted as sampled
        prec = tp * len(ps) / max(1e-9, tp * len(ps) + fp * len(ns))
        f1 = 2 * prec * tp / max(1e-9, prec + tp)
        rows.append({"threshold": round(float(th), 2), "same_resource_linked": round(tp, 3),
                     "other_api_linked": round(fp, 4), "f1": round(f1, 3)})
    best = max(rows, key=lambda r: r["f1"])
    out = {"embedder": a.embedder, "tools": len(tools), "same_resource_pairs": len(ps), "other_api_pairs": len(ns),
           "embed_seconds": round(seconds, 1), "best": best, "table": rows}
    for r in rows:
        print(r)
    print("best:", best)
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / f"calibrate_{a.embedder}.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
