"""``python -m trainers.launch --nproc-per-node N [trainer args]``: one trainer per GPU.

Vertex AI starts one process per machine. A machine with N GPUs needs N trainer
processes, so this launcher reads the machine's place in the job from
``CLUSTER_SPEC`` (node rank, node count, primary's address) and replaces itself
with ``torchrun`` over ``python -m trainers``. torchrun's per-process variables
(RANK, LOCAL_RANK, WORLD_SIZE) then win in the trainer's context detection.
SageMaker (its toolkit runs torchrun) and Azure ML (PyTorchDistribution) start
per-GPU processes themselves and do not use this.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from trainers.context import vertex_node
from trainers.errors import EXIT_CONFIG, ConfigError


def torchrun_argv(
    nproc_per_node: int, env: Mapping[str, str], trainer_args: Sequence[str]
) -> list[str]:
    """The torchrun command line for this node."""
    node = vertex_node(env)
    argv = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc_per_node}"]
    if node.world_size <= 1:
        argv.append("--standalone")
    else:
        argv += [
            f"--nnodes={node.world_size}",
            f"--node-rank={node.node_rank}",
            f"--master-addr={node.master_addr}",
            f"--master-port={node.master_port}",
        ]
    return [*argv, "-m", "trainers", *trainer_args]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.launch",
        description="Start one trainer process per GPU on this machine (Vertex AI).",
    )
    parser.add_argument("--nproc-per-node", type=int, required=True, metavar="N")
    known, rest = parser.parse_known_args(argv)
    if known.nproc_per_node < 1:
        parser.error("--nproc-per-node must be >= 1")
    try:
        command = torchrun_argv(known.nproc_per_node, os.environ, rest)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
