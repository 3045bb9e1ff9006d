"""Attendees' personal agenda: ☆/★ on every session, /my, reminders (/remind), the calendar file (/ics),
feedback (ratings after a session, /feedback), and notices when organisers move or drop a saved session.

Reminders and feedback requests are PTB JobQueue jobs computed from what is stored in SQLite (agenda +
reminder setting) and the current knowledge, so they are rebuilt on every start and after every change.
When one falls due it is written to the store's personal outbox (`notices`, queued once per user,
session, day and kind) and `bot.broadcast.NoticeSender` sends it, paced together with broadcasts and
marked sent only after Telegram accepted it; pending rows are picked up again after a restart.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.agenda import (Due, Outgoing, build_ics, change_notices, feedback_for, rating_refusal, reminders_for,
                        should_send, sorted_agenda)
from bot.broadcast import NoticeSender, Pacer
from bot.knowledge import Knowledge, day_label
from bot.store import shown
from handlers.common import Core, core, ui_lang
from handlers.staff import bot_api_errors

log = logging.getLogger(__name__)

TXT = {
    "saved": ("내 일정에 추가했어요. 시작 {m}분 전에 알려 드릴게요.", "Added to my agenda. I'll remind you {m} minutes before it starts."),
    "saved_no_time": ("내 일정에 추가했어요. 시작 시간이 아직 발표되지 않아 알림은 보낼 수 없어요.",
                      "Added to my agenda. Its start time hasn't been announced, so I can't send a reminder."),
    "saved_quiet": ("내 일정에 추가했어요. (알림 꺼짐: /remind 15)", "Added to my agenda. (Reminders are off: /remind 15)"),
    "removed": ("내 일정에서 뺐어요.", "Removed from my agenda."),
    "saved_started": ("내 일정에 추가했어요. (이미 시작한 세션이라 알림은 없어요)", "Added to my agenda. (It has already started, so no reminder.)"),
    "gone": ("이 세션은 더 이상 프로그램에 없어요.", "This session is no longer in the programme."),
    "empty": ("내 일정이 비어 있어요. 일정(/schedule)에서 ☆를 눌러 세션을 추가하세요.",
              "Your agenda is empty. Tap ☆ on a session in /schedule to add it."),
    "my_title": ("📌 내 일정", "📌 My agenda"),
    "remind_on": ("세션 시작 {m}분 전에 알려 드릴게요.", "I'll remind you {m} minutes before each saved session."),
    "remind_off": ("알림을 껐어요. 다시 켜려면 /remind 15", "Reminders are off. /remind 15 to turn them back on."),
    "remind_usage": ("지금 설정: {state}. 바꾸려면 /remind 30 (분) 또는 /remind off",
                     "Now: {state}. Change with /remind 30 (minutes) or /remind off"),
    "rated": ("평가 고마워요! ({n}점)", "Thanks for rating! ({n}/5)"),
    "feedback_usage": ("의견을 함께 보내 주세요. 예: /feedback 안내 표지판이 더 있으면 좋겠어요",
                       "Add your comment, e.g. /feedback More signs to the halls would help"),
    "feedback_thanks": ("의견 고마워요! 운영진에게 전달할게요.", "Thank you! Your feedback goes to the organisers."),
    "rate_not_saved": ("내 일정에 추가한 세션만 평가할 수 있어요.", "You can rate only sessions in your agenda."),
    "rate_not_started": ("세션이 시작된 뒤에 평가할 수 있어요.", "You can rate this session once it has started."),
    "ics_caption": ("📅 내 일정 캘린더 파일이에요. 다시 가져오면 기존 일정이 갱신돼요.", "📅 Your agenda as a calendar file. Importing it again updates the events."),
    "ics_all": ("📅 전체 프로그램 캘린더 파일이에요 (내 일정이 비어 있어요).", "📅 The whole programme as a calendar file (your agenda is empty)."),
}


def t(key: str, lang: str, **kw: object) -> str:
    ko, en = TXT[key]
    return (ko if lang == "ko" else en).format(**kw)


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
    c: Core = app.bot_data["core"]
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
    c: Core = app.bot_data["core"]
    for user_id in sorted({row["user_id"] for row in c.store.all_agenda()}):
        schedule_user(app, user_id)


async def agenda_job(context: ContextTypes.DEFAULT_TYPE) -> None:
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
                            lang=c.store.user_lang(user_id)):
        send_notices(context.application)


# ---------------------------------------------------------------- the personal outbox


def make_notice_sender(app: Application) -> NoticeSender:
    """The notice sender, sharing the broadcaster's token bucket: together they stay under
    broadcast.rate_per_second. It only sends what `bot.agenda.notice_message` rendered."""
    c: Core = app.bot_data["core"]
    broadcaster = app.bot_data.get("broadcaster")
    pacer = broadcaster.pacer if broadcaster is not None else Pacer(c.config.broadcast_rate)
    bot = app.bot

    async def deliver(chat_id: int, message: Outgoing) -> None:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
                                       for row in message.buttons]) if message.buttons else None
        with bot_api_errors():
            await bot.send_message(chat_id, message.text, parse_mode=ParseMode.HTML, reply_markup=markup)

    return NoticeSender(c.store, deliver, pacer, knowledge=lambda: c.brain.kb, now=c.now,
                        max_retries=c.config.broadcast_max_retries)


def send_notices(app: Application) -> None:
    """Wake the notice sender (start a drain unless one is running; that one then looks again)."""
    sender: NoticeSender = app.bot_data["notices"]
    if sender.wake():
        app.create_task(sender.drain(), name="notice-drain")


async def notice_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every few seconds: send pending notices (also those left by a crash or found at start-up)."""
    send_notices(context.application)


