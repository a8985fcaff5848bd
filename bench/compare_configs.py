"""Every shipped experiment resolves to the same settings under two checkouts of the project.

    python bench/compare_configs.py --old ../old-checkout --new .

Runs ``train.py fit --config ... --print_config`` in each checkout (data paths are relative to the
project root, so each runs in its own root) and compares the resolved configs: every setting the old
one had must have the same value in the new one (settings only the new code knows are listed, not
compared). The training callbacks may have moved from ``trainer.callbacks`` entries to their own
sections (``checkpoint``, ``early_stopping``, ``gradient_clipping``); a monitor left to the task is
the task's default. Exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nie.cli.lightning_cli import CALLBACK_SECTIONS  # noqa: E402

# an old checkout's trainer.callbacks entry, by class name, and the section that holds it now
SECTIONS = {callback.__name__: key for callback, key in CALLBACK_SECTIONS.items()}
# settings a section's default makes inert when the old config had no such callback
INERT = {"early_stopping": {"patience": None}, "gradient_clipping": {"max_norm": None}}


def experiments(root: Path) -> list[list[str]]:
    """Every experiment config (not a shared part or an ensemble), and each selection patch on its base."""
    runs = []
    for path in sorted(root.glob("configs/**/*.yaml")):
        text = path.read_text()
        if (
            "ensemble:" in text
            or "model:" not in text
            and "include:" not in text
            or "/selection/" in str(path)
            or "/backtest/" in str(path)
        ):
            continue
        runs.append([str(path.relative_to(root))])
    for patch in sorted(root.glob("configs/*/selection/*.yaml")):
        base = "configs/fb15k/geni.yaml" if "fb15k" in str(patch) else "configs/gefcom2014/lstm.yaml"
        runs.append([base, str(patch.relative_to(root))])
    return runs


def resolved(root: Path, configs: list[str]) -> dict[str, Any]:
    args = [a for c in configs for a in ("--config", c)]
    out = subprocess.run(
        [sys.executable, "train.py", "fit", *args, "--print_config"], cwd=root, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"{root}: {' '.join(configs)}: {out.stderr.strip().splitlines()[-1:]}")
    return yaml.safe_load(out.stdout)


def sectioned(config: dict[str, Any]) -> dict[str, Any]:
    """The training callbacks as sections, with an inert section for each the config lacks."""
    config = dict(config)
    trainer = dict(config.get("trainer") or {})
    for entry in trainer.pop("callbacks", None) or []:
        name = entry["class_path"].rsplit(".", 1)[-1]
        config[SECTIONS.get(name, name)] = entry.get("init_args") or {}
    for key, inert in INERT.items():
        config.setdefault(key, inert)
    config["trainer"] = trainer
    return config


def task_monitor(config: dict[str, Any], root: Path) -> tuple[str, str]:
    sys.path.insert(0, str(root))
    module, _, name = config["model"]["class_path"].rpartition(".")
    task = getattr(__import__(module, fromlist=[name]), name)
    return task.default_monitor(config["model"].get("init_args") or {})


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in old for d in differences(old[k], new.get(k, "<missing>"), f"{path}.{k}".lstrip("."))]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, default=Path("."))
    args = parser.parse_args()
    failed = 0
    for configs in experiments(args.new):
        old, new = sectioned(resolved(args.old, configs)), sectioned(resolved(args.new, configs))
        if not new.get("model"):  # a patch read alone (e.g. licap.yaml): checked with its experiments
            continue
        monitor, mode = task_monitor(new, args.new.resolve())
        for key in ("checkpoint", "early_stopping"):
            if new.get(key, {}).get("monitor") is None:
                new[key] = {**new[key], "monitor": monitor, "mode": new[key].get("mode") or mode}
        for key in ("early_stopping", "gradient_clipping"):
            if old[key] == INERT[key]:  # the old config had none: only inertness is compared
                new[key] = {k: new[key].get(k) for k in INERT[key]}
        found = differences(old, new)
        failed += bool(found)
        print(f"{'DIFFERS' if found else 'same   '} {' + '.join(configs)}" + "".join(f"\n    {d}" for d in found))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
