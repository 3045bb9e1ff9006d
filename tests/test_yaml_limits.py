"""Hostile or mistaken knowledge files (issue 11, item 3): alias bombs, deep nesting, tags, merge keys
and huge files each give one clear `file:line: field: message` — quickly, without a traceback, a
RecursionError or a MemoryError — and reading files leaks nothing from one load to the next."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from bot.yamlsource import MAX_ALIASES, MAX_DEPTH, MAX_FILE_BYTES, Problem, load_yaml

ROOT = Path(__file__).resolve().parent.parent


def billion_laughs() -> str:
    """The classic: 10 levels of 10 aliases each, ~500 bytes, 10¹⁰ strings once expanded."""
    names = "abcdefghij"
    lines = ["a: &a [" + ",".join(["lol"] * 10) + "]"]
    for prev, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def read(tmp_path: Path, text: str, name: str = "bad.yaml") -> tuple[object, list[Problem]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    return load_yaml(path, problems), problems


def only_problem(tmp_path: Path, text: str) -> Problem:
    started = time.perf_counter()
    doc, problems = read(tmp_path, text)
    assert time.perf_counter() - started < 2, "refusing a bad file must be quick"
    assert doc is None and len(problems) == 1, problems
    assert str(problems[0]).startswith(f"{tmp_path / 'bad.yaml'}:{problems[0].line}: ")
    return problems[0]


def test_alias_bomb_is_refused_at_the_alias_that_explodes(tmp_path: Path) -> None:
    bomb = billion_laughs()
    assert len(bomb.encode()) < 500
    p = only_problem(tmp_path, bomb)
    assert p.field == "(alias)" and "200,000 values" in p.message
    assert p.line == 6  # f: the running total (a…e: 123,455 values) passes 200,000 there


def test_too_many_aliases(tmp_path: Path) -> None:
    text = "x: &x hello\nitems:\n" + "".join("  - *x\n" for _ in range(MAX_ALIASES + 5))
    p = only_problem(tmp_path, text)
    assert p.field == "(alias)" and p.line == 3 + MAX_ALIASES and f"more than {MAX_ALIASES} aliases" in p.message


def test_a_few_aliases_still_work_and_keep_their_lines(tmp_path: Path) -> None:
    doc, problems = read(tmp_path, "base: &b\n  ko: 가\n  en: a\nfaq:\n  - answer: *b\n  - answer: *b\n")
    assert problems == [] and doc.data["faq"][1]["answer"] == {"ko": "가", "en": "a"}
    assert doc.line(("faq", 1, "answer")) == 6 and doc.line(("faq", 1, "answer", "en")) == 3


def test_alias_inside_what_it_repeats(tmp_path: Path) -> None:
    p = only_problem(tmp_path, "faq: &a\n  - id: x\n  - *a\n")
    assert p.field == "(alias)" and p.line == 3


@pytest.mark.parametrize("text,line", [
    ("faq: " + "[" * 20000 + "]" * 20000 + "\n", 1),  # flow style: libyaml's own limit speaks first
    ("faq: " + "[" * 500 + "]" * 500 + "\n", 1),
    ("faq:\n" + "".join("  " * i + "-\n" for i in range(1, 200)), MAX_DEPTH + 1),  # block style
], ids=["flow-20000", "flow-500", "block-200"])
def test_deep_nesting(tmp_path: Path, text: str, line: int) -> None:
    p = only_problem(tmp_path, text)
    assert p.field == "(nesting)" and p.line == line and f"more than {MAX_DEPTH} levels" in p.message


@pytest.mark.parametrize("value,shown", [
    ("!!python/name:os.system", "!!python/name:os.system"),
    ("!!python/object:__main__.Evil {a: 1}", "!!python/object:__main__.Evil"),
    ("!!python/object/apply:os.system [echo hi]", "!!python/object/apply:os.system"),
    ("!secret abc", "!secret"),
    ("!!binary aGVsbG8=", "!!binary"),
    ("!!set {a, b}", "!!set"),
])
def test_tags_are_refused(tmp_path: Path, value: str, shown: str) -> None:
    p = only_problem(tmp_path, f"faq:\n  - id: x\n    answer: {value}\n")
    assert p.field == "(tag)" and p.line == 3
    assert f"'{shown}' are not allowed" in p.message


def test_merge_key_is_refused(tmp_path: Path) -> None:
    p = only_problem(tmp_path, "base: &b {ko: 가, en: a}\nfaq:\n  - id: x\n    answer:\n      <<: *b\n")
    assert p.field == "(merge key)" and p.line == 5 and p.message.startswith("merge keys (<<) are not supported")


def test_plain_standard_tags_and_odd_scalars_are_fine(tmp_path: Path) -> None:
    doc, problems = read(tmp_path, "a: !!str 12\nb: =\nc: 16:00\nd: 2018-09-18\ne: '<<'\n")
    assert problems == [] and doc.data == {"a": "12", "b": "=", "c": "16:00", "d": "2018-09-18", "e": "<<"}


def test_second_document(tmp_path: Path) -> None:
    p = only_problem(tmp_path, "faq: []\n---\nfaq: []\n")
    assert p.field == "(syntax)" and p.line == 2


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    with path.open("wb") as f:  # sparse: 60 MB that take no disk space
        f.truncate(60 * 2**20)
    started = time.perf_counter()
    problems: list[Problem] = []
    assert load_yaml(path, problems) is None
    assert time.perf_counter() - started < 0.5
    assert [(p.line, p.field) for p in problems] == [(1, "(file)")]
    assert "60.0 MB" in problems[0].message and f"at most {MAX_FILE_BYTES // 2**20} MB" in problems[0].message


def test_loading_leaks_nothing_between_loads() -> None:
    """Reading kept every parsed node (and a copy of each file's text) in a module-level loader:
    +3 MB per reload of the real knowledge base, for ever."""
    load_knowledge(ROOT / "knowledge")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            load_knowledge(ROOT / "knowledge")
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1_000_000, f"{grown / 1e6:.1f} MB kept after 5 loads"


def test_hostile_files_in_a_folder_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "event.yaml").write_text((ROOT / "knowledge" / "event.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "a_bomb.yaml").write_text(billion_laughs(), encoding="utf-8")
    (tmp_path / "b_tag.yaml").write_text("faq: !!python/name:os.system\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(tmp_path)
    assert {(Path(p.file).name, p.field) for p in info.value.problems} == {("a_bomb.yaml", "(alias)"),
                                                                           ("b_tag.yaml", "(tag)")}


def test_cli_validate_prints_file_line_problems_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "event.yaml").write_text((ROOT / "knowledge" / "event.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "bomb.yaml").write_text(billion_laughs(), encoding="utf-8")
    (tmp_path / "deep.yaml").write_text("faq: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    (tmp_path / "tag.yaml").write_text("faq:\n  - id: x\n    answer: !!python/object/apply:os.system [id]\n", encoding="utf-8")
    (tmp_path / "merge.yaml").write_text("b: &b {ko: 가, en: a}\nfaq:\n  - id: y\n    <<: *b\n", encoding="utf-8")
    with (tmp_path / "huge.yaml").open("wb") as f:
        f.truncate(60 * 2**20)
    out = subprocess.run([sys.executable, "-m", "bot", "validate", str(tmp_path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    for expected in (f"{tmp_path / 'bomb.yaml'}:6: (alias): ", f"{tmp_path / 'deep.yaml'}:1: (nesting): ",
                     f"{tmp_path / 'tag.yaml'}:3: (tag): ", f"{tmp_path / 'merge.yaml'}:4: (merge key): ",
                     f"{tmp_path / 'huge.yaml'}:1: (file): the file is 60.0 MB"):
        assert expected in out.stdout, out.stdout
