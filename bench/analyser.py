"""What the Korean morphological analyser (Kiwi) buys and costs: accuracy on both evaluation sets,
start-up, memory and latency with `matching.analyser: kiwi` beside `rules` (hand-written particle
stripping only), each measured in a fresh process; plus the installed size of kiwipiepy.

    python bench/analyser.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
ROOT = Path(sys.argv[1]); sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
t0 = time.perf_counter()
from bot.answer import Brain
from bot.config import load_config
cfg = load_config(ROOT / "config.yaml", env={})
cfg = replace(cfg, matching=replace(cfg.matching, analyser=sys.argv[2]))
brain = Brain.load(cfg.knowledge_dir, cfg.matching)
brain.ask("해커톤 대상 누구야", datetime.fromisoformat("2018-09-19T10:00:00+09:00"))
start = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from eval import judge_ours, load_questions
out = {"start": start, "rss": rss}
for name in ("eval_questions.yaml", "eval_holdout.yaml"):
    items = load_questions(ROOT / "bench" / name)
    ok = {"ko": [], "en": [], "ood": []}
    for it in items:
        ok[it["group"]].append(judge_ours(brain, it)[0])
    out[name] = {g: 100 * sum(v) / len(v) for g, v in ok.items()}
now = datetime.fromisoformat("2018-09-19T10:00:00+09:00")
qs = [it["q"] for it in load_questions(ROOT / "bench" / "eval_holdout.yaml")]
times = []
for q in qs:  # new questions: nothing cached
    t = time.perf_counter(); brain.ask(q + " 요", now); times.append(time.perf_counter() - t)
times.sort()
out["p50"] = times[len(times) // 2] * 1000
out["p99"] = times[int(len(times) * 0.99)] * 1000
print(json.dumps(out))
"""


def installed_mb() -> float | None:
    try:
        import kiwipiepy
        import kiwipiepy_model
    except ImportError:
        return None
    site = Path(kiwipiepy.__file__).resolve().parent.parent
    paths = [Path(kiwipiepy.__file__).parent, Path(kiwipiepy_model.__file__).parent, *site.glob("_kiwipiepy*")]
    return sum(f.stat().st_size for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()) / 2**20


def main() -> int:
    rows = {}
    for analyser in ("rules", "kiwi"):
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD, str(ROOT), analyser],
                             capture_output=True, text=True, check=True)
        rows[analyser] = json.loads(out.stdout.strip().splitlines()[-1])
    size = installed_mb()
    print("| analyser | eval ko | eval en | eval ood | held-out ko | held-out en | held-out ood "
          "| start-up s | peak RSS MB | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for analyser, r in rows.items():
        e, h = r["eval_questions.yaml"], r["eval_holdout.yaml"]
        print(f"| {analyser} | {e['ko']:.1f} % | {e['en']:.1f} % | {e['ood']:.1f} % | {h['ko']:.1f} % | "
              f"{h['en']:.1f} % | {h['ood']:.1f} % | {r['start']:.2f} | {r['rss']:.0f} | {r['p50']:.2f} | "
              f"{r['p99']:.2f} |")
    print(f"\nkiwipiepy + kiwipiepy_model installed: {size:.0f} MB" if size else "\nkiwipiepy not installed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
