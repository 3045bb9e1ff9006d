"""The matcher and the answers: three outcomes, typo/초성/QWERTY/spacing handling, time questions with a
fixed clock, and an accuracy floor on the evaluation set."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.answer import Brain, MemorySink, event_day, time_intent
from bot.config import load_config

ROOT = Path(__file__).resolve().parent.parent
KST = "+09:00"


@pytest.fixture(scope="module")
def brain() -> Brain:
    cfg = load_config(ROOT / "config.yaml", env={})
    return Brain.load(cfg.knowledge_dir, cfg.matching, sink=MemorySink())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + KST)


NOW = at("2018-09-19T10:00")


@pytest.mark.parametrize("question,entry", [
    ("해커톤 대상 누구야", "hackathon-winners|award:hackathon-grand"),   # either answer names the winner
    ("who won the hackathon?", "hackathon-winners"),
    ("헤커톤 대상 누구", "hackathon-winners|award:hackathon-grand"),     # jamo typo
    ("ㅎㅋㅌ 대상", "hackathon-winners|award:hackathon-grand"),          # 초성
    ("gozjxhs 대상", "hackathon-winners|award:hackathon-grand"),        # QWERTY-typed Hangul
    ("개막식은몇시에해", "session:opening-ceremony"),     # no spaces
    ("킨텍스", "venue:kintex-hall1"),
    ("주최", "hosts-organisers"),
    ("hackaton winers", "hackathon-winners"),
])
def test_confident_answers(brain: Brain, question: str, entry: str) -> None:
    ans = brain.ask(question, NOW)
    assert ans.outcome == "answer" and ans.entry in entry.split("|"), ans.candidates


def test_reply_language_follows_question_unless_chosen(brain: Brain) -> None:
    assert brain.ask("who won the hackathon?", NOW).lang == "en"
    assert brain.ask("해커톤 누가 이겼어", NOW).lang == "ko"
    forced = brain.ask("who won the hackathon?", NOW, lang="ko")
    assert forced.lang == "ko" and "대상" in forced.reply.doc.plain()


def test_english_and_korean_reach_the_same_entry(brain: Brain) -> None:
    assert brain.ask("how much business was done", NOW).entry == brain.ask("계약 성과 얼마야", NOW).entry


@pytest.mark.parametrize("question", ["오늘 날씨 어때", "bitcoin price", "점심 메뉴 추천해줘", "capital of France",
                                      "킨텍스 근처 맛집 추천"])
def test_out_of_domain_is_honest_and_recorded(brain: Brain, question: str) -> None:
    before = len(brain.sink.items)
    ans = brain.ask(question, NOW)
    assert ans.outcome == "none" and ans.entry is None
    assert "044-201-4878" in ans.reply.doc.plain()
    assert len(brain.sink.items) == before + 1 and brain.sink.items[-1][0] == question


def test_ambiguous_offers_at_most_three_candidates(brain: Brain) -> None:
    from bot.search import Result, Match
    result = Result("ambiguous", (Match("hackathon-winners", 55), Match("award:hackathon-grand", 54),
                                   Match("session:hackathon", 53)), "x")
    ans = brain.from_result("해커톤", "ko", result, NOW)
    options = [b.data for row in ans.reply.buttons for b in row if b.data and b.data.startswith("a:")]
    assert ans.outcome == "ambiguous" and options == ["a:hackathon-winners", "a:award:hackathon-grand",
                                                      "a:session:hackathon"]
    assert "혹시" in ans.reply.doc.plain()


def test_search_outcomes_follow_thresholds(brain: Brain) -> None:
    index = brain.index
    assert index.search("해커톤 대상 누구야").outcome == "answer"
    assert index.search("quantum chromodynamics lecture").outcome == "none"


@pytest.mark.parametrize("question,intent", [("지금 뭐해?", "now"), ("what's next", "next"), ("오늘 일정", "today"),
                                             ("내일 뭐 있어", "tomorrow"), ("오늘 날씨 어때", None),
                                             ("해커톤 언제야", None)])
def test_time_intent(question: str, intent: str | None) -> None:
    assert time_intent(question) == intent


def test_event_day_names() -> None:
    days = tuple(datetime(2018, 9, d).date() for d in (18, 19, 20))
    assert event_day("9월 19일 뭐해", days) == days[1]
    assert event_day("what's on the 20th", days) == days[2]
    assert event_day("Tuesday programme", days) == days[0]
    assert event_day("마지막 날 일정", days) == days[2]
    assert event_day("해커톤 언제야", days) is None


def test_now_and_next_from_the_clock(brain: Brain) -> None:
    before = brain.ask("what's on now", at("2018-09-18T15:30")).reply.doc.plain()
    assert "15:30" in before and "16:00" in before and "Opening ceremony" in before
    during = brain.ask("지금 뭐해", at("2018-09-18T16:30")).reply.doc.plain()
    assert "▶️" in during and "개막식" in during
    after = brain.ask("what's next", at("2018-09-21T09:00")).reply.doc.plain()
    assert "ended" in after
    early = brain.ask("what's next", at("2018-09-01T09:00")).reply.doc.plain()
    assert "hasn't started" in early


def test_today_and_tomorrow(brain: Brain) -> None:
    today = brain.ask("오늘 일정", at("2018-09-19T08:00"))
    assert "9월 19일" in today.reply.doc.plain()
    tomorrow = brain.ask("what's on tomorrow", at("2018-09-19T08:00"))
    assert "20 Sept" in tomorrow.reply.doc.plain()
    outside = brain.ask("내일 뭐 있어", at("2018-09-20T08:00"))
    assert "끝났어요" in outside.reply.doc.plain()


def test_bad_input(brain: Brain) -> None:
    assert brain.ask("", NOW).outcome == "empty"
    assert brain.ask("🙂🙂", NOW).outcome == "empty"
    assert brain.ask("x" * 5000, NOW).outcome == "too_long"
    assert brain.ask("<b>&amp;</b> ' \" ; DROP TABLE", NOW).outcome in ("none", "ambiguous", "answer")


def test_ask_cli_jsonl_in_order(tmp_path: Path) -> None:
    questions = "해커톤 대상 누구야\nbitcoin price\n지금 뭐해\n"
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl", "--now", "2018-09-18T15:30"], input=questions,
                         capture_output=True, text=True, cwd=ROOT, check=True)
    import json
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions.split("\n")[:3]
    assert rows[0]["entry"] in ("award:hackathon-grand", "hackathon-winners") and rows[0]["lang"] == "ko"
    assert "MBA" in rows[0]["reply"]
    assert rows[1]["entry"] is None and "Sorry" in rows[1]["reply"]
    assert "16:00" in rows[2]["reply"]
    assert set(rows[0]) == {"question", "lang", "entry", "score", "candidates", "reply"}


# The targets on the evaluation set, and regression floors on the held-out set at the figures
# reached when it was added (its out-of-domain share is below the 90 % target; see README).
TARGETS = {"ko": 95.0, "en": 90.0, "ood": 90.0}
HOLDOUT_FLOORS = {"ko": 95.0, "en": 90.0, "ood": 74.0}


def _eval_scores(name: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "bench"))
    from eval import judge_ours, load_questions

    cfg = load_config(ROOT / "config.yaml", env={})
    brain = Brain.load(cfg.knowledge_dir, cfg.matching)
    ok: dict[str, list[bool]] = {"ko": [], "en": [], "ood": []}
    for item in load_questions(ROOT / "bench" / name):
        ok[item["group"]].append(judge_ours(brain, item)[0])
    return {g: 100 * sum(v) / len(v) for g, v in ok.items()}


def test_eval_accuracy_meets_the_targets() -> None:
    scores = _eval_scores("eval_questions.yaml")
    assert all(scores[g] >= TARGETS[g] for g in TARGETS), scores


def test_holdout_accuracy_does_not_drop() -> None:
    scores = _eval_scores("eval_holdout.yaml")
    assert all(scores[g] >= HOLDOUT_FLOORS[g] for g in HOLDOUT_FLOORS), scores
