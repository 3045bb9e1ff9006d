"""The core never imports the Telegram library: only handlers/ does; the running bot never loads the emulator."""

import ast
import subprocess
import sys
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


# -- the Bot API emulator (emulator/) is a test and demo tool, not part of the running bot -----------

TERMINAL = ROOT / "handlers" / "terminal.py"  # `python -m bot chat`: talks to a local emulator on purpose


def module_level_imports(tree: ast.Module) -> set[str]:
    """Top-level packages imported when the module is imported (not inside functions)."""
    names: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue  # runs only when called: a lazy import
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, []))  # if/try/with/class bodies run at import time

    visit(tree.body)
    return names


def test_module_level_imports_sees_nested_statements_and_skips_functions() -> None:
    tree = ast.parse("import os\ntry:\n    import emulator.core\nexcept ImportError:\n    from json import x\n"
                     "if True:\n    from yaml import y\nclass C:\n    import re\n"
                     "def lazy():\n    from telegram import Bot\n")
    assert module_level_imports(tree) == {"os", "emulator", "json", "yaml", "re"}


def test_bot_and_handlers_do_not_import_the_emulator_at_module_level() -> None:
    files = [*(ROOT / "bot").glob("*.py"), *(ROOT / "handlers").glob("*.py")]
    assert TERMINAL in files and len(files) > 10
    offenders = [str(p.relative_to(ROOT)) for p in files if p != TERMINAL
                 and "emulator" in module_level_imports(ast.parse(p.read_text(encoding="utf-8")))]
    assert offenders == []


def test_loading_the_bot_does_not_load_the_emulator() -> None:
    """What `python -m bot run` imports (the app, the CLI, the operator tools) leaves emulator/ alone."""
    code = ("import sys, handlers.app, bot.cli, bot.ops\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'emulator'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
