"""The house rules of the package layout (DESIGN.md §2), checked on the source's import graph.

Imports go one way: cli → pipeline → stages → data/config; only ``targeting.tracking`` imports
mlflow; the statistical core imports neither mlflow, nor the CLI, the report or the pipeline.
Imports under ``if TYPE_CHECKING:`` are for annotations only (they never run) and are skipped.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "targeting"

CORE = ("pmt", "evaluation", "plan", "forecast")
STAGES = ("pmt", "evaluation", "plan", "feedback", "forecast", "report", "tracking")

# config/ holds typed specs only (the estimator builder lives in targeting/pmt/build.py): no
# exception to the one-way rule.
ALLOWED: set[tuple[str, str]] = set()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import that runs, at module level or inside functions."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # "from targeting import tracking" imports the sub-package
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, list[tuple[int, str]]]:
    """Imports of every module of the package, keyed by its path relative to the repository."""
    return {
        path.relative_to(package.parent).as_posix(): _imports(ast.parse(path.read_text("utf-8")))
        for path in sorted(package.rglob("*.py"))
    }


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(graph: dict[str, list[tuple[int, str]]]) -> list[str]:
    """Every broken rule as 'file:line imports module (rule)'."""
    broken = []
    for path, imports in graph.items():
        parts = path.removesuffix(".py").split("/")
        sub = parts[1]  # the sub-package, or the top-level module (pipeline, console)
        for line, module in imports:

            def report(rule: str, where: str = path, at: int = line, mod: str = module) -> None:
                broken.append(f"{where}:{at} imports {mod} ({rule})")

            if _under(module, "mlflow") and sub != "tracking":
                report("only targeting.tracking imports mlflow")
            if sub in CORE:
                for banned in ("targeting.cli", "targeting.report", "targeting.pipeline"):
                    if _under(module, banned):
                        report(f"the statistical core ({', '.join(CORE)}) imports no {banned}")
            if sub != "cli" and _under(module, "targeting.cli"):
                report("only the CLI imports targeting.cli")
            if sub in ("data", "config"):
                for stage in (*STAGES, "pipeline", "cli"):
                    target = f"targeting.{stage}"
                    if _under(module, target) and (path, target) not in ALLOWED:
                        report("data/ and config/ import no stage package")
    return sorted(set(broken))


def test_import_rules_hold() -> None:
    assert violations(import_graph()) == []


def test_the_rules_catch_a_broken_import(tmp_path: Path) -> None:
    """A copy of the package with one import of each forbidden kind is reported."""
    planted = {
        "pmt/_planted.py": "import mlflow\n",
        "forecast/_planted.py": "def f():\n    from targeting.pipeline import run_cycle\n",
        "plan/_planted.py": "from targeting import report\n",
        "feedback/_planted.py": "from targeting.cli.common import table\n",
        "data/_planted.py": "from targeting.plan.ranking import build_plan\n",
        "config/_planted.py": "import targeting.tracking\n",
        "report/_planted.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mlflow\n"
        ),
    }
    copy = tmp_path / "targeting"
    for relative, text in planted.items():
        target = copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    found = violations(import_graph(copy))
    for relative in planted:
        hit = [v for v in found if v.startswith(f"targeting/{relative}:")]
        if relative.startswith("report/"):
            assert hit == [], "an annotation-only import must not count"
        else:
            assert hit, f"{relative} breaks a rule but was not reported"


@pytest.mark.parametrize("module", ["targeting", "targeting.pipeline", "targeting.cli.main"])
def test_importing_does_not_import_mlflow(module: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    code = f"import sys, {module}; print('mlflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False", f"import {module} imports mlflow"
