"""Operating the bot: the data-folder lock, `doctor`, `backup` and `restore`, and the one-line messages
for operator errors. Plain Python (no `telegram`): the Bot API is asked directly with httpx.

* `python -m bot run` holds an exclusive `flock` on `<data_dir>/bot.lock` (its pid written inside) for
  the life of the process; a second bot on the same folder stops at once and names the first one's pid.
  The kernel drops the lock when the process ends, however it ends, so a held lock always means a
  live bot.
* `backup` copies the database with SQLite's online backup API in one step, i.e. from one read
  transaction: a consistent snapshot even while the bot writes (WAL readers do not block writers).
* `restore` refuses while a bot holds the lock, checks the file (integrity, bot schema), keeps the
  replaced database next to it and installs the copy without stale -wal/-shm files.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DB_NAME = "bot.db"
LOCK_NAME = "bot.lock"
API_TIMEOUT = 10.0
BOT_TABLES = ("meta", "users", "announcements", "deliveries")


class OperatorError(Exception):
    """Something the operator can fix: `str(exc)` is one line saying what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def redact(text: str, token: str | None) -> str:
    """Remove the bot token and its secret part (after the ':') from `text`."""
    if token:
        text = text.replace(token, "<TOKEN>")
        secret = token.split(":", 1)[-1]
        if len(secret) >= 4:
            text = text.replace(secret, "<TOKEN>")
    return text


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


# ---------------------------------------------------------------- the data folder and its lock


