"""The controllable clock (bot/clock.py): `set`/`advance` move a frozen or running clock, and the offset
from real time that the reminder jobs are scheduled with follows."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock

SEOUL = ZoneInfo("Asia/Seoul")
START = datetime(2018, 9, 18, 15, 30, tzinfo=SEOUL)


def test_frozen_clock_moves_only_when_told() -> None:
    clock = Clock(SEOUL, START, frozen=True)
    time.sleep(0.01)
    assert clock.now() == START
    clock.advance(timedelta(minutes=15))
    assert clock.now() == datetime(2018, 9, 18, 15, 45, tzinfo=SEOUL)
    clock.set(datetime(2018, 9, 19, 1, 0, tzinfo=ZoneInfo("UTC")))  # any zone: shown in the event's
    assert clock.now() == datetime(2018, 9, 19, 10, 0, tzinfo=SEOUL) and clock.now().tzinfo == SEOUL


def test_running_clock_runs_on_from_where_it_was_set() -> None:
    clock = Clock(SEOUL, START)
    clock.set(datetime(2018, 9, 18, 15, 45, tzinfo=SEOUL))
    first = clock.now()
    assert timedelta(0) <= first - datetime(2018, 9, 18, 15, 45, tzinfo=SEOUL) < timedelta(seconds=1)
    time.sleep(0.02)
    assert clock.now() > first
    # the offset from real time moved with it: event time 15:45 maps onto (about) real now
    assert abs((clock.now() - clock.offset()) - datetime.now(SEOUL)) < timedelta(seconds=1)


def test_an_unset_clock_is_real_time_until_set() -> None:
    clock = Clock(SEOUL)
    assert not clock.overridden and clock.offset() == timedelta(0)
    clock.set(START)
    assert clock.overridden and clock.now() - START < timedelta(seconds=1)
