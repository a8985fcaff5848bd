"""Seconds per training epoch and peak memory of each NIE network on a knowledge graph, per kernel backend.

    python bench/nie_epoch.py --root ../shared/data/fb15k [--epochs 3] [--models geni gat rgcn rgtn]
    python bench/nie_epoch.py --modes full-batch --backends dgl torch   # the kernel table (ratio torch / dgl)
    python bench/nie_epoch.py --device cuda --backends torch            # on a GPU without a CUDA build of DGL
    python bench/nie_epoch.py --profile rgtn     # torch.profiler table of one full-batch step
    python bench/nie_epoch.py --baseline ../before  # each row also on another checkout: after / before
    python bench/nie_epoch.py --models geni --models-together 5   # does training 5 folds as one batch pay?

``pregat`` is one epoch of LICAP pre-training (PreGAT forward, both contrastive losses, Adam
step; full-batch only). ``easing`` is one EASING epoch with the reference's schedule: both members' training passes and
5 stochastic pseudo-label passes of each (``easing-p2``: 2 passes, the CPU budget of
``configs/fb15k/easing.yaml``). ``rgcn-dglnn`` is the same RGCN built from ``dgl.nn.RelGraphConv``, the reason
``nie.importance.RGCN`` has its own layer. Each (model, mode) runs in a fresh subprocess so its peak RSS
is its own. Full-batch: one optimiser step on all training nodes per epoch. Sampled: batches of --batch-size training
nodes with --fanouts neighbours per layer. Features come from the on-disk cache (built on
first use; that one-off cost is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from contextlib import nullcontext

NETWORKS = {
    "geni": "GENI",
    "gat": "GAT",
    "rgcn": "RGCN",
    "rgtn": "RGTN",
    "easing": "EASING",
    "easing-p2": "EASING",
    "rgcn-dglnn": None,
    "pregat": None,
}
LAYERS = {"geni": 3}  # as in configs/fb15k/<model>.yaml; the others have 2
HEADS = {"geni": 4, "gat": 8, "rgtn": 8}  # as in configs/fb15k/<model>.yaml
OPTIONS = {"easing": {"pseudo_passes": 5}, "easing-p2": {"pseudo_passes": 2}}  # reference schedule; CPU budget
FULL_BATCH_ONLY = ("pregat", "easing", "easing-p2")
SEMANTIC = ("rgtn", "easing", "easing-p2")


def dglnn_rgcn(spec, num_layers: int = 2, hidden: int = 32, num_bases: int = 10):
    """The same RGCN with dgl.nn.RelGraphConv layers, to compare with nie.importance.RGCN."""
    import torch.nn.functional as F
    from dgl.nn.pytorch import RelGraphConv
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [spec.in_dim] + [hidden] * num_layers
            self.layers = nn.ModuleList(
                RelGraphConv(
                    dims[i], dims[i + 1], spec.num_relations, "basis", num_bases, activation=F.relu, self_loop=True
                )
                for i in range(num_layers)
            )
            self.head = nn.Linear(hidden, 1)

        def forward(self, batch):
            h = batch.x
            for layer, graph in zip(self.layers, batch.with_graphs(num_layers)):
                h = layer(graph.dgl(), h, graph.rel)
            return self.head(h).squeeze(-1)

    return Net()


def licap_step(dm):
    """LICAP pre-training as a network-like callable plus its loss (the bench's ``pregat`` row)."""
    import torch

    from nie.importance.licap import LICAP
    from nie.importance.licap.bins import top_bins
    from nie.importance.models.pregat import PreGAT

    ids, labels = dm.training_labels()
    licap, bins = LICAP(), top_bins(ids, labels, generator=torch.Generator().manual_seed(0))
    encoder = PreGAT(dm.spec.in_dim, dm.spec.num_relations)
    return encoder, lambda batch: licap.loss(encoder(batch.graphs[0], batch.x), bins)


def network_and_loss(dm, model: str, num_layers: int, models_together: int):
    """Network ``model`` on the data's spec and its training loss on a batch."""
    import torch.nn.functional as F

    import nie.importance
    from nie.importance.task import split_outputs

    if model == "pregat":
        return licap_step(dm)
    name = NETWORKS[model]
    build = dglnn_rgcn if name is None else getattr(nie.importance, name)
    options = dict(OPTIONS.get(model, {}))
    if models_together > 1:  # k models' message passing as one network with k times the heads
        options["heads"] = HEADS[model] * models_together
    net = build(dm.spec, num_layers=num_layers, **options)

    def step_loss(batch):
        if hasattr(net, "training_loss"):
            return net.training_loss(batch)["loss"]
        main, _ = split_outputs(net(batch))
        return F.mse_loss(main[batch.target_index], batch.labels)

    return net, step_loss


def epoch_seconds(net, step_loss, dm, sampled: bool, epochs: int, device, profile: bool) -> list[float]:
    """Seconds of each of ``epochs`` + 1 training epochs (the first warms up allocators); with ``profile``,
    one profiled epoch whose table goes to stderr."""
    import torch

    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    # each step moves the loader's batch as Lightning does (the shared full graph only once per device)
    batches = list(dm.train_dataloader()) if not sampled else None
    times = []
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as profiler

        epochs = 1
    for epoch in range(epochs + 1):  # the first epoch warms up allocators and is not counted
        start = time.perf_counter()
        with profiler(activities=[ProfilerActivity.CPU]) if profile and epoch == 1 else nullcontext() as prof:
            for batch in batches or dm.train_dataloader():
                loss = step_loss(dm.transfer_batch_to_device(batch, device, 0))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    if profile and prof is not None:
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15), file=sys.stderr)
    return times


