"""Latency per question: the matcher (full `Brain.ask`, as the bot answers) beside the naive baseline
(`process.extractOne` over all example questions), on the real knowledge base and on synthetic ones
10× and 100× its size. Prints p50/p99 in milliseconds.

    python bench/latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answer import Brain  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.knowledge import Entry, Knowledge, Questions  # noqa: E402

NOW = datetime.fromisoformat("2018-09-19T10:00:00+09:00")
FILLER = "alpha bravo charlie delta echo foxtrot golf hotel india juliet 가나 다라 마바 사아 자차 카타 파하 서울 부산 대구".split()


def scaled(kb: Knowledge, factor: int, rng: random.Random) -> Knowledge:
    """The knowledge base with every entry repeated `factor` times, each copy's texts made distinct."""
    if factor == 1:
        return kb
    entries: list[Entry] = list(kb.entries)
    for k in range(1, factor):
        for e in kb.entries:
            tag = f"{rng.choice(FILLER)}{k}"
            entries.append(replace(e, id=f"{e.id}~{k}",
                                   questions=Questions(ko=tuple(f"{q} {tag}" for q in e.questions.ko),
                                                       en=tuple(f"{q} {tag}" for q in e.questions.en)),
                                   keywords=tuple(f"{w}{tag}" for w in e.keywords)))
    return replace(kb, entries=tuple(entries), by_id={e.id: e for e in entries})


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] * 1000, s[min(len(s) - 1, int(len(s) * 0.99))] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    cfg = load_config(ROOT / "config.yaml", env={})
    base = Brain.load(cfg.knowledge_dir, cfg.matching)
    questions = [it["q"] for it in yaml.safe_load((ROOT / "bench" / "eval_questions.yaml").read_text(encoding="utf-8"))]
    rng = random.Random(7)
    print(f"{len(questions)} questions × {args.rounds} rounds per knowledge base\n")
    print("| knowledge base | entries | indexed strings | ours p50 | ours p99 | baseline p50 | baseline p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for factor in (1, 10, 100):
        kb = scaled(base.kb, factor, rng)
        brain = Brain(kb, cfg.matching)
        choices = [q for e in kb.entries for q in e.questions.all()]
        ours, theirs = [], []
        for _ in range(args.rounds):
            for q in questions:
                t0 = time.perf_counter()
                brain.ask(q, NOW)
                ours.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                process.extractOne(q, choices, scorer=fuzz.WRatio, processor=utils.default_process)
                theirs.append(time.perf_counter() - t0)
        o50, o99 = percentiles(ours)
        b50, b99 = percentiles(theirs)
        name = "real" if factor == 1 else f"synthetic {factor}×"
        print(f"| {name} | {len(kb.entries)} | {len(brain.index)} | {o50:.2f} ms | {o99:.2f} ms | {b50:.2f} ms | {b99:.2f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
