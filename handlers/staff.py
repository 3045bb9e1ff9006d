"""Staff and subscriptions: announcements (preview → confirm → rate-limited delivery with progress),
/broadcasts, /unanswered, /stats (/reload and the knowledge watcher: handlers/reload.py); and for attendees /subscribe,
/unsubscribe, /announcements. Staff are the user ids of config / BOT_STAFF_IDS; anyone else gets a
polite refusal and nothing happens."""

from __future__ import annotations

import html
import logging
import re
import warnings
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.warnings import PTBDeprecationWarning

from bot.broadcast import Blocked, Broadcaster, Failed, Pacer, RetryLater, progress_text
from bot.reports import group_questions, stats_text
from bot.store import Announcement, shown
from handlers.common import Core, core, ui_lang

log = logging.getLogger(__name__)

REFUSED = {"ko": "죄송해요, 운영진만 쓸 수 있는 명령이에요.", "en": "Sorry, only event staff can use that command."}
DATABASE_CHECK_SECONDS = 10  # how often the running bot checks that its database file is still there
AUDIENCES = {"all": "all", "전체": "all", "ko": "ko", "korean": "ko", "한국어": "ko", "en": "en", "english": "en",
             "영어": "en"}
USAGE = ("Usage:\n/broadcast [all|ko|en]\nKO: 한국어 공지\nEN: English announcement\n\n"
         "Text without KO:/EN: goes to everyone as written. Reply with /broadcast to a message, photo or "
         "document to send that instead.")


def staff_only(handler):
    @wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if not core(context).config.is_staff(user.id if user else None):
            log.info("refused staff action from user %s", user.id if user else None)
            if update.callback_query:
                await update.callback_query.answer(REFUSED[ui_lang(update, context)], show_alert=True)
            elif update.effective_message:
                await update.effective_message.reply_text(REFUSED[ui_lang(update, context)])
            return
        await handler(update, context)
    return wrapper


def parse_broadcast(text: str) -> tuple[str, str, str]:
    """`/broadcast [audience]\\nKO: …\\nEN: …` → (audience, text_ko, text_en)."""
    body = re.sub(r"^/broadcast(@\w+)?", "", text or "", count=1).strip()
    audience = "all"
    head = body.split(None, 1)
    if head and head[0].lower() in AUDIENCES:
        audience = AUDIENCES[head[0].lower()]
        body = head[1] if len(head) > 1 else ""
    parts = re.split(r"(?i)(?:^|(?<=\s))(KO|EN)\s*:\s*", body)
    if len(parts) == 1:
        return audience, body.strip(), body.strip()
    texts = {"ko": "", "en": ""}
    for key, value in zip(parts[1::2], parts[2::2]):
        texts[key.lower()] = value.strip()
    return audience, texts["ko"], texts["en"]


def preview_markup(ann_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("✅ Confirm / 발송", callback_data=f"bc:ok:{ann_id}"),
                                  InlineKeyboardButton("✖️ Cancel / 취소", callback_data=f"bc:no:{ann_id}")]])


def unsubscribe_markup(lang: str) -> InlineKeyboardMarkup:
    label = "🔕 공지 그만 받기" if lang == "ko" else "🔕 Unsubscribe"
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data="sub:off")]])


def announcement_html(ann: Announcement, lang: str) -> str:
    head = "📣 <b>공지</b>" if lang == "ko" else "📣 <b>Announcement</b>"
    return f"{head}\n{html.escape(ann.text_for(lang), quote=False)}"


@staff_only
async def broadcast_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    c = core(context)
    audience, text_ko, text_en = parse_broadcast(message.text or "")
    replied = message.reply_to_message
    if replied is None and not (text_ko or text_en):
        await message.reply_text(USAGE)
        return
    if replied is not None:
        ann_id = c.store.create_announcement(text_ko, text_en, audience, update.effective_user.id,
                                             staff_chat_id=message.chat_id, copy_chat_id=replied.chat_id,
                                             copy_message_id=replied.message_id, created_at=c.now())
        preview = (f"📣 Preview #{ann_id} — the message you replied to will be copied to "
                   f"<b>{html.escape(audience)}</b> subscribers. Nothing is sent before you confirm.")
    else:
        ann_id = c.store.create_announcement(text_ko, text_en, audience, update.effective_user.id,
                                             staff_chat_id=message.chat_id, created_at=c.now())
        ann = c.store.announcement(ann_id)
        preview = (f"📣 Preview #{ann_id} — audience: <b>{html.escape(audience)}</b>. Nothing is sent before you confirm.\n\n"
                   f"🇰🇷 {html.escape(ann.text_for('ko'), quote=False)}\n\n🇬🇧 {html.escape(ann.text_for('en'), quote=False)}")
    sent = await message.reply_text(preview[:4096], parse_mode=ParseMode.HTML, reply_markup=preview_markup(ann_id))
    c.store.set_staff_message(ann_id, sent.chat_id, sent.message_id)


