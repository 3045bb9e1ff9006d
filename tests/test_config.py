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


# ---------------------------------------------------------------- issue 12 item 3: settings declared once (pydantic)


def _leaves(model: type, prefix: tuple = ()) -> list[tuple[tuple, object]]:
    """(path, FieldInfo) of every setting of the model, groups expanded."""
    from bot.config import _fields

    out = []
    for key, info in _fields(model).items():
        if hasattr(info.annotation, "__pydantic_fields__"):
            out += _leaves(info.annotation, prefix + (key,))
        else:
            out.append((prefix + (key,), info))
    return out


def test_config_yaml_documents_every_setting_with_its_default() -> None:
    """config.yaml is the documentation of the settings: it names every one, with the model's default."""
    from bot.config import Settings
    from bot.yamlsource import load_yaml

    problems: list = []
    doc = load_yaml(ROOT / "config.yaml", problems)
    assert doc is not None and not problems
    leaves = _leaves(Settings)
    assert len(leaves) == 20
    missing = [".".join(path) for path, _ in leaves if path not in doc.lines]
    assert not missing, f"config.yaml does not show: {missing}"
    assert Settings.model_validate(doc.data) == Settings(), "a value in config.yaml differs from its default"
    undocumented = [".".join(path) for path, info in leaves if not info.description]
    assert not undocumented, f"settings without a description: {undocumented}"


def test_defaults_apply_without_a_file_and_for_empty_groups(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("matching:\nbroadcast:\n  concurrency: 4\n", encoding="utf-8")
    cfg = load_config(path, env={})
    assert cfg.broadcast_concurrency == 4 and cfg.broadcast_rate == 25.0 and cfg.broadcast_max_retries == 3
    m = cfg.matching
    assert (m.confident, m.ambiguous, m.margin, m.analyser) == (56, 54, 1, "kiwi")
    assert (cfg.reload_seconds, cfg.flood_messages, cfg.flood_seconds, cfg.reminder_minutes) == (3, 20, 60, 15)
    assert (cfg.webhook_listen, cfg.webhook_port, str(cfg.timezone)) == ("127.0.0.1", 8443, "Asia/Seoul")
    assert isinstance(cfg.broadcast_rate, float) and isinstance(cfg.flood_messages, int)


def test_every_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "timezone: Mars/Olympus\n"         # 1
        "colour: blue\n"                   # 2
        "staff_ids:\n"                     # 3
        "  - 12\n"                         # 4
        "  - bob\n"                        # 5
        "broadcast:\n"                     # 6
        "  rate_per_second: 0.05\n"        # 7
        "  max_retries: 1.5\n"             # 8
        "matching:\n"                      # 9
        "  confident: 50\n"                # 10
        "  ambiguous: 60\n"                # 11
        "  analyser: mecab\n"              # 12
        "flood: 20\n"                      # 13
        "reminders:\n"                     # 14
        "  minutes: 5\n"                   # 15
        "1: x\n",                          # 16
        encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    got = {(p.line, p.field, p.message) for p in info.value.problems}
    assert all(p.file == str(path) for p in info.value.problems)
    assert got == {
        (1, "timezone", "unknown time zone 'Mars/Olympus' (use e.g. Asia/Seoul)"),
        (2, "colour", "unknown setting (known: knowledge_dir, data_dir, timezone, telegram, staff_ids, broadcast, "
                      "matching, reload, flood, reminders, helpdesk)"),
        (5, "staff_ids", "'bob' is not a Telegram user id (a whole number)"),
        (7, "broadcast.rate_per_second", "must be at least 0.1, got 0.05"),
        (8, "broadcast.max_retries", "must be a whole number, got 1.5"),
        (11, "matching.ambiguous", "must not be higher than matching.confident"),
        (12, "matching.analyser", "must be one of kiwi, rules, got 'mecab'"),
        (13, "flood", "must be a group of settings (key: value lines, indented)"),
        (15, "reminders.minutes", "unknown setting (known: default_minutes)"),
        (16, "1", "unknown setting (known: knowledge_dir, data_dir, timezone, telegram, staff_ids, broadcast, "
                  "matching, reload, flood, reminders, helpdesk)"),
    }


@pytest.mark.parametrize("body,message", [
    ("matching:\n  confident: '56'\n", "must be a number, got '56'"),  # quoted: a text, not coerced
    ("broadcast:\n  concurrency: true\n", "must be a whole number, got True"),
    ("flood:\n  per_seconds: 0\n", "must be at least 1, got 0"),
    ("data_dir: '  '\n", "must be a text, got '  '"),
    ("knowledge_dir:\n", "must be a text, got None"),
    ("staff_ids: 5\n", "must be a list of Telegram user ids, e.g. [12345, 67890]"),
    ("staff_ids: [1, true]\n", "True is not a Telegram user id (a whole number)"),
])
def test_values_are_checked_strictly(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert [p.message for p in info.value.problems] == [message]


def test_environment_replaces_the_file_value_and_is_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("staff_ids: [bob]\ndata_dir: ' '\ntelegram:\n  base_url: nowhere\n", encoding="utf-8")
    cfg = load_config(path, env={"BOT_STAFF_IDS": "5", "BOT_DATA_DIR": "rel/d", "TELEGRAM_BASE_URL": "http://h/bot/"})
    assert cfg.staff_ids == frozenset({5}) and cfg.data_dir == Path("rel/d") and cfg.base_url == "http://h/bot"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"BOT_STAFF_IDS": "5", "BOT_DATA_DIR": "d", "TELEGRAM_BASE_URL": "ftp://h"})
    assert [str(p) for p in info.value.problems] == [
        "TELEGRAM_BASE_URL:0: telegram.base_url: must start with http:// or https://, got 'ftp://h'"]


def test_replace_makes_variants_and_matching_stays_validated() -> None:
    from dataclasses import replace

    from pydantic import ValidationError

    cfg = load_config(ROOT / "config.yaml", env={})
    variant = replace(cfg, reload_seconds=0, matching=replace(cfg.matching, analyser="rules"))
    assert variant.reload_seconds == 0 and variant.matching.analyser == "rules" and cfg.matching.analyser == "kiwi"
    with pytest.raises(ValidationError):
        replace(cfg.matching, analyser="mecab")
    with pytest.raises(ValidationError):
        replace(cfg.matching, ambiguous=cfg.matching.confident + 1)


def test_cli_doctor_reports_bad_config_with_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("reload:\n  poll_seconds: soon\nflood:\n  messages: 0\n", encoding="utf-8")
    env = {"BOT_CONFIG": str(path), "PATH": ""}
    doctor = subprocess.run([sys.executable, "-m", "bot", "doctor"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert doctor.returncode == 1
    assert (f"✗ config: {path}:2: reload.poll_seconds: must be a number, got 'soon' (+1 more; python -m bot "
            "validate lists them)") in doctor.stdout
    validate = subprocess.run([sys.executable, "-m", "bot", "validate"], capture_output=True, text=True, env=env,
                              cwd=ROOT)
    assert validate.returncode == 2
    assert f"{path}:2: reload.poll_seconds: must be a number, got 'soon'" in validate.stderr
    assert f"{path}:4: flood.messages: must be at least 1, got 0" in validate.stderr
