"""End-to-end harness: the real python-telegram-bot Application (handlers/app.py) running in its own
thread and event loop against the project's Bot API emulator on 127.0.0.1. Tests push updates from the
test thread and assert on the Bot API calls the emulator recorded. Nothing of PTB or HTTP is mocked."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.answer import Brain
from bot.clock import Clock
from bot.config import Config, load_config
from bot.store import Store
from emulator import BotApiEmulator, Call

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "654321:E2E-TEST-TOKEN-abcdef"
STAFF = 999


def make_config(tmp_path: Path, emu: BotApiEmulator, source: Path = ROOT / "config.yaml", **changes) -> Config:
    """`source` (the project's config.yaml by default: the WSCW knowledge) pointed at `emu`, with its data in
    `tmp_path` and STAFF as the one staff member."""
    cfg = load_config(source, env={})
    return replace(cfg, token=TOKEN, base_url=emu.base_url, data_dir=tmp_path / "data", staff_ids=frozenset({STAFF}),
                   reload_seconds=0, **changes)


def eventually(predicate: Callable[[], object], timeout: float = 8.0, interval: float = 0.02,
               what: str = "condition") -> object:
    """Poll `predicate` until it returns something true (returned) or `timeout` passes (AssertionError).
    Use it instead of a fixed sleep before an assertion on something the bot does in the background."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)


# ---------------------------------------------------------------- one matcher for many bots

_BRAINS: dict[tuple, Brain] = {}


def knowledge_digest(directory: Path) -> str:
    """Hash of the folder's knowledge files (names and bytes): equal digests, equal knowledge."""
    h = hashlib.sha256()
    for p in sorted(Path(directory).iterdir()):
        if p.suffix in (".yaml", ".yml") and p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def shared_brain(config: Config) -> Brain:
    """The Brain for `config`'s knowledge folder and matching settings, built once per test session and
    shared by every bot whose folder holds the same files (a copy made for a test included). A Brain is
    never changed in place — a reload builds a new one and swaps the reference in Core — so sharing it
    cannot leak one test's edits into another; a folder edited before the bot starts gets its own."""
    key = (knowledge_digest(config.knowledge_dir), config.matching)
    if key not in _BRAINS:
        if len(_BRAINS) >= 4:  # edited copies are rarely asked for twice: keep memory bounded
            _BRAINS.pop(next(iter(_BRAINS)))
        _BRAINS[key] = Brain.load(config.knowledge_dir, config.matching, sink=None)
    return _BRAINS[key]


class BotRunner:
    """Start/stop the Application in a background thread.

    `brain`: the matcher to use; by default the session's shared one for the config's knowledge (see
    `shared_brain`); `share=False` builds a fresh one as the production start does (for a test that
    must own every Brain, e.g. one that checks old ones are freed)."""

    def __init__(self, config: Config, clock: Clock | None = None, brain: Brain | None = None, *,
                 share: bool = True) -> None:
        self.config = config
        self.clock = clock
        self.brain = brain
        self.share = share
        self.app = None
        self._in_flight: set[str] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # surfaced by start()/stop()
            self.error = exc
            self._ready.set()

    async def _run(self) -> None:
        from handlers.app import build_application, make_core, post_init

        brain = self.brain or (shared_brain(self.config) if self.share else None)  # errors: start() says
        core = make_core(self.config, self.clock, brain=brain)
        self.core = core
        self.app = app = build_application(self.config, core)
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with app:
            self._track_jobs(app)
            await post_init(app)
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            self._ready.set()
            await self._stop.wait()
            await app.updater.stop()
            await app.stop()
        core.store.close()

    def start(self) -> BotRunner:
        self._thread.start()
        if not self._ready.wait(20) or self.error:
            raise RuntimeError(f"bot did not start: {self.error!r}")
        return self

    def call(self, coro_fn, timeout: float = 10.0):
        """Run a coroutine on the bot's loop from the test thread."""
        return asyncio.run_coroutine_threadsafe(coro_fn(), self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop and self._stop:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)

    # ------------------------------------------------------------ waiting on the bot, not on the clock

    def _track_jobs(self, app) -> None:
        """Note JobQueue jobs from submission to completion (APScheduler events, on the bot's loop)."""
        from apscheduler import events as ev

        def listener(event) -> None:
            if event.code == ev.EVENT_JOB_SUBMITTED:
                self._in_flight.add(event.job_id)
            else:
                self._in_flight.discard(event.job_id)

        app.job_queue.scheduler.add_listener(listener, ev.EVENT_JOB_SUBMITTED | ev.EVENT_JOB_EXECUTED
                                             | ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED | ev.EVENT_JOB_MAX_INSTANCES)

    def _busy(self, emu: BotApiEmulator | None, outbox: bool) -> str | None:
        """What the bot is still doing (runs on its loop), or None when it is idle."""
        app, c = self.app, self.core
        if emu is not None and emu.pending_updates():
            return "updates not yet fetched"
        if not app.update_queue.empty() or app.update_processor.current_concurrent_updates:
            return "updates being handled"
        if self._in_flight:
            return "jobs running"
        soon = time.time() + 0.1
        if any(j.next_t is not None and j.next_t.timestamp() <= soon for j in app.job_queue.jobs()):
            return "jobs due"
        if outbox:
            senders = [app.bot_data.notices, app.bot_data.broadcaster]
            if any(s is not None and s.busy for s in senders) or c.store.outbox_depth():
                return "outbox not empty"
        return None

    def idle(self, emu: BotApiEmulator | None = None, *, outbox: bool = True, timeout: float = 10.0) -> None:
        """Wait until everything pushed or due so far is done: the emulator's updates fetched (if `emu`),
        handled, the jobs due now run, the outbox sent (unless `outbox=False`). Then a test may assert
        that something did NOT happen, without sleeping."""

        async def wait() -> None:
            deadline = time.monotonic() + timeout
            calm = 0
            while calm < 2:  # twice in a row: a task created by the last step has had its turn
                reason = self._busy(emu, outbox)
                calm = calm + 1 if reason is None else 0
                if reason and time.monotonic() > deadline:
                    raise AssertionError(f"bot not idle after {timeout} s: {reason}")
                await asyncio.sleep(0.01)

        self.call(wait, timeout + 5)

    def advance_to(self, when: str | datetime, emu: BotApiEmulator | None = None) -> None:
        """Jump the bot's clock to `when` (event-local ISO time or datetime) and do what falls due by then:
        the agenda jobs are rebuilt from the new time (`schedule_all`, as at a start), those now due run
        through the JobQueue at once, and this returns when the bot is idle again (see `idle`)."""
        from handlers.agenda import schedule_all

        clock = self.core.clock
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        clock.set(when if when.tzinfo else when.replace(tzinfo=clock.tz))

        async def reschedule() -> None:
            schedule_all(self.app)

        self.call(reschedule)
        self.idle(emu)

    def run_job(self, name: str, emu: BotApiEmulator | None = None) -> None:
        """Run the (repeating) job `name` now, as the JobQueue will at its next tick, then wait until idle:
        e.g. `run_job("outbox")` instead of sleeping until the outbox job has run again."""

        async def run() -> None:
            job = next(j for j in self.app.job_queue.jobs() if j.name == name)
            await job.run(self.app)

        self.call(run)
        self.idle(emu)

    def agenda_jobs(self) -> list:
        """The reminder / feedback jobs scheduled now (PTB Job objects)."""
        return [j for j in self.app.job_queue.jobs() if j.name and j.name.startswith("agenda:")]


class Chat:
    """One simulated user talking to the bot."""

    def __init__(self, emu: BotApiEmulator, user_id: int = 1001, lang: str = "en", chat_id: int | None = None,
                 chat_type: str = "private") -> None:
        self.emu, self.user_id, self.lang = emu, user_id, lang
        self.chat_id = chat_id if chat_id is not None else user_id
        self.chat_type = chat_type

    def mark(self) -> int:
        return len(self.emu.calls)

    def replies(self, since: int, count: int = 1, methods=("sendMessage",), timeout: float = 8.0) -> list[Call]:
        return self.emu.wait_for(lambda c: c.method in methods and str(c.params.get("chat_id")) == str(self.chat_id)
                                 and c.ok, count=count, timeout=timeout, since=since)

    def send(self, text: str | None, count: int = 1, methods=("sendMessage",), **extra) -> list[Call]:
        since = self.mark()
        self.emu.push_message(self.chat_id, text, user_id=self.user_id, language_code=self.lang,
                              chat_type=self.chat_type, **extra)
        return self.replies(since, count, methods)

    def say(self, text: str, **extra) -> Call:
        return self.send(text, **extra)[-1]

    def press(self, message: Call, label_or_data: str, methods=("sendMessage", "editMessageText"),
              count: int = 1) -> list[Call]:
        data = button_data(message, label_or_data)
        since = self.mark()
        message_id = message.result["message_id"] if message.method == "sendMessage" else message.params["message_id"]
        self.emu.push_callback_query(self.chat_id, self.user_id, data, message_id, language_code=self.lang)
        return self.emu.wait_for(lambda c: c.method in methods and str(c.params.get("chat_id")) == str(self.chat_id),
                                 count=count, since=since, timeout=8)


def buttons(call: Call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button_data(call: Call, label_or_data: str) -> str:
    for b in buttons(call):
        if b.get("callback_data") == label_or_data or label_or_data in b.get("text", ""):
            return b["callback_data"]
    raise AssertionError(f"no button {label_or_data!r} in {[b.get('text') for b in buttons(call)]}")


def frozen_clock(config: Config, when: str) -> Clock:
    return Clock(config.timezone, datetime.fromisoformat(when).replace(tzinfo=config.timezone), frozen=True)


class Env:
    """Bots started one after another on one emulator, one data folder and a copy of the knowledge
    (restart tests: agenda, reminders). `start(when)` sets the clock (event-local ISO time), running
    forward unless `frozen`; the clock is made right before the bot starts."""

    def __init__(self, emu: BotApiEmulator, cfg: Config) -> None:
        self.emu, self.cfg = emu, cfg
        self.runners: list[BotRunner] = []

    def start(self, when: str | None = None, *, frozen: bool = False, **changes) -> BotRunner:
        cfg = replace(self.cfg, **changes)
        clock = Clock(cfg.timezone, datetime.fromisoformat(when).replace(tzinfo=cfg.timezone), frozen=frozen) \
            if when else None
        runner = BotRunner(cfg, clock).start()
        self.runners.append(runner)
        return runner

    def stop(self, runner: BotRunner) -> None:
        runner.stop()
        self.runners.remove(runner)

    def store(self) -> Store:
        return Store.in_dir(self.cfg.data_dir)


def bot_env(tmp_path: Path):
    """For an `env` fixture: `yield from bot_env(tmp_path)` — a fresh emulator (staff chat known), a copy
    of the knowledge folder; every bot still running and the emulator stopped afterwards."""
    emu = BotApiEmulator(token=TOKEN).start()
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb)
    emu.add_chat(STAFF)
    e = Env(emu, replace(make_config(tmp_path, emu), knowledge_dir=kb))
    yield e
    for r in list(e.runners):
        r.stop()
    emu.stop()
