"""Shared plumbing of the Telegram adapter: what the handlers keep in bot_data, which language a user
gets, and how a core `Reply` becomes Telegram messages (HTML chunks, inline keyboards, a venue pin)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.answer import Brain
from bot.clock import Clock
from bot.config import Config
from bot.flood import FloodGate
from bot.metrics import Metrics
from bot.render import Reply
from bot.store import Store

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Replies to attendees wait out a 429 and try again (AIORateLimiter; its default is 0 retries, which
# broadcasts keep: the broadcaster handles 429 itself).
RETRIES_ON_429 = 2


@dataclass
class Core:
    """Everything the handlers need, in `application.bot_data["core"]`. `brain` is replaced as a whole
    on reload (one reference swap), so a question in flight keeps the brain it started with."""

    config: Config
    clock: Clock
    brain: Brain
    store: Store
    flood: FloodGate
    metrics: Metrics = field(default_factory=Metrics)

    def now(self) -> datetime:
        return self.clock.now()


def core(context: ContextTypes.DEFAULT_TYPE) -> Core:
    return context.application.bot_data["core"]


def ui_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Language for menus and pages: the user's /lang choice, else their Telegram app language."""
    user = update.effective_user
    if user is None:
        return "en"
    chosen = core(context).store.chosen_lang(user.id)
    if chosen:
        return chosen
    return "ko" if (user.language_code or "").lower().startswith("ko") else "en"


def chosen_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    user = update.effective_user
    return core(context).store.chosen_lang(user.id) if user else None


def saved(update: Update, context: ContextTypes.DEFAULT_TYPE) -> frozenset[str]:
    """Session ids in the user's agenda (for the ☆/★ buttons)."""
    user = update.effective_user
    return frozenset(core(context).store.agenda(user.id)) if user else frozenset()


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    rows = []
    for row in reply.buttons:
        buttons = []
        for b in row:
            if b.data is not None:
                buttons.append(InlineKeyboardButton(b.text, callback_data=b.data))
            elif b.url is not None:
                buttons.append(InlineKeyboardButton(b.text, url=b.url))
            elif b.inline is not None:
                buttons.append(InlineKeyboardButton(b.text, switch_inline_query_current_chat=b.inline))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(rows) if rows else None


async def send_reply(context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply,
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


async def edit_or_send(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
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
