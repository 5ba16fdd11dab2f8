"""Kept conversations as JSONL shards that `datasets.load_dataset("json", ...)` and TRL read.

Each row: messages (OpenAI format, every message with the same keys so that Arrow infers one
schema), tools (the tool schemas as a JSON string: schemas differ between domains, and one
column of strings keeps the shards loadable together), domain, task_id, trial. A manifest.json
lists counts and each shard's sha256. Every file is written atomically; rows are sorted, so the
same conversations give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from envdsl.tasks.io import dumps_jsonl, write_atomic, write_json

MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


def training_row(record: dict[str, Any]) -> dict[str, Any]:
    messages = [{k: m.get(k) for k in MESSAGE_KEYS} for m in record["messages"]]
    for m in messages:
        if m["content"] is None:
            m["content"] = ""
        if not m["tool_calls"]:
            m["tool_calls"] = None
    return {"messages": messages, "tools": json.dumps(record["tools"], ensure_ascii=False, sort_keys=True),
            "domain": record["domain"], "task_id": record["task_id"], "trial": record.get("trial", 0)}


def export_dataset(records: list[dict[str, Any]], out_dir: str | Path, *, shard_size: int = 2000,
                   summary: dict[str, Any] | None = None) -> dict[str, Any]:
    out = Path(out_dir)
    rows = sorted((training_row(r) for r in records), key=lambda r: (r["domain"], r["task_id"], r["trial"]))
    files = []
    for n, start in enumerate(range(0, len(rows), shard_size)):
        text = dumps_jsonl(rows[start:start + shard_size])
        name = f"shard-{n:05d}.jsonl"
        write_atomic(out / name, text)
        data = text.encode("utf-8")
        files.append({"path": name, "rows": len(rows[start:start + shard_size]), "bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    for stale in sorted(out.glob("shard-*.jsonl")):
        if stale.name not in {f["path"] for f in files}:
            stale.unlink()  # a rerun with fewer rows must not leave old shards behind
    by_domain: dict[str, int] = {}
    for r in rows:
        by_domain[r["domain"]] = by_domain.get(r["domain"], 0) + 1
    manifest = {"format": "openai-messages-jsonl", "rows": len(rows), "by_domain": dict(sorted(by_domain.items())),
                "files": files, "filters": summary or {}}
    write_json(out / "manifest.json", manifest)
    return manifest
