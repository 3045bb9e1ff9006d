"""Personal agenda: when to remind, when to ask for feedback, what the personal notices say, who may
rate a session, and the calendar (.ics) file.

Pure functions of the knowledge model, a user's saved session ids and the clock. The Telegram adapter
schedules the due times with PTB's JobQueue; when one falls due a row goes into the store's notices
outbox, and `bot.broadcast.NoticeSender` renders it here (`notice_message`, at send time) and sends it.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar
from icalendar import Event as IcsEvent

from bot.knowledge import Knowledge, Session, day_label
from bot.render import Button, Doc, Reply, b, session_when, session_where
from bot.texts import text

# A session whose end time is not known is asked about the morning after its last day (bot policy,
# not an event fact): it never asks while a session might still be running.
FEEDBACK_MORNING = time(10, 0)
FEEDBACK_AFTER_END = timedelta(minutes=5)


@dataclass(frozen=True)
class Due:
    """Something to send at `at` (event time) for one day of one session."""

    session_id: str
    day: date
    at: datetime
    starts: datetime | None
    kind: str  # "remind" | "feedback"


def reminders_for(kb: Knowledge, session_ids: list[str], minutes: int) -> list[Due]:
    tz = kb.event.timezone
    out = []
    for sid in session_ids:
        s = kb.session(sid)
        if s is None:
            continue
        for d in s.days:
            starts = s.starts_at(d, tz)
            if starts is not None:  # None: the session has no start time
                out.append(Due(sid, d, starts - timedelta(minutes=minutes), starts, "remind"))
    return sorted(out, key=lambda x: x.at)


def feedback_for(kb: Knowledge, session_ids: list[str]) -> list[Due]:
    tz = kb.event.timezone
    out = []
    for sid in session_ids:
        s = kb.session(sid)
        if s is None:
            continue
        last = max(s.days)
        ends = s.ends_at(last, tz)
        at = ends + FEEDBACK_AFTER_END if ends else datetime.combine(last + timedelta(days=1), FEEDBACK_MORNING, tz)
        out.append(Due(sid, last, at, None, "feedback"))
    return out


def should_send(due: Due, now: datetime) -> bool:
    """A reminder is sent when due, or late if the bot was down at that time but the session has not
    started yet; never after it started. Feedback requests are sent once due."""
    if now < due.at:
        return False
    if due.kind == "remind":
        return due.starts is not None and now < due.starts
    return True


REMIND_OFF = ("off", "끄기", "0")
REMIND_MAX = 24 * 60


def remind_setting(arg: str) -> int | None:
    """`/remind <arg>`: 0 turns reminders off, 1…1440 is the lead time in minutes; None: show the setting."""
    arg = arg.strip().lower()
    if arg in REMIND_OFF:
        return 0
    if arg.isdigit() and 1 <= int(arg) <= REMIND_MAX:
        return int(arg)
    return None


def remind_state(minutes: int | None, lang: str) -> str:
    """The reminder setting in words ("15 minutes before", "off")."""
    return text("agenda.remind_state_on", lang, m=minutes) if minutes else text("agenda.remind_state_off", lang)


def overlap_with(kb: Knowledge, session: Session, saved_ids: Iterable[str]) -> Session | None:
    """The first other saved session that runs at the same time as `session`: on a common day, their time
    ranges intersect (a session without an end time lasts an instant; two starting at the same minute
    overlap). Sessions without a start time never overlap."""
    tz = kb.event.timezone
    if not session.start:
        return None
    for other in (kb.session(i) for i in saved_ids if i != session.id):
        if other is None or not other.start:
            continue
        for d in sorted(set(session.days) & set(other.days)):
            a0, b0 = session.starts_at(d, tz), other.starts_at(d, tz)
            if a0 is None or b0 is None:
                continue
            a1, b1 = session.ends_at(d, tz) or a0, other.ends_at(d, tz) or b0
            if a0 == b0 or (a0 < b1 and b0 < a1):
                return other
    return None


def saved_note(kb: Knowledge, session: Session, minutes: int | None, now: datetime, lang: str,
               saved_ids: Iterable[str] = ()) -> str:
    """What the ☆ press says: saved, whether (and when) a reminder will come, and which session already in
    the agenda (`saved_ids`) it overlaps with, if any."""
    note = _saved_note(kb, session, minutes, now, lang)
    clash = overlap_with(kb, session, saved_ids)
    if clash is not None:
        title = clash.title.get(lang)
        note += "\n" + text("agenda.overlaps", lang, title=title if len(title) <= 60 else title[:59] + "…")
    return note


def _saved_note(kb: Knowledge, session: Session, minutes: int | None, now: datetime, lang: str) -> str:
    upcoming = [d for d in reminders_for(kb, [session.id], minutes or 0) if d.starts and d.starts > now]
    if not session.start:
        return text("agenda.saved_no_time", lang)
    if not minutes:
        return text("agenda.saved_quiet", lang)
    if upcoming:
        return text("agenda.saved", lang, m=minutes)
    return text("agenda.saved_started", lang)


def agenda_page(kb: Knowledge, session_ids: list[str], lang: str) -> Reply:
    """/my: the saved sessions by day, with a ★ button to remove each."""
    pairs = sorted_agenda(kb, session_ids)
    if not pairs:
        return Reply(Doc().add(text("agenda.empty", lang)))
    doc = Doc().add(b(text("agenda.title", lang)))
    current = None
    for d, s in pairs:
        if d != current:
            doc.blank().add(b(day_label(d, lang)))
            current = d
        when = f"{s.start:%H:%M}" if s.start else text("agenda.time_tba", lang)
        doc.add(f"• {when} — {s.title.get(lang)}")
    seen: set[str] = set()
    rows = []
    for _, s in pairs:
        if s.id not in seen:
            seen.add(s.id)
            rows.append([Button(f"★ {s.title.get(lang)[:50]}", data=f"un:{s.id}")])
    return Reply(doc, rows)


# ---------------------------------------------------------------- personal notices

def _t(key: str, lang: str, **kw: object) -> str:
    return text(f"notice.{key}", lang, **kw)


def session_bits(kb: Knowledge, session: Session, lang: str) -> dict[str, str]:
    """Title, time and place of a session, HTML-escaped for a notice."""
    return {"title": html.escape(session.title.get(lang), quote=False),
            "when": html.escape(session_when(session, lang), quote=False),
            "where": html.escape(session_where(kb, session, lang) or "—", quote=False)}


@dataclass(frozen=True)
class Outgoing:
    """A notice ready to send: HTML text and neutral inline buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class Skip:
    """A queued notice that must not be sent (any more): close it with `status` and `reason`."""

    status: str  # "expired" | "cancelled"
    reason: str


