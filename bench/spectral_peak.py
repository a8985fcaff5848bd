"""Seconds and peak memory of the spectral structural embedding alone, this checkout's against a
git revision's ``datamodules/kg/spectral.py``, and whether the two give the same embedding.

    OMP_NUM_THREADS=1 python bench/spectral_peak.py --sizes 100000 1000000 --against 99ae190~1

Each (size, implementation) runs in a fresh process on the same generated graph (``--degree`` random
edges per node, heavy-tailed destinations, seeded); peak RSS is the process's maximum minus its RSS
once the graph is built, so it counts what the embedding itself holds at its peak (dimension 64).
``--root`` runs on a graph folder instead (e.g. FB15k, ``--root ../shared/data/fb15k``):

    OMP_NUM_THREADS=1 python bench/spectral_peak.py --root ../shared/data/fb15k --against 9b2769d
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def edges(nodes: int, degree: int, root: str | None) -> tuple[np.ndarray, np.ndarray, int]:
    """The generated graph's edges (or the graph folder's) and its node count."""
    if root is not None:
        sys.path.insert(0, str(ROOT))
        from datamodules.kg.io import load_graph

        graph = load_graph(root)
        return graph.src, graph.dst, graph.num_nodes
    rng = np.random.default_rng(0)
    return rng.integers(0, nodes, nodes * degree), (rng.zipf(1.8, nodes * degree) - 1) % nodes, nodes


def measure(module_path: Path, nodes: int, degree: int, out: Path, root: str | None = None) -> dict[str, float]:
    """One process's run: the embedding's seconds and peak RSS above the graph (MiB)."""
    spec = importlib.util.spec_from_file_location("spectral_under_test", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    src, dst, nodes = edges(nodes, degree, root)
    before = Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]
    start = time.perf_counter()
    embedding = module.spectral_embeddings(src, dst, nodes, 64, 0)
    seconds = time.perf_counter() - start
    np.save(out, embedding)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_above_graph_mib": (peak - int(before)) / 1024}


def run(module_path: Path, nodes: int, degree: int, out: Path, root: str | None) -> dict[str, float]:
    argv = [sys.executable, __file__, "--measure", str(module_path), "--sizes", str(nodes), "--degree", str(degree)]
    argv += ["--root", root] if root else []
    done = subprocess.run([*argv, "--out", str(out)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--root", help="a graph folder (RGTN layout) instead of generated graphs")
    parser.add_argument("--against", help="a git revision whose spectral.py to compare with")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.sizes[0], args.degree, args.out, args.root)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        modules = {"this checkout": ROOT / "datamodules" / "kg" / "spectral.py"}
        if args.against:
            old = subprocess.run(
                ["git", "show", f"{args.against}:datamodules/kg/spectral.py"], cwd=ROOT, capture_output=True, text=True
            )
            (folder / "against.py").write_text(old.stdout)
            modules[args.against] = folder / "against.py"
        for nodes in [0] if args.root else args.sizes:
            embeddings: list[np.ndarray] = []
            label = args.root or f"{nodes:>10,} nodes"
            for name, path in modules.items():
                result = run(path, nodes, args.degree, folder / f"{len(embeddings)}.npy", args.root)
                embeddings.append(np.load(folder / f"{len(embeddings)}.npy"))
                seconds, peak = result["seconds"], result["peak_above_graph_mib"]
                print(f"{label}  {name}: {seconds:.1f} s, peak {peak:.0f} MiB above the graph", flush=True)
            if len(embeddings) == 2:
                difference = np.abs(embeddings[0] - embeddings[1])
                print(f"{label}  largest difference: {difference.max():.1e}, mean {difference.mean():.1e}")


if __name__ == "__main__":
    main()
