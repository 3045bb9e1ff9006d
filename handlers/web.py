"""The webhook HTTP server (tornado, as PTB's own webhook server and its `customwebhookbot` example):

- `POST /telegram`: an update from Telegram. Accepted only with the secret token in the
  `X-Telegram-Bot-Api-Secret-Token` header (403 otherwise: a forged update does nothing). An update
  python-telegram-bot cannot parse is logged once and answered 200, so Telegram does not resend it.
- `GET /healthz`: 200 when the knowledge base is loaded and the database takes writes, with the outbox
  backlog; 503 with the reason otherwise.
- `GET /metrics`: the Prometheus text exposition (bot/metrics.py).

The secret is never part of the URL. When none is given, one is generated and kept in
`<data_dir>/webhook_secret` (mode 0600), so a restart keeps the same one.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
from http import HTTPStatus
from pathlib import Path

import tornado.web
from telegram.ext import Application
from tornado.httpserver import HTTPServer

from bot.metrics import CONTENT_TYPE
from handlers.common import Core
from handlers.pipeline import mark_arrival, parse_update

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram"
SECRET_FILE = "webhook_secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# what Telegram accepts as secret_token (setWebhook): 1-256 characters A-Z, a-z, 0-9, _ and -
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SecretError(ValueError):
    """The webhook secret given cannot be used (the message says why and what to do)."""


class ListenError(OSError):
    """The webhook server cannot listen on the configured address and port."""


def webhook_secret(data_dir: Path, given: str | None) -> str:
    """The secret to use: the one given (checked), else the one kept in the data folder, else a new one
    (written there, readable by the owner only)."""
    if given is not None:
        if not SECRET_RE.fullmatch(given):
            raise SecretError("the webhook secret (--secret / TELEGRAM_WEBHOOK_SECRET) must be 1-256 characters of "
                              "A-Z, a-z, 0-9, _ and - (Telegram accepts nothing else); leave it out to have one "
                              "generated")
        return given
    path = Path(data_dir) / SECRET_FILE
    try:
        kept = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        kept = None
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"cannot read the webhook secret {path}: {exc}") from exc
    if kept is not None:
        if SECRET_RE.fullmatch(kept):
            return kept
        log.warning("%s does not hold a usable secret: generating a new one", path)
        path.unlink()
    secret = secrets.token_urlsafe(32)  # 43 characters of [A-Za-z0-9_-]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secret + "\n")
    log.info("generated a webhook secret, kept in %s", path)
    return secret


def health(core: Core) -> tuple[int, dict]:
    """(HTTP status, body) of /healthz."""
    kb = core.brain.kb if core.brain is not None else None
    body: dict = {"status": "ok", "knowledge": kb.summary() if kb is not None and kb.entries else "not loaded"}
    problems = [] if kb is not None and kb.entries else ["the knowledge base is not loaded"]
    check = getattr(core.store, "check", None)
    try:
        reason = check() if check else None
    except Exception as exc:  # the check itself failed: that is the answer
        reason = f"{type(exc).__name__}: {exc}"
    body["database"] = reason or "ok"
    if reason:
        problems.append(reason)
    else:
        try:
            body["outbox"] = core.store.outbox_depth()
        except Exception as exc:
            body["database"] = f"{type(exc).__name__}: {exc}"
            problems.append(body["database"])
    if problems:
        body["status"] = "unavailable"
        body["reason"] = "; ".join(problems)
        return HTTPStatus.SERVICE_UNAVAILABLE, body
    return HTTPStatus.OK, body


class _Base(tornado.web.RequestHandler):
    def initialize(self, app: Application, secret: str = "") -> None:
        self.app = app
        self.secret = secret

    @property
    def core(self) -> Core:
        return self.app.bot_data.core


class UpdateHandler(_Base):
    SUPPORTED_METHODS = ("POST",)

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("refused a webhook request without the right secret token from %s", self.request.remote_ip)
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        try:
            data = json.loads(self.request.body)
        except ValueError:
            log.warning("skipped a webhook request whose body is not JSON (%d bytes)", len(self.request.body))
            return  # 200: Telegram would only send it again
        update = parse_update(data, self.app.bot)
        if update is None:
            return
        mark_arrival(self.app, update)
        self.app.bot.insert_callback_data(update)
        await self.app.update_queue.put(update)


class HealthHandler(_Base):
    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        status, body = health(self.core)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class MetricsHandler(_Base):
    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(self.core.metrics.render())


class WebApp(tornado.web.Application):
    def __init__(self, app: Application, secret: str) -> None:
        super().__init__([(WEBHOOK_PATH, UpdateHandler, {"app": app, "secret": secret}),
                          ("/healthz", HealthHandler, {"app": app}),
                          ("/metrics", MetricsHandler, {"app": app})])

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log (a line per update); refusals are logged where they happen."""


class WebhookServer:
    def __init__(self, app: Application, secret: str) -> None:
        if not secret:
            raise SecretError("the webhook server needs a secret token")
        self.http = HTTPServer(WebApp(app, secret), xheaders=True)
        self.listening = False

    def listen(self, address: str, port: int) -> None:
        try:
            self.http.listen(port, address=address)
        except OSError as exc:
            raise ListenError(f"cannot listen on {address}:{port} ({exc.strerror or exc}): change telegram.webhook_port "
                              "/ webhook_listen in the configuration or stop what uses that port") from exc
        self.listening = True

    async def stop(self) -> None:
        if self.listening:
            self.listening = False
            self.http.stop()
            await self.http.close_all_connections()
