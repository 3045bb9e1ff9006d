"""Accuracy of the matcher on the evaluation sets, beside the naive baseline, in one run.

    python bench/eval.py                      # tables per language and kind (markdown) for every set
    python bench/eval.py --failures           # also list what goes wrong
    python bench/eval.py --sets nearmiss,chitchat   # only some sets (eval, holdout, nearmiss, chitchat,
                                                    # nearmiss-holdout, chitchat-holdout)

Four sets: bench/eval_questions.yaml (the evaluation set; matcher weights and config thresholds were
tuned on it) and bench/eval_holdout.yaml (written later by someone who saw only the press release and
the entry ids with their answers — not the knowledge base's example questions nor the first set — and
never used for tuning: how the matcher does on questions nobody tuned for); bench/eval_nearmiss.yaml
(practical questions the knowledge base does not cover — parking, wifi, food… — and questions whose key
word is one jamo or letter from a knowledge word) and bench/eval_chitchat.yaml (everyday small talk),
both expect-null only and written separately from the tuning (issue 14); bench/eval_nearmiss_holdout.yaml
and bench/eval_chitchat_holdout.yaml are the same kinds of question written later by someone who saw
neither those sets nor the matcher, and never used to tune.

Ours: `Brain.ask` exactly as the bot answers (thresholds from config.yaml, clock 2018-09-19 10:00 KST).
Correct means: a confident answer with an expected entry; for `@time` questions, an answer from the
clock; for out-of-domain questions (expect null), the honest "I don't know" (a "did you mean" counts
as wrong). Baseline: `rapidfuzz.process.extractOne(query, all example questions, scorer=fuzz.WRatio,
processor=utils.default_process, score_cutoff=C)`, with the cut-off C that is best for the baseline
on this very set (so the baseline gets every advantage).

Confident-wrong: the worst outcome — a confident answer (an entry, or the clock) that is not the
expected one; for expect-null questions any confident answer. For the expect-null sets the report
splits every question into honest ("I don't know"; on the chit-chat set a small-talk reply counts too),
did-you-mean (not honest, not confident-wrong), confident-wrong and other (a small-talk reply to a
near-miss question). Targets: near-miss honest ≥ 95 %, chit-chat honest ≥ 99 %.
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
NULL_TARGETS = {"eval_nearmiss.yaml": 95.0, "eval_chitchat.yaml": 99.0,  # honest % on the expect-null sets
                "eval_nearmiss_holdout.yaml": 95.0, "eval_chitchat_holdout.yaml": 99.0}
HONEST = ("none", "empty")
CONFIDENT = ("answer", "time", "list")  # outcomes that state something: wrong ones are confident-wrong


def load_questions(path: Path) -> list[dict]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in items:
        exp = item.get("expect")
        item["expected"] = set(exp) if isinstance(exp, list) else ({exp} if exp else set())
        item["group"] = "ood" if item["kind"] == "ood" else item["lang"]
        item["smalltalk_ok"] = item["kind"] == "chitchat"  # a small-talk reply is right for chit-chat
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


def judge(ans, item: dict) -> tuple[bool, str, str]:
    """(correct, class, what we got) of one answer: class is `right`, `dym` (a "did you mean" that is
    not right), `cw` (confident-wrong: an entry or the clock that is not expected) or `other` (an honest
    "I don't know" where an entry was expected; a small-talk reply where it does not count)."""
    if item["expected"] == {"@time"}:
        ok, got = ans.outcome == "time", f"{ans.outcome}:{ans.entry}"
    elif not item["expected"]:
        ok = ans.outcome in HONEST or (item.get("smalltalk_ok", False) and ans.outcome == "smalltalk")
        got = f"{ans.outcome}:{ans.entry or ans.candidates[:2]}"
    else:
        ok = ans.outcome == "answer" and ans.entry in item["expected"]
        got = f"{ans.outcome}:{ans.entry or ans.candidates[:3]} ({ans.score})"
    cls = "right" if ok else "cw" if ans.outcome in CONFIDENT else "dym" if ans.outcome == "ambiguous" else "other"
    return ok, cls, got


def judge_ours(brain: Brain, item: dict) -> tuple[bool, str]:
    ok, _, got = judge(brain.ask(item["q"], NOW), item)
    return ok, got


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
    "eval_nearmiss.yaml": "near-miss set (things the knowledge base does not cover, words one letter from a "
                          "knowledge word; written separately, expect the honest \"I don't know\")",
    "eval_chitchat.yaml": "chit-chat set (everyday small talk; \"I don't know\" or a small-talk reply is right)",
    "eval_nearmiss_holdout.yaml": "held-out near-miss set (like the near-miss set, written without seeing the "
                                  "tuning sets or the matcher; never used to tune)",
    "eval_chitchat_holdout.yaml": "held-out chit-chat set (like the chit-chat set, written without seeing the "
                                  "tuning sets or the matcher; never used to tune)",
}
SET_KEYS = {"eval": "eval_questions.yaml", "holdout": "eval_holdout.yaml",
            "nearmiss": "eval_nearmiss.yaml", "chitchat": "eval_chitchat.yaml",
            "nearmiss-holdout": "eval_nearmiss_holdout.yaml", "chitchat-holdout": "eval_chitchat_holdout.yaml"}
GROUP_ORDER = {"ko": 0, "en": 1, "ood": 2, "all": 3}


class SetResult:
    """Per group (ko, en, ood, all): counts of each judgement class, for the summary."""

    def __init__(self, name: str, null_set: bool, targets: dict[str, float], met: bool) -> None:
        self.name, self.null_set, self.targets, self.met = name, null_set, targets, met
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, group: str, cls: str) -> None:
        for g in (group, "all"):
            self.counts[g][cls] += 1
            self.counts[g]["n"] += 1

    def share(self, group: str, cls: str) -> float:
        c = self.counts[group]
        return 100 * c[cls] / c["n"] if c["n"] else 0.0


def confident_wrong_line(res: SetResult) -> str:
    groups = sorted(res.counts, key=lambda g: GROUP_ORDER.get(g, 9))
    parts = " · ".join(f"{g} {res.share(g, 'cw'):.1f} % ({res.counts[g]['cw']})" for g in groups)
    return f"- confident-wrong (an entry or the clock that is not expected): {parts}"


def run_set(brain: Brain, cfg, path: Path, failures: bool) -> SetResult:
    """Print the table of one question file; the result knows whether its targets are met."""
    items = load_questions(path)
    if all(not it["expected"] for it in items) and any(it["kind"] != "ood" for it in items):
        return run_null_set(brain, cfg, path, items, failures)
    known = {e.id for e in brain.kb.entries} | {"@time"}
    unknown = sorted({x for it in items for x in it["expected"]} - known)
    if unknown:
        raise SystemExit(f"{path.name} names unknown entries: {unknown}")
    baseline = Baseline(brain)
    hits = [baseline.best(it["q"]) for it in items]
    cutoffs = range(50, 101, 2)
    best_cut = max(cutoffs, key=lambda c: sum(judge_baseline(h, c, it) for h, it in zip(hits, items, strict=True)))
    judged = [judge(brain.ask(it["q"], NOW), it) for it in items]
    ours = [(ok, got) for ok, _, got in judged]

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
    for (group, kind), (n, n_ok, base) in sorted(rows.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] == "ALL", kv[0][1])):
        name = f"**{kind}**" if kind == "ALL" else kind
        print(f"| {group} | {name} | {n} | {pct(n_ok, n)} | {pct(base, n)} |")
    total = len(items)
    print(f"| all | **ALL** | {total} | {pct(sum(o for o, _ in ours), total)} | "
          f"{pct(sum(judge_baseline(h, best_cut, it) for h, it in zip(hits, items, strict=True)), total)} |")
    print()
    met = True
    for group, target in TARGETS.items():
        n, n_ok, _ = rows[(group, "ALL")]
        score = 100 * n_ok / n if n else 0
        print(f"- {group}: {score:.1f} % (target ≥ {target:.0f} %) — {'met' if score >= target else 'MISSED'}")
        met = met and score >= target
    res = SetResult(path.name, False, TARGETS, met)
    for it, (_, cls, _) in zip(items, judged, strict=True):
        res.add(it["group"], cls)
    print(confident_wrong_line(res))
    if failures:
        print("\nFailures (ours):")
        for it, (ok, got) in zip(items, ours, strict=True):
            if not ok:
                print(f"  [{it['lang']}/{it['kind']}] {it['q']!r}: expected {sorted(it['expected']) or 'none'}, got {got}")
    print()
    return res


def run_null_set(brain: Brain, cfg, path: Path, items: list[dict], failures: bool) -> SetResult:
    """An expect-null set (near-miss, chit-chat): honest / did-you-mean / confident-wrong per language."""
    target = NULL_TARGETS.get(path.name, 95.0)
    judged = [judge(brain.ask(it["q"], NOW), it) for it in items]
    res = SetResult(path.name, True, {"ko": target, "en": target, "all": target}, False)
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for it, (_, cls, got) in zip(items, judged, strict=True):
        res.add(it["group"], cls)
        smalltalk = got.startswith("smalltalk:")
        for key in ((it["group"], it["kind"]), (it["group"], "ALL"), ("all", "ALL")):
            rows[key]["n"] += 1
            rows[key][cls] += 1
            rows[key]["smalltalk"] += smalltalk and cls == "right"
    print(f"#### {path.name}: {SETS.get(path.name, 'questions that expect no entry')}\n")
    print(f"{len(items)} questions · thresholds confident {cfg.matching.confident} / ambiguous "
          f"{cfg.matching.ambiguous} / margin {cfg.matching.margin} · every question expects no entry\n")
    print("| group | kind | n | honest | of which small talk | did you mean | confident wrong | other |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (group, kind), c in sorted(rows.items(), key=lambda kv: (GROUP_ORDER.get(kv[0][0], 9), kv[0][1] == "ALL",
                                                                  kv[0][1])):
        name = f"**{kind}**" if kind == "ALL" else kind
        n = c["n"]
        print(f"| {group} | {name} | {n} | {pct(c['right'], n)} | {pct(c['smalltalk'], n)} | {pct(c['dym'], n)} | "
              f"{pct(c['cw'], n)} | {pct(c['other'], n)} |")
    print()
    for group in ("ko", "en", "all"):
        honest = res.share(group, "right")
        print(f"- {group}: honest {honest:.1f} % (target ≥ {target:.0f} %) — "
              f"{'met' if honest >= target else 'MISSED'} · did you mean {res.share(group, 'dym'):.1f} % · "
              f"confident-wrong {res.share(group, 'cw'):.1f} % ({res.counts[group]['cw']})")
    res.met = res.share("all", "right") >= target
    if failures:
        print("\nFailures (ours):")
        for it, (ok, cls, got) in zip(items, judged, strict=True):
            if not ok:
                label = {"cw": "CONFIDENT-WRONG", "dym": "did you mean", "other": "other"}[cls]
                print(f"  [{it['lang']}/{it['kind']}] {it['q']!r}: {label}, got {got}")
    print()
    return res


def print_summary(results: list[SetResult]) -> None:
    """One table over all sets: correct (or honest), did-you-mean and confident-wrong per language."""
    print("#### Summary: confident-wrong rate per set\n")
    print("| set | group | n | correct / honest | did you mean | confident wrong | target |")
    print("|---|---|---:|---:|---:|---:|---|")
    for res in results:
        for group in sorted(res.counts, key=lambda g: GROUP_ORDER.get(g, 9)):
            target = res.targets.get(group)
            right = res.share(group, "right")
            verdict = "" if target is None else f"≥ {target:.0f} % — {'met' if right >= target else 'MISSED'}"
            label = "honest" if res.null_set else "correct"
            name = f"**{group}**" if group == "all" else group
            print(f"| {res.name} | {name} | {res.counts[group]['n']} | {right:.1f} % {label} | "
                  f"{res.share(group, 'dym'):.1f} % | {res.share(group, 'cw'):.1f} % | {verdict} |")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", action="append",
                        help="question file (repeatable; default: every set, see --sets)")
    parser.add_argument("--sets", default=",".join(SET_KEYS),
                        help=f"comma-separated sets to run, in this order (default: {','.join(SET_KEYS)})")
    parser.add_argument("--failures", action="store_true")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SET_KEYS]
    if unknown or not chosen:
        parser.error(f"unknown set(s) {unknown}; choose from {', '.join(SET_KEYS)}")
    cfg = load_config(ROOT / "config.yaml", env={})
    brain = Brain.load(cfg.knowledge_dir, cfg.matching)
    paths = [Path(q) for q in args.questions] if args.questions else [ROOT / "bench" / SET_KEYS[s] for s in chosen]
    results = [run_set(brain, cfg, path, args.failures) for path in paths]
    if len(results) > 1:
        print_summary(results)
    return 0 if results[0].met else 1  # the exit status follows the first set (the evaluation set)


if __name__ == "__main__":
    raise SystemExit(main())
