"""The typed experiment protocols change (``nie.cli.experiment``): no production module builds option strings
for another run, and a changed copy is checked by the parser."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from jsonargparse import ArgumentError

from nie.cli.experiment import Experiment
from nie.protocols.splits import split_identity
from tests.conftest import DEMO, ROOT, TINY

PRODUCTION = [
    ROOT / "train.py",
    ROOT / "predict.py",
    *(p for d in ("nie", "datamodules", "callbacks") for p in (ROOT / d).rglob("*.py")),
]
OPTION = re.compile(r"--(data|trainer|model|checkpoint)[.=]\S*")


def option_strings(path: Path) -> list[str]:
    """String constants of ``path`` that are a run's option (``--data.init_args.fold``), not prose naming one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and OPTION.fullmatch(node.value.strip()):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_the_scan_finds_a_built_option() -> None:
    tree = ast.parse('args = [*args, "--data.init_args.fold", str(k)]; other = f"--trainer.max_epochs={n}"')
    values = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert [v for v in values if OPTION.fullmatch(v.strip())] == ["--data.init_args.fold", "--trainer.max_epochs="]


def test_no_production_module_builds_options_for_another_run() -> None:
    assert len(PRODUCTION) > 50
    assert [hit for path in PRODUCTION for hit in option_strings(path)] == []


def test_a_changed_copy_is_the_run_its_options_give(workdir: Path) -> None:
    """``with_data``/``with_trainer``/``with_checkpoint`` build the configuration the same options on the
    command line build (the same split settings: cv and backtest read back splits made before the change)."""
    from nie.cli.lightning_cli import NIECLI

    base = ["--config", DEMO, *TINY]
    options = ["--data.init_args.fold", "2", "--trainer.max_epochs", "3", "--checkpoint.root", "r"]
    by_options = NIECLI(args=[*base, *options], run=False)
    experiment = Experiment.from_argv(base)
    changed = experiment.with_data(fold=2).with_trainer(max_epochs=3).with_checkpoint(root="r")
    built = changed.build()
    assert built.datamodule.hparams["fold"] == 2 and built.trainer.max_epochs == 3
    assert split_identity(built) == split_identity(by_options)
    assert experiment.config["data.init_args.fold"] == 0  # a copy: the experiment itself is unchanged
    assert experiment.configs == (DEMO,)


def test_a_wrong_value_is_refused_by_the_parser(workdir: Path) -> None:
    experiment = Experiment.from_argv(["--config", DEMO, *TINY])
    with pytest.raises(ArgumentError, match="no_such_argument"):
        experiment.with_data(no_such_argument=1).build()
    with pytest.raises(ArgumentError, match="max_epochs"):
        experiment.with_trainer(max_epochs="many").build()


def test_the_generic_command_line_imports_no_protocol() -> None:
    """Protocol sections (``backtest:``) are registered by their packages, not by ``lightning_cli``."""
    tree = ast.parse((ROOT / "nie" / "cli" / "lightning_cli.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "nie.cli.sections" in imported
    assert not [m for m in imported if m.startswith(("nie.protocols.forecasting", "nie.protocols.importance"))]
    from nie.cli.sections import SECTIONS
    from nie.protocols.forecasting.plan import BacktestPlan

    assert SECTIONS["backtest"][0] is BacktestPlan


def test_best_json_is_named_once() -> None:
    """One writer and one reader of a run folder's best checkpoint record (``callbacks.checkpoint``)."""
    named = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in PRODUCTION
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value == "best.json"
    ]
    assert len(named) == 1 and named[0].startswith("callbacks/checkpoint.py:"), named


def test_the_runs_root_is_named_once() -> None:
    """``HParamCheckpoint``'s ``root`` default is the one place; the logger's folder follows it."""
    named = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in PRODUCTION
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in ("runs", "runs/")
    ]
    assert len(named) == 1 and named[0].startswith("callbacks/checkpoint.py:"), named


def test_the_network_class_is_taken_from_a_factory_once() -> None:
    """``nie.core.naming.network_class`` is the one rule (run names and ensemble checks both use it)."""
    readers = [
        f"{path.relative_to(ROOT)}"
        for path in PRODUCTION
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "getattr"
        and len(node.args) > 1
        and getattr(node.args[1], "value", None) == "args"
    ]
    assert readers == ["nie/core/naming.py"]


def hint_makers(source: str) -> int:
    """How many places of ``source`` match names (``difflib``) or word a "did you mean" hint themselves."""
    found = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found += any(name == "difflib" for name in [getattr(node, "module", None), *(a.name for a in node.names)])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += "(did you mean " in node.value
    return found


def test_did_you_mean_is_worded_once() -> None:
    """``nie.core.errors.did_you_mean`` is the one matcher and wording of a refused name's hint (the command line's
    options and a standalone section's fields both use it)."""
    from nie.core.errors import did_you_mean

    assert hint_makers('import difflib\nhint = f" (did you mean {close[0]!r}?)"') == 2
    assert hint_makers("from difflib import get_close_matches") == 1
    assert [str(p.relative_to(ROOT)) for p in PRODUCTION if hint_makers(p.read_text())] == ["nie/core/errors.py"]
    assert did_you_mean("weight", ["weights", "weights_on", "members"]) == " (did you mean 'weights' or 'weights_on'?)"
    assert did_you_mean("weight", ["weights", "weights_on"], n=1) == " (did you mean 'weights'?)"
    assert did_you_mean("lr", ["lr", "lrs"]) == " (did you mean 'lrs'?)" and did_you_mean("zzz", ["lr"]) == ""


