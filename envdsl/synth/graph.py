"""Tools -> domains: per-API sampling, a similarity graph of parameters, Louvain communities, sizing.

Steps (all deterministic for a given seed):
1. sample: at most `cap` tools per API, taken whole resource by resource (the noun of the tool
   name) in a seeded hash order, so the largest APIs (Microsoft Graph: ~23k tools) do not swamp
   the rest and a sampled resource keeps its get/list/create/update/delete together;
2. graph: an edge between two tools whose parameter vectors have cosine >= threshold, keeping each
   tool's `k` nearest such neighbours (a blocked all-pairs product: no quadratic memory);
3. communities: networkx Louvain with the seed; a community over `max_size` is split by Louvain
   again at a higher resolution, then in API order; one under `min_size` gives its tools to the
   community holding most of their API, and what is left is grouped by API.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from envdsl.synth.embed import embed, tool_text
from envdsl.synth.infer import verb_and_noun
from envdsl.synth.sources import Tool


@dataclass
class GraphConfig:
    cap_per_api: int = 40
    threshold: float | None = None  # None: the embedder's calibrated default (THRESHOLDS)
    k: int = 10
    min_size: int = 4
    max_size: int = 24
    resolution: float = 1.0
    embedder: str = "tfidf"
    seed: int = 0


# cosine thresholds per embedder, calibrated by benchmarks/calibrate_embedder.py on a 3,000-tool sample
# (benchmarks/results/calibrate_*.json, docs/synth.md): MiniLM at 0.45 links 84% of same-API,
# same-resource pairs and 1.0% of pairs from different APIs (F1 0.888; 0.40 gains 0.002 F1 for 2.4x
# the cross-API links). TF-IDF keeps the 0.6 its figures in README were measured with.
THRESHOLDS = {"tfidf": 0.6, "minilm": 0.45}


def threshold_for(cfg: "GraphConfig") -> float:
    return cfg.threshold if cfg.threshold is not None else THRESHOLDS.get(cfg.embedder, 0.6)


def stable_hash(text: str, seed: int) -> int:
    return zlib.crc32(f"{seed}:{text}".encode())


def sample_per_api(tools: list[Tool], cap: int, seed: int = 0) -> list[Tool]:
    by_api: dict[str, dict[str, list[Tool]]] = defaultdict(lambda: defaultdict(list))
    for t in tools:
        by_api[t.api][verb_and_noun(t)[1] or t.name].append(t)
    out: list[Tool] = []
    for api in sorted(by_api):
        groups = by_api[api]
        taken: list[Tool] = []
        for noun in sorted(groups, key=lambda n: stable_hash(f"{api}/{n}", seed)):
            room = cap - len(taken)
            if room <= 0:
                break
            taken.extend(sorted(groups[noun], key=lambda t: t.name)[:room])
        out.extend(sorted(taken, key=lambda t: t.id))
    return out


def similarity_edges(vectors: np.ndarray, threshold: float, k: int, block: int = 2048
                     ) -> list[tuple[int, int, float]]:
    """(i, j, cosine) with i < j for each row's k most similar rows at or above the threshold."""
    n = vectors.shape[0]
    edges: dict[tuple[int, int], float] = {}
    for start in range(0, n, block):
        sims = vectors[start:start + block] @ vectors.T
        for r in range(sims.shape[0]):
            sims[r, start + r] = -1.0  # no self loops
        kk = min(k, n - 1)
        if kk <= 0:
            break
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < n else np.argsort(-sims, axis=1)[:, :kk]
        for r in range(sims.shape[0]):
            i = start + r
            for j in top[r]:
                s = float(sims[r, j])
                if s >= threshold:
                    a, b = (i, int(j)) if i < j else (int(j), i)
                    edges[(a, b)] = max(edges.get((a, b), 0.0), round(s, 6))
    return [(a, b, s) for (a, b), s in sorted(edges.items())]


def louvain(nodes: list[int], edges: list[tuple[int, int, float]], resolution: float, seed: int
            ) -> list[list[int]]:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_weighted_edges_from(edges)
    parts = nx.community.louvain_communities(g, weight="weight", resolution=resolution, seed=seed)
    return sorted((sorted(p) for p in parts), key=lambda p: p[0])


