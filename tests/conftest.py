import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, TOKEN, shared_brain  # noqa: E402  (needs the path above)


@pytest.fixture(scope="session")
def real_brain():
    """The real knowledge base's Brain (Kiwi + index), built once per test session and shared: bots
    started by tests/harness.py use the same one when their knowledge folder holds the same files."""
    from bot.config import load_config

    return shared_brain(load_config(ROOT / "config.yaml", env={}))


@pytest.fixture(scope="module")
def emu():
    """One Bot API emulator per test module (a module that needs another kind defines its own `emu`)."""
    from emulator import BotApiEmulator

    with BotApiEmulator(token=TOKEN) as e:
        yield e


def pytest_collection_modifyitems(config, items) -> None:
    """Skip tests marked `slow` in a plain run (`pytest`, `pytest tests/x.py`): they start whole bot
    processes and take most of the suite's time. A -m expression (`pytest -m slow`) or naming a test
    (`pytest tests/test_crash.py::test_x`) runs them; CI (.ci/run) runs the fast set, then `-m slow`."""
    if config.getoption("markexpr") or any("::" in arg for arg in config.args):
        return
    skip = pytest.mark.skip(reason="slow: run with `pytest -m slow`")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)
