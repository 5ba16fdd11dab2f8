"""Load trajectory shards and split them into the two training phases by domain.

Phase 1 ("general") gets every domain not named as vertical; phase 2 gets the vertical domains (AgentScaler's
general-then-vertical schedule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError

SHARD_PATTERNS = ("*.jsonl", "*.jsonl.gz")
# Columns the chat template needs; everything else (domain, task_id, metadata) is dropped before training.
TRAINING_COLUMNS = ["messages", "tools"]


def find_shards(train_dir: str | Path) -> list[str]:
    directory = Path(train_dir)
    if not directory.is_dir():
        raise ConfigError(f"data directory not found: {directory}")
    shards = sorted({str(path) for pattern in SHARD_PATTERNS for path in directory.rglob(pattern)})
    if not shards:
        raise ConfigError(f"no trajectory shards (*.jsonl, *.jsonl.gz) under {directory}")
    return shards


def load_trajectories(train_dir: str | Path):
    """All shards under `train_dir` as one `datasets.Dataset`, checked for the columns training relies on."""
    from datasets import load_dataset

    shards = find_shards(train_dir)
    try:
        dataset = load_dataset("json", data_files=shards, split="train")
    except Exception as exc:  # a malformed shard is a data problem, not a bug in this package
        raise ConfigError(f"could not read trajectories under {train_dir}: {' '.join(str(exc).split())}") from None
    missing = [column for column in ("messages", "domain") if column not in dataset.column_names]
    if missing:
        raise ConfigError(f"trajectories under {train_dir} lack required field(s): {', '.join(missing)}")
    if "tools" not in dataset.column_names:
        # Conversations without tools are valid; the template then renders no tool block.
        dataset = dataset.add_column("tools", ["[]"] * len(dataset))
    return dataset


@dataclass
class PhaseSplit:
    general: object  # datasets.Dataset, phase 1
    vertical: object  # datasets.Dataset, phase 2
    general_domains: dict[str, int]  # domain -> conversation count
    vertical_domains: dict[str, int]


def split_by_domain(dataset, vertical_domains: list[str]) -> PhaseSplit:
    domains = dataset["domain"]
    counts: dict[str, int] = {}
    for domain in domains:
        counts[domain] = counts.get(domain, 0) + 1

    absent = [domain for domain in vertical_domains if domain not in counts]
    if absent:
        raise ConfigError(
            f"vertical domain(s) {', '.join(absent)} not found in the data (domains present: {', '.join(sorted(counts))})"
        )
    vertical = set(vertical_domains)
    general_counts = {d: n for d, n in sorted(counts.items()) if d not in vertical}
    if not general_counts:
        raise ConfigError(
            f"every domain in the data is vertical ({', '.join(sorted(counts))}); phase 1 needs at least one general domain"
        )

    general_rows = [i for i, domain in enumerate(domains) if domain not in vertical]
    vertical_rows = [i for i, domain in enumerate(domains) if domain in vertical]
    columns = [c for c in TRAINING_COLUMNS if c in dataset.column_names]
    return PhaseSplit(
        general=dataset.select(general_rows).select_columns(columns),
        vertical=dataset.select(vertical_rows).select_columns(columns),
        general_domains=general_counts,
        vertical_domains={d: counts[d] for d in sorted(vertical)},
    )
