"""Personal agenda end to end: ☆/★ and /my, reminders at the simulated time (once, also across restarts,
late after downtime, never after the start), /remind, the calendar file (/ics), the rating flow and
/feedback, and the notices when organisers move or drop a saved session.

Every test gets a fresh emulator, data dir and copy of the knowledge. Time-dependent tests start the bot
with a frozen clock before the interesting moment and jump it forward (`BotRunner.advance_to`: the agenda
jobs are rebuilt from the new time and those due run through the JobQueue at once), then wait until the
bot is idle (`BotRunner.idle`) — no test waits for real seconds to pass.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, datetime

import pytest
from icalendar import Calendar

from bot.store import Store
from emulator import BotApiEmulator, Call
from harness import ROOT, STAFF, Chat, bot_env, buttons

OPENING = "opening-ceremony"
OPENING_TITLE = "Opening ceremony and welcome dinner"


@pytest.fixture
def env(tmp_path):
    yield from bot_env(tmp_path)


# ---------------------------------------------------------------- helpers


def message_id(call: Call) -> int:
    return call.result["message_id"] if call.method.startswith("send") else call.params["message_id"]


def press(chat: Chat, message: Call, data: str) -> Call:
    """Press the inline button `data` of a bot message; returns the bot's answerCallbackQuery call."""
    assert data in [b.get("callback_data") for b in buttons(message)], buttons(message)
    qid = chat.emu.push_callback_query(chat.chat_id, chat.user_id, data, message_id(message),
                                       language_code=chat.lang)
    return chat.emu.wait_for(lambda c: c.method == "answerCallbackQuery"
                             and str(c.params.get("callback_query_id")) == qid, timeout=8)[-1]


def edits_of(emu: BotApiEmulator, chat: Chat, since: int, method: str = "editMessageReplyMarkup") -> list[Call]:
    return emu.wait_for(lambda c: c.method == method and str(c.params.get("chat_id")) == str(chat.chat_id) and c.ok,
                        since=since, timeout=8)


def opening_answer(chat: Chat) -> Call:
    """Ask about the opening ceremony; the answer carries the ☆ toggle."""
    reply = chat.say("opening ceremony" if chat.lang == "en" else "개막식")
    assert f"sv:{OPENING}" in [b.get("callback_data") for b in buttons(reply)], reply
    return reply


def save_opening(chat: Chat) -> Call:
    answer = press(chat, opening_answer(chat), f"sv:{OPENING}")
    assert answer.ok
    return answer


def unprompted(emu: BotApiEmulator, chat: Chat, since: int, marker: str | None = None) -> list[Call]:
    """Messages the bot sent to the chat on its own (reminders, rating requests, notices) since `since`."""
    return [c for c in emu.calls[since:] if c.method == "sendMessage" and c.ok
            and str(c.params.get("chat_id")) == str(chat.chat_id)
            and (marker is None or marker in c.params.get("text", ""))]


def wait_unprompted(emu: BotApiEmulator, chat: Chat, since: int, marker: str, timeout: float = 8.0) -> Call:
    return emu.wait_for(lambda c: c.method == "sendMessage" and c.ok and str(c.params.get("chat_id")) == str(chat.chat_id)
                        and marker in c.params.get("text", ""), since=since, timeout=timeout)[-1]


def reminders(emu: BotApiEmulator, chat: Chat, since: int = 0) -> list[Call]:
    return unprompted(emu, chat, since, "Starting in") + unprompted(emu, chat, since, "분 뒤 시작")


def rate_requests(emu: BotApiEmulator, chat: Chat, since: int = 0) -> list[Call]:
    return [c for c in unprompted(emu, chat, since)
            if any(b.get("callback_data", "").startswith("rate:") for b in buttons(c))]


def ics_of(call: Call) -> Calendar:
    doc = call.params["document"]
    assert doc.filename == "wscw2018.ics"
    return Calendar.from_ical(doc.data)


def events(cal: Calendar) -> dict[str, object]:
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


# ---------------------------------------------------------------- 1. save / remove


