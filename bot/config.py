"""One configuration contract: `config.yaml`, overridden by environment variables.

| variable | overrides |
|---|---|
| `BOT_CONFIG` | path of the config file (default: `config.yaml` in the working directory, else the project's) |
| `TELEGRAM_BOT_TOKEN` | the bot token (only from the environment, never from a file) |
| `TELEGRAM_BASE_URL` | `telegram.base_url` |
| `BOT_STAFF_IDS` | `staff_ids` (comma-separated Telegram user ids) |
| `BOT_DATA_DIR` | `data_dir` |
| `BOT_STAFF_CHAT_ID` | `helpdesk.staff_chat_id` (the staff group or forum supergroup id, e.g. -1001234567890) |
| `BOT_NOW` | replaces the clock's start (ISO date-time, event time zone if no offset) |

Every setting, its default, its description and its check are declared once, in the pydantic models
below: `Settings` for the file, one frozen class per group (`telegram:`, `broadcast:`, `matching:` …).
`config.yaml` documents the same values (a test keeps the two equal). Unknown settings are refused.

The bot itself reads a `Config`: flat names (`config.broadcast_rate`, `config.reload_seconds`), paths
resolved relative to the file's folder, the time zone as a `ZoneInfo`, the token and the clock override
from the environment. It is a frozen dataclass, so `dataclasses.replace(config, ...)` makes variants.

A bad value gives a `ConfigError` that lists every problem at once as `file:line: field: message`,
like the knowledge base.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic import dataclasses as pydantic_dataclasses
from pydantic_core import PydanticCustomError

from bot.clock import Clock, parse_datetime
from bot.yamlsource import Document, Problem, load_yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent

ENV_VARS = ("BOT_CONFIG", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL", "BOT_STAFF_IDS", "BOT_DATA_DIR", "BOT_NOW",
            "BOT_STAFF_CHAT_ID")


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------- value types: one check and message each


def _text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("text", "must be a text, got {value}", {"value": repr(value)})
    return value


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError("time_zone", "unknown time zone {value} (use e.g. Asia/Seoul)",
                                  {"value": repr(name)}) from None
    return name


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise PydanticCustomError("url", "must start with http:// or https://, got {value}", {"value": repr(url)})
    return url.rstrip("/")


def _user_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError("user_id", "{value} is not a Telegram user id (a whole number)", {"value": repr(value)})


def _chat_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError("chat_id", "{value} is not a Telegram chat id (a whole number, e.g. -1001234567890)",
                              {"value": repr(value)})


def _user_id_list(value: Any) -> Any:
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise PydanticCustomError("user_ids", "must be a list of Telegram user ids, e.g. [12345, 67890]")
    return value


Number = StrictFloat  # an int or a float, never a bool or a text ("56" in quotes is refused)
Whole = StrictInt  # an int, never a bool, a float or a text
Text = Annotated[StrictStr, AfterValidator(_text)]  # a text that is not blank
TimeZone = Annotated[Text, AfterValidator(_time_zone)]  # an IANA name: Asia/Seoul
HttpUrl = Annotated[Text, AfterValidator(_http_url)]  # http:// or https://, stored without a trailing /
ChatId = Annotated[int, PlainValidator(_chat_id)]  # a Telegram chat id: a whole number (groups are negative)
UserIds = Annotated[frozenset[Annotated[int, PlainValidator(_user_id)]], BeforeValidator(_user_id_list)]

GROUP = ConfigDict(extra="forbid")  # unknown settings are errors (and every class is frozen: values never change)


# ---------------------------------------------------------------- the settings file, group by group


@pydantic_dataclasses.dataclass(frozen=True, config=GROUP)
class Telegram:
    """`telegram:` — where the Bot API is, and where webhook mode listens."""

    base_url: HttpUrl = Field(default="https://api.telegram.org/bot", description=(
        "the Bot API's address; point it at a local Bot API server, or the emulator for tests"))
    webhook_listen: Text = Field(default="127.0.0.1", description=(
        "webhook mode (python -m bot run --webhook URL): the address to listen on"))
    webhook_port: Whole = Field(default=8443, ge=1, description="webhook mode: the port, behind your reverse proxy")


@pydantic_dataclasses.dataclass(frozen=True, config=GROUP)
class Broadcast:
    """`broadcast:` — how announcements and reminders are sent."""

    rate_per_second: Number = Field(default=25.0, ge=0.1, description="messages per second, below Telegram's ~30")
    max_retries: Whole = Field(default=3, ge=0, description=(
        "retries for errors other than 429 (waited and retried) and 403 (user blocked)"))
    concurrency: Whole = Field(default=1, ge=1, description=(
        "sends in flight at once; after a crash up to this many messages may arrive twice"))


@pydantic_dataclasses.dataclass(frozen=True, config=GROUP)
class Matching:
    """`matching:` — scores 0-100 (calibrated with bench/calibrate.py) and the Korean analyser. The bot uses
    this object as it is (`config.matching`)."""

    confident: Number = Field(default=56.0, ge=0, description=(
        "best score at or above this (and clear of the runner-up) answers directly"))
    ambiguous: Number = Field(default=54.0, ge=0, description="best score at or above this offers \"did you mean\"")
    margin: Number = Field(default=1.0, ge=0, description=(
        "a runner-up within this many points of the best makes the answer ambiguous"))
    analyser: Literal["kiwi", "rules"] = Field(default="kiwi", description=(
        "Korean words: kiwi (morphological analysis) or rules (no Kiwi: ~320 MB less, less accurate)"))

    @field_validator("ambiguous")
    @classmethod
    def _not_above_confident(cls, value: float, info: ValidationInfo) -> float:
        confident = info.data.get("confident")  # absent when confident itself is wrong
        if confident is not None and value > confident:
            raise PydanticCustomError("order", "must not be higher than matching.confident")
        return value


@pydantic_dataclasses.dataclass(frozen=True, config=GROUP)
class Reload:
    """`reload:` — watching the knowledge folder."""

    poll_seconds: Number = Field(default=3.0, ge=0, description=(
        "how often the knowledge folder is checked for edits (0 = only /reload)"))


@pydantic_dataclasses.dataclass(frozen=True, config=GROUP)
class Flood:
    """`flood:` — the per-user limit on messages to the bot."""

    messages: Whole = Field(default=20, ge=1, description="messages a user may send ...")
    per_seconds: Number = Field(default=60.0, ge=1, description="... within this many seconds")


@pydantic_dataclasses.dataclass(frozen=True, config=GROUP)
class Reminders:
    """`reminders:` — session reminders."""

    default_minutes: Whole = Field(default=15, ge=1, description="minutes before a saved session starts")


@pydantic_dataclasses.dataclass(frozen=True, config=GROUP)
class Helpdesk:
    """`helpdesk:` — questions the bot cannot answer, relayed to the organisers (bot/helpdesk.py)."""

    staff_chat_id: ChatId | None = Field(default=None, description=(
        "the staff group (or forum supergroup: one topic per attendee) that receives attendees' questions; "
        "null: no \"Ask the organisers\" button"))
    questions_per_minute: Whole = Field(default=10, ge=1, description=(
        "questions relayed one by one per minute; beyond that they are batched into one digest message"))


class Settings(BaseModel):
    """The whole `config.yaml`, in the file's order. Relative paths are relative to the file's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    knowledge_dir: Text = Field(default="knowledge", description="the YAML knowledge base")
    data_dir: Text = Field(default="data", description="SQLite database (users, broadcasts, questions, agendas)")
    timezone: TimeZone = Field(default="Asia/Seoul", description=(
        "the event's time zone: every time shown and scheduled"))
    telegram: Telegram = Field(default_factory=Telegram)
    staff_ids: UserIds = Field(default=frozenset(), description=(
        "Telegram user ids allowed to broadcast, reload, see stats"))
    broadcast: Broadcast = Field(default_factory=Broadcast)
    matching: Matching = Field(default_factory=Matching)
    reload: Reload = Field(default_factory=Reload)
    flood: Flood = Field(default_factory=Flood)
    reminders: Reminders = Field(default_factory=Reminders)
    helpdesk: Helpdesk = Field(default_factory=Helpdesk)


