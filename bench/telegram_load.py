"""Load test: N concurrent simulated attendees talking to the real bot through the Bot API emulator.

    .venv/bin/python bench/telegram_load.py                     # 50 users x 20 messages, both modes, both loops
    .venv/bin/python bench/telegram_load.py --users 200 --messages 10
    .venv/bin/python bench/telegram_load.py --mode subprocess   # only `python -m bot run`
    .venv/bin/python bench/telegram_load.py --loop open --open-rate 300

Two ways to run the bot (``--mode both``, the default, measures each against its own fresh emulator):

* ``subprocess`` - ``python -m bot run`` exactly as in production (env BOT_CONFIG, BOT_DATA_DIR,
  TELEGRAM_BOT_TOKEN, TELEGRAM_BASE_URL, BOT_NOW), long polling the emulator that runs in this process.
  The bot has its own interpreter (and core), so these are the bot's own numbers.
* ``inprocess`` - the Application in a background thread (tests/harness.py ``BotRunner``). It shares
  the GIL with the emulator and with this driver, so it is a pessimistic figure.

Both use the project's config.yaml with the per-user flood limit raised to 10**6 (it would otherwise
refuse the 21st message in a minute) and the knowledge watcher off, clock ``BOT_NOW=2018-09-19T10:05``
(during the event, so /now has sessions to show).

Workload: user ``i`` has Telegram language ko (even i) or en (odd i), sends ``/start`` first, then
``M-1`` messages: ~80 % free-text questions in the user's language (from bench/eval_questions.yaml
when it exists, else a built-in list of paraphrased and out-of-domain questions), ~20 % page commands
(/schedule /now /menu /venue /speakers /help). No button presses. The same plan is sent twice to the
same bot (``--loop both``, the default):

* closed loop: every user sends its next message as soon as the reply to its previous one is complete,
  so N users keep N updates in flight. This measures the bot's capacity (updates/s); its latency is
  queueing by construction (Little's law: about N / throughput), not what one attendee sees at a
  given load.
* open loop: messages are pushed at ``--open-rate`` updates/s in total (default 200, the target),
  whatever the replies do. This measures the latency at that load; if the bot's capacity is below the
  rate, the queue and the latency grow for as long as the run lasts.

Verdicts (issue target: >= 200 updates/s and p99 < 50 ms on a 2-core machine): closed loop PASS if the
capacity is >= 200/s; open loop PASS if the offered rate is >= 200/s, the bot kept up with it (>= 95 %)
and p99 < 50 ms.

Matching replies to messages: before the measured runs, every distinct (text, language) of the plan is
sent once from its own calibration chat (this also warms the bot up) and the bot's sendMessage texts
are recorded. During a run a message is answered when all its expected sendMessage texts arrived in
the user's chat (a venue pin, sendVenue, is not waited for).

Measures:
* updates/s - completed updates / (last reply's emulator time - first push);
* reply latency - push time (``time.time()`` just before ``push_message``) to the emulator's recorded
  time (``Call.time``: ``time.time()`` when the emulator has handled the sendMessage, before it answers)
  of the last message of the reply; p50, p99 (nearest rank), max; also by kind of update;
* start-up - process spawn (or ``BotRunner.start()``) to the first getUpdates. A probe update is
  waiting before the bot starts, so that first long poll returns at once and its recorded time is its
  arrival (an idle long poll would be recorded only when it times out, 10 s later);
* memory - VmRSS (VmHWM = peak) of the bot process from /proc/PID/status after the runs (in-process:
  the whole benchmark process, emulator and recorded calls included);
* bot CPU - user+system CPU time of the bot process during each run (subprocess only): at ~100 % of
  one core the bot is CPU-bound (one asyncio loop, one core).

Defaults run in well under 2 minutes (about 35 s).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from procstat import proc_cpu, proc_status, stop  # noqa: E402

from emulator import BotApiEmulator, Call  # noqa: E402

TOKEN = "654321:LOAD-TEST-TOKEN-abcdef"
NOW = "2018-09-19T10:05"
USER_BASE = 7_000_000
CALIBRATION_BASE = 8_000_000
PROBE_CHAT, PROBE_USER = -4242, 6_999_999
COMMANDS = ["/schedule", "/now", "/menu", "/venue", "/speakers", "/help"]
COMMAND_SHARE = 0.2

BUILTIN = {
    "ko": ["월드 스마트시티 위크가 뭐예요", "행사 언제 해요?", "며칠까지 하나요", "행사장 어디에요", "킨텍스 가는 법",
           "주최는 누가 해요?", "올해 주제가 뭐야", "관람객 몇 명 왔어?", "결과 요약 좀", "작년이랑 비교하면 어때",
           "담당자 연락처 알려줘", "사진 볼 수 있어요?", "전체 프로그램 알려줘", "기조연설 누가 해요", "컨퍼런스 뭐 있어",
           "해커톤 대상 누구야?", "가족이랑 볼만한 거 있어?", "부스 몇 개야", "수출 계약 얼마나 했어", "투자 유치 성과",
           "지금 뭐 해요?", "점심 어디서 먹어요", "주차 돼요?", "와이파이 비번", "바르셀로나 발표 내용",
           "창업 경진대회 누가 상 받았어", "토크 콘서트 요약", "세종 시범도시 얘기", "입장료 있어요?", "내일 날씨 어때"],
    "en": ["what is world smart city week", "when is the event", "what are the dates", "where is it held",
           "how do I get to the venue", "who organises WSCW", "what's the theme this year", "how many visitors",
           "summary of results", "how does it compare with 2017", "who can I contact", "any photos",
           "full programme please", "who are the keynote speakers", "which conferences are there",
           "who won the hackathon", "anything for families", "how many booths", "export contracts",
           "how much investment was attracted", "what's on now", "where can I eat lunch", "is there parking",
           "wifi password", "Barcelona presentation", "startup contest winners", "talk concert summary",
           "Sejong pilot city", "is it free to enter", "what's the weather tomorrow"],
}


# ------------------------------------------------------------------------------------------ workload

def question_pool(path: Path) -> dict[str, list[str]]:
    if path.exists():
        import yaml

        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        pool: dict[str, list[str]] = {"ko": [], "en": []}
        for item in items:
            if isinstance(item, dict) and item.get("q") and item.get("lang") in pool:
                pool[item["lang"]].append(str(item["q"]))
        if pool["ko"] and pool["en"]:
            return pool
    return BUILTIN


def make_plan(users: int, messages: int, pool: dict[str, list[str]], seed: int) -> list[list[tuple[str, str]]]:
    """Per user, the list of (text, language_code) it sends."""
    rng = random.Random(seed)
    plan = []
    for i in range(users):
        lang = "ko" if i % 2 == 0 else "en"
        msgs = [("/start", lang)]
        for _ in range(messages - 1):
            text = rng.choice(COMMANDS) if rng.random() < COMMAND_SHARE else rng.choice(pool[lang])
            msgs.append((text, lang))
        plan.append(msgs)
    return plan


def kind_of(text: str) -> str:
    return "/start" if text == "/start" else ("command" if text.startswith("/") else "question")


# ------------------------------------------------------------------------------------------ metering

@dataclass
class Pending:
    push: float
    key: tuple[str, str]
    remaining: list[str]
    first: float | None = None


class Meter:
    """Subscribed to the emulator (called in its server threads): matches the bot's sendMessage calls to
    the pushed messages, and in closed loop pushes each user's next message."""

    def __init__(self, emu: BotApiEmulator, plan: list[list[tuple[str, str]]]) -> None:
        self.emu, self.plan = emu, plan
        self.lock = threading.Lock()
        self.expected: dict[tuple[str, str], list[str]] = {}
        self.first_get_updates: float | None = None
        self.calibrating: dict[int, list[str]] = {}
        self.last_calibration_call = 0.0
        self.active = False
        self.reset(closed_loop=True)

    def reset(self, closed_loop: bool) -> None:
        with self.lock:
            self.closed_loop = closed_loop
            self.outstanding: dict[int, list[Pending]] = {}
            self.next_index: dict[int, int] = {}
            self.samples: list[tuple[str, float, float]] = []  # (kind, full reply, first message)
            self.first_push: float | None = None
            self.last_reply: float | None = None
            self.completed = 0
            self.total = sum(len(m) for m in self.plan)
            self.unmatched = 0
            self.api_errors = 0
            self.done = threading.Event()

    def __call__(self, call: Call) -> None:
        if call.method == "getUpdates":
            if self.first_get_updates is None:
                self.first_get_updates = call.time
            return
        if call.status != 200 and self.active:
            with self.lock:
                self.api_errors += 1
        if call.method != "sendMessage":
            return
        try:
            chat = int(call.params.get("chat_id"))
        except (TypeError, ValueError):
            return
        text = call.params.get("text", "")
        if chat >= CALIBRATION_BASE:
            with self.lock:
                if call.ok and chat in self.calibrating:
                    self.calibrating[chat].append(text)
                self.last_calibration_call = time.monotonic()
            return
        if not self.active or chat < USER_BASE:
            return
        with self.lock:
            queue = self.outstanding.get(chat)
            if not queue:
                self.unmatched += 1
                return
            entry = next((p for p in queue if text in p.remaining), None)
            if entry is None:  # not a calibrated text (e.g. /now moved on): the oldest outstanding message
                self.unmatched += 1
                entry = queue[0]
                entry.remaining.pop(0)
            else:
                entry.remaining.remove(text)
            if entry.first is None:
                entry.first = call.time
            if entry.remaining:
                return
            queue.remove(entry)
            self.samples.append((kind_of(entry.key[0]), call.time - entry.push, entry.first - entry.push))
            self.completed += 1
            self.last_reply = max(self.last_reply or 0.0, call.time)
            if self.completed >= self.total:
                self.done.set()
            push_next = self.closed_loop
        if push_next:
            self.send_next(chat - USER_BASE)

    def send(self, user: int, text: str, lang: str) -> None:
        chat = USER_BASE + user
        expected = self.expected.get((text, lang)) or [""]
        with self.lock:
            now = time.time()
            if self.first_push is None:
                self.first_push = now
            self.outstanding.setdefault(chat, []).append(Pending(now, (text, lang), list(expected)))
        self.emu.push_message(chat, text, language_code=lang)

    def send_next(self, user: int) -> None:
        with self.lock:
            index = self.next_index.get(user, 0)
            if index >= len(self.plan[user]):
                return
            self.next_index[user] = index + 1
        text, lang = self.plan[user][index]
        self.send(user, text, lang)


