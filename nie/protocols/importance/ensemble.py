"""Ensembles in ``train.py cv`` (a config holding only ``ensemble:``; its keys: docs/importance.md,
"Ensembles"): the members' own cross-validations, combined fold by fold. Per fold the weighted mean of the
members' predictions, in the labels' space (RMSE stays meaningful), with weights on the simplex chosen on
that fold's validation nodes only; every validation score of the chosen weights is recorded
(``best_val/*``), so ``train.py select`` can rank ensembles on any of them.
"""

from __future__ import annotations

import itertools
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt
import torch
from torchmetrics import Metric, MetricCollection
from typing_extensions import override

from nie.cli.lightning_cli import NIECLI
from nie.cli.parsing import split_configs
from nie.core.contracts import LabelledStages
from nie.core.errors import ConfigError
from nie.core.io import atomic_path
from nie.protocols.splits import Splits, best_predictions
from nie.protocols.standalone import read_section

MetricsFactory = Callable[[], MetricCollection]  # a task's make_metrics
FOLD_PREDICTIONS = "fold_predictions.npz"


def keep_fold_predictions(cli: NIECLI, directory: Path, best: Optional[str]) -> None:
    """A cv fold's selected checkpoint's prediction for every node, with the fold's validation and test
    nodes and labels: what an ensemble fits its weights on (validation) and scores (test) without
    retraining (``splits.best_predictions``: once, single-process)."""
    path, datamodule = directory / FOLD_PREDICTIONS, cli.datamodule
    outputs = best_predictions(cli, path, best) if isinstance(datamodule, LabelledStages) else None
    if outputs is None:
        return
    arrays = {
        "node": torch.cat([o["node"] for o in outputs]).cpu().numpy(),
        "prediction": torch.cat([o["prediction"] for o in outputs]).float().cpu().numpy(),
    }
    for stage in ("val", "test"):
        nodes, labels = datamodule.stage_labels(stage)
        arrays[f"{stage}_node"], arrays[f"{stage}_label"] = nodes.cpu().numpy(), labels.float().cpu().numpy()
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


@dataclass
class FoldPredictions:
    """One member's predictions for one fold, keyed by node id, with the fold's labelled nodes."""

    prediction: dict[str, npt.NDArray[np.float32]]  # stage -> predictions of that stage's nodes
    label: dict[str, npt.NDArray[np.float32]]
    node: dict[str, npt.NDArray[np.int64]]

    @classmethod
    def load(cls, directory: Path) -> "FoldPredictions":
        path = directory / FOLD_PREDICTIONS
        if not path.is_file():
            raise ConfigError(f"{path}: no fold predictions; rerun the member's cv (single process) to write them")
        arrays = np.load(path)
        position = np.full(int(arrays["node"].max()) + 1, -1)
        position[arrays["node"]] = np.arange(len(arrays["node"]))
        stages = ("val", "test")
        return cls(
            prediction={s: arrays["prediction"][position[arrays[f"{s}_node"]]] for s in stages},
            label={s: arrays[f"{s}_label"] for s in stages},
            node={s: arrays[f"{s}_node"] for s in stages},
        )


@dataclass(frozen=True)
class Weighting:
    """How an ensemble chooses each fold's weights (``EnsemblePlan`` holds these fields; a bench times them alone)."""

    weights: Literal["equal", "validation"] = "validation"
    grid_step: float = 0.05
    weights_on: Optional[Union[str, list[str]]] = None

    def __post_init__(self) -> None:
        step = self.grid_step
        if not 0 < step <= 1 or abs(round(1 / step) - 1 / step) > 1e-9:
            raise ConfigError(f"ensemble.grid_step must divide 1 (e.g. 0.05, 0.1), got {step!r}")
        names = self.scores()
        if names is not None and not (names and all(n.startswith("val/") for n in names)):
            raise ConfigError(
                "ensemble.weights_on must be a validation score or a list of them (e.g. val/ndcg@100), "
                f"got {self.weights_on!r}"
            )
        if names is not None and self.weights == "equal":
            raise ConfigError("ensemble.weights_on chooses validation weights; weights: equal never reads it: drop one")

    def scores(self) -> Optional[list[str]]:
        """``weights_on`` as a list (None: the checkpoint monitor)."""
        return [self.weights_on] if isinstance(self.weights_on, str) else self.weights_on


