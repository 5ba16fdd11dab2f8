"""The experiment design of benchmarks/learning_signal.py, as pure functions (no torch, no envdsl imports):
which domains are seen, unseen and vertical, which conversations each training arm gets, the spread over
seeds, and the targets. Kept apart so that tests can check the design without training anything."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Targets of issue 17 for the model trained on every seen domain.
TARGET_SEEN_PASS1 = 0.3  # pass^1 on held-out tasks of seen domains: at least this
TARGET_UNSEEN_PASS1 = 0.0  # pass^1 on domains never trained on: above this


@dataclass
class DomainSplit:
    seen: list[str]  # training domains (the vertical one excluded)
    unseen: list[str]  # never trained on; the fixed scoring set of the scaling curve
    vertical: str  # phase-2 domain of the two-phase arm


def split_domains(hand: list[str], synth: list[str], vertical: str, unseen_hand: list[str], unseen_synth: int,
                  seed: int) -> DomainSplit:
    """Unseen domains: the named hand-written ones plus `unseen_synth` synthesised ones drawn with `seed` (the data
    seed: the same set for every training seed, so the scaling curve is scored on one fixed set)."""
    known = set(hand) | set(synth)
    missing = sorted({vertical, *unseen_hand} - known)
    if missing:
        raise ValueError(f"domain(s) not found in the specs or synth folders: {', '.join(missing)}")
    if vertical in unseen_hand:
        raise ValueError("the vertical domain cannot also be unseen")
    if unseen_synth > len(synth):
        raise ValueError(f"{unseen_synth} unseen synthesised domain(s) asked for, only {len(synth)} available")
    drawn = random.Random(seed).sample(sorted(synth), unseen_synth)
    unseen = sorted(set(unseen_hand) | set(drawn))
    seen = sorted(known - set(unseen) - {vertical})
    if not seen:
        raise ValueError("no seen domain is left for training")
    return DomainSplit(seen=seen, unseen=unseen, vertical=vertical)


def main_domains(split: DomainSplit, hand: list[str], synth_count: int, seed: int) -> list[str]:
    """The seen domains the mixed and two-phase arms train on: every hand-written seen domain plus `synth_count`
    synthesised ones drawn with `seed` (the data seed: one set for every training seed). Kept small so that each
    gets enough conversations to be learnt; the held-out "seen" group is drawn from these domains only, so that
    "seen" means trained on, not one conversation among hundreds of domains."""
    seen_hand = [d for d in split.seen if d in set(hand)]
    seen_synth = sorted(set(split.seen) - set(seen_hand))
    drawn = random.Random(seed).sample(seen_synth, min(synth_count, len(seen_synth)))
    return sorted(seen_hand + drawn)


def conversation_needs(main: list[str], main_budget: int, subsets: Iterable[dict[int, list[str]]],
                       budget: int) -> dict[str, int]:
    """domain -> the most training conversations any arm takes from it (round-robin shares, rounded up): only these
    tasks are rolled out, not every sampled one (the oracle rollouts were most of the data time)."""
    needs: dict[str, int] = {}

    def need(domains: list[str], total: int) -> None:
        share = math.ceil(total / len(domains)) if domains else 0
        for d in domains:
            needs[d] = max(needs.get(d, 0), share)

    need(main, main_budget)
    for by_k in subsets:
        for domains in by_k.values():
            need(domains, budget)
    return needs


def with_margin(need: int) -> int:
    """Tasks to roll out for `need` conversations: the filters reject a few oracle conversations (about 8% in the
    first full run), and a domain that runs short would give its share to the others."""
    return math.ceil(need * 1.25) + 2 if need else 0


def scaling_subsets(seen: list[str], ks: Iterable[int], seed: int) -> dict[int, list[str]]:
    """K -> the K training domains of the scaling curve: nested prefixes of one seeded shuffle (so K=16 holds the
    domains of K=4), a different shuffle per training seed (the spread then includes the choice of domains).
    K larger than the seen pool is left out; the caller reports it."""
    order = sorted(seen)
    random.Random(seed).shuffle(order)
    return {k: sorted(order[:k]) for k in ks if k <= len(order)}


def training_jobs(seeds: list[int], arms: list[str], ks: list[int], seen: list[str]) -> list[tuple[int, str]]:
    """(seed, job) pairs of a run: "mixed", "two_phase" (general_only, then two_phase from it) and one "scale_K"
    per K that the seen pool allows, longest first (the main arms train about twice the steps of a scaling arm),
    so that parallel workers finish close together."""
    jobs = []
    for seed in seeds:
        jobs += [(seed, arm) for arm in ("mixed", "two_phase") if arm in arms]
        if "scaling" in arms:
            jobs += [(seed, f"scale_{k}") for k in scaling_subsets(seen, ks, seed)]
    return sorted(jobs, key=lambda job: (job[1].startswith("scale_"), job[0]))


def round_robin(by_domain: dict[str, list[Any]], domains: list[str], budget: int | None) -> list[Any]:
    """Up to `budget` items (all when None) taken one domain at a time in turn, so the budget is spread evenly
    over `domains`; a domain that runs out leaves its share to the others."""
    queues = [list(by_domain.get(d, [])) for d in sorted(domains)]
    picked: list[Any] = []
    depth = 0
    while any(depth < len(q) for q in queues):
        for q in queues:
            if depth < len(q):
                if budget is not None and len(picked) >= budget:
                    return picked
                picked.append(q[depth])
        depth += 1
    return picked


def spread(values: list[float | None]) -> dict[str, Any]:
    """Mean, sample standard deviation, min and max over seeds (None values, such as an empty group, are left
    out and counted)."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0, "values": list(values)}
    return {"mean": round(statistics.fmean(xs), 4), "std": round(statistics.stdev(xs), 4) if len(xs) > 1 else 0.0,
            "min": round(min(xs), 4), "max": round(max(xs), 4), "n": len(xs), "values": list(values)}


def check_targets(seen_pass1: dict[str, Any], unseen_pass1: dict[str, Any]) -> dict[str, Any]:
    """met / missed for each target, judged on the mean over seeds."""
    def verdict(mean: float | None, ok: bool) -> str:
        return "not measured" if mean is None else "met" if ok else "missed"

    seen_mean, unseen_mean = seen_pass1.get("mean"), unseen_pass1.get("mean")
    return {
        "seen_pass1": {"target": f">= {TARGET_SEEN_PASS1}", "mean": seen_mean,
                       "verdict": verdict(seen_mean, seen_mean is not None and seen_mean >= TARGET_SEEN_PASS1)},
        "unseen_pass1": {
            "target": f"> {TARGET_UNSEEN_PASS1}", "mean": unseen_mean,
            "verdict": verdict(unseen_mean, unseen_mean is not None and unseen_mean > TARGET_UNSEEN_PASS1)},
    }
