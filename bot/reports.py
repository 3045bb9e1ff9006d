"""What organisers read: unanswered questions grouped by similarity, statistics, CSV exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from bot import normalize as N
from bot.knowledge import Knowledge
from bot.store import shown
from bot.texts import counted, text


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


def stats_text(stats: dict[str, int], lang: str = "en", problem: str | None = None) -> str:
    """/stats: users, subscribers, today's questions and the share answered; a database problem first."""
    share = f"{100 * stats['answered'] / stats['questions']:.0f}%" if stats["questions"] else "–"
    body = text("stats", lang, users=stats["users"], subscribers=stats["subscribers"], blocked=stats["blocked"],
                questions=stats["questions"], share=share)
    return f"{text('staff.problem', lang, problem=problem)}\n\n{body}" if problem else body


def unanswered_text(rows: list[dict[str, Any]], lang: str = "en", limit: int = 20) -> str:
    """/unanswered: the last day's unanswered questions, grouped, most frequent first."""
    groups = group_questions(rows)
    if not groups:
        return text("staff.unanswered_none", lang)
    lines = [text("staff.unanswered_head", lang, questions=counted("staff.n_questions", lang, len(rows)),
                  groups=counted("staff.n_groups", lang, len(groups)))]
    for g in groups[:limit]:
        more = counted("staff.unanswered_variants", lang, len(g.variants) - 1) if len(g.variants) > 1 else ""
        lines.append(text("staff.unanswered_line", lang, count=g.count, example=g.example) + more)
    return "\n".join(lines)


def ratings_text(kb: Knowledge, summary: Iterable[dict[str, Any]], comments: Iterable[dict[str, Any]],
                 tz: tzinfo, lang: str = "en") -> str:
    """/ratings: average and votes per session, then the latest comments."""
    lines = [text("staff.ratings_head", lang)]
    for row in summary:
        s = kb.session(row["session_id"])
        lines.append(text("staff.ratings_line", lang, average=row["average"], votes=row["votes"],
                          title=s.title.en if s else row["session_id"]))
    if len(lines) == 1:
        lines.append(text("staff.ratings_none", lang))
    lines.append(text("staff.comments_head", lang))
    lines += [text("staff.comment_line", lang, at=shown(r["at"], tz), language=r["lang"], text=r["text"])
              for r in comments] or [text("staff.comments_none", lang)]
    return "\n".join(lines)