@staff_only
async def broadcast_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    _, action, raw_id = (query.data or "").split(":", 2)
    c = core(context)
    ann_id = int(raw_id)
    ann = c.store.announcement(ann_id)
    if ann is None:
        return
    if action == "ok":
        recipients = c.store.queue_announcement(ann_id)
        if recipients == 0 and ann.status != "draft":
            await query.edit_message_text(f"📣 #{ann_id} is already {ann.status}.")
            return
        await query.edit_message_text(f"📣 #{ann_id} queued for {recipients} subscribers…",
                                      reply_markup=cancel_markup(ann_id))
        context.job_queue.run_once(drain_job, 0, name=f"drain-{ann_id}")
    elif action in ("no", "x"):
        if c.store.cancel_announcement(ann_id):
            counts = c.store.progress(ann_id)
            await query.edit_message_text(f"✖️ #{ann_id} cancelled. Sent before cancel: {counts['sent']}.")


def cancel_markup(ann_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("⏹ Stop / 중단", callback_data=f"bc:x:{ann_id}")]])


@staff_only
async def broadcasts_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    lines, rows = [], []
    for ann in c.store.recent_announcements(10):
        counts = c.store.progress(ann.id)
        snippet = html.escape((ann.text_en or ann.text_ko or "(copied message)")[:40], quote=False)
        lines.append(f"#{ann.id} {ann.status} · {ann.audience} · sent {counts['sent']}/{counts['total']} · "
                     f"blocked {counts['blocked']} · failed {counts['failed']} — {snippet}")
        if ann.status in ("queued", "sending", "draft"):
            rows.append([InlineKeyboardButton(f"⏹ Cancel #{ann.id}", callback_data=f"bc:x:{ann.id}")])
    await update.effective_message.reply_text("\n".join(lines) or "No announcements yet.", parse_mode=ParseMode.HTML,
                                              reply_markup=InlineKeyboardMarkup(rows) if rows else None)


