"""Programme questions answered from the structured facts (bot/programme.py), without example questions:
when / where / who of a session, talks by a speaker, now in a room, next in a track — on the example event
(examples/devconf-2025, imported from its frab schedule) with a frozen clock, and once through the real bot."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.answer import Brain
from bot.config import Matching
from bot.knowledge import load_knowledge
from bot.programme import Programme
from emulator import BotApiEmulator
from harness import ROOT, TOKEN, BotRunner, Chat, buttons, frozen_clock, make_config

DEVCONF = ROOT / "examples" / "devconf-2025" / "knowledge"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(DEVCONF)


@pytest.fixture(scope="module")
def brain(kb):
    return Brain(kb, Matching())


def at(kb, when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=kb.event.timezone)


def title(kb, sid: str) -> str:
    return kb.session(sid).title.get("en")


def found(kb, question: str, when: str = "2025-06-12T10:40"):
    return Programme(kb).understand(question, at(kb, when))


# ---------------------------------------------------------------- the recogniser


@pytest.mark.parametrize("question, intent, expected", [
    ("where is the accessibility workshop", "where", "Hands-on Accessibility Testing"),
    ("Where's the CSS layouts talk?", "where", "Modern CSS Layouts"),
    ("when is postgres indexes", "when", "Postgres Indexes Explained"),
    ("when is the state managment talk", "when", "State Management Without Tears"),  # typos
    ("rate limitng 언제", "when", "Rate Limiting at the Edge"),
    ("design tokens 어디서 해?", "where", "Design Tokens in Practice"),
    ("who gives the keynote?", "who", "Opening Keynote: Building Boring Software"),
    ("closing panel 누가 해?", "who", "Closing Panel: What We Would Do Differently"),
])
def test_session_questions_name_one_session(kb, question, intent, expected) -> None:
    f = found(kb, question)
    assert f is not None and f.intent == intent
    assert [s.title.get("en") for s in f.sessions] == [expected]


@pytest.mark.parametrize("question, speaker", [
    ("talks by Sofia Novak", "Sofia Novak"), ("when does Kenji Watanabe speak?", "Kenji Watanabe"),
    ("what is mara lindqvist talking about", "Mara Lindqvist"), ("Ines Carvalho 발표", "Ines Carvalho"),
    ("talks by amir hadad", "Amir Haddad"),
])
def test_talks_by_a_speaker(kb, question, speaker) -> None:
    f = found(kb, question)
    assert f is not None and f.intent == "talks_by" and f.speaker is not None
    assert f.speaker.name.get("en") == speaker
    assert f.sessions and all(f.speaker.id in s.speakers for s in f.sessions)


def test_now_in_a_room_follows_the_clock(kb) -> None:
    f = found(kb, "what's on in Hall A now", "2025-06-12T10:40")
    assert f is not None and (f.intent, f.place) == ("now", "Hall A")
    assert [s.title.get("en") for s in f.sessions] == ["Postgres Indexes Explained"]
    later = found(kb, "Hall A 지금 뭐해?", "2025-06-12T11:20")
    assert later is not None and [s.title.get("en") for s in later.sessions] == ["Rate Limiting at the Edge"]
    gap = found(kb, "what's on in hall a right now", "2025-06-12T11:05")  # between two talks
    assert gap is not None and gap.sessions == ()


def test_next_in_a_track_follows_the_clock(kb) -> None:
    f = found(kb, "what's next in backend", "2025-06-12T10:40")
    assert f is not None and (f.intent, f.place) == ("next", "Backend")
    assert [s.title.get("en") for s in f.sessions][0] == "Rate Limiting at the Edge"
    k = found(kb, "Frontend 다음 세션", "2025-06-13T09:40")
    assert k is not None and k.sessions[0].title.get("en") == "Design Tokens in Practice"
    assert all(s.track == "Frontend" for s in k.sessions)


@pytest.mark.parametrize("question", [
    "where is the toilet", "when is lunch", "what's next?", "what's on now", "wifi password",
    "when is the talk",  # names no session in particular
    "who organises this event?",
])
def test_other_questions_are_not_programme_questions(kb, question) -> None:
    assert found(kb, question) is None


# ---------------------------------------------------------------- the answers (Brain.ask)


def test_where_is_a_session_gives_its_card_not_the_venue(brain, kb) -> None:
    answer = brain.ask("where is the accessibility workshop", at(kb, "2025-06-12T10:40"))
    assert answer.outcome == "answer" and answer.entry == "session:hands-on-accessibility-testing-af4103"
    plain = answer.reply.doc.plain()
    assert plain.startswith("Hands-on Accessibility Testing") and "Workshop Room" in plain
    assert any(b.data == "sv:hands-on-accessibility-testing-af4103" for row in answer.reply.buttons for b in row)


def test_a_session_title_beats_a_faq_found_for_other_words(brain, kb) -> None:
    # the starter FAQ "when does the event start" shares only "when does … start" with the question
    question = "When does Postgres start?"
    assert brain.match(question).best.entry_id == "event-dates"  # the matcher alone would say so
    answer = brain.ask(question, at(kb, "2025-06-12T09:00"))
    assert answer.entry == "session:postgres-indexes-explained-448866"


def test_lists_carry_the_star_buttons(brain, kb) -> None:
    answer = brain.ask("what's on in the workshop room now", at(kb, "2025-06-12T10:40"))
    assert answer.outcome == "time"
    assert answer.reply.doc.plain().splitlines()[0].startswith("Now in Workshop Room")
    rows = [[b.data for b in row] for row in answer.reply.buttons]
    assert ["a:session:hands-on-accessibility-testing-af4103", "sv:hands-on-accessibility-testing-af4103"] in rows
    by = brain.ask("talks by Kenji Watanabe", at(kb, "2025-06-12T10:40"))
    assert by.outcome == "answer" and by.entry == "speaker:kenji-watanabe-56bd88"
    assert {"sv:hands-on-accessibility-testing-af4103", "sv:forms-that-work-for-everyone-c21966"} <= \
        {b.data for row in by.reply.buttons for b in row}
    none = brain.ask("what's on in hall b now", at(kb, "2025-06-12T11:05"))
    assert none.outcome == "time" and "Nothing is running in Hall B" in none.reply.doc.plain()


def test_wscw_answers_written_by_organisers_win() -> None:
    """The WSCW sessions have hand-written example questions: the matcher's entry stands."""
    wscw = Brain(load_knowledge(ROOT / "knowledge"), Matching())
    now = datetime.fromisoformat("2018-09-19T10:00:00+09:00")
    for question in ("해커톤을 언제 했었지", "when's the awards ceremony", "What did Sam Cassatt talk about?"):
        understood = wscw.programme.understand(question, now)
        assert understood is not None  # recognised as a programme question …
        outcome = wscw.match(question)
        assert not wscw.prefer_programme(understood, outcome), question  # … but the organisers' entry answers
        assert wscw.ask(question, now).entry == outcome.best.entry_id


# ---------------------------------------------------------------- through the real bot


@pytest.fixture
def emu():
    e = BotApiEmulator(token=TOKEN).start()
    yield e
    e.stop()


def test_e2e_where_is_the_accessibility_workshop(tmp_path, emu) -> None:
    cfg = replace(make_config(tmp_path, emu), knowledge_dir=DEVCONF, timezone=ZoneInfo("Europe/Amsterdam"))
    bot = BotRunner(cfg, frozen_clock(cfg, "2025-06-12T10:40")).start()
    try:
        user = Chat(emu, user_id=81301, lang="en")
        reply = user.say("where is the accessibility workshop")
        assert reply.params["text"].startswith("<b>Hands-on Accessibility Testing</b>")
        assert "Workshop Room" in reply.params["text"]
        assert "sv:hands-on-accessibility-testing-af4103" in [b.get("callback_data") for b in buttons(reply)]
        now = user.say("what's on in Hall A now")
        assert "Postgres Indexes Explained" in now.params["text"]
    finally:
        bot.stop()
