"""The Telegram application: builds the python-telegram-bot `Application`, wires the handlers, and runs
it by long polling or webhook (handlers/web.py). This module and the other `handlers/` modules are the
only ones that import `telegram`.

Stopping (SIGTERM, SIGINT) takes a few seconds at most: the outbox senders are cancelled first (what
they had not sent is still pending in the database and goes out at the next start), then polling or the
webhook server stops, the updates already received are handled, and the jobs finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import HTTPXRequest

from bot.answer import Brain
from bot.clock import Clock
from bot.config import Config
from bot.flood import FloodGate
from bot.logs import RedactToken, redact_also, setup_logging  # noqa: F401  (RedactToken: re-exported)
from bot.metrics import Metrics
from bot.store import Store
from handlers import agenda, attendee, commands, errors, helpdesk, inline, pipeline, reload, staff, web
from handlers.common import CONTEXT_TYPES, Core

log = logging.getLogger(__name__)

# Measured with bench/telegram_load.py: httpcore's pool bookkeeping grows with the square of open
# connections, so a small pool (and sniffio installed) more than doubles throughput on 2 cores.
CONCURRENT_UPDATES = 32
CONNECTION_POOL = 16

def make_core(config: Config, clock: Clock | None = None, brain: Brain | None = None) -> Core:
    store = Store.in_dir(config.data_dir)
    brain = brain or Brain.from_config(config)
    return Core(config=config, clock=clock or config.clock(), brain=brain, store=store,
                flood=FloodGate(config.flood_messages, config.flood_seconds),
                metrics=Metrics(store.delivery_totals, store.outbox_depth))


async def post_init(app: Application) -> None:
    """Register the command menus (both languages, staff extras per staff chat), then start the jobs."""
    await commands.set_menus(app)
    staff.start_jobs(app)
    reload.start_jobs(app)
    agenda.start_jobs(app)
    await helpdesk.start_jobs(app)


def build_application(config: Config, core: Core | None = None, *, webhook: bool = False) -> Application:
    """The Application with every handler. `webhook`: no Updater (updates come from handlers/web.py)."""
    if not config.token:
        raise ValueError("no token")
    c = core or make_core(config)
    # `.bot()` excludes the builder's token/base_url/rate_limiter/request settings: they go to the bot
    bot = pipeline.SafeBot(
        token=config.token, base_url=config.base_url,
        base_file_url=config.base_url.removesuffix("/bot") + "/file/bot",
        defaults=Defaults(tzinfo=config.timezone),
        request=HTTPXRequest(connection_pool_size=CONNECTION_POOL, pool_timeout=10.0),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        rate_limiter=AIORateLimiter(overall_max_rate=0, max_retries=0))
    builder = ApplicationBuilder().bot(bot).context_types(CONTEXT_TYPES).concurrent_updates(CONCURRENT_UPDATES)
    if webhook:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data.core = c
    pipeline.register(app)
    commands.register(app)  # every command (handlers/commands.py), before the fallbacks
    helpdesk.register(app)  # the staff chat's messages, before attendee questions
    attendee.register(app)
    staff.register(app)
    reload.register(app)
    agenda.register(app)
    inline.register(app)
    attendee.register_fallbacks(app)
    errors.register(app)
    return app


NO_TOKEN = """No bot token: set TELEGRAM_BOT_TOKEN to the token @BotFather gave you, e.g.

    export TELEGRAM_BOT_TOKEN=123456:ABC-your-token
    python -m bot run

To try the bot locally without a token or network, run:

    python -m bot chat
"""


# tasks cancelled first when the bot stops: they send from the outbox, whose unsent rows stay pending
OUTBOX_TASKS = ("broadcast-drain", "notice-drain", helpdesk.DRAIN_TASK)
STOP_SECONDS = 3.5  # then whatever has not finished is cancelled (and resumes at the next start)


def run(config: Config, webhook_url: str | None = None, secret_token: str | None = None,
        log_format: str = "text") -> int:
    """Run until SIGTERM/SIGINT: long polling, or the webhook server when `webhook_url` is given.
    Start-up failures from Telegram (InvalidToken, NetworkError, TimedOut) are raised to the caller."""
    if not config.token:
        print(NO_TOKEN)
        return 2
    setup_logging(config.token, log_format)
    secret = None
    if webhook_url:
        try:
            secret = web.webhook_secret(config.data_dir, secret_token)
        except web.SecretError as exc:
            print(f"Cannot start the webhook: {exc}", file=sys.stderr)
            return 2
        redact_also(secret)
    app = build_application(config, webhook=bool(webhook_url))
    log.info("starting: knowledge %s, data %s, API %s", config.knowledge_dir, config.data_dir, config.base_url)
    try:
        asyncio.run(serve(app, webhook_url, secret))
    except web.ListenError as exc:
        print(f"Cannot start the webhook: {exc}", file=sys.stderr)
        return 2
    return 0


async def serve(app: Application, webhook_url: str | None = None, secret: str | None = None) -> None:
    """(webhook server) → initialize → post_init → updates in (polling or setWebhook) → start → wait
    for a stop signal → stop promptly → shutdown (PTB's run_polling/run_webhook order)."""
    c: Core = app.bot_data.core
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = web.WebhookServer(app, secret or "") if webhook_url else None
    try:
        if server is not None:
            server.listen(c.config.webhook_listen, c.config.webhook_port)  # a port in use fails before anything else
        await app.initialize()  # getMe: a wrong token or an unreachable API fails here
        await post_init(app)
        if server is not None:
            url = webhook_url.rstrip("/") + web.WEBHOOK_PATH
            await app.bot.set_webhook(url=url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
            log.info("webhook %s, listening on %s:%s", url, c.config.webhook_listen, c.config.webhook_port)
        else:
            await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await app.start()
        await stop.wait()
        log.info("stop signal received: stopping")
        await _stop(app, server)
    finally:  # also after a failed start
        if server is not None:
            await server.stop()
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        c.store.close()


async def _stop(app: Application, server: web.WebhookServer | None) -> None:
    for task in asyncio.all_tasks():
        if task.get_name() in OUTBOX_TASKS:
            task.cancel()
    if server is not None:
        await server.stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    try:
        await asyncio.wait_for(app.stop(), STOP_SECONDS)
    except TimeoutError:
        log.warning("stopping took more than %.1f s: unfinished work was cancelled and resumes at the next start",
                    STOP_SECONDS)
