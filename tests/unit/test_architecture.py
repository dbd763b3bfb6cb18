"""The architecture, kept by tests: the layers of docs/architecture.md agree with the imports,
no import runs in a circle, and the rules that keep the faces thin hold.

Imports are read from the source (every ``import`` statement, at module level or inside a
function; the annotations-only ones under ``if TYPE_CHECKING:`` do not run and are left
out). Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first, so the
transitive rules (what the offline verifier ends up importing) follow those too.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "aidflow"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

STDLIB = frozenset(sys.stdlib_module_names)
STORE_OPENERS = (
    "sqlalchemy",
    "psycopg",
    "psycopg_pool",
    "sqlite3",
    "eventsourcing.persistence",
    "eventsourcing.application",
    "eventsourcing.sqlite",
    "eventsourcing.postgres",
    "eventsourcing.popo",
    "eventsourcing.system",
    "eventsourcing.projection",
    "aidflow.config",
    "aidflow.store",
    "aidflow.privacy",
    "aidflow.source",
    "aidflow.projections",
    "aidflow.application",
    "aidflow.office",
)
"""What opens (or reaches) a store: the drivers, the library's persistence, aidflow's own."""

FACES = ("aidflow.cli", "aidflow.http")
AGGREGATES = tuple(
    f"aidflow.domain.{name}" for name in ("base", "case", "fund", "keys", "payments", "events")
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    found: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def imports() -> dict[str, frozenset[str]]:
    """Module -> what it imports at run time: aidflow modules, and others by full name."""
    known = modules()
    graph: dict[str, frozenset[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    found.add(child if child in known else base)
        graph[name] = frozenset(found)
    return graph


def parents(name: str) -> list[str]:
    """The packages importing ``name`` runs first (``a``, ``a.b`` for ``a.b.c``)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def reached(start: str) -> set[str]:
    """Everything importing ``start`` runs, transitively (parent packages included)."""
    graph, known = imports(), modules()
    seen: set[str] = set()
    todo = [start, *parents(start)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in known:
            for target in graph[name]:
                todo += [target, *(p for p in parents(target) if p in known)]
    return seen


# -- the layers, as docs/architecture.md lists them ---------------------------------------------


@cache
def layers() -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    """(layer -> its module prefixes, layer -> the layers it may import) from the doc's table."""
    text = ARCHITECTURE.read_text("utf-8")
    table = text.split("<!-- layers:begin -->")[1].split("<!-- layers:end -->")[0]
    owned: dict[str, tuple[str, ...]] = {}
    allowed: dict[str, frozenset[str]] = {}
    for row in table.strip().splitlines()[2:]:
        layer, owns, may = (cell.strip() for cell in row.strip().strip("|").split("|"))
        owned[layer] = tuple(re.findall(r"`(aidflow[\w.]*)`", owns))
        allowed[layer] = frozenset(x.strip() for x in may.split(",") if x.strip() != "-")
    return owned, allowed


def layer_of(name: str) -> str | None:
    owned, _ = layers()
    best = max(
        ((len(p), layer) for layer, ps in owned.items() for p in ps if within(name, p)),
        default=None,
    )
    return None if best is None else best[1]


def _exists(name: str) -> bool:
    """A module (``aidflow.office``, ``aidflow/office/office.py``) or a name in one
    (``aidflow.config.parse_url``)."""
    if "/" in name:
        return name.replace("/", ".").removesuffix(".py") in modules()
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if module in modules():
            found: object = importlib.import_module(module)
            for attr in parts[cut:]:
                if not hasattr(found, attr):
                    return False
                found = getattr(found, attr)
            return True
    return False


def test_every_module_the_architecture_names_exists_and_every_module_has_a_layer() -> None:
    text = ARCHITECTURE.read_text("utf-8")
    named = set(re.findall(r"`(aidflow(?:\.\w+)+|aidflow/[\w/]+\.py)`", text))
    missing = sorted(n for n in named if not _exists(n))
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
    known = modules()
    homeless = sorted(n for n in known if n != "aidflow" and layer_of(n) is None)
    assert not homeless, f"modules in no layer of docs/architecture.md: {homeless}"


def test_the_imports_follow_the_layers() -> None:
    _, allowed = layers()
    wrong = []
    for name, targets in imports().items():
        here = layer_of(name)
        for target in targets:
            there = layer_of(target) if within(target, "aidflow") else None
            if here is None or there is None or there == here:
                continue
            if there not in allowed[here]:
                wrong.append(f"{name} ({here}) imports {target} ({there})")
    assert not wrong, "imports against docs/architecture.md's layers:\n" + "\n".join(sorted(wrong))


# -- the rules ------------------------------------------------------------------------------------


RULES: list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    # (rule, importers, what they must not import, exceptions among the importers)
    ("no face imports another face", ("aidflow.cli",), ("aidflow.http",), ()),
    ("no face imports another face", ("aidflow.http",), ("aidflow.cli",), ()),
    (
        "nothing imports the CLI but the CLI and the program (its entry points)",
        ("aidflow",),
        ("aidflow.cli",),
        ("aidflow.cli", "aidflow.warm"),
    ),
    (
        "faces do not reach under the Office or the views' facade",
        FACES,
        (
            "aidflow.application",
            "aidflow.privacy",
            "aidflow.config",
            "aidflow.store",
            "aidflow.source",
            "aidflow.roles",
            "sqlalchemy",
            "eventsourcing",
            "psycopg",
            *AGGREGATES,
        ),
        (),
    ),
    (
        "the domain imports only the standard library and eventsourcing.domain",
        ("aidflow.domain",),
        ("*",),
        (),
    ),
]