# ---------------------------------------------------------------- what the bot reads


@dataclass(frozen=True)
class Config:
    path: Path | None
    knowledge_dir: Path
    data_dir: Path
    timezone: ZoneInfo
    base_url: str
    staff_ids: frozenset[int]
    token: str | None = field(repr=False)
    now: datetime | None
    broadcast_rate: float
    broadcast_max_retries: int
    broadcast_concurrency: int
    matching: Matching
    reload_seconds: float
    flood_messages: int
    flood_seconds: float
    reminder_minutes: int
    webhook_listen: str
    webhook_port: int
    staff_chat_id: int | None = None  # helpdesk.staff_chat_id
    helpdesk_per_minute: int = 10  # helpdesk.questions_per_minute

    def clock(self) -> Clock:
        return Clock(self.timezone, self.now)

    def is_staff(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.staff_ids


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
    doc = Document(name, {}, {})
    if cfg_path.exists():
        doc = load_yaml(cfg_path, problems) or doc
        if doc.data is None:
            doc.data = {}
        if not isinstance(doc.data, dict):
            raise ConfigError(problems or [Problem(name, 1, "(file)", "the config file must be a mapping of settings")])
    elif path or env.get("BOT_CONFIG"):
        raise ConfigError([Problem(name, 0, "(file)", "config file not found")])

    data = _named_settings(doc, Settings, (), problems)
    sources: dict[tuple, str] = {}  # settings replaced by an environment variable -> its name

    def override(keys: tuple[str, ...], var: str, value: Any) -> None:
        group = data
        for key in keys[:-1]:
            if not isinstance(group.get(key, {}), dict):
                return  # the file's group is wrong: that is reported, the override has nowhere to go
            group[key] = dict(group.get(key, {}))
            group = group[key]
        group[keys[-1]] = value
        sources[keys] = var

    if env.get("TELEGRAM_BASE_URL"):
        override(("telegram", "base_url"), "TELEGRAM_BASE_URL", env["TELEGRAM_BASE_URL"])
    if env.get("BOT_STAFF_IDS") is not None:
        staff: list[int] = []
        for part in env["BOT_STAFF_IDS"].split(","):
            if part.strip():
                try:
                    staff.append(int(part))
                except ValueError:
                    problems.append(Problem("BOT_STAFF_IDS", 0, "staff_ids",
                                            f"{part.strip()!r} is not a Telegram user id (a whole number)"))
        override(("staff_ids",), "BOT_STAFF_IDS", staff)
    if env.get("BOT_DATA_DIR"):
        override(("data_dir",), "BOT_DATA_DIR", env["BOT_DATA_DIR"])
    if env.get("BOT_STAFF_CHAT_ID"):
        try:
            override(("helpdesk", "staff_chat_id"), "BOT_STAFF_CHAT_ID", int(env["BOT_STAFF_CHAT_ID"]))
        except ValueError:
            problems.append(Problem("BOT_STAFF_CHAT_ID", 0, "helpdesk.staff_chat_id",
                                    f"{env['BOT_STAFF_CHAT_ID'].strip()!r} is not a Telegram chat id (a whole number)"))

    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            source = next((var for keys, var in sources.items() if loc[:len(keys)] == keys), None)
            problems.append(Problem(source or name, 0 if source else doc.line(loc),
                                    ".".join(str(k) for k in loc if not isinstance(k, int)), _message(error)))

    tz = ZoneInfo(settings.timezone if settings else Settings.model_fields["timezone"].default)
    now = None
    if env.get("BOT_NOW"):
        try:
            now = parse_datetime(env["BOT_NOW"], tz)
        except ValueError as exc:
            problems.append(Problem("BOT_NOW", 0, "now", str(exc)))
    token = env.get("TELEGRAM_BOT_TOKEN") or None
    if token is not None and (":" not in token or any(c.isspace() for c in token)):
        problems.append(Problem("TELEGRAM_BOT_TOKEN", 0, "token",
                                "does not look like a bot token (digits:letters, from @BotFather)"))
    if problems or settings is None:
        raise ConfigError(problems)

    s = settings
    base = cfg_path.resolve().parent
    return Config(
        path=cfg_path if cfg_path.exists() else None,
        knowledge_dir=base / s.knowledge_dir,
        data_dir=Path(s.data_dir) if ("data_dir",) in sources else base / s.data_dir,
        timezone=tz,
        base_url=s.telegram.base_url,
        staff_ids=s.staff_ids,
        token=token,
        now=now,
        broadcast_rate=s.broadcast.rate_per_second,
        broadcast_max_retries=s.broadcast.max_retries,
        broadcast_concurrency=s.broadcast.concurrency,
        matching=s.matching,
        reload_seconds=s.reload.poll_seconds,
        flood_messages=s.flood.messages,
        flood_seconds=s.flood.per_seconds,
        reminder_minutes=s.reminders.default_minutes,
        webhook_listen=s.telegram.webhook_listen,
        webhook_port=s.telegram.webhook_port,
        staff_chat_id=s.helpdesk.staff_chat_id,
        helpdesk_per_minute=s.helpdesk.questions_per_minute,
    )


# ---------------------------------------------------------------- pydantic's errors in the organisers' words


def _fields(model: Any) -> dict:
    """The declared settings of `Settings` or of a group class, in order."""
    return model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else model.__pydantic_fields__


def _is_group(info: Any) -> bool:
    return info is not None and hasattr(info.annotation, "__pydantic_fields__")


def _model_at(keys: tuple) -> Any:
    model: Any = Settings
    for key in keys:
        model = _fields(model)[key].annotation
    return model


def _named_settings(doc: Document, model: Any, path: tuple, problems: list[Problem]) -> dict:
    """The file's settings (at `path`) for validation: an empty group (`matching:` with nothing under it)
    means its defaults, and a key that is not a name (`1:`, `yes:`) is an unknown setting."""
    data = {}
    for key, value in doc.data_at(path).items():
        info = _fields(model).get(key) if isinstance(key, str) else None
        if not isinstance(key, str):
            problems.append(Problem(doc.file, doc.line(path + (key,)), ".".join(map(str, path + (key,))),
                                    f"unknown setting (known: {', '.join(_fields(model))})"))
        elif info is not None and _is_group(info) and isinstance(value, dict):
            data[key] = _named_settings(doc, info.annotation, path + (key,), problems)
        elif not (_is_group(info) and value is None):
            data[key] = value
    return data


def _message(error: Any) -> str:
    kind, loc, value = error["type"], error["loc"], error.get("input")
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"unknown setting (known: {', '.join(_fields(_model_at(loc[:-1])))})"
    if kind in ("model_type", "model_attributes_type", "dataclass_type", "dataclass_exact_type"):
        return "must be a group of settings (key: value lines, indented)"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number, got {value!r}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, got {value!r}"
    if kind == "string_type":
        return f"must be a text, got {value!r}"
    if kind == "greater_than_equal":
        return f"must be at least {error['ctx']['ge']:g}, got {value}"
    if kind == "literal_error":
        choices = get_args(_fields(_model_at(loc[:-1]))[loc[-1]].annotation)
        return f"must be one of {', '.join(choices)}, got {value!r}"
    return error["msg"]  # our own checks (PydanticCustomError) already speak plainly
