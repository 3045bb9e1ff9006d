"""Crash safety: kill -9 the bot process in the middle of a broadcast to thousands of subscribers,
restart it, and check that every subscriber got the announcement (duplicates counted, at most the one
message in flight at the kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.store import Store
from emulator import BotApiEmulator
from harness import ROOT, TOKEN

SUBSCRIBERS = 3000


def start_bot(cfg_path: Path, data: Path, base_url: str, log) -> subprocess.Popen:
    env = {**os.environ, "BOT_CONFIG": str(cfg_path), "BOT_DATA_DIR": str(data), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_BASE_URL": base_url}
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=log, stderr=log)


@pytest.mark.slow
def test_sigkill_mid_broadcast_then_resume(tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nbroadcast:\n  rate_per_second: 400\nreload:\n  poll_seconds: 0\n",
                        encoding="utf-8")
    data = tmp_path / "data"
    ids = list(range(100_000, 100_000 + SUBSCRIBERS))
    store = Store.in_dir(data)
    store.add_users({"id": i, "lang": "en"} for i in ids)
    ann = store.create_announcement("", "crash test")
    assert store.queue_announcement(ann) == SUBSCRIBERS
    store.close()
    log = open(tmp_path / "bot.log", "wb")
    with BotApiEmulator(token=TOKEN) as emu:
        for i in ids:
            emu.add_chat(i)

        def sent() -> list[int]:
            return [c.params["chat_id"] for c in emu.calls_of("sendMessage") if c.ok and c.params["chat_id"] in range(ids[0], ids[-1] + 1)]

        proc = start_bot(cfg_path, data, emu.base_url, log)
        deadline = time.monotonic() + 60
        while len(sent()) < SUBSCRIBERS // 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        at_kill = len(sent())
        assert SUBSCRIBERS // 3 <= at_kill < SUBSCRIBERS, "the kill must land in the middle of the broadcast"

        proc = start_bot(cfg_path, data, emu.base_url, log)
        try:
            deadline = time.monotonic() + 90
            while len(set(sent())) < SUBSCRIBERS and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(20)
        received = sent()
    missing = set(ids) - set(received)
    duplicates = len(received) - len(set(received))
    print(f"\ncrash test: {SUBSCRIBERS} subscribers, killed after {at_kill} sends, missing {len(missing)}, duplicates {duplicates}")
    assert not missing
    assert duplicates <= 1
    store = Store.in_dir(data)
    assert store.progress(ann)["sent"] == SUBSCRIBERS and store.announcement(ann).status == "done"
    store.close()
