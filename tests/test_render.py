"""Rendering: HTML escaping, splitting at Telegram's limit (UTF-16 code units), answers and pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import pages
from bot.knowledge import load_knowledge
from bot.render import Doc, b, export_records, render_entry, won
from emulator import parse_html

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(ROOT / "knowledge")


def test_html_escapes_every_string() -> None:
    doc = Doc().add(b("<script>&"), " a < b > c & \"q\"")
    assert doc.html() == "<b>&lt;script&gt;&amp;</b> a &lt; b &gt; c &amp; \"q\""
    text, entities = parse_html(doc.html())  # what Telegram would show
    assert text == "<script>& a < b > c & \"q\"" and entities[0]["type"] == "bold"
    assert doc.plain() == "<script>& a < b > c & \"q\""


def test_chunks_respect_limit_and_split_between_lines() -> None:
    doc = Doc()
    for i in range(400):
        doc.add(f"line {i:03d} ", b("<&>"), " 해커톤 🏆")
    chunks = doc.html_chunks(limit=4096)
    assert len(chunks) >= 2
    for chunk in chunks:
        shown, _ = parse_html(chunk)
        assert len(shown.encode("utf-16-le")) // 2 <= 4096
        assert not chunk.startswith("\n")
    rejoined = "\n".join(parse_html(c)[0] for c in chunks)
    assert rejoined == doc.plain()


def test_a_single_huge_line_is_cut_inside_without_breaking_emoji() -> None:
    doc = Doc().add("😀" * 3000)  # each emoji is 2 UTF-16 code units
    chunks = doc.html_chunks(limit=4096)
    assert [len(c) for c in chunks] == [2048, 952]
    assert "".join(chunks) == "😀" * 3000


def test_won_formats() -> None:
    assert won(1_000_000, "ko") == "100만원" and won(300_000, "en") == "KRW 300,000"


def test_every_entry_renders_in_both_languages(kb) -> None:
    for entry in kb.entries:
        for lang in ("ko", "en"):
            doc = render_entry(kb, entry, lang)
            assert doc.plain().strip(), entry.id
            parse_html(doc.html())  # valid Telegram HTML


def test_session_render_has_no_invented_time(kb) -> None:
    hackathon = kb.entry("session:hackathon")
    text = render_entry(kb, hackathon, "en").plain()
    assert "time not announced" in text and ":" not in text.split("\n")[1].split("When: ")[1].split("(")[0]


def test_day_page_lists_sessions_with_stars(kb) -> None:
    reply = pages.day(kb, kb.event.days[0], "ko", saved=frozenset({"opening-ceremony"}))
    flat = [btn for row in reply.buttons for btn in row]
    assert any(btn.data == "un:opening-ceremony" and btn.text == "★" for btn in flat)
    assert any(btn.data and btn.data.startswith("sv:") for btn in flat)
    assert all(len((btn.data or "").encode()) <= 64 for btn in flat)


def test_venue_page_has_location(kb) -> None:
    reply = pages.venue(kb, "en")
    lat, lon, title, address = reply.location
    assert 37 < lat < 38 and 126 < lon < 127 and "KINTEX" in title and "Goyang" in address


def test_menu_has_six_buttons_in_both_languages() -> None:
    for lang in ("ko", "en"):
        labels = [btn.text for row in pages.menu_buttons(lang) for btn in row]
        assert len(labels) == 6 and len(set(labels)) == 6


def test_export_records_plain_text(kb) -> None:
    records = list(export_records(kb))
    assert len(records) == len(kb.entries)
    assert all("<b>" not in r["answer"]["ko"] for r in records)
