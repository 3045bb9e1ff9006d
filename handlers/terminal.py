"""`python -m bot chat`: talk to the real bot in this terminal, with no token and no network.

It starts the project's Bot API emulator on 127.0.0.1, runs the very same python-telegram-bot
Application against it, and turns what you type into updates:

    any text        a message to the bot (write \\n for a line break)
    /command        a command (/start, /lang, /now …)
    #N              press button N of the last keyboard
    @text           an inline query (as if typed "@bot text" in another chat)
    !loc            send your location to the bot
    !lang ko|en     switch the app language of the simulated Telegram user
    !quit           leave (or Ctrl-D)
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import time
from dataclasses import replace

from bot.config import Config
from emulator import BotApiEmulator

USER_ID = 1000
LOCAL_TOKEN = "123456:LOCAL-CHAT-TOKEN"
SHOWN = {"sendMessage", "editMessageText", "sendVenue", "sendLocation", "sendDocument", "answerInlineQuery",
         "answerCallbackQuery", "copyMessage", "sendPhoto", "editMessageReplyMarkup"}


def html_to_terminal(text: str) -> str:
    text = re.sub(r"</?b>", "**", text)
    text = re.sub(r"</?i>", "_", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


class Transcript:
    """Prints the bot's calls as a conversation and remembers the last keyboard."""

    def __init__(self, emu: BotApiEmulator, out=sys.stdout) -> None:
        self.emu, self.out = emu, out
        self.seen = 0
        self.buttons: list[dict] = []

    def settle(self, timeout: float = 3.0, quiet: float = 0.25) -> None:
        """Wait until the bot has answered (no new calls for `quiet` seconds), then print."""
        deadline = time.monotonic() + timeout
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            calls = [c for c in self.emu.calls[self.seen:] if c.method in SHOWN]
            if len(calls) != last_count:
                last_count, last_change = len(calls), time.monotonic()
            elif calls and time.monotonic() - last_change >= quiet:
                break
            time.sleep(0.03)
        self.flush()

    def flush(self) -> None:
        calls = self.emu.calls
        for call in calls[self.seen:]:
            self.show(call)
        self.seen = len(calls)

    def show(self, call) -> None:
        p = call.params
        w = self.out.write
        if call.method not in SHOWN or (call.method == "answerCallbackQuery" and not p.get("text")):
            return
        if not call.ok:
            w(f"  ⚠️  {call.method} failed: {call.description}\n")
            return
        if call.method in ("sendMessage", "editMessageText"):
            tag = "bot" if call.method == "sendMessage" else "bot (edited)"
            w(f"\n{tag}> " + html_to_terminal(p.get("text", "")).replace("\n", "\n     ") + "\n")
            self._keyboard(p.get("reply_markup"))
        elif call.method == "editMessageReplyMarkup":
            self._keyboard(p.get("reply_markup"))
        elif call.method in ("sendVenue", "sendLocation"):
            w(f"bot> 📍 {p.get('title', 'location')} {p.get('address', '')} "
              f"https://maps.google.com/?q={p.get('latitude')},{p.get('longitude')}\n")
        elif call.method == "sendDocument":
            doc = p.get("document")
            w(f"bot> 📎 {getattr(doc, 'filename', 'file')} ({getattr(doc, 'size', '?')} bytes)\n")
        elif call.method == "answerInlineQuery":
            results = p.get("results") or []
            w("inline> " + ("; ".join(f"[{r.get('title')}]" for r in results) or "(no results)") + "\n")
        elif call.method == "answerCallbackQuery":
            w(f"bot (popup)> {p.get('text')}\n")
        elif call.method == "copyMessage":
            w("bot> (a copied message)\n")

    def _keyboard(self, markup) -> None:
        rows = (markup or {}).get("inline_keyboard") or []
        if not rows:
            return
        self.buttons = []
        for row in rows:
            labels = []
            for button in row:
                self.buttons.append(button)
                labels.append(f"#{len(self.buttons)} {button.get('text')}")
            self.out.write("     " + "   ".join(labels) + "\n")


async def _run(config: Config, emu: BotApiEmulator, lang: str) -> None:
    from handlers.app import build_application, post_init

    app = build_application(config)
    transcript = Transcript(emu)
    async with app:
        await post_init(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=5)
        transcript.flush()
        transcript.seen = len(emu.calls)
        print(__doc__.split("\n\n", 2)[2])
        emu.push_message(USER_ID, "/start", user_id=USER_ID, language_code=lang, first_name="You")
        await asyncio.to_thread(transcript.settle)
        last_message_id = None
        while True:
            try:
                line = await asyncio.to_thread(input, "\nyou> ")
            except (EOFError, KeyboardInterrupt):
                break
            line = line.strip().replace("\\n", "\n")
            if line in ("!quit", "!q", "!exit"):
                break
            if line.startswith("!lang"):
                lang = "ko" if "ko" in line else "en"
                print(f"(Telegram app language is now {lang})")
                continue
            if line.startswith("#") and line[1:].isdigit():
                n = int(line[1:])
                if not 1 <= n <= len(transcript.buttons):
                    print("(no such button)")
                    continue
                button = transcript.buttons[n - 1]
                if "callback_data" not in button:
                    print(f"(that button opens {button.get('url') or 'an inline query'})")
                    continue
                sent = [c for c in emu.calls if c.method in ("sendMessage", "editMessageText") and c.ok
                        and str(c.params.get("chat_id")) == str(USER_ID)
                        and any(button in row for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", []))]
                last_message_id = sent[-1].result["message_id"] if sent else last_message_id
                emu.push_callback_query(USER_ID, USER_ID, button["callback_data"], last_message_id,
                                        language_code=lang)
            elif line.startswith("@"):
                emu.push_inline_query(USER_ID, line[1:].strip(), language_code=lang)
            elif line == "!loc":
                emu.push_message(USER_ID, None, user_id=USER_ID, language_code=lang,
                                 location={"latitude": 37.6688, "longitude": 126.7458})
            else:
                emu.push_message(USER_ID, line, user_id=USER_ID, language_code=lang, first_name="You")
            await asyncio.to_thread(transcript.settle)
        await app.updater.stop()
        await app.stop()


def chat(config: Config, staff: bool = False, now: str | None = None, lang: str = "ko") -> int:
    from bot.clock import parse_datetime

    token = config.token or LOCAL_TOKEN
    emu = BotApiEmulator(token=token).start()
    try:
        config = replace(config, token=token, base_url=emu.base_url,
                         staff_ids=config.staff_ids | ({USER_ID} if staff else set()),
                         now=parse_datetime(now, config.timezone) if now else config.now)
        print(f"Local Bot API emulator on {emu.base_url.rsplit('/', 1)[0]} — nothing leaves this machine.")
        asyncio.run(_run(config, emu, lang))
    finally:
        emu.stop()
    return 0
