"""``python -m emulator``: serve the emulator on its own until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

from emulator.core import DEFAULT_TOKEN, BotApiEmulator

DESCRIPTION = "A strict, in-process emulator of the Telegram Bot API server, for tests and offline demos."


def main(argv: list[str] | None = None) -> int:
    """``python -m emulator --port 8081 --token T``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=DESCRIPTION)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--username", default="wscw_test_bot", help="the bot's username (getMe)")
    parser.add_argument("--spec", default=None, help="path to the Bot API spec JSON")
    parser.add_argument("--chat", type=int, action="append", default=[],
                        help="register a chat id the bot may write to (repeatable)")
    parser.add_argument("--rate", type=int, default=None, help="enforce a global send rate per second")
    args = parser.parse_args(argv)
    emulator = BotApiEmulator(args.token, args.host, args.port, args.username, args.spec).start()
    for chat_id in args.chat:
        emulator.add_chat(chat_id)
    if args.rate:
        emulator.enforce_rate(args.rate)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    print(emulator.base_url, flush=True)
    print(f"control interface: {emulator.url}/_emulator/ (push_update, calls?since=N, add_chat, "
          f"block_chat, retry_after, ...)", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0
