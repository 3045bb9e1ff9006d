"""Every fact of the press release is in the knowledge base, in Korean and in English."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seed_facts import FACTS

ROOT = Path(__file__).resolve().parent.parent


def squash(text: str) -> str:
    return "".join(text.split()).casefold()


@pytest.fixture(scope="module")
def export() -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "bot", "export"], capture_output=True, text=True, cwd=ROOT, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_fact_list_is_big_enough() -> None:
    assert len(FACTS) >= 60


def test_export_shape(export: list[dict]) -> None:
    ids = [r["id"] for r in export]
    assert len(ids) == len(set(ids))
    for record in export:
        assert record["questions"] and record["answer"]["ko"].strip() and record["answer"]["en"].strip()
        assert "<b>" not in record["answer"]["en"]  # plain text, not Telegram HTML


@pytest.mark.parametrize("ko,en", FACTS, ids=[f"{i}-{en}" for i, (ko, en) in enumerate(FACTS)])
def test_fact_in_both_languages(export: list[dict], ko: str, en: str) -> None:
    korean = squash("\n".join(r["answer"]["ko"] for r in export))
    english = squash("\n".join(r["answer"]["en"] for r in export))
    assert squash(ko) in korean, f"Korean answers lack {ko!r}"
    assert squash(en) in english, f"English answers lack {en!r}"
