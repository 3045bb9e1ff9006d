"""Attendees: /start, the menu and its pages, language, free-text questions, did-you-mean buttons and
the polite replies to everything else (stickers, photos, unknown commands). The flood limit and
commands for other bots are handled before any of these, in handlers/pipeline.py."""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import pages
from bot.answer import MAX_QUESTION
from bot.followup import Topic
from bot.texts import lang_of, parse_lang, text
from handlers import helpdesk
from handlers.common import Context, chosen_lang, core, edit_or_send, saved, send_reply, ui_lang

PAGE_COMMANDS = {"menu": "home", "schedule": "sched", "now": "now", "venue": "venue", "speakers": "speakers",
                 "results": "results", "contact": "contact"}  # command → page of bot.pages


async def start(update: Update, context: Context) -> None:
    """Greet, remember the user (subscribed to announcements by default) and show the menu."""
    user = update.effective_user
    c = core(context)
    if user:
        c.store.touch_user(user.id, lang_of(user.language_code))
    lang = ui_lang(update, context)
    await send_reply(context, update.effective_chat.id, pages.welcome(c.brain.kb, lang))


async def page_command(update: Update, context: Context) -> None:
    """/menu /schedule /now /venue /speakers /results /contact."""
    name = PAGE_COMMANDS[update.effective_message.text.split()[0][1:].split("@")[0].lower()]
    c = core(context)
    reply = pages.page(c.brain.kb, name, ui_lang(update, context), c.now(), saved(update, context))
    await send_reply(context, update.effective_chat.id, reply)


async def lang_command(update: Update, context: Context) -> None:
    """/lang ko|en sets the language; /lang alone offers the event's languages. An event with one language
    says so (the command is not in its menus: handlers/commands.py)."""
    langs = core(context).brain.kb.event.languages
    if len(langs) < 2:
        await update.effective_message.reply_text(text("lang_only", ui_lang(update, context)))
        return
    lang = parse_lang(context.args[0]) if context.args else None
    if lang in langs:
        await _set_lang(update, context, lang)
        return
    await send_reply(context, update.effective_chat.id, pages.choose_lang(ui_lang(update, context), langs))


async def _set_lang(update: Update, context: Context, lang: str) -> None:
    c = core(context)
    c.store.set_lang(update.effective_user.id, lang)
    reply = pages.lang_set(c.brain.kb, lang)
    if update.callback_query:
        await edit_or_send(update, context, reply)
    else:
        await send_reply(context, update.effective_chat.id, reply)


async def button(update: Update, context: Context) -> None:
    """Menu pages (m:), days (d:), answers (a:) and language (lang:) buttons."""
    query = update.callback_query
    await query.answer()
    data = query.data or ""
    c = core(context)
    brain = c.brain
    lang = ui_lang(update, context)
    kind, _, value = data.partition(":")
    if kind == "lang" and value in brain.kb.event.languages:
        await _set_lang(update, context, value)
    elif kind == "m":
        reply = pages.page(brain.kb, value, lang, c.now(), saved(update, context))
        if reply:
            await edit_or_send(update, context, reply)
    elif kind == "d":
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return
        if day in brain.kb.event.days:
            await edit_or_send(update, context, pages.day(brain.kb, day, lang, saved(update, context)))
    elif kind == "a":
        if brain.kb.entry(value) is None:  # e.g. removed by a reload since the button was sent
            await send_reply(context, update.effective_chat.id, pages.home(brain.kb, lang))
            return
        now = c.now()
        reply = brain.entry_reply(value, lang, saved(update, context), now)  # dated entries: the bot's clock
        if context.chat_data is not None:
            context.chat_data["topic"] = Topic(value, now)  # a tapped entry is what a follow-up is about
        await send_reply(context, update.effective_chat.id, reply)


def _question_text(update: Update, context: Context) -> str | None:
    """The question in a message: the whole text in private chats; in groups only if the bot is
    mentioned (the mention removed) or the message replies to the bot."""
    message = update.effective_message
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    me = (context.bot.username or "").lower()
    mentioned = False
    for value in message.parse_entities([MessageEntityType.MENTION]).values():
        if value.lstrip("@").lower() == me:
            mentioned = True
            text = text.replace(value, " ")
    replied = message.reply_to_message is not None and message.reply_to_message.from_user is not None \
        and message.reply_to_message.from_user.id == context.bot.id
    return text if (mentioned or replied) else None


async def question(update: Update, context: Context) -> None:
    """Free text → the matcher: an answer, "did you mean" buttons, or an honest "I don't know"."""
    text = _question_text(update, context)
    if text is None:
        return
    c = core(context)
    brain = c.brain  # one reference for the whole question, even if a reload swaps it meanwhile
    now = c.now()
    topic = context.chat_data.get("topic") if context.chat_data is not None else None
    answer = brain.ask(text[: MAX_QUESTION + 1], now, chosen_lang(update, context), saved(update, context), topic)
    if context.chat_data is not None:
        context.chat_data["topic"] = answer.topic(topic, now)  # what "그럼 언제야?" will be about
    c.metrics.questions.labels(answer.outcome).inc()
    if answer.outcome in ("answer", "list", "ambiguous", "none"):
        c.store.record_question(text, answer.lang, answer.outcome in ("answer", "list"), answer.entry,
                                answer.candidates, now, answer.outcome)
        if answer.outcome not in ("answer", "list"):
            c.metrics.unanswered.inc()
    message = update.effective_message
    reply_to = message.message_id if message.chat.type != ChatType.PRIVATE else None
    reply = helpdesk.with_ask_button(update, context, text, answer.lang, answer.reply) if answer.outcome == "none" \
        else answer.reply
    await send_reply(context, message.chat_id, reply, reply_to=reply_to)


async def non_text(update: Update, context: Context) -> None:
    """Stickers, photos, voice… in a private chat: say what the bot can read."""
    await update.effective_message.reply_text(text("non_text", ui_lang(update, context)))


async def unknown_command(update: Update, context: Context) -> None:
    message = update.effective_message
    command = (message.text or "").split()[0]
    if message.chat.type != ChatType.PRIVATE and "@" not in command:
        return  # in groups, a bare /command may be meant for another bot (/cmd@otherbot: see pipeline.gate)
    await message.reply_text(text("unknown_command", ui_lang(update, context)))


def register(app: Application) -> None:
    """Buttons and free-text questions (the commands: handlers/commands.py)."""
    app.add_handler(CallbackQueryHandler(button, pattern=r"^(m|d|a|lang):"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, question))


def register_fallbacks(app: Application) -> None:
    """Registered last, after every feature's commands."""
    app.add_handler(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, unknown_command))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT
                                   & ~filters.StatusUpdate.ALL, non_text))