async def drain_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deliver whatever is queued (also picks up announcements queued by `python -m bot broadcast` and
    resumes one interrupted by a crash)."""
    broadcaster: Broadcaster = context.application.bot_data["broadcaster"]
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
    c: Core = app.bot_data["core"]
    bot = app.bot

    async def deliver(chat_id: int, ann: Announcement, lang: str) -> None:
        with bot_api_errors():
            if ann.copy_chat_id and ann.copy_message_id:
                await bot.copy_message(chat_id, ann.copy_chat_id, ann.copy_message_id,
                                       reply_markup=unsubscribe_markup(lang))
            else:
                await bot.send_message(chat_id, announcement_html(ann, lang), parse_mode=ParseMode.HTML,
                                       reply_markup=unsubscribe_markup(lang))

    async def progress(ann: Announcement, counts: dict, final: bool) -> None:
        if not (ann.staff_chat_id and ann.staff_message_id):
            return
        markup = None if final else cancel_markup(ann.id)
        try:
            await bot.edit_message_text(progress_text(ann, counts, final), ann.staff_chat_id, ann.staff_message_id,
                                        reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    return Broadcaster(c.store, deliver, max_retries=c.config.broadcast_max_retries, progress=progress,
                       concurrency=c.config.broadcast_concurrency, pacer=Pacer(c.config.broadcast_rate))


# ---------------------------------------------------------------- reports


@staff_only
async def unanswered_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    rows = c.store.unanswered(c.now() - timedelta(days=1))
    groups = group_questions(rows)
    if not groups:
        await update.effective_message.reply_text("No unanswered questions in the last 24 hours. 🎉")
        return
    lines = [f"❓ Unanswered in the last 24 h: {len(rows)} questions, {len(groups)} groups"]
    for g in groups[:20]:
        lines.append(f"{g.count}× {g.example}" + (f"  (+{len(g.variants) - 1} variants)" if len(g.variants) > 1 else ""))
    await update.effective_message.reply_text("\n".join(lines)[:4096])


@staff_only
async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    midnight = c.now().replace(hour=0, minute=0, second=0, microsecond=0)  # today, in the event's time zone
    text = stats_text(c.store.stats(midnight), ui_lang(update, context))
    problem = c.store.check()
    if problem:
        text = f"⚠️ {problem}\n\n{text}"
    await update.effective_message.reply_text(text[:4096])


async def check_database(app: Application) -> str | None:
    """Fail loudly when the database file was deleted, replaced or stopped taking writes while the bot runs:
    an ERROR in the log at every check, and staff told once per problem (/stats and /healthz say it too)."""
    c: Core = app.bot_data["core"]
    problem = c.store.check()
    if problem:
        log.error("database problem: %s", problem)
        if app.bot_data.get("db_problem") != problem:
            from handlers.reload import notify_staff

            await notify_staff(app, f"⚠️ {problem}")
    app.bot_data["db_problem"] = problem
    return problem


async def database_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await check_database(context.application)


# ---------------------------------------------------------------- subscriptions (attendees)

SUB_TEXT = {
    ("on", "ko"): "🔔 공지를 받아요. 그만 받으려면 /unsubscribe", ("on", "en"): "🔔 You'll receive announcements. /unsubscribe to stop.",
    ("off", "ko"): "🔕 공지를 더 보내지 않을게요. 다시 받으려면 /subscribe", ("off", "en"): "🔕 No more announcements. /subscribe to get them again.",
}


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    on = (update.effective_message.text or "").lstrip("/").lower().startswith("subscribe")
    core(context).store.set_subscribed(update.effective_user.id, on)
    await update.effective_message.reply_text(SUB_TEXT[("on" if on else "off", ui_lang(update, context))])


async def unsubscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    on = query.data == "sub:on"
    core(context).store.set_subscribed(update.effective_user.id, on)
    await query.answer(SUB_TEXT[("on" if on else "off", ui_lang(update, context))], show_alert=False)
    lang = ui_lang(update, context)
    label = ("🔔 다시 받기" if lang == "ko" else "🔔 Subscribe again") if not on else \
        ("🔕 공지 그만 받기" if lang == "ko" else "🔕 Unsubscribe")
    try:
        await query.edit_message_reply_markup(InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data="sub:off" if on else "sub:on")]]))
    except BadRequest:
        pass


async def announcements_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    recent = [a for a in c.store.recent_announcements(5, statuses=("sending", "done")) if a.text_ko or a.text_en]
    if not recent:
        await update.effective_message.reply_text("아직 공지가 없어요." if lang == "ko" else "No announcements yet.")
        return
    tz = c.config.timezone  # times as people at the event read them
    text = "\n\n".join(f"{announcement_html(a, lang)}\n<i>{shown(a.created_at, tz)}</i>" for a in recent)
    await update.effective_message.reply_text(text[:4096], parse_mode=ParseMode.HTML)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("broadcast", broadcast_command))
    app.add_handler(CommandHandler("broadcasts", broadcasts_command))
    app.add_handler(CommandHandler("unanswered", unanswered_command))
    app.add_handler(CommandHandler("stats", stats_command))
    app.add_handler(CallbackQueryHandler(broadcast_button, pattern=r"^bc:(ok|no|x):\d+$"))
    app.add_handler(CommandHandler(["subscribe", "unsubscribe"], subscribe_command))
    app.add_handler(CommandHandler("announcements", announcements_command))
    app.add_handler(CallbackQueryHandler(unsubscribe_button, pattern=r"^sub:(on|off)$"))


def start_jobs(app: Application) -> None:
    """Resume/poll the outbox (called from post_init)."""
    app.bot_data["broadcaster"] = make_broadcaster(app)
    app.job_queue.run_repeating(drain_job, interval=2, first=0.5, name="outbox")
    app.job_queue.run_repeating(database_job, interval=DATABASE_CHECK_SECONDS, first=DATABASE_CHECK_SECONDS,
                                name="database-check")