def calibrate(meter: Meter, timeout: float = 30.0) -> None:
    """Send every distinct (text, language) of the plan once, each from its own chat, and record the
    texts of the bot's sendMessage calls (this also warms the bot up)."""
    keys = sorted({m for msgs in meter.plan for m in msgs})
    chats = {CALIBRATION_BASE + n: key for n, key in enumerate(keys)}
    with meter.lock:
        meter.calibrating = {chat: [] for chat in chats}
        meter.last_calibration_call = time.monotonic()
    for chat, (text, lang) in chats.items():
        meter.emu.push_message(chat, text, language_code=lang)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        with meter.lock:
            if all(meter.calibrating.values()) and time.monotonic() - meter.last_calibration_call > 0.5:
                break
    with meter.lock:
        missing = [chats[c] for c, texts in meter.calibrating.items() if not texts]
        if missing:
            raise RuntimeError(f"calibration: no reply to {missing[:5]} ({len(missing)} of {len(chats)})")
        meter.expected = {chats[c]: list(texts) for c, texts in meter.calibrating.items()}


@dataclass
class Phase:
    loop: str
    updates: int
    completed: int
    seconds: float
    samples: list[tuple[str, float, float]]
    unmatched: int
    api_errors: int
    cpu_seconds: float | None
    offered: float | None = None  # open loop: the pushed rate


