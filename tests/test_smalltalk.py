"""Small talk (issue 14, item 1): greetings, thanks, goodbye, "who are you", help get a short friendly
reply in the message's language — never the "I don't know, I passed it on" reply, never an unanswered
question for the organisers — while a real question that starts with a greeting is still searched."""

from __future__ import annotations

from datetime import UTC

import pytest

from bot.smalltalk import small_talk
from harness import BotRunner, Chat, frozen_clock, make_config


@pytest.mark.parametrize(("message", "kind"), [
    ("안녕", "greeting"), ("안녕하세요!!", "greeting"), ("hi", "greeting"), ("Hello 👋", "greeting"),
    ("고마워", "thanks"), ("고마워용", "thanks"), ("감사합니다 ㅎㅎ", "thanks"), ("thanks!", "thanks"),
    ("Thank you :)", "thanks"), ("bye", "bye"), ("안녕히 계세요", "bye"), ("who are you?", "who"),
    ("너 누구야", "who"), ("help", "help"), ("도움말", "help"), ("what can you do?", "help"),
])
def test_whole_short_messages_are_small_talk(message: str, kind: str) -> None:
    assert small_talk(message) == kind


@pytest.mark.parametrize("message", ["hi, where is the venue?", "해커톤 대상 누구야", "thanks for the info, when is the "
                                     "opening ceremony?", "help desk location", "안녕 해커톤 언제야", ""])
def test_questions_are_not_small_talk(message: str) -> None:
    assert small_talk(message) is None


@pytest.mark.parametrize(("message", "lang", "expected"), [
    ("안녕", "ko", "궁금한 것을"), ("hi", "en", "Ask me anything"), ("고마워", "ko", "천만에요"),
    ("thanks", "en", "You're welcome"), ("bye", "en", "Goodbye"), ("who are you?", "en", "guide bot"),
    ("도움말", "ko", "메뉴"),
])
def test_small_talk_replies_in_the_message_language(real_brain, message: str, lang: str, expected: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    answer = real_brain.ask(message, datetime(2018, 9, 19, 10, 0, tzinfo=ZoneInfo("Asia/Seoul")))
    assert answer.outcome == "smalltalk" and answer.lang == lang and answer.entry is None
    text = answer.reply.doc.plain()
    assert expected in text and "044-201-4878" not in text  # not the "I don't know" reply with the contact
    assert answer.reply.buttons  # the menu comes along


def test_small_talk_through_the_bot_is_never_an_unanswered_question(emu, tmp_path) -> None:
    cfg = make_config(tmp_path, emu)
    runner = BotRunner(cfg, frozen_clock(cfg, "2018-09-19T10:00")).start()
    try:
        ko, en = Chat(emu, user_id=7301, lang="ko"), Chat(emu, user_id=7302, lang="en")
        assert "궁금한 것을" in ko.say("안녕").params["text"]
        assert "천만에요" in ko.say("고마워요!").params["text"]
        assert "You're welcome" in en.say("thanks").params["text"]
        reply = en.say("bitcoin price")  # a real unknown question is still kept for the organisers
        assert "044-201-4878" in reply.params["text"]
        from datetime import datetime
        unanswered = [r["text"] for r in runner.core.store.unanswered(datetime(2000, 1, 1, tzinfo=UTC))]
        assert unanswered == ["bitcoin price"]
    finally:
        runner.stop()
