"""The run journal: one JSON line per finished domain, appended with a single write.

A killed run leaves at most a torn last line, which `load` ignores; that domain is simply done
again. A domain is finished when its line is in the journal, never before: its files are written
first, so a rerun that redoes it overwrites them instead of duplicating anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, dict[str, Any]]:
        done: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return done
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:  # a line torn by a kill
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("domain"), str):
                    done[rec["domain"]] = rec
        return done

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size and not self._ends_with_newline():
                data = b"\n" + data  # after a torn line: start a fresh one
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
