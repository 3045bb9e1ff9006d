"""The helpdesk: what the bot cannot answer goes to the organisers, and their answer comes back.

- An "I don't know" in a private chat offers **Ask the organisers** (a `ticket`, status `offered`); pressing it
  or `/ask TEXT` asks (`asked`): a relay of the question is queued for the staff chat (`helpdesk.staff_chat_id`),
  a normal group (staff reply to the relayed message) or a forum supergroup (one topic per attendee, made once
  with createForumTopic and reused; staff write inside it).
- Beyond `helpdesk.questions_per_minute` relays in the last minute, a question is `batched` instead: one
  digest message (with an Answer button per question) goes out a minute later, so a flood of attendee
  questions never floods the staff chat.
- A staff answer (a reply to a relayed question, a message in the attendee's topic, or a reply to the
  Answer prompt) is stored with the ticket (`answered`) and relayed to the attendee under a "from the
  organisers" header: text as text, anything else with copyMessage. An edit of the answer edits the
  attendee's copy. The attendee blocked the bot → staff are told under the answer. Staff get "✅ sent" with
  a "💾 Save as FAQ" button.

Where things are (schema 4, bot/store.py): `helpdesk_tickets`, `helpdesk_topics` (staff chat, attendee →
thread), `helpdesk_posts` (staff-side message → ticket: a reply to it answers the ticket), `helpdesk_answers`
(the staff message, its text and the attendee's copy) and `helpdesk_outbox`. Everything the helpdesk sends on
its own is an outbox row, marked sent only after Telegram accepted it (like the reminders' `notices`): a
restart sends what was pending, once. `RelaySender` drains it with the delivery policy and the token bucket
the other senders share (`bot.broadcast.send_paced`, `Pacer`), at most one message a second per chat.

This module never imports `telegram`: the adapter (handlers/helpdesk.py) passes `deliver(row)`.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.agenda import Skip
from bot.broadcast import OutboxDrain, Pacer, send_paced
from bot.render import Button
from bot.store import Store, iso
from bot.texts import text

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=1)  # questions_per_minute counts the relays queued in this window
DIGEST_SECONDS = 60.0  # a batched question waits at most this long for its digest
DIGEST_MAX = 15  # questions per digest message (buttons and text stay well inside Telegram's limits)
QUESTION_SHOWN = 1500  # characters of a question quoted in a relay (the whole text stays in the database)
LINE_SHOWN = 120  # characters of a question in a digest or list line
CAPTIONED = ("photo", "video", "document", "audio", "voice", "animation")  # media that carry a caption
OPEN = ("offered", "asked", "batched")  # tickets without an answer


@dataclass(frozen=True)
class Ticket:
    id: int
    user_id: int
    chat_id: int
    name: str
    question: str
    lang: str
    topic: str | None
    status: str  # offered | asked | batched | answered


@dataclass(frozen=True)
class Answer:
    id: int
    ticket_id: int
    staff_chat_id: int
    staff_message_id: int
    thread_id: int | None
    staff_id: int
    staff_lang: str
    kind: str  # text (sent as text) | copy (copyMessage)
    media: str | None  # photo, document, sticker … for copies
    text: str  # the text, or the caption of a copy ("" if none)
    attendee_message_id: int | None
    status: str  # pending | sent | blocked | failed
    faq_entry: str | None


def _ticket(row: dict[str, Any] | None) -> Ticket | None:
    if row is None:
        return None
    return Ticket(row["id"], row["user_id"], row["chat_id"], row["name"] or "", row["question"], row["lang"] or "en",
                  row["topic"], row["status"])


def _answer(row: dict[str, Any] | None) -> Answer | None:
    if row is None:
        return None
    return Answer(row["id"], row["ticket_id"], row["staff_chat_id"], row["staff_message_id"], row["thread_id"],
                  row["staff_id"], row["staff_lang"] or "en", row["kind"], row["media"], row["text"] or "",
                  row["attendee_message_id"], row["status"], row["faq_entry"])


class Helpdesk:
    """The helpdesk's tables in the bot's Store (each write one transaction)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def _one(self, sql: str, args: list[Any]) -> dict[str, Any] | None:
        return next(self.db.query(sql, args), None)

    def _queue(self, kind: str, chat: int, now: datetime, ticket_id: int | None = None, answer_id: int | None = None,
               **payload: Any) -> int:
        cur = self.db.execute("insert into helpdesk_outbox (kind, ticket_id, answer_id, payload, status, attempts, "
                              "queued_at) values (?, ?, ?, ?, 'pending', 0, ?)",
                              [kind, ticket_id, answer_id, json.dumps({"chat": chat, **payload}), iso(now)])
        return int(cur.lastrowid or 0)

    # ------------------------------------------------------------ tickets

    def offer(self, user_id: int, chat_id: int, name: str, question: str, lang: str, topic: str | None,
              now: datetime) -> int:
        """An "I don't know": a ticket the attendee may send to staff with one tap. Returns its id."""
        with self.store._tx():
            cur = self.db.execute("insert into helpdesk_tickets (user_id, chat_id, name, question, lang, topic, status, "
                                  "created_at) values (?, ?, ?, ?, ?, ?, 'offered', ?)",
                                  [user_id, chat_id, name[:100], question[:4000], lang, topic, iso(now)])
            return int(cur.lastrowid or 0)

    def ticket(self, ticket_id: int) -> Ticket | None:
        return _ticket(self._one("select * from helpdesk_tickets where id = ?", [ticket_id]))

    def last_offered(self, user_id: int, since: datetime) -> Ticket | None:
        """The attendee's latest question the bot could not answer and they have not sent to staff yet."""
        return _ticket(self._one("select * from helpdesk_tickets where user_id = ? and status = 'offered' and "
                                 "created_at >= ? order by id desc limit 1", [user_id, iso(since)]))

    def recent_relays(self, now: datetime) -> int:
        """Question relays and digests queued for the staff chat within the last WINDOW."""
        return self._one("select count(*) n from helpdesk_outbox where kind in ('question', 'digest') and "
                         "queued_at > ?", [iso(now - WINDOW)])["n"]  # type: ignore[index]

    def ask(self, ticket_id: int, staff_chat_id: int, now: datetime, per_minute: int) -> str:
        """Send the ticket to staff: "queued" (its own relay), "batched" (beyond `per_minute` relays in the
        last minute: it waits for the next digest) or "already" (asked before, or answered)."""
        with self.store._tx():
            row = self._one("select status from helpdesk_tickets where id = ?", [ticket_id])
            if row is None or row["status"] != "offered":
                return "already"
            if self.recent_relays(now) >= per_minute:
                self.db.execute("update helpdesk_tickets set status = 'batched', asked_at = ? where id = ?",
                                [iso(now), ticket_id])
                return "batched"
            self.db.execute("update helpdesk_tickets set status = 'asked', asked_at = ? where id = ?",
                            [iso(now), ticket_id])
            self._queue("question", staff_chat_id, now, ticket_id=ticket_id)
            return "queued"

    def batched(self) -> list[Ticket]:
        return [t for t in (_ticket(r) for r in self.db.query(
            "select * from helpdesk_tickets where status = 'batched' order by id")) if t]

    def queue_digests(self, staff_chat_id: int, now: datetime) -> int:
        """Every batched question into digest rows (DIGEST_MAX per message); they become `asked`. Returns the
        number of digest messages queued."""
        with self.store._tx():
            ids = [r["id"] for r in self.db.query("select id from helpdesk_tickets where status = 'batched' order by id")]
            for start in range(0, len(ids), DIGEST_MAX):
                self._queue("digest", staff_chat_id, now, tickets=ids[start:start + DIGEST_MAX])
            if ids:
                marks = ", ".join("?" * len(ids))
                self.db.execute(f"update helpdesk_tickets set status = 'asked' where id in ({marks})", ids)
            return (len(ids) + DIGEST_MAX - 1) // DIGEST_MAX

    def open_tickets(self, since: datetime, limit: int = 20) -> list[Ticket]:
        """Questions of known attendees still without an answer (newest first)."""
        marks = ", ".join("?" * len(OPEN))
        return [t for t in (_ticket(r) for r in self.db.query(
            f"select * from helpdesk_tickets where status in ({marks}) and created_at >= ? order by id desc limit ?",
            [*OPEN, iso(since), limit])) if t]

    def latest_ticket(self, user_id: int) -> Ticket | None:
        """The attendee's latest question sent to staff (what a message in their forum topic answers)."""
        return _ticket(self._one("select * from helpdesk_tickets where user_id = ? and status != 'offered' "
                                 "order by id desc limit 1", [user_id]))

    # ------------------------------------------------------------ forum topics and staff-side messages

    def thread(self, staff_chat_id: int, user_id: int) -> int | None:
        row = self._one("select thread_id from helpdesk_topics where staff_chat_id = ? and user_id = ?",
                        [staff_chat_id, user_id])
        return row["thread_id"] if row else None

    def set_thread(self, staff_chat_id: int, user_id: int, thread_id: int, now: datetime) -> None:
        with self.store._tx():
            self.db.execute("insert or replace into helpdesk_topics (staff_chat_id, user_id, thread_id, created_at) "
                            "values (?, ?, ?, ?)", [staff_chat_id, user_id, thread_id, iso(now)])

    def drop_thread(self, staff_chat_id: int, user_id: int) -> None:
        """The topic is gone (deleted by staff): the next relay makes a new one."""
        with self.store._tx():
            self.db.execute("delete from helpdesk_topics where staff_chat_id = ? and user_id = ?",
                            [staff_chat_id, user_id])

    def user_of_thread(self, staff_chat_id: int, thread_id: int) -> int | None:
        row = self._one("select user_id from helpdesk_topics where staff_chat_id = ? and thread_id = ?",
                        [staff_chat_id, thread_id])
        return row["user_id"] if row else None

    def add_post(self, chat_id: int, message_id: int, ticket_id: int, kind: str) -> None:
        """A staff-side message that stands for a ticket (the relayed question, an Answer prompt)."""
        with self.store._tx():
            self.db.execute("insert or replace into helpdesk_posts (chat_id, message_id, ticket_id, kind) values "
                            "(?, ?, ?, ?)", [chat_id, message_id, ticket_id, kind])

    def ticket_of_post(self, chat_id: int, message_id: int) -> int | None:
        row = self._one("select ticket_id from helpdesk_posts where chat_id = ? and message_id = ?", [chat_id, message_id])
        return row["ticket_id"] if row else None

    # ------------------------------------------------------------ answers

    def record_answer(self, ticket_id: int, staff_chat_id: int, staff_message_id: int, thread_id: int | None,
                      staff_id: int, staff_lang: str, kind: str, media: str | None, answer_text: str,
                      now: datetime) -> int | None:
        """A staff answer: stored, the ticket `answered`, its relay queued. None if this message was recorded
        before (an update delivered twice)."""
        ticket = self.ticket(ticket_id)
        if ticket is None:
            return None
        with self.store._tx():
            cur = self.db.execute(
                "insert or ignore into helpdesk_answers (ticket_id, staff_chat_id, staff_message_id, thread_id, "
                "staff_id, staff_lang, kind, media, text, created_at, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "'pending')", [ticket_id, staff_chat_id, staff_message_id, thread_id, staff_id, staff_lang, kind,
                               media, answer_text, iso(now)])
            if not cur.rowcount:
                return None
            answer_id = int(cur.lastrowid or 0)
            self.db.execute("update helpdesk_tickets set status = 'answered', answered_at = ? where id = ?",
                            [iso(now), ticket_id])
            self._queue("answer", ticket.chat_id, now, ticket_id=ticket_id, answer_id=answer_id)
            return answer_id

    def answer(self, answer_id: int) -> Answer | None:
        return _answer(self._one("select * from helpdesk_answers where id = ?", [answer_id]))

    def answer_of_message(self, staff_chat_id: int, staff_message_id: int) -> Answer | None:
        return _answer(self._one("select * from helpdesk_answers where staff_chat_id = ? and staff_message_id = ?",
                                 [staff_chat_id, staff_message_id]))

    def edit_answer(self, staff_chat_id: int, staff_message_id: int, answer_text: str, now: datetime) -> int | None:
        """Staff edited an answer: the new text is kept; if the attendee has their copy already, an edit of it
        is queued (otherwise the pending relay sends the new text). Returns the answer id, None if the edited
        message is no answer."""
        with self.store._tx():
            answer = self.answer_of_message(staff_chat_id, staff_message_id)
            if answer is None:
                return None
            self.db.execute("update helpdesk_answers set text = ? where id = ?", [answer_text, answer.id])
            if answer.attendee_message_id is not None:
                ticket = self.ticket(answer.ticket_id)
                self._queue("edit", ticket.chat_id if ticket else 0, now, ticket_id=answer.ticket_id,
                            answer_id=answer.id)
            return answer.id

    def set_faq(self, answer_id: int, entry: str) -> None:
        with self.store._tx():
            self.db.execute("update helpdesk_answers set faq_entry = ? where id = ?", [entry, answer_id])

    # ------------------------------------------------------------ the outbox

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """Rows to send, oldest first, each with its `payload` decoded and its target `chat`."""
        rows = []
        for row in self.db.query("select * from helpdesk_outbox where status = 'pending' order by id limit ?", [limit]):
            row["payload"] = json.loads(row["payload"] or "{}")
            row["chat"] = row["payload"].get("chat")
            rows.append(row)
        return rows

    def count_attempt(self, row_id: int, error: str) -> int:
        with self.store._tx():
            self.db.execute("update helpdesk_outbox set attempts = attempts + 1, error = ? where id = ?", [error, row_id])
        return self._one("select attempts from helpdesk_outbox where id = ?", [row_id])["attempts"]  # type: ignore[index]

    def totals(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in self.db.query("select status, count(*) n from helpdesk_outbox group by status")}

    def finish(self, row: dict[str, Any], status: str, reason: str | None, message_id: int | None,
               now: datetime) -> None:
        """Close an outbox row (only a pending one) and do what follows in the same transaction: a relayed
        question is mapped to its ticket; a delivered answer remembers the attendee's copy and queues staff's
        "✅ sent"; an answer the attendee could not get tells staff why (and a blocked attendee is marked)."""
        with self.store._tx():
            closed = self.db.execute("update helpdesk_outbox set status = ?, error = ?, sent_at = ?, attempts = "
                                     "attempts + ? where id = ? and status = 'pending'",
                                     [status, reason, iso(now), int(status in ("sent", "blocked")), row["id"]]).rowcount
            if not closed:
                return
            kind = row["kind"]
            if kind == "question" and status == "sent" and message_id is not None:
                self.db.execute("insert or replace into helpdesk_posts (chat_id, message_id, ticket_id, kind) values "
                                "(?, ?, ?, 'question')", [row["chat"], message_id, row["ticket_id"]])
            if kind not in ("answer", "edit") or row["answer_id"] is None:
                return
            answer = self.answer(row["answer_id"])
            if answer is None:
                return
            if kind == "answer":
                self.db.execute("update helpdesk_answers set status = ?, attendee_message_id = coalesce(?, "
                                "attendee_message_id) where id = ?", [status, message_id, answer.id])
            if status == "sent" and kind == "answer":
                self._queue("ack", answer.staff_chat_id, now, ticket_id=answer.ticket_id, answer_id=answer.id)
            elif status in ("blocked", "failed"):
                if status == "blocked":
                    self.db.execute("update users set blocked = 1, subscribed = 0 where id = ?", [row["chat"]])
                self._queue("note", answer.staff_chat_id, now, ticket_id=answer.ticket_id, answer_id=answer.id,
                            note=status, error=reason or "")


