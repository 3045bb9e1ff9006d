"""`python -m bot init DIR`: a small, valid, commented knowledge folder and a config for a new event.

Only what the organiser said on the command line becomes a fact (title, dates, time zone, languages);
everything else is a commented example or a placeholder that says it is one. The folder validates and
answers "when is the event?" at once; `python -m bot import` then adds the programme.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.knowledge import LANGS


class StarterError(ValueError):
    """A bad option or a folder that is not empty: one line for the operator."""


@dataclass(frozen=True)
class Starter:
    title: str
    start: date
    end: date
    timezone: str
    languages: tuple[str, ...]


def parse_options(title: str, start: str, end: str, timezone: str, languages: str) -> Starter:
    """The options of `init`, checked; StarterError names the first wrong one."""
    if not title.strip() or "\n" in title:
        raise StarterError("--title: give the event's name on one line")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise StarterError(f"--start/--end: write dates as YYYY-MM-DD (got {start!r}, {end!r})") from None
    if last < first:
        raise StarterError(f"--end {last} is before --start {first}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise StarterError(f"--timezone: unknown time zone {timezone!r}; use Area/City, e.g. Europe/Berlin") from None
    langs = tuple(x.strip() for x in languages.split(",") if x.strip())
    if not langs or any(x not in LANGS for x in langs) or len(set(langs)) != len(langs):
        raise StarterError(f"--languages: {languages!r} is not one of en, ko, ko,en, en,ko")
    return Starter(title.strip(), first, last, timezone, langs)


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _long_date(d: date, lang: str) -> str:
    return f"{d.year}년 {d.month}월 {d.day}일" if lang == "ko" else f"{d.day} {d:%B %Y}"


def _texts(values: dict[str, str], langs: tuple[str, ...], indent: int) -> str:
    pad = " " * indent
    return "".join(f"{pad}{lang}: {_q(values[lang])}\n" for lang in langs)


def _lists(values: dict[str, list[str]], langs: tuple[str, ...], indent: int) -> str:
    pad = " " * indent
    return "".join(f"{pad}{lang}: [{', '.join(_q(v) for v in values[lang])}]\n" for lang in langs)


def event_yaml(s: Starter) -> str:
    langs = s.languages
    said = ", ".join(langs)
    return f"""\
# event.yaml — the event itself (written by python -m bot init; edit freely)
#
# Every text attendees read is written in each of the event's languages ({said}): one line per language.
# Fields:
#   name          full name of the event                              required
#   short_name    short name, one text for all languages              required
#   start_date    first day, YYYY-MM-DD                               required
#   end_date      last day, YYYY-MM-DD                                required
#   timezone      the event's time zone, Area/City                    required
#   languages     the languages of texts and replies: [en], [ko] or [ko, en] (the first is the default)
#   opening_hours opening hours, one text per language                optional
#   contact       whom attendees can contact: name, organisation, phone   required
# After editing: python -m bot validate

event:
  name:
{_texts({lang: s.title for lang in langs}, langs, 4)}\
  short_name: {_q(s.title)}
  start_date: {s.start.isoformat()}
  end_date: {s.end.isoformat()}
  timezone: {s.timezone}
  languages: [{said}]
  # opening_hours:
{"".join(f"  #   {lang}: ...{chr(10)}" for lang in langs)}\
  contact:
    # PLACEHOLDER — replace with the real contact before attendees use the bot. The bot shows it
    # when it cannot answer a question.
    name:
{_texts({"en": "the organisers", "ko": "운영 사무국"}, langs, 6)}\
    organisation:
{_texts({lang: s.title for lang in langs}, langs, 6)}\
    phone: "(not set yet: edit contact.phone in event.yaml)"
