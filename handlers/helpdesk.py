"""The helpdesk on Telegram: "Ask the organisers" under an "I don't know" and `/ask`, the relay to the staff
chat (a group, or a forum supergroup with one topic per attendee), staff answers (replies, messages in the
attendee's topic, replies to an Answer prompt) and their edits relayed back, "✅ sent" with "💾 Save as FAQ",
and the open questions under `/unanswered`. The rules, tables, outbox and texts are in bot/helpdesk.py.

Callback data: `hd:ask:<ticket>` (attendee), `hd:ans:<ticket>` and `hd:faq:<answer>` (staff only).
State: `bot_data.helpdesk` (a `Desk`: the tables, the sender, whether the staff chat is a forum).
Only staff ids can answer: anyone else's message in the staff chat is ignored (nothing is sent).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import ForceReply, Message, ReplyParameters, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, MessageHandler, filters

from bot.agenda import Skip
from bot.broadcast import Failed, Pacer
from bot.helpdesk import (
    CAPTIONED,
    DIGEST_SECONDS,
    Helpdesk,
    RelaySender,
    Ticket,
    ack_buttons,
    ack_text,
    answer_html,
    ask_buttons,
    caption_html,
    digest_html,
    note_text,
    open_html,
    prompt_html,
    question_html,
    topic_name,
)
from bot.render import Reply
from bot.texts import text
from handlers.common import NO_PREVIEW, Context, Core, core, markup, staff_only, ui_lang
from handlers.staff import bot_api_errors, staff_lang

log = logging.getLogger(__name__)

DRAIN_TASK = "helpdesk-drain"  # cancelled first at stop (handlers/app.py OUTBOX_TASKS); rows stay pending
DIGEST_JOB = "helpdesk-digest"
ASK_SINCE = timedelta(days=1)  # /ask alone sends the attendee's last unanswered question of the last day


@dataclass
class Desk:
    tables: Helpdesk
    sender: RelaySender | None = None
    forum: bool = False  # the staff chat is a forum supergroup (getChat at start, and every staff-chat message)
    # Held while a staff-side message that stands for a ticket (a relayed question, an Answer prompt) is sent
    # and noted, and while a staff message looks up the ticket it answers: updates run concurrently, so a
    # reply may arrive before its sender has noted what the replied message stands for.
    posting: asyncio.Lock = field(default_factory=asyncio.Lock)


def desk(app: Application) -> Desk:
    return app.bot_data.helpdesk


def wall_now() -> datetime:
    """The real time (the per-minute window and the outbox's times; the event clock may be simulated)."""
    return datetime.now(UTC)


def staff_chat_lang(c: Core) -> str:
    """Messages the whole staff chat reads (relayed questions, digests) are in the event's first language."""
    return c.brain.kb.event.languages[0]


def _name(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "?"
    return user.full_name + (f" @{user.username}" if user.username else "")


def _topic(context: Context) -> str | None:
    """The attendee's last topic, when the attendee handler keeps one in chat_data (an entry id)."""
    topic = context.chat_data.get("topic") if context.chat_data is not None else None
    if topic is None:
        return None
    return str(getattr(topic, "entry_id", topic))[:100]


# ---------------------------------------------------------------- attendees


def with_ask_button(update: Update, context: Context, question: str, lang: str, reply: Reply) -> Reply:
    """The hook of handlers/attendee.py for an "I don't know": in a private chat, with a staff chat configured,
    the reply gets an "Ask the organisers" button (the question is kept as an offered ticket)."""
    c = core(context)
    chat, user = update.effective_chat, update.effective_user
    if c.config.staff_chat_id is None or chat is None or user is None or chat.type != ChatType.PRIVATE:
        return reply
    ticket_id = desk(context.application).tables.offer(user.id, chat.id, _name(update), question, lang,
                                                       _topic(context), c.now())
    return replace(reply, buttons=[*reply.buttons, *ask_buttons(ticket_id, lang)])


async def _ask(update: Update, context: Context, ticket: Ticket) -> str:
    c = core(context)
    d = desk(context.application)
    assert c.config.staff_chat_id is not None
    outcome = d.tables.ask(ticket.id, c.config.staff_chat_id, wall_now(), c.config.helpdesk_per_minute)
    if outcome == "queued":
        wake(context.application)
    elif outcome == "batched":
        schedule_digest(context.application)
    return outcome


async def ask_button(update: Update, context: Context) -> None:
    """hd:ask:<ticket> — the attendee sends their question to the organisers."""
    query = update.callback_query
    d = desk(context.application)
    ticket = d.tables.ticket(int((query.data or "").rsplit(":", 1)[1]))
    if ticket is None or update.effective_user is None or ticket.user_id != update.effective_user.id \
            or core(context).config.staff_chat_id is None:
        await query.answer()
        return
    outcome = await _ask(update, context, ticket)
    if outcome == "already":
        await query.answer(text("helpdesk.already", ticket.lang), show_alert=True)
    else:
        await query.answer()
        await context.bot.send_message(ticket.chat_id, text("helpdesk.asked", ticket.lang))
    if isinstance(query.message, Message):  # the button has done its job
        try:
            await query.message.edit_reply_markup(None)
        except BadRequest:
            pass


async def ask_command(update: Update, context: Context) -> None:
    """/ask TEXT sends TEXT to the organisers; /ask alone sends the last question the bot could not answer
    (or says how to use it)."""
    c = core(context)
    message, user = update.effective_message, update.effective_user
    lang = ui_lang(update, context)
    if c.config.staff_chat_id is None:
        await message.reply_text(text("helpdesk.unavailable", lang))
        return
    if message.chat.type != ChatType.PRIVATE or user is None:
        await message.reply_text(text("helpdesk.private_only", lang))
        return
    d = desk(context.application)
    question = " ".join(context.args or []).strip()
    if question:
        ticket = d.tables.ticket(d.tables.offer(user.id, message.chat_id, _name(update), question, lang,
                                                _topic(context), c.now()))
    else:
        ticket = d.tables.last_offered(user.id, c.now() - ASK_SINCE)
    if ticket is None:
        await message.reply_text(text("helpdesk.ask_usage", lang))
        return
    outcome = await _ask(update, context, ticket)
    await message.reply_text(text("helpdesk.already" if outcome == "already" else "helpdesk.asked", ticket.lang))


# ---------------------------------------------------------------- staff


PROMPT_GROUP = -1  # after the pipeline's gate, before the attendee handlers (group 0)


class StaffChat(filters.MessageFilter):
    """Messages in the staff chat (the helpdesk reads them all; handlers/attendee.py never does)."""

    def __init__(self, app: Application) -> None:
        super().__init__(name="helpdesk.StaffChat")
        self.app = app

    def filter(self, message: Message) -> bool:
        c: Core = self.app.bot_data.core
        return c.config.staff_chat_id is not None and message.chat_id == c.config.staff_chat_id


class StaffReplyToBot(filters.MessageFilter):
    """A staff member's reply, in their private chat with the bot, to one of the bot's messages: maybe the
    answer to an Answer prompt (:func:`prompt_reply` looks it up), else an ordinary message."""

    def __init__(self, app: Application) -> None:
        super().__init__(name="helpdesk.StaffReplyToBot")
        self.app = app

    def filter(self, message: Message) -> bool:
        c: Core = self.app.bot_data.core
        replied = message.reply_to_message
        return (message.chat.type == ChatType.PRIVATE and message.from_user is not None
                and c.config.is_staff(message.from_user.id) and replied is not None
                and replied.from_user is not None and replied.from_user.id == self.app.bot.id)


def _ticket_of(d: Desk, c: Core, message: Message) -> int | None:
    """The ticket a staff message answers: the relayed question or prompt it replies to, else (in a forum) the
    latest question of the attendee whose topic it is in."""
    replied = message.reply_to_message
    if replied is not None:
        ticket_id = d.tables.ticket_of_post(message.chat_id, replied.message_id)
        if ticket_id is not None:
            return ticket_id
    if message.chat_id == c.config.staff_chat_id and message.is_topic_message and message.message_thread_id:
        user_id = d.tables.user_of_thread(message.chat_id, message.message_thread_id)
        if user_id is not None:
            ticket = d.tables.latest_ticket(user_id)
            return ticket.id if ticket else None
    return None


def _content(message: Message) -> tuple[str, str | None, str]:
    """(kind, media, text) of a staff answer: text is sent as text, anything else is copied."""
    if message.text is not None:
        return "text", None, message.text
    media = next((k for k in ("photo", "video", "document", "audio", "voice", "animation", "sticker", "video_note",
                              "location", "venue", "contact", "poll") if getattr(message, k, None)), "other")
    return "copy", media, message.caption or ""


async def staff_message(update: Update, context: Context) -> None:
    """A message in the staff chat: if a staff member answers a ticket, queue the relay to the attendee.
    Anything else — other members, chatter, unknown replies — is ignored."""
    message, user = update.effective_message, update.effective_user
    c = core(context)
    d = desk(context.application)
    if message.chat.is_forum is not None:
        d.forum = bool(message.chat.is_forum)
    if user is not None and c.config.is_staff(user.id):
        await _answer(update, context)


async def prompt_reply(update: Update, context: Context) -> None:
    """A staff member's reply in their private chat: the answer to an Answer prompt is relayed, and nothing
    else happens to it; any other message goes on to the attendee handlers."""
    if await _answer(update, context):
        raise ApplicationHandlerStop


async def _answer(update: Update, context: Context) -> bool:
    """Record the staff message as the answer to the ticket it answers, if any (True) and wake the sender."""
    message, user = update.effective_message, update.effective_user
    c = core(context)
    d = desk(context.application)
    async with d.posting:  # the message replied to was noted before anyone could reply to it
        ticket_id = _ticket_of(d, c, message)
    if ticket_id is None or user is None:
        return False
    kind, media, answer_text = _content(message)
    thread = message.message_thread_id if message.is_topic_message else None
    answer_id = d.tables.record_answer(ticket_id, message.chat_id, message.message_id, thread, user.id,
                                       staff_lang(update, context), kind, media, answer_text, wall_now())
    if answer_id is not None:
        wake(context.application)
    return True


async def staff_edit(update: Update, context: Context) -> None:
    """Staff edited an answer: the attendee's copy is edited too."""
    message, user = update.effective_message, update.effective_user
    c = core(context)
    if user is None or not c.config.is_staff(user.id):
        return
    new_text = message.text if message.text is not None else (message.caption or "")
    if desk(context.application).tables.edit_answer(message.chat_id, message.message_id, new_text, wall_now()):
        wake(context.application)


@staff_only
async def answer_button(update: Update, context: Context) -> None:
    """hd:ans:<ticket> (a digest, /unanswered) — post the question as a prompt: a reply to it is the answer."""
    query = update.callback_query
    lang = staff_lang(update, context)
    d = desk(context.application)
    ticket = d.tables.ticket(int((query.data or "").rsplit(":", 1)[1]))
    if ticket is None:
        await query.answer(text("helpdesk.gone", lang), show_alert=True)
        return
    await query.answer()
    message = query.message
    chat_id = message.chat.id if message else update.effective_user.id
    thread = message.message_thread_id if isinstance(message, Message) and message.is_topic_message else None
    async with d.posting:
        sent = await context.bot.send_message(chat_id, prompt_html(ticket, lang), parse_mode=ParseMode.HTML,
                                              message_thread_id=thread,
                                              reply_markup=ForceReply(selective=True, input_field_placeholder="✍️"))
        d.tables.add_post(sent.chat_id, sent.message_id, ticket.id, "prompt")


@staff_only
async def faq_button(update: Update, context: Context) -> None:
    """hd:faq:<answer> — write the attendee's question and this answer as a new FAQ entry
    (bot.staff_faq.save_answer), then reload the knowledge at once so the next attendee gets it."""
    query = update.callback_query
    c = core(context)
    lang = staff_lang(update, context)
    d = desk(context.application)
    answer = d.tables.answer(int((query.data or "").rsplit(":", 1)[1]))
    ticket = d.tables.ticket(answer.ticket_id) if answer else None
    if answer is None or ticket is None:
        await query.answer(text("helpdesk.gone", lang), show_alert=True)
        return
    if answer.faq_entry:
        await query.answer(text("helpdesk.faq_saved", lang, entry=answer.faq_entry), show_alert=True)
        return
    if not answer.text.strip():
        await query.answer(text("helpdesk.faq_no_text", lang), show_alert=True)
        return
    try:
        from bot import staff_faq
    except ImportError:
        await query.answer(text("helpdesk.faq_unavailable", lang), show_alert=True)
        return
    kb = c.brain.kb
    try:
        entry = await asyncio.to_thread(staff_faq.save_answer, Path(c.config.knowledge_dir), ticket.question,
                                        answer.text, ticket.lang, tuple(kb.event.languages), c.now())
    except staff_faq.StaffFaqError as exc:
        await query.answer(text("helpdesk.faq_failed", lang, error=str(exc))[:200], show_alert=True)
        return
    d.tables.set_faq(answer.id, entry)
    await query.answer()
    saved = text("helpdesk.faq_saved", lang, entry=entry)
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(f"{query.message.text or ''}\n{saved}"[:4096], reply_markup=None)
        except BadRequest:
            pass
    from handlers.reload import reload_knowledge

    await reload_knowledge(context.application, requested_by=update.effective_user.id)


async def open_questions(update: Update, context: Context) -> None:
    """Under /unanswered (handlers/staff.py): the attendees' open questions, each with a one-tap Answer."""
    c = core(context)
    if c.config.staff_chat_id is None:
        return
    lang = staff_lang(update, context)
    body, buttons = open_html(desk(context.application).tables.open_tickets(c.now() - timedelta(days=1)), lang)
    await update.effective_message.reply_text(body[:4096], parse_mode=ParseMode.HTML, reply_markup=markup(buttons))


# ---------------------------------------------------------------- the outbox


def make_sender(app: Application) -> RelaySender:
    """The relay sender, sharing the broadcaster's token bucket (handlers/staff.py)."""
    c: Core = app.bot_data.core
    d = desk(app)
    broadcaster = app.bot_data.broadcaster
    pacer = broadcaster.pacer if broadcaster is not None else Pacer(c.config.broadcast_rate)
    bot = app.bot

    async def deliver(row: dict[str, Any]) -> int | Skip | None:
        kind, chat, payload = row["kind"], row["chat"], row["payload"]
        with bot_api_errors():
            if kind == "question":
                return await _send_question(app, d, chat, row["ticket_id"])
            if kind == "digest":
                tickets = [t for t in (d.tables.ticket(i) for i in payload.get("tickets", [])) if t]
                if not tickets:
                    return Skip("skipped", "no questions")
                body, buttons = digest_html(tickets, staff_chat_lang(c))
                sent = await bot.send_message(chat, body[:4096], parse_mode=ParseMode.HTML, reply_markup=markup(buttons))
                return sent.message_id
            answer = d.tables.answer(row["answer_id"])
            ticket = d.tables.ticket(row["ticket_id"])
            if answer is None or ticket is None:
                return Skip("skipped", "answer or question gone")
            if kind == "answer":
                return await _send_answer(app, answer, ticket)
            if kind == "edit":
                return await _edit_answer(app, answer, ticket)
            if kind == "ack":
                body, buttons = ack_text(answer, ticket), ack_buttons(answer)
            else:  # note: the attendee did not get the answer
                body, buttons = note_text(answer, ticket, payload.get("note", ""), payload.get("error", "")), []
            sent = await bot.send_message(chat, body, message_thread_id=answer.thread_id, reply_markup=markup(buttons),
                                          reply_parameters=ReplyParameters(answer.staff_message_id,
                                                                           allow_sending_without_reply=True))
            return sent.message_id

    return RelaySender(d.tables, deliver, pacer, wall_now, max_retries=c.config.broadcast_max_retries)


async def _send_question(app: Application, d: Desk, chat: int, ticket_id: int) -> int | Skip:
    c: Core = app.bot_data.core
    ticket = d.tables.ticket(ticket_id)
    if ticket is None:
        return Skip("skipped", "question gone")
    lang = staff_chat_lang(c)
    thread = None
    if d.forum:
        thread = d.tables.thread(chat, ticket.user_id)
        if thread is None:
            topic = await app.bot.create_forum_topic(chat, topic_name(ticket, lang))
            thread = topic.message_thread_id
            d.tables.set_thread(chat, ticket.user_id, thread, wall_now())
    try:
        async with d.posting:
            sent = await app.bot.send_message(chat, question_html(ticket, lang, d.forum), parse_mode=ParseMode.HTML,
                                              message_thread_id=thread, link_preview_options=NO_PREVIEW)
            # noted now, under the lock, so that no reply can outrun it (the outbox's finish notes it again)
            d.tables.add_post(sent.chat_id, sent.message_id, ticket.id, "question")
    except BadRequest as exc:
        if thread is not None and "thread not found" in exc.message.lower():
            d.tables.drop_thread(chat, ticket.user_id)  # staff deleted the topic: the retry makes a new one
            raise Failed(exc.message) from exc
        raise
    return sent.message_id


async def _send_answer(app: Application, answer: Any, ticket: Ticket) -> int:
    bot = app.bot
    if answer.kind == "text":
        sent = await bot.send_message(ticket.chat_id, answer_html(answer.text, ticket.lang), parse_mode=ParseMode.HTML,
                                      link_preview_options=NO_PREVIEW)
        return sent.message_id
    if answer.media in CAPTIONED:
        copied = await bot.copy_message(ticket.chat_id, answer.staff_chat_id, answer.staff_message_id,
                                        caption=caption_html(answer.text, ticket.lang), parse_mode=ParseMode.HTML)
        return copied.message_id
    await bot.send_message(ticket.chat_id, text("helpdesk.header", ticket.lang), parse_mode=ParseMode.HTML)
    copied = await bot.copy_message(ticket.chat_id, answer.staff_chat_id, answer.staff_message_id)
    return copied.message_id


async def _edit_answer(app: Application, answer: Any, ticket: Ticket) -> int | Skip:
    if answer.attendee_message_id is None:
        return Skip("skipped", "the answer itself is not delivered yet (it goes with the new text)")
    try:
        if answer.kind == "text":
            await app.bot.edit_message_text(answer_html(answer.text, ticket.lang), ticket.chat_id,
                                            answer.attendee_message_id, parse_mode=ParseMode.HTML,
                                            link_preview_options=NO_PREVIEW)
        elif answer.media in CAPTIONED:
            await app.bot.edit_message_caption(ticket.chat_id, answer.attendee_message_id,
                                               caption=caption_html(answer.text, ticket.lang),
                                               parse_mode=ParseMode.HTML)
        else:
            return Skip("skipped", "this kind of message cannot be edited in the copy")
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
    return answer.attendee_message_id


def wake(app: Application) -> None:
    """Start a drain of the relay outbox (unless one runs: that one looks again)."""
    sender = desk(app).sender
    if sender is not None and sender.wake():
        app.create_task(sender.drain(), name=DRAIN_TASK)


async def drain_job(context: Context) -> None:
    """Every few seconds: send pending relays (also those left by a crash or found at start-up)."""
    wake(context.application)


def schedule_digest(app: Application) -> None:
    """Batched questions go out as one digest DIGEST_SECONDS after the first of them (one job at a time)."""
    if not app.job_queue.get_jobs_by_name(DIGEST_JOB):
        app.job_queue.run_once(digest_job, DIGEST_SECONDS, name=DIGEST_JOB)


async def digest_job(context: Context) -> None:
    c = core(context)
    if c.config.staff_chat_id is not None and desk(context.application).tables.queue_digests(c.config.staff_chat_id,
                                                                                               wall_now()):
        wake(context.application)


# ---------------------------------------------------------------- wiring


def register(app: Application) -> None:
    """Before handlers/attendee.py's (a reply to the bot in the staff chat is no attendee question)."""
    app.bot_data.helpdesk = Desk(Helpdesk(app.bot_data.core.store))
    staff_chat = StaffChat(app) & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    app.add_handler(MessageHandler(staff_chat & filters.UpdateType.MESSAGE, staff_message))
    app.add_handler(MessageHandler(staff_chat & filters.UpdateType.EDITED_MESSAGE, staff_edit))
    # staff answering a prompt from their own chat: looked up under the posting lock, so this cannot be a
    # filter (filters are synchronous); what is no answer goes on to the attendee handlers
    staff_reply = StaffReplyToBot(app) & ~filters.COMMAND
    app.add_handler(MessageHandler(staff_reply & filters.UpdateType.MESSAGE, prompt_reply), group=PROMPT_GROUP)
    app.add_handler(MessageHandler(staff_reply & filters.UpdateType.EDITED_MESSAGE, staff_edit), group=PROMPT_GROUP)
    app.add_handler(CallbackQueryHandler(ask_button, pattern=r"^hd:ask:\d+$"))
    app.add_handler(CallbackQueryHandler(answer_button, pattern=r"^hd:ans:\d+$"))
    app.add_handler(CallbackQueryHandler(faq_button, pattern=r"^hd:faq:\d+$"))


async def start_jobs(app: Application) -> None:
    """From post_init, after staff.start_jobs (whose pacer the sender shares): is the staff chat a forum, the
    sender, the outbox job, and a digest for questions batched before a restart."""
    c: Core = app.bot_data.core
    d = desk(app)
    d.sender = make_sender(app)
    if c.config.staff_chat_id is not None:
        try:
            d.forum = bool((await app.bot.get_chat(c.config.staff_chat_id)).is_forum)
        except TelegramError as exc:
            log.warning("helpdesk: cannot read the staff chat %s (%s): the bot must be a member", c.config.staff_chat_id,
                        exc)
    app.job_queue.run_repeating(drain_job, interval=2, first=0.3, name="helpdesk-outbox")
    if d.tables.batched():
        schedule_digest(app)

