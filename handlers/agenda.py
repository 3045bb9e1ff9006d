"""Attendees' personal agenda: ☆/★ on every session, /my, reminders (/remind), the calendar file (/ics),
feedback (ratings after a session, /feedback), and notices when organisers move or drop a saved session.

Reminders and feedback requests are PTB JobQueue jobs computed from what is stored in SQLite (agenda +
reminder setting) and the current knowledge, so they are rebuilt on every start and after every change.
When one falls due it is written to the store's personal outbox (`notices`, queued once per user,
session, day and kind) and `bot.broadcast.NoticeSender` sends it, paced together with broadcasts and
marked sent only after Telegram accepted it; pending rows are picked up again after a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler

from bot.agenda import (
    Due,
    Outgoing,
    agenda_page,
    build_ics,
    change_notices,
    feedback_for,
    ics_filename,
    overlap_with,
    rating_refusal,
    remind_setting,
    remind_state,
    reminders_for,
    saved_note,
    should_send,
)
from bot.broadcast import NoticeSender, Pacer
from bot.knowledge import Knowledge
from bot.pages import flip_star
from bot.reports import ratings_text
from bot.texts import lang_of, text
from handlers.common import Context, Core, core, markup, ui_lang
from handlers.staff import bot_api_errors, staff_lang

log = logging.getLogger(__name__)


def t(key: str, lang: str, **kw: object) -> str:
    return text(f"agenda.{key}", lang, **kw)


def remind_minutes(c: Core, user_id: int) -> int | None:
    """The user's reminder lead time; None when they turned reminders off (stored as 0)."""
    row = c.store.user(user_id)
    value = row["remind_minutes"] if row else None
    if value is None:
        return c.config.reminder_minutes
    return value or None


# ---------------------------------------------------------------- scheduling


def _job_name(user_id: int, due: Due) -> str:
    return f"agenda:{user_id}:{due.kind}:{due.session_id}:{due.day.isoformat()}"


def schedule_user(app: Application, user_id: int) -> None:
    """(Re)build the reminder and feedback jobs of one user from the store and the current knowledge."""
    c: Core = app.bot_data.core
    for job in app.job_queue.jobs():
        if job.name and job.name.startswith(f"agenda:{user_id}:"):
            job.schedule_removal()
    ids = c.store.agenda(user_id)
    if not ids:
        return
    kb = c.brain.kb
    minutes = remind_minutes(c, user_id)
    items = (reminders_for(kb, ids, minutes) if minutes else []) + feedback_for(kb, ids)
    now = c.now()
    offset = c.clock.offset()  # BOT_NOW: event time runs ahead of (or behind) real time by this much
    for due in items:
        if due.kind == "remind" and due.starts is not None and now >= due.starts:
            continue  # already started: never remind
        real_when = max(due.at - offset, datetime.now(due.at.tzinfo) + timedelta(milliseconds=50))
        # misfire_grace_time=None: a job the scheduler reaches late (busy loop) still runs; should_send decides
        app.job_queue.run_once(agenda_job, when=real_when, name=_job_name(user_id, due),
                               data={"user": user_id, "due": due}, chat_id=user_id, user_id=user_id,
                               job_kwargs={"misfire_grace_time": None})


def schedule_all(app: Application) -> None:
    c: Core = app.bot_data.core
    for user_id in sorted({row["user_id"] for row in c.store.all_agenda()}):
        schedule_user(app, user_id)


