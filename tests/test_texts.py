"""One text catalogue per language (bot/texts.py), one language rule, one command registry
(handlers/commands.py), and no sentences left in handlers/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot import pages
from bot.knowledge import load_knowledge
from bot.texts import EN, KO, counted, lang_of, parse_lang, pick_lang, placeholders, text

ROOT = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


def test_both_catalogues_have_the_same_keys() -> None:
    assert sorted(set(KO) - set(EN)) == [] and sorted(set(EN) - set(KO)) == []


def test_both_catalogues_have_the_same_placeholders() -> None:
    differ = {k: (placeholders(KO[k]), placeholders(EN[k])) for k in KO if placeholders(KO[k]) != placeholders(EN[k])}
    assert differ == {}


def test_placeholders_finds_names_and_skips_format_specs() -> None:
    assert placeholders("{average:.2f} ({votes}) — {title}") == {"average", "votes", "title"}
    assert placeholders("no fields") == set()


def test_english_texts_are_english() -> None:
    """Every English text, staff screens included (they speak the staff member's language), is free of
    Hangul, except where it names the other language."""
    allowed = {"choose_lang", "lang_button_ko", "cmd.lang", "help.lang"}
    korean = [k for k, v in EN.items() if HANGUL.search(v) and k not in allowed]
    assert korean == []


def test_korean_staff_screens_are_korean() -> None:
    """The Korean staff texts are translated, not the English ones copied (the keys without letters aside)."""
    same = [k for k in KO if k.startswith(("staff.", "reload.", "chart.", "cmd.")) and KO[k] == EN[k]
            and re.search(r"[A-Za-z]{3}", re.sub(r"\{[^}]*\}", "", KO[k]))]
    assert same == []


def test_counted_picks_the_singular_for_one() -> None:
    assert text("staff.queued", "en", id=3, n=1) != counted("staff.queued", "en", 1, id=3)
    assert counted("staff.queued", "en", 1, id=3) == "📣 #3 queued for 1 subscriber…"
    assert counted("staff.queued", "en", 2, id=3) == "📣 #3 queued for 2 subscribers…"
    assert counted("staff.queued", "ko", 1, id=3) == "📣 #3 구독자 1명에게 발송 대기 중…"


def test_text_fills_placeholders_and_falls_back_to_english() -> None:
    assert text("agenda.saved", "ko", m=15) == "내 일정에 추가했어요. 시작 15분 전에 알려 드릴게요."
    assert text("agenda.saved", "de", m=15) == text("agenda.saved", "en", m=15)
    with pytest.raises(KeyError):
        text("agenda.saved", "en")  # a missing value is an error, not a silent "{m}"


@pytest.mark.parametrize("code, lang", [("ko", "ko"), ("ko-KR", "ko"), ("KO", "ko"), ("en-GB", "en"), ("de", "en"),
                                        ("", "en"), (None, "en")])
def test_lang_of(code: str | None, lang: str) -> None:
    assert lang_of(code) == lang


def test_pick_lang_precedence_chosen_then_question_then_app() -> None:
    assert pick_lang(chosen="en", question="ko", app="ko") == "en"
    assert pick_lang(chosen=None, question="ko", app="en") == "ko"
    assert pick_lang(chosen=None, question=None, app="ko-KR") == "ko"
    assert pick_lang() == "en"


def test_parse_lang() -> None:
    words = ("ko", "KR", "한국어", "english", "영어", "fr")
    assert [parse_lang(w) for w in words] == ["ko", "ko", "ko", "en", "en", None]


def test_star_labels_flip_in_both_languages() -> None:
    for lang in ("ko", "en"):
        add = pages.star("s1", False, lang, label=True)
        remove = pages.star("s1", True, lang, label=True)
        assert pages.flip_star(add.text, True) == remove.text
        assert pages.flip_star(remove.text, False) == add.text
    assert pages.flip_star("☆", True) == "★"


def string_literals(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_string_literals_skip_docstrings(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('"""도움말"""\ndef f():\n    """함수"""\n    return f"안녕 {1}"\n', encoding="utf-8")
    assert string_literals(probe) == [(4, "안녕 ")]


def test_handlers_hold_no_korean_text() -> None:
    """Every sentence comes from the catalogue: no Hangul in the string literals of handlers/."""
    found = [f"{p.name}:{line}: {value!r}" for p in sorted((ROOT / "handlers").glob("*.py"))
             for line, value in string_literals(p) if HANGUL.search(value)]
    assert found == []


def test_help_lists_the_registry_commands() -> None:
    from handlers.commands import COMMANDS, help_lines, menu

    kb = load_knowledge(ROOT / "knowledge")
    for lang in ("ko", "en"):
        page = pages.help_page(kb, lang, "wscwbot", help_lines(lang)).doc.plain()
        listed = [c.name for c in COMMANDS if c.help_line is not None]
        assert all(f"/{name} {text(f'help.{name}', lang)}" in page for name in listed)
        assert "@wscwbot" in page
        attendee = [c.command for c in menu(lang)]
        staff = [c.command for c in menu(lang, staff=True)]
        assert staff[: len(attendee)] == attendee and "broadcast" in staff and "broadcast" not in attendee
        assert all(c.description == text(f"cmd.{c.command}", lang) for c in menu(lang, staff=True))
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
