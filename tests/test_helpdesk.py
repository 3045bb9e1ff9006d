"""The helpdesk's rules (bot/helpdesk.py) without Telegram: tickets, batching beyond N a minute, the relay outbox
and its sender (order, one message a second per chat, 429, 403, nothing lost before Telegram accepted it), the
texts staff and attendees read; the config key; the emulator's forum topics and edits."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.agenda import Skip
from bot.broadcast import Blocked, Pacer, RetryLater
from bot.config import ConfigError, load_config
from bot.helpdesk import (
    DIGEST_MAX,
    Helpdesk,
    RelaySender,
    answer_html,
    ask_buttons,
    caption_html,
    digest_html,
    question_html,
    topic_name,
)
from bot.store import Store
from bot.texts import text

ROOT = Path(__file__).resolve().parent.parent
STAFF_CHAT = -1001234
T0 = datetime(2018, 9, 18, 7, 0, tzinfo=UTC)


@pytest.fixture
def desk(tmp_path: Path):
    store = Store(tmp_path / "bot.db")
    yield Helpdesk(store)
    store.close()


def offer(desk: Helpdesk, user: int = 7, question: str = "is there a cloakroom?", lang: str = "en") -> int:
    return desk.offer(user, user, f"User {user}", question, lang, None, T0)


def kinds(desk: Helpdesk) -> list[str]:
    return [r["kind"] for r in desk.pending()]


def test_ask_queues_one_relay_and_asking_twice_does_nothing(desk: Helpdesk) -> None:
    tid = offer(desk)
    assert desk.ticket(tid).status == "offered"
    assert desk.ask(tid, STAFF_CHAT, T0, per_minute=10) == "queued"
    assert desk.ask(tid, STAFF_CHAT, T0, per_minute=10) == "already"
    rows = desk.pending()
    assert [(r["kind"], r["chat"], r["ticket_id"]) for r in rows] == [("question", STAFF_CHAT, tid)]
    assert desk.ticket(tid).status == "asked"


def test_beyond_n_a_minute_questions_are_batched_into_digests(desk: Helpdesk) -> None:
    ids = [offer(desk, user=u) for u in range(1, 6)]
    outcomes = [desk.ask(t, STAFF_CHAT, T0 + timedelta(seconds=i), per_minute=2) for i, t in enumerate(ids)]
    assert outcomes == ["queued", "queued", "batched", "batched", "batched"]
    assert kinds(desk) == ["question", "question"]
    assert [t.id for t in desk.batched()] == ids[2:]
    assert desk.queue_digests(STAFF_CHAT, T0 + timedelta(seconds=60)) == 1
    digest = desk.pending()[-1]
    assert digest["kind"] == "digest" and digest["payload"]["tickets"] == ids[2:]
    assert desk.batched() == [] and {desk.ticket(t).status for t in ids} == {"asked"}
    # once the first relays are a minute old, questions go one by one again; the digest counts as one relay
    assert desk.ask(offer(desk, user=9), STAFF_CHAT, T0 + timedelta(seconds=61), per_minute=2) == "queued"
    assert desk.ask(offer(desk, user=10), STAFF_CHAT, T0 + timedelta(seconds=62), per_minute=2) == "batched"


def test_a_big_batch_is_split_into_digests_of_digest_max(desk: Helpdesk) -> None:
    for u in range(DIGEST_MAX + 3):
        desk.ask(offer(desk, user=u + 1), STAFF_CHAT, T0, per_minute=1)
    assert desk.queue_digests(STAFF_CHAT, T0) == 2
    digests = [r for r in desk.pending() if r["kind"] == "digest"]
    assert [len(r["payload"]["tickets"]) for r in digests] == [DIGEST_MAX, 2]


def answered(desk: Helpdesk, text_: str = "Yes, at the entrance.") -> tuple[int, int]:
    tid = offer(desk)
    desk.ask(tid, STAFF_CHAT, T0, per_minute=10)
    question = desk.pending()[0]
    desk.finish(question, "sent", None, 50, T0)
    assert desk.ticket_of_post(STAFF_CHAT, 50) == tid
    aid = desk.record_answer(tid, STAFF_CHAT, 51, None, 999, "en", "text", None, text_, T0)
    assert aid is not None
    return tid, aid


def test_an_answer_is_queued_once_and_its_delivery_queues_staff_confirmation(desk: Helpdesk) -> None:
    tid, aid = answered(desk)
    assert desk.ticket(tid).status == "answered"
    assert desk.record_answer(tid, STAFF_CHAT, 51, None, 999, "en", "text", None, "again", T0) is None  # same message
    row = desk.pending()[0]
    assert (row["kind"], row["chat"], row["answer_id"]) == ("answer", 7, aid)
    desk.finish(row, "sent", None, 300, T0)
    assert desk.answer(aid).attendee_message_id == 300 and desk.answer(aid).status == "sent"
    ack = desk.pending()[0]
    assert (ack["kind"], ack["chat"], ack["answer_id"]) == ("ack", STAFF_CHAT, aid)
    desk.finish(row, "sent", None, 301, T0)  # closing twice changes nothing
    assert kinds(desk) == ["ack"]


def test_an_edit_before_delivery_changes_the_pending_answer_after_delivery_queues_an_edit(desk: Helpdesk) -> None:
    _, aid = answered(desk)
    assert desk.edit_answer(STAFF_CHAT, 51, "Yes, hall 1.", T0) == aid
    assert kinds(desk) == ["answer"] and desk.answer(aid).text == "Yes, hall 1."
    desk.finish(desk.pending()[0], "sent", None, 300, T0)
    assert desk.edit_answer(STAFF_CHAT, 51, "Yes, hall 2.", T0) == aid
    assert kinds(desk) == ["ack", "edit"]
    assert desk.edit_answer(STAFF_CHAT, 49, "not an answer", T0) is None


def test_a_blocked_attendee_is_marked_and_staff_are_told(desk: Helpdesk) -> None:
    desk.store.touch_user(7, "en")
    _, aid = answered(desk)
    desk.finish(desk.pending()[0], "blocked", "Forbidden: bot was blocked by the user", None, T0)
    assert desk.answer(aid).status == "blocked"
    assert desk.store.user(7)["blocked"] == 1
    note = desk.pending()[0]
    assert (note["kind"], note["chat"], note["payload"]["note"]) == ("note", STAFF_CHAT, "blocked")


def test_forum_threads_and_open_tickets(desk: Helpdesk) -> None:
    desk.set_thread(STAFF_CHAT, 7, 12, T0)
    assert desk.thread(STAFF_CHAT, 7) == 12 and desk.user_of_thread(STAFF_CHAT, 12) == 7
    desk.drop_thread(STAFF_CHAT, 7)
    assert desk.thread(STAFF_CHAT, 7) is None
    a, b = offer(desk, user=1), offer(desk, user=2)
    desk.ask(b, STAFF_CHAT, T0, per_minute=10)
    assert [t.id for t in desk.open_tickets(T0 - timedelta(hours=1))] == [b, a]
    assert desk.latest_ticket(2).id == b and desk.latest_ticket(1) is None  # offered only: not with staff
    assert desk.last_offered(1, T0 - timedelta(hours=1)).id == a


# ---------------------------------------------------------------- the sender


class FakeTelegram:
    """deliver(row) as the adapter does it; scripted failures per row kind."""

    def __init__(self, fail: dict[str, list[Exception]] | None = None) -> None:
        self.sent: list[tuple[str, int, float]] = []
        self.fail = fail or {}
        self.next_id = 100

    async def deliver(self, row: dict) -> int | Skip:
        errors = self.fail.get(row["kind"])
        if errors:
            raise errors.pop(0)
        self.sent.append((row["kind"], row["chat"], time.monotonic()))
        self.next_id += 1
        return self.next_id


def sender(desk: Helpdesk, tg: FakeTelegram, per_chat: float = 0.0) -> RelaySender:
    return RelaySender(desk, tg.deliver, Pacer(1000), lambda: T0, per_chat_seconds=per_chat, max_retries=1)


def test_sender_delivers_in_order_and_marks_rows_sent(desk: Helpdesk) -> None:
    _, aid = answered(desk)
    tg = FakeTelegram()
    report = asyncio.run(sender(desk, tg).drain())
    # answer → then the confirmation it queued, in the same drain
    assert [(k, c) for k, c, _ in tg.sent] == [("answer", 7), ("ack", STAFF_CHAT)]
    assert report.counts == {"sent": 2} and desk.pending() == []
    assert desk.answer(aid).attendee_message_id == 101


def test_sender_keeps_one_second_per_chat_without_holding_up_other_chats(desk: Helpdesk) -> None:
    for u in (1, 1, 2):
        desk.ask(offer(desk, user=u), STAFF_CHAT if u == 1 else -2, T0, per_minute=10)
    tg = FakeTelegram()
    asyncio.run(sender(desk, tg, per_chat=0.3).drain())
    order = [(c, t) for _, c, t in tg.sent]
    assert [c for c, _ in order] == [STAFF_CHAT, -2, STAFF_CHAT]  # the second staff-chat row waited, -2 did not
    assert order[2][1] - order[0][1] >= 0.29


def test_sender_waits_out_429_and_sends_the_same_row_again(desk: Helpdesk) -> None:
    answered(desk)
    tg = FakeTelegram({"answer": [RetryLater(0.05)]})
    asyncio.run(sender(desk, tg).drain())
    assert [k for k, _, _ in tg.sent] == ["answer", "ack"]


def test_sender_403_tells_staff(desk: Helpdesk) -> None:
    answered(desk)
    tg = FakeTelegram({"answer": [Blocked("Forbidden: bot was blocked by the user")]})
    asyncio.run(sender(desk, tg).drain())
    assert [k for k, _, _ in tg.sent] == ["note"]
    assert desk.totals() == {"blocked": 1, "sent": 2}  # the question relay, the answer (blocked), the note


def test_a_row_stays_pending_until_telegram_accepted_it(desk: Helpdesk) -> None:
    """A crash (the task cancelled) while the message is in flight: the row is still pending, sent at the next start."""
    answered(desk)

    async def hang(row: dict) -> int:
        await asyncio.sleep(10)
        return 1

    async def crash() -> None:
        task = asyncio.ensure_future(RelaySender(desk, hang, Pacer(1000), lambda: T0).drain())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(crash())
    assert kinds(desk) == ["answer"]
    tg = FakeTelegram()
    asyncio.run(sender(desk, tg).drain())
    assert [k for k, _, _ in tg.sent] == ["answer", "ack"]


# ---------------------------------------------------------------- texts


def test_relay_texts_escape_and_stay_within_telegram_limits(desk: Helpdesk) -> None:
    tid = desk.offer(7, 7, "<b>Eve</b>", "a < b & c?" + "x" * 5000, "ko", "venue:kintex", T0)
    t = desk.ticket(tid)
    body = question_html(t, "en", forum=False)
    assert "&lt;b&gt;Eve" in body and "a &lt; b &amp; c?" in body and len(body) < 4096
    assert text("helpdesk.lang_ko", "en") in body and "venue:kintex" in body
    assert text("helpdesk.how_reply", "en") in body
    assert text("helpdesk.how_topic", "ko") in question_html(t, "ko", forum=True)
    assert len(answer_html("y" * 9000, "en")) <= 4096 and len(caption_html("z" * 2000, "ko")) <= 1024
    assert len(topic_name(t, "en")) <= 128
    long_id = 10 ** 12
    assert all(len(b.data.encode()) <= 64 for row in ask_buttons(long_id, "en") for b in row)
    body, buttons = digest_html([t], "ko")
    assert body.startswith("📥") and buttons[0][0].data == f"hd:ans:{tid}"


def test_staff_chat_id_from_config_and_environment(tmp_path: Path) -> None:
    assert load_config(ROOT / "config.yaml", env={}).staff_chat_id is None
    cfg = load_config(ROOT / "config.yaml", env={"BOT_STAFF_CHAT_ID": "-100777"})
    assert cfg.staff_chat_id == -100777 and cfg.helpdesk_per_minute == 10
    with pytest.raises(ConfigError, match="BOT_STAFF_CHAT_ID"):
        load_config(ROOT / "config.yaml", env={"BOT_STAFF_CHAT_ID": "staff"})
    path = tmp_path / "config.yaml"
    path.write_text("helpdesk:\n  staff_chat_id: yes\n  questions_per_minute: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert {p.field for p in info.value.problems} == {"helpdesk.staff_chat_id", "helpdesk.questions_per_minute"}


# ---------------------------------------------------------------- the emulator's forums


def test_emulator_forum_topics_threads_and_edits() -> None:
    from emulator import BotApiEmulator

    emu = BotApiEmulator()
    emu.add_chat(-1005, "supergroup", is_forum=True)
    emu.add_chat(-1006, "supergroup")
    status, body = emu.request("createForumTopic", {"chat_id": -1006, "name": "x"})
    assert status == 400 and "not a forum" in body["description"]
    status, body = emu.request("createForumTopic", {"chat_id": -1005, "name": "x" * 129})
    assert status == 400
    status, body = emu.request("createForumTopic", {"chat_id": -1005, "name": "Eve"})
    assert status == 200
    thread = body["result"]["message_thread_id"]
    assert emu.get_message(-1005, thread)["forum_topic_created"]["name"] == "Eve"
    status, body = emu.request("sendMessage", {"chat_id": -1005, "text": "hi", "message_thread_id": thread + 50})
    assert status == 400 and "thread not found" in body["description"]
    status, body = emu.request("sendMessage", {"chat_id": -1006, "text": "hi", "message_thread_id": 999})
    assert status == 400
    status, body = emu.request("sendMessage", {"chat_id": -1005, "text": "hi", "message_thread_id": thread})
    assert body["result"]["is_topic_message"] and body["result"]["message_thread_id"] == thread
    # a member writes in the topic without replying: Telegram makes it a reply to the topic's first message
    update = emu.push_message(-1005, "answer", user_id=5, message_thread_id=thread)
    assert update["message"]["is_topic_message"] and update["message"]["reply_to_message"]["message_id"] == thread
    edited = emu.push_edit(-1005, update["message"]["message_id"], text="answer, edited")
    assert edited["edited_message"]["text"] == "answer, edited" and "edit_date" in edited["edited_message"]
    assert emu.request("deleteForumTopic", {"chat_id": -1005, "message_thread_id": thread})[0] == 200
    assert emu.request("sendMessage", {"chat_id": -1005, "text": "hi", "message_thread_id": thread})[0] == 400