@dataclass(frozen=True)
class EnsemblePlan(Weighting):
    """An ensemble config's ``ensemble:`` section (registered by ``nie.protocols.importance``; docs/importance.md).

    Args:
        members: each member's ``train.py fit`` arguments: a config path, or a list such as
            ``[--config, a.yaml, --model.init_args.lr, "0.01"]``.
        weights: ``validation`` (per fold, the simplex grid point scoring best on validation) or ``equal``.
        grid_step: the simplex grid's spacing; it must divide 1 (0.05, 0.1).
        weights_on: the validation score the weights are chosen on (``val/ndcg@100``), or a list of them
            (their mean); default: the members' checkpoint monitor.
    """

    members: list[Union[str, list[Union[str, bool, int, float]]]] = field(kw_only=True)

    @override
    def __post_init__(self) -> None:
        if not self.members:
            raise ConfigError("ensemble.members: expected at least one member")
        super().__post_init__()


ENSEMBLE_HELP = "An ensemble config's only section (train.py cv)."


def ensemble_section(args: Sequence[str]) -> Optional[EnsemblePlan]:
    """The ``ensemble:`` section when the only ``--config`` of ``args`` is an ensemble config."""
    plan: Optional[EnsemblePlan] = read_section("ensemble", EnsemblePlan, ENSEMBLE_HELP, args)
    return plan


def own_args(member: str | list[Any]) -> list[str]:
    """A member's own ``train.py fit`` arguments: a config path, or its argument list."""
    if isinstance(member, str):
        return ["--config", member] if member.endswith((".yaml", ".yml")) else shlex.split(member)
    return [str(a) for a in member]


def member_args(member: str | list[Any], extra: Sequence[str]) -> list[str]:
    """A member's ``train.py fit`` arguments: a config path, or its own argument list; plus the
    arguments given on the command line after the ensemble config (they apply to every member)."""
    own = own_args(member)
    missing = [path for path in split_configs(own)[0] if not Path(path).is_file()]
    if missing:
        raise ConfigError(f"ensemble member {' '.join(own)!r}: config file {missing[0]} not found")
    return [*own, *extra]


@dataclass(frozen=True)
class MemberFacts:
    """What a member's probe (its parsed config, built model and data) says about how it may be combined."""

    run_dir: Path
    root: Path  # the runs' top folder (HParamCheckpoint root)
    monitor: str
    mode: str
    label_transform: Optional[str]  # the space its predictions are in (None: the data has no transform)
    predicts_labels: bool  # False for scores on their own scale (PageRank-style baselines)


def check_members(names: list[str], facts: list[MemberFacts]) -> None:
    """Refuse, before any member trains, members that cannot be averaged: predictions in another label
    space, scores on their own scale, other validation scores, or one run directory for two members."""
    first = facts[0]
    owners: dict[Path, str] = {}
    for name, member in zip(names, facts):
        if not member.predicts_labels:
            raise ConfigError(
                f"member {name} predicts scores on its own scale, not labels (a non-learned baseline); averaging "
                "it with label predictions is meaningless, so it cannot be a member"
            )
        if member.label_transform != first.label_transform:
            raise ConfigError(
                f"member {name} predicts in label space {member.label_transform!r}, {names[0]} in "
                f"{first.label_transform!r}; members must share data.label_transform"
            )
        if (member.monitor, member.mode) != (first.monitor, first.mode):
            raise ConfigError(
                f"member {name} is selected on {member.monitor} ({member.mode}), {names[0]} on {first.monitor} "
                f"({first.mode}); members must share the checkpoint monitor and mode"
            )
        if member.run_dir in owners:
            raise ConfigError(
                f"members {owners[member.run_dir]} and {name} share the run directory {member.run_dir}; name their "
                "checkpoints apart (HParamCheckpoint root, dirs or hparams)"
            )
        owners[member.run_dir] = name


def member_names(members: Sequence[str | list[Any]]) -> list[str]:
    """Short unique names for the weight columns: the member's config file stem, numbered from 1 among
    the members that share it (``geni_seeds1``, ``geni_seeds2``)."""
    stems = []
    for member in members:
        configs, _ = split_configs(own_args(member))
        stems.append(Path(configs[-1]).stem if configs else "member")
    return [f"{s}{stems[: i + 1].count(s)}" if stems.count(s) > 1 else s for i, s in enumerate(stems)]


def simplex_grid(members: int, step: float) -> npt.NDArray[np.float64]:
    """Every weight vector on the simplex with coordinates in multiples of ``step``."""
    units = round(1 / step)
    points = [c for c in itertools.product(range(units + 1), repeat=members - 1) if sum(c) <= units]
    return np.array([[*c, units - sum(c)] for c in points], dtype=np.float64) / units


