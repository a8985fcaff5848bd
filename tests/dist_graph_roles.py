"""The processes of a distributed graph run on this machine: ``server`` serves one partition (DGL's
server, configured by the ``DGL_*`` variables the test sets, as DGL's launcher would), ``trainer
<config> <metrics.json>`` fits and tests a config through ``train.py`` (one connection to the servers
per trainer process, which stop when every trainer has exited); under ``torch.distributed.run`` each
trainer process is one of Lightning's DDP ranks, as under DGL's launcher."""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    if argv[0] == "server":
        import dgl

        dgl.distributed.initialize(os.environ["DGL_IP_CONFIG"])  # serves until its clients exit
        return
    from train import main as train

    config, out = argv[1], argv[2]
    train(["fit", "--config", config])
    train(["test", "--config", config, "--ckpt_path", "best", "--out", out])


if __name__ == "__main__":
    main(sys.argv[1:])
