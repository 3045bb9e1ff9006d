"""Staff and subscriptions end to end: broadcasts (preview, confirm, cancel, 403, 429, order, progress),
the CLI outbox, hot reload of the knowledge, unanswered questions and stats."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from bot.store import Store
from emulator import BotApiEmulator
from harness import ROOT, STAFF, TOKEN, BotRunner, Chat, buttons, eventually, make_config


@pytest.fixture
def env(tmp_path):
    """A fresh emulator + bot per test (broadcast state must not leak between tests)."""
    emu = BotApiEmulator(token=TOKEN).start()
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb)
    cfg = replace(make_config(tmp_path, emu), knowledge_dir=kb, broadcast_rate=200)
    runners: list[BotRunner] = []

    def start(**changes) -> BotRunner:
        runner = BotRunner(replace(cfg, **changes)).start()
        runners.append(runner)
        return runner

    yield emu, cfg, start
    for r in runners:
        r.stop()
    emu.stop()


def subscribers(emu: BotApiEmulator, cfg, ids, lang_of=lambda i: "ko" if i % 2 else "en") -> None:
    store = Store.in_dir(cfg.data_dir)
    store.add_users({"id": i, "lang": lang_of(i)} for i in ids)
    store.close()
    for i in ids:
        emu.add_chat(i)


def deliveries(emu: BotApiEmulator, ids) -> dict[int, list[str]]:
    wanted = set(ids)
    out: dict[int, list[str]] = {}
    for c in emu.calls_of("sendMessage"):
        if c.ok and c.params["chat_id"] in wanted:
            out.setdefault(c.params["chat_id"], []).append(c.params["text"])
    return out


def staff_chat(emu) -> Chat:
    return Chat(emu, user_id=STAFF, lang="en")


def stats_caption(staff: Chat) -> str:
    """/stats: a picture (a valid PNG) with today's figures as its caption."""
    photo = staff.send("/stats", methods=("sendPhoto", "sendMessage"))[-1]
    assert photo.method == "sendPhoto" and photo.params["photo"].data.startswith(b"\x89PNG\r\n\x1a\n")
    return photo.params["caption"]


def confirm(emu, staff: Chat, preview) -> None:
    staff.press(preview, "Confirm")


def wait_done(emu, staff_msg_id: int, timeout: float = 20) -> str:
    call = emu.wait_for(lambda c: c.method == "editMessageText" and c.params.get("message_id") == staff_msg_id
                        and " done" in c.params.get("text", "") or (c.method == "editMessageText"
                        and c.params.get("message_id") == staff_msg_id and "cancelled\n" in c.params.get("text", "")),
                        timeout=timeout)
    return call[-1].params["text"]


def test_non_staff_refused(env) -> None:
    emu, cfg, start = env
    bot = start()
    reply = Chat(emu, user_id=4242, lang="ko").say("/broadcast hello")
    assert "운영진만" in reply.params["text"]
    assert bot.core.store.recent_announcements() == []
    for command in ("/reload", "/stats", "/unanswered", "/broadcasts", "/ratings"):
        assert "only event staff" in Chat(emu, user_id=4243, lang="en").say(command).params["text"]


def test_staff_commands_only_in_staff_menu(env) -> None:
    emu, cfg, start = env
    emu.add_chat(STAFF)
    start()
    staff_cmds = {c["command"] for c in emu.bot_commands(scope={"type": "chat", "chat_id": STAFF}, language_code="en")}
    assert {"broadcast", "reload", "stats"} <= staff_cmds
    assert "broadcast" not in {c["command"] for c in emu.bot_commands(language_code="en")}


