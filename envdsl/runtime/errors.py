"""Errors a tool body raises on purpose. Anything else escaping a body is a bug in the tool."""


class ToolError(Exception):
    """A failure the spec chose (require, fail, a lookup with ?? fail): the agent sees its message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