def prepare_data_dir(data_dir: Path) -> Path:
    """Create the data folder if needed and check that files can be written in it."""
    data_dir = Path(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperatorError(f"cannot create the data folder {data_dir} ({_reason(exc)}): create it, or set "
                            "BOT_DATA_DIR (or data_dir in config.yaml) to a writable folder") from None
    if not data_dir.is_dir():
        raise OperatorError(f"the data folder {data_dir} is not a folder: set BOT_DATA_DIR to a folder")
    problem = writable_problem(data_dir)
    if problem:
        raise OperatorError(problem)
    return data_dir


def writable_problem(data_dir: Path) -> str | None:
    """None if a file can be created in `data_dir` (SQLite needs that for its -wal/-shm files)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".write-test-", dir=data_dir)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return (f"the data folder {data_dir} is not writable ({_reason(exc)}): make it writable for this user, "
                "or set BOT_DATA_DIR to a writable folder")
    return None


class DataLock:
    """An exclusive lock on a data folder (`flock` on `<data_dir>/bot.lock`, the holder's pid inside)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, purpose: str = "run") -> DataLock:
        """Take the lock or raise OperatorError naming the pid of the bot that holds it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OperatorError(f"cannot open the lock file {self.path} ({_reason(exc)}): make the data folder "
                                "writable, or set BOT_DATA_DIR to a writable folder") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _read_pid(fd)
            os.close(fd)
            who = f"another bot (pid {pid})" if pid else "another bot"
            todo = ("stop it first (or use another BOT_DATA_DIR)" if purpose == "run"
                    else f"stop it first, then {purpose}")
            raise OperatorError(f"{who} is already running on data folder {self.data_dir}: {todo}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays (deleting it would race)
            self._fd = None

    def holder(self) -> int | None:
        """The pid of the process holding the lock (0 if unknown), or None when nobody holds it."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_pid(fd) or 0
        finally:
            os.close(fd)
        return None

    def __enter__(self) -> DataLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


# ---------------------------------------------------------------- the Bot API, asked directly


def api_url(base_url: str, token: str, method: str) -> str:
    """The URL python-telegram-bot would call (`base_url` + token, or its `{token}` placeholder)."""
    base = base_url.format(token=token) if "{token}" in base_url else base_url + token
    return f"{base}/{method}"


def shown_url(base_url: str, token: str | None) -> str:
    return redact(base_url.replace("{token}", "<TOKEN>"), token)


def bot_api(base_url: str, token: str, method: str, timeout: float = API_TIMEOUT) -> Any:
    """Call a Bot API method without parameters; return its `result` or raise OperatorError (token-free)."""
    import httpx

    where = shown_url(base_url, token)
    try:
        response = httpx.post(api_url(base_url, token, method), timeout=timeout)
    except httpx.TimeoutException:
        raise OperatorError(f"the Telegram Bot API at {where} did not answer {method} within {timeout:g} s: "
                            "check the network or TELEGRAM_BASE_URL, then try again") from None
    except httpx.HTTPError as exc:
        reason = redact(str(exc) or type(exc).__name__, token)
        raise OperatorError(f"cannot reach the Telegram Bot API at {where} ({reason}): check the network "
                            "or TELEGRAM_BASE_URL, then try again") from None
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if status == 401:
        raise OperatorError("Telegram rejected the bot token (401 Unauthorized): set TELEGRAM_BOT_TOKEN to the "
                            "token @BotFather gave you")
    if status == 404:
        raise OperatorError(f"the Bot API at {where} answered 404 Not Found: the bot token is wrong or "
                            "TELEGRAM_BASE_URL is not a Bot API address; check both")
    if not 200 <= status <= 299 or not isinstance(payload, dict) or not payload.get("ok"):
        phrase = redact(response.reason_phrase or "", token)
        detail = ""
        if isinstance(payload, dict) and isinstance(payload.get("description"), str):
            detail = f" ({redact(payload['description'], token)[:120]})"
        raise OperatorError(f"the Bot API at {where} answered {status} {phrase}{detail} instead of a Bot API "
                            "result: the server or a proxy in between is failing; check TELEGRAM_BASE_URL "
                            "or try again later")
    return payload.get("result")


def check_token(base_url: str, token: str | None) -> dict:
    """getMe: the bot's user object, or OperatorError (no token, rejected, unreachable)."""
    if not token:
        raise OperatorError("no bot token: set TELEGRAM_BOT_TOKEN to the token @BotFather gave you", 2)
    me = bot_api(base_url, token, "getMe")
    return me if isinstance(me, dict) else {}


def describe_api_error(exc: BaseException, base_url: str, token: str | None) -> str | None:
    """One line for a start-up error of python-telegram-bot (matched by class name: bot/ does not import
    telegram), or None if it is not one we know."""
    names = [cls.__name__ for cls in type(exc).__mro__ if cls.__module__.startswith("telegram")]
    if not names:
        return None
    where = shown_url(base_url, token)
    text = redact(str(exc), token).split(". Parsing the server response", 1)[0][:160]
    if "InvalidToken" in names:
        return (f"Telegram rejected the bot token ({text}): set TELEGRAM_BOT_TOKEN to the token @BotFather "
                "gave you (and check TELEGRAM_BASE_URL)")
    if "TimedOut" in names:
        return f"the Telegram Bot API at {where} did not answer in time: check the network, then try again"
    if "Conflict" in names:
        return (f"Telegram says another program is using this bot token ({text}): stop the other bot "
                "(or its webhook) first")
    if "NetworkError" in names:
        return (f"cannot use the Telegram Bot API at {where} ({text}): check the network or TELEGRAM_BASE_URL, "
                "then try again")
    return f"Telegram error at start-up: {text}"


# ---------------------------------------------------------------- the database


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def require_database(data_dir: Path) -> Path:
    """The bot's database in `data_dir`, or OperatorError if there is none (never create one silently)."""
    path = db_path(data_dir)
    if not path.is_file():
        raise OperatorError(f"no database in the data folder {data_dir} (no {DB_NAME}): the bot has not run "
                            "there yet, or BOT_DATA_DIR points at the wrong folder; set it to the running "
                            "bot's data folder")
    return path


def known_schema_version() -> int:
    from bot.store import MIGRATIONS

    return max(MIGRATIONS)


@dataclass(frozen=True)
class DbInfo:
    schema: int
    users: int
    subscribers: int
    announcements: int
    outbox: int


def inspect_database(path: Path, full: bool = False) -> DbInfo:
    """Check a bot database without changing it (integrity, schema); raise OperatorError if it is not one."""
    if not Path(path).is_file():
        raise OperatorError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise OperatorError(f"{path} cannot be opened as a database ({exc})") from None
    try:
        check = conn.execute(f"pragma {'integrity_check' if full else 'quick_check'}").fetchone()[0]
        if check != "ok":
            raise OperatorError(f"{path} is damaged (SQLite {'integrity' if full else 'quick'}_check: {check})")
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
        missing = [t for t in BOT_TABLES if t not in tables]
        if missing:
            raise OperatorError(f"{path} is not a bot database (no table {', '.join(missing)})")
        row = conn.execute("select value from meta where key = 'schema_version'").fetchone()
        schema = int(row[0]) if row and str(row[0]).isdigit() else 0
        if not 1 <= schema <= known_schema_version():
            raise OperatorError(f"{path} has schema version {schema}, this bot knows 1 to {known_schema_version()}: "
                                "use the bot version that wrote it")
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return DbInfo(schema=schema, users=one("select count(*) from users"),
                      subscribers=one("select count(*) from users where subscribed = 1 and blocked = 0"),
                      announcements=one("select count(*) from announcements"),
                      outbox=one("select count(*) from deliveries d join announcements a on a.id = d.announcement_id "
                                 "where d.status = 'pending' and a.status in ('queued', 'sending')")
                      + (one("select count(*) from notices where status = 'pending'") if "notices" in tables else 0))
    except sqlite3.DatabaseError as exc:
        raise OperatorError(f"{path} is not a usable SQLite database ({exc})") from None
    finally:
        conn.close()


def backup(data_dir: Path, target: Path, force: bool = False) -> DbInfo:
    """Copy the live database to `target` (online, consistent) and check the copy."""
    source = require_database(data_dir)
    target = Path(target)
    if target.exists() and not force:
        raise OperatorError(f"{target} already exists: choose a new file name (or add --force to overwrite it)", 2)
    if target.resolve() == source.resolve():
        raise OperatorError("the backup file must not be the live database itself", 2)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise OperatorError(f"cannot write {target} ({_reason(exc)}): choose a writable place") from None
    tmp = Path(tmp_name)
    try:
        src = sqlite3.connect(str(source), timeout=30)
        dst = sqlite3.connect(str(tmp))
        try:
            src.execute("pragma busy_timeout=30000")
            src.backup(dst)  # pages=-1: everything in one step, i.e. from one read transaction
            dst.execute("pragma journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
            src.close()
        info = inspect_database(tmp, full=True)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return info


def restore(data_dir: Path, source: Path, now: Callable[[], datetime] | None = None) -> tuple[DbInfo, Path | None]:
    """Install the backup `source` as the bot's database. Refuses while a bot holds the data folder.
    Returns the backup's summary and where the replaced database was kept (None if there was none)."""
    source = Path(source)
    if not source.is_file():
        raise OperatorError(f"{source} does not exist: give the file written by python -m bot backup", 2)
    info = inspect_database(source, full=True)
    data_dir = prepare_data_dir(data_dir)
    lock = DataLock(data_dir).acquire(purpose="restore")
    try:
        live = db_path(data_dir)
        tmp = data_dir / f".{DB_NAME}.restore.tmp"
        shutil.copyfile(source, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        kept = None
        if live.exists():
            stamp = (now or (lambda: datetime.now(UTC)))().strftime("%Y%m%d-%H%M%S")
            kept = data_dir / f"{DB_NAME}.before-restore-{stamp}"
            os.replace(live, kept)
            for suffix in ("-wal", "-shm"):  # keep the old database's journal with it: it may hold commits
                old = Path(str(live) + suffix)
                if old.exists():
                    os.replace(old, Path(str(kept) + suffix))
        for suffix in ("-wal", "-shm", "-journal"):
            Path(str(live) + suffix).unlink(missing_ok=True)
        os.replace(tmp, live)
        return info, kept
    finally:
        lock.release()


# ---------------------------------------------------------------- doctor


@dataclass(frozen=True)
class Check:
    ok: bool | None  # True ✓, False ✗, None ! (works, but look at it)
    name: str
    detail: str

    def line(self) -> str:
        mark = "✓" if self.ok else ("✗" if self.ok is False else "!")
        return f"{mark} {self.name}: {self.detail}"


def doctor(config_path: str | None, env: dict[str, str] | None = None) -> list[Check]:
    """Every check, one per line. Stops after the config line when the config cannot be read."""
    from bot.config import ConfigError, load_config
    from bot.knowledge import KnowledgeError, load_knowledge

    env = dict(os.environ if env is None else env)
    checks: list[Check] = []
    try:
        cfg = load_config(config_path, env=env)
    except ConfigError as exc:
        first = exc.problems[0] if exc.problems else None
        more = f" (+{len(exc.problems) - 1} more; python -m bot validate lists them)" if len(exc.problems) > 1 else ""
        checks.append(Check(False, "config", redact(f"{first}{more}", env.get("TELEGRAM_BOT_TOKEN"))))
        return checks
    token = cfg.token
    checks.append(Check(True, "config", str(cfg.path) if cfg.path else "no config file, built-in defaults"))

    try:
        kb = load_knowledge(cfg.knowledge_dir)
        checks.append(Check(True, "knowledge", f"{cfg.knowledge_dir}: {kb.summary()}"))
    except KnowledgeError as exc:
        checks.append(Check(False, "knowledge", f"{cfg.knowledge_dir}: {len(exc.problems)} problem(s), first: "
                                                f"{exc.problems[0] if exc.problems else '?'} (python -m bot validate)"))

    checks.append(_check_data_dir(cfg.data_dir))
    checks.append(_check_database(cfg.data_dir))

    me: dict | None = None
    where = shown_url(cfg.base_url, token)
    try:
        me = check_token(cfg.base_url, token)
        checks.append(Check(True, "token", f"accepted by {where} as @{me.get('username', '?')} (id {me.get('id', '?')})"))
    except OperatorError as exc:
        checks.append(Check(False, "token", redact(str(exc), token)))
    if me is None:
        checks.append(Check(False, "webhook", "not checked (needs an accepted token)"))
    else:
        checks.append(_check_webhook(cfg.base_url, token or "", cfg.timezone))

    clock = cfg.clock()
    now = clock.now()
    if clock.overridden:
        detail = (f"{now:%Y-%m-%d %H:%M} {cfg.timezone.key} (BOT_NOW={env.get('BOT_NOW')}: the clock started "
                  f"there and runs forward; real time {datetime.now(cfg.timezone):%Y-%m-%d %H:%M})")
    else:
        detail = f"{now:%Y-%m-%d %H:%M} {cfg.timezone.key} (UTC{now:%z}; real time, no BOT_NOW)"
    checks.append(Check(True, "clock", detail))
    return checks


def _check_data_dir(data_dir: Path) -> Check:
    if not data_dir.exists():
        parent = next((p for p in data_dir.parents if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK):
            return Check(False, "data folder", f"{data_dir} does not exist and cannot be created in {parent}: "
                                               "set BOT_DATA_DIR to a writable folder")
        return Check(True, "data folder", f"{data_dir} does not exist yet; python -m bot run creates it")
    if not data_dir.is_dir():
        return Check(False, "data folder", f"{data_dir} is not a folder: set BOT_DATA_DIR to a folder")
    problem = writable_problem(data_dir)
    if problem:
        return Check(False, "data folder", problem)
    pid = DataLock(data_dir).holder()
    if pid is None:
        return Check(True, "data folder", f"{data_dir} writable, no bot running on it")
    who = f"pid {pid}" if pid else "pid unknown"
    return Check(True, "data folder", f"{data_dir} writable, a bot is running on it ({who}); "
                                      "a second python -m bot run here would refuse to start")


def _check_database(data_dir: Path) -> Check:
    path = db_path(data_dir)
    if not path.exists():
        return Check(True, "database", f"{path} not created yet; python -m bot run creates it")
    try:
        info = inspect_database(path)
    except OperatorError as exc:
        return Check(False, "database", f"{exc}: restore a backup (python -m bot restore FILE)")
    try:
        conn = sqlite3.connect(str(path), timeout=2)
        try:
            conn.execute("begin immediate")
            conn.execute("rollback")
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            return Check(False, "database", f"{path} is not writable ({exc}): fix its permissions")
    return Check(True, "database", f"{path}: schema v{info.schema}, {info.users} users ({info.subscribers} "
                                   f"subscribed), {info.announcements} announcements, {info.outbox} messages waiting (announcements, reminders)")


def _check_webhook(base_url: str, token: str, tz) -> Check:
    try:
        info = bot_api(base_url, token, "getWebhookInfo")
    except OperatorError as exc:
        return Check(False, "webhook", redact(str(exc), token))
    info = info if isinstance(info, dict) else {}
    pending = info.get("pending_update_count", 0)
    url = redact(info.get("url") or "", token)
    if not url:
        return Check(True, "webhook", f"none set (long polling); {pending} pending updates")
    detail = f"{url}, {pending} pending updates"
    if info.get("last_error_message"):
        when = info.get("last_error_date")
        at = datetime.fromtimestamp(when, tz).strftime("%Y-%m-%d %H:%M") if isinstance(when, int) else "?"
        return Check(None, "webhook", f"{detail}, last error at {at}: {redact(info['last_error_message'], token)}")
    return Check(True, "webhook", f"{detail}, no delivery errors")