def test_preview_confirm_delivers_once_per_language(env) -> None:
    emu, cfg, start = env
    ids = list(range(50001, 50061))
    subscribers(emu, cfg, ids)
    bot = start()
    staff = staff_chat(emu)
    preview = staff.say("/broadcast\nKO: 3홀 입구가 <변경>됐어요 & 확인\nEN: Hall 3 entrance <moved> & check")
    assert "Preview" in preview.params["text"] and "Nothing is sent" in preview.params["text"]
    bot.run_job("outbox", emu)  # the outbox job has looked
    assert deliveries(emu, ids) == {}  # nothing before Confirm
    confirm(emu, staff, preview)
    final = wait_done(emu, preview.result["message_id"])
    assert "sent 60" in final and "remaining 0" in final
    got = deliveries(emu, ids)
    assert sorted(got) == ids and all(len(v) == 1 for v in got.values())
    assert all(("&lt;변경&gt;" in v[0]) == bool(i % 2) for i, v in got.items())
    assert all("Hall 3 entrance &lt;moved&gt; &amp; check" in v[0] for i, v in got.items() if i % 2 == 0)
    # every announcement carries a one-tap unsubscribe
    sent = [c for c in emu.calls_of("sendMessage", chat_id=ids[0])][-1]
    assert buttons(sent)[0]["callback_data"] == "sub:off"


def test_cancel_preview_sends_nothing(env) -> None:
    emu, cfg, start = env
    ids = list(range(51001, 51011))
    subscribers(emu, cfg, ids)
    bot = start()
    staff = staff_chat(emu)
    preview = staff.say("/broadcast all nothing to see")
    edited = staff.press(preview, "Cancel")[-1]
    assert "cancelled" in edited.params["text"]
    bot.run_job("outbox", emu)  # the outbox job (every 2 s) has looked again
    assert deliveries(emu, ids) == {} and bot.core.store.recent_announcements()[0].status == "cancelled"


def test_blocked_and_retry_after(env) -> None:
    emu, cfg, start = env
    ids = list(range(52001, 52021))
    subscribers(emu, cfg, ids)
    emu.block_chat(52003)
    emu.fail_with_retry_after(52005, 1, times=1)
    bot = start()
    staff = staff_chat(emu)
    preview = staff.say("/broadcast EN: retry test")
    t0 = time.monotonic()
    confirm(emu, staff, preview)
    final = wait_done(emu, preview.result["message_id"])
    assert "blocked 1" in final and "sent 19" in final
    user = bot.core.store.user(52003)
    assert user["blocked"] == 1 and user["subscribed"] == 0
    calls_5 = [c for c in emu.calls_of("sendMessage", chat_id=52005)]
    assert [c.status for c in calls_5] == [429, 200]
    assert calls_5[1].time - calls_5[0].time >= 0.95 and time.monotonic() - t0 >= 1.0


def test_cancel_running_broadcast_and_progress_edits(env) -> None:
    emu, cfg, start = env
    ids = list(range(53001, 53101))
    subscribers(emu, cfg, ids)
    start(broadcast_rate=10)
    staff = staff_chat(emu)
    preview = staff.say("/broadcast slow one")
    msg_id = preview.result["message_id"]
    confirm(emu, staff, preview)
    progress = emu.wait_for(lambda c: c.method == "editMessageText" and c.params.get("message_id") == msg_id
                            and "sending" in c.params.get("text", ""), timeout=10)[-1]
    assert "remaining" in progress.params["text"]
    staff.press(progress, "Stop")
    final = wait_done(emu, msg_id)
    assert "cancelled" in final
    assert 10 <= len(deliveries(emu, ids)) < 100


def test_two_broadcasts_in_order_each_once(env) -> None:
    emu, cfg, start = env
    ids = list(range(54001, 54031))
    subscribers(emu, cfg, ids)
    start()
    staff = staff_chat(emu)
    first = staff.say("/broadcast EN: first\nKO: 첫째")
    second = staff.say("/broadcast EN: second\nKO: 둘째")
    confirm(emu, staff, first)
    confirm(emu, staff, second)
    wait_done(emu, second.result["message_id"])
    for texts in deliveries(emu, ids).values():
        assert len(texts) == 2 and ("first" in texts[0] or "첫째" in texts[0]) and ("second" in texts[1] or "둘째" in texts[1])


