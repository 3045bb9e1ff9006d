"""Personal agenda, reminders, calendar export and feedback (issue 7) — wired in the next step."""

from telegram.ext import Application


def register(app: Application) -> None:
    pass


def start_jobs(app: Application) -> None:
    pass
