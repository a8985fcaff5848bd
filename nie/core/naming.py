"""Run-directory names built from the hyper-parameters that made the run.

``runs/geni/fb15k/fold0/lr0.005-heads4``: some values become directory levels, others the
leaf name, so runs that differ in a listed hyper-parameter never overwrite each other.
A configured object (e.g. a pre-training stage) names itself through a ``run_name`` attribute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import lightning.pytorch as pl

from nie.core.errors import ConfigError, close_names, did_you_mean
from nie.core.run_settings import data_identity


def factory_hparams(factory: Any, prefix_clash: set[str]) -> dict[str, Any]:
    """Short name and keyword arguments of a network factory (jsonargparse gives a ``functools.partial``),
    with those of a factory it is given (the outer's win); arguments whose name clashes with one of
    ``prefix_clash`` get a ``network_`` prefix."""
    if factory is None:
        return {"network": "none"}
    params: dict[str, Any] = {"network": network_name(network_class(factory))}
    nested: dict[str, Any] = {}
    for key, value in getattr(factory, "keywords", {}).items():
        if isinstance(value, (int, float, str, bool, type(None), list, tuple)):
            params[f"network_{key}" if key in prefix_clash else key] = value
        elif hasattr(value, "keywords"):  # a network of networks (an ensemble): the inner one's arguments too
            nested.update(factory_hparams(value, prefix_clash))
    nested.pop("network", None)
    return {**nested, **params}


def network_class(factory: Any) -> Any:
    """The network class a factory builds (jsonargparse gives a ``functools.partial`` holding it), else
    the factory itself."""
    classes = [a for a in getattr(factory, "args", ()) if isinstance(a, type)]
    return classes[-1] if classes else factory


def network_name(cls: Any) -> str:
    """A network class's short name: its ``name`` attribute, else its lower-cased class name."""
    return getattr(cls, "name", getattr(cls, "__name__", "network")).lower()


def run_values(pl_module: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]) -> dict[str, Any]:
    """Every value that may name a run: the data's and the task's hyper-parameters, the network's, and the
    identity of the data read (``run_settings.data_identity``: the datamodule reads its data for it)."""
    values = dict(datamodule.hparams) if datamodule is not None else {}
    values.update(data_identity(datamodule))
    values.update({k: v for k, v in pl_module.hparams.items() if not k.startswith("_")})
    if hasattr(pl_module, "run_name_values"):
        values.update(pl_module.run_name_values())
    if getattr(pl_module, "run_seed", None) is not None:  # set by the CLI from seed_everything
        values["seed_everything"] = pl_module.run_seed
    return values


def format_value(key: str, value: Any, bare_strings: bool) -> str:
    value = getattr(value, "run_name", value)
    if isinstance(value, float):
        value = f"{value:g}"
    elif isinstance(value, (list, tuple)):
        value = "x".join(str(v) for v in value)
    return (
        str(value)
        if bare_strings and isinstance(value, str) and not value.replace(".", "").isdigit()
        else f"{key}{value}"
    )


def check_named_once(dirs: Sequence[str], hparams: Sequence[str]) -> None:
    """Refuse a name given twice (``[lr,lr]``, or in both lists): it would only repeat a value in the run
    folder's path, and is most likely a slip for another name."""
    for option, keys in (("checkpoint.dirs", dirs), ("checkpoint.hparams", hparams)):
        if twice := sorted({k for k in keys if keys.count(k) > 1}):
            once = ",".join(dict.fromkeys(keys))
            raise ConfigError(f"{option} names {', '.join(twice)} twice: name each once, e.g. --{option} [{once}]")
    if both := [k for k in hparams if k in dirs]:
        kept = ",".join(k for k in hparams if k not in dirs)
        raise ConfigError(
            f"checkpoint.dirs and checkpoint.hparams both name {', '.join(both)}: name it in one of them, "
            f"e.g. --checkpoint.hparams [{kept}]"
        )


def check_names(names: set[str], network: str, dirs: Sequence[str], leaf: Sequence[str]) -> None:
    """Refuse a ``checkpoint.dirs`` or ``checkpoint.hparams`` name the run has no value for (``names``): one line
    naming it, the network and a list that works: a misspelt name corrected, a name with no likeness dropped.
    Never dropped silently: a mistyped name would leave runs that differ in it unnamed apart."""
    for option, keys in (("checkpoint.dirs", dirs), ("checkpoint.hparams", leaf)):
        if unknown := [k for k in keys if k not in names]:
            fixed = dict.fromkeys(k if k in names else next(iter(close_names(k, names, 1)), None) for k in keys)
            raise ConfigError(
                f"{option} names {', '.join(k + did_you_mean(k, names, 1) for k in unknown)}, which this run "
                f"(network {network}) has no value for: name only its own, e.g. "
                f"--{option} [{','.join(k for k in fixed if k is not None)}]"
            )


def run_path(root: Path, values: Mapping[str, Any], dirs: Sequence[str], leaf: Sequence[str]) -> Path:
    """``root/<dirs values>/<leaf key+value joined by ->``; empty values are left out, unknown keys refused."""
    check_names(set(values), str(values.get("network", "none")), dirs, leaf)

    def present(keys: Sequence[str]) -> list[tuple[str, Any]]:
        return [(k, values[k]) for k in keys if values[k] not in (None, "", [], ())]

    parts = [format_value(k, v, bare_strings=True) for k, v in present(dirs)]
    name = "-".join(format_value(k, v, bare_strings=False) for k, v in present(leaf))
    return root.joinpath(*parts, name or "default")