def rating_buttons(session_id: str) -> tuple[tuple[Button, ...], ...]:
    return (tuple(Button("⭐" * n, data=f"rate:{session_id}:{n}") for n in range(1, 6)),)


def notice_message(kb: Knowledge, notice: dict[str, Any], now: datetime, lang: str, *, saved: bool,
                   reminders_on: bool = True) -> Outgoing | Skip:
    """What a queued notice says *now*, or why it is no longer sent. `notice` is a row of the store's
    notices table (kind, session_id, day, text); `saved`: the session is still in the user's agenda.

    A reminder is rendered from the current programme and clock (minutes until the start as of this
    moment, the start time as it is now). A reminder whose session has already started — the bot was
    down, or the queue was long — is closed as expired rather than sent late: "starting in 5 minutes"
    after the start helps nobody. Programme-change notices carry the text written when the change was
    found (the session may be gone from the programme by now)."""
    kind, session_id = notice["kind"], notice["session_id"]
    if kind in ("moved", "dropped"):
        if kind == "moved" and not saved:
            return Skip("cancelled", "no longer in the agenda")
        return Outgoing(notice["text"] or "")
    session = kb.session(session_id)
    if session is None:
        return Skip("cancelled", "no longer in the programme")
    if not saved:
        return Skip("cancelled", "no longer in the agenda")
    if kind == "feedback":
        title = html.escape(session.title.get(lang), quote=False)
        return Outgoing(_t("rate_q", lang, title=title), rating_buttons(session.id))
    if kind != "remind":
        return Skip("cancelled", f"unknown kind {kind!r}")
    if not reminders_on:
        return Skip("cancelled", "reminders turned off")
    day = date.fromisoformat(notice["day"])
    starts = session.starts_at(day, kb.event.timezone) if day in session.days else None
    if starts is None:
        return Skip("cancelled", "the session no longer has a start time that day")
    if now >= starts:
        return Skip("expired", f"not sent before the start ({starts:%Y-%m-%d %H:%M})")
    minutes = max(1, round((starts - now).total_seconds() / 60))
    return Outgoing(_t("reminder", lang, m=minutes, **session_bits(kb, session, lang)))


@dataclass(frozen=True)
class ChangeNotice:
    """A programme change to tell one attendee about (queued once per user, session and change)."""

    user_id: int
    session_id: str
    kind: str  # "moved" | "dropped"
    version: str
    lang: str
    text: str


def _shape(s: Session) -> tuple:
    return (s.days, s.start, s.end, s.venue, s.room)


