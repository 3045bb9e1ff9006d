"""Logging of the running bot: one handler on stderr, as text or as one JSON object per line
(`--log-format json`), with the bot token (and any other secret registered here) replaced by
`<TOKEN>` in every line: messages, their arguments, exception messages and tracebacks.

httpx logs every request URL (which contains the token) at INFO, so it is kept at WARNING; the
redaction catches whatever still quotes the token (PTB's InvalidToken, a proxy page echoing the path).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "<TOKEN>"
QUIET = ("httpx", "httpcore", "apscheduler")  # chatty at INFO (httpx: URLs with the token)


class RedactToken(logging.Filter):
    """Replace secrets wherever they would appear in a record. Attached to handlers, it rewrites the
    record itself (message with its arguments merged, exception text, stack), so every handler after it
    sees the redacted record too."""

    def __init__(self, token: str | None, *extra: str) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(token, *extra)

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if not secret:
                continue
            # the whole token first, then its secret part (the bot id before the colon is public), which
            # also catches the token URL-encoded (`%3A`) or split by a proxy
            parts = [secret] + ([secret.split(":", 1)[1]] if ":" in secret and len(secret.split(":", 1)[1]) >= 8 else [])
            for part in parts:
                if part not in self.secrets:
                    self.secrets.append(part)
        self.secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _leaks(self, text: str) -> bool:
        return any(secret in text for secret in self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it itself; leave the record alone
            return True
        if self._leaks(message):
            record.msg, record.args = self.redact(message), ()
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            if self._leaks(text):
                record.exc_text, record.exc_info = self.redact(text), None
        elif record.exc_text and self._leaks(record.exc_text):
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info and self._leaks(record.stack_info):
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message and, for errors, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class _Handler(logging.StreamHandler):
    """The handler `setup_logging` installs (recognised, and replaced, when it is called again)."""


_redact = RedactToken(None)


def setup_logging(token: str | None, fmt: str = "text", level: int = logging.INFO) -> None:
    """Log to stderr as `fmt` ("text" or "json") at `level`, with `token` redacted on every handler of
    the root logger. Uncaught exceptions (main thread and other threads) go through logging too, so
    their tracebacks are redacted as well."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format {fmt!r}: use text or json")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    redact_also(token)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def redact_also(*secrets: str | None) -> None:
    """Redact these secrets too (e.g. the webhook secret), on every handler of the root logger."""
    _redact.add(*secrets)
    for handler in logging.getLogger().handlers:
        if _redact not in handler.filters:
            handler.addFilter(_redact)


def redact(text: str) -> str:
    """`text` with every registered secret replaced (for messages printed outside logging)."""
    return _redact.redact(text)


def _log_uncaught(exc_type, exc, tb) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("bot").critical("uncaught exception", exc_info=(exc_type, exc, tb))
