"""What every event's bot must do, run against two events (issue 13, item 7): the embedded WSCW 2018
knowledge (Korean and English) and the example event examples/devconf-2025/ (English-only, imported from
the project's own frab JSON). Each test is parametrised over both: the real bot (tests/harness.py) with
the event's own config, a clock frozen inside the event's dates and one shared Brain per event.

Expectations are read from each event's knowledge (its examples, days, sessions, contact, languages), so
the tests hold for any event; the event words of one event must not appear in the other's replies."""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from icalendar import Calendar

from bot import pages
from bot.agenda import ics_filename, uid_domain
from bot.broadcast import audiences, event_audience, parse_broadcast
from bot.knowledge import Knowledge
from bot.texts import text
from emulator import BotApiEmulator, Call
from handlers import commands
from harness import ROOT, STAFF, TOKEN, BotRunner, Chat, buttons, frozen_clock, make_config, shared_brain


@dataclass(frozen=True)
class Spec:
    config: Path
    when: str  # the frozen clock, event-local; "{start}" is the event's first day
    empty_pages: frozenset[str] = frozenset()  # menu pages this event has no content for
    foreign: tuple[str, ...] = ()  # words of the other event, never in this one's replies
    running: bool | None = None  # whether sessions run at `when` (/now lists them); None: not asserted


SPECS = {
    "wscw": Spec(ROOT / "config.yaml", "2018-09-19T10:00", foreign=("DevConf",)),
    "devconf": Spec(ROOT / "examples" / "devconf-2025" / "config.yaml", "{start}T10:40",
                    empty_pages=frozenset({"results"}), foreign=("WSCW", "wscw", "KINTEX", "킨텍스", "해커톤"),
                    running=True),
}
PAGE_COMMAND = {"sched": "schedule", "now": "now", "venue": "venue", "speakers": "speakers", "results": "results"}
_user_ids = itertools.count(82001)


@dataclass
class Event:
    name: str
    spec: Spec
    emu: BotApiEmulator
    bot: BotRunner
    kb: Knowledge
    users: list[Chat] = field(default_factory=list)

    def chat(self, lang: str = "en") -> Chat:
        return Chat(self.emu, user_id=next(_user_ids), lang=lang)

    def check_foreign(self, *texts: str) -> None:
        said = "\n".join(texts)
        assert not [w for w in self.spec.foreign if w in said], said


@pytest.fixture(scope="module", params=sorted(SPECS))
def ev(request, tmp_path_factory):
    spec = SPECS[request.param]
    emu = BotApiEmulator(token=TOKEN, bot_username="event_test_bot").start()
    cfg = make_config(tmp_path_factory.mktemp(request.param), emu, source=spec.config)
    kb = shared_brain(cfg).kb  # the same Brain the bot gets (harness.BotRunner shares it)
    assert cfg.timezone.key == kb.event.timezone.key
    when = spec.when.format(start=kb.event.start_date.isoformat())
    bot = BotRunner(cfg, frozen_clock(cfg, when)).start()
    yield Event(request.param, spec, emu, bot, kb)
    bot.stop()
    emu.stop()


def data_of(call: Call) -> list[str]:
    return [b.get("callback_data", "") for b in buttons(call)]


def menu_data(kb: Knowledge) -> list[str]:
    return [f"m:{key}" for key in pages.menu_keys(kb)]


def press_for_answer(chat: Chat, message: Call, data: str) -> Call:
    """Press button `data` of `message`; the bot's answerCallbackQuery call."""
    assert data in data_of(message), data_of(message)
    message_id = message.result["message_id"] if message.method == "sendMessage" else message.params["message_id"]
    qid = chat.emu.push_callback_query(chat.chat_id, chat.user_id, data, message_id, language_code=chat.lang)
    return chat.emu.wait_for(lambda c: c.method == "answerCallbackQuery"
                             and str(c.params.get("callback_query_id")) == qid, timeout=8)[-1]


# ---------------------------------------------------------------- greeting, help, menus


def test_start_greets_with_the_events_examples_and_menu_for_its_content(ev) -> None:
    assert {key for key in pages.MENU if key not in pages.menu_keys(ev.kb)} == ev.spec.empty_pages
    for lang in ev.kb.event.languages:
        reply = ev.chat(lang).say("/start")
        said = reply.params["text"]
        assert html.escape(ev.kb.event.name.get(lang), quote=False) in said
        examples = pages.welcome_examples(ev.kb, lang)
        assert examples and all(html.escape(q, quote=False) in said for q in examples), said
        assert data_of(reply) == menu_data(ev.kb)
        assert not {f"m:{key}" for key in ev.spec.empty_pages} & set(data_of(reply))
        ev.check_foreign(said, str(buttons(reply)))


