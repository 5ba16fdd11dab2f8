"""Property-based validation of compiled environments: the gate every environment passes
before tasks or trajectories are made from it (`envdsl test`).

Everything is derived from the domain's IR and published schemas; nothing is written per domain.
"""

from envdsl.proptest.gate import GateReport, run_gate
from envdsl.proptest.report import PROPERTIES, Failure
from envdsl.proptest.runner import Options, gate_domain

__all__ = ["PROPERTIES", "Failure", "GateReport", "Options", "gate_domain", "run_gate"]