# ---------------------------------------------------------------- sending the outbox

RelayDeliver = Callable[[dict[str, Any]], Awaitable["int | Skip | None"]]


@dataclass
class RelayReport:
    counts: dict[str, int] = field(default_factory=dict)


class RelaySender(OutboxDrain):
    """Drains `helpdesk_outbox`, oldest first, one message in flight (a kill duplicates at most that one).

    Each row goes through `bot.broadcast.send_paced` with the shared `Pacer` (429: everyone waits and the row
    is sent again; 403: `blocked`; other errors: `max_retries`, then `failed`), and no chat gets more than
    one message per `per_chat_seconds` (Telegram's limit for one chat; groups also have 20 a minute, which
    the application's AIORateLimiter enforces): a row for a chat that must wait is passed over for rows of
    other chats, never reordered within its own chat. `deliver(row)` sends it and returns the message id
    (or a Skip); `now()` is the wall clock written with each row.
    """

    def __init__(self, desk: Helpdesk, deliver: RelayDeliver, pacer: Pacer, now: Callable[[], datetime], *,
                 per_chat_seconds: float = 1.0, max_retries: int = 3, max_retry_wait: float = 300.0) -> None:
        self.desk = desk
        self.deliver = deliver
        self.pacer = pacer
        self.now = now
        self.per_chat_seconds = per_chat_seconds
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._next: dict[int, float] = {}  # chat → monotonic time its next message may go
        super().__init__()

    async def drain(self) -> RelayReport | None:
        """Send every pending row, oldest first per chat. One drain runs at a time."""
        report = RelayReport()

        async def send(rows: list[dict[str, Any]]) -> None:
            waiting: dict[int, float] = {}
            for row in rows:
                chat = row["chat"]
                if chat in waiting:
                    continue  # an earlier row of this chat waits: keep the chat's order
                wait = self._next.get(chat, 0.0) - time.monotonic()
                if wait > 0:
                    waiting[chat] = wait
                    continue
                status = await self._send_one(row)
                self._next[chat] = time.monotonic() + self.per_chat_seconds
                report.counts[status] = report.counts.get(status, 0) + 1
            if waiting and len(waiting) == len({r["chat"] for r in rows}):
                await asyncio.sleep(min(waiting.values()))

        return report if await self._drain(self.desk.pending, send) else None

    async def _send_one(self, row: dict[str, Any]) -> str:
        sent: list[int | None] = [None]

        async def send() -> Skip | None:
            result = await self.deliver(row)
            if isinstance(result, Skip):
                return result
            sent[0] = result
            return None

        status, reason = await send_paced(
            send, self.pacer, lambda why: self.desk.count_attempt(row["id"], why), max_retries=self.max_retries,
            max_retry_wait=self.max_retry_wait, what=f"helpdesk {row['kind']} {row['id']} to chat {row['chat']}",
            urgent=True)
        self.desk.finish(row, status, reason, sent[0], self.now())
        if status not in ("sent", "skipped"):
            log.info("helpdesk %s %s to chat %s: %s (%s)", row["kind"], row["id"], row["chat"], status, reason)
        return status


