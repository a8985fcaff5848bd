"""Every shipped experiment, patch and ensemble resolves to the same settings in an old checkout and this one.

    git worktree add --detach /tmp/old <commit>     # outside the repository
    python bench/compare_configs.py --old /tmp/old [--new .]

What is compared is the new tree's configs by their role (``nie.core.config_roles``): every experiment
alone, every patch after each experiment it applies to, every ensemble's members and settings. Each
path is followed back to its old name through the renames git finds (``git diff --name-status -M
<old commit> -- configs/``); a config deleted because a composition gives the same settings
(``bench/config_renames.yaml``) is compared with that composition. Each checkout resolves its lists
(``train.py fit ... --print_config``) in one process run in its own root, so data paths and code are
its own. Every setting the old config had must have the same value in the new one; settings only the
new code knows are listed, not compared (so are old configs no comparison read, and new ones with no
old counterpart). A logger's save_dir left to follow ``checkpoint.root`` is compared as that root; a name
``checkpoint.unrecorded`` adds for a setting the old code did not have is not a difference. Exits 1 on any
difference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nie.cli.lightning_cli import fill_logger_dir  # noqa: E402
from nie.core.config_roles import by_role, compositions, config_role  # noqa: E402

RENAMES = Path(__file__).with_name("config_renames.yaml")
# run in a checkout's root: each argument list's resolved config (or its error) as JSON lines
RESOLVE = """
import contextlib, io, json, sys, yaml
from train import main
for args in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["fit", *args, "--print_config"])
        code = 0
    except SystemExit as exit:
        code = exit.code
    error = None if code in (0, None) else (str(code) if isinstance(code, str) else err.getvalue().strip()[-300:])
    print(json.dumps({"config": None if error else yaml.safe_load(out.getvalue()), "error": error}))
"""
Args = list[str]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def renamed(old: Path, new: Path) -> dict[str, str]:
    """New path -> old path of every config git sees renamed between the old checkout's commit and ``new``."""
    commit = git(old, "rev-parse", "HEAD").strip()
    found = {}
    for line in git(new, "diff", "--name-status", "-M", commit, "--", "configs/").splitlines():
        kind, *paths = line.split("\t")
        if kind.startswith("R"):
            found[paths[1]] = paths[0]
    return found


def config_args(paths: list[str]) -> Args:
    return [a for path in paths for a in ("--config", path)]


def member_args(member: str | list[Any]) -> Args:
    return ["--config", member] if isinstance(member, str) else [str(a) for a in member]


def pairs(old: Path, new: Path) -> tuple[list[tuple[str, Args, Args]], list[tuple[str, str]], set[str]]:
    """(label, old args, new args) of every composition, (old, new) ensemble files, and new files without an old one."""
    back = renamed(old, new)
    table: dict[str, list[str]] = yaml.safe_load(RENAMES.read_text()) or {}
    runs, ensembles, unmatched = [], [], set()
    for composition in compositions(new / "configs"):
        paths = [str(p.relative_to(new)) for p in composition]
        before = [back.get(p, p) for p in paths]
        unmatched |= {p for p, b in zip(paths, before) if not (old / b).is_file()}
        if all((old / p).is_file() for p in before):
            runs.append((" + ".join(paths), config_args(before), config_args(paths)))
    for path in by_role(new / "configs")["ensemble"]:
        name = str(path.relative_to(new))
        if (old / back.get(name, name)).is_file():
            ensembles.append((back.get(name, name), name))
        else:
            unmatched.add(name)
    for gone, replacement in table.items():
        if not (old / gone).is_file():
            continue
        if len(replacement) == 1 and config_role(new / replacement[0], new / "configs") == "ensemble":
            ensembles.append((gone, replacement[0]))
        else:
            runs.append((f"{' + '.join(replacement)} (was {gone})", config_args([gone]), config_args(replacement)))
    return runs, ensembles, unmatched - {path for replacement in table.values() for path in replacement}


def ensemble_runs(old: Path, new: Path, ensembles: list[tuple[str, str]]) -> tuple[list[Any], list[str]]:
    """Each member of each ensemble pair as a run to compare, and the differences of the other settings."""
    runs, found = [], []
    for before, after in ensembles:
        section_old = yaml.safe_load((old / before).read_text())["ensemble"]
        section_new = yaml.safe_load((new / after).read_text())["ensemble"]
        members_old, members_new = section_old.pop("members"), section_new.pop("members")
        if len(members_old) != len(members_new):
            found.append(f"{after}: {len(members_old)} members before, {len(members_new)} now")
        found += [f"{after}: {d}" for d in differences(section_old, section_new)]
        for k, (a, b) in enumerate(zip(members_old, members_new)):
            runs.append((f"{after} member {k}", member_args(a), member_args(b)))
    return runs, found


