"""Delivering announcements: the outbox in SQLite, drained at a steady rate, resumable after a crash.

Staff confirm → `Store.queue_announcement` writes one `pending` delivery per recipient in the same
transaction as the status change. `Broadcaster.drain()` then sends the oldest active announcement's
pending rows one at a time, paced by a token bucket (`aiolimiter.AsyncLimiter`, the limiter PTB's own
rate-limiter extra uses), and marks each row right after its send. A kill at any moment leaves every
row either `pending` (sent again on restart: only the one in flight can arrive twice) or final.

Personal notices (reminders, rating requests, programme-change notices) have their own outbox, the
store's `notices` table, drained by `NoticeSender` the same way: a row is marked sent only after
Telegram accepted it, a 429 is waited out and the same row sent again. Both senders draw from one
`Pacer` (one token bucket), so everything the bot sends on its own stays under
`broadcast.rate_per_second` together, and notices go first: they are time-critical.

The Telegram adapter passes a `deliver(chat_id, announcement, lang)` / `deliver(chat_id, outgoing)`
coroutine and translates Telegram's errors into the three exceptions below, so this module never
imports `telegram`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from aiolimiter import AsyncLimiter

from bot.agenda import Outgoing, Skip, notice_message
from bot.knowledge import Knowledge
from bot.render import Button
from bot.store import Announcement, Store, shown
from bot.texts import text

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """Telegram said 429: wait `seconds`, then send the same message again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Blocked(Exception):
    """403: the user blocked the bot or the account is gone. Never retried; the user is unsubscribed."""


class Failed(Exception):
    """Any other error. Retried up to `max_retries` times, then recorded as failed with the reason."""


Deliver = Callable[[int, Announcement, str], Awaitable[None]]
Progress = Callable[[Announcement, dict, bool], Awaitable[None]]


@dataclass
class DrainReport:
    announcement_id: int
    counts: dict
    retry_waits: int = 0
    seconds: float = 0.0


SLOW_DOWN = 0.9  # after a 429 the rate drops by this factor ...
SPEED_UP = 1.05  # ... and recovers by this factor every RECOVER_EVERY deliveries without one
RECOVER_EVERY = 50


