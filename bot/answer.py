"""Question → reply: the one place where a typed question becomes an answer.

`Brain` holds one knowledge base and its index (immutable; a reload builds a new Brain and swaps the
reference, so a question in flight finishes on the old one). `ask()` reads the question once into a
`Query` (bot/search.py), picks the reply language, answers time questions (now/next/today/tomorrow)
from the clock, otherwise ranks the entries and `decide`s, renders the outcome and reports unanswered
questions to a sink (the store, or a list in tests). `Brain.load` reads the index from the on-disk
cache when nothing it depends on changed (bot/cache.py).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot import coverage, followup, pages
from bot import normalize as N
from bot.cache import IndexCache, cache_key, load_knowledge_once
from bot.config import Config, Matching
from bot.followup import Topic
from bot.knowledge import Entry, Knowledge, day_label
from bot.programme import Found, Programme
from bot.programme import reply as programme_reply
from bot.programme import words as programme_words
from bot.render import Button, Doc, Reply, render_entry
from bot.search import CANDIDATES, LIGHT, OTHER_EDITION, Index, Outcome, Query, Ranked, decide
from bot.smalltalk import small_talk
from bot.texts import pick_lang

MAX_QUESTION = 1000  # characters; longer messages are refused politely


class UnansweredSink(Protocol):
    def record_unanswered(self, text: str, lang: str, candidates: list[str], when: datetime) -> None: ...


@dataclass
class MemorySink:
    items: list[tuple[str, str, list[str], datetime]] = field(default_factory=list)

    def record_unanswered(self, text: str, lang: str, candidates: list[str], when: datetime) -> None:
        self.items.append((text, lang, candidates, when))


@dataclass
class Answer:
    question: str
    lang: str
    outcome: str  # answer | list | ambiguous | none | time | smalltalk | empty | too_long
    reply: Reply
    entry: str | None = None
    score: float | None = None
    candidates: list[str] = field(default_factory=list)
    follow_up: bool = False  # answered about the chat's previous topic (bot/followup.py)

    def topic(self, previous: Topic | None, now: datetime) -> Topic | None:
        """The chat's topic after this answer: the entry a question of its own was answered with; a
        follow-up keeps the subject ("해커톤 알려줘" → "수상자는?" → "그럼 장소는?" are all about the
        hackathon) and refreshes it; anything else leaves the topic as it was."""
        if self.follow_up and previous is not None:
            return Topic(previous.entry_id, now)
        return Topic(self.entry, now) if self.entry and self.outcome == "answer" else previous


# Time and date questions: a time word (지금, tomorrow…) or a day of the event (19일, Wednesday, the
# 20th, 첫날…) plus nothing but generic schedule words — nothing that names something specific.
_TIME_WORDS = {
    "now": ("지금", "현재", "요즘", "now", "currently", "ongoing", "moment", "right now"),
    "next": ("다음", "이따", "곧", "이후", "next", "upcoming", "later", "soon"),
    "today": ("오늘", "today", "tonight"),
    "tomorrow": ("내일", "tomorrow"),
    "yesterday": ("어제", "yesterday"),
}
_GENERIC_RAW = """일정 스케줄 프로그램 세션 행사 이벤트 순서 시간표 시간 진행 진행중 중 중인 뭐뭐 뭐해 뭐함 하는 들을 볼 보 갈
열리 열려 열리는 있는 하고 할 만한 만 거 것 뭘 뭐가 날 날엔 날에는 에는 에 엔 때 은 는 이 가 일 전체
schedule programme program agenda session sessions event events plan plans planned happening happen going
on up coming come comes see attend visit do doing there anything everything else left what's whats day s
"""
_WEEKDAYS = {"월": 0, "화": 1, "수": 2, "목": 3, "금": 4, "토": 5, "일": 6, "monday": 0, "tuesday": 1,
             "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6, "mon": 0, "tue": 1,
             "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6}
_ORDINAL_DAY = {"첫날": 0, "첫째날": 0, "첫째 날": 0, "첫 날": 0, "둘째날": 1, "둘째 날": 1, "셋째날": 2, "셋째 날": 2,
                "마지막날": -1, "마지막 날": -1, "first day": 0, "second day": 1, "third day": 2, "last day": -1,
                "final day": -1, "day 1": 0, "day 2": 1, "day 3": 2, "day one": 0, "day two": 1, "day three": 2}
_DATE_PATTERNS = [
    re.compile(r"(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일"),
    re.compile(r"(?P<m>\d{1,2})\s*[/.]\s*(?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?:sept?(?:ember)?\.?)\s*(?P<d>\d{1,2})(?:st|nd|rd|th)?", re.I),
    re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s*(?:of\s+)?sept?(?:ember)?", re.I),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})\s*(?:일|st|nd|rd|th)(?![가-힣a-z])", re.I),
]
_DATE_WORDS = re.compile(r"\d+\s*(?:월|일|st|nd|rd|th)?|sept?(?:ember)?|첫째|둘째|셋째|마지막|첫|final|first|second|third|last|"
                         r"[월화수목금토일]요일|monday|tuesday|wednesday|thursday|friday|saturday|sunday", re.I)


def _normalised_set(raw: str) -> frozenset[str]:
    out = set()
    for w in raw.split():
        out.add(w)
        out.update(N.normalize(w).split())
    return frozenset(out)


_GENERIC = _normalised_set(_GENERIC_RAW) | LIGHT
_TIME_KEYS = tuple(sorted({k for keys in _TIME_WORDS.values() for k in keys}, key=len, reverse=True))


def _query(question: Query | str) -> Query:
    return question if isinstance(question, Query) else Query.parse(question)


def event_day(question: Query | str, days: tuple[date, ...]) -> date | None:
    """The day of the event a question names (9월 19일, 19일, the 20th, Wednesday, 첫날, last day…)."""
    lowered = _query(question).lowered
    for key, index in _ORDINAL_DAY.items():
        if key in lowered:
            return days[index]
    for pattern in _DATE_PATTERNS:
        m = pattern.search(lowered)
        if m:
            month = int(m.groupdict().get("m") or days[0].month)
            day = int(m.group("d"))
            hit = [d for d in days if (d.month, d.day) == (month, day)]
            if hit:
                return hit[0]
    m = re.search(r"([월화수목금토일])요일|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues?|wed|thu(?:rs?)?)\b", lowered)
    if m:
        weekday = _WEEKDAYS[m.group(1) or m.group(2)]
        hit = [d for d in days if d.weekday() == weekday]
        if hit:
            return hit[0]
    return None


def generic_rest(question: Query | str) -> bool:
    """True if, without time and date words, the question only has generic schedule words left."""
    lowered = _query(question).lowered
    for key in _TIME_KEYS:
        lowered = lowered.replace(key, " ")
    for key in _ORDINAL_DAY:
        lowered = lowered.replace(key, " ")
    lowered = _DATE_WORDS.sub(" ", lowered)
    return all(w in _GENERIC for w in N.normalize(lowered).split())  # what is left, read by the same rules


def time_intent(question: Query | str, generic: bool | None = None) -> str | None:
    """'now' | 'next' | 'today' | 'tomorrow' | 'yesterday' when the question is only about that time.
    `generic`: :func:`generic_rest` of the question, if already known."""
    query = _query(question)
    words = query.rules
    if not words or len(words) > 8:
        return None
    joined = " " + " ".join(words) + " "
    lowered = " " + query.lowered + " "
    for intent, keys in _TIME_WORDS.items():
        if any(f" {k}" in joined or f" {k}" in lowered for k in keys):
            return intent if (generic_rest(query) if generic is None else generic) else None
    return None


# List questions ("speaker list", "연사 누구누구야", "who are the speakers", "전시관 목록"): a category word
# and a list word (or an English plural with who/which), nothing else specific → that menu page.
_LIST_WORDS = _normalised_set("목록 리스트 명단 누구누구 어디어디 뭐뭐 전체 전부 모두 다 list lists all every lineup line-up full")
_LIST_CATEGORIES = {
    "speakers": _normalised_set("연사 연사들 발표자 발표자들 스피커 강연자 연사진 speaker speakers presenter presenters"),
    "venue": _normalised_set("전시관 파빌리온 관 pavilion pavilions"),
    "sched": _normalised_set("세션 세션들 session sessions talks"),
}
_LIST_PLURALS = {"speakers": "speakers", "pavilions": "venue", "sessions": "sched", "talks": "sched"}
_LIST_ASKING = _normalised_set("who which what 누구 누가")


def list_page(question: Query | str, kb: Knowledge) -> str | None:
    """The menu page (bot/pages.py) a list question asks for, if the event has it, else None."""
    words = _query(question).rules
    if not words or len(words) > 8:
        return None
    pages_named = {name for w in words for name, cat in _LIST_CATEGORIES.items() if w in cat}
    listing = any(w in _LIST_WORDS for w in words) or any(
        w in _LIST_ASKING for w in words) and any(w in _LIST_PLURALS for w in words)
    known = _LIST_WORDS | _LIST_ASKING | _GENERIC | frozenset().union(*_LIST_CATEGORIES.values())
    if len(pages_named) != 1 or not listing or not all(w in known for w in words):
        return None
    name = pages_named.pop()
    return name if name in pages.menu_keys(kb) else None


class Brain:
    def __init__(self, kb: Knowledge, matching: Matching, sink: UnansweredSink | None = None,
                 index: Index | None = None) -> None:
        self.kb = kb
        self.matching = matching
        self.index = index if index is not None else Index(kb, matching)
        self.sink = sink

    @classmethod
    def load(cls, directory: Path, matching: Matching, sink: UnansweredSink | None = None,
             cache_dir: Path | None = None) -> Brain:
        """Load and check the knowledge base (KnowledgeError if it is wrong) and build its index, or read
        the index from `cache_dir` when the same files were indexed with the same settings and code."""
        kb, digest = load_knowledge_once(directory)
        if cache_dir is None or digest is None:
            return cls(kb, matching, sink)
        cache = IndexCache(cache_dir)
        key = cache_key(digest, matching)
        index = cache.get(key)
        if index is not None:
            return cls(kb, matching, sink, index.attach(kb, matching))
        brain = cls(kb, matching, sink)
        cache.put(key, brain.index)
        return brain

    @classmethod
    def from_config(cls, config: Config, sink: UnansweredSink | None = None) -> Brain:
        """`load` with the configured knowledge folder and matching, cached in ``<data_dir>/cache``."""
        return cls.load(config.knowledge_dir, config.matching, sink, cache_dir=config.data_dir / "cache")

    def parse(self, text: str) -> Query:
        """The question read once, by this brain's index (see :class:`bot.search.Query`)."""
        return Query.parse(text, self.index)

    def language(self, query: Query, preferred: str | None) -> str:
        return self.kb.event.reply_lang(pick_lang(preferred, query.lang))

    def match(self, question: Query | str) -> Outcome:
        """What the matcher makes of a question: another edition, or :func:`decide` on its ranking."""
        query = question if isinstance(question, Query) else self.parse(question)
        if query.other_time:  # whatever it would match: the knowledge base describes one edition
            return OTHER_EDITION
        ranked = self.index.rank(query, limit=CANDIDATES)
        if ranked and (self.index.near_miss(query) or not self.index.says_anything(query)):
            return Outcome("none", tuple(ranked), reason="near_miss")  # only like the knowledge: honest, not a guess
        return decide(ranked, self.matching)

    def ask(self, text: str, now: datetime, lang: str | None = None, saved: frozenset[str] = frozenset(),
            topic: Topic | None = None) -> Answer:
        """Answer `text`. `lang` is the user's chosen language (None: the question's); `saved` are the
        session ids in the user's agenda (for the ☆/★ buttons); `topic` is what the chat was last
        talking about (bot/followup.py), for follow-ups such as "그럼 언제야?"."""
        text = text or ""
        if len(text) > MAX_QUESTION:  # refused before anything reads it
            lang = self.kb.event.reply_lang(lang if lang in ("ko", "en") else N.detect_lang(text) or "en")
            return Answer(text, lang, "too_long", Reply(Doc().add(pages.msg("too_long", lang))))
        query = self.parse(text)
        lang = self.language(query, lang)
        if not query.cleaned:
            return Answer(text, lang, "empty", Reply(Doc().add(pages.msg("empty", lang)), pages.menu_buttons(lang, self.kb)))
        chat = small_talk(text)
        if chat is not None:  # hi / thanks / bye / who are you / help: a friendly reply, not a search
            return Answer(text, lang, "smalltalk", self.small_talk_reply(chat, lang))
        if topic is not None and topic.fresh(now):
            answer = self.follow_up(text, query, lang, topic, now, saved)
            if answer is not None:
                return answer
        return self.answer(text, query, lang, now, saved)

    def answer(self, text: str, query: Query, lang: str, now: datetime, saved: frozenset[str] = frozenset(),
               record: bool = True) -> Answer:
        """A question on its own (no small talk, no follow-up): time and day questions from the clock,
        list questions with the list, otherwise the matcher's outcome or a programme answer, and the
        honest reply to practical questions no entry is written for (bot/coverage.py). `record`: report
        an unanswered question to the sink."""
        generic = generic_rest(query)
        intent = time_intent(query, generic)
        if intent:
            return Answer(text, lang, "time", self.time_reply(intent, now, lang, saved))
        day = event_day(query, self.kb.event.days)
        if day is not None and len(text) <= 80 and generic:
            entry_id = f"day:{day.isoformat()}"
            return Answer(text, lang, "answer", self.entry_reply(entry_id, lang, saved, now), entry_id, 100.0,
                          [entry_id])
        listing = list_page(query, self.kb)
        if listing is not None:
            reply = pages.page(self.kb, listing, lang, now, saved)
            if reply is not None:
                return Answer(text, lang, "list", reply, f"page:{listing}", 100.0)
        outcome = self.match(query)
        found = self.programme.understand(text, now) if outcome.reason != "other_time" else None
        programme = found is not None and self.prefer_programme(found, outcome)
        if programme and found is not None:
            best = self.kb.entry(f"session:{found.sessions[0].id}") if found.sessions else None
            sure = False
        else:
            best = self.kb.entry(outcome.best.entry_id) if outcome.best and outcome.kind != "none" else None
            sure = outcome.kind == "answer"
        missing = coverage.uncovered(text, best, self.place_names, sure=sure)
        if missing is not None:  # "Is there parking?" and no entry is written for parking
            return self.reply_to(text, lang, Outcome("none", outcome.candidates, reason="not_covered"), now, saved,
                                 record, topic=missing)
        if programme and found is not None:
            return self.programme_answer(text, lang, found, now, saved)
        return self.reply_to(text, lang, outcome, now, saved, record)

    def follow_up(self, text: str, query: Query, lang: str, topic: Topic, now: datetime,
                  saved: frozenset[str] = frozenset()) -> Answer | None:
        """A short question about the chat's topic ("그럼 장소는?", "who won?", "그 사람 누구야?"), answered
        about it; None when the question is not a follow-up or the topic does not answer it."""
        kind = followup.aspect(query.rules)
        entry = self.kb.entry(topic.entry_id)
        if kind is None or entry is None:
            return None
        if kind == "person":
            speaker = followup.speaker_of(self.kb, entry)
            if speaker is not None:
                return Answer(text, lang, "answer", self.entry_reply(speaker, lang, saved, now), speaker, 100.0,
                              [speaker], follow_up=True)
            kind = "who"
        if kind in ("when", "where") and entry.kind not in followup.SELF_ANSWERING:
            session = self.session_of(entry)  # "해커톤 알려줘" → "그럼 장소는?": the hackathon's session card
            if session is not None:
                return Answer(text, lang, "answer", self.entry_reply(session, lang, saved, now), session, 100.0,
                              [session], follow_up=True)
        rewritten = followup.about(text, entry, lang)
        inner = self.answer(rewritten, self.parse(rewritten), lang, now, saved, record=False)
        if inner.outcome in ("answer", "time") and (inner.entry is None or self.kb.entry(inner.entry) is not None):
            return dataclasses.replace(inner, question=text, follow_up=True)
        if kind in followup.SELF_ANSWERING.get(entry.kind, ()):  # the card already says when, where, who
            return Answer(text, lang, "answer", self.entry_reply(entry.id, lang, saved, now), entry.id, 100.0,
                          [entry.id], follow_up=True)
        return None

    def session_of(self, entry: Entry) -> str | None:
        """The session an entry (a FAQ entry, an award) is about — the one session related to it
        (:meth:`bot.search.Index.related`), or of several the one its title ranks best: where a follow-up
        asking when or where finds the time and the place."""
        related = [e.id for e in self.kb.entries if e.kind == "session" and self.index.related(entry.id, e.id)]
        if len(related) <= 1:
            return related[0] if related else None
        ranked = self.index.rank(self.parse(entry.title.ko or entry.title.en), limit=None)
        return next((r.entry_id for r in ranked if r.entry_id in related), None)

    @functools.cached_property
    def place_names(self) -> tuple[str, ...]:
        return coverage.place_names(self.kb)

    def small_talk_reply(self, kind: str, lang: str) -> Reply:
        """Greetings and help: the welcome (what to ask, and the menu); thanks, bye, who: one line + menu."""
        if kind in ("greeting", "help"):
            return pages.welcome(self.kb, lang)
        return Reply(Doc().add(pages.msg(f"smalltalk.{kind}", lang, name=self.kb.event.name.get(lang))),
                     pages.menu_buttons(lang, self.kb))

    @functools.cached_property
    def programme(self) -> Programme:
        """The sessions indexed for programme questions (bot/programme.py), built at the first question."""
        return Programme(self.kb)

    def prefer_programme(self, found: Found, outcome: Outcome) -> bool:
        """Does a programme answer (from the structured facts) replace the matcher's outcome? Yes when the
        matcher is unsure, or sure only of a generated entry (an imported session, room or speaker). When
        it is sure of an entry the organisers wrote example questions for, their entry wins if it speaks
        of what the question names ("해커톤 언제" → the hackathon FAQ), not if it was found for the
        question's other words ("when does <a title> start" → not the event's dates)."""
        best = outcome.best
        if outcome.kind != "answer" or best is None:
            return True
        entry = self.kb.entry(best.entry_id)
        if entry is None:
            return True
        own = getattr(entry.ref, "questions", None)
        if entry.kind != "faq" and not (own is not None and own.all()):
            return True
        said = " ".join([*entry.questions.all(), *(entry.title.get(x) for x in self.kb.event.languages),
                         *entry.keywords, *entry.facts()])
        return not set(found.named) & set(programme_words(said))

    def programme_answer(self, text: str, lang: str, found: Found, now: datetime,
                         saved: frozenset[str] = frozenset()) -> Answer:
        """The answer to a programme question: the session's card (when / where / who), the speaker's
        sessions, or what runs now / comes next in a room or track (from the clock)."""
        score = round(found.score * 100, 1)
        if found.intent in ("when", "where", "who"):
            entry_id = f"session:{found.sessions[0].id}"
            return Answer(text, lang, "answer", self.entry_reply(entry_id, lang, saved), entry_id, score, [entry_id])
        reply = programme_reply(self.kb, found, now, lang, saved)
        if found.intent == "talks_by":
            return Answer(text, lang, "answer", reply, reply.entry_id, score, [reply.entry_id or ""])
        return Answer(text, lang, "time", reply, None, score)

    def reply_to(self, text: str, lang: str, outcome: Outcome, now: datetime,
                 saved: frozenset[str] = frozenset(), record: bool = True, topic: str | None = None) -> Answer:
        """The answer for a matcher outcome (an unanswered question is reported to the sink when
        `record`). `topic`: the practical topic the knowledge base has nothing on (bot/coverage.py)."""
        ids = [c.entry_id for c in outcome.candidates]
        best = outcome.best
        if outcome.kind == "answer" and best:
            return Answer(text, lang, "answer", self.entry_reply(best.entry_id, lang, saved, now), best.entry_id,
                          best.score, ids)
        if outcome.kind == "ambiguous":
            return Answer(text, lang, "ambiguous", self.did_you_mean(outcome.candidates, lang), None,
                          best.score if best else None, ids)
        if self.sink is not None and record:
            self.sink.record_unanswered(text, lang, ids, now)
        if topic is not None:
            doc = Doc().add(pages.msg("not_covered", lang, topic=pages.msg(f"topic.{topic}", lang),
                                      contact=pages.contact_line(self.kb, lang)))
        elif outcome.reason == "other_time":
            ev = self.kb.event
            dates = f"{day_label(ev.start_date, lang)} – {day_label(ev.end_date, lang)}"
            doc = Doc().add(pages.msg("other_edition", lang, event=ev.name.get(lang), dates=dates,
                                      contact=pages.contact_line(self.kb, lang)))
        else:
            doc = Doc().add(pages.msg("not_found", lang, contact=pages.contact_line(self.kb, lang)))
        return Answer(text, lang, "none", Reply(doc, pages.menu_buttons(lang, self.kb)), None,
                      best.score if best else None, ids)

    def entry_reply(self, entry_id: str, lang: str, saved: frozenset[str] = frozenset(),
                    now: datetime | None = None) -> Reply:
        """The answer of one entry as it reads at `now` (default: the real time; see render_entry)."""
        entry = self.kb.entry(entry_id)
        if entry is None:
            return pages.home(self.kb, lang)
        doc = render_entry(self.kb, entry, lang, now)
        buttons: list[list[Button]] = []
        location = None
        if entry.kind == "venue" and entry.ref.latitude is not None and entry.ref.longitude is not None:
            v = entry.ref
            location = (v.latitude, v.longitude, v.name.get(lang), v.address.get(lang) if v.address else "")
        if entry.kind == "day":
            buttons = pages.day(self.kb, entry.ref, lang, saved).buttons
        elif entry.kind == "session":
            buttons = [[pages.star(entry.ref.id, entry.ref.id in saved, lang, label=True)], pages.back_row(lang)]
        else:
            buttons = [pages.back_row(lang)]
        return Reply(doc, buttons, location=location, entry_id=entry_id)

    def did_you_mean(self, candidates: tuple[Ranked, ...], lang: str) -> Reply:
        rows = []
        for c in candidates[:CANDIDATES]:
            entry = self.kb.entry(c.entry_id)
            if entry:
                rows.append([Button(entry.title.get(lang)[:60], data=f"a:{entry.id}")])
        return Reply(Doc().add(pages.msg("did_you_mean", lang)), rows + [pages.back_row(lang)])

    def time_reply(self, intent: str, now: datetime, lang: str, saved: frozenset[str] = frozenset()) -> Reply:
        tz = self.kb.event.timezone
        local = now.astimezone(tz)
        if intent in ("now", "next"):
            return pages.now_next(self.kb, local, lang, saved)
        shift = {"today": 0, "tomorrow": 1, "yesterday": -1}[intent]
        day = (local + timedelta(days=shift)).date()
        if self.kb.event.start_date <= day <= self.kb.event.end_date:
            return pages.day(self.kb, day, lang, saved)
        return _outside(self.kb, day, lang)


def _outside(kb: Knowledge, day: date, lang: str) -> Reply:
    if day < kb.event.start_date:
        text = pages.msg("before", lang, start=pages.day_label(kb.event.start_date, lang))
    else:
        text = pages.msg("after", lang, end=pages.day_label(kb.event.end_date, lang))
    return Reply(Doc().add(text), pages.schedule(kb, lang).buttons)