def measure(
    root: str,
    model: str,
    sampled: bool,
    epochs: int,
    batch_size: int,
    fanouts: list[int],
    profile: bool = False,
    backend: str = "dgl",
    device: str = "cpu",
    models_together: int = 1,
) -> dict:
    import torch

    import nie.importance
    from datamodules import KnowledgeGraphDataModule

    torch.manual_seed(0)
    fanouts = [fanouts[0]] * LAYERS.get(model, len(fanouts))
    extra = dict(batch_size=batch_size, fanouts=fanouts) if sampled else {}
    semantic = ["semantic"] if model in SEMANTIC else None
    dm = KnowledgeGraphDataModule(
        root=root, features=["structural"], semantic_features=semantic, backend=backend, **extra
    )
    dm.setup()
    net, step_loss = network_and_loss(dm, model, len(fanouts), models_together)
    times = epoch_seconds(net, step_loss, dm, sampled, epochs, torch.device(device), profile)
    epochs = len(times) - 1
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    on_gpu = torch.device(device).type == "cuda"
    gpu_mib = torch.cuda.max_memory_allocated(torch.device(device)) / 2**20 if on_gpu else 0
    return {
        "model": model,
        "mode": "sampled" if sampled else "full-batch",
        "backend": backend,
        "seconds_per_epoch": sum(times[1:]) / epochs,
        "peak_rss_mib": round(peak_mib),
        "peak_gpu_mib": round(gpu_mib),
        "package": os.path.dirname(os.path.dirname(os.path.dirname(nie.importance.__file__))),  # which checkout
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data/fb15k")
    parser.add_argument("--models", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--fanouts", type=int, nargs="+", default=[10, 10])
    parser.add_argument("--modes", nargs="+", default=["full-batch", "sampled"], choices=["full-batch", "sampled"])
    parser.add_argument("--backends", nargs="+", default=["dgl"], choices=["dgl", "torch"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "MODE", "BACKEND"), help=argparse.SUPPRESS)
    parser.add_argument("--profile", metavar="MODEL", choices=list(NETWORKS), help="profile one full-batch step")
    parser.add_argument(
        "--models-together",
        type=int,
        default=1,
        help="k: build geni/gat/rgtn with k times the heads, the kernel calls of k folds trained as one batch",
    )
    parser.add_argument(
        "--baseline",
        metavar="CHECKOUT",
        help="another checkout of the project (e.g. a git worktree of an older commit): every row also runs "
        "on its packages, and the table gives this checkout's time over its",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.profile:
        measure(args.root, args.profile, False, 1, args.batch_size, args.fanouts, True, args.backends[0], args.device)
        return
    if args.one:
        print(
            json.dumps(
                measure(
                    args.root,
                    args.one[0],
                    args.one[1] == "sampled",
                    args.epochs,
                    args.batch_size,
                    args.fanouts,
                    backend=args.one[2],
                    models_together=args.models_together,
                    device=args.device,
                )
            )
        )
        return
    print_table(args)


def print_table(args: argparse.Namespace) -> None:
    """Every (model, mode, backend) row, each measured in a fresh process, as a Markdown table."""
    import torch

    print(
        f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, device {args.device}"
    )
    header = "| model | mode | backend | s / epoch | × first backend | peak RSS (MiB) | peak GPU (MiB) |"
    if args.baseline:
        header += " baseline s / epoch | this / baseline | baseline peak RSS (MiB) |"
    print(header + "\n" + "|---" * header.count(" | ") + "|---|")
    for model in args.models:
        for mode in args.modes if model not in FULL_BATCH_ONLY else ["full-batch"]:
            first = None
            for backend in args.backends if mode == "full-batch" and model != "rgcn-dglnn" else ["dgl"]:
                row = one_row(args, model, mode, backend)
                first = first or row["seconds_per_epoch"]
                line = (
                    f"| {model} | {mode} | {backend} | {row['seconds_per_epoch']:.3f} | "
                    f"{row['seconds_per_epoch'] / first:.2f} | {row['peak_rss_mib']} | {row['peak_gpu_mib']} |"
                )
                if args.baseline:
                    before = one_row(args, model, mode, backend, args.baseline)
                    assert os.path.samefile(before["package"], args.baseline), before["package"]
                    line += (
                        f" {before['seconds_per_epoch']:.3f} | "
                        f"{row['seconds_per_epoch'] / before['seconds_per_epoch']:.2f} | {before['peak_rss_mib']} |"
                    )
                print(line, flush=True)


def one_row(args: argparse.Namespace, model: str, mode: str, backend: str, checkout: str | None = None) -> dict:
    """One (model, mode, backend) measured in a fresh process, on ``checkout``'s packages if given."""
    cmd = [
        sys.executable,
        __file__,
        "--root",
        os.path.abspath(args.root),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--fanouts",
        *map(str, args.fanouts),
        "--device",
        args.device,
        "--models-together",
        str(args.models_together),
        "--one",
        model,
        mode,
        backend,
    ]
    env = dict(os.environ)
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(checkout), env.get("PYTHONPATH", "")])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        where = checkout or "this checkout"
        sys.exit(f"error: {model} {mode} {backend} on {where} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
