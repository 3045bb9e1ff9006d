"""Answers agree with the clock (issue 13, item 5): dated entries (`from:`) say when they will be
announced before their moment, and "is it over?" comes from the event's dates and the clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.render import export_records, render_entry

TZ = ZoneInfo("Asia/Seoul")
BEFORE = datetime(2018, 8, 18, 12, 0, tzinfo=TZ)   # a month before
DURING = datetime(2018, 9, 19, 12, 0, tzinfo=TZ)   # mid-event, before the awards ceremony day ends
AFTER = datetime(2018, 10, 20, 12, 0, tzinfo=TZ)   # a month after
WINNER_NAMES = ("스마트 교통안전 솔루션", "Smart traffic safety solution", "True way for you", "MBA")


def test_hackathon_winner_before_the_ceremony_says_when(real_brain) -> None:
    for when in (BEFORE, DURING):
        ko = real_brain.ask("해커톤 대상 누구야?", when, "ko")
        en = real_brain.ask("who won the hackathon?", when, "en")
        assert ko.entry == en.entry == "hackathon-winners"
        assert "9월 20일(목)에 발표될 예정" in ko.reply.doc.plain()
        assert "will be announced on Thu 20 Sept" in en.reply.doc.plain()
        for name in WINNER_NAMES:
            assert name not in ko.reply.doc.plain() and name not in en.reply.doc.plain()


def test_hackathon_winner_after_the_ceremony(real_brain) -> None:
    assert "Smart traffic safety solution" in real_brain.ask("who won the hackathon?", AFTER, "en").reply.doc.plain()
    assert "스마트 교통안전 솔루션" in real_brain.ask("해커톤 대상 누구야?", AFTER, "ko").reply.doc.plain()


@pytest.mark.parametrize(("when", "ko", "en"), [
    (BEFORE, "아직 시작 전이에요", "Not yet — the event has not started"),
    (DURING, "지금 진행 중이에요. 행사는 9월 20일(목)에 끝나요", "It is on now — the event closes on Thu 20 Sept"),
    (AFTER, "행사는 끝났어요", "It is over — the event closed on Thu 20 Sept"),
])
def test_is_it_over_follows_the_clock(real_brain, when: datetime, ko: str, en: str) -> None:
    for question in ("끝났어?", "행사 끝났어요?", "시작했어?"):
        reply = real_brain.ask(question, when, "ko").reply.doc.plain()
        assert ko in reply, (question, reply)
        assert "종료된 행사" not in reply
    for question in ("is it over?", "has it started?"):
        reply = real_brain.ask(question, when, "en").reply.doc.plain()
        assert en in reply, (question, reply)


def test_no_result_leaks_a_month_before(real_brain) -> None:
    """Every answerable entry, as the bot and the export render it a month before: no dated result."""
    kb = real_brain.kb
    dated = [e for e in kb.entries if e.available_from(TZ) is not None]
    assert {"hackathon-winners", "award:hackathon-grand", "business-results", "visitors"} <= {e.id for e in dated}
    secrets = {"775억", "77.5 billion", "1만 6천", "16,000", *WINNER_NAMES}
    for entry in kb.entries:
        for lang in ("ko", "en"):
            reply = real_brain.entry_reply(entry.id, lang, now=BEFORE).doc.plain()
            for name in WINNER_NAMES:  # winners: behind `from:` everywhere, titles included
                assert name not in reply and name not in entry.title.get(lang), (entry.id, name)
            if entry in dated:  # a dated entry's figures wait for its moment
                assert not any(secret in reply for secret in secrets), entry.id
    exported = {r["id"]: r for r in export_records(kb, BEFORE)}
    for entry in dated:
        for lang in ("ko", "en"):
            text = exported[entry.id]["answer"][lang]
            assert not any(w.work.get(lang) in text for w in getattr(entry.ref, "winners", ()))
            assert "announced" in text or "발표" in text


def _tiny_event(tmp_path, when: str) -> None:
    (tmp_path / "event.yaml").write_text(
        "event:\n  name: {ko: 가, en: A}\n  short_name: A\n  start_date: 2018-09-18\n  end_date: 2018-09-20\n"
        "  timezone: Asia/Seoul\n  contact: {name: {ko: 가, en: A}, organisation: {ko: 가, en: A}, phone: '1'}\n"
        f"faq:\n  - id: x\n    title: {{ko: 결과, en: Result}}\n    from: {when}\n    questions: {{ko: [가], en: [a]}}\n"
        "    answer: {ko: 우승 가나다, en: winner XYZ}\n", encoding="utf-8")


def test_a_from_time_is_exact_to_the_minute(tmp_path) -> None:
    from bot.knowledge import load_knowledge
    from bot.render import render_entry
    _tiny_event(tmp_path, "2018-09-20T16:00")
    kb = load_knowledge(tmp_path)
    entry = kb.entry("x")
    assert entry is not None
    early = render_entry(kb, entry, "en", datetime(2018, 9, 20, 15, 59, tzinfo=TZ)).plain()
    assert "announced on Thu 20 Sept 16:00" in early and "XYZ" not in early
    assert "16:00에 발표될 예정" in render_entry(kb, entry, "ko", datetime(2018, 9, 20, 15, 59, tzinfo=TZ)).plain()
    assert "XYZ" in render_entry(kb, entry, "en", datetime(2018, 9, 20, 16, 0, tzinfo=TZ)).plain()


def test_a_broken_from_is_reported(tmp_path) -> None:
    from bot.knowledge import KnowledgeError, load_knowledge
    _tiny_event(tmp_path, "next week")
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(tmp_path)
    assert "from" in str(err.value) and "is not a date or date-time" in str(err.value)


# words that state an outcome or the event as past: none may reach an attendee a month before
_PAST = ("1만 6천", "16,000", "775억", "77.5 billion", "10 teams won", "최종 수상", "350여명", "About 350", "종료",
         "성황리", "closed successfully", "now over", "were signed", "took place", "was held", "were held", "열렸어요",
         "했어요", "됐어요")


def test_nothing_reads_as_past_a_month_before(real_brain) -> None:
    for record in export_records(real_brain.kb, BEFORE):
        for lang, text in record["answer"].items():
            assert not [w for w in _PAST if w in text], (record["id"], lang)


def test_results_read_as_past_a_month_after(real_brain) -> None:
    answers = " ".join(t for r in export_records(real_brain.kb, AFTER) for t in r["answer"].values())
    assert "16,000" in answers and "775억" in answers and "10 teams won" in answers


def test_a_speakers_quote_appears_only_once_their_first_session_started(real_brain) -> None:
    """The keynote's quote (said at the opening ceremony, 18 Sept 16:00) is not on the speaker's page before."""
    kb = real_brain.kb
    speaker = next(s for s in kb.speakers if s.quote and any(s.id in x.speakers for x in kb.sessions))
    entry = next(e for e in kb.entries if e.kind == "speaker" and e.ref is speaker)
    quote = speaker.quote.get("en")[:40]
    tz = kb.event.timezone
    first = min(x.starts_at(d, tz) or datetime(d.year, d.month, d.day, tzinfo=tz)
                for x in kb.sessions if speaker.id in x.speakers for d in x.days)
    assert quote not in render_entry(kb, entry, "en", BEFORE).plain()
    assert quote not in render_entry(kb, entry, "en", first - timedelta(minutes=1)).plain()
    assert quote in render_entry(kb, entry, "en", first).plain()
    assert quote in render_entry(kb, entry, "en", AFTER).plain()


def test_event_facts_answer_without_faq_entries(tmp_path) -> None:
    """An event whose FAQ says nothing about its dates or contact still answers both from event.yaml:
    "is it over?" from the clock, "who do I contact?" with the contact; WSCW's own entries take their place."""
    from bot.answer import Brain
    from bot.config import Matching
    _tiny_event(tmp_path, "2018-09-20")
    brain = Brain.load(tmp_path, Matching(analyser="rules"))
    during, after = datetime(2018, 9, 19, 12, 0, tzinfo=TZ), AFTER
    over = brain.ask("is it over?", after, "en")
    assert over.entry == "event:when" and "It is over — the event closed on Thu 20 Sept" in over.reply.doc.plain()
    assert "It is on now" in brain.ask("is it over?", during, "en").reply.doc.plain()
    assert "행사는 끝났어요" in brain.ask("끝났어?", after, "ko").reply.doc.plain()
    contact = brain.ask("who do I contact?", during, "en")
    assert contact.entry == "event:contact" and "☎ 1" in contact.reply.doc.plain()


def test_organisers_entries_take_the_place_of_the_generated_ones(real_brain) -> None:
    ids = {e.id for e in real_brain.kb.entries}
    assert "event:when" not in ids and "event:contact" not in ids  # WSCW has its own (event_status, contact)
