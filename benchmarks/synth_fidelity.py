"""Fidelity figures of an `envdsl synth` output folder (README "Environments in bulk", docs/synth.md).

    python benchmarks/synth_fidelity.py OUT [--sample 200] [--seed 0]

Reads OUT/journal.jsonl (so a run that is still going, or was stopped, can be measured too) and the
accepted specs under OUT/accepted/, and writes benchmarks/results/synth_fidelity.json with:
- domains done, accepted, rejected; rejected domains per reason and per code (every failing check of
  a domain counts, not only the first), tools and APIs covered, worker seconds;
- over ALL accepted specs (static, compiled): tools, parameters never read by their tool's body,
  name/effect disagreements (F0103: a writing verb on a read tool or the reverse), and the share of
  seed strings that are placeholders ("Job 2": the fidelity gate's own rule, F0107) over all string
  values of all seeds, keys and references excluded;
- over a seeded SAMPLE of accepted specs (dynamic, each domain's fidelity checks rerun): the share
  of stub tools (a tool with a parameter that is never read or changes nothing: F0101/F0102) and of
  tools with a name/effect finding (F0103/F0104).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def static_figures(spec: Path) -> dict[str, int]:
    from envdsl.proptest.fidelity import is_placeholder, nodes
    from envdsl.proptest.verbs import tool_verb
    from envdsl.synth.gate import compile_spec

    compiled, _ = compile_spec(spec)
    if compiled is None:
        return {"not_compiling": 1}
    ir = compiled.ir
    out: Counter[str] = Counter()
    for tool in ir["tools"]:
        out["tools"] += 1
        read = {n["name"] for n in nodes(tool["body"]) if n.get("e") == "local"}
        out["params"] += len(tool["params"])
        out["unused_params"] += sum(1 for p in tool["params"] if p["name"] not in read)
        verb = tool_verb(tool["name"], tool.get("description", ""))
        if verb is not None and (verb.writes and tool["effect"] == "read" or
                                 not verb.writes and tool["effect"] == "write" and verb.word in tool["name"].lower()):
            out["name_effect_disagreements"] += 1
    seed = json.loads(spec.with_suffix(".seed.json").read_text(encoding="utf-8"))
    colls = {s["name"]: s for s in ir["state"] if s.get("kind") == "collection"}
    keys = {k for c in colls for k in (seed.get(c) or {})}
    for cname, entry in colls.items():
        for row in (seed.get(cname) or {}).values():
            for fname, v in row.items():
                if isinstance(v, str) and fname != entry["key"] and v not in keys:
                    out["seed_strings"] += 1
                    out["placeholder_strings"] += is_placeholder(v, fname, entry["record"], cname)
    return dict(out)


def dynamic_figures(spec: Path) -> dict[str, int]:
    from envdsl.proptest.domain import Domain
    from envdsl.proptest.fidelity import fidelity_checks
    from envdsl.synth.gate import compile_spec, forget_modules, load_class

    compiled, _ = compile_spec(spec)
    if compiled is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        env_cls = load_class(compiled, Path(tmp))
        found = fidelity_checks(Domain(env_cls.DOMAIN, env_cls, spec.as_posix()))
        forget_modules(Path(tmp))
    tools = {t["name"] for t in compiled.ir["tools"]}
    stubs = {f.test.split(" ", 1)[1] for f in found if f.property in ("F0101", "F0102")} & tools
    effect = {f.test.split(" ", 1)[1] for f in found if f.property in ("F0103", "F0104")} & tools
    return {"sampled_tools": len(tools), "stub_tools": len(stubs), "name_effect_tools": len(effect),
            **{f"finding_{f.property}": 1 for f in found}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--sample", type=int, default=200, help="accepted domains whose checks are rerun")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--result", default=str(ROOT / "benchmarks" / "results" / "synth_fidelity.json"))
    a = ap.parse_args()
    out = Path(a.out)
    t0 = time.perf_counter()
    records: dict[str, dict] = {}
    for line in (out / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        records[r["domain"]] = r
    accepted = sorted(d for d, r in records.items() if r["status"] == "accepted")
    rejected = [r for r in records.values() if r["status"] != "accepted"]
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8")) if (out / "plan.json").is_file() else {}
    fig: dict = {
        "out": str(out), "domains_planned": len(plan.get("domains", [])), "domains_done": len(records),
        "accepted": len(accepted), "rejected": len(rejected),
        "rejected_by_reason": dict(sorted(Counter(r.get("reason") or "unknown" for r in rejected).items())),
        "rejected_by_code": dict(sorted(Counter(x for r in rejected for x in r.get("reasons") or []).items())),
        "tools_covered": sum(records[d]["tools"] for d in accepted),
        "apis_covered": len({a for d in accepted for a in records[d].get("apis", [])}),
        "worker_seconds": round(sum(r.get("seconds", 0.0) for r in records.values()), 1),
    }
    static: Counter[str] = Counter()
    for d in accepted:
        static.update(static_figures(out / "accepted" / d / f"{d}.env"))
    fig["accepted_static"] = {
        **dict(static),
        "unused_param_share": round(static["unused_params"] / max(1, static["params"]), 4),
        "placeholder_string_share": round(static["placeholder_strings"] / max(1, static["seed_strings"]), 4),
    }
    sample = sorted(random.Random(a.seed).sample(accepted, min(a.sample, len(accepted))))
    dyn: Counter[str] = Counter()
    for d in sample:
        dyn.update(dynamic_figures(out / "accepted" / d / f"{d}.env"))
    tools = max(1, dyn["sampled_tools"])
    fig["accepted_sample"] = {"domains": len(sample), **dict(dyn),
                              "stub_tool_share": round(dyn["stub_tools"] / tools, 4),
                              "name_effect_tool_share": round(dyn["name_effect_tools"] / tools, 4)}
    fig["seconds"] = round(time.perf_counter() - t0, 1)
    Path(a.result).parent.mkdir(parents=True, exist_ok=True)
    Path(a.result).write_text(json.dumps(fig, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    json.dump(fig, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
