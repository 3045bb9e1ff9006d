"""The on-disk index cache (bot/cache.py): a hit answers exactly like a fresh build; an edit of the
knowledge, another setting, a corrupt or foreign file, or an unwritable folder never gives a stale
answer — the index is rebuilt (or the bot runs without a cache)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from bot import answer, cache
from bot.answer import Brain
from bot.config import load_config

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.fromisoformat("2018-09-19T10:00:00+09:00")
CFG = load_config(ROOT / "config.yaml", env={})
RULES = replace(CFG.matching, analyser="rules")  # quick to build; the Kiwi case is tested once below


@pytest.fixture()
def kdir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


def no_build(monkeypatch) -> None:
    """From here on, building an index fails the test: only a cache hit can load."""
    def refuse(*args, **kwargs):
        raise AssertionError("the index was rebuilt")
    monkeypatch.setattr(answer, "Index", refuse)


def cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("index-*.pickle"))


def sample_questions(step: int) -> list[str]:
    items = yaml.safe_load((ROOT / "bench" / "eval_questions.yaml").read_text(encoding="utf-8"))
    items += yaml.safe_load((ROOT / "bench" / "eval_holdout.yaml").read_text(encoding="utf-8"))
    return [it["q"] for it in items[::step]]


def outcomes(brain: Brain, questions: list[str]) -> list[tuple]:
    out = []
    for q in questions:
        a = brain.ask(q, NOW)
        inline = [r.entry_id for r in brain.index.rank(brain.parse(q), limit=10, score_cutoff=brain.matching.ambiguous)]
        out.append((a.outcome, a.entry, a.score, tuple(a.candidates), a.reply.doc.plain(), tuple(inline)))
    return out


def test_miss_writes_then_hit_loads_without_building(kdir: Path, tmp_path: Path, monkeypatch) -> None:
    cdir = tmp_path / "cache"
    fresh = Brain.load(kdir, RULES, cache_dir=cdir)
    assert len(cache_files(cdir)) == 1
    no_build(monkeypatch)
    cached = Brain.load(kdir, RULES, cache_dir=cdir)
    assert cached.index is not fresh.index and cached.index.kb is cached.kb
    questions = sample_questions(5)
    assert outcomes(cached, questions) == outcomes(fresh, questions)


@pytest.mark.slow  # builds a Kiwi index (~5 s+)
def test_cached_kiwi_index_answers_like_a_fresh_one(kdir: Path, tmp_path: Path, monkeypatch) -> None:
    """A sample of the evaluation questions (every 3rd of both sets): same outcome, entry, score,
    candidates, reply and inline results from the cached index as from the one just built."""
    cdir = tmp_path / "cache"
    matching = replace(CFG.matching, analyser="kiwi")
    fresh = Brain.load(kdir, matching, cache_dir=cdir)
    assert fresh.index.names  # the names Kiwi knew are kept with the index ...
    no_build(monkeypatch)
    cached = Brain.load(kdir, matching, cache_dir=cdir)
    assert cached.index.names == fresh.index.names  # ... and taught to Kiwi again on loading
    questions = sample_questions(3)
    assert outcomes(cached, questions) == outcomes(fresh, questions)


def test_knowledge_edit_is_a_miss(kdir: Path, tmp_path: Path, monkeypatch) -> None:
    cdir = tmp_path / "cache"
    Brain.load(kdir, RULES, cache_dir=cdir)
    faq = kdir / "faq.yaml"
    text = faq.read_text(encoding="utf-8")
    assert "WSCW" in text
    faq.write_text(text.replace("WSCW", "WSCX", 1), encoding="utf-8")  # one byte
    built = []
    real = answer.Index
    monkeypatch.setattr(answer, "Index", lambda *a: built.append(1) or real(*a))
    edited = Brain.load(kdir, RULES, cache_dir=cdir)
    assert built == [1] and len(cache_files(cdir)) == 2
    Brain.load(kdir, RULES, cache_dir=cdir)  # the edited files are now cached too
    assert built == [1] and edited.kb is not None


@pytest.mark.parametrize("change", [{"analyser": "kiwi"}, {"margin": 2.0}, {"confident": 60.0}, {"ambiguous": 50.0}])
def test_settings_change_is_a_miss(kdir: Path, tmp_path: Path, monkeypatch, change: dict) -> None:
    cdir = tmp_path / "cache"
    Brain.load(kdir, RULES, cache_dir=cdir)
    other = replace(RULES, **change)
    assert cache.cache_key("x", other) != cache.cache_key("x", RULES)
    built = []
    real = answer.Index
    monkeypatch.setattr(answer, "Index", lambda *a: built.append(1) or real(*a))
    brain = Brain.load(kdir, other, cache_dir=cdir)
    assert built == [1] and brain.index.matching == other


def test_code_or_versions_are_in_the_key(monkeypatch) -> None:
    key = cache.cache_key("x", RULES)
    monkeypatch.setattr(cache, "_source_digest", lambda: "edited source")
    assert cache.cache_key("x", RULES) != key
    monkeypatch.undo()
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert cache.cache_key("x", RULES) != key


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_file_is_ignored_and_rebuilt(kdir: Path, tmp_path: Path, monkeypatch, damage: str) -> None:
    cdir = tmp_path / "cache"
    Brain.load(kdir, RULES, cache_dir=cdir)
    (path,) = cache_files(cdir)
    blob = path.read_bytes()
    path.write_bytes({"truncate": blob[: len(blob) // 2],
                      "flip": blob[:-100] + bytes([blob[-100] ^ 0xFF]) + blob[-99:],
                      "garbage": b"\x80\x04not a pickle at all",
                      "empty": b""}[damage])
    import pickle
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("a damaged file was unpickled"))
    built = []
    real = answer.Index
    monkeypatch.setattr(answer, "Index", lambda *a: built.append(1) or real(*a))
    brain = Brain.load(kdir, RULES, cache_dir=cdir)
    assert built == [1] and brain.ask("해커톤 대상 누구야", NOW).outcome == "answer"
    assert path.read_bytes() != b"" and cache.IndexCache(cdir).path(cache.cache_key(
        cache.files_digest(kdir), RULES)) == path  # rewritten, valid again
    monkeypatch.undo()
    assert cache.IndexCache(cdir).get(cache.cache_key(cache.files_digest(kdir), RULES)) is not None


def test_a_valid_file_under_the_wrong_key_is_not_trusted(kdir: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    brain = Brain.load(kdir, RULES, cache_dir=cdir)
    store = cache.IndexCache(cdir)
    store.put("a" * 64, brain.index)
    store.path("a" * 64).rename(store.path("b" * 64))  # checksum fine, key inside says "aaa…"
    assert store.get("b" * 64) is None and not store.path("b" * 64).exists()


def test_unwritable_folder_means_no_cache(kdir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    brain = Brain.load(kdir, RULES, cache_dir=blocker / "cache")  # cannot be created, even by root
    assert brain.ask("해커톤 대상 누구야", NOW).outcome == "answer"
    assert blocker.read_text() == "x"


def test_old_files_are_pruned(kdir: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    brain = Brain.load(kdir, RULES, cache_dir=cdir)
    store = cache.IndexCache(cdir)
    for i in range(cache.KEEP + 3):
        store.put(f"{i:02d}" + "0" * 62, brain.index)
    assert len(cache_files(cdir)) == cache.KEEP


def test_same_bytes_are_parsed_once_per_process(kdir: Path, monkeypatch) -> None:
    parsed = []
    real = cache.load_knowledge
    monkeypatch.setattr(cache, "load_knowledge", lambda d: parsed.append(d) or real(d))
    kb1, digest1 = cache.load_knowledge_once(kdir)
    kb2, digest2 = cache.load_knowledge_once(kdir)
    assert len(parsed) == 1 and kb2 is kb1 and digest1 == digest2
    (kdir / "faq.yaml").write_text((kdir / "faq.yaml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    kb3, digest3 = cache.load_knowledge_once(kdir)
    assert len(parsed) == 2 and kb3 is not kb1 and digest3 != digest1
