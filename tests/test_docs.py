"""Docs as tests: every shell command in README.md and docs/*.md runs or parses; every path they name exists.

Commands are the lines of fenced ``bash`` blocks, and the inline commands of README.md's table rows.
``PLAN`` says, per command, how it is checked and why; the first matching pattern wins, and a command
no pattern matches fails, so a new command needs a rule. The ways to check:

* ``run``: run as written (demo-sized, or ``--print_config`` already), with ``DEMO`` overrides for
  the demo config (300 nodes, 3 epochs).
* ``graph``: FB15k needs the real data and minutes per fold, so the command runs as written plus
  ``GRAPH``: one fold of a generated 200-node graph in the RGTN layout (``my_graph/``), 5 epochs.
* ``power``: GEFCom2014 needs the real table and minutes, so it runs plus ``POWER``: a generated
  two-station table with GEFCom2014's columns, 2 epochs; backtests also get ``BACKTEST`` (two weekly
  origins).
* ``parse``: hours of training, GPUs or several processes: ``--print_config`` (an ensemble: every
  member; ``select``: every candidate) must exit 0.
* ``help``: a bench script: every option the command names is one its ``--help`` lists.
* ``install``, ``suite``, ``tensorboard``: what they name exists (the extra, the pin, the package).

A checkpoint a command reads (``--ckpt_path best|last``, ``predict.py --ckpt``) comes from the fit
in ``PREREQUISITES`` when no earlier command made it; ``predict.py``'s documented path must then exist.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.util
import io
import re
import runpy
import shlex
import sys
from itertools import takewhile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datamodules.kg.synthetic import write_synthetic_graph
from tests.conftest import ROOT, TINY
from tests.power_data import make_power_table

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH_DOCS = [*DOCS, ROOT / "ARCHITECTURE.md", ROOT / "bench" / "DEVICE.md"]
PROGRAMS = ("python", "python3", "pip", "pytest", "tensorboard", "torchrun", "srun", "bash")

DEMO = [*TINY, "--trainer.max_epochs", "3"]
GRAPH = ["--data.init_args.root", "my_graph", "--data.init_args.features", "[degree]", "--trainer.max_epochs", "5"]
POWER = [
    *("--data.init_args.path", "gefcom.csv", "--data.init_args.seq_len", "48"),
    *("--data.init_args.val_start", "2020-01-25 00:00", "--data.init_args.test_start", "2020-02-01 00:00"),
    *("--data.init_args.test_end", "2020-02-09 00:00", "--trainer.max_epochs", "2", "--early_stopping.min_epochs", "1"),
]
BACKTEST = [
    *("--backtest.first_origin", "2020-01-25 01:00", "--backtest.last_origin", "2020-02-01 01:00"),
    *("--backtest.step", "7D", "--backtest.val_span", "7D", "--backtest.finetune_epochs", "1"),
]
PLAN: list[tuple[str, str, str]] = [  # (regex searched in the command, how, why)
    (r"^pip install", "install", "installs packages: the extra or the pin it names must exist"),
    (r"^pytest -q$", "suite", "the suite itself (CI runs it)"),
    (r"^tensorboard --logdir runs/tensorboard$", "tensorboard", "a server: the package must be installed"),
    (r"--print_config", "run", "parses only: run as written"),
    (r"accelerator gpu|strategy ddp|^torchrun|^srun|dgl/tools/launch.py", "parse", "needs GPUs or several processes"),
    (r"^python bench/", "help", "a benchmark of minutes to hours"),
    (r"configs/demo.yaml|runs/geni/synthetic/", "run", "demo-sized"),
    (r"train.py (cv|fit) --config configs/fb15k/geni.yaml( --data.init_args.root my_graph/)? --out", "graph", "GENI"),
    (r"predict.py --ckpt runs/geni/fb15k/", "graph", "reads the GENI fit's checkpoint"),
    (r"configs/fb15k/", "parse", "FB15k: minutes to hours per configuration"),
    (r"configs/gefcom2014/lightgbm", "parse", "LightGBM itself runs in tests/test_gbdt.py"),
    (r"train.py backtest .*gefcom2014_tasks.yaml --out bt.json$", "power", "GEFCom2014's 12 origins: an hour"),
    (r"train.py backtest", "parse", "other backtests: what they add to the one above is config"),
    (r"configs/gefcom2014/|runs/lstm/gefcom2014_solar/", "power", "GEFCom2014: minutes"),
]
PREREQUISITES = {  # a documented checkpoint folder -> the fit that writes it
    "runs/geni/synthetic/": ["fit", "--config", "configs/demo.yaml", *DEMO],
    "runs/geni/fb15k/": ["fit", "--config", "configs/fb15k/geni.yaml", *GRAPH],
    "runs/lstm/gefcom2014_solar/": ["fit", "--config", "configs/gefcom2014/lstm.yaml", *POWER],
}


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def table_commands(text: str) -> list[str]:
    """Inline commands in table rows (README.md's common tasks)."""
    spans = [s for line in text.splitlines() if line.startswith("|") for s in re.findall(r"`([^`]+)`", line)]
    return [s for s in spans if s.split()[0] in PROGRAMS]


def commands(path: Path) -> list[list[str]]:
    """Every command of a page, as argument lists (``&&`` splits a line into two commands)."""
    text = path.read_text()
    lines = [line for block in fenced_blocks(text, "bash") for line in block.replace("\\\n", " ").splitlines()]
    found = []
    for line in [*lines, *table_commands(text)]:
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            found.append(words[:cut])
            words = words[cut + 1 :]
    return found


def how(words: list[str]) -> tuple[str, str]:
    line = shlex.join(words)
    for pattern, way, why in PLAN:
        if re.search(pattern, line):
            return way, why
    raise AssertionError(f"no rule in tests/test_docs.py PLAN says how to check: {line}")


def train(args: list[str]) -> str:
    """``train.py`` in this process; its stdout. A refused command fails the test with its error line."""
    from train import main

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            main(args)
    except SystemExit as stop:
        assert stop.code in (0, None), f"train.py {shlex.join(args)}: {stop.code}"
    return out.getvalue()


def parse(args: list[str]) -> None:
    """``--print_config`` of a ``train.py`` command; an ensemble's members and ``select``'s candidates each."""
    from nie.protocols.importance.ensemble import ensemble_section, member_args
    from nie.protocols.select import candidate_args

    if args[0] == "select":
        listed = train(["select", "--help"])
        assert not [a for a in args if a.startswith("--") and a not in listed], f"select --help: {args}"
        for candidate in takewhile(lambda a: not a.startswith("--"), args[args.index("--candidates") + 1 :]):
            parse(["cv", *candidate_args(candidate)])
        return
    section = ensemble_section(args[1:]) if args[0] == "cv" else None
    members = [member_args(m, []) for m in section.members] if section else [args[1:]]
    for member in members:
        assert "class_path" in train([args[0] if not section else "fit", *member, "--print_config"])


def train_args(words: list[str]) -> list[str]:
    """The ``train.py`` arguments of a command, also under a launcher (torchrun, srun, DGL's launch.py)."""
    if "dgl/tools/launch.py" in words[1:2]:
        return train_args(shlex.split(words[-1]))
    return words[words.index("train.py") + 1 :]


def ensure_checkpoint(words: list[str], done: set[str]) -> None:
    """Fit what a command's checkpoint needs, unless a command before it did."""
    line = shlex.join(words)
    for folder, fit in PREREQUISITES.items():
        matches = folder in line or ("--ckpt_path" in words and fit[2] in words)
        if matches and folder not in done:
            train(fit)
            done.add(folder)
    if words[1] == "predict.py":
        ckpt = words[words.index("--ckpt") + 1]
        assert Path(ckpt).is_file(), f"{line}: the fit before it writes no {ckpt}"


def run(words: list[str], extra: list[str], done: set[str]) -> None:
    ensure_checkpoint(words, done)
    if words[1] == "predict.py":
        from predict import main

        main([*words[2:]])
        out = Path(words[words.index("--out") + 1])
        assert out.is_file() and out.with_suffix(".png").is_file(), f"{shlex.join(words)}: no CSV + PNG"
        return
    args = train_args(words)
    if args[0] == "cv":
        extra = [*extra, "--folds", "0"]
    if args[0] == "backtest":
        extra = [*extra, *BACKTEST]
    train([*args, *extra])
    if "--out" in args and "--print_config" not in args:
        assert Path(args[args.index("--out") + 1]).exists(), f"{shlex.join(words)}: no --out written"
    if args[0] in ("fit", "cv"):  # a later --ckpt_path of this config reads this fit (cv: its fold 0)
        done.update(folder for folder, fit in PREREQUISITES.items() if fit[2] in args)


def bench_help(words: list[str]) -> None:
    script = ROOT / words[1]
    out = io.StringIO()
    argv = sys.argv
    try:
        sys.argv = [str(script), "--help"]
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    unknown = [w for w in words[2:] if w.startswith("--") and w not in out.getvalue()]
    assert not unknown, f"{shlex.join(words)}: {script.name} --help lists no {unknown}"


def install(words: list[str]) -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extras = setup["options.extras_require"]
    for target in words[2:]:
        if target.startswith("."):
            extra = re.fullmatch(r"\.(?:\[(\w+)\])?", target)
            assert extra and (extra.group(1) is None or extra.group(1) in extras), f"pip install -e {target}"
        elif "==" in target:
            assert target in setup["options"]["install_requires"], f"{target}: not the version setup.cfg pins"


def check_command(words: list[str], done: set[str]) -> None:
    way, _ = how(words)
    if way == "install":
        install(words)
    elif way == "suite":
        setup = configparser.ConfigParser()
        setup.read(ROOT / "setup.cfg")
        assert "pytest" in setup["options.extras_require"]["dev"]
    elif way == "tensorboard":
        assert importlib.util.find_spec("tensorboard") is not None
    elif way == "parse":
        parse(train_args(words))
    elif way == "help":
        bench_help(words)
    else:
        extra = {"run": DEMO if "configs/demo.yaml" in words else [], "graph": GRAPH, "power": POWER}[way]
        run(words, extra if "--print_config" not in words else [], done)


def gefcom_like_table(path: Path) -> None:
    """Two generated stations in GEFCom2014's columns (configs/gefcom2014/parts/data.yaml names them)."""
    table = make_power_table(stations=2, days=40)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"TIMESTAMP": table.time, "ZONEID": table.station, "POWER": table.power})
    for name in ["VAR78", "VAR79", "VAR134", "VAR157", "VAR164", "VAR165", "VAR166", "VAR167"]:
        frame[name] = rng.uniform(0, 1, len(frame))
    for name in ["VAR169", "VAR175", "VAR178", "VAR228"]:  # accumulated fields
        frame[name] = table.irradiance
    frame.to_csv(path, index=False)


