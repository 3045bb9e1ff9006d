"""Knowledge reloads on Telegram: staff's /reload, the folder watcher (a JobQueue job) and the
"Apply anyway" / "Keep current" buttons of a held reload. The rules — debounce, worker thread and time
limit, when to hold, the texts — are in bot/reload.py; this module sends, edits and swaps.

In `bot_data` (handlers.common.BotData): `reloader` (bot.reload.Reloader: one load at a time, the held
version), `debounce` (bot.reload.Debounce: the watcher's state), and `on_reload` (set by
handlers/agenda.py: an async `hook(app, old_kb, new_kb)` run after a new version is applied — it tells
attendees about their moved or dropped sessions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from bot.answer import Brain
from bot.knowledge import Knowledge
from bot.reload import Debounce, Held, Reloader, applied_text, fingerprint, kept_text, superseded_text
from bot.render import Button
from bot.texts import text
from handlers.common import Context, markup, staff_only
from handlers.staff import staff_lang, staff_lang_of

Said = str | Callable[[str], str]  # a text, or one made in each staff member's language

log = logging.getLogger(__name__)


def reloader(app: Application) -> Reloader:
    """The application's Reloader (made on first use): loads with the configured folder and matching."""
    data = app.bot_data
    if data.reloader is None:
        c = data.core
        data.reloader = Reloader(lambda: Brain.from_config(c.config), lambda: c.brain)
    return data.reloader


def debounce(app: Application) -> Debounce:
    """The watcher's state (made on first use: the folder as it is now counts as loaded)."""
    data = app.bot_data
    if data.debounce is None:
        data.debounce = Debounce(fingerprint(data.core.config.knowledge_dir))
    return data.debounce


def hold_buttons(hold_id: int, lang: str = "en") -> list[list[Button]]:
    return [[Button(text("reload.apply_button", lang), data=f"kb:apply:{hold_id}"),
             Button(text("reload.keep_button", lang), data=f"kb:keep:{hold_id}")]]


def said(what: Said, lang: str) -> str:
    return what if isinstance(what, str) else what(lang)


async def notify_staff(app: Application, text: Said, also: int | None = None,
                       markup: InlineKeyboardMarkup | None | Callable[[str], InlineKeyboardMarkup | None] = None
                       ) -> list[tuple[int, int]]:
    """Send `text` to every staff member (and `also`), each in their language when `text` (and `markup`) is
    a function of the language; returns (chat_id, message_id) of what was sent."""
    c = app.bot_data.core
    sent = []
    for staff_id in sorted(c.config.staff_ids | ({also} if also else set())):
        lang = staff_lang_of(app, staff_id)
        try:
            message = await app.bot.send_message(staff_id, said(text, lang)[:4096],
                                                 reply_markup=markup(lang) if callable(markup) else markup)
            sent.append((message.chat_id, message.message_id))
        except TelegramError as exc:
            log.warning("could not notify staff %s: %s", staff_id, exc)
    return sent


async def _retire(app: Application, held: Held, text: Said) -> None:
    """Replace the hold messages (and their buttons) with `text` (in each staff member's language)."""
    for chat_id, message_id in held.messages:
        try:
            await app.bot.edit_message_text(said(text, staff_lang_of(app, chat_id))[:4096], chat_id, message_id)
        except TelegramError as exc:
            log.info("could not update the hold message in %s: %s", chat_id, exc)


async def _applied(app: Application, old: Knowledge, new: Knowledge) -> None:
    """After a swap: count it and run the hook (attendee notices, reminders)."""
    c = app.bot_data.core
    c.metrics.reloads.inc()
    hook = app.bot_data.on_reload
    if hook:
        try:
            await hook(app, old, new)
        except Exception:  # the new knowledge is in use; a failed notice must not hide that
            log.exception("the after-reload hook failed")


