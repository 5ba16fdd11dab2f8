"""Simulated conversations (agent x user x environment), the filters on them and the dataset export."""

from envdsl.rollout.conversation import run_conversation, system_prompt
from envdsl.rollout.filters import FilterConfig, judge
from envdsl.rollout.runner import RolloutConfig, run_rollouts

__all__ = ["FilterConfig", "RolloutConfig", "judge", "run_conversation", "run_rollouts", "system_prompt"]
