"""How many nodes and processes per node a run has, when a launcher (torchrun, srun) started it.

Lightning's DDP joins the processes a launcher starts on every node; the trainer's ``num_nodes``
and ``devices`` must then match the launcher's world. Left at their defaults, they are read from
the launcher's environment, so the same config runs on one machine or many. ``num_nodes`` above 1
without a launcher would wait forever for nodes that never come: that stops in one line.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, MutableMapping, Optional

from nie.core.errors import ConfigError

TORCHRUN = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
SLURM = ("SLURM_NTASKS", "SLURM_NNODES", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID")


def _int(env: Mapping[str, str], key: str) -> Optional[int]:
    value = env.get(key, "")
    return int(value) if value.isdigit() else None


def launcher_world(env: Mapping[str, str]) -> Optional[tuple[int, int, str]]:
    """(nodes, processes per node, launcher) from the environment; None outside a launcher."""
    world, local = _int(env, "WORLD_SIZE"), _int(env, "LOCAL_WORLD_SIZE")
    if all(key in env for key in TORCHRUN) and world and local:
        return max(1, world // local), local, "torchrun"
    tasks, nodes = _int(env, "SLURM_NTASKS"), _int(env, "SLURM_NNODES")
    if all(key in env for key in SLURM) and tasks and nodes:
        return nodes, max(1, tasks // nodes), "srun"
    return None


def fill_nodes_from_launcher(trainer: MutableMapping[str, Any], env: Mapping[str, str] = os.environ) -> None:
    """Set ``trainer.num_nodes``/``devices`` from the launcher where the config leaves the defaults
    (1 and ``auto``); refuse ``num_nodes`` > 1 without a launcher."""
    found = launcher_world(env)
    num_nodes = trainer.get("num_nodes") or 1
    if found is None:
        if num_nodes > 1:
            raise ConfigError(
                f"trainer.num_nodes: {num_nodes} needs one process per node started by a launcher, but none is "
                f"set: torchrun sets {', '.join(TORCHRUN)}; srun sets {', '.join(SLURM)} (docs/scaling.md)"
            )
        return
    nodes, per_node, _ = found
    if num_nodes == 1 and nodes > 1:
        trainer["num_nodes"] = nodes
    if trainer.get("devices") in (None, "auto") and per_node > 1:
        trainer["devices"] = per_node