class Pacer:
    """The one token bucket every bot-initiated message draws from (broadcast deliveries and personal
    notices), so that together they stay under the configured rate.

    - `acquire(urgent=True)` (notices) goes first: while a notice drain holds `urgent()`, broadcast
      sends wait (at most the ones already waiting for a token slip through).
    - A 429 `pause()`s every sender for Telegram's `retry_after` and lowers the rate (`slow_down`);
      deliveries without one bring it back (`delivered`). When no sender is `using()` it any more,
      the rate returns to the configured one (a slow-down lasts for one busy spell at most).
    """

    def __init__(self, rate: float) -> None:
        self.rate = self.target_rate = rate
        self.limiter = self._limiter(rate)
        self._since_429 = 0
        self._resume_at = 0.0
        self._urgent = 0
        self._users = 0

    @staticmethod
    def _limiter(rate: float) -> AsyncLimiter:
        # a bucket of a fifth of a second's worth: sends stay evenly spread (never a whole second's burst)
        # yet a slow send can be caught up with
        return AsyncLimiter(max(1.0, rate / 5), max(1.0, rate / 5) / rate)

    async def acquire(self, urgent: bool = False) -> None:
        while True:
            if (wait := self._resume_at - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            elif not urgent and self._urgent:
                await asyncio.sleep(0.02)  # notices first
            else:
                break
        await self.limiter.acquire()

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends for `seconds`."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def slow_down(self) -> None:
        self.rate *= SLOW_DOWN
        self.limiter = self._limiter(self.rate)
        self._since_429 = 0

    def delivered(self) -> None:
        """Back towards the configured rate after a slow-down (additive-increase style recovery)."""
        self._since_429 += 1
        if self.rate < self.target_rate and self._since_429 % RECOVER_EVERY == 0:
            self.rate = min(self.target_rate, self.rate * SPEED_UP)
            self.limiter = self._limiter(self.rate)

    def reset(self) -> None:
        self.rate = self.target_rate
        self.limiter = self._limiter(self.rate)

    @contextmanager
    def urgent(self) -> Iterator[None]:
        self._urgent += 1
        try:
            yield
        finally:
            self._urgent -= 1

    @contextmanager
    def using(self) -> Iterator[None]:
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if not self._users:
                self.reset()


async def send_paced(send: Callable[[], Awaitable[Skip | None]], pacer: Pacer, count_attempt: Callable[[str], int],
                     *, max_retries: int, max_retry_wait: float, what: str, urgent: bool = False,
                     on_wait: Callable[[], None] | None = None) -> tuple[str, str | None]:
    """One message through the shared pace, with the delivery policy every sender follows:
    429 → every sender pauses for `retry_after` (the pace slows down) and the same message is sent again;
    403 → ("blocked", reason); other errors → retried with back-off, ("failed", reason) after
    `max_retries` (`count_attempt(reason)` counts them in the store and returns the count so far).
    `send()` may return a Skip instead of sending (it runs after the wait, so it sees the time of sending).
    Returns ("sent", None), ("blocked" | "failed", reason) or (skip.status, skip.reason)."""
    while True:
        await pacer.acquire(urgent=urgent)
        try:
            skipped = await send()
        except RetryLater as exc:
            wait = min(float(exc.seconds), max_retry_wait)
            log.warning("%s: 429, every sender waits %.1f s, then %.1f/s", what, wait, pacer.rate * SLOW_DOWN)
            if on_wait:
                on_wait()
            pacer.slow_down()
            pacer.pause(wait)
            continue
        except Blocked as exc:
            return "blocked", str(exc)[:200]
        except Failed as exc:
            reason = str(exc)[:200]
            attempts = count_attempt(reason)
            if attempts > max_retries:
                log.warning("%s failed: %s", what, reason)
                return "failed", reason
            await asyncio.sleep(min(2 ** attempts * 0.2, 5))
            continue
        if skipped is not None:
            return skipped.status, skipped.reason
        pacer.delivered()
        return "sent", None


class Broadcaster:
    """Sends the outbox. `concurrency` sends may be in flight at once (1 by default: then at most the
    one message in flight at a crash can arrive twice; against a distant API, N in flight reach the
    configured rate when one send takes up to N / rate seconds, at the price of up to N duplicates
    after a crash). `pacer`: the token bucket shared with the notice sender (its own if not given)."""

    def __init__(self, store: Store, deliver: Deliver, rate: float = 25.0, max_retries: int = 3,
                 progress: Progress | None = None, progress_every: float = 3.0, max_retry_wait: float = 300.0,
                 concurrency: int = 1, pacer: Pacer | None = None) -> None:
        self.store = store
        self.deliver = deliver
        self.pacer = pacer or Pacer(rate)
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        self.progress = progress
        self.progress_every = progress_every
        self.max_retry_wait = max_retry_wait
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        return self.pacer.rate

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def drain(self) -> list[DrainReport]:
        """Send every queued announcement, oldest first. Safe to call often: one drain runs at a time."""
        if self._lock.locked():
            return []
        reports = []
        async with self._lock:
            while (ann := self.store.next_active_announcement()) is not None:
                reports.append(await self._send_announcement(ann))
        return reports

    async def _send_announcement(self, ann: Announcement) -> DrainReport:
        with self.pacer.using():  # a slow-down lasts for one broadcast at most (unless notices still send)
            return await self._send_all(ann)

    async def _send_all(self, ann: Announcement) -> DrainReport:
        if ann.status == "queued":
            self.store.set_status(ann.id, "sending")
        report = DrainReport(ann.id, {})
        started = time.monotonic()
        last_progress = started
        log.info("broadcast %s: sending", ann.id)
        while True:
            batch = self.store.pending_deliveries(ann.id, limit=200)
            current = self.store.announcement(ann.id)
            if not batch or current is None or current.status == "cancelled":
                break
            rows = iter(batch)

            async def worker(rows=rows) -> None:
                nonlocal last_progress
                for row in rows:  # workers share one iterator: each row is sent by one of them
                    if self.store.announcement_status(ann.id) == "cancelled":
                        return
                    await self._send_one(ann, row["chat_id"], row["lang"], report)
                    if self.progress and time.monotonic() - last_progress >= self.progress_every:
                        last_progress = time.monotonic()
                        await self._report(ann, final=False)

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            # a cancel from staff lands between batches (and between rows via the status check above)
        final = self.store.announcement(ann.id)
        if final and final.status != "cancelled":
            self.store.set_status(ann.id, "done")
        report.counts = self.store.progress(ann.id)
        report.seconds = time.monotonic() - started
        log.info("broadcast %s finished: %s in %.1f s", ann.id, report.counts, report.seconds)
        await self._report(ann, final=True)
        return report

    async def _send_one(self, ann: Announcement, chat_id: int, lang: str | None, report: DrainReport) -> None:
        async def send() -> None:
            await self.deliver(chat_id, ann, lang or "en")

        def waited() -> None:
            report.retry_waits += 1

        status, reason = await send_paced(
            send, self.pacer, lambda why: self.store.count_attempt(ann.id, chat_id, why),
            max_retries=self.max_retries, max_retry_wait=self.max_retry_wait,
            what=f"broadcast {ann.id} to chat {chat_id}", on_wait=waited)
        self.store.mark_delivery(ann.id, chat_id, status, reason, attempt=status != "failed")

    async def _report(self, ann: Announcement, final: bool) -> None:
        if not self.progress:
            return
        ann = self.store.announcement(ann.id) or ann
        try:
            await self.progress(ann, self.store.progress(ann.id), final)
        except Exception:  # progress is a courtesy; never stop a broadcast for it
            log.warning("broadcast %s: progress report failed", ann.id, exc_info=True)


class OutboxDrain:
    """One drain at a time over an outbox table, for a sender that holds a shared `pacer` (the notice
    sender, the helpdesk's relay sender). Whoever queues rows calls :meth:`wake`; :meth:`_drain` sends
    batches of pending rows until none is left, rows queued meanwhile included."""

    pacer: Pacer

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._again = False

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def wake(self) -> bool:
        """New rows were queued. True if no drain is running (the caller starts one); otherwise the
        running drain looks again before it ends."""
        if self._lock.locked():
            self._again = True
            return False
        return True

    async def _drain(self, pending: Callable[[], list[dict]], send: Callable[[list[dict]], Awaitable[None]]) -> bool:
        """`send` every batch `pending()` returns, as urgent users of the pacer, until it returns none.
        False (nothing done) when a drain is running already: that one looks again before it ends."""
        if self._lock.locked():
            self._again = True
            return False
        async with self._lock:
            with self.pacer.using(), self.pacer.urgent():
                while True:
                    self._again = False
                    rows = pending()
                    if not rows:
                        if self._again:
                            continue
                        break  # no await between this check and releasing the lock: wake() cannot be missed
                    await send(rows)
        return True


NoticeDeliver = Callable[[int, Outgoing], Awaitable[None]]


@dataclass
class NoticeReport:
    counts: dict = field(default_factory=dict)  # final states reached in this drain (sent, expired, …)
    retry_waits: int = 0
    seconds: float = 0.0


class NoticeSender(OutboxDrain):
    """Drains the personal outbox (`notices`): reminders, rating requests, programme-change notices.

    One message in flight (a kill -9 duplicates at most that one; nothing is lost: a row stays pending
    until Telegram accepted it). Each row is rendered right before it is sent (`bot.agenda.
    notice_message`), so a reminder says how many minutes are left *now*, and one whose session has
    started in the meantime (a long queue, or pending rows found after a restart) is closed as expired
    instead of going out late. 429: every sender pauses for `retry_after` and the same row is sent again.
    403 (or chat not found): the user is marked blocked and the row closed. Other errors: up to
    `max_retries` retries, then `failed` with the reason.

    `deliver(chat_id, outgoing)` is the adapter's coroutine; `knowledge()` and `now()` give the current
    programme and the bot's clock.
    """

    def __init__(self, store: Store, deliver: NoticeDeliver, pacer: Pacer, knowledge: Callable[[], Knowledge],
                 now: Callable[[], datetime], max_retries: int = 3, max_retry_wait: float = 300.0) -> None:
        self.store = store
        self.deliver = deliver
        self.pacer = pacer
        self.knowledge = knowledge
        self.now = now
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        super().__init__()

    async def drain(self) -> NoticeReport | None:
        """Send every pending notice, in the order they fell due. One drain runs at a time."""
        report = NoticeReport()
        started = time.monotonic()

        async def send(rows: list[dict]) -> None:
            for row in rows:
                status = await self._send_one(row, report)
                report.counts[status] = report.counts.get(status, 0) + 1

        if not await self._drain(lambda: self.store.pending_notices(limit=100), send):
            return None
        report.seconds = time.monotonic() - started
        if report.counts:
            log.info("notices: %s in %.1f s (%d waits after 429)", report.counts, report.seconds, report.retry_waits)
        return report

    def _render(self, row: dict) -> Outgoing | Skip:
        user_id = row["user_id"]
        user = self.store.user(user_id)
        if user and user["blocked"]:
            return Skip("blocked", "the user has blocked the bot")
        lang = (user["lang"] if user else None) or row["lang"] or "en"
        return notice_message(self.knowledge(), row, self.now(), lang,
                              saved=row["session_id"] in self.store.agenda(user_id),
                              reminders_on=not (user and user["remind_minutes"] == 0))

    async def _send_one(self, row: dict, report: NoticeReport) -> str:
        notice_id, chat_id = row["id"], row["user_id"]

        async def send() -> Skip | None:
            message = self._render(row)  # after the wait: the minutes are those left now
            if isinstance(message, Skip):
                return message
            await self.deliver(chat_id, message)
            return None

        def waited() -> None:
            report.retry_waits += 1

        status, reason = await send_paced(
            send, self.pacer, lambda why: self.store.count_notice_attempt(notice_id, why),
            max_retries=self.max_retries, max_retry_wait=self.max_retry_wait,
            what=f"notice {notice_id} ({row['kind']} {row['session_id']}) to chat {chat_id}", urgent=True,
            on_wait=waited)
        self.store.close_notice(notice_id, status, reason, attempt=status in ("sent", "blocked"))
        if status == "blocked":
            self.store.mark_blocked(chat_id)
        elif status not in ("sent", "failed"):
            log.info("notice %s for chat %s: %s, %s", notice_id, chat_id, status, reason)
        return status


# ---------------------------------------------------------------- what staff and subscribers read

AUDIENCES = {"all": "all", "전체": "all", "ko": "ko", "korean": "ko", "한국어": "ko", "en": "en", "english": "en",
             "영어": "en"}


def audiences(languages: tuple[str, ...]) -> tuple[str, ...]:
    """The audiences staff can name in an event speaking `languages`: everyone, or one language's readers
    (only with more than one language: in a single-language event its language is everyone)."""
    return ("all", *languages) if len(languages) > 1 else ("all",)


def event_audience(audience: str, languages: tuple[str, ...]) -> str | None:
    """`audience` (from :func:`parse_broadcast`) for an event speaking `languages`: "all" for the single
    language of a one-language event (every subscriber reads it, whatever their app's language), None for
    a language the event does not speak."""
    if audience == "all" or audience in audiences(languages):
        return audience
    return "all" if audience in languages else None


def parse_broadcast(command: str) -> tuple[str, str, str]:
    """`/broadcast [audience]\\nKO: …\\nEN: …` → (audience, text_ko, text_en)."""
    body = re.sub(r"^/broadcast(@\w+)?", "", command or "", count=1).strip()
    audience = "all"
    head = body.split(None, 1)
    if head and head[0].lower() in AUDIENCES:
        audience = AUDIENCES[head[0].lower()]
        body = head[1] if len(head) > 1 else ""
    parts = re.split(r"(?i)(?:^|(?<=\s))(KO|EN)\s*:\s*", body)
    if len(parts) == 1:
        return audience, body.strip(), body.strip()
    texts = {"ko": "", "en": ""}
    for key, value in zip(parts[1::2], parts[2::2], strict=True):  # re.split with one group: 2n+1 parts
        texts[key.lower()] = value.strip()
    return audience, texts["ko"], texts["en"]


def announcement_html(ann: Announcement, lang: str) -> str:
    """An announcement as a subscriber reads it (HTML)."""
    return f"{text('announce.head', lang)}\n{html.escape(ann.text_for(lang), quote=False)}"


def announcements_html(recent: list[Announcement], lang: str, tz: tzinfo) -> str:
    """/announcements: the latest announcements with their time (HTML)."""
    return "\n\n".join(f"{announcement_html(a, lang)}\n<i>{shown(a.created_at, tz)}</i>" for a in recent)


def preview_html(ann: Announcement, lang: str = "en") -> str:
    """What staff see before confirming (HTML): the text in both languages, or that a message is copied."""
    audience = html.escape(ann.audience)
    if ann.copy_chat_id and ann.copy_message_id:
        return text("staff.preview_copy", lang, id=ann.id, audience=audience)
    return text("staff.preview_text", lang, id=ann.id, audience=audience,
                ko=html.escape(ann.text_for("ko"), quote=False), en=html.escape(ann.text_for("en"), quote=False))


def preview_buttons(ann_id: int, lang: str = "en") -> list[list[Button]]:
    return [[Button(text("staff.confirm_button", lang), data=f"bc:ok:{ann_id}"),
             Button(text("staff.cancel_button", lang), data=f"bc:no:{ann_id}")]]


def stop_buttons(ann_id: int, lang: str = "en") -> list[list[Button]]:
    return [[Button(text("staff.stop_button", lang), data=f"bc:x:{ann_id}")]]


def broadcasts_html(rows: list[tuple[Announcement, dict]], lang: str = "en") -> tuple[str, list[list[Button]]]:
    """/broadcasts: one line per recent announcement with its delivery counts (HTML), and a cancel
    button for each one still running."""
    lines, buttons = [], []
    for ann, counts in rows:
        snippet = html.escape((ann.text_en or ann.text_ko or text("staff.copied_message", lang))[:40], quote=False)
        lines.append(text("staff.broadcast_line", lang, id=ann.id, status=ann.status, audience=ann.audience,
                          sent=counts["sent"], total=counts["total"], blocked=counts["blocked"],
                          failed=counts["failed"], snippet=snippet))
        if ann.status in ("queued", "sending", "draft"):
            buttons.append([Button(text("staff.cancel_id_button", lang, id=ann.id), data=f"bc:x:{ann.id}")])
    return "\n".join(lines) or text("staff.no_broadcasts", lang), buttons


def progress_text(ann: Announcement, counts: dict, final: bool, lang: str = "en") -> str:
    """The staff's progress message of a running (or finished) announcement."""
    done = counts.get("sent", 0) + counts.get("blocked", 0) + counts.get("failed", 0)
    state = ("done" if ann.status != "cancelled" else "cancelled") if final else "sending"
    return (text(f"progress.{state}", lang, id=ann.id) + "\n"
            + text("progress.counts", lang, sent=counts.get("sent", 0), pending=counts.get("pending", 0),
                   blocked=counts.get("blocked", 0), failed=counts.get("failed", 0), total=counts.get("total", 0),
                   done=done))