@pytest.fixture
def docs_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A page's commands run here: the configs as in the project root, the generated data beside them."""
    folder = tmp_path
    monkeypatch.chdir(folder)
    (folder / "configs").symlink_to(ROOT / "configs")
    write_synthetic_graph(folder / "my_graph", num_nodes=200, num_relations=3, avg_degree=5, seed=1)
    gefcom_like_table(folder / "gefcom.csv")
    return folder


CHECKED: set[str] = set()  # commands that need nothing before them, checked on an earlier page


@pytest.mark.parametrize("page", [p.relative_to(ROOT).as_posix() for p in DOCS])
def test_every_documented_command_runs_or_parses(page: str, docs_workdir: Path) -> None:
    text = (ROOT / page).read_text()
    for block in fenced_blocks(text, "yaml"):  # "# file: NAME" blocks are files its commands read
        if name := re.match(r"# file: (\S+)\n", block):
            Path(name.group(1)).write_text(block)
    fitted: set[str] = set()  # checkpoint folders a command wrote
    for words in commands(ROOT / page):
        if shlex.join(words) not in CHECKED:
            check_command(words, fitted)
            if how(words)[0] == "parse" or {"cv", "backtest", "select"} & set(words[2:3]):
                CHECKED.add(shlex.join(words))  # self-contained: once for all pages


