"""The bot's commands, each declared once. `COMMANDS` drives:

- the `CommandHandler`s (`register`: called before the fallbacks for unknown commands), staff-only
  commands wrapped in the one polite refusal (handlers.common.staff_only);
- the command menus (`set_menus`, from post_init): attendee commands for each language, and for each
  staff member's chat the same plus the staff commands;
- the /help page (`help_command`): the commands with a `help_line`, grouped by it, each with its
  short `help.<name>` text.

Descriptions come from the text catalogue (bot/texts.py): `cmd.<name>` in the menus, `help.<name>` on
/help. Adding a command is one line here, one callback and its texts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import groupby

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot import pages
from bot.knowledge import Knowledge
from bot.texts import text
from handlers import agenda, attendee, helpdesk, reload, staff
from handlers.common import Callback, Context, core, send_reply, staff_only, ui_lang

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    callback: Callback
    staff_only: bool = False  # refused politely for anyone not in the staff list, shown only in staff menus
    menu: bool = True  # in the command menu (set_my_commands)
    help_line: int | None = None  # the /help line listing it (commands with the same number share a line)
    needs: str | None = None  # the menu page (bot.pages.MENU) whose content it shows: listed only with content
    choice: bool = False  # a choice between the event's languages: listed only when it has more than one

    def listed(self, kb: Knowledge | None) -> bool:
        """In the menus and /help for this knowledge base (a page without content, or a language choice in a
        single-language event, is left out)."""
        if self.choice and kb is not None and len(kb.event.languages) < 2:
            return False
        return self.needs is None or self.needs in pages.menu_keys(kb)

    def description(self, lang: str) -> str:
        return text(f"cmd.{self.name}", lang)

    def help_text(self, lang: str) -> str:
        return text(f"help.{self.name}", lang)

    def handler(self) -> CommandHandler:
        return CommandHandler(self.name, staff_only(self.callback) if self.staff_only else self.callback)


async def help_command(update: Update, context: Context) -> None:
    """/help: how to ask, the commands of `help_lines`, inline mode."""
    lang = ui_lang(update, context)
    kb = core(context).brain.kb
    reply = pages.help_page(kb, lang, context.bot.username or "bot", help_lines(lang, kb))
    await send_reply(context, update.effective_chat.id, reply)


# in menu order
COMMANDS: tuple[Command, ...] = (
    Command("start", attendee.start),
    Command("menu", attendee.page_command, help_line=1),
    Command("schedule", attendee.page_command, help_line=1, needs="sched"),
    Command("now", attendee.page_command, help_line=1, needs="now"),
    Command("venue", attendee.page_command, help_line=1, needs="venue"),
    Command("speakers", attendee.page_command, help_line=1, needs="speakers"),
    Command("results", attendee.page_command, help_line=1, needs="results"),
    Command("contact", attendee.page_command, help_line=1),
    Command("my", agenda.my_command),
    Command("remind", agenda.remind_command),
    Command("ics", agenda.ics_command),
    Command("announcements", staff.announcements_command),
    Command("subscribe", staff.subscribe_command),
    Command("unsubscribe", staff.subscribe_command),
    Command("feedback", agenda.feedback_command),
    Command("ask", helpdesk.ask_command),
    Command("lang", attendee.lang_command, help_line=2, choice=True),
    Command("help", help_command),
    Command("broadcast", staff.broadcast_command, staff_only=True),
    Command("broadcasts", staff.broadcasts_command, staff_only=True),
    Command("reload", reload.reload_command, staff_only=True),
    Command("unanswered", staff.unanswered_command, staff_only=True),
    Command("stats", staff.stats_command, staff_only=True),
    Command("ratings", agenda.ratings_command, staff_only=True),
)


def register(app: Application) -> None:
    """One CommandHandler per command (before the fallbacks: handlers/attendee.register_fallbacks)."""
    for command in COMMANDS:
        app.add_handler(command.handler())


def menu(lang: str, staff: bool = False, kb: Knowledge | None = None) -> list[BotCommand]:
    """The command menu in `lang`: attendee commands (those of pages with content in `kb`), plus the staff
    commands for `staff`."""
    return [BotCommand(c.name, c.description(lang)) for c in COMMANDS
            if c.menu and (staff or not c.staff_only) and c.listed(kb)]


def help_lines(lang: str, kb: Knowledge | None = None) -> list[list[tuple[str, str]]]:
    """The commands /help lists (those of pages with content in `kb`), as lines of (name, short
    description) pairs."""
    listed = sorted((c for c in COMMANDS if c.help_line is not None and not c.staff_only and c.listed(kb)),
                    key=lambda c: c.help_line or 0)  # stable: menu order within a line (never None here)
    return [[(c.name, c.help_text(lang)) for c in group] for _, group in groupby(listed, key=lambda c: c.help_line)]


async def set_menus(app: Application) -> None:
    """The command menus: one per language, English for any other, and per staff chat with the staff
    commands (skipped for a staff member who has not opened a chat with the bot yet)."""
    kb = app.bot_data.core.brain.kb
    event = kb.event
    for lang in event.languages:
        await app.bot.set_my_commands(menu(lang, kb=kb), language_code=lang)
    await app.bot.set_my_commands(menu(event.reply_lang("en"), kb=kb), scope=BotCommandScopeDefault())
    for staff_id in sorted(app.bot_data.core.config.staff_ids):
        for lang in event.languages:
            try:
                await app.bot.set_my_commands(menu(lang, staff=True, kb=kb), scope=BotCommandScopeChat(staff_id),
                                              language_code=lang)
            except TelegramError as exc:  # the staff member has not opened a chat with the bot yet
                log.warning("staff commands not set for %s: %s", staff_id, exc)
                break
