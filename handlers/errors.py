"""The error handler: log every error with its traceback (never the token), tell the user something
went wrong instead of staying silent, and leave the bot running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes

log = logging.getLogger(__name__)

SORRY = {"ko": "죄송해요, 일시적인 오류가 있었어요. 잠시 후 다시 시도해 주세요.",
         "en": "Sorry, something went wrong on my side. Please try again in a moment."}


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_user:
        log.info("user %s blocked the bot", update.effective_user.id)
        store = context.application.bot_data["core"].store
        store.mark_blocked(update.effective_user.id)
        return
    if isinstance(error, (TimedOut, NetworkError, RetryAfter)):
        log.warning("Telegram error while handling an update: %s", error)
    else:
        log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.effective_chat and not isinstance(error, (RetryAfter, Forbidden)):
        user = update.effective_user
        lang = "ko" if user and (user.language_code or "").startswith("ko") else "en"
        try:
            await context.bot.send_message(update.effective_chat.id, SORRY[lang])
        except Exception:  # the apology itself failed (e.g. the network is down): logged above already
            log.debug("could not send the error apology", exc_info=True)


def register(app: Application) -> None:
    app.add_error_handler(on_error)
