"""Ensembles in ``train.py cv`` (a config holding only ``ensemble:``; its keys: docs/importance.md,
"Ensembles"): the members' own cross-validations, combined fold by fold. Per fold the weighted mean of the
members' predictions, in the labels' space (RMSE stays meaningful), with weights on the simplex chosen on
that fold's validation nodes only; every validation score of the chosen weights is recorded
(``best_val/*``), so ``train.py select`` can rank ensembles on any of them.
"""

from __future__ import annotations

import itertools
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TypedDict

import numpy as np
import numpy.typing as npt
import torch
import yaml
from torchmetrics import Metric, MetricCollection

from nie.cli.lightning_cli import NIECLI
from nie.cli.parsing import split_configs
from nie.core.contracts import LabelledStages
from nie.core.errors import ConfigError
from nie.core.io import atomic_path
from nie.protocols.splits import Splits, best_predictions

MetricsFactory = Callable[[], MetricCollection]  # a task's make_metrics
WEIGHTINGS = ("equal", "validation")
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


class EnsembleSection(TypedDict):
    """An ensemble config's ``ensemble:`` section, checked, with the file it was read from (``path``)."""

    members: list[str | list[Any]]
    weights: str  # one of WEIGHTINGS
    grid_step: float
    weights_on: Optional[list[str]]  # None: the members' checkpoint monitor
    path: str


def ensemble_section(args: Sequence[str]) -> Optional[EnsembleSection]:
    """The ``ensemble`` section when the only ``--config`` of ``args`` is an ensemble config."""
    configs, _ = split_configs(args)
    if len(configs) != 1 or not Path(configs[0]).is_file():
        return None
    try:
        config = yaml.safe_load(Path(configs[0]).read_text())
    except yaml.YAMLError:
        return None  # the CLI reports unreadable configs itself
    if not isinstance(config, dict) or "ensemble" not in config:
        return None
    raw = config["ensemble"]
    extra = set(config) - {"ensemble"}
    if extra or not isinstance(raw, dict) or not raw.get("members"):
        raise ConfigError(
            f"{configs[0]}: an ensemble config holds only 'ensemble: {{members: [...], weights, grid_step}}'"
            + (f"; found also {sorted(extra)}" if extra else "")
        )
    unknown = set(raw) - {"members", "weights", "grid_step", "weights_on"}
    if unknown:
        raise ConfigError(
            f"{configs[0]}: unknown ensemble keys {sorted(unknown)}; expected members, weights, grid_step, weights_on"
        )
    section = EnsembleSection(
        members=raw["members"],
        weights=raw.get("weights", "validation"),
        grid_step=raw.get("grid_step", 0.05),
        weights_on=weights_on(configs[0], raw.get("weights_on")),
        path=configs[0],
    )
    if section["weights"] not in WEIGHTINGS:
        raise ConfigError(f"{configs[0]}: ensemble.weights must be one of {WEIGHTINGS}, got {section['weights']!r}")
    step = section["grid_step"]
    if not isinstance(step, (int, float)) or not 0 < step <= 1 or abs(round(1 / step) - 1 / step) > 1e-9:
        raise ConfigError(f"{configs[0]}: ensemble.grid_step must divide 1 (e.g. 0.05, 0.1), got {step!r}")
    return section


