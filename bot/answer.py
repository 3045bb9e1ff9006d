"""Question → reply: the one place where a typed question becomes an answer.

`Brain` holds one knowledge base and its index (immutable; a reload builds a new Brain and swaps the
reference, so a question in flight finishes on the old one). `ask()` picks the reply language, answers
time questions (now/next/today/tomorrow) from the clock, otherwise asks the matcher, renders the
outcome and reports unanswered questions to a sink (the store, or a list in tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot import normalize as N
from bot import pages
from bot.config import Matching
from bot.knowledge import Knowledge, load_knowledge
from bot.render import Button, Doc, Reply, render_entry
from bot.search import Index, Match, Result

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
    outcome: str  # answer | ambiguous | none | time | empty | too_long
    reply: Reply
    entry: str | None = None
    score: float | None = None
    candidates: list[str] = field(default_factory=list)


# Time questions: a time word plus nothing that names something specific.
_TIME_WORDS = {
    "now": ("지금", "현재", "now", "right now", "currently", "ongoing", "happening"),
    "next": ("다음", "이따", "곧", "next", "upcoming", "later", "coming up"),
    "today": ("오늘", "today", "tonight"),
    "tomorrow": ("내일", "tomorrow"),
    "yesterday": ("어제", "yesterday"),
}
_GENERIC = set("""뭐 뭔 뭐해 뭐하 뭐있 뭐야 뭐지 무슨 어떤 일정 프로그램 행사 있 하 해 진행 중 세션 순서 시간 이벤트
what whats what's is are on the schedule programme program agenda sessions session events event going happening
s next now today tomorrow yesterday up coming there any else left 열리 열려 하는 있어 있나 있나요 뭐있어 뭐함""".split())


def time_intent(text: str) -> str | None:
    words = N.normalize(text).split()
    if not words or len(words) > 7:
        return None
    joined = " ".join(words)
    found = None
    for intent, keys in _TIME_WORDS.items():
        if any(re.search(rf"(^|\s){re.escape(k)}", joined) for k in keys):
            found = found or intent
    if not found:
        return None
    time_keys = {k for keys in _TIME_WORDS.values() for k in keys}
    rest = [w for w in words if not any(w.startswith(k) for k in time_keys) and w not in _GENERIC]
    return found if not rest else None


class Brain:
    def __init__(self, kb: Knowledge, matching: Matching, sink: UnansweredSink | None = None) -> None:
        self.kb = kb
        self.index = Index(kb, matching)
        self.sink = sink

    @classmethod
    def load(cls, directory: Path, matching: Matching, sink: UnansweredSink | None = None) -> "Brain":
        return cls(load_knowledge(directory), matching, sink)

    def language(self, text: str, preferred: str | None) -> str:
        if preferred in ("ko", "en"):
            return preferred
        return N.detect_lang(text) or "en"

    def ask(self, text: str, now: datetime, lang: str | None = None, saved: frozenset[str] = frozenset()) -> Answer:
        """Answer `text`. `lang` is the user's chosen language (None: the question's); `saved` are the
        session ids in the user's agenda (for the ☆/★ buttons)."""
        text = text or ""
        lang = self.language(text, lang)
        if len(text) > MAX_QUESTION:
            return Answer(text, lang, "too_long", Reply(Doc().add(pages.msg("too_long", lang))))
        if not N.clean(text):
            return Answer(text, lang, "empty", Reply(Doc().add(pages.msg("empty", lang)), pages.menu_buttons(lang)))
        intent = time_intent(text)
        if intent:
            return Answer(text, lang, "time", self.time_reply(intent, now, lang, saved))
        result = self.index.search(text)
        return self.from_result(text, lang, result, now, saved)

    def from_result(self, text: str, lang: str, result: Result, now: datetime,
                    saved: frozenset[str] = frozenset()) -> Answer:
        ids = [c.entry_id for c in result.candidates]
        best = result.best
        if result.outcome == "answer" and best:
            return Answer(text, lang, "answer", self.entry_reply(best.entry_id, lang, saved), best.entry_id,
                          best.score, ids)
        if result.outcome == "ambiguous":
            return Answer(text, lang, "ambiguous", self.did_you_mean(result.candidates, lang), None,
                          best.score if best else None, ids)
        if self.sink is not None:
            self.sink.record_unanswered(text, lang, ids, now)
        doc = Doc().add(pages.msg("not_found", lang, contact=pages.contact_line(self.kb, lang)))
        return Answer(text, lang, "none", Reply(doc, pages.menu_buttons(lang)), None,
                      best.score if best else None, ids)

    def entry_reply(self, entry_id: str, lang: str, saved: frozenset[str] = frozenset()) -> Reply:
        entry = self.kb.entry(entry_id)
        if entry is None:
            return pages.home(self.kb, lang)
        doc = render_entry(self.kb, entry, lang)
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

    def did_you_mean(self, candidates: tuple[Match, ...], lang: str) -> Reply:
        rows = []
        for c in candidates[:3]:
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
