"""Programme questions answered from the structured facts, without hand-written phrasings.

For an imported programme of hundreds of talks nobody writes example questions. This module recognises
six kinds of question over the sessions themselves — when / where / who (a session named by its title,
fuzzy or partial), talks by a speaker, what is on in a room (or track) now, what is next in a track (or
room) — in English and Korean ("<제목> 언제", "<제목> 어디서", "<제목> 누가", "<이름> 발표", "<방> 지금",
"<트랙> 다음"), and builds the answer with the clock. Pure: knowledge + question + time → `Found`.

Names are matched word by word: every word of the question left after the intent and filler words is
compared (rapidfuzz ratio, typos allowed on longer words) with the words of each title (plus the
session's type, so "the accessibility workshop" finds "Hands-on Accessibility Testing", a workshop),
speaker name, room or track; words weigh by how rare they are among those names. A name is taken only
when it explains nearly all of the question's words and is clearly ahead of the next one: anything
else returns None and the general matcher answers (a confident wrong answer is worse than "I don't
know").
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process

from bot import normalize as N
from bot import pages
from bot.knowledge import Knowledge, Session, Speaker, day_label
from bot.render import Doc, Reply, b, render_speaker, session_when, session_where
from bot.texts import text

MIN_COVER = 0.8  # share of the question's (weighted) words a name must explain
MARGIN = 0.08  # how far ahead of the runner-up the best name must be

_STOP = frozenset("""
the a an is are was be of in on at to for by does do did will it its this that these those please me tell
my i we you can could would about with and or from as there what whats what's which who whom where when
time start starts starting begin begins held take place taking happen happens happening going give gives
giving given present presents presenting presentation speak speaks speaking talk talks talking session sessions
hold holds running run runs room track today again now next upcoming currently moment speaker speakers
whom by of right find get see go attend catch watch look looking want need should located location
""".split())
_KO_STOP = frozenset("""
언제 어디 어디서 어디에서 어디야 어디예요 누가 누구 누구야 발표 발표자 연사 세션 강연 지금 현재 다음 뭐 뭐해 뭐야
몇 시 몇시 해 해요 하 하나요 하는 있 있어 있어요 나 나와 나오 나와요 에서 은 는 이 가 을 를 의 에 좀 알려줘 알려주세요
진행 진행중 중 시작
""".split())

_PLACE_STOP = _STOP - {"a", "i", "room", "track"}

# intent cues, tried in this order
_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("talks_by", re.compile(r"\b(?:talks?|sessions?|presentations?|workshops?)\s+(?:by|of|from)\b"
                            r"|\bwhat\s+(?:is|does)\s+.+\s+(?:talking|speaking|presenting)\b"
                            r"|\bwhen\s+(?:does|is)\s+.+\s+(?:speak|speaking|talk|talking|present|presenting)\b")),
    ("who", re.compile(r"\bwho\b|\bspeakers?\s+(?:of|for|at)\b|누가|누구|발표자|연사")),
    ("where", re.compile(r"\bwhere\b|\bwhich\s+(?:room|hall|stage)\b|\bwhat\s+(?:room|hall|stage)\b|어디")),
    ("when", re.compile(r"\bwhen\b|\bwhat\s+time\b|\bat\s+what\s+time\b|언제|몇\s*시")),
    ("now", re.compile(r"\bnow\b|\bcurrently\b|\bat\s+the\s+moment\b|지금|현재")),
    ("next", re.compile(r"\bnext\b|\bupcoming\b|다음|이따")),
    ("talks_by", re.compile(r"\btalks?\b|\bsessions?\b|발표|강연|세션")),
]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("’", "'").replace("‘", "'")
    return re.sub(r"'s\b", "", text)


def words(text: str) -> list[str]:
    """The content words of a name or question: lower case, no punctuation, Korean particles stripped."""
    out: list[str] = []
    for raw in re.findall(r"[0-9a-z가-힣]+", _fold(text)):
        if re.search(r"[가-힣]", raw):
            out.extend(w for w in N.normalize(raw).split() if w)
        else:
            out.append(raw)
    return out


@dataclass(frozen=True)
class Hit:
    key: int
    score: float  # weighted share of the question's words this name explains (0–1)
    covered: float  # weighted share of the name's words the question names (0–1)
    named: tuple[str, ...] = ()  # the question's words found in the name


class Names:
    """Word-level fuzzy lookup of a question among many names (titles, speakers, rooms, tracks)."""

    def __init__(self, names: list[str], extra: list[str] | None = None, stop: frozenset[str] = frozenset()) -> None:
        self.stop = stop | _KO_STOP
        self.count = len(names)
        self.item_words: list[set[str]] = []
        postings: dict[str, set[int]] = {}
        for k, name in enumerate(names):
            ws = {w for w in words(name) if w not in stop}
            ws |= {w for w in words(extra[k]) if w not in stop} if extra and extra[k] else set()
            self.item_words.append(ws)
            for w in ws:
                postings.setdefault(w, set()).add(k)
        self.vocab = list(postings)
        self.postings = [postings[w] for w in self.vocab]
        n = max(self.count, 1)
        self.idf = {w: math.log((n + 1) / (len(postings[w]) + 0.5)) + 0.2 for w in self.vocab}
        self.unknown = max(self.idf.values(), default=1.0)
        self.size = [sum(self.idf[w] for w in ws) or 1.0 for ws in self.item_words]

    def lookup(self, text: str, limit: int = 3) -> list[Hit]:
        query = [w for w in words(text) if w not in self.stop]
        if not query or not self.vocab:
            return []
        total = 1e-9
        gained: dict[int, float] = {}
        named: dict[int, float] = {}
        said: dict[int, list[str]] = {}
        for q in query:
            cutoff = 100 if len(q) <= 3 else 75
            similar = process.extract(q, self.vocab, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8)
            if not similar and q in _STOP:  # "room", "track": part of some names, a filler otherwise
                continue
            weight = max((self.idf[v] for v, _, _ in similar), default=self.unknown)
            total += weight
            best: dict[int, tuple[float, float]] = {}
            for v, sim, at in similar:
                for k in self.postings[at]:
                    if k not in best or sim > best[k][0]:
                        best[k] = (sim, self.idf[v])
            for k, (sim, idf) in best.items():
                gained[k] = gained.get(k, 0.0) + weight * sim / 100
                named[k] = named.get(k, 0.0) + idf * sim / 100
                said.setdefault(k, []).append(q)
        hits = [Hit(k, g / total, min(1.0, named[k] / self.size[k]), tuple(said[k])) for k, g in gained.items()]
        hits.sort(key=lambda h: (h.score + 0.25 * h.covered), reverse=True)
        return hits[:limit]

    def best(self, text: str) -> Hit | None:
        """The one name `text` is about, or None when none explains it or two explain it alike."""
        hits = self.lookup(text)
        if not hits or hits[0].score < MIN_COVER:
            return None
        if len(hits) > 1:
            a, b = hits[0], hits[1]
            if (a.score + 0.25 * a.covered) - (b.score + 0.25 * b.covered) < MARGIN:
                return None
        return hits[0]


@dataclass(frozen=True)
class Found:
    """A programme question understood: `intent` is when | where | who (one session), talks_by (a speaker
    and their sessions), now | next (the sessions of a room or track around the clock)."""

    intent: str
    sessions: tuple[Session, ...]
    score: float
    speaker: Speaker | None = None
    place: str = ""  # the room or track named
    named: tuple[str, ...] = ()  # the question's words that named it


class Programme:
    """The sessions of one knowledge base, indexed for programme questions (built once per Brain)."""

    def __init__(self, kb: Knowledge) -> None:
        self.kb = kb
        langs = kb.event.languages
        # the event's own name says nothing about which session ("이 행사 언제?" is not "3일 국민 참여 행사")
        event = frozenset(words(" ".join([*(kb.event.name.get(x) for x in langs), kb.event.short_name,
                                          "행사 이벤트 event conference"])))
        self.sessions = list(kb.sessions)
        self.titles = Names([" ".join(s.title.get(lang) for lang in langs) for s in self.sessions],
                            [s.type or "" for s in self.sessions], _STOP | event)
        spoken = {sp for s in self.sessions for sp in s.speakers}
        self.speakers = [sp for sp in kb.speakers if sp.id in spoken]
        self.people = Names([" ".join({sp.name.get(lang) for lang in langs} | set(sp.aliases))
                             for sp in self.speakers], stop=_STOP)
        # places: rooms (imported rooms are venues; a session may also name a room) and tracks
        places: dict[str, tuple[str, str]] = {}  # label → (kind, value)
        for s in self.sessions:
            venue = kb.venue(s.venue)
            if s.room:
                places.setdefault(s.room.get(langs[0]), ("room", s.room.get(langs[0])))
            elif venue:
                places.setdefault(venue.name.get(langs[0]), ("venue", venue.id))
            if s.track:
                places.setdefault(s.track, ("track", s.track))
        self.place_labels = list(places)
        self.place_keys = [places[p] for p in self.place_labels]
        self.places = Names(self.place_labels, stop=_PLACE_STOP)

    # ------------------------------------------------------------------ understanding

    def intent(self, text: str) -> tuple[str, str] | None:
        """The intent a question's cue words say, and the question folded (the cue words themselves are
        fillers that every name index leaves out)."""
        folded = _fold(text)
        for name, cue in _CUES:
            if cue.search(folded):
                return name, folded
        return None

    def understand(self, text: str, now: datetime) -> Found | None:
        """The programme question `text` asks, answered at `now`; None if it is not one (surely)."""
        if not self.sessions or len(text) > 200:
            return None
        got = self.intent(text)
        if got is None:
            return None
        intent, rest = got
        if intent in ("when", "where", "who"):
            hit = self.titles.best(rest)
            if hit is None:
                if intent == "when":  # "when does Mara speak?"
                    return self._talks_by(rest)
                return None
            return Found(intent, (self.sessions[hit.key],), hit.score, named=hit.named)
        if intent == "talks_by":
            by = self._talks_by(rest)
            if by is None and re.search(r"\bwhen\b|언제", rest):  # "when is the <title> talk"
                hit = self.titles.best(rest)
                return Found("when", (self.sessions[hit.key],), hit.score, named=hit.named) if hit else None
            return by
        hit = self.places.best(rest)
        if hit is None:
            return None
        label = self.place_labels[hit.key]
        kind, value = self.place_keys[hit.key]
        members = [s for s in self.sessions if _in_place(s, kind, value)]
        if intent == "now":
            return Found("now", tuple(running(self.kb, members, now)), hit.score, place=label, named=hit.named)
        return Found("next", tuple(upcoming(self.kb, members, now)[:3]), hit.score, place=label, named=hit.named)

    def _talks_by(self, rest: str) -> Found | None:
        hit = self.people.best(rest)
        if hit is None:
            return None
        sp = self.speakers[hit.key]
        return Found("talks_by", tuple(s for s in self.sessions if sp.id in s.speakers), hit.score, speaker=sp,
                     named=hit.named)


def _in_place(s: Session, kind: str, value: str) -> bool:
    if kind == "track":
        return s.track == value
    if kind == "room":
        return s.room is not None and value in (s.room.ko, s.room.en)
    return s.venue == value and not s.room


def _times(kb: Knowledge, s: Session) -> list[tuple[datetime, datetime | None]]:
    tz = kb.event.timezone
    out = []
    for d in s.days:
        start = s.starts_at(d, tz)
        if start is not None:
            out.append((start, s.ends_at(d, tz)))
    return out


def running(kb: Knowledge, sessions: list[Session], now: datetime) -> list[Session]:
    """The sessions running at `now` (started, not ended), by start time."""
    hits = [(start, s) for s in sessions for start, end in _times(kb, s)
            if start <= now and (end is None or now < end)]
    return [s for _, s in sorted(hits, key=lambda x: x[0])]


def upcoming(kb: Knowledge, sessions: list[Session], now: datetime) -> list[Session]:
    """The sessions that start after `now`, soonest first (each once)."""
    hits = sorted(((start, s.id, s) for s in sessions for start, _ in _times(kb, s) if start > now),
                  key=lambda x: (x[0], x[1]))
    seen: set[str] = set()
    out = []
    for _, sid, s in hits:
        if sid not in seen:
            seen.add(sid)
            out.append(s)
    return out


# ---------------------------------------------------------------------- answers


def reply(kb: Knowledge, found: Found, now: datetime, lang: str, saved: frozenset[str] = frozenset()) -> Reply:
    """The list answers: a speaker's page with their sessions, or what runs now / comes next in a room or
    track — each session with its ☆ button. (A single session is answered with its card, bot/answer.py.)"""
    if found.intent == "talks_by" and found.speaker is not None:
        doc = render_speaker(kb, found.speaker, lang, now)
    else:
        local = now.astimezone(kb.event.timezone)
        stamp = f"{day_label(local.date(), lang)} {local:%H:%M}"
        doc = Doc()
        if found.sessions:
            doc.add(b(text(f"prog.{found.intent}", lang, place=found.place, now=stamp)))
            for s in found.sessions:
                doc.add(f"{'▶️' if found.intent == 'now' else '⏭'} {session_when(s, lang)} — ", b(s.title.get(lang)))
                where = session_where(kb, s, lang)
                if where and found.intent == "next":
                    doc.add(f"   📍 {where}")
        else:
            doc.add(text(f"prog.{found.intent}_none", lang, place=found.place, now=stamp))
    rows = pages.session_rows(list(found.sessions)[:8], lang, saved)
    return Reply(doc, rows + [pages.back_row(lang)],
                 entry_id=f"speaker:{found.speaker.id}" if found.speaker else None)
