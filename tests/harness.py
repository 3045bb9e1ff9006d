"""End-to-end harness: the real python-telegram-bot Application (handlers/app.py) running in its own
thread and event loop against the project's Bot API emulator on 127.0.0.1. Tests push updates from the
test thread and assert on the Bot API calls the emulator recorded. Nothing of PTB or HTTP is mocked."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.clock import Clock
from bot.config import Config, load_config
from emulator import BotApiEmulator, Call

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "654321:E2E-TEST-TOKEN-abcdef"
STAFF = 999


def make_config(tmp_path: Path, emu: BotApiEmulator, **changes) -> Config:
    cfg = load_config(ROOT / "config.yaml", env={})
    return replace(cfg, token=TOKEN, base_url=emu.base_url, data_dir=tmp_path / "data", staff_ids=frozenset({STAFF}),
                   reload_seconds=0, **changes)


class BotRunner:
    """Start/stop the Application in a background thread."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock
        self.app = None
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

        core = make_core(self.config, self.clock)
        self.core = core
        self.app = app = build_application(self.config, core)
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with app:
            await post_init(app)
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            self._ready.set()
            await self._stop.wait()
            await app.updater.stop()
            await app.stop()
        core.store.close()

    def start(self) -> "BotRunner":
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