def test_reply_to_a_photo_is_copied(env) -> None:
    emu, cfg, start = env
    ids = list(range(55001, 55006))
    subscribers(emu, cfg, ids)
    start()
    staff = staff_chat(emu)
    since = staff.mark()
    photo = emu.push_message(STAFF, None, user_id=STAFF, photo=[{"file_id": "ph", "file_unique_id": "u", "width": 9,
                                                                 "height": 9}])
    staff.replies(since)  # the bot says it can't read photos
    preview = staff.say("/broadcast", reply_to=photo["message"]["message_id"])
    confirm(emu, staff, preview)
    wait_done(emu, preview.result["message_id"])
    copies = [c for c in emu.calls_of("copyMessage") if c.ok]
    assert sorted(c.params["chat_id"] for c in copies) == ids


def test_subscribe_unsubscribe_and_announcements(env) -> None:
    emu, cfg, start = env
    bot = start()
    user = Chat(emu, user_id=56001, lang="en")
    user.say("/start")
    assert "No more announcements" in user.say("/unsubscribe").params["text"]
    assert bot.core.store.user(56001)["subscribed"] == 0
    assert "receive announcements" in user.say("/subscribe").params["text"]
    staff = staff_chat(emu)
    preview = staff.say("/broadcast EN: doors open at 10\nKO: 10시 개장")
    confirm(emu, staff, preview)
    wait_done(emu, preview.result["message_id"])
    announcement = [c for c in emu.calls_of("sendMessage", chat_id=56001) if "doors open" in c.params["text"]][-1]
    user.press(announcement, "sub:off", methods=("editMessageReplyMarkup",))
    assert bot.core.store.user(56001)["subscribed"] == 0
    assert "doors open at 10" in user.say("/announcements").params["text"]


def test_cli_broadcast_is_delivered_by_running_bot(env) -> None:
    emu, cfg, start = env
    ids = list(range(57001, 57011))
    subscribers(emu, cfg, ids)
    start()
    out = subprocess.run([sys.executable, "-m", "bot", "broadcast", "--text-en", "from a script", "--text-ko", "스크립트"],
                         capture_output=True, text=True, cwd=ROOT, env={"BOT_DATA_DIR": str(cfg.data_dir), "PATH": ""})
    assert out.returncode == 0 and out.stdout.strip().isdigit()
    eventually(lambda: len(deliveries(emu, ids)) >= 10, timeout=10, what="10 deliveries")  # the outbox job
    assert sorted(deliveries(emu, ids)) == ids


def test_hot_reload_good_and_broken_edits(env) -> None:
    emu, cfg, start = env
    emu.add_chat(STAFF)
    start(reload_seconds=0.3)
    user = Chat(emu, user_id=58001, lang="en")
    before = user.say("what is the meaning of the blue lanyard").params["text"]
    assert "Sorry" in before
    faq = cfg.knowledge_dir / "zz_added.yaml"
    faq.write_text("faq:\n  - id: lanyard\n    questions:\n      ko: [파란 목걸이 의미]\n      en: [what does the blue lanyard mean]\n"
                   "    answer: {ko: 파란 목걸이는 운영진이에요., en: Blue lanyards are worn by staff.}\n", encoding="utf-8")
    report = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == STAFF
                          and "reloaded" in c.params.get("text", ""), timeout=10)[-1]
    assert "1 added: lanyard" in report.params["text"]
    assert "worn by staff" in user.say("what does the blue lanyard mean").params["text"]
    faq.write_text("faq:\n  - id: lanyard\n    questions: {ko: [], en: [x]}\n    answer: {ko: 가}\n", encoding="utf-8")
    error = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == STAFF
                         and "problem" in c.params.get("text", ""), timeout=10)[-1]
    assert "zz_added.yaml:" in error.params["text"] and "last good version" in error.params["text"]
    assert "worn by staff" in user.say("what does the blue lanyard mean").params["text"]