def run_phase(meter: Meter, open_rate: float | None, timeout: float, cpu) -> Phase:
    """One measured run over the whole plan: closed loop (open_rate None) or open loop at open_rate/s."""
    meter.reset(closed_loop=open_rate is None)
    cpu0 = cpu()
    meter.active = True
    if open_rate is None:
        for user in range(len(meter.plan)):
            meter.send_next(user)
        wait = timeout
    else:
        longest = max(len(m) for m in meter.plan)
        order = [(u, j) for j in range(longest) for u in range(len(meter.plan)) if j < len(meter.plan[u])]

        def drive() -> None:
            start = time.monotonic()
            for k, (u, j) in enumerate(order):
                delay = start + k / open_rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                text, lang = meter.plan[u][j]
                meter.send(u, text, lang)

        threading.Thread(target=drive, daemon=True, name="open-loop-driver").start()
        wait = len(order) / open_rate + timeout
    meter.done.wait(wait)
    meter.active = False
    used = cpu() - cpu0 if cpu0 is not None else None
    with meter.lock:
        seconds = (meter.last_reply - meter.first_push) if meter.first_push and meter.last_reply else 0.0
        loop = "closed" if open_rate is None else f"open {open_rate:g}/s"
        phase = Phase(loop, meter.total, meter.completed, seconds, list(meter.samples), meter.unmatched,
                      meter.api_errors, used, open_rate)
    time.sleep(0.3)  # let stragglers of a timed-out phase land before the next one
    return phase


# ------------------------------------------------------------------------------------------ the bot

