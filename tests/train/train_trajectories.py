"""A small, hand-written trajectory set in the rollout stage's export format (two domains, tool calls)."""

from __future__ import annotations

import json
from pathlib import Path

LIBRARY_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_books",
            "description": "Search the catalogue by title.",
            "parameters": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "borrow_book",
            "description": "Borrow a book for a member.",
            "parameters": {
                "type": "object",
                "properties": {"book_id": {"type": "integer"}, "member_id": {"type": "string"}},
                "required": ["book_id", "member_id"],
            },
        },
    },
]

RETAIL_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "description": "Look up an order.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
        },
    }
]


def _call(call_id: str, name: str, arguments: dict) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def library_conversation(index: int, title: str, member: str) -> dict:
    book_id = 100 + index
    return {
        "domain": "library",
        "task_id": f"library-{index}",
        "tools": json.dumps(LIBRARY_TOOLS),
        "messages": [
            {"role": "system", "content": "You are the library assistant."},
            {"role": "user", "content": f"Please borrow {title} for member {member}."},
            {"role": "assistant", "content": "", "tool_calls": [_call(f"c{index}a", "search_books", {"title": title})]},
            {"role": "tool", "tool_call_id": f"c{index}a", "name": "search_books", "content": json.dumps([{"book_id": book_id, "title": title}])},
            {"role": "assistant", "content": "Found it.", "tool_calls": [_call(f"c{index}b", "borrow_book", {"book_id": book_id, "member_id": member})]},
            {"role": "tool", "tool_call_id": f"c{index}b", "name": "borrow_book", "content": json.dumps({"ok": True})},
            {"role": "assistant", "content": f"{title} is now borrowed by {member}."},
        ],
        "meta": {"turns": 3},
    }


def retail_conversation(index: int, order_id: str) -> dict:
    return {
        "domain": "retail",
        "task_id": f"retail-{index}",
        "tools": json.dumps(RETAIL_TOOLS),
        "messages": [
            {"role": "system", "content": "You are the shop assistant."},
            {"role": "user", "content": f"Where is order {order_id}?"},
            {"role": "assistant", "content": "", "tool_calls": [_call(f"r{index}", "get_order", {"order_id": order_id})]},
            {"role": "tool", "tool_call_id": f"r{index}", "name": "get_order", "content": json.dumps({"status": "shipped"})},
            {"role": "assistant", "content": f"Order {order_id} has shipped."},
        ],
    }


def all_conversations() -> list[dict]:
    titles = ["Dune", "Emma", "Ulysses", "Beloved", "Hamlet", "Walden"]
    library = [library_conversation(i, title, f"M{i}") for i, title in enumerate(titles)]
    retail = [retail_conversation(i, f"A{i:03d}") for i in range(4)]
    return library + retail


def write_shards(directory: Path, conversations: list[dict] | None = None) -> Path:
    """Two shards plus a manifest, as the exporter lays them out."""
    conversations = conversations if conversations is not None else all_conversations()
    directory.mkdir(parents=True, exist_ok=True)
    half = len(conversations) // 2
    for shard, rows in enumerate([conversations[:half], conversations[half:]]):
        with open(directory / f"shard-{shard:05d}.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    (directory / "manifest.json").write_text(json.dumps({"shards": 2}), encoding="utf-8")
    return directory
