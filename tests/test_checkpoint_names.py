"""A run-folder name (``checkpoint.dirs``, ``checkpoint.hparams``) the run has no value for: one short line
naming it, the network and a list that works, before any data is read (nothing written); the fix it
suggests runs. Never dropped silently: the names are the run's identity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import DEMO, TINY, refused_line, run_train
from tests.power_data import write_power_config

RGCN = ["--model.init_args.network", "nie.importance.RGCN"]
SHORT = [*TINY, "--trainer.max_epochs", "1"]


@pytest.mark.parametrize("subcommand", ["fit", "cv"])
def test_demo_with_a_network_without_heads_is_one_line_and_writes_nothing(workdir: Path, subcommand: str) -> None:
    message = refused_line(subcommand, "--config", DEMO, *RGCN, *SHORT)
    assert message == (
        "error: checkpoint.hparams names heads, which this run (network rgcn) has no value for: "
        "name only its own, e.g. --checkpoint.hparams [lr]"
    )
    assert not list(workdir.iterdir())  # no run folder, no TensorBoard version, no data cache


def test_a_mistyped_name_is_corrected_in_the_suggestion_and_the_fix_runs(workdir: Path) -> None:
    """A misspelt name is offered corrected (dropping it would name every fold's run alike); one with no
    likeness is dropped."""
    dirs = ["--checkpoint.dirs", "[network,dataset,fodl,zzz]"]
    message = refused_line("fit", "--config", DEMO, *SHORT, *dirs)
    assert message == (
        "error: checkpoint.dirs names fodl (did you mean 'fold'?), zzz, which this run (network geni) has no value "
        "for: name only its own, e.g. --checkpoint.dirs [network,dataset,fold]"
    )
    assert not list(workdir.iterdir())
    run_train("fit", "--config", DEMO, *SHORT, "--checkpoint.dirs", "[network,dataset,fold]")
    assert any((workdir / "runs/geni/synthetic/fold0").iterdir())


def test_the_suggested_fix_runs(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *RGCN, *SHORT)
    option, value = re.findall(r"e\.g\. (\S+) (\S+)$", message)[0]
    run_train("fit", "--config", DEMO, *RGCN, *SHORT, option, value)
    assert (workdir / "runs/rgcn/synthetic/fold0/lr0.005/settings.json").is_file()


def _graph_files(folder: Path) -> list[str]:
    return ["--data.class_path", "datamodules.KnowledgeGraphDataModule", "--data.init_args.root", str(folder)]


@pytest.mark.parametrize("data", ["generated graph", "graph files", "power series"])
def test_the_names_known_before_the_data_are_those_of_the_run(workdir: Path, tiny_graph_dir: Path, data: str) -> None:
    """The early check is exact: what a run may be named by is all known before its data is read."""
    from callbacks.checkpoint import known_names
    from nie.cli.experiment import Experiment
    from nie.core.naming import run_values

    config = {
        "generated graph": ["--config", DEMO, *TINY],
        "graph files": ["--config", DEMO, *_graph_files(tiny_graph_dir), "--data.init_args.features", "[degree]"],
        "power series": ["--config", str(write_power_config(workdir / "power"))],
    }[data]
    cli = Experiment.from_argv(config).build()
    before = known_names(cli.model, cli.datamodule)
    cli.datamodule.prepare_data()
    cli.datamodule.setup("fit")
    assert before == set(run_values(cli.model, cli.datamodule))


def test_a_misspelt_copy_of_a_listed_name_is_suggested_once() -> None:
    from nie.core.errors import ConfigError
    from nie.core.naming import check_names

    with pytest.raises(ConfigError, match=r"e\.g\. --checkpoint\.dirs \[network,fold\]$"):
        check_names({"network", "fold", "lr"}, "geni", ["network", "fold", "fodl"], ["lr"])
