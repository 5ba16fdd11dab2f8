"""Two-phase supervised fine-tuning on envdsl trajectories (AgentScaler, arXiv 2509.13311).

Phase 1 trains on the general domains, phase 2 on the vertical domains from the phase-1 weights, with the loss on
assistant tokens only. This package stands alone: it reads the exported trajectory JSONL and never imports envdsl.
Importing it is cheap; torch, transformers and TRL load only when training starts.
"""

__all__ = ["toolcall"]