def weights_on(path: str, value: Any) -> Optional[list[str]]:
    """``ensemble.weights_on`` as a list of validation score names (None: the checkpoint monitor)."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.startswith("val/") for n in names):
        raise ConfigError(
            f"{path}: ensemble.weights_on must be a validation score or a list of them (e.g. val/ndcg@100), "
            f"got {value!r}"
        )
    return names


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


def check_members(section: EnsembleSection, names: list[str], facts: list[MemberFacts]) -> None:
    """Refuse, before any member trains, members that cannot be averaged: predictions in another label
    space, scores on their own scale, other validation scores, or one run directory for two members."""
    path, first = section["path"], facts[0]
    for name, member in zip(names, facts):
        if not member.predicts_labels:
            raise ConfigError(
                f"ensemble {path}: member {name} predicts scores on its own scale, not labels (a non-learned "
                "baseline); averaging it with label predictions is meaningless, so it cannot be a member"
            )
        if member.label_transform != first.label_transform:
            raise ConfigError(
                f"ensemble {path}: member {name} predicts in label space {member.label_transform!r}, {names[0]} in "
                f"{first.label_transform!r}; members must share data.label_transform"
            )
        if (member.monitor, member.mode) != (first.monitor, first.mode):
            raise ConfigError(
                f"ensemble {path}: member {name} is selected on {member.monitor} ({member.mode}), {names[0]} on "
                f"{first.monitor} ({first.mode}); members must share the checkpoint monitor and mode"
            )
    owners: dict[Path, str] = {}
    for name, member in zip(names, facts):
        if member.run_dir in owners:
            raise ConfigError(
                f"ensemble {path}: members {owners[member.run_dir]} and {name} share the run directory "
                f"{member.run_dir}; name their checkpoints apart (HParamCheckpoint root, dirs or hparams)"
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
    make_metrics: MetricsFactory, section: EnsembleSection, monitor: str, mode: str
) -> tuple[list[Metric], str]:
    """The metrics the weights are chosen on (only these: the grid can hold thousands of points) and
    their direction: the monitor's, or the common one of ``weights_on``'s scores."""
    names = section.get("weights_on") or [monitor]
    collection = make_metrics()
    unknown = [n for n in names if n.split("/", 1)[1] not in collection]
    if unknown:
        raise ConfigError(
            f"ensemble {section['path']}: weights_on names {unknown[0]}; the validation scores are "
            + ", ".join(f"val/{k}" for k in collection)
        )
    metrics = [collection[n.split("/", 1)[1]] for n in names]
    if names == [monitor]:
        return metrics, mode
    directions = {bool(m.higher_is_better) for m in metrics}
    if len(directions) != 1:
        raise ConfigError(f"ensemble {section['path']}: weights_on mixes scores to raise and to lower: {names}")
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
    members: list[FoldPredictions], section: EnsembleSection, make_metrics: MetricsFactory, monitor: str, mode: str
) -> npt.NDArray[np.float64]:
    """Equal weights, or the simplex grid point scoring best on validation (first found on ties)."""
    if section["weights"] == "equal":
        return np.full(len(members), 1 / len(members))
    metrics, mode = weight_metrics(make_metrics, section, monitor, mode)
    stacked = torch.from_numpy(np.stack([m.prediction["val"] for m in members], axis=1)).double()
    label = torch.from_numpy(members[0].label["val"]).float()
    grid = simplex_grid(len(members), section["grid_step"])
    best: npt.NDArray[np.float64] = grid[0]
    best_score: float | None = None
    for weights in grid:
        mixed = (stacked @ torch.from_numpy(weights)).float()
        value = mean_score(metrics, mixed, label)
        if best_score is None or (value > best_score if mode == "max" else value < best_score):
            best, best_score = weights, value
    return best


def combine_fold(
    label: str,
    members: list[FoldPredictions],
    names: list[str],
    section: EnsembleSection,
    make_metrics: MetricsFactory,
    monitor: str,
    mode: str,
) -> dict[str, float]:
    """One fold's ensemble: weights from validation, then the test metrics of the weighted mean."""
    for name, member in zip(names[1:], members[1:]):
        for stage in ("val", "test"):
            if not np.array_equal(member.node[stage], members[0].node[stage]):
                raise ConfigError(
                    f"ensemble {section['path']}: member {name} has other {stage} nodes than {names[0]} in {label}; "
                    "members must share the data section (dataset, split, num_folds)"
                )
    weights = fit_weights(members, section, make_metrics, monitor, mode)
    result = {f"weight/{n}": float(w) for n, w in zip(names, weights)}
    for stage, prefix in (("val", "best_val/"), ("test", "test/")):
        prediction = np.stack([m.prediction[stage] for m in members], axis=1) @ weights
        scores = score(make_metrics, prediction, members[0].label[stage])
        result.update({f"{prefix}{k}": v for k, v in scores.items()})  # validation: what select ranks on
    return result


def combine_members(
    section: EnsembleSection, runs: list[Splits], make_metrics: MetricsFactory, first: MemberFacts
) -> list[dict[str, float]]:
    """Combine the members' finished folds, fold by fold (weights from validation, scores on test)."""
    names = member_names(section["members"])
    per_fold = []
    for index, label in enumerate(runs[0].labels):
        predictions = [FoldPredictions.load(run.directories[index]) for run in runs]
        result = combine_fold(label, predictions, names, section, make_metrics, first.monitor, first.mode)
        result["fit_test_seconds"] = sum(run.metrics[index].get("fit_test_seconds", 0.0) for run in runs)
        per_fold.append(result)
    return per_fold