def test_help_lists_the_commands_the_event_has_content_for(ev) -> None:
    for lang in ev.kb.event.languages:
        said = ev.chat(lang).say("/help").params["text"]
        listed = [name for line in commands.help_lines(lang, ev.kb) for name, _ in line]
        assert listed and all(f"/{name}" in said for name in listed), said
        assert all(f"/{PAGE_COMMAND[key]}" not in said for key in ev.spec.empty_pages)
        assert ("/lang" in said) == (len(ev.kb.event.languages) > 1)
        assert ("Korean" in said or "영어" in said) == (len(ev.kb.event.languages) > 1)  # the languages it reads
        ev.check_foreign(said)


def test_command_menus_in_the_events_languages_only(ev) -> None:
    menus = [c for c in ev.emu.calls if c.method == "setMyCommands" and "scope" not in c.params]
    assert {c.params.get("language_code") for c in menus if c.params.get("language_code")} == set(ev.kb.event.languages)
    for call in menus:
        names = {cmd["command"] for cmd in call.params["commands"]}
        assert "start" in names and "help" in names
        assert not {PAGE_COMMAND[key] for key in ev.spec.empty_pages} & names
        assert ("lang" in names) == (len(ev.kb.event.languages) > 1)


# ---------------------------------------------------------------- programme: day pages, ☆ → /my, /now


def test_schedule_day_pages_and_a_star_lands_in_my_agenda(ev) -> None:
    chat = ev.chat("en")
    page = chat.say("/schedule")
    days = [d for d in data_of(page) if d.startswith("d:")]
    assert days == [f"d:{d.isoformat()}" for d in ev.kb.event.days]
    today = ev.bot.core.now().date()
    shown = None
    for d in ev.kb.event.days:
        shown = chat.press(shown or page, f"d:{d.isoformat()}")[-1]
        sessions = ev.kb.sessions_on(d)
        assert sessions, f"no session on {d}"
        labels = [b["text"] for b in buttons(shown)]
        assert all(s.title.get("en") in labels for s in sessions), (d, labels)
        assert all(f"sv:{s.id}" in data_of(shown) for s in sessions)
        ev.check_foreign(shown.params["text"], str(labels))
        if d == today:
            break
    assert shown is not None
    session = next(s for s in ev.kb.sessions_on(today) if s.start) if any(s.start for s in ev.kb.sessions_on(today)) \
        else ev.kb.sessions_on(today)[0]
    ack = press_for_answer(chat, shown, f"sv:{session.id}")
    assert ack.ok and session.id in ev.bot.core.store.agenda(chat.user_id)
    my = chat.say("/my").params["text"]
    assert html.escape(session.title.get("en"), quote=False) in my


def test_now_follows_the_events_clock(ev) -> None:
    now = ev.bot.core.now()
    said = ev.chat("en").say("/now").params["text"]
    assert f"{now:%H:%M}" in said
    running = [s for s in ev.kb.sessions_on(now.date())
               if s.start and s.start <= now.time() and (s.end is None or now.time() < s.end)]
    assert ev.spec.running is None or bool(running) == ev.spec.running
    assert all(html.escape(s.title.get("en"), quote=False) in said for s in running)
    if not running:
        assert text("now_none", "en") in said
    ev.check_foreign(said)


# ---------------------------------------------------------------- questions


def test_an_faq_question_is_answered(ev) -> None:
    entry = ev.kb.faq[0]
    for lang in ev.kb.event.languages:
        question = getattr(entry.questions, lang)[0]
        said = ev.chat(lang).say(question).params["text"]
        first = entry.answer.get(lang).strip().splitlines()[0]
        assert html.escape(first[:40], quote=False) in said, said


def test_an_unknown_question_gets_an_honest_no_with_the_events_contact(ev) -> None:
    chat = ev.chat("en")
    reply = chat.say("do penguins like jazz")
    said = reply.params["text"]
    assert html.escape(pages.contact_line(ev.kb, "en"), quote=False) in said
    assert data_of(reply) == menu_data(ev.kb)  # only the pages this event has content for
    ev.check_foreign(said)
    kept = ev.bot.core.store.unanswered(ev.bot.core.now().replace(year=ev.bot.core.now().year - 1))
    assert "do penguins like jazz" in [row["text"] for row in kept]  # kept for the organisers