def test_save_from_answer_flip_star_my_and_remove(env) -> None:
    emu = env.emu
    env.start("2018-09-18T15:30", frozen=True)
    user = Chat(emu, user_id=61001, lang="en")
    assert "empty" in user.say("/my").params["text"]

    answer = opening_answer(user)
    since = user.mark()
    ack = press(user, answer, f"sv:{OPENING}")
    assert "remind you 15 minutes" in ack.params["text"] and not ack.params.get("show_alert")
    flipped = edits_of(emu, user, since)[-1]
    assert flipped.params["message_id"] == answer.result["message_id"]
    assert f"un:{OPENING}" in [b["callback_data"] for b in buttons(flipped)]
    assert any(b["text"].startswith("★") for b in buttons(flipped))
    assert f"sv:{OPENING}" not in [b["callback_data"] for b in buttons(flipped)]

    my = user.say("/my")
    text = my.params["text"]
    assert "Tue 18 Sept" in text and f"16:00 — {OPENING_TITLE}" in text
    assert text.index("Tue 18 Sept") < text.index("16:00")

    since = user.mark()
    ack = press(user, my, f"un:{OPENING}")
    assert "Removed" in ack.params["text"]
    assert f"sv:{OPENING}" in [b["callback_data"] for b in buttons(edits_of(emu, user, since)[-1])]
    assert "Your agenda is empty" in user.say("/my").params["text"]


