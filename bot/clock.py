"""The bot's clock: event-local time (Asia/Seoul by default), replaceable for demos and tests.

`BOT_NOW=2031-05-14T09:30` (or `--now`) sets the clock to that moment at start-up; it then runs forward
in real time, so reminders and "what's next" behave as they would on that day.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo

# The clock runs forward from BOT_NOW / --now and the bot computes "tomorrow", "in 15 minutes" from it:
# a start far from today's calendar (9999-12-31) would overflow. Any event date fits in this range.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def parse_datetime(text: str, tz: tzinfo) -> datetime:
    """Parse an ISO date-time; a value without offset is taken as local time in `tz`. The one check of
    BOT_NOW, --now and --since: a ValueError's message says what is wrong and what to write instead."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date-time such as 2031-05-14T09:30") from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{text!r} is out of range: give a date-time between {FIRST_YEAR} and {LAST_YEAR}, "
                         "such as 2031-05-14T09:30")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(tz)


class Clock:
    """`now()` in the event's time zone; starts at `start_at` if given and runs forward from there."""

    def __init__(self, tz: tzinfo, start_at: datetime | None = None, *, frozen: bool = False) -> None:
        self.tz = tz
        self._frozen = frozen
        self._start_at = start_at.astimezone(tz) if start_at else None
        self._started_mono = time.monotonic()

    @property
    def overridden(self) -> bool:
        return self._start_at is not None

    def now(self) -> datetime:
        if self._start_at is None:
            return datetime.now(self.tz)
        if self._frozen:
            return self._start_at
        return self._start_at + timedelta(seconds=time.monotonic() - self._started_mono)

    def set(self, when: datetime) -> None:
        """Move the clock to `when` (tests and demos): a frozen clock stays there, a running one runs on
        from there. The bot does not notice by itself: jobs computed from the clock must be rebuilt."""
        self._start_at = when.astimezone(self.tz)
        self._started_mono = time.monotonic()

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back, with a negative `delta`) by `delta`."""
        self.set(self.now() + delta)

    def offset(self) -> timedelta:
        """How far the clock is ahead of real time (zero when not overridden)."""
        if self._start_at is None:
            return timedelta(0)
        return self.now() - datetime.now(self.tz)