# ---------------------------------------------------------------- what attendees and staff read

def language_name(code: str, lang: str) -> str:
    """The attendee's language as the staff reader calls it."""
    return text(f"helpdesk.lang_{code}", lang) if code in ("ko", "en") else code


def _e(value: str) -> str:
    return html.escape(value, quote=False)


def _cut(value: str, limit: int) -> str:
    value = " ".join(value.split()) if limit <= LINE_SHOWN else value
    return value if len(value) <= limit else value[: limit - 1] + "…"


def ask_buttons(ticket_id: int, lang: str) -> list[list[Button]]:
    """Under an "I don't know": one tap sends the question to the organisers."""
    return [[Button(text("helpdesk.ask_button", lang), data=f"hd:ask:{ticket_id}")]]


def question_html(ticket: Ticket, lang: str, forum: bool) -> str:
    """The relay of a question in the staff chat (HTML), in the staff chat's language `lang`."""
    topic = text("helpdesk.topic_part", lang, topic=_e(ticket.topic)) if ticket.topic else ""
    return text("helpdesk.question", lang, id=ticket.id, name=_e(ticket.name), language=language_name(ticket.lang, lang),
                topic=topic, question=_e(_cut(ticket.question, QUESTION_SHOWN)),
                how=text("helpdesk.how_topic" if forum else "helpdesk.how_reply", lang))