def test_reload_command_and_unanswered_and_stats(env) -> None:
    emu, cfg, start = env
    start()
    staff = staff_chat(emu)
    assert "Knowledge reloaded" in staff.say("/reload").params["text"]
    for n, q in enumerate(["is there a cloakroom", "is there a cloak room?", "where is the cloakroom", "bitcoin price"]):
        Chat(emu, user_id=59000 + n, lang="en").say(q)
    report = staff.say("/unanswered").params["text"]
    # the three cloakroom phrasings are one group, counted once each; the other question its own group
    assert "4 questions, 2 groups" in report
    assert "3× is there a cloakroom" in report and "1× bitcoin price" in report
    stats = stats_caption(staff)
    assert "questions today 4" in stats and "answered 0%" in stats


def test_deleted_database_is_reported_to_staff_and_in_stats(env) -> None:
    """A database file deleted under the running bot: the check tells staff once, /stats says it."""
    from handlers.staff import check_database

    emu, cfg, start = env
    runner = start()
    staff = staff_chat(emu)
    assert runner.call(lambda: check_database(runner.app)) is None
    assert "deleted" not in stats_caption(staff)
    (cfg.data_dir / "bot.db").unlink()
    since = staff.mark()
    problem = runner.call(lambda: check_database(runner.app))
    assert problem and "deleted or replaced" in problem
    told = staff.replies(since)[0].params["text"]
    assert "deleted or replaced" in told and "restore" in told
    since = staff.mark()
    runner.call(lambda: check_database(runner.app))  # the same problem again: staff are not told twice
    assert "deleted or replaced" in stats_caption(staff)
    later = [c for c in emu.calls[since:] if c.method in ("sendMessage", "sendPhoto") and c.params.get("chat_id") == STAFF]
    assert len(later) == 1  # only the /stats reply


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_staff_screens_speak_the_staff_members_language(env, lang) -> None:
    """/stats, the broadcast preview, its buttons and its progress in the staff member's language (their app's
    here), plurals right ("1 subscriber"); the /stats picture goes to staff only."""
    emu, cfg, start = env
    subscribers(emu, cfg, [60001])
    start()
    staff = Chat(emu, user_id=STAFF, lang=lang)
    since = staff.mark()
    caption = stats_caption(staff)
    assert ("오늘 질문 0" if lang == "ko" else "questions today 0") in caption
    assert [c.params["caption"] for c in emu.calls[since:] if c.method == "sendPhoto"] == [caption]
    preview = staff.say("/broadcast EN: doors open at 10\nKO: 10시 개장")
    assert ("미리보기" if lang == "ko" else "Preview") in preview.params["text"]
    queued = staff.press(preview, "발송" if lang == "ko" else "Confirm")[-1].params["text"]
    assert queued.endswith("구독자 1명에게 발송 대기 중…" if lang == "ko" else "queued for 1 subscriber…")
    final = emu.wait_for(lambda c: c.method == "editMessageText" and c.params.get("message_id") == preview.result[
        "message_id"] and ("완료" in c.params.get("text", "") or " done" in c.params.get("text", "")), timeout=10)[-1]
    assert final.params["text"].startswith("📣 공지 #" if lang == "ko" else "📣 Announcement #")
    broadcasts = staff.say("/broadcasts").params["text"]
    assert ("보냄 1/1" if lang == "ko" else "sent 1/1") in broadcasts
    unanswered = staff.say("/unanswered").params["text"]
    assert ("못 답한 질문이 없어요" if lang == "ko" else "No unanswered questions") in unanswered
    reload_report = staff.say("/reload").params["text"]
    assert ("지식을 다시 읽었어요" if lang == "ko" else "Knowledge reloaded") in reload_report


def test_stats_picture_only_for_staff(env) -> None:
    emu, cfg, start = env
    start()
    since = len(emu.calls)
    assert "only event staff" in Chat(emu, user_id=61001, lang="en").say("/stats").params["text"]
    assert [c for c in emu.calls[since:] if c.method == "sendPhoto"] == []
