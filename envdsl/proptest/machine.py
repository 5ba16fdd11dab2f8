"""Drive an environment with drawn calls: one call on a drawn state, or a drawn sequence of calls.

Both are hypothesis test bodies taking `data` (st.data()); each call goes through
properties.checked_call, and a failure gets its reproduction attached here: the start state as
a diff from the state it was derived from, and every call made so far.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from envdsl.proptest.domain import Domain
from envdsl.proptest.properties import checked_call
from envdsl.proptest.report import PropertyFailure
from envdsl.proptest.strategies import StartState, draw_call_args, draw_start_state, pick
from envdsl.runtime.diff import state_diff


class Driver:
    """One environment per domain, reset to a drawn start state for every example."""

    def __init__(self, domain: Domain, max_calls: int = 5):
        self.domain = domain
        self.env = domain.new_env()
        self.max_calls = max_calls

    def _start(self, data: Any) -> tuple[StartState, dict[str, Any]]:
        """A drawn start state, loaded; returns it and its normalised form (what the calls see)."""
        start = draw_start_state(data.draw, self.domain)
        if start.untouched_seed:
            self.env.reset()  # undoes the last example's writes: cheap whatever the seed's size
        else:
            self.env.reset(state=start.state)
        return start, start.base if start.untouched_seed else self.env.state()

    @staticmethod
    def _attach(e: PropertyFailure, start: StartState, loaded: dict[str, Any], calls: list[dict[str, Any]]) -> None:
        e.start = start.origin
        e.start_diff = state_diff(start.base, loaded)
        e.calls = [dict(c) for c in calls]

    def one_call(self, tool: str) -> Any:
        def body(data: Any, skip: frozenset[str]) -> None:
            start, loaded = self._start(data)
            calls: list[dict[str, Any]] = []
            try:
                args = draw_call_args(data.draw, self.domain, tool, loaded)
                calls.append({"tool": tool, "args": args})
                checked_call(self.domain, self.env, tool, args, skip)
            except PropertyFailure as e:
                self._attach(e, start, loaded, calls)
                raise

        return body

    def sequence(self, tools: list[str] | None = None) -> Any:
        tools = tools or self.domain.tools

        def body(data: Any, skip: frozenset[str]) -> None:
            start, loaded = self._start(data)
            calls: list[dict[str, Any]] = []
            try:
                for _ in range(data.draw(st.integers(1, self.max_calls), label="length")):
                    tool = pick(data.draw, tools)
                    args = draw_call_args(data.draw, self.domain, tool, self.env.state())
                    calls.append({"tool": tool, "args": args})
                    checked_call(self.domain, self.env, tool, args, skip)
            except PropertyFailure as e:
                self._attach(e, start, loaded, calls)
                raise

        return body