def topic_name(ticket: Ticket, lang: str) -> str:
    """The attendee's forum topic (Telegram allows 1-128 characters)."""
    return text("helpdesk.topic_name", lang, name=_cut(ticket.name or "?", 60), user=ticket.user_id)[:128]


def answer_buttons(tickets: list[Ticket], lang: str) -> list[list[Button]]:
    return [[Button(text("helpdesk.answer_button", lang, id=t.id), data=f"hd:ans:{t.id}")] for t in tickets]


def _line(ticket: Ticket, lang: str) -> str:
    return text("helpdesk.digest_line", lang, id=ticket.id, language=language_name(ticket.lang, lang),
                name=_e(_cut(ticket.name, 40)), question=_e(_cut(ticket.question, LINE_SHOWN)))


def digest_html(tickets: list[Ticket], lang: str) -> tuple[str, list[list[Button]]]:
    """Batched questions in one staff-chat message (HTML), each with its Answer button."""
    lines = [text("helpdesk.digest_head", lang, n=len(tickets))] + [_line(t, lang) for t in tickets]
    return "\n".join(lines), answer_buttons(tickets, lang)


def open_html(tickets: list[Ticket], lang: str) -> tuple[str, list[list[Button]]]:
    """/unanswered's open attendee questions (HTML), each with its Answer button."""
    if not tickets:
        return text("helpdesk.open_none", lang), []
    return "\n".join([text("helpdesk.open_head", lang)] + [_line(t, lang) for t in tickets]), answer_buttons(tickets, lang)


