"""The command registry (handlers/commands.py) drives the real bot: every declared command answers, the
menus set at start-up are the registry's, staff-only commands are refused by the one wrapper, and the
Application's bot_data is the typed BotData."""

from __future__ import annotations

import pytest

from bot.texts import text
from emulator import BotApiEmulator
from handlers.commands import COMMANDS
from handlers.common import BotData
from harness import STAFF, TOKEN, BotRunner, Chat, make_config


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    emu = BotApiEmulator(token=TOKEN).start()
    emu.add_chat(STAFF)
    runner = BotRunner(make_config(tmp_path_factory.mktemp("commands"), emu)).start()
    yield emu, runner
    runner.stop()
    emu.stop()


def test_menus_are_the_registry(bot) -> None:
    emu, _ = bot
    for lang in ("ko", "en"):
        attendee = [(c.name, c.description(lang)) for c in COMMANDS if c.menu and not c.staff_only]
        everyone = [(c.name, c.description(lang)) for c in COMMANDS if c.menu]
        assert [(c["command"], c["description"]) for c in emu.bot_commands(language_code=lang)] == attendee
        staff = emu.bot_commands(scope={"type": "chat", "chat_id": STAFF}, language_code=lang)
        assert [(c["command"], c["description"]) for c in staff] == everyone
    assert emu.bot_commands() == emu.bot_commands(language_code="en")


@pytest.mark.parametrize("command", [c.name for c in COMMANDS if c.staff_only])
def test_staff_only_commands_are_refused_politely(bot, command: str) -> None:
    emu, _ = bot
    for lang in ("ko", "en"):
        reply = Chat(emu, user_id=7100 + len(command), lang=lang).say(f"/{command}")
        assert reply.params["text"] == text("refused", lang)


@pytest.mark.parametrize("command", [c.name for c in COMMANDS if not c.staff_only])
def test_every_attendee_command_is_handled(bot, command: str) -> None:
    """Each command reaches its own callback, never the "unknown command" fallback."""
    emu, _ = bot
    chat = Chat(emu, user_id=7200 + [c.name for c in COMMANDS].index(command), lang="en")  # one each: no flood limit
    since = chat.mark()
    emu.push_message(chat.chat_id, f"/{command}", user_id=chat.user_id, language_code="en")
    calls = chat.replies(since, methods=("sendMessage", "sendDocument"))
    assert all(c.params.get("text") not in (text("unknown_command", "en"), text("flood", "en")) for c in calls)


def test_bot_data_is_typed(bot) -> None:
    _, runner = bot
    data = runner.app.bot_data
    assert isinstance(data, BotData)
    assert data.core is runner.core and data.broadcaster is not None and data.notices is not None
    assert data.reloader is not None and data.debounce is not None and data.on_reload is not None
