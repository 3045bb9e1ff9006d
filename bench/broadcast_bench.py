"""Broadcast benchmark: one announcement to many subscribers through the Bot API emulator, at the rate
of the configuration, with and without trouble on the way.

    .venv/bin/python bench/broadcast_bench.py            # the real thing: 20,000 subscribers at 25/s
                                                         # (config.yaml broadcast.rate_per_second);
                                                         # ~14 min per scenario, ~45 min for all three
    .venv/bin/python bench/broadcast_bench.py --quick    # 2,000 subscribers at 200/s: about a minute
    .venv/bin/python bench/broadcast_bench.py --subscribers 5000 --rate 50 --scenarios clean,faults
    .venv/bin/python bench/broadcast_bench.py --quick --rtt 0.05   # the API answering in 50 ms

A scenario takes about subscribers / rate seconds (plus start-up and the outbox job's 2 s pick-up), so
``--subscribers`` and ``--rate`` trade realism for time; ``--quick`` is a shortcut for
``--subscribers 2000 --rate 200``.

Each scenario runs against a fresh emulator and a fresh data folder:

1. every subscriber chat is registered in the emulator (``add_chat``) and in the SQLite store
   (``Store.add_users``: ids 200000000+i, language ko/en alternately, subscribed);
2. the bot runs as in production: ``python -m bot run`` with a temporary BOT_CONFIG
   (``broadcast.rate_per_second: <rate>``, ``reload.poll_seconds: 0``), BOT_DATA_DIR, TELEGRAM_BOT_TOKEN,
   TELEGRAM_BASE_URL pointing at the emulator;
3. once the bot is up, the announcement is queued with ``python -m bot broadcast --text-en … --text-ko …``
   (writes the outbox into the database; the running bot's outbox job, every 2 s, picks it up);
4. the benchmark watches the database until the announcement is ``done``, stops the bot (SIGTERM) and
   counts what the emulator recorded.

Scenarios (``--scenarios``, default all three):

* ``clean``  - nothing goes wrong.
* ``faults`` - 5 % of the subscribers blocked the bot (``block_chat``: 403) and a sample of the others
  (``--retry-share``, default 0.1 %, at least 2) get one 429 "retry after 1" each
  (``fail_with_retry_after``).
* ``limit``  - 5 % blocked, and the emulator enforces a global send rate slightly below the bot's
  (``enforce_rate``: 90 % of ``--rate``, rounded down), so the bot meets real 429s.

Measures, per scenario:

* achieved rate - deliveries processed (sent + blocked + failed: each subscriber's last send attempt
  in the emulator, ``Call.time``) per second from the first to the last one, and as a share of the
  configured rate (target >= 95 %); "steady" is the same between the 10th and the 90th percentile of
  processed deliveries (without the token bucket's initial burst and the tail);
* lost - subscribers that did not block the bot and never got the announcement (target 0);
* duplicates - announcements delivered more than once to the same chat (target 0 without a crash);
* 429s answered to the bot, the database's final counts (they must agree with the emulator), the delay
  from queueing to the first send, the bot's CPU time per delivery and its memory.

``--rtt S`` makes the emulator answer every sendMessage S seconds late (as a distant API server would;
the message is recorded first): the broadcaster sends one message at a time, so this shows how the
achieved rate depends on the API's response time.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import proc_cpu, proc_status, stop  # noqa: E402

from bot.config import load_config  # noqa: E402
from bot.store import Store  # noqa: E402
from emulator import BotApiEmulator  # noqa: E402

TOKEN = "654321:BROADCAST-BENCH-abcdef"
FIRST_ID = 200_000_000
TEXT_EN = "Closing ceremony today at 17:00 in KINTEX Hall 1 — see you there! Results: /results"
TEXT_KO = "폐막식은 오늘 17시 킨텍스 1홀에서 열려요. 결과는 /results 에서 확인하세요!"
SCENARIOS = ("clean", "faults", "limit")


@dataclass
class Outcome:
    scenario: str
    subscribers: int
    rate: float
    blocked_chats: int = 0
    retry_chats: int = 0
    server_limit: int | None = None
    processed_times: list[float] = field(default_factory=list)
    sent_unique: int = 0
    duplicates: int = 0
    lost: int = 0
    lost_sample: list[int] = field(default_factory=list)
    errors_429: int = 0
    other_errors: Counter = field(default_factory=Counter)
    db_counts: dict = field(default_factory=dict)
    status: str = "?"
    queued_at: float = 0.0
    done_at: float | None = None
    cpu_seconds: float = float("nan")
    rss_kb: int = 0
    startup: float = 0.0
    note: str = ""

    @property
    def processed(self) -> int:
        return len(self.processed_times)

    def achieved(self) -> float:
        t = self.processed_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else float("nan")

    def steady(self) -> float:
        t = self.processed_times
        if len(t) < 20:
            return float("nan")
        lo, hi = int(len(t) * 0.1), int(len(t) * 0.9)
        return (hi - lo) / (t[hi] - t[lo]) if t[hi] > t[lo] else float("nan")


def wait_for_method(emu: BotApiEmulator, method: str, alive, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = emu.calls_of(method)
        if calls:
            return calls[0].time
        if not alive():
            raise RuntimeError("the bot exited during start-up")
        time.sleep(0.02)
    raise RuntimeError(f"the bot did not call {method} within {timeout:.0f} s")


def db_state(db_path: Path, ann_id: int) -> tuple[str | None, dict]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("select status from announcements where id = ?", [ann_id]).fetchone()
        counts = dict(conn.execute("select status, count(*) from deliveries where announcement_id = ? "
                                   "group by status", [ann_id]).fetchall())
    finally:
        conn.close()
    return (row[0] if row else None), counts


def run_scenario(name: str, args) -> Outcome:
    n, rate = args.subscribers, args.rate
    out = Outcome(name, n, rate)
    rng = random.Random(args.seed)
    ids = list(range(FIRST_ID, FIRST_ID + n))
    blocked: set[int] = set()
    retry: list[int] = []
    if name in ("faults", "limit"):
        blocked = set(rng.sample(ids, round(n * args.blocked_share)))
    if name == "faults":
        others = [i for i in ids if i not in blocked]
        retry = rng.sample(others, min(len(others), max(2, round(n * args.retry_share))))
    out.blocked_chats, out.retry_chats = len(blocked), len(retry)

    tmp = Path(tempfile.mkdtemp(prefix=f"bc-{name}-"))
    data = tmp / "data"
    cfg_path = tmp / "config.yaml"
    cfg_path.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nbroadcast:\n  rate_per_second: {rate:g}\n"
                        "reload:\n  poll_seconds: 0\n", encoding="utf-8")
    store = Store.in_dir(data)
    store.add_users({"id": i, "lang": "ko" if k % 2 == 0 else "en"} for k, i in enumerate(ids))
    store.close()
    log_path = tmp / "bot.log"
    proc = None
    try:
        with BotApiEmulator(token=TOKEN) as emu, open(log_path, "wb") as log:
            for i in ids:
                emu.add_chat(i)
            for i in blocked:
                emu.block_chat(i)
            for i in retry:
                emu.fail_with_retry_after(i, 1, times=1)
            if name == "limit":
                out.server_limit = max(1, math.floor(rate * 0.9))
                emu.enforce_rate(out.server_limit)
            if args.rtt > 0:
                emu.delay("sendMessage", args.rtt)
            env = {**os.environ, "BOT_CONFIG": str(cfg_path), "BOT_DATA_DIR": str(data), "TELEGRAM_BOT_TOKEN": TOKEN,
                   "TELEGRAM_BASE_URL": emu.base_url}
            for var in ("BOT_STAFF_IDS", "BOT_NOW"):
                env.pop(var, None)
            spawned = time.time()
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
            try:
                # deleteWebhook is the last call before polling starts: the bot is running
                out.startup = wait_for_method(emu, "deleteWebhook", lambda: proc.poll() is None, 60) - spawned
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}\n{log_path.read_text(errors='replace')[-3000:]}") from exc
            cpu0 = proc_cpu(proc.pid)
            queued = subprocess.run([sys.executable, "-m", "bot", "broadcast", "--text-en", TEXT_EN, "--text-ko", TEXT_KO],
                                    cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            if queued.returncode != 0:
                raise RuntimeError(f"python -m bot broadcast failed: {queued.stderr}")
            out.queued_at = time.time()
            ann_id = int(queued.stdout.split()[0])
            expected = n / rate
            deadline = time.monotonic() + expected * 3 + 120 + (n * args.rtt if args.rtt else 0)
            last_report = time.monotonic()
            while time.monotonic() < deadline:
                time.sleep(0.5)
                status, counts = db_state(data / "bot.db", ann_id)
                if status in ("done", "cancelled"):
                    out.done_at = time.time()
                    break
                if proc.poll() is not None:
                    out.note = f"bot exited with {proc.returncode}"
                    break
                if time.monotonic() - last_report >= args.progress_every:
                    last_report = time.monotonic()
                    print(f"  [{name}] {time.time() - out.queued_at:6.0f} s: {counts}", file=sys.stderr, flush=True)
            else:
                out.note = "timed out"
            out.cpu_seconds = proc_cpu(proc.pid) - cpu0
            out.rss_kb = proc_status(proc.pid).get("VmRSS", 0)
            time.sleep(0.5)
            stop(proc, 30)
            out.status, out.db_counts = db_state(data / "bot.db", ann_id)
            calls = emu.calls
        first_id, last_id = ids[0], ids[-1]
        ok_per_chat: Counter = Counter()
        last_attempt: dict[int, float] = {}
        for c in calls:
            if c.method != "sendMessage":
                continue
            chat = c.params.get("chat_id")
            if not isinstance(chat, int) or not first_id <= chat <= last_id:
                continue
            if c.ok:
                ok_per_chat[chat] += 1
                last_attempt[chat] = c.time
            elif c.status == 429:
                out.errors_429 += 1
            else:
                out.other_errors[f"{c.status} {c.description}"] += 1
                if chat in blocked or c.status != 403:
                    last_attempt[chat] = c.time
        out.processed_times = sorted(last_attempt.values())
        out.sent_unique = len(ok_per_chat)
        out.duplicates = sum(k - 1 for k in ok_per_chat.values() if k > 1)
        lost = [i for i in ids if i not in blocked and ok_per_chat[i] == 0]
        out.lost, out.lost_sample = len(lost), lost[:5]
        if out.note:
            out.note += "; log tail: " + log_path.read_text(errors="replace")[-500:].replace("\n", " | ")
        return out
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def table(outcomes: list[Outcome]) -> str:
    head = ("| scenario | subscribers | rate configured | achieved /s (share) | steady /s (share) | duration s | sent "
            "| blocked | failed | 429s | lost | duplicates | verdict (≥95 %, 0 lost, 0 dup) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for o in outcomes:
        a, s = o.achieved(), o.steady()
        t = o.processed_times
        duration = t[-1] - t[0] if len(t) > 1 else float("nan")
        ok = a >= 0.95 * o.rate and o.lost == 0 and o.duplicates == 0 and o.status == "done"
        label = o.scenario
        if o.scenario == "faults":
            label += f" ({o.blocked_chats} blocked, {o.retry_chats}× 429)"
        elif o.scenario == "limit":
            label += f" ({o.blocked_chats} blocked, server limit {o.server_limit}/s)"
        lines.append(f"| {label} | {o.subscribers} | {o.rate:g}/s | {a:.1f} ({100 * a / o.rate:.0f} %) "
                     f"| {s:.1f} ({100 * s / o.rate:.0f} %) | {duration:.1f} | {o.db_counts.get('sent', 0)} "
                     f"| {o.db_counts.get('blocked', 0)} | {o.db_counts.get('failed', 0)} | {o.errors_429} "
                     f"| {o.lost} | {o.duplicates} | {'PASS' if ok else 'FAIL'} |")
    notes = [""]
    for o in outcomes:
        t = o.processed_times
        bits = [f"{o.scenario}: announcement {o.status}, DB {dict(sorted(o.db_counts.items()))}",
                f"emulator: {o.sent_unique} chats received it"]
        if t:
            bits.append(f"queue → first send {t[0] - o.queued_at:.1f} s")
        if o.done_at:
            bits.append(f"queue → done {o.done_at - o.queued_at:.1f} s")
        if o.processed and o.cpu_seconds == o.cpu_seconds:
            bits.append(f"bot CPU {1000 * o.cpu_seconds / o.processed:.2f} ms/delivery, RSS {o.rss_kb / 1024:.0f} MB, "
                        f"start-up {o.startup:.2f} s")
        if o.server_limit:
            bits.append(f"achieved = {100 * o.achieved() / o.server_limit:.0f} % of the server's limit")
        if o.db_counts.get("sent", 0) != o.sent_unique:
            bits.append(f"MISMATCH: DB says sent {o.db_counts.get('sent', 0)}, emulator {o.sent_unique}")
        if o.lost:
            bits.append(f"lost e.g. {o.lost_sample}")
        if o.other_errors:
            bits.append("errors: " + ", ".join(f"{k} ×{v}" for k, v in o.other_errors.most_common(3)))
        if o.note:
            bits.append(o.note)
        notes.append("- " + "; ".join(bits))
    return "\n".join(lines + notes)


def main(argv: list[str] | None = None) -> int:
    configured = load_config(ROOT / "config.yaml", env={}).broadcast_rate
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--subscribers", type=int, default=None, help="default 20000 (2000 with --quick)")
    parser.add_argument("--rate", type=float, default=None,
                        help=f"messages per second (default config.yaml broadcast.rate_per_second = {configured:g}; "
                             "200 with --quick)")
    parser.add_argument("--quick", action="store_true", help="2,000 subscribers at 200/s")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--blocked-share", type=float, default=0.05, help="share of blocked users (default 0.05)")
    parser.add_argument("--retry-share", type=float, default=0.001,
                        help="share of chats answered one 429 (retry after 1 s) in 'faults' (default 0.001, at least 2)")
    parser.add_argument("--rtt", type=float, default=0.0, help="the emulator answers sendMessage this many seconds late")
    parser.add_argument("--progress-every", type=float, default=60.0, help="progress line on stderr every N s")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups (stop the bot) on kill
    args.subscribers = args.subscribers or (2000 if args.quick else 20000)
    args.rate = args.rate or (200.0 if args.quick else configured)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown or not scenarios:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    if args.subscribers < 10 or args.rate <= 0:
        parser.error("--subscribers must be at least 10 and --rate positive")

    outcomes = []
    for name in scenarios:
        print(f"scenario {name}: {args.subscribers} subscribers at {args.rate:g}/s "
              f"(~{args.subscribers / args.rate:.0f} s) ...", file=sys.stderr, flush=True)
        outcomes.append(run_scenario(name, args))
    rtt = f", API answer delay {args.rtt * 1000:g} ms" if args.rtt else ""
    print(f"\n### Broadcast: {args.subscribers} subscribers at {args.rate:g}/s{rtt} ({os.cpu_count()} CPUs)\n")
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