async def reload_knowledge(app: Application, requested_by: int | None = None) -> str:
    """Load the folder (off the event loop) and apply, hold or refuse it; staff hear the outcome —
    except of a save that changed nothing, which only the staff member who asked hears about.
    Returns the report."""
    c = app.bot_data.core
    r = reloader(app)
    before = fingerprint(c.config.knowledge_dir)
    outcome = await r.reload()
    if outcome.kind != "busy":
        debounce(app).attempted(before)
    if outcome.superseded is not None:
        await _retire(app, outcome.superseded, superseded_text)
    if outcome.kind == "applied":
        c.brain = outcome.new  # one reference swap: questions in flight finish on the old brain
        log.info("knowledge reloaded: %s", outcome.diff.summary())
        await notify_staff(app, outcome.text_in, also=requested_by)
        await _applied(app, outcome.old.kb, outcome.new.kb)
    elif outcome.kind == "held":
        log.warning("knowledge reload held for staff: %s", outcome.text.replace("\n", " | "))
        hold_id = outcome.hold_id
        sent = await notify_staff(app, outcome.text_in, also=requested_by,
                                  markup=lambda lang: markup(hold_buttons(hold_id, lang)))
        if r.held is not None and r.held.hold_id == outcome.hold_id:
            r.held.messages = sent
        else:  # superseded while the messages went out
            await _retire(app, Held(outcome.hold_id, outcome.old, outcome.new, outcome.diff, sent), superseded_text)
    elif outcome.kind == "unchanged":
        log.info("knowledge files saved without changes")
        if requested_by:
            try:
                await app.bot.send_message(requested_by, outcome.text_in(staff_lang_of(app, requested_by)))
            except TelegramError as exc:
                log.warning("could not answer /reload of %s: %s", requested_by, exc)
    else:  # failed or busy: the last good version stays
        c.metrics.reload_failures.inc()
        await notify_staff(app, outcome.text_in, also=requested_by)
    return outcome.text


async def watch(app: Application) -> bool:
    """One look at the folder: reload if it changed and then stayed the same since the previous look
    (bot.reload.Debounce). Returns whether a reload was made."""
    c = app.bot_data.core
    r = reloader(app)
    if r.busy or not debounce(app).due(fingerprint(c.config.knowledge_dir)):
        return False
    await reload_knowledge(app)
    return True


async def watch_job(context: Context) -> None:
    """Every reload.poll_seconds. The look runs as its own task, so a slow load never makes the
    scheduler skip (and log) runs; while a load runs, looks are skipped."""
    app = context.application
    if not reloader(app).busy:
        app.create_task(watch(app), name="knowledge-watch")


async def reload_command(update: Update, context: Context) -> None:
    """/reload (staff only: handlers/commands.py)."""
    staff_lang(update, context)  # remembered: the report comes in the staff member's language
    await reload_knowledge(context.application, requested_by=update.effective_user.id)


@staff_only
async def hold_button(update: Update, context: Context) -> None:
    """"Apply anyway" swaps in the held version (then attendees are told); "Keep current" drops it."""
    query = update.callback_query
    await query.answer()
    app = context.application
    _, action, raw_id = (query.data or "").split(":", 2)
    held = reloader(app).take(int(raw_id))
    if held is None:
        try:
            await query.edit_message_text(text("reload.closed", staff_lang(update, context)))
        except TelegramError:
            pass
        return
    staff_lang(update, context)
    name = update.effective_user.full_name if update.effective_user else None

    def by(key: str, what: Callable[[str], str]) -> Callable[[str], str]:
        return lambda lang: text(key, lang, text=what(lang), who=name or text("reload.someone", lang))

    who = name or "staff"
    if action == "keep":
        log.info("held knowledge version dropped by %s", who)
        await _retire(app, held, by("reload.chosen_by", kept_text))
        return
    c = app.bot_data.core
    c.brain = held.new
    log.info("held knowledge version applied by %s: %s", who, held.diff.summary())
    await _retire(app, held, by("reload.applied_by", lambda lang: applied_text(held.new.kb, held.diff, lang=lang)))
    await _applied(app, held.old.kb, held.new.kb)


def register(app: Application) -> None:
    """The hold buttons (the /reload command: handlers/commands.py)."""
    app.add_handler(CallbackQueryHandler(hold_button, pattern=r"^kb:(apply|keep):\d+$"))


def start_jobs(app: Application) -> None:
    """Called from post_init: note the folder as loaded and, if reload.poll_seconds > 0, watch it."""
    c = app.bot_data.core
    reloader(app)
    app.bot_data.debounce = Debounce(fingerprint(c.config.knowledge_dir))
    if c.config.reload_seconds > 0:
        app.job_queue.run_repeating(watch_job, interval=c.config.reload_seconds, first=c.config.reload_seconds,
                                    name="knowledge-watch")
