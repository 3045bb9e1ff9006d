"""The core never imports the Telegram library: only handlers/ does."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_does_not_import_telegram() -> None:
    offenders = [p.name for p in (ROOT / "bot").glob("*.py") if "telegram" in imported_modules(p)]
    assert offenders == []


def test_core_does_not_import_handlers_at_module_level() -> None:
    for p in (ROOT / "bot").glob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("handlers") for n in top), p.name
