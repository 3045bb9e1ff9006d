"""Staff answers saved as FAQ entries (bot/staff_faq.py): a separate file, validated with the real loader
before it is written, appended (never rewritten), any characters round-trip, and the next similar question
is answered from it."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.answer import Brain
from bot.config import Matching
from bot.knowledge import load_knowledge
from bot.staff_faq import FILE_NAME, StaffFaqError, save_answer
from bot.texts import text

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Seoul")
NOW = datetime(2018, 9, 18, 14, 5, tzinfo=TZ)
LANGS = ("ko", "en")


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.name != FILE_NAME}


def test_saved_answer_answers_the_next_similar_question(kb_dir: Path) -> None:
    brain = Brain.load(kb_dir, Matching(analyser="rules"))
    asked = "Is there a cloakroom where I can leave my luggage?"
    assert brain.ask("where can I leave my luggage cloakroom", NOW).outcome != "answer"
    before = digests(kb_dir)

    entry_id = save_answer(kb_dir, asked, "Yes: the cloakroom is next to Hall 3, open 9:00-18:00.", "en", LANGS, NOW)

    assert entry_id == "staff-20180918-1405-1"
    assert digests(kb_dir) == before  # the organisers' own files are untouched
    content = (kb_dir / FILE_NAME).read_text(encoding="utf-8")
    assert content.startswith("# ====") and "Save as FAQ" in content  # the header for organisers
    assert "TO TRANSLATE (ko)" in content
    brain = Brain.load(kb_dir, Matching(analyser="rules"))
    answer = brain.ask("is there a cloakroom to leave luggage", NOW, "en")
    assert answer.outcome == "answer" and answer.entry == entry_id
    assert "next to Hall 3" in answer.reply.doc.html()
    # the reader of the other language gets the answer, marked as not translated yet — never an empty one
    korean = brain.ask("is there a cloakroom to leave luggage", NOW, "ko")
    html = korean.reply.doc.html()
    assert korean.entry == entry_id and "next to Hall 3" in html and text("faq.untranslated_en", "ko") in html


@pytest.mark.parametrize("tricky", [
    'He said "yes": it\'s at 16:00 # not a comment',
    "- a dash first\n  then an indented line\n\nand a blank line",
    "<b>bold?</b> & <a href='x'>link</a> 🎉🙏 이모지",
    "yes",
    "null",
    "{not: a mapping}, [nor, a list]",
    "tab\there, a line separator\u2028and NEL\x85too",
    "'single' \"double\" \\backslash\\ %percent @at `tick` |pipe >gt *star &amp !bang",
])
def test_any_characters_round_trip(kb_dir: Path, tricky: str) -> None:
    entry_id = save_answer(kb_dir, f"question {tricky}", tricky, "ko", LANGS, NOW)
    kb = load_knowledge(kb_dir)
    faq = kb.entry(entry_id).ref
    assert faq.answer.ko == tricky.strip()
    assert faq.answer.en.startswith(tricky.strip()) and faq.answer.en.endswith(text("faq.untranslated_ko", "en"))
    assert faq.questions.ko == (f"question {tricky}".strip(),)


def test_entries_are_appended_with_unique_ids_and_edits_kept(kb_dir: Path) -> None:
    first = save_answer(kb_dir, "first question", "first answer", "en", LANGS, NOW)
    path = kb_dir / FILE_NAME
    # an organiser's edit (here a note at the end) is kept byte for byte by the next save
    edited = path.read_text(encoding="utf-8") + "  # an organiser's note at the end\n"
    path.write_text(edited, encoding="utf-8")
    second = save_answer(kb_dir, "second question", "second answer", "en", LANGS, NOW)
    third = save_answer(kb_dir, "third question", "third answer", "en", LANGS, NOW.replace(minute=6))
    assert (first, second, third) == ("staff-20180918-1405-1", "staff-20180918-1405-2", "staff-20180918-1406-1")
    content = path.read_text(encoding="utf-8")
    assert content.startswith(edited)
    assert [e["id"] for e in yaml.safe_load(content)["faq"]] == [first, second, third]
    assert not [p for p in kb_dir.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind


def test_a_file_reindented_by_an_editor_is_still_appended_to(kb_dir: Path) -> None:
    save_answer(kb_dir, "first question", "first answer", "en", LANGS, NOW)
    path = kb_dir / FILE_NAME
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")  # "- id" at column 0
    second = save_answer(kb_dir, "second question", "second answer", "en", LANGS, NOW)
    assert load_knowledge(kb_dir).entry(second) is not None


def test_nothing_is_written_when_the_folder_would_not_load(kb_dir: Path) -> None:
    (kb_dir / "zz_broken.yaml").write_text("faq:\n  - id: broken\n    questions: {ko: [], en: [x]}\n", encoding="utf-8")
    with pytest.raises(StaffFaqError) as err:
        save_answer(kb_dir, "a question", "an answer", "en", LANGS, NOW)
    assert "zz_broken.yaml" in str(err.value) and str(kb_dir) in str(err.value)  # the real path, not the copy
    assert not (kb_dir / FILE_NAME).exists()


def test_a_bad_topic_or_an_empty_answer_is_refused(kb_dir: Path) -> None:
    with pytest.raises(StaffFaqError, match="topic"):
        save_answer(kb_dir, "a question", "an answer", "en", LANGS, NOW, topic="gossip")
    with pytest.raises(StaffFaqError, match="empty"):
        save_answer(kb_dir, "a question", "  \n ", "en", LANGS, NOW)
    assert not (kb_dir / FILE_NAME).exists()


def test_an_unappendable_layout_is_refused_and_left_alone(kb_dir: Path) -> None:
    path = kb_dir / FILE_NAME
    path.write_text("faq: []\nsynonyms: []\n", encoding="utf-8")
    with pytest.raises(StaffFaqError, match="layout"):
        save_answer(kb_dir, "a question", "an answer", "en", LANGS, NOW)
    assert path.read_text(encoding="utf-8") == "faq: []\nsynonyms: []\n"


def test_a_one_language_event_gets_no_translation_marks(tmp_path: Path) -> None:
    from bot.starter import parse_options, write_starter

    folder = tmp_path / "event"
    write_starter(folder, parse_options("Tiny Conf", "2031-05-14", "2031-05-15", "Europe/Berlin", "en"))
    kb_dir = next(p.parent for p in folder.rglob("*.yaml") if p.name != "config.yaml")
    entry_id = save_answer(kb_dir, "is there wifi", "Yes, the network is TinyConf.", "en", ("en",), NOW)
    content = (kb_dir / FILE_NAME).read_text(encoding="utf-8")
    entries = content.split("\nfaq:\n", 1)[1]
    assert "TO TRANSLATE" not in entries and "ko:" not in entries
    assert load_knowledge(kb_dir).entry(entry_id).ref.answer.en == "Yes, the network is TinyConf."