def push_probe(emu: BotApiEmulator) -> None:
    """An update waiting before the bot starts, so that its first getUpdates returns at once and is
    recorded when it arrives (a long poll is recorded when it ends). A group message without a mention:
    the bot reads it and stays silent."""
    emu.push_message(PROBE_CHAT, "probe", user_id=PROBE_USER, chat_type="group")


def wait_first_poll(meter: Meter, alive, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while meter.first_get_updates is None:
        if time.monotonic() > deadline or not alive():
            raise RuntimeError("the bot did not start polling")
        time.sleep(0.005)


@dataclass
class ModeResult:
    mode: str
    startup: float
    rss_kb: int
    hwm_kb: int
    phases: list[Phase]
    expected: dict = field(default_factory=dict)
    note: str = ""


def write_config(tmp: Path) -> Path:
    path = tmp / "config.yaml"
    path.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nflood:\n  messages: 1000000\n  per_seconds: 60\n"
                    "reload:\n  poll_seconds: 0\n", encoding="utf-8")
    return path


def run_phases(meter: Meter, args, cpu) -> list[Phase]:
    calibrate(meter)
    phases = []
    if args.loop in ("closed", "both"):
        phases.append(run_phase(meter, None, args.timeout, cpu))
    if args.loop in ("open", "both"):
        phases.append(run_phase(meter, args.open_rate, args.timeout, cpu))
    return phases


def bench_subprocess(args, plan) -> ModeResult:
    tmp = Path(tempfile.mkdtemp(prefix="tg-load-"))
    log_path = tmp / "bot.log"
    proc = None
    try:
        with BotApiEmulator(token=TOKEN) as emu, open(log_path, "wb") as log:
            meter = Meter(emu, plan)
            emu.subscribe(meter)
            push_probe(emu)
            env = {**os.environ, "BOT_CONFIG": str(write_config(tmp)), "BOT_DATA_DIR": str(tmp / "data"),
                   "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": emu.base_url, "BOT_NOW": NOW}
            env.pop("BOT_STAFF_IDS", None)
            spawned = time.time()
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
            try:
                wait_first_poll(meter, lambda: proc.poll() is None)
            except RuntimeError:
                raise RuntimeError("bot subprocess did not start:\n"
                                   + log_path.read_text(errors="replace")[-3000:]) from None
            startup = meter.first_get_updates - spawned
            phases = run_phases(meter, args, lambda: proc_cpu(proc.pid))
            mem = proc_status(proc.pid)
            stop(proc, 20)
        note = "" if proc.returncode == 0 else f"bot exit code {proc.returncode}"
        return ModeResult("subprocess", startup, mem.get("VmRSS", 0), mem.get("VmHWM", 0), phases, meter.expected,
                          note)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def bench_inprocess(args, plan) -> ModeResult:
    from bot.clock import Clock
    from bot.config import load_config
    from harness import BotRunner, make_config

    tmp = Path(tempfile.mkdtemp(prefix="tg-load-"))
    runner = None
    try:
        with BotApiEmulator(token=TOKEN) as emu:
            meter = Meter(emu, plan)
            emu.subscribe(meter)
            push_probe(emu)
            cfg = replace(make_config(tmp, emu, flood_messages=10**6), token=TOKEN)
            start_at = load_config(ROOT / "config.yaml", env={"BOT_NOW": NOW}).now
            clock = Clock(cfg.timezone, start_at)  # runs forward from NOW, like BOT_NOW does
            started = time.time()
            runner = BotRunner(cfg, clock).start()
            wait_first_poll(meter, lambda: runner.error is None)
            startup = meter.first_get_updates - started
            phases = run_phases(meter, args, lambda: None)
            mem = proc_status(os.getpid())
            runner.stop()
            runner = None
        return ModeResult("in-process", startup, mem.get("VmRSS", 0), mem.get("VmHWM", 0), phases, meter.expected,
                          "RSS is the whole process (bot + emulator + driver); bot CPU not separable")
    finally:
        if runner is not None:
            runner.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------ report

def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))] * 1000


