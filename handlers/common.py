"""Shared plumbing of the Telegram adapter: the typed `bot_data` (`BotData`, through PTB's
`ContextTypes`), which language a user gets, the staff-only guard, and how a core `Reply` becomes
Telegram messages (HTML chunks, inline keyboards, a venue pin)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.answer import Brain
from bot.broadcast import Broadcaster, NoticeSender
from bot.clock import Clock
from bot.config import Config
from bot.flood import FloodGate
from bot.knowledge import Knowledge
from bot.metrics import Metrics
from bot.reload import Debounce, Reloader
from bot.render import Button, Reply
from bot.store import Store
from bot.texts import lang_of, pick_lang, text

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Replies to attendees wait out a 429 and try again (AIORateLimiter; its default is 0 retries, which
# broadcasts keep: the broadcaster handles 429 itself).
RETRIES_ON_429 = 2


@dataclass
class Core:
    """Everything the handlers need, in `application.bot_data.core`. `brain` is replaced as a whole
    on reload (one reference swap), so a question in flight keeps the brain it started with."""

    config: Config
    clock: Clock
    brain: Brain
    store: Store
    flood: FloodGate
    metrics: Metrics = field(default_factory=Metrics)

    def now(self) -> datetime:
        return self.clock.now()


ReloadHook = Callable[[Application, Knowledge, Knowledge], Awaitable[None]]


@dataclass
class BotData:
    """`application.bot_data` (PTB makes it with `BotData()`, see `CONTEXT_TYPES`): what the handlers
    and jobs share. `core` is set by handlers.app.build_application; the senders in post_init."""

    core: Core = None  # type: ignore[assignment]  # set right after the Application is built
    broadcaster: Broadcaster | None = None  # announcements (handlers/staff.py)
    notices: NoticeSender | None = None  # reminders, rating requests, programme-change notices (agenda.py)
    reloader: Reloader | None = None  # one knowledge load at a time, the held version (reload.py)
    debounce: Debounce | None = None  # the knowledge folder watcher's state (reload.py)
    on_reload: ReloadHook | None = None  # run after a new knowledge version is applied (set by agenda.py)
    db_problem: str | None = None  # the database problem staff were last told about (staff.py)
    helpdesk: Any = None  # handlers.helpdesk.Desk: the helpdesk's tables, relay sender, forum flag (helpdesk.py)


# ExtBot[int]: the bot has an AIORateLimiter, whose per-call `rate_limit_args` is a number of retries
Context = CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)


def core(context: Context) -> Core:
    return context.bot_data.core


def ui_lang(update: Update, context: Context) -> str:
    """Language for menus and pages: the user's /lang choice, else their Telegram app language."""
    user = update.effective_user
    event = core(context).brain.kb.event
    if user is None:
        return event.reply_lang(pick_lang())
    return event.reply_lang(pick_lang(chosen=core(context).store.chosen_lang(user.id), app=user.language_code))


def app_lang(update: object) -> str:
    """The language of the user's Telegram app ("en" when the update has no user)."""
    user = update.effective_user if isinstance(update, Update) else None
    return lang_of(user.language_code if user else None)


def chosen_lang(update: Update, context: Context) -> str | None:
    user = update.effective_user
    return core(context).store.chosen_lang(user.id) if user else None


def saved(update: Update, context: Context) -> frozenset[str]:
    """Session ids in the user's agenda (for the ☆/★ buttons)."""
    user = update.effective_user
    return frozenset(core(context).store.agenda(user.id)) if user else frozenset()


Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


def staff_only(handler: Callback) -> Callback:
    """Run `handler` for staff; anyone else gets a polite refusal (an alert for a button) and nothing
    happens. Every staff command (handlers/commands.py) and staff button goes through it."""
    @wraps(handler)
    async def wrapper(update: Update, context: Context) -> None:
        user = update.effective_user
        if not core(context).config.is_staff(user.id if user else None):
            log.info("refused staff action from user %s", user.id if user else None)
            if update.callback_query:
                await update.callback_query.answer(text("refused", ui_lang(update, context)), show_alert=True)
            elif update.effective_message:
                await update.effective_message.reply_text(text("refused", ui_lang(update, context)))
            return
        await handler(update, context)
    return wrapper


def markup(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Neutral buttons (bot.render.Button) → an inline keyboard (None when there are none)."""
    keyboard_rows = []
    for row in rows:
        buttons = []
        for b in row:
            if b.data is not None:
                buttons.append(InlineKeyboardButton(b.text, callback_data=b.data))
            elif b.url is not None:
                buttons.append(InlineKeyboardButton(b.text, url=b.url))
            elif b.inline is not None:
                buttons.append(InlineKeyboardButton(b.text, switch_inline_query_current_chat=b.inline))
        if buttons:
            keyboard_rows.append(buttons)
    return InlineKeyboardMarkup(keyboard_rows) if keyboard_rows else None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    return markup(reply.buttons)


async def send_reply(context: Context, chat_id: int, reply: Reply,
                     reply_to: int | None = None) -> Message | None:
    """Send a reply: its text split into ≤ 4096-character HTML messages (buttons on the last one), then
    the venue pin if it has one."""
    chunks = reply.doc.html_chunks()
    last: Message | None = None
    for n, chunk in enumerate(chunks):
        is_last = n == len(chunks) - 1
        last = await context.bot.send_message(
            chat_id, chunk, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
            reply_markup=keyboard(reply) if is_last else None,
            reply_to_message_id=reply_to if n == 0 else None, rate_limit_args=RETRIES_ON_429)
    if reply.location:
        lat, lon, title, address = reply.location
        if address:
            await context.bot.send_venue(chat_id, latitude=lat, longitude=lon, title=title, address=address,
                                         rate_limit_args=RETRIES_ON_429)
        else:
            await context.bot.send_location(chat_id, latitude=lat, longitude=lon, rate_limit_args=RETRIES_ON_429)
    return last


async def edit_or_send(update: Update, context: Context, reply: Reply) -> None:
    """Show a page in place of the message whose button was pressed (menus), or send it anew if it is
    too long for one message or carries a location."""
    query = update.callback_query
    chunks = reply.doc.html_chunks()
    message = query.message if query else None
    if message is None or len(chunks) > 1 or reply.location or not isinstance(message, Message):
        chat_id = update.effective_chat.id if update.effective_chat else update.effective_user.id
        await send_reply(context, chat_id, reply)
        return
    try:
        await message.edit_text(chunks[0], parse_mode=ParseMode.HTML, reply_markup=keyboard(reply),
                                link_preview_options=NO_PREVIEW)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