def score(
    make_metrics: MetricsFactory, prediction: npt.NDArray[np.float64], label: npt.NDArray[np.float32]
) -> dict[str, float]:
    metrics = make_metrics()
    metrics.update(torch.from_numpy(prediction).float(), torch.from_numpy(label).float())
    return {k: float(v) for k, v in metrics.compute().items()}


def weight_metrics(
    make_metrics: MetricsFactory, weighting: Weighting, monitor: str, mode: str
) -> tuple[list[Metric], str]:
    """The metrics the weights are chosen on (only these: the grid can hold thousands of points) and
    their direction: the monitor's, or the common one of ``weights_on``'s scores."""
    names = weighting.scores() or [monitor]
    collection = make_metrics()
    unknown = [n for n in names if n.split("/", 1)[1] not in collection]
    if unknown:
        scores = ", ".join(f"val/{k}" for k in collection)
        raise ConfigError(f"weights_on names {unknown[0]}; the validation scores are {scores}")
    metrics = [collection[n.split("/", 1)[1]] for n in names]
    if names == [monitor]:
        return metrics, mode
    directions = {bool(m.higher_is_better) for m in metrics}
    if len(directions) != 1:
        raise ConfigError(f"weights_on mixes scores to raise and to lower: {names}")
    return metrics, "max" if directions.pop() else "min"


def mean_score(metrics: list[Metric], prediction: torch.Tensor, label: torch.Tensor) -> float:
    """The mean of the metrics' values on one prediction (each reset first)."""
    values = []
    for metric in metrics:
        metric.reset()
        metric.update(prediction, label)
        values.append(float(metric.compute()))
    return float(np.mean(values))


def fit_weights(
    members: list[FoldPredictions], weighting: Weighting, make_metrics: MetricsFactory, monitor: str, mode: str
) -> npt.NDArray[np.float64]:
    """Equal weights, or the simplex grid point scoring best on validation (first found on ties)."""
    if weighting.weights == "equal":
        return np.full(len(members), 1 / len(members))
    metrics, mode = weight_metrics(make_metrics, weighting, monitor, mode)
    stacked = torch.from_numpy(np.stack([m.prediction["val"] for m in members], axis=1)).double()
    label = torch.from_numpy(members[0].label["val"]).float()
    grid = simplex_grid(len(members), weighting.grid_step)
    best: npt.NDArray[np.float64] = grid[0]
    best_score: float | None = None
    for weights in grid:
        value = mean_score(metrics, (stacked @ torch.from_numpy(weights)).float(), label)
        if best_score is None or (value > best_score if mode == "max" else value < best_score):
            best, best_score = weights, value
    return best


def combine_fold(
    label: str,
    members: list[FoldPredictions],
    names: list[str],
    plan: EnsemblePlan,
    make_metrics: MetricsFactory,
    first: MemberFacts,
) -> dict[str, float]:
    """One fold's ensemble: weights from validation, then the test metrics of the weighted mean."""
    for name, member in zip(names[1:], members[1:]):
        for stage in ("val", "test"):
            if not np.array_equal(member.node[stage], members[0].node[stage]):
                raise ConfigError(
                    f"member {name} has other {stage} nodes than {names[0]} in {label}; members must share the "
                    "data section (dataset, split, num_folds)"
                )
    weights = fit_weights(members, plan, make_metrics, first.monitor, first.mode)
    result = {f"weight/{n}": float(w) for n, w in zip(names, weights)}
    for stage, prefix in (("val", "best_val/"), ("test", "test/")):
        prediction = np.stack([m.prediction[stage] for m in members], axis=1) @ weights
        scores = score(make_metrics, prediction, members[0].label[stage])
        result.update({f"{prefix}{k}": v for k, v in scores.items()})  # validation: what select ranks on
    return result


def combine_members(
    plan: EnsemblePlan, runs: list[Splits], make_metrics: MetricsFactory, first: MemberFacts
) -> list[dict[str, float]]:
    """Combine the members' finished folds, fold by fold (weights from validation, scores on test)."""
    names = member_names(plan.members)
    per_fold = []
    for index, label in enumerate(runs[0].labels):
        predictions = [FoldPredictions.load(run.directories[index]) for run in runs]
        result = combine_fold(label, predictions, names, plan, make_metrics, first)
        result["fit_test_seconds"] = sum(run.metrics[index].get("fit_test_seconds", 0.0) for run in runs)
        per_fold.append(result)
    return per_fold
