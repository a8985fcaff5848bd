"""DGL is loaded only by the code that uses it, and seeded when it is: power runs never load it, and a
graph run seeds it on its first import exactly as if it had been loaded with the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.power_data import write_power_config

POWER_FIT = """
import sys
sys.path.insert(0, sys.argv[1])
from datamodules import PowerDataModule
from nie.forecasting import PowerForecastTask
from nie.core.seed import seed_everything
assert 'dgl' not in sys.modules, 'importing the power datamodule and task loaded DGL'
seed_everything(0)
from train import main
main(['fit', '--config', sys.argv[2], '--trainer.max_epochs', '1'])
assert 'dgl' not in sys.modules, 'a power fit loaded DGL'
print('no dgl')
"""


def test_a_power_fit_never_loads_dgl(workdir: Path) -> None:
    """DGL installed and importable, yet a fresh process that fits the power model never imports it."""
    config = write_power_config(workdir / "data")
    done = subprocess.run(
        [sys.executable, "-c", POWER_FIT, str(ROOT), str(config)], capture_output=True, text=True, cwd=workdir
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no dgl" in done.stdout
    assert any(Path("runs/lstm/series").glob("lr0.005/epoch=*.ckpt"))


DGL_DRAWS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from nie.core.seed import seed_everything
eager = sys.argv[2] == 'eager'
if eager:
    import dgl
seed_everything(7)
assert ('dgl' in sys.modules) == eager
from nie.importance.kernels import dgl_importable
assert dgl_importable()  # the graph code's first import of DGL
import dgl
print(json.dumps(dgl.random.choice(1000, 20, replace=True).tolist()))  # DGL's generator, on this thread
"""


def test_dgl_seeded_on_first_import_draws_as_if_seeded_with_the_others() -> None:
    """Same seed, same DGL draws, whether DGL was loaded before ``seed_everything`` or first by the graph code."""

    assert _draws("lazy") == _draws("eager")


def test_dgl_draws_on_the_calling_thread_do_not_depend_on_the_thread_count() -> None:
    """DGL numbers its threads' generators in the order threads first touch one; seeding makes the calling
    thread number 0 whatever the team size or the scheduling, so its draws match a one-thread process."""
    assert _draws("lazy", threads=3) == _draws("lazy", threads=1)


def _draws(order: str, threads: int | None = None) -> list[int]:
    env = dict(os.environ) if threads is None else {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", DGL_DRAWS, str(ROOT), order], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
