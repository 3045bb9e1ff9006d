"""Broken knowledge files: every kind of mistake is reported with file, line and field, all at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge

EVENT = """\
event:
  name: {ko: 월드 스마트시티 위크, en: World Smart City Week}
  short_name: WSCW 2018
  start_date: 2018-09-18
  end_date: 2018-09-20
  timezone: Asia/Seoul
  contact:
    name: {ko: 담당자, en: Officer}
    organisation: {ko: 국토교통부, en: MOLIT}
    phone: "044-201-4878"
"""

GOOD = """\
venues:
  - id: kintex
    name: {ko: 킨텍스, en: KINTEX}
speakers:
  - id: oh
    name: {ko: 오명, en: Oh Myung}
    title: {ko: 전 부총리, en: former Deputy Prime Minister}
sessions:
  - id: opening
    days: [2018-09-18]
    start: "16:00"
    title: {ko: 개막식, en: Opening ceremony}
    venue: kintex
    speakers: [oh]
faq:
  - id: dates
    questions:
      ko: [언제 해요]
      en: [when is it]
    answer: {ko: 9월 18일부터, en: From 18 September}
"""


def write_kb(tmp_path: Path, body: str, name: str = "main.yaml") -> Path:
    (tmp_path / "event.yaml").write_text(EVENT, encoding="utf-8")
    (tmp_path / name).write_text(textwrap.dedent(body), encoding="utf-8")
    return tmp_path


def problems_of(directory: Path) -> list:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return info.value.problems


def test_good_tiny_kb_loads(tmp_path: Path) -> None:
    kb = load_knowledge(write_kb(tmp_path, GOOD))
    assert [s.id for s in kb.sessions] == ["opening"]
    assert kb.entry("session:opening").ref.start.hour == 16
    assert kb.entry("dates").questions.ko == ("언제 해요",)


# (what is broken, file body, expected line, expected field substring)
BROKEN = [
    ("yaml syntax", GOOD.replace("    start: \"16:00\"", "    start: \"16:00"), None, "(syntax)"),
    ("tab indentation", GOOD.replace("    name: {ko: 킨텍스", "\tname: {ko: 킨텍스"), 3, "(indentation)"),
    ("file is a list", "- id: x\n", 1, "(file)"),
    ("unknown section", GOOD + "sesions:\n  - id: y\n", 21, "sesions"),
    ("section not a list", "faq:\n  id: x\n", 1, "faq"),
    ("entry not a mapping", "faq:\n  - just text\n", 2, "faq[1]"),
    ("missing required field", GOOD.replace("    answer: {ko: 9월 18일부터, en: From 18 September}\n", ""), 16, "faq[dates]"),
    ("unknown field typo", GOOD.replace("    start: \"16:00\"", "    strat: \"16:00\""), 11, "sessions[opening].strat"),
    ("missing English", GOOD.replace("{ko: 개막식, en: Opening ceremony}", "{ko: 개막식}"), 12, "sessions[opening].title"),
    ("empty Korean", GOOD.replace("{ko: 개막식, en: Opening ceremony}", "{ko: '', en: Opening ceremony}"), 12, "sessions[opening].title.ko"),
    ("text instead of translations", GOOD.replace("{ko: 개막식, en: Opening ceremony}", "Opening ceremony"), 12, "sessions[opening].title"),
    ("empty question list", GOOD.replace("      en: [when is it]", "      en: []"), 19, "faq[dates].questions.en"),
    ("duplicate id", GOOD + "  - id: dates\n    questions: {ko: [a], en: [b]}\n    answer: {ko: 가, en: b}\n", 21, "faq[dates].id"),
    ("bad id", GOOD.replace("- id: dates", "- id: Dates Info"), 16, "].id"),
    ("bad date", GOOD.replace("days: [2018-09-18]", "days: [2018-09-31]"), 10, "sessions[opening].days[1]"),
    ("day outside event", GOOD.replace("days: [2018-09-18]", "days: [2018-09-21]"), 10, "sessions[opening].days[1]"),
    ("bad time", GOOD.replace('start: "16:00"', 'start: "4pm"'), 11, "sessions[opening].start"),
    ("end before start", GOOD.replace('start: "16:00"', 'start: "16:00"\n    end: "15:00"'), 12, "sessions[opening].end"),
    ("end without start", GOOD.replace('start: "16:00"', 'end: "17:00"'), 11, "sessions[opening].end"),
    ("unknown speaker", GOOD.replace("speakers: [oh]", "speakers: [oh, kim]"), 14, "sessions[opening].speakers[2]"),
    ("unknown venue", GOOD.replace("venue: kintex", "venue: coex"), 13, "sessions[opening].venue"),
    ("bad kind", GOOD.replace('start: "16:00"', 'start: "16:00"\n    kind: party'), 12, "sessions[opening].kind"),
    ("wrong type number", GOOD.replace("  - id: kintex\n", "  - id: kintex\n    latitude: north\n"), 3, "venues[kintex].latitude"),
    ("latitude out of range", GOOD.replace("  - id: kintex\n", "  - id: kintex\n    latitude: 137.6\n"), 3, "venues[kintex].latitude"),
    ("duplicate key", GOOD.replace("    start: \"16:00\"\n", "    start: \"16:00\"\n    start: \"17:00\"\n"), 12, "start"),
    ("list item empty", GOOD.replace("speakers: [oh]", "speakers: [oh, '']"), 14, "sessions[opening].speakers[2]"),
    ("negative amount", "awards:\n  - id: a\n    competition: {ko: 대회, en: Contest}\n    prize: {ko: 대상, en: Grand}\n    amount_krw: -5\n", 5, "awards[a].amount_krw"),
    ("winner without work", "awards:\n  - id: a\n    competition: {ko: 대회, en: Contest}\n    prize: {ko: 대상, en: Grand}\n    winners:\n      - team: MBA\n", 6, "awards[a].winners[1]"),
]


@pytest.mark.parametrize("what,body,line,field", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_reports_file_line_field(tmp_path: Path, what: str, body: str, line: int | None, field: str) -> None:
    problems = problems_of(write_kb(tmp_path, body))
    mine = [p for p in problems if p.file.endswith("main.yaml")]
    assert mine, f"{what}: no problem reported in main.yaml: {problems}"
    match = [p for p in mine if field in p.field and (line is None or p.line == line)]
    assert match, f"{what}: expected line {line} field {field!r}, got {[str(p) for p in mine]}"
    assert all(str(p).startswith(f"{p.file}:{p.line}: ") for p in problems)


def test_syntax_error_line_is_near_the_mistake(tmp_path: Path) -> None:
    problems = problems_of(write_kb(tmp_path, GOOD.replace("    venue: kintex", "    venue: [kintex")))
    assert problems[0].field == "(syntax)" and 14 <= problems[0].line <= 16


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    body = GOOD.replace("{ko: 개막식, en: Opening ceremony}", "{ko: 개막식}").replace("speakers: [oh]", "speakers: [kim]")
    (tmp_path / "other.yaml").write_text("faq:\n  - id: x\n    answer: {ko: 가, en: b}\n", encoding="utf-8")
    problems = problems_of(write_kb(tmp_path, body))
    fields = {p.field for p in problems}
    assert {"sessions[opening].title", "sessions[opening].speakers[1]", "faq[x]"} <= fields


def test_missing_event_section(tmp_path: Path) -> None:
    write_kb(tmp_path, GOOD)
    (tmp_path / "event.yaml").unlink()
    assert any(p.field == "event" for p in problems_of(tmp_path))


def test_event_twice(tmp_path: Path) -> None:
    write_kb(tmp_path, GOOD)
    shutil.copy(tmp_path / "event.yaml", tmp_path / "event2.yaml")
    assert any(p.file.endswith("event2.yaml") and p.field == "event" for p in problems_of(tmp_path))


def test_not_utf8(tmp_path: Path) -> None:
    write_kb(tmp_path, GOOD)
    (tmp_path / "main.yaml").write_bytes("faq: # 한글\n".encode("euc-kr"))
    problems = problems_of(tmp_path)
    assert problems[0].file.endswith("main.yaml") and problems[0].line == 1 and "UTF-8" in problems[0].message


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    write_kb(tmp_path, GOOD)
    ok = subprocess.run([sys.executable, "-m", "bot", "validate", str(tmp_path)], capture_output=True, text=True)
    assert ok.returncode == 0 and "1 sessions" in ok.stdout
    write_kb(tmp_path, GOOD.replace("speakers: [oh]", "speakers: [kim]"))
    bad = subprocess.run([sys.executable, "-m", "bot", "validate", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"{tmp_path / 'main.yaml'}:14: sessions[opening].speakers[1]:" in bad.stdout


def test_real_knowledge_base_is_valid() -> None:
    kb = load_knowledge(Path(__file__).resolve().parent.parent / "knowledge")
    assert len(kb.sessions) >= 15 and len(kb.speakers) >= 4 and len(kb.faq) >= 30


# ---------------------------------------------------------------- issue 12 item 3: each field declared once


ALLOWED = {
    "venues": "id, name, address, latitude, longitude, description, aliases, questions",
    "pavilions": "id, name, venue, description, aliases, questions",
    "speakers": "id, name, title, topic, quote, bio, aliases, questions",
    "sessions": ("id, days, title, start, end, venue, room, speakers, kind, description, track, type, language, "
                 "aliases, questions"),
    "awards": "id, competition, prize, category, honour, amount_krw, note, winners, aliases, questions, from",
    "faq": "id, title, topic, from, event_status, questions, keywords, answer",
}


@pytest.mark.parametrize("section", list(ALLOWED))
def test_fields_and_their_order_come_from_the_model(tmp_path: Path, section: str) -> None:
    """The checks are read from the model's field declarations: an unknown field lists exactly the model's
    fields (in the order organisers have always seen), and required = declared without a default."""
    from dataclasses import MISSING, fields

    from bot.knowledge import MODELS

    problems = problems_of(write_kb(tmp_path, f"{section}:\n  - zzzzzz: 1\n"))
    unknown = [p.message for p in problems if p.field.endswith(".zzzzzz")]
    assert unknown == [f"unknown field 'zzzzzz' (allowed: {ALLOWED[section]})"]
    model = MODELS[section]
    required = {f.name for f in fields(model) if f.default is MISSING and f.default_factory is MISSING}
    missing = {p.message.split("'")[1] for p in problems if p.message.endswith("is required and missing")}
    in_files = {f.metadata.get("key") or f.name for f in fields(model)}  # `from:` is the field from_
    assert missing == required and set(ALLOWED[section].split(", ")) == in_files
