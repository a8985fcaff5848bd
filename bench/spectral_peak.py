"""Seconds and peak memory of the spectral structural embedding alone, this checkout's against a
git revision's ``datamodules/kg/spectral.py``, and whether the two give the same embedding.

    OMP_NUM_THREADS=1 python bench/spectral_peak.py --sizes 100000 1000000 --against 99ae190~1

Each (size, implementation) runs in a fresh process on the same generated graph (``--degree`` random
edges per node, heavy-tailed destinations, seeded); peak RSS is the process's maximum minus its RSS
once the graph is built, so it counts what the embedding itself holds at its peak (dimension 64).
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


def measure(module_path: Path, nodes: int, degree: int, out: Path) -> dict[str, float]:
    """One process's run: the embedding's seconds and peak RSS above the graph (MiB)."""
    spec = importlib.util.spec_from_file_location("spectral_under_test", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    src = rng.integers(0, nodes, nodes * degree)
    dst = (rng.zipf(1.8, nodes * degree) - 1) % nodes
    before = Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]
    start = time.perf_counter()
    embedding = module.spectral_embeddings(src, dst, nodes, 64, 0)
    seconds = time.perf_counter() - start
    np.save(out, embedding)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_above_graph_mib": (peak - int(before)) / 1024}


def run(module_path: Path, nodes: int, degree: int, out: Path) -> dict[str, float]:
    argv = [sys.executable, __file__, "--measure", str(module_path), "--sizes", str(nodes), "--degree", str(degree)]
    done = subprocess.run([*argv, "--out", str(out)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--against", help="a git revision whose spectral.py to compare with")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.sizes[0], args.degree, args.out)))
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
        for nodes in args.sizes:
            embeddings: list[np.ndarray] = []
            for name, path in modules.items():
                result = run(path, nodes, args.degree, folder / f"{len(embeddings)}.npy")
                embeddings.append(np.load(folder / f"{len(embeddings)}.npy"))
                seconds, peak = result["seconds"], result["peak_above_graph_mib"]
                print(f"{nodes:>10,} nodes  {name}: {seconds:.1f} s, peak {peak:.0f} MiB above the graph", flush=True)
            if len(embeddings) == 2:
                print(f"{nodes:>10,} nodes  largest difference: {np.abs(embeddings[0] - embeddings[1]).max():.1e}")


if __name__ == "__main__":
    main()