PATH = re.compile(
    r"(?<![\w./-])((?:configs|docs|nie|datamodules|callbacks|bench|tests|results)/[\w./-]*\w/?"
    r"|[A-Z]+\.md|train\.py|predict\.py|setup\.cfg|pyproject\.toml)(?![\w<*$])"
)


@pytest.mark.parametrize("page", [p.relative_to(ROOT).as_posix() for p in PATH_DOCS])
def test_every_path_the_docs_name_exists(page: str) -> None:
    named = set(PATH.findall((ROOT / page).read_text()))
    assert named, page
    assert not sorted(p for p in named if not (ROOT / p).exists()), page


def test_readme_is_short_and_opens_with_its_title() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0] == "# nie" and len(lines) <= 150
    assert "pip install -e . && python train.py fit --config configs/demo.yaml" in lines
    assert 'pip install -e ".[dev]" && pytest -q' in lines


def test_every_rule_is_used() -> None:
    """A rule no command needs any more is dead; drop it."""
    used = {how(words) for page in DOCS for words in commands(page)}
    assert {(way, why) for _, way, why in PLAN} == used


def test_error_pages_exist_and_the_cli_line_names_them(docs_workdir: Path) -> None:
    from nie.core import errors

    pages = {c.docs for c in vars(errors).values() if isinstance(c, type) and getattr(c, "docs", None)}
    assert pages >= {"docs/data.md", "docs/runs.md"} and all((ROOT / p).is_file() for p in pages)
    bad = pd.read_csv("gefcom.csv")
    bad.loc[30, "POWER"] = "high"
    bad.to_csv("bad.csv", index=False)
    from train import main

    with pytest.raises(SystemExit, match=r"^error: bad.csv.*\(see docs/data.md\)$"):
        main(["fit", "--config", "configs/gefcom2014/lstm.yaml", *POWER, "--data.init_args.path", "bad.csv"])
    main(["fit", "--config", "configs/demo.yaml", *DEMO])
    with pytest.raises(SystemExit, match=r"^error: runs/geni/synthetic/.* holds a run already .*\(see docs/runs.md\)$"):
        main(["fit", "--config", "configs/demo.yaml", *DEMO])
    graph = write_synthetic_graph(docs_workdir / "bad_graph", compress=False, num_nodes=50, num_relations=2, seed=1)
    with open(graph / "synthetic_rel-all.txt", "a") as triples:
        triples.write("1\tfriend\t2\n")
    with pytest.raises(SystemExit, match=r"^error: .*synthetic_rel-all.txt.*\(see docs/data.md\)$"):
        main(["fit", "--config", "configs/fb15k/geni.yaml", *GRAPH, "--data.init_args.root", "bad_graph"])


