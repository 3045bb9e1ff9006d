"""Accuracy of the matcher on the evaluation sets, beside the naive baseline, in one run.

    python bench/eval.py            # tables per language and kind (markdown) for both sets
    python bench/eval.py --failures # also list what goes wrong

Two sets: bench/eval_questions.yaml (the evaluation set; matcher weights and config thresholds were
tuned on it) and bench/eval_holdout.yaml (written later by someone who saw only the press release and
the entry ids with their answers — not the knowledge base's example questions nor the first set — and
never used for tuning: how the matcher does on questions nobody tuned for).

Ours: `Brain.ask` exactly as the bot answers (thresholds from config.yaml, clock 2018-09-19 10:00 KST).
Correct means: a confident answer with an expected entry; for `@time` questions, an answer from the
clock; for out-of-domain questions (expect null), the honest "I don't know" (a "did you mean" counts
as wrong). Baseline: `rapidfuzz.process.extractOne(query, all example questions, scorer=fuzz.WRatio,
processor=utils.default_process, score_cutoff=C)`, with the cut-off C that is best for the baseline
on this very set (so the baseline gets every advantage).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answer import Brain  # noqa: E402
from bot.config import load_config  # noqa: E402

NOW = datetime.fromisoformat("2018-09-19T10:00:00+09:00")
TARGETS = {"ko": 95.0, "en": 90.0, "ood": 90.0}


def load_questions(path: Path) -> list[dict]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in items:
        exp = item.get("expect")
        item["expected"] = set(exp) if isinstance(exp, list) else ({exp} if exp else set())
        item["group"] = "ood" if item["kind"] == "ood" else item["lang"]
    return items


class Baseline:
    def __init__(self, brain: Brain) -> None:
        self.choices: list[str] = []
        self.owner: list[str] = []
        for e in brain.kb.entries:
            for q in e.questions.all():
                self.choices.append(q)
                self.owner.append(e.id)

    def best(self, query: str) -> tuple[str | None, float]:
        hit = process.extractOne(query, self.choices, scorer=fuzz.WRatio, processor=utils.default_process)
        return (self.owner[hit[2]], hit[1]) if hit else (None, 0.0)


def judge_ours(brain: Brain, item: dict) -> tuple[bool, str]:
    ans = brain.ask(item["q"], NOW)
    if item["expected"] == {"@time"}:
        return ans.outcome == "time", f"{ans.outcome}:{ans.entry}"
    if not item["expected"]:
        return ans.outcome in ("none", "empty"), f"{ans.outcome}:{ans.entry or ans.candidates[:2]}"
    return ans.outcome == "answer" and ans.entry in item["expected"], \
        f"{ans.outcome}:{ans.entry or ans.candidates[:3]} ({ans.score})"


def judge_baseline(hit: tuple[str | None, float], cutoff: float, item: dict) -> bool:
    entry, score = hit
    answered = entry if score >= cutoff else None
    if item["expected"] == {"@time"}:
        return False  # the baseline has no clock
    if not item["expected"]:
        return answered is None
    return answered in item["expected"]


def pct(ok: int, n: int) -> str:
    return f"{100 * ok / n:5.1f} %" if n else "  –  "


SETS = {
    "eval_questions.yaml": "evaluation set (thresholds and weights were tuned on it)",
    "eval_holdout.yaml": "held-out set (written separately from the seed and the entry list, not used to tune)",
}


def run_set(brain: Brain, cfg, path: Path, failures: bool) -> bool:
    """Print the table of one question file; True when its targets are met."""
    items = load_questions(path)
    known = {e.id for e in brain.kb.entries} | {"@time"}
    unknown = sorted({x for it in items for x in it["expected"]} - known)
    if unknown:
        raise SystemExit(f"{path.name} names unknown entries: {unknown}")
    baseline = Baseline(brain)
    hits = [baseline.best(it["q"]) for it in items]
    cutoffs = range(50, 101, 2)
    best_cut = max(cutoffs, key=lambda c: sum(judge_baseline(h, c, it) for h, it in zip(hits, items, strict=True)))
    ours = [judge_ours(brain, it) for it in items]

    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for it, (ok, _), hit in zip(items, ours, hits, strict=True):
        for key in ((it["group"], it["kind"]), (it["group"], "ALL")):
            r = rows[key]
            r[0] += 1
            r[1] += ok
            r[2] += judge_baseline(hit, best_cut, it)
    print(f"#### {path.name}: {SETS.get(path.name, 'questions')}\n")
    print(f"{len(items)} questions · thresholds confident {cfg.matching.confident} / ambiguous "
          f"{cfg.matching.ambiguous} / margin {cfg.matching.margin} · baseline WRatio cut-off {best_cut}\n")
    print("| group | kind | n | ours | baseline |")
    print("|---|---|---:|---:|---:|")
    order = {"ko": 0, "en": 1, "ood": 2}
    for (group, kind), (n, ok, base) in sorted(rows.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] == "ALL", kv[0][1])):
        name = f"**{kind}**" if kind == "ALL" else kind
        print(f"| {group} | {name} | {n} | {pct(ok, n)} | {pct(base, n)} |")
    total = len(items)
    print(f"| all | **ALL** | {total} | {pct(sum(o for o, _ in ours), total)} | "
          f"{pct(sum(judge_baseline(h, best_cut, it) for h, it in zip(hits, items, strict=True)), total)} |")
    print()
    met = True
    for group, target in TARGETS.items():
        n, ok, _ = rows[(group, "ALL")]
        score = 100 * ok / n if n else 0
        print(f"- {group}: {score:.1f} % (target ≥ {target:.0f} %) — {'met' if score >= target else 'MISSED'}")
        met = met and score >= target
    if failures:
        print("\nFailures (ours):")
        for it, (ok, got) in zip(items, ours, strict=True):
            if not ok:
                print(f"  [{it['lang']}/{it['kind']}] {it['q']!r}: expected {sorted(it['expected']) or 'none'}, got {got}")
    print()
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", action="append",
                        help="question file (repeatable; default: the evaluation set, then the held-out set)")
    parser.add_argument("--failures", action="store_true")
    args = parser.parse_args(argv)
    cfg = load_config(ROOT / "config.yaml", env={})
    brain = Brain.load(cfg.knowledge_dir, cfg.matching)
    paths = [Path(q) for q in args.questions] if args.questions else [ROOT / "bench" / name for name in SETS]
    results = [run_set(brain, cfg, path, args.failures) for path in paths]
    return 0 if results[0] else 1  # the exit status follows the first set (the evaluation set)


if __name__ == "__main__":
    raise SystemExit(main())
