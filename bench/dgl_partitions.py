"""Why two DGL partitions served from one host break DGL 2.1's distributed sampler, with DGL alone.

    python bench/dgl_partitions.py [--nodes 300] [--edges 2600]

Partitions a random graph (DGL's own ``partition_graph``, ``return_mapping=True``; node feature ``x`` =
the node's original id), starts one DGL server per partition on 127.0.0.x as DGL's launcher would, and
one trainer that samples two layers of full neighbourhoods around 50 seeds (``sample_neighbors`` +
``to_block``, what ``DistNodeDataLoader`` does). Per setting it reports whether each layer's frontier
holds exactly the seeds' in-edges of the original graph, whether every destination lies inside its
block (one that does not aborts DGL's CSR conversion: ``Check failed: thread_prefixsum[num_threads] ==
NNZ``), and whether every node's ``x`` pulled through the servers is its original id. Settings:

* ``1 partition``: one server.
* ``2 partitions, one /dev/shm``: both servers on one host. DGL 2.1 names a partition's shared memory
  after the graph (its structure) and the feature (``node~_N~x-kvdata-``), not the partition, so the
  second server's copy overwrites the first's: wrong features, wrong frontiers, or an abort (which of
  them varies with the servers' race).
* ``2 partitions, own /dev/shm``: the second server in its own user and mount namespace (``unshare``)
  with a private ``/dev/shm``, as on a second machine: everything right.
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

OWN_SHM = [
    "unshare",
    "--user",
    "--map-root-user",
    "--mount",
    "sh",
    "-c",
    'mount -t tmpfs shm /dev/shm && exec "$0" "$@"',
]


def layer_verdict(g: object, seeds: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, old_of: torch.Tensor) -> str:
    """One layer: the frontier against the original graph's in-edges of the seeds (in new ids)."""
    import dgl

    frontier = dgl.distributed.sample_neighbors(g, seeds, -1)
    s, d = frontier.edges()
    got = sorted(zip(old_of[s].tolist(), old_of[d].tolist()))
    wanted = sorted(
        zip(*(t.tolist() for t in (src[torch.isin(dst, old_of[seeds])], dst[torch.isin(dst, old_of[seeds])])))
    )
    block = dgl.to_block(frontier, seeds)
    inside = int(block.edges()[1].max()) < block.num_dst_nodes()
    return (
        f"{frontier.num_edges()} edges ({'the' if got == wanted else 'NOT the'} seeds' in-edges), destinations "
        f"{'inside' if inside else 'OUTSIDE'} the block"
    )


def trainer(folder: Path) -> None:
    """Every node's feature, then two layers around 50 seeds."""
    import dgl

    dgl.distributed.initialize(str(folder / "ip_config.txt"))
    g = dgl.distributed.DistGraph("random", part_config=str(folder / "random.json"))
    original = torch.load(folder / "original.pt")
    old_of = original["node_map"]  # new id -> original id
    x = g.ndata["x"][torch.arange(g.num_nodes())]
    right = int((x.long() == old_of).sum())
    print(f"features: {right} of {g.num_nodes()} nodes' x right", flush=True)
    seeds = torch.arange(50)
    for layer in range(2):
        print(f"layer {layer + 1}: " + layer_verdict(g, seeds, original["src"], original["dst"], old_of), flush=True)
        seeds = dgl.to_block(dgl.distributed.sample_neighbors(g, seeds, -1), seeds).srcdata[dgl.NID]
    dgl.distributed.exit_client()


def partition(folder: Path, parts: int, nodes: int, edges: int) -> None:
    import dgl

    torch.manual_seed(0)
    dgl.seed(0)  # DGL's random partitioning draws from DGL's generator
    src, dst = torch.randint(0, nodes, (edges,)), torch.randint(0, nodes, (edges,))
    g = dgl.graph((src, dst), num_nodes=nodes)
    g.ndata["x"] = torch.arange(nodes).float()
    node_map, _ = dgl.distributed.partition_graph(
        g, "random", parts, str(folder), part_method="random", return_mapping=True
    )
    torch.save({"node_map": node_map, "src": src, "dst": dst}, folder / "original.pt")


def run(parts: int, own_shm: bool, nodes: int, edges: int) -> str:
    """One setting: servers started, the trainer's report."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        partition(folder, parts, nodes, edges)
        ports = []
        for _ in range(parts):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        ip_config = folder / "ip_config.txt"
        ip_config.write_text("".join(f"127.0.0.{i + 1} {p}\n" for i, p in enumerate(ports)))
        env = {**os.environ, "DGL_DIST_MODE": "distributed", "DGL_NUM_SERVER": "1", "DGL_GRAPH_FORMAT": "csc,coo"}
        server_env = {**env, "DGL_ROLE": "server", "DGL_NUM_CLIENT": "1", "DGL_IP_CONFIG": str(ip_config)}
        server_env["DGL_CONF_PATH"] = str(folder / "random.json")
        servers = [
            subprocess.Popen(
                [*(OWN_SHM if own_shm and i else []), sys.executable, __file__, "--serve"],
                env={**server_env, "DGL_SERVER_ID": str(i)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(parts)
        ]
        done = subprocess.run(
            [sys.executable, __file__, "--train", str(folder)],
            env={**env, "DGL_ROLE": "client"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        for server in servers:
            server.kill()
        lines = [line for line in done.stdout.splitlines() if line.startswith(("layer", "features"))]
        why = [line.strip() for line in done.stderr.splitlines() if "Error" in line or "Check failed" in line]
        aborted = "" if done.returncode == 0 else f"; trainer aborted (exit {done.returncode}: {why[-1:]})"
        return "; ".join(lines) + aborted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--edges", type=int, default=2600)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--train", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import dgl

        dgl.distributed.initialize(os.environ["DGL_IP_CONFIG"])
    elif args.train:
        trainer(Path(args.train))
    else:
        for label, parts, own_shm in [
            ("1 partition", 1, False),
            ("2 partitions, one /dev/shm", 2, False),
            ("2 partitions, own /dev/shm", 2, True),
        ]:
            print(f"{label}: {run(parts, own_shm, args.nodes, args.edges)}", flush=True)


if __name__ == "__main__":
    main()