READER = {  # a newcomer's question -> (the page, the phrase they search for, what the line it finds must name)
    "the FB15k GENI 5-fold command": (
        "README.md",
        "GENI 5-fold",
        "python train.py cv --config configs/fb15k/geni.yaml",
    ),
    "how to add a GNN": ("ARCHITECTURE.md", "GNN", "nie/importance/models/"),
    "where forecast windows are cut": ("ARCHITECTURE.md", "windows: where", "datamodules/power/windows.py"),
    "where checkpoint names come from": ("ARCHITECTURE.md", "checkpoint names", "callbacks/checkpoint.py"),
}


@pytest.mark.parametrize("question", READER)
def test_a_reader_of_readme_and_architecture_finds(question: str) -> None:
    page, phrase, answer = READER[question]
    first = next(line for line in (ROOT / page).read_text().splitlines() if phrase in line)
    assert answer in first, (question, first)


def test_every_headline_number_is_one_results_md_gives() -> None:
    """The README's headline figures are copied from RESULTS.md, never typed from elsewhere."""
    readme = (ROOT / "README.md").read_text()
    headlines = readme.split("## Headline results")[1].split("\n## ")[0]
    numbers = re.findall(r"\d+\.\d+", headlines)
    results = (ROOT / "RESULTS.md").read_text()
    assert numbers and not [n for n in numbers if n not in results]


SOURCES = [
    ROOT / "train.py",
    ROOT / "predict.py",
    *(p for d in ("nie", "datamodules", "callbacks") for p in (ROOT / d).rglob("*.py")),
]


def test_the_code_points_to_docs_pages_that_exist_never_to_readme_sections() -> None:
    """Error lines and docstrings name a docs page for the fix; the README holds no reference sections."""
    texts = {p.relative_to(ROOT).as_posix(): p.read_text() for p in SOURCES}
    named = {page for text in texts.values() for page in re.findall(r"docs/\w+\.md", text)}
    assert named >= {"docs/data.md", "docs/runs.md"} and not [p for p in named if not (ROOT / p).is_file()]
    stale = [
        f"{path}:{n}"
        for path, text in texts.items()
        for n, line in enumerate(text.splitlines(), 1)
        if re.search(r"README[,:] *['\"A-Z]", line)
    ]
    assert not stale, f"these name a README section; name the docs/ page instead: {stale}"
