"""A graph too large for full-batch training is refused in one line, before it is loaded."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from datamodules.kg.memory import check_full_batch_fits, estimated_lines
from nie.core.errors import ConfigError
from tests.conftest import DEMO, TINY, run_train


def _triples(path: Path, lines: int) -> Path:
    rng = np.random.default_rng(0)
    text = "".join(f"{a}\t{r}\t{b}\n" for a, r, b in rng.integers(0, 100_000, size=(lines, 3)))
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["small.txt", "small.txt.gz"])
def test_a_small_file_is_counted_exactly(tmp_path: Path, name: str) -> None:
    assert estimated_lines(_triples(tmp_path / name, 1234)) == 1234


@pytest.mark.parametrize("name", ["large.txt", "large.txt.gz"])
def test_a_large_file_is_estimated_from_its_first_mebibyte(tmp_path: Path, name: str) -> None:
    """300k lines: 5 MiB of text, 2 MiB gzipped; the estimate reads only the first MiB of either."""
    assert estimated_lines(_triples(tmp_path / name, 300_000)) == pytest.approx(300_000, rel=0.05)


def test_a_sorted_plain_file_is_sampled_beyond_its_short_first_lines(tmp_path: Path) -> None:
    """Triples sorted by source: the first MiB's lines are shorter than the average."""
    path = tmp_path / "sorted.txt"
    path.write_text("".join(f"{i}\t{i % 7}\t{(i * 31) % 300_000}\n" for i in range(300_000)))
    assert estimated_lines(path) == pytest.approx(300_000, rel=0.05)


def test_the_check_names_the_file_the_estimate_and_the_way_out(tmp_path: Path) -> None:
    triples = _triples(tmp_path / "g_rel-all.txt", 1000)
    check_full_batch_fits(triples, bytes_per_edge=1000, available=2_000_000)  # 1 MB needed: fits
    with pytest.raises(
        ConfigError,
        match=r"g_rel-all.txt: about 1,000 edges .*1.0 MiB .* 0.5 MiB available.*\(data.batch_size and data.fanouts\)",
    ):
        check_full_batch_fits(triples, bytes_per_edge=1000, available=500_000)


def test_through_the_cli_before_loading_and_not_for_sampled_runs(workdir: Path, tiny_graph_dir: Path) -> None:
    (workdir / "folder.yaml").write_text(
        "data:\n  class_path: datamodules.KnowledgeGraphDataModule\n"
        f"  init_args: {{root: {tiny_graph_dir}, features: [degree], fold: 0}}\n"
    )
    args = ["--config", DEMO, "--config", "folder.yaml", *TINY[4:], "--trainer.max_epochs", "1"]
    huge = ["--data.init_args.full_batch_bytes_per_edge", str(2**50)]  # a pebibyte per edge
    with pytest.raises(SystemExit, match=r"rel-all.*GiB in full-batch training.*train on sampled neighbourhoods"):
        run_train("fit", *args, *huge)
    with pytest.raises(SystemExit, match="full_batch_bytes_per_edge must be a positive number of bytes"):
        run_train("fit", *args, "--data.init_args.full_batch_bytes_per_edge", "0")
    sampled = ["--data.init_args.batch_size", "64", "--data.init_args.fanouts", "[5, 5]"]
    run_train("fit", *args, *huge, *sampled, "--early_stopping.min_epochs", "1")  # sampled: no bound
    assert any(workdir.glob("runs/**/last.ckpt"))
