"""Conversation (issue 14, items 2–4): follow-ups answered about the chat's last topic, honest replies
to near-misses and to practical questions the knowledge base does not cover, list questions answered
with the list, and the named answers (킨텍스가는법, "is netherlands exhibiting")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import coverage, followup
from bot.answer import Brain
from bot.config import load_config
from bot.followup import Topic
from harness import BotRunner, Chat, buttons, frozen_clock, make_config

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2018, 9, 19, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))


def converse(brain: Brain, *questions: str, start: datetime = NOW, gap: timedelta = timedelta(seconds=30)):
    """Ask `questions` in one chat, as the bot does (the topic carried from answer to answer)."""
    topic, now, answers = None, start, []
    for q in questions:
        answer = brain.ask(q, now, topic=topic)
        topic = answer.topic(topic, now)
        answers.append(answer)
        now += gap
    return answers


# ------------------------------------------------------------------ follow-ups


@pytest.mark.parametrize(("rules", "kind"), [
    (("그럼", "장소"), "where"), (("그럼", "언제"), "when"), (("and", "where"), "where"), (("who", "won"), "won"),
    (("그", "사람", "누구"), "person"), (("그분", "누구"), "person"), (("언제",), "when"),
    (("그럼", "해커톤"), None), (("what", "about", "the", "hackathon"), None), (("주차",), None), ((), None),
])
def test_aspect_of_a_follow_up(rules: tuple[str, ...], kind: str | None) -> None:
    assert followup.aspect(rules) == kind


def test_follow_ups_are_answered_about_the_last_topic(real_brain) -> None:
    where, when = converse(real_brain, "토크콘서트 어디서해?", "그럼 언제야?")
    assert where.entry == "session:talk-concert" and not where.follow_up
    assert when.entry == "session:talk-concert" and when.follow_up  # alone, "그럼 언제야?" is the event's dates
    assert real_brain.ask("그럼 언제야?", NOW).entry != "session:talk-concert"

    when, where = converse(real_brain, "when is the hackathon?", "and where?")
    assert when.entry == "session:hackathon" and where.entry == "session:hackathon" and where.follow_up
    assert "KINTEX" in where.reply.doc.plain()
    assert real_brain.ask("and where?", NOW).outcome != "answer"  # without a topic: no guess

    won = converse(real_brain, "when is the hackathon?", "who won?")[1]
    assert won.follow_up and won.entry and "hackathon" in won.entry


def test_a_follow_up_keeps_the_subject_of_the_conversation(real_brain) -> None:
    overview, winners, place = converse(real_brain, "해커톤 알려줘", "수상자는?", "그럼 장소는?")
    assert overview.entry == "hackathon-overview"
    assert winners.entry == "hackathon-winners" and winners.follow_up
    assert place.entry == "session:hackathon" and place.follow_up  # where the hackathon is, not its winners
    assert "킨텍스" in place.reply.doc.plain()


def test_a_question_naming_its_own_subject_is_not_a_follow_up(real_brain) -> None:
    first, second = converse(real_brain, "해외관 어디야", "그럼 한국관은?")
    assert first.entry == "pavilion:overseas-pavilion"
    assert second.entry == "pavilion:korea-pavilion" and not second.follow_up


def test_the_topic_is_forgotten_after_a_pause(real_brain) -> None:
    later = converse(real_brain, "토크콘서트 어디서해?", "그럼 언제야?", gap=followup.TOPIC_TTL + timedelta(minutes=1))[1]
    assert not later.follow_up and later.entry != "session:talk-concert"
    assert not Topic("x", NOW).fresh(NOW - timedelta(seconds=1))  # a clock set back does not revive it


def test_person_follow_up_names_the_speaker_of_the_topic(real_brain) -> None:
    session = next(s for s in real_brain.kb.sessions if s.speakers)
    speaker = f"speaker:{session.speakers[0]}"
    answer = real_brain.ask("그 사람 누구야?", NOW, topic=Topic(f"session:{session.id}", NOW))
    assert answer.entry == speaker and answer.follow_up


def test_small_talk_and_unknowns_keep_the_topic(real_brain) -> None:
    answers = converse(real_brain, "토크콘서트 어디서해?", "고마워", "bitcoin price", "그럼 언제야?")
    assert [a.outcome for a in answers[1:3]] == ["smalltalk", "none"]
    assert answers[3].entry == "session:talk-concert" and answers[3].follow_up


def test_follow_ups_through_the_bot(emu, tmp_path) -> None:
    cfg = make_config(tmp_path, emu)
    runner = BotRunner(cfg, frozen_clock(cfg, "2018-09-19T10:00")).start()
    try:
        ko, en = Chat(emu, user_id=7401, lang="ko"), Chat(emu, user_id=7402, lang="en")
        assert "토크 콘서트" in ko.say("토크콘서트 어디서해?").params["text"]
        assert "Hackathon" in en.say("when is the hackathon?").params["text"]
        # each chat keeps its own topic
        assert "토크 콘서트" in ko.say("그럼 언제야?").params["text"]
        assert "Hackathon" in en.say("and where?").params["text"]
        # a tapped entry button is a topic too
        reply = en.say("speaker list")
        button = next(b for b in buttons(reply) if b.get("callback_data", "").startswith("a:speaker:"))
        card = en.press(reply, button["callback_data"])[-1]
        follow = en.say("who is he?")
        assert follow.params["text"] == card.params["text"]  # the tapped speaker's card again
    finally:
        runner.stop()


def test_ask_jsonl_replays_conversations(tmp_path) -> None:
    lines = [json.dumps({"question": "토크콘서트 어디서해?", "chat": "a"}, ensure_ascii=False),
             json.dumps({"question": "when is the hackathon?", "chat": 2}),
             json.dumps({"question": "그럼 언제야?", "chat": "a"}, ensure_ascii=False),
             json.dumps({"question": "and where?", "chat": 2}),
             "and where?",  # a plain line: no conversation
             "{not json"]
    env = {"PATH": "", "BOT_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl", "--now", "2018-09-19T10:00:00+09:00"],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["question"] for r in rows] == ["토크콘서트 어디서해?", "when is the hackathon?", "그럼 언제야?",
                                             "and where?", "and where?", "{not json"]
    assert set(rows[0]) == {"question", "lang", "entry", "score", "candidates", "reply"}  # the row is unchanged
    assert rows[2]["entry"] == "session:talk-concert" and rows[3]["entry"] == "session:hackathon"
    assert rows[4]["entry"] != "session:hackathon"


# ------------------------------------------------------------------ honesty


@pytest.mark.parametrize("question", ["사랑이 뭘까?", "is there a cafe", "do you have feelings", "sing me a song",
                                      "election results"])
def test_near_misses_get_the_honest_reply(real_brain, question: str) -> None:
    answer = real_brain.ask(question, NOW)
    assert answer.outcome == "none", (answer.outcome, answer.entry)


@pytest.mark.parametrize(("question", "entry"), [
    ("헤커톤 언제야", "session:hackathon"), ("킨텍쓰 주소", "venue:kintex-hall1"), ("ㅎㅋㅌ 대상", "award:hackathon-grand"),
    ("wher is the venu", "venue:kintex-hall1"),
])
def test_typos_of_long_or_unknown_words_still_match(real_brain, question: str, entry: str) -> None:
    answer = real_brain.ask(question, NOW)
    assert answer.outcome == "answer" and answer.entry in {entry, "venue-info", "hackathon-winners", "session:hackathon"}


def test_common_words_are_not_typos(real_brain) -> None:
    """사랑 is a word (not 사람 mistyped), feeling is not meeting: no similarity match for them."""
    index = real_brain.index
    words = ["사랑", "feeling", "cafe"]
    assert all(w in index.common and not matched for w, matched in zip(words, index._matches(words), strict=True))
    assert index._matches(["헤커톤"])[0]  # not a word: a typo, matched


@pytest.mark.parametrize(("question", "topic", "lang"), [
    ("주차 돼요?", "주차", "ko"), ("Is there parking?", "parking", "en"), ("can I take photos", "taking photos", "en"),
    ("와이파이 비번", "와이파이", "ko"), ("How much is parking at KINTEX?", "parking", "en"),
    ("What's the weather like in Goyang?", "weather", "en"), ("is parking free", "parking", "en"),
    ("화장실 어디예요", "화장실", "ko"),
])
def test_practical_questions_the_knowledge_lacks_are_answered_honestly(real_brain, question, topic, lang) -> None:
    answer = real_brain.ask(question, NOW)
    text = answer.reply.doc.plain()
    assert answer.outcome == "none" and answer.entry is None and answer.lang == lang
    assert topic in text and "044-201-4878" in text


def test_a_project_about_parking_is_still_found(real_brain) -> None:
    assert real_brain.ask("가변형 노상주차장 수상팀", NOW).entry in {"hackathon-winners", "award:hackathon-excellence"}


def test_an_organisers_entry_answers_the_practical_question(tmp_path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    (knowledge / "faq_parking.yaml").write_text(
        "faq:\n  - id: parking\n    title: {ko: 주차, en: Parking}\n    topic: venue\n    questions:\n"
        "      ko: [주차 돼요?, 주차장 어디예요]\n      en: [is there parking, where can I park]\n"
        "    keywords: [주차, parking]\n    answer:\n      ko: 킨텍스 주차장을 이용하세요.\n"
        "      en: Use the KINTEX car park.\n", encoding="utf-8")
    config = load_config(ROOT / "config.yaml", env={})
    brain = Brain.load(knowledge, config.matching)
    for question in ("주차 돼요?", "Is there parking?", "is parking free"):
        answer = brain.ask(question, NOW)
        assert answer.outcome == "answer" and answer.entry == "parking", (question, answer.outcome, answer.entry)


def test_what_an_entry_declares() -> None:
    assert coverage.only_about("Is there parking at KINTEX?", ("KINTEX",)) == "parking"
    assert coverage.only_about("variable on-street parking award") is None
    assert coverage.only_about("해커톤 언제야") is None
    assert coverage.topics_in("사물인터넷 전시") == ()  # 인터넷 inside 사물인터넷 is not wifi


@pytest.mark.parametrize("question", ["있어?", "1+1", "뭐라는거야"])
def test_questions_without_a_subject_are_not_guessed(real_brain, question: str) -> None:
    assert real_brain.ask(question, NOW).outcome in ("none", "smalltalk")


@pytest.mark.parametrize(("message", "kind"), [("how are you", "how"), ("what's up", "how"), ("뭐해?", "how"),
                                               ("ㅇㅋ", "ack"), ("k", "ack"), ("what's your name", "who"),
                                               ("이름이 뭐야?", "who"), ("testing 123", "test")])
def test_more_small_talk(real_brain, message: str, kind: str) -> None:
    from bot.smalltalk import small_talk

    assert small_talk(message) == kind
    assert real_brain.ask(message, NOW).outcome == "smalltalk"


# ------------------------------------------------------------------ lists and named answers


@pytest.mark.parametrize("question", ["speaker list", "연사 누구누구야", "who are the speakers", "연사 목록", "all speakers"])
def test_list_questions_get_the_list(real_brain, question: str) -> None:
    answer = real_brain.ask(question, NOW)
    text = answer.reply.doc.plain()
    assert answer.outcome == "list" and answer.entry == "page:speakers"
    assert all(sp.name.get(answer.lang) in text for sp in real_brain.kb.speakers)


def test_a_named_speakers_talk_is_not_a_list(real_brain) -> None:
    assert real_brain.ask("오명 연사 강연", NOW).outcome == "answer"


@pytest.mark.parametrize(("question", "entry"), [
    ("킨텍스가는법", "venue:kintex-hall1"), ("킨텍스 가는길", "venue:kintex-hall1"),
    ("is netherlands exhibiting", "pavilion:overseas-pavilion"), ("네덜란드도 전시해?", "pavilion:overseas-pavilion"),
])
def test_named_answers(real_brain, question: str, entry: str) -> None:
    answer = real_brain.ask(question, NOW)
    assert answer.outcome == "answer" and answer.entry == entry, (answer.outcome, answer.entry)


def test_unanswered_practical_questions_reach_the_organisers_report(real_brain) -> None:
    from bot.answer import MemorySink

    brain = Brain(real_brain.kb, real_brain.matching, MemorySink(), real_brain.index)
    brain.ask("Is there parking?", datetime(2018, 9, 19, 1, 0, tzinfo=UTC))
    converse(brain, "토크콘서트 어디서해?", "그럼 언제야?")  # a follow-up's rewritten question is never reported
    assert [item[0] for item in brain.sink.items] == ["Is there parking?"]