"""


def faq_yaml(s: Starter) -> str:
    langs = s.languages
    same_day = s.start == s.end
    # worded without tense: `event_status: true` opens the answer with where the clock stands
    # (not started yet / on now / over), so it is true before, during and after the event
    answer = {
        "en": (f"{s.title}: {_long_date(s.start, 'en')}." if same_day else
               f"{s.title}: {_long_date(s.start, 'en')} to {_long_date(s.end, 'en')}.")
              + f" Times are given in {s.timezone} time.",
        "ko": (f"{s.title}: {_long_date(s.start, 'ko')}." if same_day else
               f"{s.title}: {_long_date(s.start, 'ko')}부터 {_long_date(s.end, 'ko')}까지.")
              + f" 시간은 모두 {s.timezone} 기준입니다.",
    }
    questions = {
        "en": ["when is the event", "what are the dates of the event", "when does the event start",
               "how many days is the event"],
        "ko": ["행사 언제야", "행사 날짜", "행사 언제 시작해", "행사 며칠 동안 해"],
    }
    example_q = {"en": ["where do I pick up my badge", "badge pickup"], "ko": ["명찰 어디서 받아", "명찰 수령"]}
    example_a = {"en": "Badges are handed out at ... (write the real place and times here).",
                 "ko": "명찰은 ...에서 받을 수 있습니다 (실제 장소와 시간을 적으세요)."}
    commented = "".join(f"#       {line}\n" for line in _lists(example_q, langs, 0).splitlines())
    commented_a = "".join(f"#       {line}\n" for line in _texts(example_a, langs, 0).splitlines())
    return f"""\
# faq.yaml — questions attendees ask, with the answer (written by python -m bot init; edit freely)
#
# Each entry: id (lowercase letters, digits, '-'), questions (a few ways attendees ask it, in each
# language), answer (one text per language), optional topic (schedule, venue, speakers, results,
# contact, general) and keywords. The bot matches questions worded differently too.
# The first entry below is made from the dates given to `init`; the second is an example to copy,
# commented out (lines starting with # are ignored) — replace its '...' with real facts.

faq:
  - id: event-dates
    topic: schedule
    event_status: true  # the answer opens with the clock: not started yet / on now / over
    questions:
{_lists(questions, langs, 6)}\
    answer:
{_texts(answer, langs, 6)}\

#   - id: badge-pickup
#     topic: venue
#     questions:
{commented}\
#     answer:
{commented_a}"""


def programme_yaml(s: Starter) -> str:
    lang = s.languages[0]
    day = s.start.isoformat()
    return f"""\
# programme.yaml — the sessions (written by python -m bot init)
#
# Keep your programme here by hand, or import it from pretalx/frab with
#   python -m bot import schedule.json      (writes imported_schedule.yaml; this file is never touched)
# Each session: id, days (one date or a list), title, optional start/end ("HH:MM"), venue (a venue id),
# room, speakers (speaker ids), description — texts in each of the event's languages.
#
# Example (commented out):
# sessions:
#   - id: opening
#     days: {day}
#     title:
#       {lang}: Opening
#     start: "09:00"
#     end: "09:30"

sessions: []
"""


def venues_yaml(s: Starter) -> str:
    lang = s.languages[0]
    return f"""\
# venues.yaml — where the event takes place (written by python -m bot init)
# Each venue: id, name, optional address, latitude/longitude (for a map pin), description.
#
# Example (commented out):
# venues:
#   - id: main-hall
#     name:
#       {lang}: Main hall

venues: []
"""


def speakers_yaml(s: Starter) -> str:
    lang = s.languages[0]
    return f"""\
# speakers.yaml — who speaks (written by python -m bot init)
# Each speaker: id, name, title (their role), optional topic and quote.
#
# Example (commented out):
# speakers:
#   - id: jane-doe
#     name:
#       {lang}: Jane Doe
#     title:
#       {lang}: ...

speakers: []
"""


def config_yaml(s: Starter) -> str:
    return f"""\
# Configuration of the bot for {s.title} (written by python -m bot init).
# Every setting left out takes its default (see bot/config.py and the project's config.yaml).
# The token is read only from the environment: export TELEGRAM_BOT_TOKEN=...
# Relative paths are relative to this file's folder.

knowledge_dir: knowledge          # the YAML knowledge base
data_dir: data                    # SQLite database (users, broadcasts, questions, agendas)
timezone: {s.timezone}{" " * max(1, 22 - len(s.timezone))}# the event's time zone: every time shown and scheduled
staff_ids: []                     # Telegram user ids allowed to broadcast, reload, see stats
"""


def write_starter(directory: Path, s: Starter) -> list[Path]:
    """Write config.yaml and knowledge/ into `directory` (created; refused when it is not empty)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise StarterError(f"{directory} is not empty; give a new or empty folder (nothing was written)")
    knowledge = directory / "knowledge"
    files = {directory / "config.yaml": config_yaml(s), knowledge / "event.yaml": event_yaml(s),
             knowledge / "faq.yaml": faq_yaml(s), knowledge / "programme.yaml": programme_yaml(s),
             knowledge / "venues.yaml": venues_yaml(s), knowledge / "speakers.yaml": speakers_yaml(s)}
    knowledge.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