def prompt_html(ticket: Ticket, lang: str) -> str:
    """The Answer button's prompt (HTML): a reply to it answers the ticket."""
    return text("helpdesk.prompt", lang, id=ticket.id, name=_e(ticket.name), language=language_name(ticket.lang, lang),
                question=_e(_cut(ticket.question, QUESTION_SHOWN)))


def answer_html(answer_text: str, lang: str) -> str:
    """A text answer as the attendee reads it (HTML, ≤ 4096 characters)."""
    head = text("helpdesk.header", lang)
    return f"{head}\n{_e(_cut(answer_text, 4000 - len(head)))}"


def caption_html(caption: str, lang: str) -> str:
    """The caption of a copied media answer (HTML, ≤ 1024 characters)."""
    head = text("helpdesk.header", lang)
    return f"{head}\n{_e(_cut(caption, 1000 - len(head)))}" if caption else head


def ack_text(answer: Answer, ticket: Ticket) -> str:
    return text("helpdesk.sent", answer.staff_lang, name=ticket.name, id=ticket.id)


def ack_buttons(answer: Answer) -> list[list[Button]]:
    """"Save as FAQ" under staff's "✅ sent" (only for an answer with text, not saved yet)."""
    if not answer.text.strip() or answer.faq_entry:
        return []
    return [[Button(text("helpdesk.faq_button", answer.staff_lang), data=f"hd:faq:{answer.id}")]]


def note_text(answer: Answer, ticket: Ticket, note: str, error: str) -> str:
    """Staff told that the attendee did not get the answer (blocked the bot, or another error)."""
    if note == "blocked":
        return text("helpdesk.blocked", answer.staff_lang, name=ticket.name, id=ticket.id)
    return text("helpdesk.failed", answer.staff_lang, id=ticket.id, error=error)
