"""Task sampling: the tool dependency graph of a domain, executed walks over it, user facts and goals."""

from envdsl.tasks.graph import DomainIndex, build_tool_graph, graph_summary
from envdsl.tasks.provenance import provenance_problems
from envdsl.tasks.sampler import Rejected, SampleConfig, TaskSampler

__all__ = ["DomainIndex", "Rejected", "SampleConfig", "TaskSampler", "build_tool_graph", "graph_summary",
           "provenance_problems"]
