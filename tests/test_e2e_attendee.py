"""Attendees, end to end: the real Application against the loopback Bot API emulator."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace

import pytest

from emulator import BotApiEmulator
from harness import ROOT, TOKEN, BotRunner, Chat, buttons, frozen_clock, make_config


@pytest.fixture(scope="module")
def bot(emu, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attendee")
    cfg = make_config(tmp, emu)
    runner = BotRunner(cfg, frozen_clock(cfg, "2018-09-18T15:30")).start()
    yield runner
    runner.stop()


_uid = iter(range(2000, 9000))


def chat(emu, lang="en", **kw) -> Chat:
    return Chat(emu, user_id=next(_uid), lang=lang, **kw)


def text_of(call) -> str:
    return call.params["text"]


def test_startup_registers_commands_in_both_languages(bot, emu) -> None:
    en = emu.bot_commands(language_code="en")
    ko = emu.bot_commands(language_code="ko")
    assert {"start", "schedule", "now", "venue", "lang"} <= {c["command"] for c in en}
    assert any(c["description"] == "날짜별 일정" for c in ko)
    assert "broadcast" not in {c["command"] for c in en}


@pytest.mark.parametrize("lang,greeting,schedule", [("en", "Hello!", "Schedule"), ("ko", "안녕하세요", "일정")])
def test_start_greets_with_menu(bot, emu, lang, greeting, schedule) -> None:
    reply = chat(emu, lang).say("/start")
    assert greeting in text_of(reply) and reply.params["parse_mode"] == "HTML"
    labels = [b["text"] for b in buttons(reply)]
    assert len(labels) == 6 and any(schedule in label for label in labels)


def test_schedule_day_buttons_edit_in_place(bot, emu) -> None:
    c = chat(emu, "en")
    page = c.say("/schedule")
    day = c.press(page, "19 Sept")[-1]
    assert day.method == "editMessageText" and "Wed 19 Sept" in day.params["text"]
    assert "Hackathon" in day.params["text"] or "hackathon" in day.params["text"].lower()
    back = c.press(day, "20 Sept")[-1]
    assert "Thu 20 Sept" in back.params["text"]


def test_korean_schedule(bot, emu) -> None:
    c = chat(emu, "ko")
    page = c.say("/schedule")
    day = c.press(page, "9월 18일")[-1]
    assert "개막식" in day.params["text"] and "16:00" in day.params["text"]


def test_now_and_next_follow_the_clock(bot, emu) -> None:
    reply = chat(emu, "en").say("/now")
    text = text_of(reply)
    assert "15:30" in text and "16:00" in text and "Opening" in text  # before the opening ceremony


def test_venue_sends_pin_and_pavilions(bot, emu) -> None:
    c = chat(emu, "en")
    calls = c.send("/venue", count=2, methods=("sendMessage", "sendVenue"))
    venue = [x for x in calls if x.method == "sendVenue"][0]
    assert abs(venue.params["latitude"] - 37.67) < 0.05 and "KINTEX" in venue.params["title"]
    page = [x for x in calls if x.method == "sendMessage"][0]
    assert "KINTEX" in text_of(page) and len(buttons(page)) >= 5


@pytest.mark.parametrize("command,expect_en", [("/speakers", "Sam Cassatt"), ("/results", "Results"),
                                               ("/contact", "044-201-4878")])
def test_pages(bot, emu, command, expect_en) -> None:
    assert expect_en in text_of(chat(emu, "en").say(command))


def test_results_button_follows_the_bot_clock(bot, emu) -> None:
    """A results button pressed on 18 Sept (the bot's clock, not the real time) shows no winners yet."""
    c = chat(emu, "en")
    page = c.say("/results")
    answer = c.press(page, "Hackathon winners", methods=("sendMessage",))[-1]
    assert "will be announced on Thu 20 Sept" in text_of(answer) and "MBA" not in text_of(answer)


def test_speaker_button_answers(bot, emu) -> None:
    c = chat(emu, "ko")
    page = c.say("/speakers")
    answer = c.press(page, "오명", methods=("sendMessage",))[-1]
    assert "오명" in text_of(answer)


# the bot's clock is 18 Sept 15:30: results (`from:` the end of 20 Sept) are not announced yet
@pytest.mark.parametrize("lang,question,expect", [
    ("en", "who won the hackathon?", "will be announced on Thu 20 Sept"),
    ("ko", "해커톤 대상 누구야?", "9월 20일(목)에 발표될 예정"),
    ("en", "how much business was done", "will be announced on Thu 20 Sept"),
    ("ko", "계약 얼마나 했어", "9월 20일(목)에 발표될 예정"),
])
def test_free_text_answers_in_question_language(bot, emu, lang, question, expect) -> None:
    assert expect in text_of(chat(emu, lang).say(question))


def test_answer_language_follows_question_not_app(bot, emu) -> None:
    reply = chat(emu, "en").say("행사 주최가 어디야?")
    assert "국토교통부" in text_of(reply)


def test_lang_switch_is_remembered(bot, emu) -> None:
    c = chat(emu, "en")
    choice = c.say("/lang")
    switched = c.press(choice, "한국어")[-1]
    assert "한국어" in switched.params["text"]
    assert "해커톤 수상작" in text_of(c.say("who won the hackathon"))  # chosen Korean answers an English question
    c.say("/lang en")
    assert "Hackathon winners" in text_of(c.say("해커톤 누가 이겼어"))


def test_did_you_mean_round_trip(bot, emu) -> None:
    # a question this knowledge base finds ambiguous (checked with the bot's own brain, so the test
    # keeps working when organisers edit the knowledge)
    probes = ["awards", "prize", "세미나", "결과", "seminar", "포럼", "contest", "해커톤", "발표", "수상", "ceremony", "상"]
    question = next((q for q in probes if bot.core.brain.ask(q, bot.core.now()).outcome == "ambiguous"), None)
    assert question, "none of the probe questions is ambiguous any more; add one"
    c = chat(emu, "en")
    reply = c.say(question)
    assert "Did you mean" in text_of(reply) or "혹시" in text_of(reply)
    options = [b for b in buttons(reply) if b["callback_data"].startswith("a:")]
    assert 2 <= len(options) <= 3
    answer = c.press(reply, options[0]["callback_data"], methods=("sendMessage",))[-1]
    assert answer.params["text"] and "Did you mean" not in answer.params["text"]


def test_not_found_is_honest_and_recorded(bot, emu) -> None:
    c = chat(emu, "en")
    reply = c.say("what's the weather in Tokyo tomorrow morning?")
    assert "Sorry" in text_of(reply) and "044-201-4878" in text_of(reply) and len(buttons(reply)) == 6
    rows = bot.core.store.unanswered(bot.core.now().replace(year=2000))
    assert any("weather" in r["text"] for r in rows)


def test_inline_mode(bot, emu) -> None:
    since = len(emu.calls)
    emu.push_inline_query(next(_uid), "해커톤", language_code="ko")
    call = emu.wait_for("answerInlineQuery", since=since)[0]
    results = call.params["results"]
    assert call.ok and 1 <= len(results) <= 10
    assert any("해커톤" in r["title"] for r in results)
    shown = " ".join(r.get("description", "") + r["input_message_content"]["message_text"] for r in results)
    assert "MBA" not in shown and "스마트 교통안전 솔루션" not in shown  # winners: not before their `from:`
    assert all(r["input_message_content"]["parse_mode"] == "HTML" for r in results)


@pytest.mark.parametrize("text,expect", [
    ("😀😀😀", "Please type your question"),
    ("x" * 5000, "too long"),
    ("/frobnicate", "I don't know that command"),
    ("<script>alert(1)</script> & <b>", "Sorry"),
])
def test_bad_input_gets_a_sensible_reply(bot, emu, text, expect) -> None:
    reply = chat(emu, "en").say(text)
    assert expect in text_of(reply)


def test_sticker_and_photo(bot, emu) -> None:
    c = chat(emu, "en")
    sticker = c.send(None, sticker={"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
                                    "height": 512, "is_animated": False, "is_video": False})[-1]
    assert "photos or stickers" in text_of(sticker)
    photo = c.send(None, photo=[{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}])[-1]
    assert "photos or stickers" in text_of(photo)


def test_group_answers_only_when_mentioned(bot, emu) -> None:
    g = Chat(emu, user_id=next(_uid), lang="en", chat_id=-100777, chat_type="supergroup")
    since = g.mark()
    emu.push_message(g.chat_id, "who won the hackathon", user_id=g.user_id, chat_type="supergroup")
    bot.idle(emu)
    assert not [c for c in emu.calls[since:] if c.method == "sendMessage" and c.params.get("chat_id") == g.chat_id]
    reply = g.say(f"@{emu.bot_username} who won the hackathon")
    assert "Hackathon winners" in text_of(reply)
    assert reply.params.get("reply_parameters") or reply.params.get("reply_to_message_id")  # replies to the mention


def test_retry_after_on_a_reply_is_waited_out(bot, emu) -> None:
    c = chat(emu, "en")
    emu.add_chat(c.chat_id)
    emu.fail_with_retry_after(c.chat_id, 1, times=1)
    started = time.monotonic()
    reply = c.say("/contact")
    assert "044-201-4878" in text_of(reply) and time.monotonic() - started >= 0.9


def test_blocked_user_is_marked(bot, emu) -> None:
    c = chat(emu, "en")
    c.say("/start")
    emu.block_chat(c.chat_id)
    since = c.mark()
    emu.push_message(c.chat_id, "/contact", user_id=c.user_id)
    emu.wait_for(lambda x: x.method == "sendMessage" and x.status == 403, since=since)
    bot.idle(emu)
    assert bot.core.store.user(c.user_id)["blocked"] == 1
    emu.unblock_chat(c.chat_id)


# ------------------------------------------------------------ bots with their own configuration


@pytest.fixture
def own_emu():
    """A separate emulator, so that a bot with its own configuration does not compete for updates."""
    with BotApiEmulator(token=TOKEN) as e:
        yield e


def test_flood_limit(own_emu, tmp_path) -> None:
    emu = own_emu
    cfg = replace(make_config(tmp_path, emu), flood_messages=3, flood_seconds=60)
    runner = BotRunner(cfg).start()
    try:
        c = chat(emu, "en")
        for _ in range(3):
            c.say("/contact")
        warning = c.say("/contact")
        assert "a lot of messages" in text_of(warning)
        since = c.mark()
        emu.push_message(c.chat_id, "/contact", user_id=c.user_id)
        runner.idle(emu)
        assert not [x for x in emu.calls[since:] if x.method == "sendMessage" and x.params["chat_id"] == c.chat_id]
    finally:
        runner.stop()


def test_knowledge_strings_are_escaped_and_long_replies_split(own_emu, tmp_path) -> None:
    emu = own_emu
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb)
    long_answer = "\n".join(f"Line {i}: <tag> & \"quotes\" — 해커톤 & <b>not bold</b>" for i in range(160))
    (kb / "zz_test.yaml").write_text(
        "faq:\n  - id: zz-long\n    questions:\n      ko: [특수문자 긴 답변 테스트]\n      en: [special characters long answer test]\n"
        "    answer:\n      ko: |\n" + "".join(f"        {ln}\n" for ln in long_answer.splitlines())
        + "      en: |\n" + "".join(f"        {ln}\n" for ln in long_answer.splitlines()), encoding="utf-8")
    cfg = replace(make_config(tmp_path, emu), knowledge_dir=kb)
    runner = BotRunner(cfg).start()
    try:
        c = chat(emu, "en")
        calls = c.send("special characters long answer test", count=2)
        assert all(x.ok for x in calls)  # the emulator rejects bad HTML and > 4096 characters
        assert "&lt;tag&gt; &amp;" in calls[0].params["text"]
        assert buttons(calls[-1]) and not buttons(calls[0])  # the keyboard goes on the last part
    finally:
        runner.stop()


def test_token_is_redacted_in_logs(caplog) -> None:
    from handlers.app import RedactToken

    handler = logging.StreamHandler()
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    handler.addFilter(RedactToken(TOKEN))
    logger = logging.getLogger("httpx")
    logger.addHandler(handler)
    try:
        logger.warning("HTTP Request: POST http://127.0.0.1/bot%s/getMe", TOKEN)
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records and all(TOKEN not in r for r in records) and "<TOKEN>" in records[0]
