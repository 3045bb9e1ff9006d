"""Choose the matching thresholds: sweep confident / ambiguous / margin on the eval set and print the
best settings (in-domain accuracy with out-of-domain rejection ≥ 92 %), plus the top-1 ceiling.

    python bench/calibrate.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eval import NOW, load_questions  # noqa: E402

from bot.answer import Brain  # noqa: E402
from bot.config import load_config  # noqa: E402


def main() -> int:
    cfg = load_config(ROOT / "config.yaml", env={})
    brain = Brain.load(cfg.knowledge_dir, cfg.matching)
    items = load_questions(ROOT / "bench" / "eval_questions.yaml")
    index = brain.index
    rows = []
    for it in items:
        if brain.ask(it["q"], NOW).outcome in ("time", "empty"):
            rows.append((it, None))
            continue
        scores = index.scores(it["q"])
        order = scores.argsort()[::-1][:3]
        cands = [(index.entry_ids[i], float(scores[i])) for i in order]
        rows.append((it, cands))
    top1 = sum(1 for it, c in rows if c and it["expected"] and c[0][0] in it["expected"])
    indomain = sum(1 for it, _ in rows if it["expected"] and it["expected"] != {"@time"})
    print(f"top-1 ceiling (in-domain, non-time): {top1}/{indomain} = {100 * top1 / indomain:.1f} %")

    def outcome(cands, conf, amb, margin):
        best_id, best = cands[0]
        if best < amb:
            return "none", None
        rivals = [s for e, s in cands[1:] if not index.related(best_id, e)]
        if best >= conf and best - (rivals[0] if rivals else 0) >= margin:
            return "answer", best_id
        return "ambiguous", None

    results = []
    for conf, amb, margin in itertools.product(range(40, 86, 2), range(30, 72, 2), (0, 2, 4, 6, 8, 10)):
        if amb > conf:
            continue
        ok = {"ko": 0, "en": 0, "ood": 0}
        n = {"ko": 0, "en": 0, "ood": 0}
        for it, cands in rows:
            g = it["group"]
            n[g] += 1
            if cands is None:
                ok[g] += it["expected"] == {"@time"}
                continue
            kind, entry = outcome(cands, conf, amb, margin)
            ok[g] += (kind == "none") if not it["expected"] else (kind == "answer" and entry in it["expected"])
        acc = {g: 100 * ok[g] / n[g] for g in n}
        results.append((acc, conf, amb, margin))
    feasible = [r for r in results if r[0]["ood"] >= float(sys.argv[1] if len(sys.argv) > 1 else 92)]
    feasible.sort(key=lambda r: -(r[0]["ko"] * 219 + r[0]["en"] * 108))
    for acc, conf, amb, margin in feasible[:10]:
        print(f"confident {conf} ambiguous {amb} margin {margin}: ko {acc['ko']:.1f} en {acc['en']:.1f} ood {acc['ood']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
