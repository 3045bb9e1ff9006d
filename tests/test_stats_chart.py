"""/stats as a picture (bot/stats_chart.py): the numbers come from the store, the PNG is drawn without a
display and with Hangul, matplotlib is loaded only when drawing, and `python -m bot stats --out` writes it."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.knowledge import load_knowledge
from bot.stats_chart import korean_font, render_png, stats_data
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Seoul")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2018, 9, day, hour, minute, tzinfo=TZ)


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(ROOT / "knowledge")


def filled(path: Path) -> Store:
    """WSCW 2018 runs 2018-09-18..20 (Asia/Seoul)."""
    store = Store(path)
    rows = [("행사 언제 해?", "about-wscw", "answer", at(18, 9, 5)), ("what is WSCW", "about-wscw", "answer", at(18, 9, 40)),
            ("is there a cloakroom", None, "none", at(18, 23, 59)), ("is there a cloak room?", None, "none", at(19, 0, 1)),
            ("bitcoin price", None, "ambiguous", at(20, 17)), ("where is the cloakroom", None, "none", at(17, 12))]
    for q, entry, outcome, when in rows:
        store.record_question(q, "en", outcome == "answer", entry, [], when, outcome)
    return store


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_data_reflects_the_store_in_the_event_time_zone(tmp_path: Path, kb) -> None:
    store = filled(tmp_path / "bot.db")
    data = stats_data(store, kb, TZ, "en")
    assert len(data.hours) == 72 and data.hours[0] == at(18, 0)
    counts = {h.strftime("%d %H"): n for h, n in zip(data.hours, data.per_hour, strict=True) if n}
    assert counts == {"18 09": 2, "18 23": 1, "19 00": 1, "20 17": 1}  # local hours, not UTC ones
    assert data.outside == 1  # the question of the day before the event: counted in the other panels
    assert data.outcomes == {"answer": 2, "ambiguous": 1, "none": 3} and data.total == 6
    assert data.topics == [("About the event", 2)]
    assert data.unanswered[0] == ("where is the cloakroom", 3)  # similar phrasings grouped (the first asked shown)
    assert ("bitcoin price", 1) in data.unanswered
    # the clock (BOT_NOW) caps what is counted, and is marked when it falls within the event
    early = stats_data(store, kb, TZ, "ko", now=at(18, 12))
    assert early.total == 3 and early.now == at(18, 12) and early.topics == [("행사 소개", 2)]


def test_rows_from_before_the_outcome_column_count_as_answered_or_not(tmp_path: Path, kb) -> None:
    store = Store(tmp_path / "bot.db")
    store.db.execute("insert into questions (asked_at, text, lang, answered, entry, candidates) values "
                     "('2018-09-18T01:00:00+00:00', 'old one', 'en', 0, null, '[]')")
    assert stats_data(store, kb, TZ, "en").outcomes == {"answer": 0, "ambiguous": 0, "none": 1}


def test_png_is_drawn_with_hangul_and_sensible_size(tmp_path: Path, kb) -> None:
    assert korean_font() == "NanumGothic"  # pip's koreanize-matplotlib ships it: Korean labels, not boxes
    store = filled(tmp_path / "bot.db")
    png = render_png(stats_data(store, kb, TZ, "ko"))
    assert png_size(png) == (1500, 1000) and 20_000 < len(png) < 2_000_000
    empty = render_png(stats_data(Store(tmp_path / "empty.db"), kb, TZ, "en"))  # no questions yet: still a chart
    assert png_size(empty) == (1500, 1000)


def test_matplotlib_is_loaded_only_to_draw() -> None:
    code = "import sys, handlers.app, bot.stats_chart; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_cli_writes_the_picture(tmp_path: Path) -> None:
    filled(tmp_path / "data" / "bot.db").close()
    out = tmp_path / "stats.png"
    env = {**os.environ, "BOT_DATA_DIR": str(tmp_path / "data"), "BOT_NOW": "2018-09-19T12:00"}
    env.pop("BOT_CONFIG", None)
    run = subprocess.run([sys.executable, "-m", "bot", "stats", "--out", str(out), "--lang", "en"], capture_output=True,
                         text=True, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr
    assert png_size(out.read_bytes()) == (1500, 1000)
    missing = subprocess.run([sys.executable, "-m", "bot", "stats", "--out", str(tmp_path / "x.png")],
                             capture_output=True, text=True, cwd=ROOT, env={**env, "BOT_DATA_DIR": str(tmp_path / "no")})
    assert missing.returncode != 0 and "no database" in missing.stderr and not (tmp_path / "x.png").exists()