# ---------------------------------------------------------------- handlers


async def toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """☆ (sv:<id>) adds a session to the agenda, ★ (un:<id>) removes it; the button flips in place."""
    query = update.callback_query
    c = core(context)
    action, _, session_id = (query.data or "").partition(":")
    lang = ui_lang(update, context)
    session = c.brain.kb.session(session_id)
    user = update.effective_user
    c.store.touch_user(user.id, "ko" if (user.language_code or "").lower().startswith("ko") else "en")
    if action == "sv" and session is None:  # dropped from the programme since the button was sent
        await query.answer(t("gone", lang), show_alert=True)
        return
    if action == "sv":
        c.store.add_to_agenda(user.id, session_id)
        minutes = remind_minutes(c, user.id)
        upcoming = [d for d in reminders_for(c.brain.kb, [session_id], minutes or 0) if d.starts and d.starts > c.now()]
        if not session.start:
            note = t("saved_no_time", lang)
        elif not minutes:
            note = t("saved_quiet", lang)
        elif upcoming:
            note = t("saved", lang, m=minutes)
        else:
            note = t("saved_started", lang)
    else:
        c.store.remove_from_agenda(user.id, session_id)
        note = t("removed", lang)
    await query.answer(note, show_alert=action == "sv" and not session.start)
    schedule_user(context.application, user.id)
    await _flip_star(query, session_id, action == "sv")


