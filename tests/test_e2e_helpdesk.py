"""The helpdesk end to end: the real Application (handlers/app.py) against the Bot API emulator. An attendee's
unknown question reaches the staff group or forum, a staff answer reaches the attendee (text, media, edits),
forged answers send nothing, a blocked attendee is reported, the flood of questions becomes a digest, and a
relay left pending at a stop is delivered once after the restart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.helpdesk import Helpdesk
from bot.store import Store
from bot.texts import text
from emulator import BotApiEmulator, Call
from harness import ROOT, STAFF, BotRunner, Chat, button_data, buttons, make_config

GROUP = -4001  # a normal staff group
FORUM = -1009876543210  # a forum supergroup
UNKNOWN = "Is there a cloakroom for coats?"  # the WSCW knowledge has no answer: "I don't know"


@pytest.fixture
def run(emu: BotApiEmulator, tmp_path: Path) -> Iterator:
    emu.add_chat(STAFF)
    emu.add_chat(GROUP, "group")
    emu.add_chat(FORUM, "supergroup", is_forum=True)
    runners: list[BotRunner] = []

    def start(staff_chat: int = GROUP, **changes) -> BotRunner:
        cfg = make_config(tmp_path, emu, staff_chat_id=staff_chat, **changes)
        runner = BotRunner(cfg).start()
        runners.append(runner)
        return runner

    yield start
    for r in runners:
        if r._thread.is_alive():
            r.stop()
    emu.clear_faults()


def to(chat: int, since: int, methods=("sendMessage",)):
    return lambda c: c.method in methods and str(c.params.get("chat_id")) == str(chat) and c.ok


def calls_to(emu: BotApiEmulator, chat: int, since: int) -> list[Call]:
    return [c for c in emu.calls[since:] if str(c.params.get("chat_id")) == str(chat) and c.method != "getUpdates"]


def ask(runner: BotRunner, emu: BotApiEmulator, attendee: Chat, question: str = UNKNOWN, staff_chat: int = GROUP) -> Call:
    """The attendee asks what the bot does not know and taps "Ask the organisers": the relay in the staff chat
    (returned once the bot has noted which ticket it stands for: a person cannot reply faster)."""
    reply = attendee.say(question)
    assert text("helpdesk.ask_button", attendee.lang) in [b["text"] for b in buttons(reply)]
    since = attendee.mark()
    confirmation = attendee.press(reply, text("helpdesk.ask_button", attendee.lang))[-1]
    assert confirmation.params["text"] == text("helpdesk.asked", attendee.lang)
    emu.wait_for(to(attendee.chat_id, since, ("editMessageReplyMarkup",)), since=since)  # the button is gone
    relay = emu.wait_for(to(staff_chat, since), since=since, timeout=8)[-1]
    runner.idle(emu)
    return relay


def staff_says(emu: BotApiEmulator, chat: int, body: str | None, *, reply_to: int | None = None,
               user_id: int = STAFF, **extra) -> int:
    update = emu.push_message(chat, body, user_id=user_id, language_code="en", reply_to=reply_to, **extra)
    return update["message"]["message_id"]


def test_question_to_staff_group_and_answer_back_then_save_as_faq(run, emu: BotApiEmulator, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb)
    runner = run(knowledge_dir=kb)
    attendee = Chat(emu, user_id=5001, lang="en")
    relay = ask(runner, emu, attendee)
    assert UNKNOWN in relay.params["text"] and text("helpdesk.how_reply", "ko") in relay.params["text"]
    since = len(emu.calls)
    answer_id = staff_says(emu, GROUP, "Yes: the cloakroom is at the entrance of hall 1.",
                           reply_to=relay.result["message_id"])
    got = emu.wait_for(to(attendee.chat_id, since), since=since)[-1]
    assert emu.get_message(attendee.chat_id, got.result["message_id"])["text"].startswith("💬 From the organisers\n")
    assert "the cloakroom is at the entrance of hall 1" in got.params["text"]
    ack = emu.wait_for(to(GROUP, since), since=since)[-1]
    assert ack.params["text"].startswith("✅ sent to") and ack.params["reply_parameters"]["message_id"] == answer_id
    # Save as FAQ: the entry is written, the knowledge reloaded, and the next attendee gets the answer
    since = len(emu.calls)
    emu.push_callback_query(GROUP, STAFF, button_data(ack, "Save as FAQ"), ack.result["message_id"])
    edited = emu.wait_for(to(GROUP, since, ("editMessageText",)), since=since, timeout=30)[-1]
    assert "💾" in edited.params["text"]
    emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == STAFF
                 and "reloaded" in c.params.get("text", ""), since=since, timeout=60)
    assert (kb / "faq_from_staff.yaml").exists()
    other = Chat(emu, user_id=5002, lang="en")
    assert "cloakroom is at the entrance of hall 1" in other.say("Is there a cloakroom for coats?").params["text"]
    runner.idle(emu)


def test_forged_answers_from_non_staff_send_nothing(run, emu: BotApiEmulator) -> None:
    runner = run()
    attendee = Chat(emu, user_id=5011, lang="ko")
    relay = ask(runner, emu, attendee, "강아지 데려가도 돼요?")
    since = len(emu.calls)
    staff_says(emu, GROUP, "forged answer", reply_to=relay.result["message_id"], user_id=4242)
    staff_says(emu, GROUP, "just chatting", user_id=STAFF)  # staff, but no reply to a question
    runner.idle(emu)
    assert calls_to(emu, attendee.chat_id, since) == [] and calls_to(emu, GROUP, since) == []


def test_edits_and_media_answers_are_relayed(run, emu: BotApiEmulator) -> None:
    runner = run()
    attendee = Chat(emu, user_id=5021, lang="en")
    relay = ask(runner, emu, attendee)
    since = len(emu.calls)
    answer_id = staff_says(emu, GROUP, "Hall 1.", reply_to=relay.result["message_id"])
    first = emu.wait_for(to(attendee.chat_id, since), since=since)[-1]
    runner.idle(emu)
    since = len(emu.calls)
    emu.push_edit(GROUP, answer_id, text="Hall 2, next to the information desk.")
    edit = emu.wait_for(to(attendee.chat_id, since, ("editMessageText",)), since=since)[-1]
    assert edit.params["message_id"] == first.result["message_id"]
    assert "Hall 2, next to the information desk." in emu.get_message(attendee.chat_id, edit.params["message_id"])["text"]
    # a photo with a caption: copied, under the header
    relay = ask(runner, emu, attendee, "Can I bring my dog?")
    since = len(emu.calls)
    staff_says(emu, GROUP, None, reply_to=relay.result["message_id"], caption="Only guide dogs.",
               photo=[{"file_id": "map1", "file_unique_id": "mapu1", "width": 90, "height": 90}])
    copy = emu.wait_for(to(attendee.chat_id, since, ("copyMessage",)), since=since)[-1]
    assert copy.params["from_chat_id"] == GROUP
    shown = emu.get_message(attendee.chat_id, copy.result["message_id"])
    assert shown["photo"][-1]["file_id"] == "map1" and "From the organisers" in shown["caption"]
    assert "Only guide dogs." in shown["caption"]
    runner.idle(emu)


def test_blocked_attendee_staff_are_told(run, emu: BotApiEmulator) -> None:
    runner = run()
    attendee = Chat(emu, user_id=5031, lang="en")
    relay = ask(runner, emu, attendee)
    emu.block_chat(attendee.chat_id)
    since = len(emu.calls)
    answer_id = staff_says(emu, GROUP, "At hall 1.", reply_to=relay.result["message_id"])
    note = emu.wait_for(to(GROUP, since), since=since)[-1]
    assert note.params["text"] == text("helpdesk.blocked", "en", name="Test", id=1)  # a fresh database: #1
    assert note.params["reply_parameters"]["message_id"] == answer_id
    runner.idle(emu)
    emu.unblock_chat(attendee.chat_id)


def test_forum_one_topic_per_attendee_and_answers_inside_it(run, emu: BotApiEmulator) -> None:
    runner = run(FORUM)
    attendee = Chat(emu, user_id=5041, lang="en")
    since = len(emu.calls)
    attendee.say("/ask Is there a cloakroom?")
    first = emu.wait_for(to(FORUM, since), since=since)[-1]
    attendee.say("/ask And a prayer room?")
    second = emu.wait_for(to(FORUM, since), count=2, since=since)[-1]
    topics = [c for c in emu.calls[since:] if c.method == "createForumTopic"]
    assert len(topics) == 1
    thread = topics[0].result["message_thread_id"]
    assert first.params["message_thread_id"] == second.params["message_thread_id"] == thread
    assert text("helpdesk.how_topic", "ko") in second.params["text"]
    other = Chat(emu, user_id=5042, lang="ko")
    other.say("/ask 주차장 있어요?")
    emu.wait_for(lambda c: c.method == "createForumTopic", count=2, since=since)
    emu.wait_for(to(FORUM, since), count=3, since=since)  # and its question in the new topic
    since = len(emu.calls)
    staff_says(emu, FORUM, "Yes, on the second floor.", message_thread_id=thread)  # no reply: in the topic
    got = emu.wait_for(to(attendee.chat_id, since), since=since)[-1]
    assert "Yes, on the second floor." in got.params["text"]
    ack = emu.wait_for(to(FORUM, since), since=since)[-1]
    assert ack.params["message_thread_id"] == thread
    runner.idle(emu)


def test_flood_of_questions_becomes_a_digest_answered_with_a_tap(run, emu: BotApiEmulator) -> None:
    runner = run(helpdesk_per_minute=1)
    attendees = [Chat(emu, user_id=5050 + i, lang="en") for i in range(3)]
    since = len(emu.calls)
    for i, a in enumerate(attendees):
        a.say(f"/ask question number {i}")
    runner.idle(emu)
    relays = [c for c in calls_to(emu, GROUP, since) if c.method == "sendMessage"]
    assert len(relays) == 1 and "question number 0" in relays[0].params["text"]
    runner.run_job("helpdesk-digest", emu)
    digest = [c for c in calls_to(emu, GROUP, since) if c.method == "sendMessage"][-1]
    assert "question number 1" in digest.params["text"] and "question number 2" in digest.params["text"]
    assert len(buttons(digest)) == 2
    since = len(emu.calls)
    emu.push_callback_query(GROUP, STAFF, buttons(digest)[1]["callback_data"], digest.result["message_id"])
    prompt = emu.wait_for(to(GROUP, since), since=since)[-1]
    assert prompt.params["reply_markup"]["force_reply"] is True and "question number 2" in prompt.params["text"]
    staff_says(emu, GROUP, "Answer to number 2.", reply_to=prompt.result["message_id"])
    got = emu.wait_for(to(attendees[2].chat_id, since), since=since)[-1]
    assert "Answer to number 2." in got.params["text"]
    runner.idle(emu)


def test_unanswered_lists_open_questions_and_staff_answer_from_their_own_chat(run, emu: BotApiEmulator) -> None:
    runner = run()
    attendee = Chat(emu, user_id=5061, lang="en")
    attendee.say(UNKNOWN)  # "I don't know", not sent to staff: still open, the chat is known
    staff = Chat(emu, user_id=STAFF, lang="en")
    listing = staff.send("/unanswered", count=2)[-1]
    assert UNKNOWN in listing.params["text"]
    prompt = staff.press(listing, "Answer #")[-1]
    since = len(emu.calls)
    staff_says(emu, STAFF, "At the entrance of hall 1.", reply_to=prompt.result["message_id"])
    got = emu.wait_for(to(attendee.chat_id, since), since=since)[-1]
    assert "At the entrance of hall 1." in got.params["text"]
    runner.idle(emu)


@pytest.mark.parametrize("where", ["group", "private"])
def test_a_reply_faster_than_the_bot_noting_its_prompt_is_still_the_answer(run, emu: BotApiEmulator,
                                                                           where: str) -> None:
    """Telegram's answer to the prompt is late (the emulator holds it 1.5 s; the message is in the chat at
    once): a staff reply to the prompt arrives before the bot has noted which question the prompt stands
    for. It must still be the answer — relayed to the attendee, never read as a question to the bot."""
    runner = run()
    attendee = Chat(emu, user_id=5081, lang="en")
    attendee.say(UNKNOWN)  # open, not sent to staff: /unanswered lists it
    chat = GROUP if where == "group" else STAFF
    listing_since = len(emu.calls)
    if where == "group":
        emu.push_message(GROUP, "/unanswered", user_id=STAFF, language_code="en")
    else:
        Chat(emu, user_id=STAFF, lang="en").send("/unanswered", count=1)
    listing = emu.wait_for(lambda c: to(chat, 0)(c) and UNKNOWN in c.params.get("text", "") and bool(buttons(c)),
                           since=listing_since)[-1]
    emu.delay("sendMessage", 1.5, times=1)
    since = len(emu.calls)
    emu.push_callback_query(chat, STAFF, button_data(listing, "Answer #"), listing.result["message_id"],
                            language_code="en")
    prompt = emu.wait_for(to(chat, since), since=since)[-1]  # recorded at once; the bot hears back 1.5 s later
    staff_says(emu, chat, "Coats go to the desk at gate 2.", reply_to=prompt.result["message_id"])
    got = emu.wait_for(to(attendee.chat_id, since), since=since, timeout=8)[-1]
    assert "Coats go to the desk at gate 2." in got.params["text"]
    runner.idle(emu)
    # nothing answered the staff member's reply as if it were a question
    assert not [c for c in calls_to(emu, chat, since) if c.method == "sendMessage"
                and text("not_found", "en", contact="")[:20] in c.params.get("text", "")]


def test_a_relay_pending_at_stop_is_delivered_once_after_restart(run, emu: BotApiEmulator, tmp_path: Path) -> None:
    first = run()
    first.stop()
    store = Store.in_dir(tmp_path / "data")
    desk = Helpdesk(store)
    ticket = desk.offer(5071, 5071, "Eve", "left behind at the stop", "en", None, datetime.now(UTC))
    assert desk.ask(ticket, GROUP, datetime.now(UTC), per_minute=10) == "queued"
    store.close()
    since = len(emu.calls)
    runner = run()
    emu.wait_for(lambda c: c.method == "sendMessage" and "left behind at the stop" in c.params.get("text", ""),
                 since=since)
    runner.idle(emu)
    runner.run_job("helpdesk-outbox", emu)
    sent = [c for c in calls_to(emu, GROUP, since) if "left behind at the stop" in c.params.get("text", "")]
    assert len(sent) == 1