def _breaks(name: str, target: str, forbidden: tuple[str, ...]) -> bool:
    if forbidden == ("*",):  # the domain's rule: stdlib, eventsourcing.domain, itself
        top = target.split(".")[0]
        return not (top in STDLIB or within(target, ("eventsourcing.domain", "aidflow.domain")))
    return within(target, forbidden)


@pytest.mark.parametrize("rule", RULES, ids=[f"{r[0]} ({r[1][0]})" for r in RULES])
def test_rule(rule: tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]) -> None:
    text, importers, forbidden, exempt = rule
    broken = [
        f"{name} imports {target}"
        for name, targets in imports().items()
        if within(name, importers) and not (exempt and within(name, exempt))
        for target in sorted(targets)
        if _breaks(name, target, forbidden)
    ]
    assert not broken, f"{text}:\n" + "\n".join(broken)


def test_faces_reach_the_read_side_only_through_its_models() -> None:
    """The views' answers (``aidflow.projections.models``) are the facade's; nothing deeper."""
    broken = [
        f"{name} imports {target}"
        for name, targets in imports().items()
        if within(name, FACES)
        for target in targets
        if within(target, "aidflow.projections") and target != "aidflow.projections.models"
    ]
    assert not broken, "\n".join(broken)


def opens_a_store(name: str) -> bool:
    """A store opener, but not a module the table places in a store-free layer (the views'
    answer models), nor a package whose ``__init__`` imports none of aidflow's modules at run
    time (``aidflow.projections`` loads its facade on first use): importing either runs no
    store code (the next test checks the same in a fresh interpreter)."""
    if not within(name, STORE_OPENERS) or layer_of(name) in ("edges", "domain", "verifier"):
        return False
    path = modules().get(name)
    if path is not None and path.name == "__init__.py":
        return any(within(t, STORE_OPENERS) or within(t, "aidflow") for t in imports()[name])
    return True


def verifier_modules() -> list[str]:
    """The modules of the verifier layer, as docs/architecture.md lists them."""
    owned, _ = layers()
    return [n for n in modules() if within(n, tuple(owned["verifier"]))]


def test_the_offline_verifier_imports_nothing_that_opens_a_store() -> None:
    verifier = verifier_modules()
    assert verifier
    broken = {name: sorted(t for t in reached(name) if opens_a_store(t)) for name in verifier}
    assert not {k: v for k, v in broken.items() if v}, broken


def test_the_offline_verifier_runs_with_no_store_module_loaded() -> None:
    """The same, as Python sees it: import every verifier module in a fresh interpreter."""
    verifier = verifier_modules()
    code = (
        "import sys\n"
        + "".join(f"import {n}\n" for n in verifier)
        + "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'psycopg', 'sqlite3') or m in ('eventsourcing.persistence', "
        "'eventsourcing.application'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert loaded == []


def test_the_command_lines_help_loads_no_store_nor_model_library() -> None:
    """``aidflow --help`` (and each group's) names commands only: the event library,
    SQLAlchemy, pydantic and the spreadsheet readers load when a command runs (issue 24 §6;
    a year-close and an import module once pulled them in at import, 0.05 s became 0.5 s)."""
    code = (
        "import sys, io, contextlib\n"
        "from aidflow.cli import main\n"
        "for argv in (['--help'], ['import', '--help'], ['year', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'eventsourcing', "
        "'sqlalchemy', 'pydantic', 'psycopg', 'openpyxl', 'fastapi'})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert loaded == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_command_lines_own_help_imports_no_command(lang: str) -> None:
    """``aidflow --help`` lists the commands from the root's table (``aidflow.cli.COMMANDS``):
    it imports none of their modules, nor what only commands or failures use (the parameter
    types, the error family; in English the renderer, the messages and the wrapping of
    Chinese too), nor ``shutil`` (click's way to the terminal's width), so a cold ``--help``
    costs little more than click's own start (issue 24 §6: ≤ 3× ``python -c pass``;
    importing every command once cost it ~45 ms)."""
    code = (
        "import sys, io, contextlib\n"
        "from aidflow.cli import COMMANDS, main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        f"        main(['--lang', '{lang}', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert all(name in out.getvalue() for name in COMMANDS), out.getvalue()\n"
        "commands = {e.where.partition(':')[0] for e in COMMANDS.values()}\n"
        "heavy = {'aidflow.cli.params', 'aidflow.cli.failures', 'aidflow.domain.errors'}\n"
        "heavy |= {'shutil'}\n"
        "english = {'aidflow.render', 'aidflow.i18n.messages', 'aidflow.cli.wrapping'}\n"
        "heavy |= english if sys.argv[1] == 'en' else set()\n"
        "print(' '.join(sorted(set(sys.modules) & (commands | heavy))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code, lang], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert loaded == []


def test_no_import_cycle() -> None:
    """Between aidflow's modules, at run time (a package's own ``__init__`` aside: it runs
    before its modules whatever they import)."""
    graph = {n: {t for t in ts if t in imports()} for n, ts in imports().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            connect(node)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_sizes() -> None:
    """No class over 400 lines, no function over 60 (the guide of issue 20), in aidflow/."""
    too_big = defaultdict(list)
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if isinstance(node, ast.ClassDef) and size > 400:
                too_big["class"].append(f"{name}.{node.name}: {size}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and size > 60:
                too_big["function"].append(f"{name}.{node.name}: {size}")
    assert not too_big, dict(too_big)