async def _flip_star(query, session_id: str, now_saved: bool) -> None:
    markup = query.message.reply_markup if query.message else None
    if not markup:
        return
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for b in row:
            if b.callback_data in (f"sv:{session_id}", f"un:{session_id}"):
                text = b.text.replace("☆", "★") if now_saved else b.text.replace("★", "☆")
                text = text.replace("내 일정에 추가", "내 일정에서 빼기").replace("Add to my agenda", "Remove from my agenda") \
                    if now_saved else text.replace("내 일정에서 빼기", "내 일정에 추가").replace("Remove from my agenda", "Add to my agenda")
                b = InlineKeyboardButton(text, callback_data=f"{'un' if now_saved else 'sv'}:{session_id}")
            new_row.append(b)
        rows.append(new_row)
    try:
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def my_agenda_page(c: Core, user_id: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    kb = c.brain.kb
    pairs = sorted_agenda(kb, c.store.agenda(user_id))
    if not pairs:
        return t("empty", lang), None
    lines = [f"<b>{t('my_title', lang)}</b>"]
    current = None
    for d, s in pairs:
        if d != current:
            lines.append(f"\n<b>{html.escape(day_label(d, lang))}</b>")
            current = d
        when = f"{s.start:%H:%M}" if s.start else ("시간 미정" if lang == "ko" else "time TBA")
        lines.append(f"• {when} — {html.escape(s.title.get(lang), quote=False)}")
    seen, rows = set(), []
    for _, s in pairs:
        if s.id not in seen:
            seen.add(s.id)
            rows.append([InlineKeyboardButton(f"★ {s.title.get(lang)[:50]}", callback_data=f"un:{s.id}")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def my_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    text, markup = my_agenda_page(c, update.effective_user.id, ui_lang(update, context))
    await update.effective_message.reply_text(text[:4096], parse_mode=ParseMode.HTML, reply_markup=markup)


async def remind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    user_id = update.effective_user.id
    arg = (context.args or [""])[0].lower()
    if arg in ("off", "끄기", "0"):
        c.store.set_remind_minutes(user_id, 0)
        text = t("remind_off", lang)
    elif arg.isdigit() and 1 <= int(arg) <= 24 * 60:
        c.store.set_remind_minutes(user_id, int(arg))
        text = t("remind_on", lang, m=int(arg))
    else:
        minutes = remind_minutes(c, user_id)
        state = (f"{minutes}분 전" if lang == "ko" else f"{minutes} minutes before") if minutes else \
            ("꺼짐" if lang == "ko" else "off")
        text = t("remind_usage", lang, state=state)
    schedule_user(context.application, user_id)
    await update.effective_message.reply_text(text)


async def ics_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    kb = c.brain.kb
    ids = c.store.agenda(update.effective_user.id)
    sessions = [s for s in (kb.session(i) for i in ids) if s] or list(kb.sessions)
    data = build_ics(kb, sessions, lang)
    caption = t("ics_caption" if ids else "ics_all", lang)
    await update.effective_message.reply_document(InputFile(data, filename="wscw2018.ics"), caption=caption)


async def rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def feedback_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    lang = ui_lang(update, context)
    text = " ".join(context.args or []).strip()
    if not text:
        await update.effective_message.reply_text(t("feedback_usage", lang))
        return
    c.store.add_comment(text, lang, at=c.now())
    await update.effective_message.reply_text(t("feedback_thanks", lang))


async def ratings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    c = core(context)
    if not c.config.is_staff(update.effective_user.id):
        from handlers.staff import REFUSED
        await update.effective_message.reply_text(REFUSED[ui_lang(update, context)])
        return
    kb = c.brain.kb
    lines = ["⭐ Ratings"]
    for row in c.store.ratings_summary():
        s = kb.session(row["session_id"])
        lines.append(f"{row['average']:.2f} ({row['votes']}) — {s.title.en if s else row['session_id']}")
    if len(lines) == 1:
        lines.append("no ratings yet")
    lines.append("\n💬 Latest comments")
    tz = c.config.timezone
    lines += [f"{shown(r['at'], tz)} [{r['lang']}] {r['text']}" for r in c.store.comments(10)] or ["none yet"]
    await update.effective_message.reply_text("\n".join(lines)[:4096])


async def programme_changed(app: Application, old: Knowledge, new: Knowledge) -> None:
    """After a reload: queue a notice for attendees whose saved sessions moved or disappeared (each change
    told once), wake the sender, and reschedule their reminders."""
    c: Core = app.bot_data["core"]
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
    app.add_handler(CallbackQueryHandler(toggle, pattern=r"^(sv|un):[a-z0-9-]+$"))
    app.add_handler(CallbackQueryHandler(rate, pattern=r"^rate:[a-z0-9-]+:\d$"))
    app.add_handler(CommandHandler("my", my_command))
    app.add_handler(CommandHandler("remind", remind_command))
    app.add_handler(CommandHandler("ics", ics_command))
    app.add_handler(CommandHandler("feedback", feedback_command))
    app.add_handler(CommandHandler("ratings", ratings_command))


def start_jobs(app: Application) -> None:
    """Called from post_init after staff.start_jobs (whose broadcaster's pacer the notice sender shares)."""
    app.bot_data["on_reload"] = programme_changed
    app.bot_data["notices"] = make_notice_sender(app)
    app.job_queue.run_repeating(notice_job, interval=2, first=0.2, name="notices")
    schedule_all(app)
