"""`python -m bot run` as a real process: no token, long polling through any Bot API server given by
TELEGRAM_BASE_URL, webhook mode with a secret token, and no token in the logs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.emulator import BotApiEmulator
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
            assert hook.params["url"] == "https://bot.example.org/s3cret-token"
            assert hook.params["secret_token"] == "s3cret-token"
            update = {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()), "text": "/contact",
                                                  "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
                                                  "chat": {"id": 777, "type": "private", "first_name": "W"},
                                                  "from": {"id": 777, "is_bot": False, "first_name": "W"}}}
            emu.add_chat(777)

            def post(secret: str) -> int:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/s3cret-token", data=json.dumps(update).encode(),
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
