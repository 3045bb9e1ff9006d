"""The matcher and the answers: three outcomes, typo/초성/QWERTY/spacing handling, time questions with a
fixed clock, and an accuracy floor on the evaluation set."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.answer import Brain, MemorySink, event_day, time_intent
from bot.config import Matching, load_config
from bot.search import Outcome, Ranked, decide

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
    forced = brain.ask("who won the hackathon?", at("2018-09-21T10:00"), lang="ko")  # after the awards
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
    outcome = Outcome("ambiguous", (Ranked("hackathon-winners", 55), Ranked("award:hackathon-grand", 54),
                                    Ranked("session:hackathon", 53), Ranked("keynote-speeches", 53)))
    ans = brain.reply_to("해커톤", "ko", outcome, NOW)
    options = [b.data for row in ans.reply.buttons for b in row if b.data and b.data.startswith("a:")]
    assert ans.outcome == "ambiguous" and options == ["a:hackathon-winners", "a:award:hackathon-grand",
                                                      "a:session:hackathon"]
    assert "혹시" in ans.reply.doc.plain()


def test_match_outcomes_follow_thresholds(brain: Brain) -> None:
    assert brain.match("해커톤 대상 누구야").kind == "answer"
    assert brain.match("quantum chromodynamics lecture").kind == "none"


# ------------------------------------------------------------------ decide(): thresholds 56 / 54 / margin 1

M = Matching(confident=56, ambiguous=54, margin=1, analyser="rules")


def test_decide_nothing_ranked_is_none() -> None:
    assert decide([], M) == Outcome("none", ())


def test_decide_clear_best_answers() -> None:
    ranked = [Ranked("a", 70.0), Ranked("b", 60.0)]
    assert decide(ranked, M) == Outcome("answer", tuple(ranked))


def test_decide_thresholds_are_inclusive() -> None:
    assert decide([Ranked("a", 56.0), Ranked("b", 55.0)], M).kind == "answer"  # exactly confident, exactly margin
    assert decide([Ranked("a", 55.9)], M).kind == "ambiguous"  # below confident, at or above ambiguous
    assert decide([Ranked("a", 54.0)], M).kind == "ambiguous"


def test_decide_tie_within_margin_is_ambiguous() -> None:
    out = decide([Ranked("a", 70.0), Ranked("b", 69.5), Ranked("c", 40.0)], M)
    assert out.kind == "ambiguous"
    assert [c.entry_id for c in out.candidates] == ["a", "b"]  # c is below `ambiguous`: not offered


def test_decide_related_runner_up_does_not_make_it_ambiguous() -> None:
    twin = [Ranked("a", 70.0), Ranked("a-twin", 69.9, related=True), Ranked("b", 60.0)]
    assert decide(twin, M).kind == "answer"  # the margin is taken to b, the best unrelated runner-up
    rival = [Ranked("a", 70.0), Ranked("a-twin", 69.9, related=True), Ranked("b", 69.5)]
    assert decide(rival, M).kind == "ambiguous"


def test_decide_below_ambiguous_is_none_with_its_candidates() -> None:
    ranked = [Ranked("a", 53.9), Ranked("b", 20.0)]
    out = decide(ranked, M)
    assert out.kind == "none" and out.candidates == tuple(ranked)  # kept for the organisers' report
    assert out.reason is None


def test_rank_is_best_first_with_cutoff_and_limit(brain: Brain) -> None:
    query = brain.parse("해커톤 대상 누구야")
    ranked = brain.index.rank(query, limit=None)
    assert len(ranked) > 3 and [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    assert all(r.score > 0 for r in ranked) and not ranked[0].related
    assert brain.index.rank(query, limit=2) == ranked[:2]
    cut = brain.index.rank(query, limit=None, score_cutoff=54)
    raw = brain.index.scores(query)
    assert cut and cut == ranked[:len(cut)] and len(cut) == int((raw >= 54).sum())  # the cut-off on raw scores
    related = [r for r in ranked[1:] if r.related]
    assert all(brain.index.related(ranked[0].entry_id, r.entry_id) for r in related)


def test_a_question_is_parsed_once(brain: Brain, monkeypatch) -> None:
    import dataclasses

    from bot import search
    calls = []
    parse = search.Query.parse.__func__

    def counting(cls, text, index=None):
        calls.append(text)
        return parse(cls, text, index)

    monkeypatch.setattr(search.Query, "parse", classmethod(counting))
    brain.ask("gozjxhs 대상 누구야", NOW)
    brain.ask("오늘 일정", NOW)
    assert calls == ["gozjxhs 대상 누구야", "오늘 일정"]
    query = brain.parse("gozjxhs 대상")
    assert query.qwerty and query.lang == "ko" and "해커톤" in query.words and query.jamo.startswith("ㅎㅐㅋ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.words = ()  # type: ignore[misc]


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
    # markup, entities and SQL-ish text are plain words that match nothing: the honest "I don't know",
    # recorded as asked (raw), never a crash or a made-up answer
    odd = "<b>&amp;</b> ' \" ; DROP TABLE"
    before = len(brain.sink.items)
    ans = brain.ask(odd, NOW)
    assert ans.outcome == "none" and ans.entry is None and "044-201-4878" in ans.reply.doc.plain()
    assert len(brain.sink.items) == before + 1 and brain.sink.items[-1][0] == odd


@pytest.mark.slow
def test_ask_cli_jsonl_in_order(tmp_path: Path) -> None:
    questions = "해커톤 대상 누구야\nbitcoin price\n지금 뭐해\n"
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl", "--now", "2018-09-18T15:30"], input=questions,
                         capture_output=True, text=True, cwd=ROOT, check=True)
    import json
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions.split("\n")[:3]
    assert rows[0]["entry"] in ("award:hackathon-grand", "hackathon-winners") and rows[0]["lang"] == "ko"
    # 18 Sept, before the awards (from: 20 Sept): the entry is found, the winner is not told yet
    assert "MBA" not in rows[0]["reply"] and "발표될 예정" in rows[0]["reply"]
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


# Issue 14: honest replies on the near-miss and chit-chat sets (targets 95 % and 99 %, met on these sets;
# the held-out twins are reported in the README, not asserted: they must stay untuned).
NULL_TARGETS = {"eval_nearmiss.yaml": 95.0, "eval_chitchat.yaml": 99.0}


@pytest.mark.parametrize("name", sorted(NULL_TARGETS))
def test_near_miss_and_chit_chat_get_honest_replies(name: str) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from eval import judge_ours, load_questions

    cfg = load_config(ROOT / "config.yaml", env={})
    brain = Brain.load(cfg.knowledge_dir, cfg.matching)
    items = load_questions(ROOT / "bench" / name)  # chit-chat: a small-talk reply is honest too
    honest = [judge_ours(brain, item)[0] for item in items]
    assert 100 * sum(honest) / len(honest) >= NULL_TARGETS[name]