def resolved(root: Path, runs: list[Args]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE], cwd=root, input=json.dumps(runs), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{root}: resolving the configs failed: {done.stderr.strip()[-500:]}")
    found = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for config in [item["config"] for item in found if item["config"]]:
        config.pop("include", None)  # which files a config includes is how it is written, not a setting
        fill_logger_dir(config)  # a save_dir left to follow checkpoint.root, as the run will have it
    return found


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Every setting of ``old`` whose value differs in ``new`` (keys only ``new`` has are not differences)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in old for d in differences(old[k], new.get(k, "<missing>"), f"{path}.{k}".lstrip("."))]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def names(config: Any) -> set[str]:
    """Every key of a resolved config, at any depth (the settings a checkout has)."""
    return {k for key, value in config.items() for k in (key, *names(value))} if isinstance(config, dict) else set()


def new_settings_unrecorded(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` with ``checkpoint.unrecorded`` (the settings kept out of the run identity) stripped of the names
    the old checkout has no setting of: a new option kept out of the identity is not a changed setting."""
    before, after = (c.get("checkpoint", {}).get("unrecorded") for c in (old, new))
    if not (isinstance(before, list) and isinstance(after, list)):
        return new
    known = names(old)
    kept = [n for n in after if n in before or n in known]
    return {**new, "checkpoint": {**new["checkpoint"], "unrecorded": kept}}


def new_only(old: Any, new: Any, path: str = "") -> list[str]:
    """The settings ``new`` has that ``old`` lacks."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    found = []
    for key, value in new.items():
        name = f"{path}.{key}".lstrip(".")
        found += [name] if key not in old else new_only(old[key], value, name)
    return found


def read_configs(root: Path, runs: list[Args], ensembles: list[str]) -> set[str]:
    """The config files (includes followed) that the argument lists and ensemble files read in ``root``."""
    todo = [b for args in runs for a, b in zip(args, args[1:]) if a == "--config"] + ensembles
    seen: set[str] = set()
    while todo:
        path = (root / todo.pop()).resolve()
        if str(path) in seen or not path.is_file():
            continue
        seen.add(str(path))
        includes = (yaml.safe_load(path.read_text()) or {}).get("include") or []
        todo += [str(path.parent / name) for name in includes]
    return {str(Path(p).relative_to(root.resolve())) for p in seen}


def report(labels: list[str], old: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[int, set[str]]:
    """Print one line per comparison; the number that differ and the settings only the new code has."""
    failed, extra = 0, set()
    for label, before, after in zip(labels, old, new):
        found = [f"error {before['error'] or after['error']}"] if before["error"] or after["error"] else []
        found = found or differences(before["config"], new_settings_unrecorded(before["config"], after["config"]))
        extra |= set() if found else set(new_only(before["config"], after["config"]))
        failed += bool(found)
        print(f"{'DIFFERS' if found else 'same   '} {label}" + "".join(f"\n    {d}" for d in found))
    return failed, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="a checkout of the old commit (git worktree)")
    parser.add_argument("--new", type=Path, default=Path("."))
    args = parser.parse_args()
    runs, ensembles, unmatched = pairs(args.old, args.new)
    members, found = ensemble_runs(args.old, args.new, ensembles)
    runs += members
    failed, extra = report(
        [r[0] for r in runs], resolved(args.old, [r[1] for r in runs]), resolved(args.new, [r[2] for r in runs])
    )
    for line in found:
        print(f"DIFFERS {line}")
    read = read_configs(args.old, [r[1] for r in runs], [e[0] for e in ensembles])
    unread = sorted(str(p.relative_to(args.old)) for p in (args.old / "configs").rglob("*.yaml"))
    unread = [p for p in unread if p not in read]
    print(
        f"{len(runs)} resolved configs and {len(ensembles)} ensembles compared: {failed + len(found)} differ; "
        f"settings only the new code has (not compared): {', '.join(sorted(extra)) or 'none'}"
    )
    print(f"old configs no comparison read: {', '.join(unread) or 'none'}")
    print(f"new configs without an old one (not compared): {', '.join(sorted(unmatched)) or 'none'}")
    sys.exit(1 if failed or found else 0)


if __name__ == "__main__":
    main()
