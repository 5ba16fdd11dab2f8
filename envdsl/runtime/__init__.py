"""What generated environments import: the store, validation, builtins and the Environment API.

This package imports nothing else of envdsl, so a compiled environment runs without the compiler.
"""

from envdsl.runtime.environment import Environment, Snapshot, ToolResult, ToolSpec
from envdsl.runtime.errors import ToolError
from envdsl.runtime.loader import load_environment
from envdsl.runtime.store import Db, clone

__all__ = ["Db", "Environment", "Snapshot", "ToolError", "ToolResult", "ToolSpec", "clone", "load_environment"]
