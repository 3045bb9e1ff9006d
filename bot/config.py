"""One configuration contract: `config.yaml`, overridden by environment variables.

| variable | overrides |
|---|---|
| `BOT_CONFIG` | path of the config file (default: `config.yaml` in the working directory, else the project's) |
| `TELEGRAM_BOT_TOKEN` | the bot token (only from the environment, never from a file) |
| `TELEGRAM_BASE_URL` | `telegram.base_url` |
| `BOT_STAFF_IDS` | `staff_ids` (comma-separated Telegram user ids) |
| `BOT_DATA_DIR` | `data_dir` |
| `BOT_NOW` | replaces the clock's start (ISO date-time, event time zone if no offset) |

Relative paths in the file are relative to the file's folder. A bad value gives a `ConfigError` that
lists every problem as `file:line: field: message`, like the knowledge base.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock, parse_datetime
from bot.yamlsource import Problem, load_yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent

ENV_VARS = ("BOT_CONFIG", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL", "BOT_STAFF_IDS", "BOT_DATA_DIR", "BOT_NOW")


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


ANALYSERS = ("kiwi", "rules")


@dataclass(frozen=True)
class Matching:
    confident: float = 56.0  # best score at or above this (and clear of the runner-up) answers directly
    ambiguous: float = 54.0  # best score at or above this offers "did you mean"
    margin: float = 1.0  # a runner-up within this many points of the best makes the answer ambiguous
    analyser: str = "kiwi"  # Korean words: "kiwi" (morphological analysis) or "rules" (no Kiwi: ~320 MB less)


@dataclass(frozen=True)
class Config:
    path: Path | None
    knowledge_dir: Path
    data_dir: Path
    timezone: ZoneInfo
    base_url: str
    staff_ids: frozenset[int]
    token: str | None = field(default=None, repr=False)
    now: datetime | None = None
    broadcast_rate: float = 25.0
    broadcast_max_retries: int = 3
    broadcast_concurrency: int = 1
    matching: Matching = Matching()
    reload_seconds: float = 3.0
    flood_messages: int = 20
    flood_seconds: float = 60.0
    reminder_minutes: int = 15
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443

    def clock(self) -> Clock:
        return Clock(self.timezone, self.now)

    def is_staff(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.staff_ids


DEFAULTS: dict[str, Any] = {
    "knowledge_dir": "knowledge",
    "data_dir": "data",
    "timezone": "Asia/Seoul",
    "telegram": {"base_url": "https://api.telegram.org/bot", "webhook_listen": "127.0.0.1", "webhook_port": 8443},
    "staff_ids": [],
    "broadcast": {"rate_per_second": 25, "max_retries": 3, "concurrency": 1},
    "matching": {"confident": 56, "ambiguous": 54, "margin": 1, "analyser": "kiwi"},
    "reload": {"poll_seconds": 3},
    "flood": {"messages": 20, "per_seconds": 60},
    "reminders": {"default_minutes": 15},
}


def default_config_path(env: Mapping[str, str]) -> Path:
    if env.get("BOT_CONFIG"):
        return Path(env["BOT_CONFIG"])
    local = Path.cwd() / "config.yaml"
    return local if local.exists() else PROJECT_DIR / "config.yaml"


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (if it exists), apply the environment, check every value."""
    env = os.environ if env is None else env
    cfg_path = Path(path) if path else default_config_path(env)
    problems: list[Problem] = []
    name = str(cfg_path)
    if cfg_path.exists():
        doc = load_yaml(cfg_path, problems)
        data, lines = (doc.data, doc.lines) if doc else ({}, {})
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(problems or [Problem(name, 1, "(file)", "the config file must be a mapping of settings")])
    elif path or env.get("BOT_CONFIG"):
        raise ConfigError([Problem(name, 0, "(file)", "config file not found")])
    else:
        data, lines = {}, {}
    base = cfg_path.resolve().parent

    def line(*keys: str) -> int:
        return lines.get(tuple(keys), lines.get(keys[:1], 1))

    def get(*keys: str) -> Any:
        cur: Any = data
        for k in keys:
            if not isinstance(cur, dict) or k not in cur:
                cur = DEFAULTS
                for d in keys:
                    cur = cur[d]
                return cur
            cur = cur[k]
        return cur

    def bad(keys: tuple[str, ...], message: str, source: str | None = None) -> None:
        problems.append(Problem(source or name, 0 if source else line(*keys), ".".join(keys), message))

    known = set(DEFAULTS)
    for key in data:
        if key not in known:
            bad((str(key),), f"unknown setting (known: {', '.join(sorted(known))})")

    def number(keys: tuple[str, ...], kind: type, minimum: float) -> Any:
        value = get(*keys)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
            bad(keys, f"must be a {'whole ' if kind is int else ''}number, got {value!r}")
            return kind(get_default(keys))
        if value < minimum:
            bad(keys, f"must be at least {minimum}, got {value}")
            return kind(get_default(keys))
        return kind(value)

    def text(keys: tuple[str, ...]) -> str:
        value = get(*keys)
        if not isinstance(value, str) or not value.strip():
            bad(keys, f"must be a text, got {value!r}")
            return str(get_default(keys))
        return value

    tz_name = text(("timezone",))
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        bad(("timezone",), f"unknown time zone {tz_name!r} (use e.g. Asia/Seoul)")
        tz = ZoneInfo("Asia/Seoul")

    base_url = env.get("TELEGRAM_BASE_URL") or text(("telegram", "base_url"))
    if not base_url.startswith(("http://", "https://")):
        bad(("telegram", "base_url"), f"must start with http:// or https://, got {base_url!r}",
            "TELEGRAM_BASE_URL" if env.get("TELEGRAM_BASE_URL") else None)

    staff: set[int] = set()
    if env.get("BOT_STAFF_IDS") is not None:
        for part in env["BOT_STAFF_IDS"].split(","):
            if part.strip():
                try:
                    staff.add(int(part))
                except ValueError:
                    bad(("staff_ids",), f"{part.strip()!r} is not a Telegram user id (a whole number)", "BOT_STAFF_IDS")
    else:
        raw = get("staff_ids")
        if not isinstance(raw, list):
            bad(("staff_ids",), "must be a list of Telegram user ids, e.g. [12345, 67890]")
        else:
            for item in raw:
                if isinstance(item, int) and not isinstance(item, bool):
                    staff.add(item)
                else:
                    bad(("staff_ids",), f"{item!r} is not a Telegram user id (a whole number)")

    now = None
    if env.get("BOT_NOW"):
        try:
            now = parse_datetime(env["BOT_NOW"], tz)
        except ValueError as exc:
            bad(("now",), str(exc), "BOT_NOW")

    knowledge_dir = base / text(("knowledge_dir",))
    data_dir = Path(env["BOT_DATA_DIR"]) if env.get("BOT_DATA_DIR") else base / text(("data_dir",))

    matching = Matching(
        confident=number(("matching", "confident"), float, 0),
        ambiguous=number(("matching", "ambiguous"), float, 0),
        margin=number(("matching", "margin"), float, 0),
        analyser=text(("matching", "analyser")),
    )
    if matching.analyser not in ANALYSERS:
        bad(("matching", "analyser"), f"must be one of {', '.join(ANALYSERS)}, got {matching.analyser!r}")
    if matching.ambiguous > matching.confident:
        bad(("matching", "ambiguous"), "must not be higher than matching.confident")
    token = env.get("TELEGRAM_BOT_TOKEN") or None
    if token is not None and (":" not in token or any(c.isspace() for c in token)):
        problems.append(Problem("TELEGRAM_BOT_TOKEN", 0, "token", "does not look like a bot token (digits:letters, from @BotFather)"))

    config = Config(
        path=cfg_path if cfg_path.exists() else None,
        knowledge_dir=knowledge_dir,
        data_dir=data_dir,
        timezone=tz,
        base_url=base_url.rstrip("/"),
        staff_ids=frozenset(staff),
        token=token,
        now=now,
        broadcast_rate=number(("broadcast", "rate_per_second"), float, 0.1),
        broadcast_max_retries=number(("broadcast", "max_retries"), int, 0),
        broadcast_concurrency=number(("broadcast", "concurrency"), int, 1),
        matching=matching,
        reload_seconds=number(("reload", "poll_seconds"), float, 0),
        flood_messages=number(("flood", "messages"), int, 1),
        flood_seconds=number(("flood", "per_seconds"), float, 1),
        reminder_minutes=number(("reminders", "default_minutes"), int, 1),
        webhook_listen=text(("telegram", "webhook_listen")),
        webhook_port=number(("telegram", "webhook_port"), int, 1),
    )
    for section in ("telegram", "broadcast", "matching", "reload", "flood", "reminders"):
        value = data.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            bad((section,), "must be a group of settings (key: value lines, indented)")
            continue
        for key in value:
            if key not in DEFAULTS[section]:
                bad((section, str(key)), f"unknown setting (known: {', '.join(DEFAULTS[section])})")
    if problems:
        raise ConfigError(problems)
    return config


def get_default(keys: tuple[str, ...]) -> Any:
    cur: Any = DEFAULTS
    for k in keys:
        cur = cur[k]
    return cur
