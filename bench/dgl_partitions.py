"""Does DGL's distributed sampler give consistent blocks across partitions on this machine?

    python bench/dgl_partitions.py [--nodes 300] [--edges 2600]

For 1 and 2 partitions of a random graph (DGL's own ``partition_graph``), starts one DGL server per
partition on 127.0.0.1 and one trainer, samples two layers of full neighbourhoods around 50 seeds with
``sample_neighbors`` + ``to_block`` (what ``DistNodeDataLoader`` does), and reports per layer whether
every edge's destination lies inside its block (a block that fails this aborts DGL's CSR conversion).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import torch


def sample_layers(folder: Path, layers: int = 2) -> list[str]:
    """The trainer: two layers around 50 seeds, each layer's verdict."""
    import dgl

    dgl.distributed.initialize(str(folder / "ip_config.txt"))
    g = dgl.distributed.DistGraph("random", part_config=str(folder / "random.json"))
    seeds, verdicts = torch.arange(50), []
    for layer in range(layers):
        block = dgl.to_block(dgl.distributed.sample_neighbors(g, seeds, -1), seeds)
        dst = block.edges()[1]
        inside = int(dst.max()) < block.num_dst_nodes()
        verdicts.append(
            f"layer {layer + 1}: {block.num_edges()} edges, destinations {'inside' if inside else 'OUTSIDE'} "
            f"the block (max id {int(dst.max())}, {block.num_dst_nodes()} destination nodes)"
        )
        seeds = block.srcdata[dgl.NID]
    dgl.distributed.exit_client()
    return verdicts


def run(parts: int, nodes: int, edges: int) -> None:
    import dgl

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        torch.manual_seed(0)
        g = dgl.graph((torch.randint(0, nodes, (edges,)), torch.randint(0, nodes, (edges,))), num_nodes=nodes)
        dgl.distributed.partition_graph(g, "random", parts, str(folder), part_method="random")
        ports = []
        for _ in range(parts):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        (folder / "ip_config.txt").write_text("".join(f"127.0.0.1 {p}\n" for p in ports))
        env = {**os.environ, "DGL_DIST_MODE": "distributed", "DGL_NUM_SERVER": "1", "DGL_GRAPH_FORMAT": "csc,coo"}
        servers = [
            subprocess.Popen(
                [sys.executable, __file__, "--serve", str(folder)],
                env={
                    **env,
                    "DGL_ROLE": "server",
                    "DGL_SERVER_ID": str(i),
                    "DGL_NUM_CLIENT": "1",
                    "DGL_CONF_PATH": str(folder / "random.json"),
                    "DGL_IP_CONFIG": str(folder / "ip_config.txt"),
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(parts)
        ]
        trainer = subprocess.run(
            [sys.executable, __file__, "--train", str(folder)],
            env={**env, "DGL_ROLE": "client"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        for server in servers:
            server.kill()
        lines = [line for line in trainer.stdout.splitlines() if line.startswith("layer")]
        print(f"{parts} partition(s): " + "; ".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--edges", type=int, default=2600)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--train", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import dgl

        dgl.distributed.initialize(os.environ["DGL_IP_CONFIG"])
    elif args.train:
        print("\n".join(sample_layers(Path(args.train))), flush=True)
    else:
        for parts in (1, 2):
            run(parts, args.nodes, args.edges)


if __name__ == "__main__":
    main()
