"""What organisers read: unanswered questions grouped by similarity, statistics, CSV exports."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
from rapidfuzz import fuzz, process

from bot import normalize as N


@dataclass
class QuestionGroup:
    example: str
    count: int
    lang: str
    variants: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)


def group_questions(rows: Iterable[dict[str, Any]], threshold: float = 80.0) -> list[QuestionGroup]:
    """Group similar questions (normalised, fuzzy ≥ threshold) — most frequent groups first."""
    rows = list(rows)
    if not rows:
        return []
    texts = [N.normalize(r["text"]) or r["text"] for r in rows]
    sim = process.cdist(texts, texts, scorer=fuzz.token_set_ratio, dtype=np.float32, workers=1)
    group_of = [-1] * len(rows)
    groups: list[QuestionGroup] = []
    for i, row in enumerate(rows):
        if group_of[i] >= 0:
            continue
        members = [j for j in range(i, len(rows)) if group_of[j] < 0 and sim[i, j] >= threshold]
        for j in members:
            group_of[j] = len(groups)
        variants = list(dict.fromkeys(rows[j]["text"] for j in members))
        cands = json.loads(row.get("candidates") or "[]")
        groups.append(QuestionGroup(example=variants[0], count=len(members), lang=row.get("lang") or "",
                                    variants=variants, candidates=cands))
    groups.sort(key=lambda g: -g.count)
    return groups


def to_csv(rows: Iterable[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def unanswered_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Grouped: one line per group with its count, an example, the variants and the bot's best guesses."""
    groups = group_questions(rows)
    return to_csv(({"count": g.count, "question": g.example, "lang": g.lang, "variants": " | ".join(g.variants),
                    "best_candidates": " ".join(g.candidates)} for g in groups),
                  ["count", "question", "lang", "variants", "best_candidates"])


def stats_text(stats: dict[str, int], lang: str = "en") -> str:
    share = f"{100 * stats['answered'] / stats['questions']:.0f}%" if stats["questions"] else "–"
    if lang == "ko":
        return (f"📊 사용자 {stats['users']} · 구독 {stats['subscribers']} · 차단 {stats['blocked']}\n"
                f"오늘 질문 {stats['questions']} · 답변률 {share}")
    return (f"📊 users {stats['users']} · subscribers {stats['subscribers']} · blocked {stats['blocked']}\n"
            f"questions today {stats['questions']} · answered {share}")
