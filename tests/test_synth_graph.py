"""Tool graph and communities: per-API sampling, similarity edges, Louvain, sizing; all deterministic."""

from __future__ import annotations

import numpy as np

from envdsl.synth.graph import GraphConfig, build_domains, merge_tiny, sample_per_api, similarity_edges
from envdsl.synth.sources import Tool


def tool(api: str, name: str, params: dict[str, str]) -> Tool:
    props = {k: {"type": "string", "description": d} for k, d in params.items()}
    return Tool(id=f"t/{api}/{name}", source="t", api=api, name=name,
                parameters={"type": "object", "properties": props, "required": list(props)})


def corpus() -> list[Tool]:
    """Two obvious topics across several APIs, plus one huge API."""
    out = []
    for i in range(6):
        out.append(tool(f"weather{i % 2}", f"get_forecast_{i}", {"city": "City name", "country_code": "Country"}))
        out.append(tool(f"weather{i % 2}", f"get_alerts_{i}", {"city": "City name", "region": "Region of the city"}))
        out.append(tool(f"music{i % 3}", f"get_album_{i}", {"artist_id": "Artist", "album_title": "Album title"}))
        out.append(tool(f"music{i % 3}", f"list_tracks_{i}", {"album_title": "Album title", "artist_id": "Artist"}))
    for i in range(50):  # one API far larger than the rest
        out.append(tool("huge", f"resource{i}_get", {f"resource{i}_id": "Key", "api_version": "Version"}))
    return out


def test_sampling_caps_each_api_by_whole_resources() -> None:
    tools = corpus()
    sampled = sample_per_api(tools, cap=5, seed=0)
    per_api: dict[str, int] = {}
    for t in sampled:
        per_api[t.api] = per_api.get(t.api, 0) + 1
    assert per_api["huge"] == 5 and all(v <= 5 for v in per_api.values())
    assert sum(per_api.values()) == len(sampled)
    assert [t.id for t in sampled] == [t.id for t in sample_per_api(list(reversed(tools)), cap=5, seed=0)]
    assert [t.id for t in sampled] != [t.id for t in sample_per_api(tools, cap=5, seed=1)]


def test_similarity_edges_threshold_and_k() -> None:
    v = np.array([[1, 0], [0.99, 0.141], [0, 1], [0.6, 0.8]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    edges = similarity_edges(v, threshold=0.9, k=3, block=2)  # blocks smaller than the matrix
    assert [(a, b) for a, b, _ in edges] == [(0, 1)]
    edges = similarity_edges(v, threshold=0.5, k=1)
    # each row keeps only its nearest neighbour: 0-1 (cos 0.99), 1-0, 2-3 (0.8) and 3-2 (0.8 beats 3-1 at 0.71)
    assert [(a, b) for a, b, _ in edges] == [(0, 1), (2, 3)]
    assert [round(s, 2) for _, _, s in edges] == [0.99, 0.8]


def test_communities_deterministic_and_topical() -> None:
    cfg = GraphConfig(cap_per_api=6, threshold=0.3, min_size=3, max_size=8, embedder="tfidf", seed=0)
    first, figures = build_domains(corpus(), cfg)
    again, _ = build_domains(corpus(), cfg)
    assert [[t.id for t in d] for d in first] == [[t.id for t in d] for d in again]
    assert figures["tools_sampled"] == sum(len(d) for d in first) == 24 + 6
    assert all(len(d) <= 8 for d in first)
    # weather and music tools never share a domain
    for d in first:
        topics = {t.api.rstrip("0123456789") for t in d} - {"huge"}
        assert len(topics) <= 1, [t.id for t in d]


def test_merge_tiny_gives_tools_to_their_api_and_keeps_sizes() -> None:
    tools = [tool("a", f"x{i}", {}) for i in range(6)] + [tool("b", f"y{i}", {}) for i in range(3)]
    cfg = GraphConfig(min_size=3, max_size=5)
    # a 4-tool community of api a, a single stray a tool, and b's 3 tools split into 2 + 1
    parts = merge_tiny([[0, 1, 2, 3], [4], [6, 7], [8], [5]], tools, cfg)
    assert sorted(parts) == [[0, 1, 2, 3, 4], [5, 6, 7, 8]]
