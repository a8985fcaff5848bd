"""Every member of every shipped ensemble config resolves to a whole config: the real CLI's ``fit ...
--print_config`` of its arguments exits 0 and names a task and a datamodule. Members are read as
``train.py cv`` reads them (``own_args``, ``member_args``), each distinct member checked once however many
ensembles name it, and named by its arguments so a failure says which."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nie.core.config_roles import by_role
from tests.conftest import ROOT, run_train

ENSEMBLES = by_role(ROOT / "configs")["ensemble"]  # the one rule of what an ensemble config is


def distinct_members(ensembles: list[Path]) -> dict[str, tuple[list[str], list[str]]]:
    """Each distinct member's arguments (as ``own_args`` makes them), keyed by them joined, with the
    ensemble files that name it."""
    from nie.protocols.importance.ensemble import own_args

    found: dict[str, tuple[list[str], list[str]]] = {}
    for path in ensembles:
        for member in (yaml.safe_load(path.read_text()) or {})["ensemble"]["members"]:
            args = own_args(member)
            found.setdefault(" ".join(args), (args, []))[1].append(path.relative_to(ROOT).as_posix())
    return found


MEMBERS = distinct_members(ENSEMBLES)


def short_id(member: str) -> str:
    """A member's arguments without ``--config`` and ``configs/`` (pytest shortens ids over 100 characters)."""
    return " ".join(arg.removeprefix("configs/") for arg in member.split() if arg != "--config")


def test_the_members_read_here_are_those_cv_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from nie.protocols.importance.ensemble import ensemble_section, own_args

    monkeypatch.chdir(ROOT)
    assert ENSEMBLES
    read = set()
    for path in ENSEMBLES:
        section = ensemble_section(["--config", str(path.relative_to(ROOT))])
        assert section is not None and len(section.members) >= 2, path
        read |= {" ".join(own_args(member)) for member in section.members}
    assert read == set(MEMBERS)


@pytest.mark.parametrize("member", sorted(MEMBERS), ids=short_id)
def test_every_ensemble_member_resolves_to_a_whole_config(
    member: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nie.protocols.importance.ensemble import member_args

    args, named_by = MEMBERS[member]
    monkeypatch.chdir(ROOT)  # members are named relative to the project root, like every command's paths
    with pytest.raises(SystemExit) as exit_info:
        run_train("fit", *member_args(args, []), "--print_config")
    code = exit_info.value.code
    assert code == 0, f"member of {', '.join(named_by)}: {code} {capsys.readouterr().err}"
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["model"]["class_path"] and resolved["data"]["class_path"], named_by
