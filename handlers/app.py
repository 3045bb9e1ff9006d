"""The Telegram application: builds the python-telegram-bot `Application`, wires the handlers, and runs
it by long polling or webhook. This module and the other `handlers/` modules are the only ones that
import `telegram`.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.answer import Brain
from bot.clock import Clock
from bot.config import Config
from bot.flood import FloodGate
from bot.metrics import Metrics
from bot.store import Store
from handlers import agenda, attendee, errors, inline, staff
from handlers.common import Core

log = logging.getLogger(__name__)

# Measured with bench/telegram_load.py: httpcore's pool bookkeeping grows with the square of open
# connections, so a small pool (and sniffio installed) more than doubles throughput on 2 cores.
CONCURRENT_UPDATES = 32
CONNECTION_POOL = 16

COMMANDS = {
    "en": [("start", "Start and show the menu"), ("menu", "Menu"), ("schedule", "Programme by day"),
           ("now", "Now & next"), ("venue", "Venue and pavilions"), ("speakers", "Speakers"),
           ("results", "Results: awards, hackathon, business"), ("contact", "Contact the organisers"),
           ("my", "My agenda"), ("remind", "Reminder settings"), ("ics", "Calendar file"),
           ("announcements", "Recent announcements"), ("subscribe", "Receive announcements"),
           ("unsubscribe", "Stop announcements"), ("feedback", "Send feedback"), ("lang", "Language: 한국어/English"),
           ("help", "How to use this bot")],
    "ko": [("start", "시작하고 메뉴 보기"), ("menu", "메뉴"), ("schedule", "날짜별 일정"), ("now", "지금·다음"),
           ("venue", "장소와 전시관"), ("speakers", "연사"), ("results", "결과: 시상, 해커톤, 비즈니스"),
           ("contact", "문의처"), ("my", "내 일정"), ("remind", "알림 설정"), ("ics", "캘린더 파일"),
           ("announcements", "최근 공지"), ("subscribe", "공지 받기"), ("unsubscribe", "공지 그만 받기"),
           ("feedback", "의견 보내기"), ("lang", "언어: 한국어/English"), ("help", "사용법")],
}
STAFF_COMMANDS = [("broadcast", "Announce to subscribers / 공지 발송"), ("broadcasts", "Recent broadcasts / 발송 현황"),
                  ("reload", "Reload the knowledge / 지식 다시 읽기"), ("unanswered", "Unanswered questions / 못 답한 질문"),
                  ("stats", "Statistics / 통계"), ("ratings", "Session ratings / 세션 평가")]


class RedactToken(logging.Filter):
    """Replace the bot token wherever it would appear in a log line (httpx logs request URLs, which
    contain it; PTB quotes it in some errors)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<TOKEN>"), ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            if self.token in text:
                record.exc_text, record.exc_info = text.replace(self.token, "<TOKEN>"), None
        return True


def setup_logging(token: str | None, level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if token:
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, RedactToken) for f in handler.filters):
                handler.addFilter(RedactToken(token))


def make_core(config: Config, clock: Clock | None = None) -> Core:
    store = Store.in_dir(config.data_dir)
    brain = Brain.load(config.knowledge_dir, config.matching, sink=None)
    return Core(config=config, clock=clock or config.clock(), brain=brain, store=store,
                flood=FloodGate(config.flood_messages, config.flood_seconds),
                metrics=Metrics(store.delivery_totals, store.outbox_depth))


async def post_init(app: Application) -> None:
    """Register the command menus (both languages, staff extras per staff chat), then start the jobs."""
    c: Core = app.bot_data["core"]
    for lang, commands in COMMANDS.items():
        await app.bot.set_my_commands([BotCommand(n, d) for n, d in commands], language_code=lang)
    await app.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS["en"]], scope=BotCommandScopeDefault())
    for staff_id in sorted(c.config.staff_ids):
        for lang, commands in COMMANDS.items():
            try:
                await app.bot.set_my_commands([BotCommand(n, d) for n, d in commands + STAFF_COMMANDS],
                                              scope=BotCommandScopeChat(staff_id), language_code=lang)
            except TelegramError as exc:  # the staff member has not opened a chat with the bot yet
                log.warning("staff commands not set for %s: %s", staff_id, exc)
                break
    staff.start_jobs(app)
    agenda.start_jobs(app)


def build_application(config: Config, core: Core | None = None) -> Application:
    if not config.token:
        raise ValueError("no token")
    c = core or make_core(config)
    app = (ApplicationBuilder()
           .token(config.token)
           .base_url(config.base_url)
           .base_file_url(config.base_url.removesuffix("/bot") + "/file/bot")
           .rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=0))
           .defaults(Defaults(tzinfo=config.timezone))
           .concurrent_updates(CONCURRENT_UPDATES)
           .connection_pool_size(CONNECTION_POOL)
           .pool_timeout(10.0)
           .post_init(post_init)
           .post_stop(_post_stop)
           .build())
    app.bot_data["core"] = c
    attendee.register(app)
    staff.register(app)
    agenda.register(app)
    inline.register(app)
    attendee.register_fallbacks(app)
    errors.register(app)
    return app


async def _post_stop(app: Application) -> None:
    app.bot_data["core"].store.close()


NO_TOKEN = """No bot token: set TELEGRAM_BOT_TOKEN to the token @BotFather gave you, e.g.

    export TELEGRAM_BOT_TOKEN=123456:ABC-your-token
    python -m bot run

To try the bot locally without a token or network, run:

    python -m bot chat
"""


def run(config: Config, webhook_url: str | None = None, secret_token: str | None = None) -> int:
    if not config.token:
        print(NO_TOKEN)
        return 2
    setup_logging(config.token)
    app = build_application(config)
    log.info("starting: knowledge %s, data %s, API %s", config.knowledge_dir, config.data_dir,
             config.base_url.replace(config.token, "<TOKEN>"))
    if webhook_url:
        path = secret_token or "telegram"
        app.run_webhook(listen=config.webhook_listen, port=config.webhook_port, url_path=path,
                        webhook_url=webhook_url.rstrip("/") + "/" + path, secret_token=secret_token,
                        allowed_updates=Update.ALL_TYPES)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
