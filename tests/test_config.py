"""The configuration contract: config.yaml, overridden by the environment; clear errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_project_config_defaults() -> None:
    cfg = load_config(ROOT / "config.yaml", env={})
    assert cfg.knowledge_dir == ROOT / "knowledge"
    assert str(cfg.timezone) == "Asia/Seoul"
    assert cfg.base_url == "https://api.telegram.org/bot"
    assert cfg.token is None and cfg.staff_ids == frozenset() and cfg.now is None
    assert cfg.broadcast_rate == 25 and cfg.matching.confident > cfg.matching.ambiguous


def test_environment_overrides(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "TELEGRAM_BASE_URL": "http://127.0.0.1:9999/bot",
        "BOT_STAFF_IDS": "11, 22,",
        "BOT_DATA_DIR": str(tmp_path / "d"),
        "BOT_NOW": "2018-09-19T09:50",
    }
    cfg = load_config(ROOT / "config.yaml", env=env)
    assert cfg.token == "123:ABC" and "123:ABC" not in repr(cfg)
    assert cfg.base_url == "http://127.0.0.1:9999/bot"
    assert cfg.staff_ids == frozenset({11, 22}) and cfg.is_staff(22) and not cfg.is_staff(33)
    assert cfg.data_dir == tmp_path / "d"
    assert cfg.now == datetime.fromisoformat("2018-09-19T09:50+09:00")
    clock = cfg.clock()
    assert clock.now() >= cfg.now and (clock.now() - cfg.now).total_seconds() < 5


def test_bot_config_env_selects_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("knowledge_dir: kb\nstaff_ids: [7]\n", encoding="utf-8")
    cfg = load_config(env={"BOT_CONFIG": str(path)})
    assert cfg.knowledge_dir == tmp_path / "kb" and cfg.staff_ids == frozenset({7})


@pytest.mark.parametrize("body,line,field", [
    ("timezone: Mars/Olympus\n", 1, "timezone"),
    ("matching:\n  confident: high\n", 2, "matching.confident"),
    ("matching:\n  analyser: mecab\n", 2, "matching.analyser"),
    ("broadcast:\n  rate_per_second: -1\n", 2, "broadcast.rate_per_second"),
    ("staff_ids: [12, bob]\n", 1, "staff_ids"),
    ("knowlege_dir: kb\n", 1, "knowlege_dir"),
    ("telegram:\n  base_url: api.telegram.org\n", 2, "telegram.base_url"),
    ("broadcast:\n  rate: 3\n", 2, "broadcast.rate"),
    ("matching: [1, 2\n", 2, "(syntax)"),
])
def test_bad_config_names_line_and_field(tmp_path: Path, body: str, line: int, field: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert any(p.field == field and p.line == line and p.file == str(path) for p in info.value.problems), info.value


@pytest.mark.parametrize("var,value", [("BOT_STAFF_IDS", "1,x"), ("BOT_NOW", "yesterday"),
                                       ("TELEGRAM_BOT_TOKEN", "no token"), ("TELEGRAM_BASE_URL", "ftp://x")])
def test_bad_environment(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(ROOT / "config.yaml", env={var: value})
    assert var in str(info.value)
    if var == "TELEGRAM_BOT_TOKEN":
        assert value not in str(info.value)


def test_missing_config_file_named_by_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(env={"BOT_CONFIG": str(tmp_path / "nope.yaml")})


def test_cli_reports_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("timezone: Nowhere/City\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "validate"], capture_output=True, text=True,
                         env={"BOT_CONFIG": str(path), "PATH": ""}, cwd=ROOT)
    assert out.returncode == 2 and f"{path}:1: timezone:" in out.stderr
