"""Adapters that put compiled envdsl domains into other people's training and serving loops.

- `envdsl.integrations.trl`: environment classes for TRL's GRPOTrainer (`environment_factory`) and a
  `datasets.Dataset` of prompts built from a task file (extra `trl`);
- `envdsl.integrations.verifiers`: a domain and its tasks as a verifiers ToolEnv with a rubric that
  scores the final state (extra `verifiers`);
- `envdsl.integrations.mcp_server`: `envdsl serve`, a domain's tools over the Model Context Protocol
  with explicit episodes (extra `mcp`).

All of them share `episodes` (start a task's initial state, record the agent's calls) and `scoring`
(the final state against the task's gold). Nothing here imports the compiler: callers hand in
Environment classes, loaded from generated packages (`load_environment_class`) or compiled from specs
by the CLI. Importing this package pulls in none of the optional libraries.
"""

from envdsl.integrations.episodes import Episode, agent_tools, tasks_by_domain
from envdsl.integrations.scoring import EXTRA_CHECKS, Score, score_episode

__all__ = ["EXTRA_CHECKS", "Episode", "Score", "agent_tools", "score_episode", "tasks_by_domain"]
