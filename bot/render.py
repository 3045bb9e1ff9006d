"""Answers as attendees read them: pure functions from the knowledge model to a `Doc`.

A `Doc` is a list of lines made of spans (plain or bold). `.html()` gives Telegram HTML with every
string escaped; `.plain()` gives the same text without markup (CLI, export, inline-mode descriptions).
Nothing here knows about Telegram's Python library; `Reply` carries neutral buttons that the handlers
turn into keyboards.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.knowledge import Award, Entry, Knowledge, Pavilion, Session, Speaker, Venue, day_label
from bot.texts import text, won  # noqa: F401  (won: re-exported)

TELEGRAM_LIMIT = 4096


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False


Line = tuple[Span, ...]
Part = str | Span


def line(*parts: Part) -> Line:
    return tuple(p if isinstance(p, Span) else Span(p) for p in parts if p != "")


def b(text: str) -> Span:
    return Span(text, bold=True)


def i(text: str) -> Span:
    return Span(text, italic=True)


@dataclass
class Doc:
    lines: list[Line] = field(default_factory=list)

    def add(self, *parts: Part) -> Doc:
        self.lines.append(line(*parts))
        return self

    def blank(self) -> Doc:
        if self.lines and self.lines[-1]:
            self.lines.append(())
        return self

    def extend(self, other: Doc) -> Doc:
        self.lines.extend(other.lines)
        return self

    def plain(self) -> str:
        return "\n".join("".join(s.text for s in ln) for ln in self.lines).strip()

    @staticmethod
    def _span_html(s: Span) -> str:
        t = html.escape(s.text, quote=False)
        if s.bold:
            t = f"<b>{t}</b>"
        if s.italic:
            t = f"<i>{t}</i>"
        return t

    def html(self) -> str:
        return "\n".join("".join(self._span_html(s) for s in ln) for ln in self.lines).strip()

    def html_chunks(self, limit: int = TELEGRAM_LIMIT) -> list[str]:
        """Split into messages of at most `limit` characters (as Telegram counts them: after parsing the
        HTML, in UTF-16 code units), breaking between lines, inside a line only if it is itself too long."""
        chunks: list[str] = []
        cur_html: list[str] = []
        cur_len = 0
        for ln in self.lines:
            pieces = [ln] if _tg_len(ln) <= limit else _split_line(ln, limit)
            for piece in pieces:
                n = _tg_len(piece) + (1 if cur_html else 0)
                if cur_html and cur_len + n > limit:
                    chunks.append("\n".join(cur_html).strip())
                    cur_html, cur_len, n = [], 0, _tg_len(piece)
                cur_html.append("".join(self._span_html(s) for s in piece))
                cur_len += n
        if cur_html and "\n".join(cur_html).strip():
            chunks.append("\n".join(cur_html).strip())
        return chunks or [""]


def _tg_len(ln: Iterable[Span]) -> int:
    return sum(len(s.text.encode("utf-16-le")) // 2 for s in ln)


def _split_line(ln: Line, limit: int) -> list[Line]:
    out: list[Line] = []
    cur: list[Span] = []
    size = 0
    for span in ln:
        text = span.text
        while text:
            room = limit - size
            take = text[:room]
            while _tg_len([Span(take)]) > room:  # astral characters count twice
                take = take[:-1]
            cur.append(Span(take, span.bold, span.italic))
            size += _tg_len([Span(take)])
            text = text[len(take):]
            if size >= limit:
                out.append(tuple(cur))
                cur, size = [], 0
    if cur:
        out.append(tuple(cur))
    return out


@dataclass(frozen=True)
class Button:
    """A neutral inline button: `data` is callback data (≤ 64 bytes), or `url`, or `inline` (switch query)."""

    text: str
    data: str | None = None
    url: str | None = None
    inline: str | None = None


@dataclass
class Reply:
    doc: Doc
    buttons: list[list[Button]] = field(default_factory=list)
    location: tuple[float, float, str, str] | None = None  # latitude, longitude, title, address
    entry_id: str | None = None


# ---------------------------------------------------------------- the entry answers


def t(key: str, lang: str, **kw: object) -> str:
    """A label of an answer: `render.<key>` of the catalogue (bot/texts.py)."""
    return text(f"render.{key}", lang, **kw)


def session_when(s: Session, lang: str) -> str:
    days = ", ".join(day_label(d, lang) for d in s.days)
    if s.start and s.end:
        return f"{days} {s.start:%H:%M}–{s.end:%H:%M}"
    if s.start:
        return f"{days} {s.start:%H:%M}" + ("~" if lang == "ko" else "–")
    return f"{days} ({t('time_tbc', lang)})"


def session_where(kb: Knowledge, s: Session, lang: str) -> str:
    venue = kb.venue(s.venue)
    parts = [venue.name.get(lang)] if venue else []
    if s.room:
        parts.append(s.room.get(lang))
    return ", ".join(parts)


def render_session(kb: Knowledge, s: Session, lang: str) -> Doc:
    doc = Doc().add(b(s.title.get(lang)))
    doc.add(f"🗓 {t('when', lang)}: {session_when(s, lang)}")
    where = session_where(kb, s, lang)
    if where:
        doc.add(f"📍 {t('where', lang)}: {where}")
    names = [sp.name.get(lang) for sp in (kb.speaker(x) for x in s.speakers) if sp]
    if names:
        doc.add(f"🎤 {t('speakers', lang)}: {', '.join(names)}")
    labels = [x for x in (s.track, s.type, s.language) if x]
    if labels:
        doc.add("🏷 " + " · ".join(labels))
    if s.description:
        doc.blank().add(s.description.get(lang))
    return doc


def first_appearance(kb: Knowledge, sp: Speaker) -> datetime | None:
    """When the speaker's first session starts (its day's midnight when it has no time); None: in no session."""
    tz = kb.event.timezone
    moments = [s.starts_at(d, tz) or datetime.combine(d, time(0), tz)
               for s in kb.sessions if sp.id in s.speakers for d in s.days]
    return min(moments) if moments else None


def render_speaker(kb: Knowledge, sp: Speaker, lang: str, now: datetime | None = None) -> Doc:
    """A speaker's page. Their `quote` (something said at the event) appears only once their first session
    has started, so that the page never quotes a speech that has not been given yet."""
    doc = Doc().add(b(sp.name.get(lang)), f" — {sp.title.get(lang)}" if sp.title else "")
    if sp.topic:
        doc.add(f"{t('topic', lang)}: {sp.topic.get(lang)}")
    if sp.bio:
        doc.blank().add(sp.bio.get(lang))
    said = first_appearance(kb, sp)
    if sp.quote and (said is None or (now or datetime.now(kb.event.timezone)) >= said):
        doc.blank().add(i(f"“{sp.quote.get(lang)}”"))
    sessions = [s for s in kb.sessions if sp.id in s.speakers]
    if sessions:
        doc.blank().add(f"{t('sessions_of', lang)}:")
        for s in sessions:
            doc.add(f"• {s.title.get(lang)} — {session_when(s, lang)}")
    return doc


def render_venue(v: Venue, lang: str) -> Doc:
    doc = Doc().add(b(v.name.get(lang)))
    if v.address:
        doc.add(f"📍 {t('address', lang)}: {v.address.get(lang)}")
    if v.description:
        doc.blank().add(v.description.get(lang))
    return doc


def render_pavilion(kb: Knowledge, p: Pavilion, lang: str) -> Doc:
    doc = Doc().add(b(p.name.get(lang)))
    venue = kb.venue(p.venue)
    if venue:
        doc.add(f"📍 {venue.name.get(lang)}")
    if p.description:
        doc.blank().add(p.description.get(lang))
    return doc


def render_award(a: Award, lang: str) -> Doc:
    head = f"{a.competition.get(lang)}" + (f" · {a.category.get(lang)}" if a.category else "")
    doc = Doc().add(head).add(b(f"🏆 {a.prize.get(lang)}"), f" ({a.honour.get(lang)})" if a.honour else "")
    if a.amount_krw is not None:
        doc.add(f"{t('prize_money', lang)}: {won(a.amount_krw, lang)}")
    for w in a.winners:
        who = ", ".join(x for x in (w.team or "", w.group.get(lang) if w.group else "") if x)
        more = ""
        if w.total_works and w.total_works > 1:
            more = f" {t('more_works', lang, n=w.total_works - 1)}"
        doc.add(f"• {w.work.get(lang)}{more}" + (f" ({who})" if who else ""))
    if a.note:
        doc.blank().add(a.note.get(lang))
    return doc


def render_day(kb: Knowledge, d: date, lang: str) -> Doc:
    doc = Doc().add(b(f"🗓 {day_label(d, lang)}"))
    sessions = kb.sessions_on(d)
    timed = [s for s in sessions if s.start]
    allday = [s for s in sessions if not s.start]
    for s in timed:
        end = f"–{s.end:%H:%M}" if s.end else ("~" if lang == "ko" else "")
        doc.add(f"{s.start:%H:%M}{end} ", b(s.title.get(lang)))
    if allday:
        doc.add(t("all_day", lang) + ":")
        for s in allday:
            doc.add(f"• {s.title.get(lang)}")
    return doc


def event_status(kb: Knowledge, now: datetime, lang: str) -> str:
    """Where the clock stands for the event as a whole: not started yet, on now, or over."""
    ev = kb.event
    today = now.astimezone(ev.timezone).date()
    phase = "before" if today < ev.start_date else "during" if today <= ev.end_date else "after"
    return text(f"status.{phase}", lang, start=day_label(ev.start_date, lang), end=day_label(ev.end_date, lang))


def announced_later(entry: Entry, when: datetime, lang: str) -> Doc:
    """What a dated entry says before its moment `when`: its title and when it will be announced — nothing
    of the result. A `from:` date alone (moment: the end of that day) is named as that day."""
    if isinstance(entry.ref.from_, datetime):
        label = f"{day_label(when.date(), lang)} {when:%H:%M}"
    else:
        label = day_label(when.date() - timedelta(days=1), lang)
    return Doc().add(b(entry.title.get(lang))).add(t("announced_later", lang, when=label))


def render_entry(kb: Knowledge, entry: Entry, lang: str, now: datetime | None = None) -> Doc:
    """The answer of `entry` at `now` (default: the real time; a naive `now` is event time): a dated entry
    (`from:`) says before that moment only when it will be announced."""
    tz = kb.event.timezone
    now = datetime.now(tz) if now is None else now if now.tzinfo else now.replace(tzinfo=tz)
    when = entry.available_from(tz)
    if when is not None and now < when:
        return announced_later(entry, when, lang)
    ref = entry.ref
    if entry.kind == "faq":
        doc = Doc(lines=[line(x) for x in ref.answer.get(lang).splitlines()])
        if ref.event_status:
            doc.lines.insert(0, line(b(event_status(kb, now, lang))))
        return doc
    if entry.kind == "event":  # generated from event.yaml: name, dates, where the clock stands, hours
        ev = kb.event
        doc = Doc().add(b(event_status(kb, now, lang))).add(
            f"{ev.name.get(lang)}: {day_label(ev.start_date, lang)} – {day_label(ev.end_date, lang)}")
        if ev.opening_hours:
            doc.add(f"🕘 {ev.opening_hours.get(lang)}")
        return doc
    if entry.kind == "contact":  # generated from event.yaml's contact
        return Doc().add(b(entry.title.get(lang))).add(ref.organisation.get(lang)).add(ref.name.get(lang)).add(
            f"☎ {ref.phone}")
    if entry.kind == "session":
        return render_session(kb, ref, lang)
    if entry.kind == "speaker":
        return render_speaker(kb, ref, lang, now)
    if entry.kind == "venue":
        return render_venue(ref, lang)
    if entry.kind == "pavilion":
        return render_pavilion(kb, ref, lang)
    if entry.kind == "award":
        return render_award(ref, lang)
    if entry.kind == "day":
        return render_day(kb, ref, lang)
    raise ValueError(f"unknown entry kind {entry.kind}")


def export_records(kb: Knowledge, now: datetime | None = None) -> Iterable[dict]:
    """One record per answerable entry, answers as plain text as they read at `now` (default: the real
    time; a dated entry before its `from:` says when it will be announced) for `python -m bot export`."""
    for e in kb.entries:
        yield {"id": e.id, "questions": list(e.questions.all()),
               "answer": {lang: render_entry(kb, e, lang, now).plain() for lang in kb.event.languages}}
