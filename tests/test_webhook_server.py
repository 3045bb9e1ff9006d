"""Webhook mode over real HTTP: `python -m bot run --webhook https://…` as a process against the
emulator. The secret token is always required (generated and kept in the data folder when none is
given, never in the URL); forged updates are refused and change nothing; /healthz and /metrics."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_process import free_port

from bot.metrics import CONTENT_TYPE
from bot.store import Store
from emulator import BotApiEmulator
from harness import ROOT, TOKEN

USER = 777


def http(method: str, url: str, body: dict | None = None, secret: str | None = None) -> tuple[int, dict, bytes]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def command(update_id: int, text: str, user: int = USER) -> dict:
    word = text.split()[0]
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": int(time.time()), "text": text,
                        "entities": [{"type": "bot_command", "offset": 0, "length": len(word)}],
                        "chat": {"id": user, "type": "private", "first_name": "W"},
                        "from": {"id": user, "is_bot": False, "first_name": "W"}}}


class WebhookBot:
    def __init__(self, tmp_path: Path, emu: BotApiEmulator, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = tmp_path / "config.yaml"
        cfg.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nreload:\n  poll_seconds: 0\ntelegram:\n"
                       f"  webhook_listen: 127.0.0.1\n  webhook_port: {self.port}\n", encoding="utf-8")
        self.log = tmp_path / "bot.log"
        env = {**os.environ, "BOT_CONFIG": str(cfg), "BOT_DATA_DIR": str(tmp_path / "data"),
               "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": emu.base_url}
        env.pop("TELEGRAM_WEBHOOK_SECRET", None)
        self.since = len(emu.calls)
        with open(self.log, "ab") as sink:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--webhook", "https://bot.example.org",
                                          *args], cwd=ROOT, env=env, stdout=sink, stderr=sink)
        self.hook = emu.wait_for("setWebhook", since=self.since, timeout=60)[0]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)


@pytest.mark.slow
def test_webhook_requires_the_secret_health_and_metrics(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store.in_dir(data)
    store.add_users([{"id": USER, "lang": "en"}])
    store.close()
    with BotApiEmulator(token=TOKEN) as emu:
        emu.add_chat(USER)
        bot = WebhookBot(tmp_path, emu)
        try:
            # a secret was generated, kept in the data folder (owner only) and is not in the URL
            secret = bot.hook.params["secret_token"]
            assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret)
            assert bot.hook.params["url"] == "https://bot.example.org/telegram" and secret not in bot.hook.params["url"]
            kept = data / "webhook_secret"
            assert kept.read_text().strip() == secret and stat.S_IMODE(kept.stat().st_mode) == 0o600
            assert "message" in bot.hook.params["allowed_updates"] and "callback_query" in bot.hook.params["allowed_updates"]

            # forged updates: no header, a wrong one, the secret as a path → refused, nothing happens
            assert http("POST", bot.url + "/telegram", command(1, "/unsubscribe"))[0] == 403
            assert http("POST", bot.url + "/telegram", command(2, "/unsubscribe"), secret="guess")[0] == 403
            assert http("POST", bot.url + "/telegram", command(3, "/unsubscribe"), secret=secret + "x")[0] == 403
            assert http("POST", f"{bot.url}/{secret}", command(4, "/unsubscribe"), secret=secret)[0] == 404
            # a malformed update with the right secret: 200 (Telegram must not resend it), skipped
            assert http("POST", bot.url + "/telegram", {"update_id": 5, "message": {}}, secret=secret)[0] == 200
            assert http("POST", bot.url + "/telegram", {"update_id": 6, "message": {"text": "x"}}, secret=secret)[0] == 200
            # the next real update is handled
            assert http("POST", bot.url + "/telegram", command(7, "/contact"), secret=secret)[0] == 200
            reply = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == USER, timeout=15)
            assert len(reply) == 1 and "044-201-4878" in reply[0].params["text"]
            store = Store.in_dir(data)
            try:
                assert store.user(USER)["subscribed"] == 1  # the forged /unsubscribe changed nothing
                assert http("POST", bot.url + "/telegram", command(8, "/unsubscribe"), secret=secret)[0] == 200
                emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == USER, count=2, timeout=15)
                assert store.user(USER)["subscribed"] == 0
            finally:
                store.close()

            status, headers, body = http("GET", bot.url + "/healthz")
            health = json.loads(body)
            assert status == 200 and health["status"] == "ok" and health["database"] == "ok", health
            assert "entries" in health["knowledge"] and health["outbox"] == 0

            status, headers, body = http("GET", bot.url + "/metrics")
            assert status == 200 and headers["Content-Type"] == CONTENT_TYPE
            text = body.decode()
            assert 'bot_updates_total{kind="command"} 2.0' in text  # the two accepted commands, not the forged ones
            assert "bot_reply_seconds_bucket" in text and "bot_outbox_depth 0.0" in text

            # the database deleted under the running bot: not healthy any more, and it says why
            for suffix in ("", "-wal", "-shm"):
                Path(f"{data / 'bot.db'}{suffix}").unlink(missing_ok=True)
            status, _, body = http("GET", bot.url + "/healthz")
            health = json.loads(body)
            assert status == 503 and health["status"] == "unavailable" and health["database"] != "ok", health
        finally:
            assert bot.stop() == 0

        # a restart reuses the kept secret
        again = WebhookBot(tmp_path, emu)
        try:
            assert again.hook.params["secret_token"] == secret
        finally:
            again.stop()
    log = bot.log.read_text(encoding="utf-8", errors="replace")
    assert secret not in log and TOKEN not in log
    assert log.count("cannot be parsed") == 2 and "without the right secret token" in log


def test_webhook_secret_telegram_would_refuse_stops_the_start(tmp_path: Path) -> None:
    with BotApiEmulator(token=TOKEN) as emu:
        env = {**os.environ, "BOT_DATA_DIR": str(tmp_path / "data"), "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_BASE_URL": emu.base_url, "TELEGRAM_WEBHOOK_SECRET": "my secret!"}
        out = subprocess.run([sys.executable, "-m", "bot", "run", "--webhook", "https://bot.example.org"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode != 0
        assert "A-Z, a-z, 0-9, _ and -" in out.stderr and "Traceback" not in out.stderr
        assert not emu.calls_of("setWebhook")


@pytest.mark.slow
def test_webhook_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with BotApiEmulator(token=TOKEN) as emu, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = tmp_path / "config.yaml"
        cfg.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\ntelegram:\n  webhook_listen: 127.0.0.1\n  webhook_port: {port}\n",
                       encoding="utf-8")
        env = {**os.environ, "BOT_CONFIG": str(cfg), "BOT_DATA_DIR": str(tmp_path / "data"), "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_BASE_URL": emu.base_url}
        out = subprocess.run([sys.executable, "-m", "bot", "run", "--webhook", "https://bot.example.org"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert not emu.calls_of("setWebhook")