async def agenda_job(context: Context) -> None:
    """A reminder or feedback request fell due: queue it in the personal outbox (once) and wake the sender."""
    c = core(context)
    user_id: int = context.job.data["user"]
    due: Due = context.job.data["due"]
    kb = c.brain.kb
    if kb.session(due.session_id) is None or due.session_id not in c.store.agenda(user_id):
        return
    # recompute from the current knowledge: a reload may have moved it since the job was scheduled
    current = {(d.kind, d.day): d for d in (reminders_for(kb, [due.session_id], remind_minutes(c, user_id) or 0)
                                             + feedback_for(kb, [due.session_id]))}
    fresh = current.get((due.kind, due.day))
    if fresh is None or not should_send(fresh, c.now()):
        return
    if c.store.queue_notice(user_id, due.kind, due.session_id, fresh.at, day=due.day.isoformat(),
                            lang=kb.event.reply_lang(c.store.user_lang(user_id))):
        send_notices(context.application)


# ---------------------------------------------------------------- the personal outbox


def make_notice_sender(app: Application) -> NoticeSender:
    """The notice sender, sharing the broadcaster's token bucket: together they stay under
    broadcast.rate_per_second. It only sends what `bot.agenda.notice_message` rendered."""
    c: Core = app.bot_data.core
    broadcaster = app.bot_data.broadcaster
    pacer = broadcaster.pacer if broadcaster is not None else Pacer(c.config.broadcast_rate)
    bot = app.bot

    async def deliver(chat_id: int, message: Outgoing) -> None:
        with bot_api_errors():
            await bot.send_message(chat_id, message.text, parse_mode=ParseMode.HTML,
                                   reply_markup=markup(message.buttons))

    return NoticeSender(c.store, deliver, pacer, knowledge=lambda: c.brain.kb, now=c.now,
                        max_retries=c.config.broadcast_max_retries)


def send_notices(app: Application) -> None:
    """Wake the notice sender (start a drain unless one is running; that one then looks again)."""
    sender: NoticeSender = app.bot_data.notices
    if sender.wake():
        app.create_task(sender.drain(), name="notice-drain")


async def notice_job(context: Context) -> None:
    """Every few seconds: send pending notices (also those left by a crash or found at start-up)."""
    send_notices(context.application)


# ---------------------------------------------------------------- handlers


async def toggle(update: Update, context: Context) -> None:
    """☆ (sv:<id>) adds a session to the agenda, ★ (un:<id>) removes it; the button flips in place."""
    query = update.callback_query
    c = core(context)
    action, _, session_id = (query.data or "").partition(":")
    lang = ui_lang(update, context)
    session = c.brain.kb.session(session_id)
    user = update.effective_user
    c.store.touch_user(user.id, lang_of(user.language_code))
    if action == "sv" and session is None:  # dropped from the programme since the button was sent
        await query.answer(t("gone", lang), show_alert=True)
        return
    if action == "sv":
        others = c.store.agenda(user.id)  # before this one is added
        c.store.add_to_agenda(user.id, session_id)
        note = saved_note(c.brain.kb, session, remind_minutes(c, user.id), c.now(), lang, others)
        alert = not session.start or overlap_with(c.brain.kb, session, others) is not None
    else:
        c.store.remove_from_agenda(user.id, session_id)
        note = t("removed", lang)
        alert = False
    await query.answer(note, show_alert=alert)  # an alert (to be read) for no reminder or an overlap
    schedule_user(context.application, user.id)
    await _flip_star(query, session_id, action == "sv")


async def _flip_star(query, session_id: str, now_saved: bool) -> None:
    current = query.message.reply_markup if query.message else None
    if not current:
        return
    rows = []
    for row in current.inline_keyboard:
        new_row = []
        for b in row:
            if b.callback_data in (f"sv:{session_id}", f"un:{session_id}"):
                b = InlineKeyboardButton(flip_star(b.text, now_saved),
                                         callback_data=f"{'un' if now_saved else 'sv'}:{session_id}")
            new_row.append(b)
        rows.append(new_row)
    try:
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def my_command(update: Update, context: Context) -> None:
    c = core(context)
    page = agenda_page(c.brain.kb, c.store.agenda(update.effective_user.id), ui_lang(update, context))
    await update.effective_message.reply_text(page.doc.html()[:4096], parse_mode=ParseMode.HTML,
                                              reply_markup=markup(page.buttons))