RECORDS = {"recorded_settings", "split_settings", "split_identity", "folder_settings", "data_identity", "run_values"}
RECORD_KEYS = {"CHECKPOINT_KEY", "SETTINGS_FILE", "DATA_FINGERPRINT", "run_settings", "settings", "data_fingerprint"}


def is_record(node: ast.AST, names: set[str]) -> bool:
    """Whether ``node`` holds a run's recorded settings: made by an identity function (or a callback's
    ``settings()``), read under a record's key, or a name given one (``names``)."""
    for sub in ast.walk(node):
        called = getattr(sub.func, "id", getattr(sub.func, "attr", None)) if isinstance(sub, ast.Call) else None
        if called in {*RECORDS, "settings"} or (isinstance(sub, ast.Name) and sub.id in names):
            return True
        key = sub.slice if isinstance(sub, ast.Subscript) else sub.args[0] if called == "get" and sub.args else None
        if getattr(key, "id", getattr(key, "value", None)) in RECORD_KEYS:
            return True
    return False


def identity_comparisons(source: str) -> list[int]:
    """Lines of ``source`` that compare runs' recorded settings themselves (``==``/``!=`` on a record, a hash of
    one, a function of its own for their differences) instead of calling ``run_settings.differences``."""
    tree, names = ast.parse(source), set()
    for _ in range(2):  # a record passed on through another name
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                if is_record(node.value, names):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    found = []
    for node in ast.walk(tree):
        compares = isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops)
        hashes = isinstance(node, ast.Call) and "hash" in ast.unparse(node.func)
        if ((compares or hashes) and is_record(node, names)) or (
            isinstance(node, ast.FunctionDef) and "differen" in node.name
        ):
            found.append(node.lineno)
    return sorted(set(found))


def called_names(source: str) -> set[str]:
    return {n.func.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


class InlineDifferences(ast.NodeTransformer):
    """A module as it would read had it compared the records itself: ``differences(a, b)`` as ``a != b``."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if getattr(node.func, "id", None) == "differences" and len(node.args) == 2:
            return ast.Compare(left=node.args[0], ops=[ast.NotEq()], comparators=[node.args[1]])
        return self.generic_visit(node)


def test_run_identity_is_compared_in_one_place() -> None:
    """``nie.core.run_settings.differences`` is the one comparison of two runs' recorded settings: folder reuse
    (``HParamCheckpoint.run_dir``), checkpoint compatibility (``CheckpointedTask.on_load_checkpoint``) and a cv
    fold or backtest origin read back (``nie.protocols.splits``) call it; no other module compares records."""
    planted = [
        "def reuse(self, folder, module, data):\n    saved = folder_settings(folder)\n"
        "    return saved != self.settings(module, data)",
        "made = split_identity(cli)\nsame = hashlib.sha1(json.dumps(made).encode()).hexdigest() == old_hash",
        "if checkpoint[CHECKPOINT_KEY] != recorded_settings(run_values(self, dm), ()):\n    raise ValueError",
        "def settings_differences(a, b):\n    return sorted(k for k in a if a[k] != b.get(k))",
    ]
    assert [identity_comparisons(source) for source in planted] == [[3], [2], [1], [1]]
    sources = {str(p.relative_to(ROOT)): p.read_text() for p in PRODUCTION}
    callers = sorted(path for path, source in sources.items() if "differences" in called_names(source))
    assert callers == ["callbacks/checkpoint.py", "nie/core/task_checkpoints.py", "nie/protocols/splits.py"]
    assert all(identity_comparisons(ast.unparse(InlineDifferences().visit(ast.parse(sources[p])))) for p in callers)
    compared = {path: identity_comparisons(source) for path, source in sources.items()}
    assert {path: lines for path, lines in compared.items() if lines and path != "nie/core/run_settings.py"} == {}
    assert compared["nie/core/run_settings.py"]  # the one comparison is found where it is defined


def test_train_predict_without_a_config_reads_the_recorded_run_as_predict_py_does(workdir: Path) -> None:
    import pandas as pd

    from predict import main as predict_main
    from tests.conftest import run_train
    from tests.power_data import write_power_config

    config = str(write_power_config(workdir / "data", network="Persistence"))
    run_train("fit", "--config", config)
    ckpt = next(Path("runs").rglob("last.ckpt"))
    run_train("predict", "--ckpt_path", str(ckpt), "--out", "by_train.csv")
    predict_main(["--ckpt", str(ckpt), "--out", "by_predict.csv"])
    by_train = pd.read_csv("by_train.csv")
    assert len(by_train) > 0 and by_train.equals(pd.read_csv("by_predict.csv"))
    with pytest.raises(SystemExit, match=r"^error: --ckpt_path nothing.ckpt: checkpoint not found"):
        run_train("predict", "--ckpt_path", "nothing.ckpt")


def test_cross_validate_is_a_function_over_an_experiment(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    """``nie.protocols`` from Python, no argv: the folds of an experiment run, then read back unchanged."""
    from nie.protocols.importance.cv import cross_validate
    from nie.protocols.splits import SPLIT_RESULT

    experiment = Experiment.from_argv(["--config", DEMO, *TINY, "--trainer.max_epochs", "1"])
    first = cross_validate(experiment, folds=[0, 2])
    assert first.labels == ["fold 0", "fold 2"]
    assert ["fold0" in d.parts for d in first.directories] == [True, False] and "fold2" in first.directories[1].parts
    assert all((d / SPLIT_RESULT).is_file() for d in first.directories)
    assert set(first.table()) >= {"spearman", "best_val/spearman", "fit_test_seconds"}
    again = cross_validate(experiment, folds=[0, 2])
    assert "fold 2: done earlier" in capsys.readouterr().out
    assert again.metrics == first.metrics and again.directories == first.directories
