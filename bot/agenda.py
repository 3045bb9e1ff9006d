"""Personal agenda: when to remind, when to ask for feedback, and the calendar (.ics) file.

Pure functions of the knowledge model, a user's saved session ids and the clock; the Telegram adapter
schedules the results with PTB's JobQueue and the store records what was sent (so nothing goes twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from icalendar import Calendar, Event as IcsEvent

from bot.knowledge import Knowledge, Session

UID_DOMAIN = "wscw2018.bot"
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
        if s is None or s.start is None:
            continue
        for d in s.days:
            starts = s.starts_at(d, tz)
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


def sorted_agenda(kb: Knowledge, session_ids: list[str]) -> list[tuple[date, Session]]:
    """(day, session) pairs of a user's agenda, by day and start time (sessions without time last)."""
    pairs = []
    for sid in session_ids:
        s = kb.session(sid)
        if s:
            pairs += [(d, s) for d in s.days]
    return sorted(pairs, key=lambda p: (p[0], p[1].start is None, p[1].start or time(0), p[1].title.en))


def build_ics(kb: Knowledge, sessions: list[Session], lang: str = "ko", stamp: datetime | None = None) -> bytes:
    """An iCalendar file: one event per session (per day for timed sessions on several days), times in
    the event's time zone with a VTIMEZONE, stable UIDs so that importing again updates the events."""
    tz = kb.event.timezone
    cal = Calendar()
    cal.add("prodid", "-//WSCW 2018 bot//wscw2018//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", kb.event.name.get(lang))
    cal.add("x-wr-timezone", str(tz))
    stamp = stamp or datetime(2018, 9, 1, tzinfo=tz)
    for s in sessions:
        venue = kb.venue(s.venue)
        location = ", ".join(x for x in ((s.room.get(lang) if s.room else ""), venue.name.get(lang) if venue else "",
                                         venue.address.get(lang) if venue and venue.address else "") if x)
        description = s.description.get(lang) if s.description else ""
        if s.start:
            for d in s.days:
                ev = _event(s, lang, f"{s.id}-{d.isoformat()}@{UID_DOMAIN}", stamp, location, description)
                ev.add("dtstart", s.starts_at(d, tz))
                if s.end:
                    ev.add("dtend", s.ends_at(d, tz))
                cal.add_component(ev)
        elif (max(s.days) - min(s.days)).days + 1 == len(s.days):  # consecutive days: one all-day span
            ev = _event(s, lang, f"{s.id}@{UID_DOMAIN}", stamp, location, description)
            ev.add("dtstart", min(s.days))
            ev.add("dtend", max(s.days) + timedelta(days=1))
            cal.add_component(ev)
        else:
            for d in s.days:
                ev = _event(s, lang, f"{s.id}-{d.isoformat()}@{UID_DOMAIN}", stamp, location, description)
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
