"""Where a value sits in a JSON text: 'users[\\'u1\\'].name' -> line and column.

Used only to point at errors in seed files, so it runs only when there is an error.
"""

from __future__ import annotations

import ast
import re
from typing import Any

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]")


def parse_path(path: str) -> list[Any]:
    """'users['u1'].orders[0]' -> ['users', 'u1', 'orders', 0]."""
    head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", path)
    if not head:
        return []
    steps: list[Any] = [head.group(0)]
    for m in _STEP.finditer(path, head.end()):
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append(ast.literal_eval(m.group(3)))  # a quoted key: literal_eval runs no code
    return steps


class _Scanner:
    def __init__(self, text: str):
        self.t = text
        self.i = 0

    def ws(self) -> None:
        while self.i < len(self.t) and self.t[self.i] in " \t\r\n":
            self.i += 1

    def string(self) -> str:
        start = self.i
        self.i += 1
        while self.t[self.i] != '"':
            self.i += 2 if self.t[self.i] == "\\" else 1
        self.i += 1
        import json

        return str(json.loads(self.t[start:self.i]))

    def skip_value(self) -> None:
        self.ws()
        c = self.t[self.i]
        if c == '"':
            self.string()
        elif c in "{[":
            close = "}" if c == "{" else "]"
            self.i += 1
            self.ws()
            if self.t[self.i] == close:
                self.i += 1
                return
            while True:
                self.ws()
                if c == "{":
                    self.string()
                    self.ws()
                    self.i += 1  # ':'
                self.skip_value()
                self.ws()
                sep = self.t[self.i]
                self.i += 1
                if sep == close:
                    return
        else:
            while self.i < len(self.t) and self.t[self.i] not in ",]} \t\r\n":
                self.i += 1

    def find(self, steps: list[Any]) -> int:
        """Offset of the value at steps (or of the deepest container reached)."""
        self.ws()
        for step in steps:
            c = self.t[self.i]
            if c == "{":
                self.i += 1
                found = False
                while True:
                    self.ws()
                    if self.t[self.i] == "}":
                        break
                    key_at = self.i
                    key = self.string()
                    self.ws()
                    self.i += 1
                    self.ws()
                    if key == str(step):
                        found = True
                        break
                    self.skip_value()
                    self.ws()
                    if self.t[self.i] == ",":
                        self.i += 1
                if not found:
                    return key_at if "key_at" in dir() else self.i
            elif c == "[" and isinstance(step, int):
                self.i += 1
                for _ in range(step):
                    self.skip_value()
                    self.ws()
                    self.i += 1  # ','
                self.ws()
            else:
                return self.i
        return self.i


def locate(text: str, path: str) -> tuple[int, int]:
    """1-based (line, column) of the value a path names; (1, 1) when it cannot be found."""
    try:
        offset = _Scanner(text).find(parse_path(path))
    except (IndexError, ValueError, SyntaxError):
        return (1, 1)
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return (line, col)
