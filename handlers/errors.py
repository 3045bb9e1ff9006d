"""The error handler: log every error with its traceback (never the token), tell the user something
went wrong instead of staying silent, and leave the bot running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.texts import text
from handlers.common import Context, app_lang

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    error = context.error
    if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_user:
        log.info("user %s blocked the bot", update.effective_user.id)
        store = context.bot_data.core.store
        store.mark_blocked(update.effective_user.id)
        return
    if isinstance(error, (TimedOut, NetworkError, RetryAfter)):
        log.warning("Telegram error while handling an update: %s", error)
    else:
        log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.effective_chat and not isinstance(error, (RetryAfter, Forbidden)):
        try:  # in the app's language: the store (for a /lang choice) may be what failed
            await context.bot.send_message(update.effective_chat.id, text("error", app_lang(update)))
        except Exception:  # the apology itself failed (e.g. the network is down): logged above already
            log.debug("could not send the error apology", exc_info=True)


def register(app: Application) -> None:
    app.add_error_handler(on_error)
