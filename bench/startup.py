"""Start-up: how long until the bot can answer, and how much memory it holds, each in a fresh process.

    python bench/startup.py               # 3 runs of each, median shown
    python bench/startup.py --repeat 5 --analysers kiwi

For each analyser (config ``matching.analyser``: kiwi, rules) and each state of the on-disk index cache
(cold: ``<data_dir>/cache`` removed first; warm: filled by an earlier run on the same data folder):

* ``ask`` — ``python -m bot ask "해커톤 대상 누구야?"``: wall time from spawn to exit, and the child's peak
  RSS (``ru_maxrss`` from ``os.wait4``);
* ``run`` — ``python -m bot run`` long polling a Bot API emulator (emulator/) in this process: a question
  is waiting before the bot starts; the time from spawn to the emulator receiving the reply
  (``sendMessage`` to that chat), and the bot's RSS right after it (VmRSS; VmHWM = peak, from /proc).

Targets (issue 12): first reply after ``run`` < 1.5 s with a warm cache, ``ask`` < 1.5 s, bot RSS
< 300 MB with Kiwi and < 100 MB with rules. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from procstat import proc_status, stop  # noqa: E402

from emulator import BotApiEmulator  # noqa: E402

TOKEN = "654321:STARTUP-BENCH-TOKEN-abcdef"
QUESTION = "해커톤 대상 누구야?"
CHAT = 4_200_001
NOW = "2018-09-19T10:05"
TARGET_S = 1.5
TARGET_RSS_MB = {"kiwi": 300, "rules": 100}


def write_config(tmp: Path, analyser: str) -> Path:
    path = tmp / f"config-{analyser}.yaml"
    path.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nreload:\n  poll_seconds: 0\n"
                    f"matching:\n  analyser: {analyser}\n", encoding="utf-8")
    return path


def environment(config: Path, data: Path, base_url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "BOT_CONFIG": str(config), "BOT_DATA_DIR": str(data), "BOT_NOW": NOW}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # any value, even "0", would stop Python caching bytecode
    for key in ("BOT_STAFF_IDS", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL"):
        env.pop(key, None)
    if base_url:
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=base_url)
    return env


def measure_ask(config: Path, data: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one `python -m bot ask`."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "ask", QUESTION], cwd=ROOT, env=environment(config, data),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0 or "해커톤" not in out:
        raise RuntimeError(f"ask failed ({proc.returncode}):\n{out}\n{err}")
    return elapsed, usage.ru_maxrss / 1024


def measure_run(config: Path, data: Path) -> tuple[float, float, float]:
    """(seconds to the first reply, RSS MB after it, peak RSS MB) of one `python -m bot run`."""
    with BotApiEmulator(token=TOKEN) as emu, open(data.parent / "bot.log", "ab") as log:
        emu.push_message(CHAT, QUESTION, language_code="ko")  # waiting when the bot first polls
        spawned = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT,
                                env=environment(config, data, emu.base_url), stdout=log, stderr=subprocess.STDOUT)
        try:
            calls = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == CHAT,
                                 timeout=120)
            first = calls[0].time - spawned
            mem = proc_status(proc.pid)
        finally:
            stop(proc, 20)
    return first, mem.get("VmRSS", 0) / 1024, mem.get("VmHWM", 0) / 1024


def verdict(value: float, target: float) -> str:
    return "met" if value < target else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median shown)")
    parser.add_argument("--analysers", default="kiwi,rules")
    args = parser.parse_args(argv)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    try:
        for analyser in args.analysers.split(","):
            config = write_config(tmp, analyser)
            data = tmp / f"data-{analyser}"
            cache = data / "cache"
            for state in ("cold", "warm"):
                asks, runs = [], []
                for _ in range(args.repeat):
                    if state == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                    else:
                        measure_ask(config, data) if not cache.exists() else None
                    asks.append(measure_ask(config, data))
                    if state == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                    runs.append(measure_run(config, data))
                ask_s = statistics.median(a[0] for a in asks)
                ask_mb = statistics.median(a[1] for a in asks)
                run_s = statistics.median(r[0] for r in runs)
                run_mb = statistics.median(r[1] for r in runs)
                run_peak = statistics.median(r[2] for r in runs)
                rows.append((analyser, state, ask_s, ask_mb, run_s, run_mb, run_peak))
                print(f"  {analyser} {state}: ask {[round(a[0], 2) for a in asks]} s, "
                      f"run {[round(r[0], 2) for r in runs]} s", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"median of {args.repeat} fresh processes each; question {QUESTION!r}\n")
    print("| analyser | index cache | `ask` s | `ask` peak RSS MB | `run` first reply s | `run` bot RSS MB (peak) "
          "| targets |")
    print("|---|---|---:|---:|---:|---:|---|")
    for analyser, state, ask_s, ask_mb, run_s, run_mb, run_peak in rows:
        rss_target = TARGET_RSS_MB.get(analyser, 300)
        checks = [f"ask < {TARGET_S} s: {verdict(ask_s, TARGET_S)}",
                  f"RSS < {rss_target} MB: {verdict(run_mb, rss_target)}"]
        if state == "warm":
            checks.insert(1, f"first reply < {TARGET_S} s: {verdict(run_s, TARGET_S)}")
        print(f"| {analyser} | {state} | {ask_s:.2f} | {ask_mb:.0f} | {run_s:.2f} | {run_mb:.0f} ({run_peak:.0f}) "
              f"| {'; '.join(checks)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
