"""`python -m bot init DIR …` writes a knowledge folder and config that validate and answer at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_config
from bot.knowledge import load_knowledge
from bot.starter import StarterError, parse_options, write_starter
from harness import ROOT


def bot(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=180, input=input)


def test_init_english_event_validates_and_answers_the_dates(tmp_path) -> None:
    target = tmp_path / "tinyconf"
    run = bot("init", str(target), "--title", "Tiny Conf 2030", "--start", "2030-05-06", "--end", "2030-05-07",
              "--timezone", "Europe/Berlin", "--languages", "en")
    assert run.returncode == 0, run.stderr
    config = target / "config.yaml"
    assert sorted(p.name for p in (target / "knowledge").iterdir()) == [
        "event.yaml", "faq.yaml", "programme.yaml", "speakers.yaml", "venues.yaml"]
    run = bot("--config", str(config), "validate")
    assert run.returncode == 0 and run.stdout.startswith("OK:"), run.stdout + run.stderr
    # both questions in one process (`ask --jsonl`): the matcher is loaded once
    run = bot("--config", str(config), "ask", "--jsonl", input="when is the event?\n행사 언제야?\n")
    assert run.returncode == 0, run.stderr
    dates, korean = (json.loads(line)["reply"] for line in run.stdout.splitlines())
    assert "6 May 2030 to 7 May 2030" in dates
    assert "I don't know" in korean  # not understood, but said in the event's language


def test_init_writes_only_what_the_flags_say(tmp_path) -> None:
    s = parse_options("Test Fest", "2030-05-06", "2030-05-06", "Asia/Seoul", "ko")
    write_starter(tmp_path / "k", s)
    kb = load_knowledge(tmp_path / "k" / "knowledge")
    assert kb.event.languages == ("ko",) and kb.event.name.ko == "Test Fest"
    assert (kb.event.start_date.isoformat(), kb.event.end_date.isoformat()) == ("2030-05-06", "2030-05-06")
    assert str(kb.event.timezone) == "Asia/Seoul"
    assert kb.sessions == () and kb.speakers == () and kb.venues == ()
    assert [f.id for f in kb.faq] == ["event-dates"]
    assert "PLACEHOLDER" in (tmp_path / "k" / "knowledge" / "event.yaml").read_text(encoding="utf-8")
    cfg = load_config(tmp_path / "k" / "config.yaml", env={})
    assert cfg.knowledge_dir == tmp_path / "k" / "knowledge" and str(cfg.timezone) == "Asia/Seoul"


def test_init_bilingual_event_has_both_languages(tmp_path) -> None:
    write_starter(tmp_path / "k", parse_options("Two Tongues", "2030-01-01", "2030-01-03", "Europe/Paris", "ko,en"))
    kb = load_knowledge(tmp_path / "k" / "knowledge")
    assert kb.event.languages == ("ko", "en")
    answer = kb.entry("event-dates").ref.answer
    assert "2030년 1월 1일" in answer.ko and "1 January 2030 to 3 January 2030" in answer.en


def test_init_refuses_a_folder_that_is_not_empty(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    run = bot("init", str(tmp_path), "--title", "X", "--start", "2030-01-01", "--end", "2030-01-01",
              "--timezone", "Europe/Berlin", "--languages", "en")
    assert run.returncode != 0 and "not empty" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("args,word", [
    (("T", "2030-01-02", "2030-01-01", "Europe/Berlin", "en"), "before"),
    (("T", "2030-13-01", "2030-01-01", "Europe/Berlin", "en"), "YYYY-MM-DD"),
    (("T", "2030-01-01", "2030-01-01", "Mars/Base", "en"), "time zone"),
    (("T", "2030-01-01", "2030-01-01", "Europe/Berlin", "fr"), "--languages"),
])
def test_init_bad_options_write_nothing(tmp_path, args, word) -> None:
    with pytest.raises(StarterError, match=word):
        write_starter(Path(tmp_path / "new"), parse_options(*args))
    assert not (tmp_path / "new").exists()