def test_inline_query_finds_a_session(ev) -> None:
    title = ev.kb.sessions[0].title.get("en")
    since = len(ev.emu.calls)
    ev.emu.push_inline_query(next(_user_ids), title, language_code="en")
    call = ev.emu.wait_for("answerInlineQuery", since=since)[0]
    results = call.params["results"]
    assert call.ok and any(title in r["title"] for r in results), [r["title"] for r in results]
    ev.check_foreign(*(r["title"] for r in results))


# ---------------------------------------------------------------- calendar file


def test_ics_file_uses_the_events_uid_domain_and_zone(ev) -> None:
    doc = ev.chat("en").send("/ics", methods=("sendDocument",))[-1].params["document"]
    assert doc.filename == ics_filename(ev.kb)
    cal = Calendar.from_ical(doc.data)
    uids = {str(e["UID"]) for e in cal.walk("VEVENT")}
    assert uids and all(u.endswith(f"@{uid_domain(ev.kb)}") for u in uids)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [ev.kb.event.timezone.key]
    ev.check_foreign(doc.filename, *uids)


# ---------------------------------------------------------------- languages


def test_lang_offers_only_the_events_languages(ev) -> None:
    langs = ev.kb.event.languages
    chat = ev.chat("ko")
    for command in ("/lang", "/lang fr"):
        reply = chat.say(command)
        if len(langs) > 1:
            assert data_of(reply) == [f"lang:{code}" for code in langs]
        else:
            assert reply.params["text"] == text("lang_only", langs[0]) and not buttons(reply)
    other = next((code for code in ("ko", "en") if code not in langs), None)
    if other:  # a language the event does not speak is never chosen
        chat.say(f"/lang {other}")
        assert ev.bot.core.store.chosen_lang(chat.user_id) is None


# ---------------------------------------------------------------- staff announcements


def test_broadcast_audiences_are_the_events_languages(ev) -> None:
    langs = ev.kb.event.languages
    staff = Chat(ev.emu, user_id=STAFF, lang="en")
    usage = staff.say("/broadcast").params["text"]
    assert f"/broadcast [{'|'.join(audiences(langs))}]" in usage
    examples = [line for line in usage.splitlines() if line.startswith(("KO:", "EN:"))]
    assert examples == [text(f"staff.broadcast_example_{code}", "en") for code in langs]
    for code in ("ko", "en"):
        reply = staff.say(f"/broadcast {code}\nKO: 3홀 입구 변경\nEN: Hall 3 entrance moved")
        if code not in langs:
            assert f"'{code}'" in reply.params["text"] and not buttons(reply)
            continue
        expected = code if len(langs) > 1 else "all"  # a single-language event's language is everyone
        assert f"audience: <b>{expected}</b>" in reply.params["text"]
    both = staff.say("/broadcast\nKO: 3홀 입구 변경\nEN: Hall 3 entrance moved").params["text"]
    assert "audience: <b>all</b>" in both and "Hall 3 entrance moved" in both


def test_broadcast_parsing_and_event_audiences() -> None:
    assert parse_broadcast("/broadcast ko\nKO: 안내\nEN: Notice") == ("ko", "안내", "Notice")
    assert parse_broadcast("/broadcast@my_bot\nEN: Notice\nKO: 안내") == ("all", "안내", "Notice")
    assert parse_broadcast("/broadcast Doors open") == ("all", "Doors open", "Doors open")
    assert audiences(("ko", "en")) == ("all", "ko", "en") and audiences(("en",)) == ("all",)
    assert event_audience("ko", ("ko", "en")) == "ko" and event_audience("all", ("en",)) == "all"
    assert event_audience("en", ("en",)) == "all" and event_audience("ko", ("en",)) is None


def test_the_two_events_differ(real_brain) -> None:
    """Another language set, another time zone, another UID domain: the suite does not lean on one event."""
    from bot.knowledge import load_knowledge

    wscw = real_brain.kb
    devconf = load_knowledge(SPECS["devconf"].config.parent / "knowledge")
    assert wscw.event.languages == ("ko", "en") and devconf.event.languages == ("en",)
    assert wscw.event.timezone.key != devconf.event.timezone.key and uid_domain(wscw) != uid_domain(devconf)
