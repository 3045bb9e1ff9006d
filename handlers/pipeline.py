"""What every update goes through before and after the feature handlers.

- `SafeBot`: an `ExtBot` whose getUpdates never fails on an update python-telegram-bot cannot parse
  (a message without `date`, `"message": {}`): such an update is logged once and replaced by an empty
  `Update` with the same id, so the offset moves past it and the rest of the batch is handled.
  (Unchanged, PTB would refetch the same batch forever and handle nothing else.)
- `gate` (group -1, every update): counts it by kind, drops commands addressed to another bot, and
  applies the per-user flood limit to everything a user sends the bot (messages, commands and button
  presses share one budget, inline queries have one of the same size); staff are never limited. A refusal stops all further handlers.
- `finished` (the last group): observes the time from the update's arrival to the end of its handling.
"""

from __future__ import annotations

import json
import logging
import time

from telegram import Update
from telegram.constants import ChatType, MessageEntityType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ExtBot, TypeHandler

from bot.texts import text
from handlers.common import Context, core, ui_lang

log = logging.getLogger(__name__)

FIRST_GROUP, LAST_GROUP = -10, 1000  # (handlers/helpdesk.py uses -1: after the gate, before 0)


def parse_update(data: object, bot: ExtBot | None) -> Update | None:
    """`Update.de_json`, or None (logged once, at WARNING) when PTB cannot parse it."""
    try:
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return Update.de_json(data, bot)
    except Exception as exc:
        text = json.dumps(data, ensure_ascii=False, default=str)
        log.warning("skipped an update that cannot be parsed (%s: %s): %s", type(exc).__name__, exc,
                    text[:500] + ("…" if len(text) > 500 else ""))
        return None


class _NotTwice(logging.Filter):
    """PTB logs a whole unparseable batch at CRITICAL before SafeBot takes it apart; SafeBot then logs each
    bad update once at WARNING, so PTB's line is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Error while parsing updates!")


logging.getLogger("telegram.ext.ExtBot").addFilter(_NotTwice())


class SafeBot(ExtBot):
    """ExtBot that skips unparseable updates in getUpdates and notes when each update arrived."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._arrivals: dict[int, float] = {}  # update_id -> time.monotonic() when it was received
        self._fetched: list = []  # the raw result of the last getUpdates (one poll at a time)

    def note_arrival(self, update_id: int, when: float | None = None) -> None:
        self._arrivals[update_id] = time.monotonic() if when is None else when

    def take_arrival(self, update_id: int) -> float | None:
        return self._arrivals.pop(update_id, None)

    async def _post(self, endpoint: str, data=None, **kwargs):
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint == "getUpdates":
            self._fetched = result if isinstance(result, list) else []
        return result

    async def get_updates(self, *args, **kwargs) -> tuple[Update, ...]:
        try:
            updates = await super().get_updates(*args, **kwargs)  # parses the batch once
        except TelegramError:
            raise
        except Exception:  # PTB cannot parse the batch: update by update, the bad ones replaced by empty ones
            updates = tuple(self._one_by_one(self._fetched))
            for update in updates:
                self.insert_callback_data(update)
        now = time.monotonic()
        for update in updates:
            self.note_arrival(update.update_id, now)
        return updates

    def _one_by_one(self, batch: list) -> list[Update]:
        updates = []
        for raw in batch:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                log.warning("skipped an update without update_id: %.200r", raw)
                continue
            # an unparseable update keeps its id, so that the offset moves past it
            updates.append(parse_update(raw, self) or Update(update_id))
        return updates


def mark_arrival(app: Application, update: Update) -> None:
    """For updates that do not come through getUpdates (the webhook)."""
    if isinstance(app.bot, SafeBot):
        app.bot.note_arrival(update.update_id)


def update_kind(update: Update) -> str:
    if update.message is not None:
        entities = update.message.entities or ()
        if any(e.type == MessageEntityType.BOT_COMMAND and e.offset == 0 for e in entities):
            return "command"
        return "message"
    if update.callback_query is not None:
        return "callback_query"
    if update.inline_query is not None:
        return "inline_query"
    return "other"


def for_other_bot(update: Update, username: str | None) -> bool:
    """`/cmd@otherbot`: a command meant for another bot in the same chat."""
    message = update.effective_message
    if message is None or update.callback_query is not None:
        return False
    first = (message.text or message.caption or "").split(maxsplit=1)
    if not first or not first[0].startswith("/") or "@" not in first[0]:
        return False
    return first[0].split("@", 1)[1].lower() != (username or "").lower()


def addressed_to_bot(update: Update, context: Context) -> bool:
    """Whether the user is talking to the bot: always in private chats, button presses and inline
    queries; in groups only commands, mentions of the bot and replies to it (the group's own chatter
    must not use up anyone's allowance)."""
    if update.callback_query is not None or update.inline_query is not None:
        return True
    message = update.effective_message
    if message is None or message.chat.type == ChatType.PRIVATE:
        return True
    text = message.text or message.caption or ""
    me = (context.bot.username or "").lower()
    if text.startswith("/") or (me and f"@{me}" in text.lower()):
        return True
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id


async def gate(update: object, context: Context) -> None:
    if not isinstance(update, Update):
        return
    c = core(context)
    arrived = context.bot.take_arrival(update.update_id) if isinstance(context.bot, SafeBot) else None
    context.arrived = arrived or time.monotonic()  # type: ignore[attr-defined]
    c.metrics.updates.labels(update_kind(update)).inc()
    if for_other_bot(update, context.bot.username):
        raise ApplicationHandlerStop
    user = update.effective_user
    if user is None or c.config.is_staff(user.id) or not addressed_to_bot(update, context):
        return
    # inline queries have a budget of their own: Telegram sends one per pause in typing, so a user who
    # types a few inline searches must not lose the right to ask questions in the chat
    if c.flood.allow(("inline", user.id) if update.inline_query is not None else user.id):
        return
    log.info("flood limit: refused an update from user %s", user.id)
    query, message = update.callback_query, update.effective_message
    if query is not None:  # the client shows a spinner until the press is answered
        await query.answer(text("flood", ui_lang(update, context)) if c.flood.warn_once(user.id) else None)
    elif message is not None and update.inline_query is None and c.flood.warn_once(user.id):
        await message.reply_text(text("flood", ui_lang(update, context)))
    raise ApplicationHandlerStop


async def finished(update: object, context: Context) -> None:
    arrived = getattr(context, "arrived", None)
    if isinstance(update, Update) and arrived is not None:
        core(context).metrics.reply_seconds.observe(time.monotonic() - arrived)


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, gate), group=FIRST_GROUP)
    app.add_handler(TypeHandler(Update, finished), group=LAST_GROUP)
