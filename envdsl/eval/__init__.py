"""Evaluation: pass^k per domain over repeated trials of each task."""

from envdsl.eval.passk import pass_hat_k, passk_report, render_table

__all__ = ["pass_hat_k", "passk_report", "render_table"]