def test_save_from_schedule_day_page_and_untimed_session_alert(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:30", frozen=True)
    user = Chat(emu, user_id=61002, lang="en")
    day = user.press(user.say("/schedule"), "18 Sept")[-1]
    rows = day.params["reply_markup"]["inline_keyboard"]
    opening_row = next(r for r in rows if r[0].get("callback_data") == f"a:session:{OPENING}")
    assert [b["text"] for b in opening_row] == [OPENING_TITLE, "☆"] and opening_row[1]["callback_data"] == f"sv:{OPENING}"

    since = user.mark()
    ack = press(user, day, f"sv:{OPENING}")
    assert "15 minutes" in ack.params["text"]
    flipped = edits_of(emu, user, since)[-1]
    new_row = next(r for r in flipped.params["reply_markup"]["inline_keyboard"]
                   if r[0].get("callback_data") == f"a:session:{OPENING}")
    assert new_row[1] == {"text": "★", "callback_data": f"un:{OPENING}"}
    # the other rows keep their ☆
    assert sum(1 for b in buttons(flipped) if b["text"] == "☆") == sum(1 for b in buttons(day) if b["text"] == "☆") - 1

    # a session without a start time: saved, but the user is told (as an alert) it can't be reminded
    day19 = user.press(flipped, "19 Sept")[-1]
    ack = press(user, day19, "sv:hackathon")
    assert ack.params["show_alert"] is True
    assert "can't send a reminder" in ack.params["text"] and "hasn't been announced" in ack.params["text"]
    assert set(bot.core.store.agenda(61002)) == {OPENING, "hackathon"}

    text = user.say("/my").params["text"]
    # by day, then time; the two-day hackathon is listed on both days, with no time
    assert text.index("Tue 18 Sept") < text.index(OPENING_TITLE) < text.index("Wed 19 Sept") \
        < text.index("time TBA") < text.index("Thu 20 Sept")
    assert text.count("• time TBA — Smart City Hackathon") == 2 and text.count(OPENING_TITLE) == 1


# ---------------------------------------------------------------- 2./3. reminders


def test_reminder_at_simulated_time_exactly_once(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:44", frozen=True)
    user = Chat(emu, user_id=62001, lang="en")
    korean = Chat(emu, user_id=62011, lang="ko")
    korean.say("/start")  # records the Telegram language the bot writes in unprompted
    since = user.mark()
    save_opening(user)
    save_opening(korean)
    # the JobQueue job runs at 15:45 event time, mapped onto real time: one minute from now
    job = next(j for j in bot.agenda_jobs() if j.name == f"agenda:62001:remind:{OPENING}:2018-09-18")
    assert abs(job.next_t.timestamp() - (time.time() + 60)) < 5, job.next_t
    bot.idle(emu)
    assert reminders(emu, user) == [] and reminders(emu, korean) == []  # not before 15:45
    bot.advance_to("2018-09-18T15:45", emu)
    reminder = wait_unprompted(emu, user, since, "Starting in")
    text = reminder.params["text"]
    assert "Starting in 15 minutes" in text and OPENING_TITLE in text and "16:00" in text
    ko_reminder = wait_unprompted(emu, korean, since, "분 뒤 시작")
    assert "15분 뒤 시작" in ko_reminder.params["text"] and "개막식 및 환영만찬" in ko_reminder.params["text"]
    bot.advance_to("2018-09-18T15:50", emu)  # due (and run) again by the clock: still sent only once
    assert len(reminders(emu, user)) == 1 and len(reminders(emu, korean)) == 1


def test_no_second_reminder_after_restart(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:44", frozen=True)
    user = Chat(emu, user_id=62002, lang="en")
    since = user.mark()
    save_opening(user)
    bot.advance_to("2018-09-18T15:45", emu)
    wait_unprompted(emu, user, since, "Starting in")
    env.stop(bot)
    since = user.mark()
    bot = env.start("2018-09-18T15:45:30", frozen=True)  # after the reminder time, before 16:00: "due" again
    bot.idle(emu)  # the job due at start-up has run and the outbox is empty
    assert reminders(emu, user, since) == []
    assert len(reminders(emu, user)) == 1


def test_late_reminder_after_downtime_sent_once(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:30", frozen=True)
    user = Chat(emu, user_id=62003, lang="en")
    save_opening(user)
    bot.idle(emu)
    assert reminders(emu, user) == []
    env.stop(bot)
    since = user.mark()
    bot = env.start("2018-09-18T15:50", frozen=True)  # 15:45 passed while the bot was down; not started yet
    late = wait_unprompted(emu, user, since, "Starting in")
    assert "Starting in 10 minutes" in late.params["text"] and OPENING_TITLE in late.params["text"]
    bot.advance_to("2018-09-18T15:55", emu)
    assert len(reminders(emu, user)) == 1


def test_no_reminder_when_restarted_after_the_start(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:30", frozen=True)
    user = Chat(emu, user_id=62004, lang="en")
    save_opening(user)
    env.stop(bot)
    bot = env.start("2018-09-18T16:05", frozen=True)  # the session started while the bot was down: too late
    bot.idle(emu)
    assert reminders(emu, user) == []
    assert list(bot.core.store.db.query("select * from notices where kind = 'remind'")) == []


def test_reminder_in_the_users_language(env) -> None:
    emu = env.emu
    env.start("2018-09-18T15:50", frozen=True)  # past 15:45, before 16:00: the reminder goes out right after saving
    user = Chat(emu, user_id=62005, lang="ko")
    since = user.mark()
    ack = save_opening(user)
    assert "15분 전에 알려" in ack.params["text"]  # the UI is Korean…
    reminder = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == 62005
                            and ("Starting in" in c.params["text"] or "분 뒤 시작" in c.params["text"]),
                            since=since, timeout=8)[-1]
    assert "분 뒤 시작" in reminder.params["text"] and "개막식" in reminder.params["text"]  # …so is the reminder


# ---------------------------------------------------------------- 4. /remind


def test_remind_command_settings_and_30_minutes(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:29", frozen=True)
    user = Chat(emu, user_id=63001, lang="en")
    assert "Now: 15 minutes before" in user.say("/remind").params["text"]
    assert "Now: 15 minutes before" in user.say("/remind abc").params["text"]
    assert "/remind 30" in user.say("/remind abc").params["text"]
    since = user.mark()
    assert "remind you 30 minutes before" in user.say("/remind 30").params["text"]
    assert bot.core.store.user(63001)["remind_minutes"] == 30
    assert "Now: 30 minutes before" in user.say("/remind").params["text"]
    ack = save_opening(user)
    assert "30 minutes" in ack.params["text"]
    control = Chat(emu, user_id=63002, lang="en")  # default 15 minutes: due at 15:45, not now
    save_opening(control)
    bot.idle(emu)
    assert reminders(emu, user) == []  # at 15:30, not right away
    bot.advance_to("2018-09-18T15:30", emu)
    reminder = wait_unprompted(emu, user, since, "Starting in")
    assert "Starting in 30 minutes" in reminder.params["text"]
    assert len(reminders(emu, user)) == 1 and reminders(emu, control) == []


def test_remind_off_sends_nothing_at_due_time(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:44", frozen=True)
    quiet = Chat(emu, user_id=63003, lang="en")
    off = quiet.say("/remind off").params["text"]
    assert "Reminders are off" in off
    assert "Now: off" in quiet.say("/remind").params["text"]
    since = quiet.mark()
    ack = save_opening(quiet)
    assert "Reminders are off" in ack.params["text"]
    control = Chat(emu, user_id=63004, lang="en")  # same session, default setting: proves the due time passed
    save_opening(control)
    bot.advance_to("2018-09-18T15:45", emu)
    wait_unprompted(emu, control, since, "Starting in")
    assert reminders(emu, quiet) == []
    # and back on: the reminder is sent late (15:45 passed, the session has not started)
    assert "15 minutes" in quiet.say("/remind 15").params["text"]
    late = wait_unprompted(emu, quiet, since, "Starting in")
    assert OPENING_TITLE in late.params["text"]


# ---------------------------------------------------------------- 5. /ics


def test_ics_whole_programme_then_agenda_stable_uids(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:30", frozen=True)
    user = Chat(emu, user_id=64001, lang="en")

    whole = user.send("/ics", methods=("sendDocument",))[-1]
    assert "whole programme" in whole.params["caption"]
    cal = ics_of(whole)
    tzids = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert tzids == ["Asia/Seoul"]
    evs = events(cal)
    n_sessions = len(bot.core.brain.kb.sessions)
    assert len(evs) == n_sessions  # every session runs either timed on one day or all day
    opening = evs[f"{OPENING}-2018-09-18@wscw2018.bot"]
    start = opening.decoded("DTSTART")
    assert isinstance(start, datetime) and start.replace(tzinfo=None) == datetime(2018, 9, 18, 16, 0)
    assert str(start.tzinfo) == "Asia/Seoul" and start.utcoffset().total_seconds() == 9 * 3600
    assert opening["DTSTART"].params.get("TZID") == "Asia/Seoul"
    hackathon = evs["hackathon@wscw2018.bot"]
    assert type(hackathon.decoded("DTSTART")) is date and hackathon["DTSTART"].params.get("VALUE") == "DATE"
    assert hackathon.decoded("DTSTART") == date(2018, 9, 19) and hackathon.decoded("DTEND") == date(2018, 9, 21)
    assert all(type(ev.decoded("DTSTART")) is date for uid, ev in evs.items() if uid != opening["UID"])

    again = ics_of(user.send("/ics", methods=("sendDocument",))[-1])
    assert set(events(again)) == set(evs)

    save_opening(user)
    press(user, user.press(user.say("/schedule"), "19 Sept")[-1], "sv:hackathon")
    mine = user.send("/ics", methods=("sendDocument",))[-1]
    assert "Your agenda" in mine.params["caption"]
    mine_evs = events(ics_of(mine))
    assert set(mine_evs) == {f"{OPENING}-2018-09-18@wscw2018.bot", "hackathon@wscw2018.bot"}

    env.stop(bot)
    env.start("2018-09-19T12:00", frozen=True)
    after_restart = events(ics_of(user.send("/ics", methods=("sendDocument",))[-1]))
    assert set(after_restart) == set(mine_evs)
    assert after_restart[f"{OPENING}-2018-09-18@wscw2018.bot"].decoded("DTSTART") == start


def test_cli_ics_command(env, tmp_path) -> None:
    out = tmp_path / "all.ics"
    run = subprocess.run([sys.executable, "-m", "bot", "ics", "--out", str(out)], capture_output=True, text=True,
                         cwd=ROOT, env={"BOT_KNOWLEDGE_DIR": str(env.cfg.knowledge_dir), "PATH": ""})
    assert run.returncode == 0, run.stderr
    cal = Calendar.from_ical(out.read_bytes())
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Seoul"]
    assert f"{OPENING}-2018-09-18@wscw2018.bot" in events(cal)


# ---------------------------------------------------------------- 6. ratings and feedback


def test_rating_request_once_rate_feedback_and_staff_report(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-19T09:59", frozen=True)
    user = Chat(emu, user_id=65001, lang="en")
    since = user.mark()
    save_opening(user)  # already over; no end time → feedback asked 2018-09-19 10:00
    bot.idle(emu)
    assert rate_requests(emu, user) == []  # not before 10:00
    bot.advance_to("2018-09-19T10:00", emu)
    request = emu.wait_for(lambda c: c.method == "sendMessage" and c.ok and c.params.get("chat_id") == 65001
                           and any(b.get("callback_data", "").startswith("rate:") for b in buttons(c)),
                           since=since, timeout=8)[-1]
    assert OPENING_TITLE in request.params["text"]
    assert [b["callback_data"] for b in buttons(request)] == [f"rate:{OPENING}:{n}" for n in range(1, 6)]
    assert reminders(emu, user) == []  # it had started long ago: no reminder

    ack = press(user, request, f"rate:{OPENING}:4")
    assert "Thanks" in ack.params["text"] and "4" in ack.params["text"]
    store = Store.in_dir(env.cfg.data_dir)
    try:
        assert [(r["user_id"], r["session_id"], r["rating"]) for r in store.db.query("select * from ratings")] \
            == [(65001, OPENING, 4)]
    finally:
        store.close()
    bot.advance_to("2018-09-19T10:01", emu)  # due (and run) again by the clock: asked only once
    assert len(rate_requests(emu, user)) == 1

    env.stop(bot)
    since = user.mark()
    bot = env.start("2018-09-19T10:00:30", frozen=True)  # due again after a restart, but already sent
    bot.idle(emu)
    assert rate_requests(emu, user, since) == []

    assert "Add your comment" in user.say("/feedback").params["text"]
    assert "Thank you" in user.say("/feedback more signs please").params["text"]
    report = Chat(emu, user_id=STAFF, lang="en").say("/ratings").params["text"]
    assert f"4.00 (1) — {OPENING_TITLE}" in report
    assert "more signs please" in report
    refused = Chat(emu, user_id=65002, lang="en").say("/ratings").params["text"]
    assert "only event staff" in refused and "more signs" not in refused


# ---------------------------------------------------------------- 7. programme changes


def test_moved_and_dropped_session_notices_and_reschedule(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T16:44", frozen=True)  # the 16:00 ceremony has started: no reminder for it
    user = Chat(emu, user_id=66001, lang="en")
    other = Chat(emu, user_id=66002, lang="en")  # saved something else: told nothing
    save_opening(user)
    press(other, other.press(other.say("/schedule"), "19 Sept")[-1], "sv:hackathon")
    other_since = other.mark()
    staff = Chat(emu, user_id=STAFF, lang="en")

    programme = env.cfg.knowledge_dir / "programme.yaml"
    source = programme.read_text(encoding="utf-8")
    assert source.count('start: "16:00"') == 1
    programme.write_text(source.replace('start: "16:00"', 'start: "17:00"'), encoding="utf-8")
    since = user.mark()
    assert "Knowledge reloaded" in staff.say("/reload").params["text"]
    moved = wait_unprompted(emu, user, since, "changed", timeout=8)
    assert "A session in your agenda has changed" in moved.params["text"]
    assert OPENING_TITLE in moved.params["text"] and "17:00" in moved.params["text"]
    # rescheduled from the new time: 17:00 − 15 min = 16:45
    assert reminders(emu, user, since) == []
    bot.advance_to("2018-09-18T16:45", emu)
    reminder = wait_unprompted(emu, user, since, "Starting in")
    assert "17:00" in reminder.params["text"]
    assert "17:00" in user.say("/my").params["text"]

    start = source.index(f"  - id: {OPENING}\n")
    end = source.index("  - id: ", start + 1)
    programme.write_text(source[:start] + source[end:], encoding="utf-8")
    since = user.mark()
    assert "Knowledge reloaded" in staff.say("/reload").params["text"]
    dropped = wait_unprompted(emu, user, since, "removed from the programme", timeout=8)
    assert OPENING_TITLE in dropped.params["text"]
    bot.idle(emu)
    assert unprompted(emu, other, other_since) == []


def test_saving_a_dropped_session(env) -> None:
    emu = env.emu
    bot = env.start("2018-09-18T15:30", frozen=True)
    user = Chat(emu, user_id=66003, lang="en")
    old_answer = opening_answer(user)  # sent while the session was in the programme
    programme = env.cfg.knowledge_dir / "programme.yaml"
    source = programme.read_text(encoding="utf-8")
    start = source.index(f"  - id: {OPENING}\n")
    programme.write_text(source[:start] + source[source.index("  - id: ", start + 1):], encoding="utf-8")
    assert "Knowledge reloaded" in Chat(emu, user_id=STAFF, lang="en").say("/reload").params["text"]
    since = user.mark()
    ack = press(user, old_answer, f"sv:{OPENING}")
    bot.idle(emu)
    assert bot.core.store.agenda(66003) == []
    flips = [c for c in emu.calls[since:] if c.method == "editMessageReplyMarkup" and c.ok]
    # nothing was saved, so the button must not turn into ★ ("saved"), and the answer must not claim a removal
    assert not any(f"un:{OPENING}" in [b["callback_data"] for b in buttons(c)] for c in flips)
    assert "Removed" not in ack.params.get("text", "")


def test_saving_a_past_session_promises_no_reminder(env) -> None:
    emu = env.emu
    env.start("2018-09-18T16:30", frozen=True)  # the opening ceremony started at 16:00
    user = Chat(emu, user_id=66004, lang="en")
    ack = save_opening(user)
    assert "Added to my agenda" in ack.params["text"]
    assert "remind you" not in ack.params["text"]
