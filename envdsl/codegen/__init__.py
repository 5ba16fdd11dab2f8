"""Backends: IR -> Python package, OpenAI tool schemas, other exports. They read only the IR."""