def report(results: list[ModeResult], plan) -> str:
    head = ("| mode | loop | completed | updates/s | p50 ms | p99 ms | max ms | start-up s | bot RSS MB (peak) "
            "| bot CPU ms/update | verdict |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    kinds = ["/start", "command", "question"]
    khead = "| mode | loop | " + " | ".join(f"{k} n / p50 / p99 ms" for k in kinds) + " | first message p99 ms |"
    klines = [khead, "|" + "---|" * (khead.count("|") - 1)]
    notes = []
    for r in results:
        for ph in r.phases:
            full = [s[1] for s in ph.samples]
            rate = ph.completed / ph.seconds if ph.seconds > 0 else 0.0
            p99 = pct(full, 0.99)
            if ph.offered is None:  # closed loop: the bot's capacity
                verdict = f"capacity ≥ 200/s: {'PASS' if rate >= 200 and ph.completed == ph.updates else 'FAIL'}"
            else:  # open loop: latency at the offered rate, if the bot keeps up with it
                ok = ph.offered >= 200 and rate >= 0.95 * ph.offered and p99 < 50 and ph.completed == ph.updates
                verdict = f"p99 < 50 ms at ≥ 200/s: {'PASS' if ok else 'FAIL'}"
            cpu = f"{ph.cpu_seconds * 1000 / ph.completed:.2f}" if ph.cpu_seconds is not None and ph.completed else "n/a"
            lines.append(f"| {r.mode} | {ph.loop} | {ph.completed}/{ph.updates} | {rate:.0f} | {pct(full, 0.5):.1f} "
                         f"| {p99:.1f} | {max(full, default=0) * 1000:.1f} | {r.startup:.2f} "
                         f"| {r.rss_kb / 1024:.0f} ({r.hwm_kb / 1024:.0f}) | {cpu} | {verdict} |")
            cells = []
            for k in kinds:
                xs = [s[1] for s in ph.samples if s[0] == k]
                cells.append(f"{len(xs)} / {pct(xs, 0.5):.1f} / {pct(xs, 0.99):.1f}")
            klines.append(f"| {r.mode} | {ph.loop} | " + " | ".join(cells) + f" | {pct([s[2] for s in ph.samples], 0.99):.1f} |")
            bits = [f"{r.mode}, {ph.loop}: {ph.seconds:.1f} s from first push to last reply",
                    f"unmatched replies {ph.unmatched}", f"API errors {ph.api_errors}"]
            if ph.cpu_seconds is not None and ph.seconds > 0:
                bits.append(f"bot CPU {ph.cpu_seconds:.1f} s = {100 * ph.cpu_seconds / ph.seconds:.0f} % of one core")
            notes.append("- " + "; ".join(bits))
        if r.note:
            notes.append(f"- {r.mode}: {r.note}")
    expected = results[0].expected if results else {}
    multi = sum(1 for msgs in plan for m in msgs if len(expected.get(m, [])) > 1)
    total = sum(len(m) for m in plan)
    notes.append(f"- replies of more than one message: {multi} of {total} updates")
    return "\n".join(lines + ["", "Latency by kind of update (push → last message of the reply):", ""] + klines
                     + [""] + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users (default 50)")
    parser.add_argument("--messages", type=int, default=20, help="messages per user, /start included (default 20)")
    parser.add_argument("--mode", choices=("both", "subprocess", "inprocess"), default="both")
    parser.add_argument("--loop", choices=("both", "closed", "open"), default="both",
                        help="closed loop, open loop, or both one after the other on the same bot (default)")
    parser.add_argument("--open-rate", type=float, default=200.0, metavar="R",
                        help="open loop: push R updates/s in total, whatever the replies do (default 200)")
    parser.add_argument("--questions", default=str(ROOT / "bench" / "eval_questions.yaml"),
                        help="YAML list of {q, lang} (default bench/eval_questions.yaml, else built-in questions)")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up on a phase after this many seconds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups (stop the bot) on kill
    if args.users < 1 or args.messages < 1 or args.open_rate <= 0:
        parser.error("--users, --messages and --open-rate must be positive")

    pool = question_pool(Path(args.questions))
    source = Path(args.questions).name if pool is not BUILTIN else "built-in list"
    plan = make_plan(args.users, args.messages, pool, args.seed)
    results: list[ModeResult] = []
    for mode in (["subprocess", "inprocess"] if args.mode == "both" else [args.mode]):
        print(f"running {mode} ...", file=sys.stderr, flush=True)
        results.append(bench_subprocess(args, plan) if mode == "subprocess" else bench_inprocess(args, plan))
    print(f"\n### Telegram load: {args.users} users × {args.messages} messages "
          f"(questions: {source}; {os.cpu_count()} CPUs; python-telegram-bot {ptb_version()})\n")
    print(report(results, plan))
    return 0 if all(ph.completed == ph.updates for r in results for ph in r.phases) else 1


def ptb_version() -> str:
    try:
        from importlib.metadata import version

        return version("python-telegram-bot")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
