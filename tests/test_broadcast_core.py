"""The outbox and the broadcaster, without Telegram: delivery exactly once, 429 waits, 403 blocks,
bounded retries, cancel, order, resume after an interrupted run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.broadcast import Blocked, Broadcaster, Failed, RetryLater, progress_text
from bot.store import Announcement, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "bot.db")
    s.add_users({"id": i, "lang": "ko" if i % 2 else "en"} for i in range(1, 101))
    yield s
    s.close()


class Recorder:
    def __init__(self, fail: dict | None = None) -> None:
        self.sent: list[tuple[int, int, str]] = []
        self.fail = fail or {}

    async def __call__(self, chat_id: int, ann: Announcement, lang: str) -> None:
        action = self.fail.get(chat_id)
        if action:
            exc = action.pop(0) if isinstance(action, list) else action
            if isinstance(action, list) and not action:
                self.fail.pop(chat_id)
            if exc is not None:
                raise exc
        self.sent.append((ann.id, chat_id, ann.text_for(lang)))


def test_every_subscriber_once_in_their_language(store: Store) -> None:
    ann = store.create_announcement("공지", "Notice")
    assert store.queue_announcement(ann) == 100
    rec = Recorder()
    asyncio.run(Broadcaster(store, rec, rate=1000).drain())
    assert sorted(c for _, c, _ in rec.sent) == list(range(1, 101))
    assert all(text == ("공지" if chat % 2 else "Notice") for _, chat, text in rec.sent)
    assert store.progress(ann)["sent"] == 100 and store.announcement(ann).status == "done"


def test_language_fallback_and_audience(store: Store) -> None:
    ann = store.create_announcement("", "English only", audience="ko")
    assert store.queue_announcement(ann) == 50
    rec = Recorder()
    asyncio.run(Broadcaster(store, rec, rate=1000).drain())
    assert {text for *_, text in rec.sent} == {"English only"} and all(c % 2 for _, c, _ in rec.sent)


def test_unsubscribed_and_blocked_get_nothing(store: Store) -> None:
    store.set_subscribed(3, False)
    store.mark_blocked(4)
    ann = store.create_announcement("a", "a")
    assert store.queue_announcement(ann) == 98


def test_retry_after_waits_and_resends_same_message(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)
    rec = Recorder({5: [RetryLater(0.2)]})
    reports = asyncio.run(Broadcaster(store, rec, rate=1000).drain())
    assert reports[0].retry_waits == 1
    assert [c for _, c, _ in rec.sent].count(5) == 1 and len(rec.sent) == 100


def test_forbidden_marks_blocked_without_retry(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)
    rec = Recorder({7: Blocked("bot was blocked by the user")})
    asyncio.run(Broadcaster(store, rec, rate=1000).drain())
    user = store.user(7)
    assert user["blocked"] == 1 and user["subscribed"] == 0
    assert store.progress(ann)["blocked"] == 1 and store.progress(ann)["sent"] == 99


def test_other_errors_bounded_retries_then_failed(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)
    rec = Recorder({9: Failed("Internal Server Error"), 10: [Failed("timeout"), None]})
    asyncio.run(Broadcaster(store, rec, rate=1000, max_retries=2).drain())
    row = next(store.db.query("select status, attempts, error from deliveries where chat_id = 9"))
    assert row == {"status": "failed", "attempts": 3, "error": "Internal Server Error"}
    assert (ann, 10, "a") in rec.sent


def test_two_announcements_in_order_each_once(store: Store) -> None:
    first = store.create_announcement("1", "1")
    second = store.create_announcement("2", "2")
    store.queue_announcement(first)
    store.queue_announcement(second)
    rec = Recorder()
    asyncio.run(Broadcaster(store, rec, rate=1000).drain())
    ids = [a for a, _, _ in rec.sent]
    assert ids == [first] * 100 + [second] * 100


def test_resume_after_interrupted_run(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)

    class Crash(Exception):
        pass

    rec = Recorder({40: Crash()})
    with pytest.raises(Crash):
        asyncio.run(Broadcaster(store, rec, rate=1000).drain())
    assert store.announcement(ann).status == "sending" and store.progress(ann)["sent"] == 39
    rec2 = Recorder()
    asyncio.run(Broadcaster(store, rec2, rate=1000).drain())
    assert sorted(c for _, c, _ in rec.sent + rec2.sent) == list(range(1, 101))


def test_cancel_stops_delivery(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)

    async def deliver(chat_id: int, a: Announcement, lang: str) -> None:
        if chat_id == 20:
            store.cancel_announcement(a.id)

    asyncio.run(Broadcaster(store, deliver, rate=1000).drain())
    counts = store.progress(ann)
    assert store.announcement(ann).status == "cancelled" and counts["cancelled"] > 0 and counts["sent"] < 100


def test_confirming_twice_queues_once(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    assert store.queue_announcement(ann) == 100
    assert store.queue_announcement(ann) == 0
    assert store.progress(ann)["total"] == 100


def test_rate_is_respected(store: Store) -> None:
    import time
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)
    rec = Recorder()
    started = time.monotonic()
    asyncio.run(Broadcaster(store, rec, rate=50).drain())
    # a leaky bucket of 50/s lets a first burst of up to 50 through, then 50 per second
    assert time.monotonic() - started >= 0.9


def test_progress_text() -> None:
    ann = Announcement(1, "a", "a", "all", "sending", "", None, None, None, None, None)
    text = progress_text(ann, {"sent": 5, "pending": 3, "blocked": 1, "failed": 0, "total": 9}, False)
    assert "sent 5" in text and "remaining 3" in text and "blocked 1" in text


def test_concurrent_workers_deliver_each_once(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)
    in_flight = {"now": 0, "max": 0}

    async def deliver(chat_id: int, a: Announcement, lang: str) -> None:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        await asyncio.sleep(0.01)
        in_flight["now"] -= 1

    asyncio.run(Broadcaster(store, deliver, rate=1000, concurrency=4).drain())
    assert store.progress(ann)["sent"] == 100 and in_flight["max"] == 4


def test_slows_down_after_429_for_that_broadcast_only(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)
    b = Broadcaster(store, Recorder({3: [RetryLater(0.01)], 4: [RetryLater(0.01)]}), rate=100)
    seen: list[float] = []
    original = b.pacer.slow_down

    def spy() -> None:
        original()
        seen.append(b.rate)

    b.pacer.slow_down = spy  # type: ignore[method-assign]
    asyncio.run(b.drain())
    assert seen == [pytest.approx(90.0), pytest.approx(81.0)] and b.rate == 100


def test_rate_recovers_after_a_slow_down(store: Store) -> None:
    ann = store.create_announcement("a", "a")
    store.queue_announcement(ann)
    b = Broadcaster(store, Recorder({2: [RetryLater(0.01)]}), rate=100)
    rates: list[float] = []
    original = b.pacer.delivered

    def spy() -> None:
        original()
        rates.append(b.rate)

    b.pacer.delivered = spy  # type: ignore[method-assign]
    asyncio.run(b.drain())
    assert min(rates) == pytest.approx(90.0) and rates[-1] > min(rates)
