"""`python -m bot run` as a real process: no token, long polling through any Bot API server given by
TELEGRAM_BASE_URL, webhook mode with a secret token, and no token in the logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from emulator import BotApiEmulator
from harness import ROOT, TOKEN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(tmp_path: Path, base_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "BOT_DATA_DIR": str(tmp_path / "data"), "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": base_url, **extra}


def test_run_without_token_explains(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    out = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=60)
    assert out.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in out.stdout and "python -m bot chat" in out.stdout


@pytest.mark.slow
def test_polling_process_answers_and_keeps_token_out_of_logs(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    with BotApiEmulator(token=TOKEN) as emu, open(log, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, stdout=sink, stderr=sink,
                                env=bot_env(tmp_path, emu.base_url))
        try:
            emu.wait_for("getUpdates", timeout=30)
            since = len(emu.calls)
            emu.push_message(4321, "해커톤 대상 누구야", user_id=4321, language_code="ko")
            reply = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == 4321, since=since,
                                 timeout=15)[0]
            assert "MBA" in reply.params["text"]
        finally:
            proc.terminate()
            proc.wait(20)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "starting" in text and TOKEN not in text and TOKEN.split(":")[1] not in text


@pytest.mark.slow
def test_webhook_mode_with_secret_token(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\ntelegram:\n  webhook_listen: 127.0.0.1\n  webhook_port: {port}\n",
                   encoding="utf-8")
    with BotApiEmulator(token=TOKEN) as emu:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--webhook", "https://bot.example.org",
                                 "--secret", "s3cret-token"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=bot_env(tmp_path, emu.base_url, BOT_CONFIG=str(cfg)))
        try:
            hook = emu.wait_for("setWebhook", timeout=30)[0]
            assert hook.params["url"] == "https://bot.example.org/telegram"  # the secret is never in the URL
            assert hook.params["secret_token"] == "s3cret-token"
            update = {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()), "text": "/contact",
                                                  "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
                                                  "chat": {"id": 777, "type": "private", "first_name": "W"},
                                                  "from": {"id": 777, "is_bot": False, "first_name": "W"}}}
            emu.add_chat(777)

            def post(secret: str) -> int:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/telegram", data=json.dumps(update).encode(),
                                             headers={"Content-Type": "application/json",
                                                      "X-Telegram-Bot-Api-Secret-Token": secret})
                try:
                    return urllib.request.urlopen(req, timeout=10).status
                except urllib.error.HTTPError as exc:
                    return exc.code

            deadline = time.monotonic() + 20
            while True:  # the webhook server may take a moment after setWebhook
                try:
                    status = post("wrong")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            assert status == 403
            assert post("s3cret-token") == 200
            reply = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == 777, timeout=15)[0]
            assert "044-201-4878" in reply.params["text"]
        finally:
            proc.terminate()
            proc.wait(20)


@pytest.mark.slow
def test_sigterm_mid_broadcast_stops_within_5_seconds_and_resumes(tmp_path: Path) -> None:
    from bot.store import Store

    subscribers = 2000
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nbroadcast:\n  rate_per_second: 200\nreload:\n  poll_seconds: 0\n",
                   encoding="utf-8")
    ids = list(range(200_000, 200_000 + subscribers))
    store = Store.in_dir(tmp_path / "data")
    store.add_users({"id": i, "lang": "en"} for i in ids)
    ann = store.create_announcement("", "sigterm test")
    assert store.queue_announcement(ann) == subscribers
    store.close()
    log = tmp_path / "bot.log"
    with BotApiEmulator(token=TOKEN) as emu, open(log, "ab") as sink:
        for i in ids:
            emu.add_chat(i)

        def sent() -> list[int]:
            return [c.params["chat_id"] for c in emu.calls_of("sendMessage") if c.ok and c.params["chat_id"] in range(ids[0], ids[-1] + 1)]

        env = bot_env(tmp_path, emu.base_url, BOT_CONFIG=str(cfg))
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, stdout=sink, stderr=sink, env=env)
        deadline = time.monotonic() + 60
        while len(sent()) < subscribers // 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        signalled, at_signal = time.monotonic(), len(sent())
        code = proc.wait(30)
        stopped_in = time.monotonic() - signalled
        at_stop = len(sent())
        assert subscribers // 10 <= at_signal < subscribers, "the signal must land in the middle of the broadcast"
        assert code == 0 and stopped_in < 5, f"stopped in {stopped_in:.1f} s, code {code}"
        assert at_stop < subscribers  # it did not finish the broadcast first

        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, stdout=sink, stderr=sink, env=env)
        try:
            deadline = time.monotonic() + 90
            while len(set(sent())) < subscribers and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        received = sent()
    print(f"\nSIGTERM after {at_stop} of {subscribers} sends: exited in {stopped_in:.2f} s with code {code}; "
          f"missing {len(set(ids) - set(received))}, duplicates {len(received) - len(set(received))}")
    assert set(received) == set(ids) and len(received) - len(set(received)) <= 1


class _EchoingGateway:
    """A reverse proxy in front of the emulator that, once `failing`, answers getUpdates with a 502 HTML
    page quoting the request path (which holds the token), as some proxies do."""

    def __init__(self, upstream: str) -> None:
        import http.server
        import threading

        gateway = self
        self.failing = False
        self.failures = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if gateway.failing and self.path.endswith("/getUpdates"):
                    gateway.failures += 1
                    page = f"<html><body><h1>502 Bad Gateway</h1>upstream failed for {self.path}</body></html>".encode()
                    self.send_response(502)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                req = urllib.request.Request(upstream + self.path, data=body, method="POST",
                                             headers={"Content-Type": self.headers.get("Content-Type", "")})
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, payload = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except ConnectionError:  # the bot gave up on a long poll (it is stopping)
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_token_never_in_logs_when_the_api_fails(tmp_path: Path) -> None:
    secret_part = TOKEN.split(":")[1]
    # a wrong token: the API answers 401
    with BotApiEmulator(token="111111:SOME-OTHER-TOKEN") as emu:
        out = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env=bot_env(tmp_path, emu.base_url))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert TOKEN not in out.stdout + out.stderr and secret_part not in out.stdout + out.stderr

    # a gateway answering getUpdates with a page that echoes the path (token included), logged by PTB
    log = tmp_path / "json.log"
    with BotApiEmulator(token=TOKEN) as emu, open(log, "wb") as sink:
        gateway = _EchoingGateway(emu.url)
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--log-format", "json"], cwd=ROOT, stdout=sink,
                                stderr=sink, env=bot_env(tmp_path, gateway.base_url))
        try:
            emu.wait_for("deleteWebhook", timeout=60)
            gateway.failing = True
            deadline = time.monotonic() + 30
            while gateway.failures < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert gateway.failures >= 2
            gateway.failing = False
            since = len(emu.calls)
            emu.push_message(4321, "/contact", user_id=4321)  # and it recovers
            emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == 4321, since=since, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            gateway.close()
    text = log.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any("Bad Gateway" in e["message"] + e.get("exc", "") and "<TOKEN>" in e["message"] + e.get("exc", "")
               for e in entries), "the gateway's page is logged, with the token redacted"
    assert TOKEN not in text and secret_part not in text
