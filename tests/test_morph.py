"""Kiwi morphological analysis (bot/morph.py) and how the index uses it: lemmas, compounds, the rule
reading kept for typos, names from the knowledge base kept whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import morph as M
from bot.answer import Brain
from bot.config import load_config
from bot.search import OTHER_EDITION, prepare_query

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def brain() -> Brain:
    cfg = load_config(ROOT / "config.yaml", env={})
    return Brain.load(cfg.knowledge_dir, cfg.matching)


@pytest.mark.parametrize("inflected,plain", [
    ("개막식은 언제 열렸어", "개막식 언제 열리다"),        # past tense of 열리다
    ("토크콘서트엔 누가 나왔었죠", "토크콘서트 누구 나오다"),  # 었었 + 죠
    ("발표는 누가 맡았어", "발표 누구 맡다"),
    ("투어 프로그램도 운영해?", "투어 프로그램 운영하다"),     # 하다 verb: the noun stays
])
def test_inflections_meet_their_plain_form(inflected: str, plain: str) -> None:
    assert M.words(inflected) == M.words(plain)


def test_particles_and_endings_are_dropped() -> None:
    assert M.words("킨텍스에서는 뭐가 열리나요?") == ["킨텍스", "뭐", "열리"]


def test_pieces_keep_both_readings() -> None:
    (piece,) = M.analyze("주최햇어요")  # ㅆ → ㅅ slip in the ending: Kiwi still finds the noun
    assert piece.kiwi[0] == "주최" and piece.rules == ("주최햇",)
    latin, choseong = M.analyze("WSCW ㅎㅋㅌ")
    assert latin.kiwi == latin.rules == ("wscw",) and not latin.hangul
    assert choseong.kiwi == ("ㅎㅋㅌ",)  # 초성 never goes through Kiwi


def test_added_names_stay_whole() -> None:
    word = "뀨뀨델타시티"  # a made-up name Kiwi cannot know
    M.add_words([word])
    assert M.words(f"{word}는 어디야") == [word, "어디"]
    assert M.add_words([word]) == 0  # only new names are added


def test_typo_falls_back_to_the_rule_reading(brain: Brain) -> None:
    words = brain.index.query_words("기조연셜 한 사람")
    assert "기조연셜" in words  # one word, mended by jamo matching — not Kiwi's fragments
    assert brain.ask("기조연셜 누가 했어", __import__("datetime").datetime(2018, 9, 19, 10)).outcome != "none"


def test_qwerty_context_converts_short_words(brain: Brain) -> None:
    # 관람객 몇 명: "auc"/"aud" alone could be English; after "rhksfkaror" they are 몇 명
    assert prepare_query("rhksfkaror auc aud", brain.index.vocab) == "관람객 몇 명"
    assert prepare_query("auc aud") == "auc aud"
    assert prepare_query("rhksfkaror hackathon", brain.index.vocab) == "관람객 hackathon"  # a known word stays


@pytest.mark.parametrize("question", ["when is WSCW 2019", "2020년 행사 어디서 해", "내년 월드 스마트시티 위크 언제 해요",
                                      "where is next year's event"])
def test_other_years_and_editions_are_out_of_scope(brain: Brain, question: str) -> None:
    assert brain.match(question) == OTHER_EDITION


def test_other_edition_reply_says_what_the_bot_knows(brain: Brain) -> None:
    from datetime import datetime
    ans = brain.ask("when is WSCW 2019", datetime.fromisoformat("2018-09-19T10:00+09:00"))
    text = ans.reply.doc.plain()
    assert ans.outcome == "none" and "only know about" in text and "WSCW 2018" in text and "044-201-4878" in text


def test_same_year_is_in_scope(brain: Brain) -> None:
    assert brain.match("WSCW 2018 언제야").kind == "answer"


def test_answers_are_indexed_as_facts(brain: Brain) -> None:
    # words found only in one entry's answer (none of its example questions uses them) lead to it
    index = brain.index
    fact_only = [w for w, v in index.vocab.items()
                 if len(index.fact_postings[v]) == 1 and not len(index.postings[v]) and len(w) >= 2 and not w.isdigit()]
    assert len(fact_only) > 50
    top = [index.entry_ids[int(index.scores(w).argmax())] == index.entry_ids[index.fact_postings[index.vocab[w]][0]]
           for w in fact_only]
    assert sum(top) / len(top) > 0.8


def test_a_speaker_named_in_an_answer_is_related(brain: Brain) -> None:
    assert brain.index.related("speaker:oh-myung", "keynote-speeches")
    assert not brain.index.related("speaker:oh-myung", "hackathon-winners")


def test_a_number_keeps_its_counter() -> None:
    assert M.words("해커톤 1등 누구") == ["해커톤", "1등", "누구"]
    assert M.words("2018년 9월 19일") == ["2018년", "9월", "19일"]
    assert M.words("1등") != M.words("2등")


def test_synonym_phrases_match_as_phrases(brain: Brain) -> None:
    index = brain.index
    question = ["was", "the", "world", "bank", "there"]
    found = dict(zip(question, index._matches(question), strict=True))
    synonyms_of_world = {index.words[v] for v, _ in found["world"]}
    assert "국제기구" in synonyms_of_world  # "world bank" is in the 국제기구 group as a phrase ...
    alone = {index.words[v] for v, _ in index._matches(["world", "cup"])[0]}
    assert "국제기구" not in alone and "bank" not in alone  # ... "world" alone means nothing of the kind


def test_rules_analyser_never_loads_kiwi() -> None:
    import subprocess
    import sys
    code = ("import sys; from dataclasses import replace; from bot.config import load_config; "
            "from bot.answer import Brain; cfg = load_config(env={}); "
            "b = Brain.load(cfg.knowledge_dir, replace(cfg.matching, analyser='rules')); "
            "from bot.answer import datetime; "
            "a = b.ask('해커톤 대상 누구야', datetime.fromisoformat('2018-09-19T10:00+09:00')); "
            "print(a.entry, 'kiwipiepy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    entry, loaded = out.stdout.split()
    assert entry in ("hackathon-winners", "award:hackathon-grand") and loaded == "False"
