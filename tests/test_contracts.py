"""Every network ``nie.importance`` exports does what it declares (``nie.importance.contracts``). The networks
come from the exports and what each must do from its own declarations, so a new network is checked without
being listed here; networks planted with a broken contract show that each check can fail."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from datamodules import SyntheticKnowledgeGraphDataModule
from nie.core.naming import network_name
from nie.importance import GENI
from nie.importance.agreement import ARGUMENTS, exported_networks
from nie.importance.contracts import (
    Explains,
    FitsOnTrainingData,
    ImportanceNetwork,
    Layered,
    OwnsTrainingLoss,
    full_batch_only,
    predicts_labels,
)
from nie.importance.spec import GraphBatch
from nie.importance.task import split_outputs
from tests.conftest import DEMO, TINY, run_train, synthetic_module

NETWORKS = exported_networks()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> SyntheticKnowledgeGraphDataModule:
    return synthetic_module(tmp_path_factory.mktemp("contracts"), num_nodes=60)


def capability_breaches(net: nn.Module, cls: type[nn.Module]) -> list[str]:
    """Declarations of the built ``net`` that disagree with its class's (``cv`` reads the class, the task the
    network) or with its parameters (a network fits on the training data exactly when nothing is trained)."""
    found = [f"not an {ImportanceNetwork.__name__}"] if not isinstance(net, ImportanceNetwork) else []
    found += [f"{d.__name__} differs from its class's" for d in (predicts_labels, full_batch_only) if d(net) != d(cls)]
    trainable = any(p.requires_grad for p in net.parameters())
    if isinstance(net, FitsOnTrainingData) == trainable:
        found.append("fit() beside trainable parameters" if trainable else "nothing to train and no fit()")
    if isinstance(net, Layered) and not (isinstance(net.num_layers, int) and net.num_layers > 0):
        found.append(f"num_layers {net.num_layers!r} is not a positive count")
    return found


def output_breaches(net: nn.Module, batch: GraphBatch) -> list[str]:
    """What the built (and fitted) ``net`` gives for ``batch`` against the contract: one prediction per output
    node, its own scalar differentiable ``loss`` (``OwnsTrainingLoss``), one value per output node of each
    part it explains (``Explains``)."""
    found = []
    nodes = batch.output_nodes.numel()
    main, _ = split_outputs(net(batch))
    if main.shape != (nodes,):
        found.append(f"forward gives shape {tuple(main.shape)}, not one prediction per output node ({nodes})")
    if isinstance(net, OwnsTrainingLoss):
        loss = net.training_loss(batch).get("loss")
        if not (isinstance(loss, Tensor) and loss.ndim == 0 and loss.requires_grad):
            found.append("training_loss gives no scalar differentiable 'loss'")
    if isinstance(net, Explains):
        net(batch)
        parts = net.explain(batch)
        if not parts or any(v.shape[0] != nodes for v in parts.values()):
            found.append(f"explain gives {[tuple(v.shape) for v in parts.values()]}, not a value per output node")
    return found


def breaches(cls: type[nn.Module], data: SyntheticKnowledgeGraphDataModule) -> list[str]:
    """Everything network class ``cls`` declares but does not do, one line each (none: it keeps its contract)."""
    torch.manual_seed(0)
    net = cls(data.spec, **ARGUMENTS.get(cls.__name__, {}))
    found = capability_breaches(net, cls)
    if isinstance(net, FitsOnTrainingData):
        net.fit(data)
    return found + output_breaches(net, data._batches["train"])


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_each_exported_network_keeps_its_contract(data: SyntheticKnowledgeGraphDataModule, name: str) -> None:
    assert breaches(NETWORKS[name], data) == []


def test_every_capability_is_declared_by_some_network_and_names_are_unique(
    data: SyntheticKnowledgeGraphDataModule,
) -> None:
    """The checks above are not vacuous: each optional capability has a network declaring it and one that does
    not; and no two networks share a run-directory name."""
    built = [cls(data.spec, **ARGUMENTS.get(name, {})) for name, cls in NETWORKS.items()]
    capabilities = [predicts_labels, full_batch_only] + [
        lambda net, protocol=protocol: isinstance(net, protocol)
        for protocol in (OwnsTrainingLoss, FitsOnTrainingData, Explains, Layered)
    ]
    assert all(len({bool(has(net)) for net in built}) == 2 for has in capabilities)
    names = [network_name(cls) for cls in NETWORKS.values()]
    assert len(set(names)) == len(names), names


class FitsAndTrains(GENI):
    def fit(self, datamodule: object) -> None:
        """Declares a baseline's fit but keeps GENI's parameters."""


class DeclaresLate(GENI):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.full_batch_only = True  # the built network says so, its class (read by cv) does not


class Frozen(GENI):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.requires_grad_(False)


class DropsANode(GENI):
    def forward(self, batch: GraphBatch) -> Tensor:
        return split_outputs(super().forward(batch))[0][:-1]


class LossWithoutLoss(GENI):
    def training_loss(self, batch: GraphBatch) -> dict[str, Tensor]:
        return {"mse": split_outputs(self(batch))[0].pow(2).mean()}


class ExplainsTooLittle(GENI):
    def explain(self, batch: GraphBatch) -> dict[str, Tensor]:
        return {"attention": torch.zeros(1)}


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (FitsAndTrains, "fit() beside trainable parameters"),
        (DeclaresLate, "full_batch_only differs from its class's"),
        (Frozen, "nothing to train and no fit()"),
        (DropsANode, "not one prediction per output node"),
        (LossWithoutLoss, "no scalar differentiable 'loss'"),
        (ExplainsTooLittle, "not a value per output node"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_a_broken_contract_is_named(data: SyntheticKnowledgeGraphDataModule, broken: type, named: str) -> None:
    (found,) = breaches(broken, data)
    assert named in found


def test_a_plain_module_gets_the_defaults() -> None:
    plain = nn.Linear(2, 1)
    assert predicts_labels(plain) and not full_batch_only(plain)
    assert not isinstance(plain, OwnsTrainingLoss) and not isinstance(plain, FitsOnTrainingData)


class MeanOfTrainingLabels(nn.Module):
    """A baseline that declares ``fit`` without subclassing ``nie.core.baseline.Baseline``."""

    fitted: list[float] = []

    def __init__(self, spec: object) -> None:
        super().__init__()
        self.mean = 0.0

    def fit(self, datamodule: object) -> None:
        _, labels = datamodule.training_labels()  # type: ignore[attr-defined]
        self.mean = float(labels.float().mean())
        MeanOfTrainingLabels.fitted.append(self.mean)

    def forward(self, batch: GraphBatch) -> Tensor:
        return torch.full((len(batch.output_nodes),), self.mean)


def test_a_network_declaring_fit_is_fitted_whatever_its_base_class(workdir: object) -> None:
    """The task accepts any ``FitsOnTrainingData`` without trainable parameters; the fit hook must call it too."""
    MeanOfTrainingLabels.fitted.clear()
    network = "tests.test_contracts.MeanOfTrainingLabels"
    run_train(
        *("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1"),
        *("--model.init_args.network", network, "--checkpoint.hparams", "[lr]"),
    )
    assert len(MeanOfTrainingLabels.fitted) == 1 and MeanOfTrainingLabels.fitted[0] != 0.0
