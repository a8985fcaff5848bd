"""What a config file is, read from where it sits in ``configs/``: one rule for the tests and the benches.

    configs/<name>.yaml, configs/<dataset>/<name>.yaml    experiment: runs alone (``--config`` it)
    configs/<dataset>/parts/<name>.yaml                   part: only ever read through ``include:``
    configs/<dataset>/patches/<name>.yaml                 patch for any experiment of <dataset> (a later ``--config``)
    configs/<dataset>/patches/<experiment>/<name>.yaml    patch written for configs/<dataset>/<experiment>.yaml
    configs/<dataset>/ensembles/<name>.yaml               ensemble (``train.py cv``)

Nothing reads a file's content to guess its role: the tests check that the content agrees with the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Role = Literal["experiment", "part", "patch", "ensemble"]
FOLDERS: dict[str, Role] = {"parts": "part", "patches": "patch", "ensembles": "ensemble"}


def config_role(path: Path, configs: Path) -> Role:
    """The role of ``path``, a YAML file under the ``configs`` folder; a file in no place above is an error."""
    parts = path.relative_to(configs).parts
    if len(parts) <= 2:
        return "experiment"
    role = FOLDERS.get(parts[1])
    if role is None or len(parts) > (4 if role == "patch" else 3):
        raise ValueError(f"{path}: not a place for a config (see nie/core/config_roles.py: {', '.join(FOLDERS)})")
    return role


def patch_targets(patch: Path, configs: Path) -> list[Path]:
    """The experiments ``patch`` applies to: the one its folder names, or every experiment of its dataset."""
    dataset = configs / patch.relative_to(configs).parts[0]
    if patch.parent.parent.name == "patches":
        target = dataset / f"{patch.parent.name}.yaml"
        if not target.is_file():
            raise ValueError(f"{patch}: patches/{patch.parent.name}/ names no experiment {target}")
        return [target]
    return [p for p in sorted(dataset.glob("*.yaml")) if config_role(p, configs) == "experiment"]


def by_role(configs: Path) -> dict[Role, list[Path]]:
    """Every YAML file under ``configs``, sorted, by role."""
    found: dict[Role, list[Path]] = {"experiment": [], "part": [], "patch": [], "ensemble": []}
    for path in sorted(configs.rglob("*.yaml")):
        found[config_role(path, configs)].append(path)
    return found


def compositions(configs: Path) -> list[list[Path]]:
    """The ``--config`` lists to check: every experiment alone, every patch after each experiment it applies to."""
    roles = by_role(configs)
    alone = [[path] for path in roles["experiment"]]
    return alone + [[target, patch] for patch in roles["patch"] for target in patch_targets(patch, configs)]
