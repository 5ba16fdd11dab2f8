"""The verifiers plugin module of envdsl: `vf.load_taskset(EnvdslTasksetConfig(id="envdsl-verifiers", ...))`.

verifiers 0.4 resolves a taskset id to a top-level module (`envdsl-verifiers` -> `envdsl_verifiers`)
and takes the one Taskset subclass in its `__all__`; the code lives in envdsl.integrations.verifiers.
"""

from envdsl.integrations.verifiers import (
    EnvdslData,
    EnvdslState,
    EnvdslTask,
    EnvdslTaskset,
    EnvdslTasksetConfig,
    EnvdslToolset,
    EnvdslToolsetConfig,
)

__all__ = ["EnvdslData", "EnvdslState", "EnvdslTask", "EnvdslTaskset", "EnvdslTasksetConfig", "EnvdslToolset",
           "EnvdslToolsetConfig"]
