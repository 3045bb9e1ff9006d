"""Operator errors (issue 11 item 6): every one ends the command with exit code ≠ 0 and ONE line on stderr
that says what is wrong and what to do: no traceback, and never the token (nor its secret part)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from test_process import free_port

from emulator import BotApiEmulator
from harness import ROOT, TOKEN

SECRET = TOKEN.split(":", 1)[1]


def cli(*args: str, tmp_path: Path, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    base.update({"BOT_DATA_DIR": str(tmp_path / "data"), "TELEGRAM_BOT_TOKEN": TOKEN})
    base.update(env)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                          env=base, timeout=60, input=input if input is not None else "")


def one_line_error(out: subprocess.CompletedProcess, *expected: str) -> str:
    """The process failed with exactly one line on stderr, no traceback, no token; returns the line."""
    both = out.stdout + out.stderr
    assert out.returncode != 0, both
    assert "Traceback" not in both, both
    assert TOKEN not in both and SECRET not in both, both
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), both
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.mark.slow  # a `run` process (~1 s); test_wrong_token runs the same pre-flight check by default
def test_unreachable_api(tmp_path: Path) -> None:
    out = cli("run", tmp_path=tmp_path, TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot")
    one_line_error(out, "cannot reach the Telegram Bot API", "TELEGRAM_BASE_URL")


def test_wrong_token(tmp_path: Path) -> None:
    with BotApiEmulator(token="111111:THE-RIGHT-ONE") as emu:  # answers 401 Unauthorized to any other token
        out = cli("run", tmp_path=tmp_path, TELEGRAM_BASE_URL=emu.base_url)
    one_line_error(out, "rejected the bot token", "TELEGRAM_BOT_TOKEN")


class _EchoBadGateway(http.server.BaseHTTPRequestHandler):
    """A broken proxy: 502 with an HTML page that repeats the request path (and so the token)."""

    def do_POST(self) -> None:  # noqa: N802
        body = f"<html><body><h1>502 Bad Gateway</h1><p>upstream failed for {self.path}</p></body></html>".encode()
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args) -> None:
        pass


@pytest.mark.slow  # a `run` process (~1 s); the mapping itself: test_python_telegram_bot_start_up_errors_become_one_line
def test_502_page_echoing_the_token(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoBadGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = cli("run", tmp_path=tmp_path, TELEGRAM_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}/bot")
    finally:
        server.shutdown()
        server.server_close()
    one_line_error(out, "502")


def test_webhook_must_be_https(tmp_path: Path) -> None:
    out = cli("run", "--webhook", "http://bot.example.org", tmp_path=tmp_path, TELEGRAM_BASE_URL="http://127.0.0.1:9/bot")
    one_line_error(out, "https://")


@pytest.mark.slow  # a `run` process (~1 s); test_read_only_data_folder checks a data-folder error by default
def test_data_folder_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    out = cli("run", tmp_path=tmp_path, BOT_DATA_DIR=str(tmp_path / "a-file" / "data"),
              TELEGRAM_BASE_URL="http://127.0.0.1:9/bot")
    one_line_error(out, "cannot create the data folder", "BOT_DATA_DIR")


def _read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:  # root ignores permissions: then use a folder of the kernel's that nobody may write in
        fd, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return folder
    os.close(fd)
    os.unlink(name)
    folder.chmod(0o755)
    sysfs = Path("/sys/kernel")
    try:
        fd, name = tempfile.mkstemp(dir=sysfs)
    except OSError:
        return sysfs
    os.close(fd)
    os.unlink(name)
    pytest.skip("no read-only folder available to this user")


def test_read_only_data_folder(tmp_path: Path) -> None:
    folder = _read_only_folder(tmp_path)
    try:
        out = cli("run", tmp_path=tmp_path, BOT_DATA_DIR=str(folder), TELEGRAM_BASE_URL="http://127.0.0.1:9/bot")
    finally:
        if folder.is_relative_to(tmp_path):
            folder.chmod(0o755)
    one_line_error(out, "not writable", "BOT_DATA_DIR")


# `ask --now <bad>` loads the matcher (Kiwi, ~3 s) before it reads --now: slow
@pytest.mark.parametrize("command", ["chat", pytest.param("ask", marks=pytest.mark.slow)])
@pytest.mark.parametrize("value", ["tomorrow", pytest.param("9999-12-31", marks=pytest.mark.slow)])
def test_bad_now_option(tmp_path: Path, command: str, value: str) -> None:
    out = cli(command, "--now", value, *(["where is the venue"] if command == "ask" else []), tmp_path=tmp_path)
    assert out.returncode == 2
    one_line_error(out, "--now", value, "2031-05-14T09:30")


# `run` imports the whole Telegram stack first (~1 s): slow; chat and ask check BOT_NOW the same way by default
@pytest.mark.parametrize("command", [pytest.param("run", marks=pytest.mark.slow), "chat", "ask"])
def test_bot_now_out_of_range(tmp_path: Path, command: str) -> None:
    """The clock runs forward from BOT_NOW: from 9999-12-31 "tomorrow" overflows; refuse it up front."""
    out = cli(command, *(["where is the venue"] if command == "ask" else []), tmp_path=tmp_path,
              BOT_NOW="9999-12-31", TELEGRAM_BASE_URL="http://127.0.0.1:9/bot")
    one_line_error(out, "BOT_NOW", "2000", "2099")


def test_unexpected_error_is_one_redacted_line_and_debug_shows_the_traceback(monkeypatch, capsys) -> None:
    from bot import cli as cli_module

    def broken(args) -> int:
        raise RuntimeError(f"boom while calling https://api.telegram.org/bot{TOKEN}/getMe\nsecond line")

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(cli_module, "cmd_ask", broken)
    assert cli_module.main(["ask", "hello"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: unexpected RuntimeError: boom while calling "
                                "https://api.telegram.org/bot<TOKEN>/getMe (run with --debug for details)"]
    for argv in (["--debug", "ask", "hello"], ["ask", "--debug", "hello"]):
        assert cli_module.main(argv) == 1
        err = capsys.readouterr().err
        assert "Traceback" in err and "RuntimeError" in err and TOKEN not in err and SECRET not in err


def test_python_telegram_bot_start_up_errors_become_one_line() -> None:
    """If PTB itself fails at start-up (after the pre-flight getMe passed), its exception is mapped too."""
    from telegram.error import Conflict, InvalidToken, NetworkError, TimedOut

    from bot.ops import describe_api_error

    base = "http://127.0.0.1:1/bot"
    cases = {
        InvalidToken(f"Not Found. token {TOKEN}"): "rejected the bot token",
        NetworkError(f"Bad Gateway (502). Parsing the server response b'<p>/bot{TOKEN}/getMe</p>' failed"):
            "Bad Gateway (502)",
        TimedOut(): "did not answer in time",
        Conflict("terminated by other getUpdates request"): "another program is using this bot token",
    }
    for exc, expected in cases.items():
        line = describe_api_error(exc, base, TOKEN)
        assert line and expected in line and TOKEN not in line and SECRET not in line and "\n" not in line
    assert describe_api_error(ValueError("x"), base, TOKEN) is None