def split_oversized(part: list[int], edges_of: dict[int, list[tuple[int, int, float]]], tools: list[Tool],
                    cfg: GraphConfig, depth: int = 0) -> list[list[int]]:
    if len(part) <= cfg.max_size:
        return [part]
    if depth < 3:
        members = set(part)
        sub = [e for i in part for e in edges_of.get(i, []) if e[1] in members and e[0] in members]
        pieces = louvain(part, sub, cfg.resolution * 2 ** (depth + 1), cfg.seed)
        if len(pieces) > 1:
            return [q for p in pieces for q in split_oversized(p, edges_of, tools, cfg, depth + 1)]
    ordered = sorted(part, key=lambda i: (tools[i].api, tools[i].name))
    n_chunks = -(-len(ordered) // cfg.max_size)
    size = -(-len(ordered) // n_chunks)  # even chunks rather than a full run and a small rest
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def merge_tiny(parts: list[list[int]], tools: list[Tool], cfg: GraphConfig) -> list[list[int]]:
    big = [p for p in parts if len(p) >= cfg.min_size]
    tiny = [i for p in parts if len(p) < cfg.min_size for i in p]
    home: dict[str, int] = {}  # api -> the big community with most of its tools and room left
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for ci, p in enumerate(big):
        for i in p:
            counts[tools[i].api][ci] += 1
    for api, c in counts.items():
        home[api] = max(sorted(c), key=lambda ci: c[ci])
    leftovers: dict[str, list[int]] = defaultdict(list)
    for i in sorted(tiny):
        target = home.get(tools[i].api)
        if target is not None and len(big[target]) < cfg.max_size:
            big[target].append(i)
        else:
            leftovers[tools[i].api].append(i)
    pool: list[int] = []
    for api in sorted(leftovers):
        group = leftovers[api]
        if len(group) >= cfg.min_size:
            size = -(-len(group) // -(-len(group) // cfg.max_size))
            big.extend(group[j:j + size] for j in range(0, len(group), size))
        else:
            pool.extend(group)
    # APIs too small to stand alone go together, neighbours in category then API order
    pool.sort(key=lambda i: (str(tools[i].category or ""), tools[i].api, tools[i].name))
    for j in range(0, len(pool), cfg.max_size):
        chunk = pool[j:j + cfg.max_size]
        smallest = min(range(len(big)), key=lambda ci: (len(big[ci]), ci)) if big else None
        if len(chunk) < cfg.min_size and smallest is not None and len(big[smallest]) + len(chunk) <= cfg.max_size:
            big[smallest].extend(chunk)  # a last short chunk joins the smallest domain with room for it
        else:
            big.append(chunk)
    return [sorted(p) for p in big if p]


def build_domains(tools: list[Tool], cfg: GraphConfig) -> tuple[list[list[Tool]], dict[str, Any]]:
    """Communities of the sampled tools, each sorted by (api, name), in a stable order; plus figures."""
    sampled = sample_per_api(tools, cfg.cap_per_api, cfg.seed)
    if not sampled:
        return [], {"tools_input": len(tools), "tools_sampled": 0, "edges": 0}
    vectors = embed([tool_text(t) for t in sampled], cfg.embedder, cfg.seed)
    edges = similarity_edges(vectors, threshold_for(cfg), cfg.k)
    edges_of: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for e in edges:
        edges_of[e[0]].append(e)
        edges_of[e[1]].append(e)
    parts = louvain(list(range(len(sampled))), edges, cfg.resolution, cfg.seed)
    sized = [q for p in parts for q in split_oversized(p, edges_of, sampled, cfg)]
    final = merge_tiny(sized, sampled, cfg)
    domains = [sorted((sampled[i] for i in p), key=lambda t: (t.api, t.name)) for p in final]
    domains.sort(key=lambda d: d[0].id)
    figures = {"tools_input": len(tools), "tools_sampled": len(sampled), "edges": len(edges),
               "louvain_communities": len(parts), "domains": len(domains)}
    return domains, figures