async def remind_command(update: Update, context: Context) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    user_id = update.effective_user.id
    setting = remind_setting((context.args or [""])[0])
    if setting is None:
        answer = t("remind_usage", lang, state=remind_state(remind_minutes(c, user_id), lang))
    else:
        c.store.set_remind_minutes(user_id, setting)
        answer = t("remind_on", lang, m=setting) if setting else t("remind_off", lang)
    schedule_user(context.application, user_id)
    await update.effective_message.reply_text(answer)


async def ics_command(update: Update, context: Context) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    kb = c.brain.kb
    ids = c.store.agenda(update.effective_user.id)
    sessions = [s for s in (kb.session(i) for i in ids) if s] or list(kb.sessions)
    data = build_ics(kb, sessions, lang)
    caption = t("ics_caption" if ids else "ics_all", lang)
    await update.effective_message.reply_document(InputFile(data, filename=ics_filename(kb)), caption=caption)


async def rate(update: Update, context: Context) -> None:
    query = update.callback_query
    _, session_id, raw = (query.data or "").split(":", 2)
    n = int(raw)
    c = core(context)
    lang = ui_lang(update, context)
    if not 1 <= n <= 5 or c.brain.kb.session(session_id) is None:
        await query.answer()
        return
    user_id = update.effective_user.id
    refusal = rating_refusal(c.brain.kb, session_id, c.store.agenda(user_id), c.now())
    if refusal is not None:  # not saved, or not started yet: say so politely and store nothing
        await query.answer(t(f"rate_{refusal}", lang), show_alert=True)
        return
    c.store.rate(user_id, session_id, n, at=c.now())
    await query.answer(t("rated", lang, n=n))
    try:
        await query.edit_message_text(f"{query.message.text}\n{'⭐' * n}")
    except BadRequest:
        pass


async def feedback_command(update: Update, context: Context) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    comment = " ".join(context.args or []).strip()
    if not comment:
        await update.effective_message.reply_text(t("feedback_usage", lang))
        return
    c.store.add_comment(comment, lang, at=c.now())
    await update.effective_message.reply_text(t("feedback_thanks", lang))


async def ratings_command(update: Update, context: Context) -> None:
    """/ratings (staff only: handlers/commands.py)."""
    c = core(context)
    report = ratings_text(c.brain.kb, c.store.ratings_summary(), c.store.comments(10), c.config.timezone,
                          staff_lang(update, context))
    await update.effective_message.reply_text(report[:4096])


async def programme_changed(app: Application, old: Knowledge, new: Knowledge) -> None:
    """After a reload: queue a notice for attendees whose saved sessions moved or disappeared (each change
    told once), wake the sender, and reschedule their reminders."""
    c: Core = app.bot_data.core
    affected: set[int] = set()
    queued = False
    for n in change_notices(old, new, c.store.all_agenda()):
        affected.add(n.user_id)
        queued |= c.store.queue_notice(n.user_id, n.kind, n.session_id, c.now(), version=n.version, lang=n.lang,
                                       text=n.text)
    if queued:
        send_notices(app)
    for user_id in affected:
        schedule_user(app, user_id)


def register(app: Application) -> None:
    """The ☆/★ and rating buttons (the commands: handlers/commands.py)."""
    app.add_handler(CallbackQueryHandler(toggle, pattern=r"^(sv|un):[a-z0-9-]+$"))
    app.add_handler(CallbackQueryHandler(rate, pattern=r"^rate:[a-z0-9-]+:\d$"))


def start_jobs(app: Application) -> None:
    """Called from post_init after staff.start_jobs (whose broadcaster's pacer the notice sender shares)."""
    app.bot_data.on_reload = programme_changed
    app.bot_data.notices = make_notice_sender(app)
    app.job_queue.run_repeating(notice_job, interval=2, first=0.2, name="notices")
    schedule_all(app)