def change_notices(old: Knowledge, new: Knowledge, agenda_rows: Iterable[dict[str, Any]]) -> list[ChangeNotice]:
    """Who must hear that a saved session moved (days, time, venue or room) or was dropped by a reload.
    `version` names the change (before → after), so the same change found twice is told once."""
    out = []
    for row in agenda_rows:
        before, after = old.session(row["session_id"]), new.session(row["session_id"])
        if before is None:
            continue
        lang = new.event.reply_lang(row["lang"] or "en")
        if after is None:
            kind, body = "dropped", _t("dropped", lang, title=html.escape(before.title.get(lang), quote=False))
        elif _shape(before) != _shape(after):
            kind, body = "moved", _t("moved", lang, **session_bits(new, after, lang))
        else:
            continue
        change = repr((_shape(before), _shape(after) if after else None)).encode()
        out.append(ChangeNotice(row["user_id"], before.id, kind, hashlib.sha1(change).hexdigest()[:16], lang, body))
    return out


# ---------------------------------------------------------------- ratings


def first_start(session: Session, tz) -> datetime:
    """When a session begins: its first day at its start time, or that day's midnight if it has none."""
    return datetime.combine(min(session.days), session.start or time(0), tz)


def rating_refusal(kb: Knowledge, session_id: str, saved_ids: Iterable[str], now: datetime) -> str | None:
    """None if the user may rate the session now; otherwise why not: "unknown" (not in the programme),
    "not_saved" (not in the user's agenda), "not_started" (before its first start)."""
    session = kb.session(session_id)
    if session is None:
        return "unknown"
    if session_id not in set(saved_ids):
        return "not_saved"
    if now < first_start(session, kb.event.timezone):
        return "not_started"
    return None


def sorted_agenda(kb: Knowledge, session_ids: list[str]) -> list[tuple[date, Session]]:
    """(day, session) pairs of a user's agenda, by day and start time (sessions without time last)."""
    pairs = []
    for sid in session_ids:
        s = kb.session(sid)
        if s:
            pairs += [(d, s) for d in s.days]
    return sorted(pairs, key=lambda p: (p[0], p[1].start is None, p[1].start or time(0), p[1].title.en))


def uid_domain(kb: Knowledge) -> str:
    """What ends the UIDs of calendar events: the event's `uid_domain`, else its short name made into a
    host name ("Conf 2025" → "conf-2025.bot")."""
    if kb.event.uid_domain:
        return kb.event.uid_domain
    slug = re.sub(r"[^a-z0-9]+", "-", kb.event.short_name.lower()).strip("-") or "event"
    return f"{slug}.bot"


def ics_filename(kb: Knowledge) -> str:
    """The calendar file's name: the first label of the UID domain ("wscw2018.bot" → "wscw2018.ics")."""
    return uid_domain(kb).split(".")[0] + ".ics"


def build_ics(kb: Knowledge, sessions: list[Session], lang: str = "ko", stamp: datetime | None = None) -> bytes:
    """An iCalendar file: one event per session (per day for timed sessions on several days), times in
    the event's time zone with a VTIMEZONE, stable UIDs (…@`uid_domain`) so that importing again updates
    the events. DTSTAMP is the first day of the event at 00:00 unless `stamp` is given: the same knowledge
    gives the same file."""
    tz = kb.event.timezone
    domain = uid_domain(kb)
    cal = Calendar()
    cal.add("prodid", f"-//{kb.event.short_name} bot//{domain}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", kb.event.name.get(lang))
    cal.add("x-wr-timezone", str(tz))
    stamp = stamp or datetime.combine(kb.event.start_date, time(0), tz)
    for s in sessions:
        venue = kb.venue(s.venue)
        location = ", ".join(x for x in ((s.room.get(lang) if s.room else ""), venue.name.get(lang) if venue else "",
                                         venue.address.get(lang) if venue and venue.address else "") if x)
        description = s.description.get(lang) if s.description else ""
        if s.start:
            for d in s.days:
                ev = _event(s, lang, f"{s.id}-{d.isoformat()}@{domain}", stamp, location, description)
                ev.add("dtstart", s.starts_at(d, tz))
                if s.end:
                    ev.add("dtend", s.ends_at(d, tz))
                cal.add_component(ev)
        elif (max(s.days) - min(s.days)).days + 1 == len(s.days):  # consecutive days: one all-day span
            ev = _event(s, lang, f"{s.id}@{domain}", stamp, location, description)
            ev.add("dtstart", min(s.days))
            ev.add("dtend", max(s.days) + timedelta(days=1))
            cal.add_component(ev)
        else:
            for d in s.days:
                ev = _event(s, lang, f"{s.id}-{d.isoformat()}@{domain}", stamp, location, description)
                ev.add("dtstart", d)
                ev.add("dtend", d + timedelta(days=1))
                cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def _event(s: Session, lang: str, uid: str, stamp: datetime, location: str, description: str) -> IcsEvent:
    ev = IcsEvent()
    ev.add("uid", uid)
    ev.add("dtstamp", stamp)
    ev.add("summary", s.title.get(lang))
    if location:
        ev.add("location", location)
    if description:
        ev.add("description", description)
    return ev
