"""bot/logs.py: text or JSON lines, the token redacted in every line (messages, arguments, exception
messages, tracebacks, uncaught exceptions, every handler), httpx kept quiet. Each case runs in its own
interpreter: logging set-up is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys

from harness import ROOT, TOKEN

SECRET_PART = TOKEN.split(":")[1]

SCRIPT = f"""
import io, logging, sys, threading
from bot.logs import setup_logging
other = io.StringIO()
logging.getLogger().addHandler(logging.StreamHandler(other))  # a handler that was there before
setup_logging({TOKEN!r}, sys.argv[1])
log = logging.getLogger("telegram.ext.Updater")
log.info("GET http://api/bot%s/getMe", {TOKEN!r})
log.warning("only the secret part: %s", {SECRET_PART!r})
logging.getLogger("httpx").info("HTTP Request: POST http://api/bot%s/getUpdates", {TOKEN!r})
try:
    raise ValueError("Unauthorized for http://api/bot" + {TOKEN!r} + "/getMe")
except ValueError:
    log.exception("start-up failed")
def fail():
    raise RuntimeError("thread " + {TOKEN!r})
t = threading.Thread(target=fail)
t.start(); t.join()
sys.stdout.write("OTHER:" + other.getvalue())
"""


def run(fmt: str) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, fmt], cwd=ROOT, capture_output=True, text=True, timeout=60)
    return out.stderr, out.stdout


def test_json_lines_with_the_token_redacted_everywhere() -> None:
    stderr, stdout = run("json")
    entries = [json.loads(line) for line in stderr.splitlines()]  # every line is one JSON object
    assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR", "CRITICAL"]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert entries[0] == {**entries[0], "logger": "telegram.ext.Updater", "message": "GET http://api/bot<TOKEN>/getMe"}
    assert entries[1]["message"] == "only the secret part: <TOKEN>"
    assert "ValueError: Unauthorized for http://api/bot<TOKEN>/getMe" in entries[2]["exc"]
    assert "Traceback" in entries[2]["exc"]
    assert "RuntimeError: thread <TOKEN>" in entries[3]["exc"]  # an uncaught exception in a thread
    assert not any("httpx" == e["logger"] for e in entries)  # request URLs (INFO) are not logged
    assert TOKEN not in stderr + stdout and SECRET_PART not in stderr + stdout
    assert "<TOKEN>" in stdout  # the handler that was there before is redacted too


def test_text_lines_with_the_token_redacted() -> None:
    stderr, stdout = run("text")
    assert "INFO telegram.ext.Updater: GET http://api/bot<TOKEN>/getMe" in stderr
    assert "ValueError: Unauthorized for http://api/bot<TOKEN>/getMe" in stderr
    assert TOKEN not in stderr + stdout and SECRET_PART not in stderr + stdout
