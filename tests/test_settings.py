"""Each constructor argument is defined once, as a field of its class's ``Settings`` dataclass
(``nie.core.settings``): the command line offers every field with its default, and the class's ``hparams``
(what run folders and checkpoints record) hold every field, defaults included."""

from __future__ import annotations

from dataclasses import MISSING, fields

import pytest
from jsonargparse import ArgumentParser

from datamodules import KnowledgeGraphDataModule, PowerDataModule, SyntheticKnowledgeGraphDataModule
from datamodules.kg.distributed import DistributedKnowledgeGraphDataModule
from datamodules.kg.settings import DistributedGraphSettings, GraphDataSettings
from datamodules.power.settings import PowerDataSettings
from nie.core.settings import argument_names
from nie.forecasting import PowerForecastTask
from nie.forecasting.task import ForecastTaskSettings
from nie.importance import NodeImportanceTask
from nie.importance.task import ImportanceTaskSettings

OWNERS = [
    (NodeImportanceTask, ImportanceTaskSettings, {"network"}),
    (PowerForecastTask, ForecastTaskSettings, {"network"}),
    (KnowledgeGraphDataModule, GraphDataSettings, set()),
    (
        SyntheticKnowledgeGraphDataModule,
        GraphDataSettings,
        {"num_nodes", "num_relations", "avg_degree", "graph_seed", "isolated_nodes"},
    ),
    (DistributedKnowledgeGraphDataModule, DistributedGraphSettings, set()),
    (PowerDataModule, PowerDataSettings, set()),
]


@pytest.mark.parametrize(("owner", "settings", "own"), OWNERS, ids=lambda o: getattr(o, "__name__", ""))
def test_the_command_line_offers_every_field_with_its_default(owner, settings, own: set[str]) -> None:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(owner, "x", fail_untyped=False)
    defaults = {k.split(".", 1)[1]: v for k, v in parser.get_defaults().items()}
    given = {f.name for f in fields(settings)} - ({"root"} if owner is SyntheticKnowledgeGraphDataModule else set())
    assert set(defaults) == given | own  # the synthetic graph names its own root
    assert argument_names(owner) >= given | own  # what a misspelled option is compared with
    for field in fields(settings):
        if field.name in defaults and field.default is not MISSING:
            assert defaults[field.name] == field.default, field.name


def test_a_module_records_every_field_defaults_included() -> None:
    task = NodeImportanceTask(network=lambda spec: None, top_k=10)
    assert task.settings == ImportanceTaskSettings(top_k=10)
    assert {f.name for f in fields(ImportanceTaskSettings)} <= set(task.hparams)
