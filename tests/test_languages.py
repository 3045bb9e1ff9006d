"""An event declares its languages (`event.languages`): validation asks only for those, and every reply,
menu and /lang choice stays within them. A tiny English-only event, written here, through the checker,
`python -m bot validate` and the real bot against the emulator."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, Text, load_knowledge
from bot.texts import text as say_text
from harness import ROOT, BotRunner, Chat, buttons, frozen_clock, make_config

EVENT = """\
event:
  name: {en: Tiny Conf 2030}
  short_name: TinyConf
  start_date: 2030-05-06
  end_date: 2030-05-07
  timezone: Europe/Berlin
  languages: [en]
  contact:
    name: {en: Front desk}
    organisation: {en: Tiny Conf team}
    phone: "+49 30 000000"
"""

FAQ = """\
faq:
  - id: wifi
    questions:
      en: [what is the wifi password, wifi]
    answer: {en: The wifi is called tiny and needs no password.}
  - id: lunch
    questions:
      en: [where is lunch, when is lunch served]
    answer: {en: Lunch is served in the foyer at noon.}
"""

PROGRAMME = """\
speakers:
  - id: ada
    name: {en: Ada Example}
    title: {en: Engineer}
sessions:
  - id: keynote
    days: 2030-05-06
    title: {en: Opening keynote}
    start: "09:00"
    end: "10:00"
    speakers: [ada]
"""


def write_event(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    contents = {"event.yaml": EVENT, "faq.yaml": FAQ, "programme.yaml": PROGRAMME} | files
    for name, text in contents.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_english_only_event_is_valid_with_english_texts_only(tmp_path) -> None:
    kb = load_knowledge(write_event(tmp_path / "k"))
    assert kb.event.languages == ("en",)
    assert kb.entry("wifi").questions.ko == ()
    assert kb.entry("session:keynote").questions.ko == ()  # no Korean phrasings made up for it
    assert kb.event.reply_lang("ko") == "en"


def test_export_gives_answers_in_the_declared_languages_only(tmp_path) -> None:
    from bot.render import export_records

    records = list(export_records(load_knowledge(write_event(tmp_path / "k"))))
    assert records and all(list(r["answer"]) == ["en"] for r in records)


def test_default_languages_are_korean_and_english() -> None:
    kb = load_knowledge(ROOT / "knowledge")
    assert kb.event.languages == ("ko", "en")


def test_missing_declared_language_is_an_error(tmp_path) -> None:
    faq = FAQ.replace("answer: {en: Lunch is served in the foyer at noon.}", "answer: {}")
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge(write_event(tmp_path / "k", **{"faq.yaml": faq}))
    assert any("faq[lunch].answer" in str(p) and "English" in p.message for p in exc.value.problems)


def test_language_outside_the_declared_ones_is_an_error_naming_them(tmp_path) -> None:
    faq = FAQ.replace("answer: {en: The wifi is called tiny and needs no password.}",
                      "answer: {en: The wifi is called tiny., ko: 와이파이}")
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge(write_event(tmp_path / "k", **{"faq.yaml": faq}))
    [problem] = exc.value.problems
    assert problem.field == "faq[wifi].answer.ko" and "'en'" in problem.message and "unknown language" in problem.message


def test_korean_only_event_requires_korean_and_refuses_english(tmp_path) -> None:
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge(write_event(tmp_path / "k", **{"event.yaml": EVENT.replace("[en]", "[ko]")}))
    messages = [str(p) for p in exc.value.problems]
    assert any("Korean text ('ko:') is missing" in m for m in messages)
    assert any("unknown language 'en'" in m for m in messages)


def test_unknown_declared_language_is_an_error(tmp_path) -> None:
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge(write_event(tmp_path / "k", **{"event.yaml": EVENT.replace("[en]", "[fr]")}))
    assert any(p.field == "event.languages" and "'fr'" in p.message for p in exc.value.problems)


def test_text_falls_back_to_the_language_that_is_there() -> None:
    assert Text(en="Hall A").get("ko") == "Hall A"
    assert Text(ko="A홀").get("en") == "A홀"
    assert Text(ko="A홀", en="Hall A").get("ko") == "A홀"


def test_validate_command_accepts_english_only_and_names_declared_languages(tmp_path) -> None:
    good = write_event(tmp_path / "good")
    run = subprocess.run([sys.executable, "-m", "bot", "validate", str(good)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("OK:"), run.stdout + run.stderr
    bad = write_event(tmp_path / "bad", **{"faq.yaml": FAQ.replace("en: [where is lunch", "ko: [where is lunch")})
    run = subprocess.run([sys.executable, "-m", "bot", "validate", str(bad)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert run.returncode == 1
    assert "faq[lunch].questions.ko: unknown language 'ko': this event's languages are 'en'" in run.stdout


# ---------------------------------------------------------------- the real bot


@pytest.fixture(scope="module")
def bot(emu, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("english-only")
    cfg = make_config(tmp, emu)
    cfg = replace(cfg, knowledge_dir=write_event(tmp / "knowledge"))
    runner = BotRunner(cfg, frozen_clock(cfg, "2030-05-06T08:00"), share=False).start()
    yield runner
    runner.stop()


def test_command_menus_exist_only_in_the_declared_language(bot, emu) -> None:
    assert emu.bot_commands(language_code="en")
    assert not emu.bot_commands(language_code="ko")


def test_korean_question_is_answered_in_english(bot, emu) -> None:
    reply = Chat(emu, user_id=5101, lang="ko").say("와이파이 비밀번호 뭐야?")
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in reply.params["text"]), reply.params["text"]


def test_english_question_gets_the_faq_answer(bot, emu) -> None:
    reply = Chat(emu, user_id=5102, lang="ko").say("what is the wifi password?")
    assert "needs no password" in reply.params["text"]


def test_start_in_a_korean_app_greets_in_english(bot, emu) -> None:
    reply = Chat(emu, user_id=5103, lang="ko").say("/start")
    assert "Tiny Conf 2030" in reply.params["text"]
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in reply.params["text"] + str(buttons(reply)))


def test_lang_in_a_single_language_event_says_so_and_is_not_offered(bot, emu) -> None:
    c = Chat(emu, user_id=5104, lang="ko")
    for command in ("/lang", "/lang ko", "/lang en"):
        reply = c.say(command)
        assert reply.params["text"] == say_text("lang_only", "en") and not buttons(reply)
    assert bot.core.store.chosen_lang(5104) is None
    assert "lang" not in {cmd["command"] for cmd in emu.bot_commands(language_code="en")}
    assert "lang" not in {cmd["command"] for cmd in emu.bot_commands()}  # the default menu too
    assert "/lang" not in c.say("/help").params["text"]
