"""Staff and subscriptions: announcements (preview → confirm → rate-limited delivery with progress),
/broadcasts, /unanswered, /stats (/reload and the knowledge watcher: handlers/reload.py); and for attendees /subscribe,
/unsubscribe, /announcements. Staff are the user ids of config / BOT_STAFF_IDS; anyone else gets a
polite refusal and nothing happens (handlers.common.staff_only). The screens and their texts are made in
bot/broadcast.py, bot/reports.py and bot/stats_chart.py (the /stats picture), in the staff member's language
(`staff_lang`; for messages sent later, such as broadcast progress and reload reports: `staff_lang_of`)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler
from telegram.warnings import PTBDeprecationWarning

from bot.broadcast import (
    Blocked,
    Broadcaster,
    Failed,
    Pacer,
    RetryLater,
    announcement_html,
    announcements_html,
    audiences,
    broadcasts_html,
    event_audience,
    parse_broadcast,
    preview_buttons,
    preview_html,
    progress_text,
    stop_buttons,
)
from bot.pages import subscription_buttons
from bot.reports import stats_text, unanswered_text
from bot.stats_chart import chart_lang, render_png, stats_data
from bot.store import Announcement
from bot.texts import counted, pick_lang, text
from handlers.common import Context, core, markup, staff_only, ui_lang

log = logging.getLogger(__name__)

DATABASE_CHECK_SECONDS = 10  # how often the running bot checks that its database file is still there
CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption


def staff_lang(update: Update, context: Context) -> str:
    """The language of a staff screen: the staff member's /lang choice, else their Telegram app's (any
    language the bot has texts in, not only the event's). Remembered in `user_data` for what is sent to
    them later (broadcast progress, reload reports: `staff_lang_of`)."""
    user = update.effective_user
    if user is None:
        return pick_lang()
    lang = pick_lang(chosen=core(context).store.chosen_lang(user.id), app=user.language_code)
    if context.user_data is not None:
        context.user_data["staff_lang"] = lang
    return lang


def staff_lang_of(app: Application, user_id: int | None) -> str:
    """The language for a message sent to a staff member unprompted: the one of their last staff command,
    else the language the store knows for them (chosen, or their app's at first contact), else English."""
    if user_id is None:
        return pick_lang()
    remembered = app.user_data.get(user_id, {}).get("staff_lang")
    return remembered or pick_lang(chosen=app.bot_data.core.store.user_lang(user_id))


async def broadcast_command(update: Update, context: Context) -> None:
    """/broadcast (staff only: handlers/commands.py): store a draft and show its preview."""
    message = update.effective_message
    c = core(context)
    lang = staff_lang(update, context)
    languages = c.brain.kb.event.languages
    named, text_ko, text_en = parse_broadcast(message.text or "")
    audience = event_audience(named, languages)
    choices = "|".join(audiences(languages))
    if audience is None:
        await message.reply_text(text("staff.broadcast_audience", lang, audience=named, audiences=choices,
                                      languages="/".join(languages)))
        return
    replied = message.reply_to_message
    if replied is None and not any({"ko": text_ko, "en": text_en}.get(code) for code in languages):
        examples = "\n".join(text(f"staff.broadcast_example_{code}", lang) for code in languages)
        await message.reply_text(text("staff.broadcast_usage", lang, audiences=choices, examples=examples))
        return
    copy: dict[str, Any] = {"copy_chat_id": replied.chat_id, "copy_message_id": replied.message_id} if replied is not None else {}
    ann_id = c.store.create_announcement(text_ko, text_en, audience, update.effective_user.id,
                                         staff_chat_id=message.chat_id, created_at=c.now(), **copy)
    sent = await message.reply_text(preview_html(c.store.announcement(ann_id), lang)[:4096], parse_mode=ParseMode.HTML,
                                    reply_markup=markup(preview_buttons(ann_id, lang)))
    c.store.set_staff_message(ann_id, sent.chat_id, sent.message_id)


@staff_only
async def broadcast_button(update: Update, context: Context) -> None:
    query = update.callback_query
    await query.answer()
    _, action, raw_id = (query.data or "").split(":", 2)
    c = core(context)
    lang = staff_lang(update, context)
    ann_id = int(raw_id)
    ann = c.store.announcement(ann_id)
    if ann is None:
        return
    if action == "ok":
        recipients = c.store.queue_announcement(ann_id)
        if recipients == 0 and ann.status != "draft":
            await query.edit_message_text(text("staff.already", lang, id=ann_id, status=ann.status))
            return
        await query.edit_message_text(counted("staff.queued", lang, recipients, id=ann_id),
                                      reply_markup=markup(stop_buttons(ann_id, lang)))
        context.job_queue.run_once(drain_job, 0, name=f"drain-{ann_id}")
    elif action in ("no", "x"):
        if c.store.cancel_announcement(ann_id):
            counts = c.store.progress(ann_id)
            await query.edit_message_text(text("staff.cancelled", lang, id=ann_id, sent=counts["sent"]))


async def broadcasts_command(update: Update, context: Context) -> None:
    c = core(context)
    rows = [(ann, c.store.progress(ann.id)) for ann in c.store.recent_announcements(10)]
    body, buttons = broadcasts_html(rows, staff_lang(update, context))
    await update.effective_message.reply_text(body, parse_mode=ParseMode.HTML, reply_markup=markup(buttons))


async def drain_job(context: Context) -> None:
    """Deliver whatever is queued (also picks up announcements queued by `python -m bot broadcast` and
    resumes one interrupted by a crash)."""
    broadcaster = context.bot_data.broadcaster
    if not broadcaster.busy:  # a long broadcast runs as its own task; the job itself returns at once
        context.application.create_task(broadcaster.drain(), name="broadcast-drain")


def retry_seconds(exc: RetryAfter) -> float:
    """`RetryAfter.retry_after` is an int (deprecated) or, with PTB_TIMEDELTA=1, a timedelta: take both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


@contextmanager
def bot_api_errors():
    """Translate Telegram's errors for the outbox senders (bot.broadcast): 429 → RetryLater (wait, send
    again), 403 / chat gone → Blocked, anything else → Failed (bounded retries)."""
    try:
        yield
    except RetryAfter as exc:
        raise RetryLater(retry_seconds(exc)) from exc
    except Forbidden as exc:
        raise Blocked(exc.message) from exc
    except BadRequest as exc:
        if "chat not found" in exc.message.lower() or "user is deactivated" in exc.message.lower():
            raise Blocked(exc.message) from exc
        raise Failed(exc.message) from exc
    except TelegramError as exc:  # timeouts, network errors, 5xx
        raise Failed(f"{type(exc).__name__}: {exc.message}") from exc


def make_broadcaster(app: Application) -> Broadcaster:
    """The announcement sender; its `pacer` is shared with the notice sender (handlers/agenda.py)."""
    c = app.bot_data.core
    bot = app.bot

    async def deliver(chat_id: int, ann: Announcement, lang: str) -> None:
        with bot_api_errors():
            if ann.copy_chat_id and ann.copy_message_id:
                await bot.copy_message(chat_id, ann.copy_chat_id, ann.copy_message_id,
                                       reply_markup=markup(subscription_buttons(True, lang)))
            else:
                await bot.send_message(chat_id, announcement_html(ann, lang), parse_mode=ParseMode.HTML,
                                       reply_markup=markup(subscription_buttons(True, lang)))

    async def progress(ann: Announcement, counts: dict, final: bool) -> None:
        if not (ann.staff_chat_id and ann.staff_message_id):
            return
        lang = staff_lang_of(app, ann.created_by)
        try:
            await bot.edit_message_text(progress_text(ann, counts, final, lang), ann.staff_chat_id,
                                        ann.staff_message_id,
                                        reply_markup=None if final else markup(stop_buttons(ann.id, lang)))
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    return Broadcaster(c.store, deliver, max_retries=c.config.broadcast_max_retries, progress=progress,
                       concurrency=c.config.broadcast_concurrency, pacer=Pacer(c.config.broadcast_rate))


# ---------------------------------------------------------------- reports


async def unanswered_command(update: Update, context: Context) -> None:
    c = core(context)
    rows = c.store.unanswered(c.now() - timedelta(days=1))
    await update.effective_message.reply_text(unanswered_text(rows, staff_lang(update, context))[:4096])
    from handlers.helpdesk import open_questions  # the attendees' open questions, each with a one-tap Answer

    await open_questions(update, context)


async def stats_command(update: Update, context: Context) -> None:
    """/stats: the picture (bot/stats_chart.py: the store read here, drawn in a worker thread) with today's
    figures as its caption; the figures alone, with a note, if the picture cannot be drawn."""
    c = core(context)
    lang = staff_lang(update, context)
    now = c.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)  # today, in the event's time zone
    report = stats_text(c.store.stats(midnight), lang, problem=c.store.check())
    message = update.effective_message
    try:
        data = stats_data(c.store, c.brain.kb, c.config.timezone, chart_lang(lang), now)  # one quick read
        png = await asyncio.to_thread(render_png, data)  # ~1 s of drawing, off the event loop
    except Exception:  # a chart that cannot be drawn must not cost staff the figures
        log.exception("the /stats chart could not be drawn")
        await message.reply_text(f"{report}\n\n{text('staff.stats_failed', lang)}"[:4096])
        return
    if len(report) <= CAPTION_LIMIT:
        await message.reply_photo(png, caption=report, filename="stats.png")
    else:
        await message.reply_photo(png, filename="stats.png")
        await message.reply_text(report[:4096])


async def check_database(app: Application) -> str | None:
    """Fail loudly when the database file was deleted, replaced or stopped taking writes while the bot runs:
    an ERROR in the log at every check, and staff told once per problem (/stats and /healthz say it too)."""
    c = app.bot_data.core
    problem = c.store.check()
    if problem:
        log.error("database problem: %s", problem)
        if app.bot_data.db_problem != problem:
            from handlers.reload import notify_staff

            await notify_staff(app, lambda lang: text("staff.problem", lang, problem=problem))
    app.bot_data.db_problem = problem
    return problem


async def database_job(context: Context) -> None:
    await check_database(context.application)


# ---------------------------------------------------------------- subscriptions (attendees)

async def subscribe_command(update: Update, context: Context) -> None:
    on = (update.effective_message.text or "").lstrip("/").lower().startswith("subscribe")
    core(context).store.set_subscribed(update.effective_user.id, on)
    await update.effective_message.reply_text(text("sub.on" if on else "sub.off", ui_lang(update, context)))


async def unsubscribe_button(update: Update, context: Context) -> None:
    query = update.callback_query
    on = query.data == "sub:on"
    core(context).store.set_subscribed(update.effective_user.id, on)
    lang = ui_lang(update, context)
    await query.answer(text("sub.on" if on else "sub.off", lang), show_alert=False)
    try:
        await query.edit_message_reply_markup(markup(subscription_buttons(on, lang)))
    except BadRequest:
        pass


async def announcements_command(update: Update, context: Context) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    recent = [a for a in c.store.recent_announcements(5, statuses=("sending", "done")) if a.text_ko or a.text_en]
    if not recent:
        await update.effective_message.reply_text(text("announce.none", lang))
        return
    body = announcements_html(recent, lang, c.config.timezone)  # times as people at the event read them
    await update.effective_message.reply_text(body[:4096], parse_mode=ParseMode.HTML)


def register(app: Application) -> None:
    """The buttons (the commands: handlers/commands.py)."""
    app.add_handler(CallbackQueryHandler(broadcast_button, pattern=r"^bc:(ok|no|x):\d+$"))
    app.add_handler(CallbackQueryHandler(unsubscribe_button, pattern=r"^sub:(on|off)$"))


def start_jobs(app: Application) -> None:
    """Resume/poll the outbox (called from post_init)."""
    app.bot_data.broadcaster = make_broadcaster(app)
    app.job_queue.run_repeating(drain_job, interval=2, first=0.5, name="outbox")
    app.job_queue.run_repeating(database_job, interval=DATABASE_CHECK_SECONDS, first=DATABASE_CHECK_SECONDS,
                                name="database-check")
