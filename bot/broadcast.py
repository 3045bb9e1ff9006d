"""Delivering announcements: the outbox in SQLite, drained at a steady rate, resumable after a crash.

Staff confirm → `Store.queue_announcement` writes one `pending` delivery per recipient in the same
transaction as the status change. `Broadcaster.drain()` then sends the oldest active announcement's
pending rows one at a time, paced by a token bucket (`aiolimiter.AsyncLimiter`, the limiter PTB's own
rate-limiter extra uses), and marks each row right after its send. A kill at any moment leaves every
row either `pending` (sent again on restart: only the one in flight can arrive twice) or final.

The Telegram adapter passes a `deliver(chat_id, announcement, lang)` coroutine and translates
Telegram's errors into the three exceptions below, so this module never imports `telegram`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiolimiter import AsyncLimiter

from bot.store import Announcement, Store

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


class Broadcaster:
    """Sends the outbox. `concurrency` sends may be in flight at once (1 by default: then at most the
    one message in flight at a crash can arrive twice; against a distant API, N in flight reach the
    configured rate when one send takes up to N / rate seconds, at the price of up to N duplicates
    after a crash)."""

    def __init__(self, store: Store, deliver: Deliver, rate: float = 25.0, max_retries: int = 3,
                 progress: Progress | None = None, progress_every: float = 3.0, max_retry_wait: float = 300.0,
                 concurrency: int = 1) -> None:
        self.store = store
        self.deliver = deliver
        self.rate = self.target_rate = rate
        self._since_429 = 0
        self.limiter = self._limiter(rate)
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        self.progress = progress
        self.progress_every = progress_every
        self.max_retry_wait = max_retry_wait
        self._lock = asyncio.Lock()

    @staticmethod
    def _limiter(rate: float) -> AsyncLimiter:
        # a bucket of a fifth of a second's worth: sends stay evenly spread (never a whole second's burst)
        # yet a slow send can be caught up with
        return AsyncLimiter(max(1.0, rate / 5), max(1.0, rate / 5) / rate)

    def _slow_down(self) -> None:
        self.rate *= SLOW_DOWN
        self.limiter = self._limiter(self.rate)
        self._since_429 = 0

    def _delivered(self) -> None:
        """Back towards the configured rate after a slow-down (additive-increase style recovery)."""
        self._since_429 += 1
        if self.rate < self.target_rate and self._since_429 % RECOVER_EVERY == 0:
            self.rate = min(self.target_rate, self.rate * SPEED_UP)
            self.limiter = self._limiter(self.rate)

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
        try:
            return await self._send_all(ann)
        finally:
            self.rate = self.target_rate  # a slow-down lasts for one broadcast at most
            self.limiter = self._limiter(self.rate)

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
        while True:
            await self.limiter.acquire()
            try:
                await self.deliver(chat_id, ann, lang or "en")
            except RetryLater as exc:
                report.retry_waits += 1
                wait = min(float(exc.seconds), self.max_retry_wait)
                log.warning("broadcast %s: 429 for chat %s, waiting %.1f s, then %.1f/s", ann.id, chat_id, wait,
                            self.rate * SLOW_DOWN)
                self._slow_down()
                await asyncio.sleep(wait)
                continue
            except Blocked as exc:
                self.store.mark_delivery(ann.id, chat_id, "blocked", str(exc)[:200])
                return
            except Failed as exc:
                attempts = self.store.count_attempt(ann.id, chat_id, str(exc)[:200])
                if attempts > self.max_retries:
                    self.store.mark_delivery(ann.id, chat_id, "failed", str(exc)[:200], attempt=False)
                    return
                await asyncio.sleep(min(2 ** attempts * 0.2, 5))
                continue
            self.store.mark_delivery(ann.id, chat_id, "sent")
            self._delivered()
            return

    async def _report(self, ann: Announcement, final: bool) -> None:
        if not self.progress:
            return
        ann = self.store.announcement(ann.id) or ann
        try:
            await self.progress(ann, self.store.progress(ann.id), final)
        except Exception:  # progress is a courtesy; never stop a broadcast for it
            log.warning("broadcast %s: progress report failed", ann.id, exc_info=True)


def progress_text(ann: Announcement, counts: dict, final: bool, lang: str = "en") -> str:
    done = counts.get("sent", 0) + counts.get("blocked", 0) + counts.get("failed", 0)
    if lang == "ko":
        head = f"📣 공지 #{ann.id} " + ("완료" if final and ann.status != "cancelled" else "취소됨" if final else "발송 중")
        return (f"{head}\n보냄 {counts.get('sent', 0)} · 남음 {counts.get('pending', 0)} · 차단 {counts.get('blocked', 0)}"
                f" · 실패 {counts.get('failed', 0)} (전체 {counts.get('total', 0)}, 처리 {done})")
    head = f"📣 Announcement #{ann.id} " + ("done" if final and ann.status != "cancelled" else "cancelled" if final else "sending")
    return (f"{head}\nsent {counts.get('sent', 0)} · remaining {counts.get('pending', 0)} · blocked {counts.get('blocked', 0)}"
            f" · failed {counts.get('failed', 0)} (of {counts.get('total', 0)}, {done} processed)")
