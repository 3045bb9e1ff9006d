"""The validated knowledge model of the event, loaded from `knowledge/*.yaml`.

`load_knowledge(dir)` reads every file, checks everything (syntax, required fields, types, ids,
references, dates and times, translations) and returns a `Knowledge` — or raises `KnowledgeError`
holding *every* problem as `file:line: field: message`. It never returns half a knowledge base.

Besides the FAQ entries written by organisers, every structured item (session, speaker, pavilion,
venue, award, programme day) becomes an answerable `Entry`, so a fact is written once.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.yamlsource import Document, Problem, load_yaml

LANGS = ("ko", "en")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SESSION_KINDS = ("ceremony", "conference", "forum", "business", "exhibition", "public", "contest")
TOPICS = ("schedule", "venue", "speakers", "results", "contact", "general")
LANG_NAMES = {"ko": "Korean", "en": "English"}


class KnowledgeError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__(f"{len(self.problems)} problem(s) in the knowledge base:\n"
                         + "\n".join(str(p) for p in self.problems))


# ---------------------------------------------------------------- checks of single values
# Each reads one raw YAML value, reports what is wrong with it (file, line, field) and returns the value
# for the model, or None. The model below names the check of each of its fields.


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a group of fields"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"yes/no ({value})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    return f"the text {str(value)!r}"


def _str(r: _Reader, sub: tuple, v: Any) -> str | None:
    if isinstance(v, (dict, list)) or isinstance(v, bool):
        r.problem(sub, f"must be a text, got {_kind(v)}")
        return None
    return str(v).strip()


def _id(r: _Reader, sub: tuple, v: Any) -> str | None:
    if not isinstance(v, str) or not ID_RE.match(v):
        r.problem(sub, f"{v!r} is not a valid id: use lowercase letters, digits and '-', at most 40 characters "
                       "(e.g. opening-ceremony)")
        return None
    return v


def _langs_said(langs: tuple[str, ...]) -> str:
    return " and ".join(f"'{lang}:'" for lang in langs)


def _text(r: _Reader, sub: tuple, v: Any) -> Text | None:
    langs = r.langs
    if not isinstance(v, dict):
        versions = " and ".join(f"a{'n' if LANG_NAMES[lang][0] in 'AEIOU' else ''} {LANG_NAMES[lang]}" for lang in langs)
        r.problem(sub, f"needs {versions} version ({_langs_said(langs)} lines), got {_kind(v)}")
        return None
    ok = True
    for key in v:
        if key not in langs:
            r.problem(sub + (key,), f"unknown language '{key}': this event's languages are "
                                    f"{', '.join(repr(lang) for lang in langs)} (event.languages)")
            ok = False
    values = {}
    for lang in langs:
        raw = v.get(lang)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            r.problem(sub + ((lang,) if lang in v else ()), f"the {LANG_NAMES[lang]} text ('{lang}:') is missing")
            ok = False
        elif isinstance(raw, (dict, list, bool)):
            r.problem(sub + (lang,), f"must be a text, got {_kind(raw)}")
            ok = False
        else:
            values[lang] = str(raw).strip()
    return Text(**values) if ok else None


def _str_list(r: _Reader, sub: tuple, v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        r.problem(sub, f"must be a list ('- item' lines or [a, b]), got {_kind(v)}")
        return ()
    out = []
    for i, item in enumerate(v):
        if isinstance(item, (dict, list, bool)) or item is None or not str(item).strip():
            r.problem(sub + (i,), f"each item must be a non-empty text, got {_kind(item)}")
        else:
            out.append(str(item).strip())
    return tuple(out)


def _questions(r: _Reader, sub: tuple, v: Any) -> Questions:
    langs = r.langs
    if not isinstance(v, dict):
        r.problem(sub, f"needs {_langs_said(langs)} lists of example questions, got {_kind(v)}")
        return Questions()
    for key in v:
        if key not in langs:
            r.problem(sub + (key,), f"unknown language '{key}': this event's languages are "
                                    f"{', '.join(repr(lang) for lang in langs)} (event.languages)")
    lists: dict[str, tuple[str, ...]] = {}
    for lang in langs:
        raw = v.get(lang)
        if not raw:
            r.problem(sub + ((lang,) if lang in v else ()),
                      f"the list of {LANG_NAMES[lang]} example questions ('{lang}:') is empty; add a few phrasings")
            lists[lang] = ()
        else:
            lists[lang] = _str_list(r, sub + (lang,), raw)
    return Questions(**lists)


def _languages(r: _Reader, sub: tuple, v: Any) -> tuple[str, ...] | None:
    items = v if isinstance(v, list) else [v]
    out: list[str] = []
    for item in items:
        if item not in LANGS:
            r.problem(sub, f"{item!r} is not a supported language: use {', '.join(LANGS)} (e.g. [en] or [ko, en])")
            return None
        if item in out:
            r.problem(sub, f"'{item}' is listed twice")
            return None
        out.append(item)
    return tuple(out)


def _date(r: _Reader, sub: tuple, v: Any) -> date | None:
    try:
        return date.fromisoformat(str(v).strip())
    except ValueError:
        r.problem(sub, f"{v!r} is not a date: write it as YYYY-MM-DD, e.g. 2031-05-14")
        return None


def _dates(r: _Reader, sub: tuple, v: Any) -> tuple[date, ...]:
    items = v if isinstance(v, list) else [v]
    out = []
    for i, item in enumerate(items):
        d = _date(r, sub + ((i,) if isinstance(v, list) else ()), item)
        if d:
            out.append(d)
    return tuple(out)


def _moment(r: _Reader, sub: tuple, v: Any) -> date | datetime | None:
    """`from:` — a date (2031-05-15) or a date-time (2031-05-15T16:00) in the event's time zone."""
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, date):
        return v
    raw = str(v).strip()
    try:
        return date.fromisoformat(raw) if len(raw) <= 10 else datetime.fromisoformat(raw).replace(tzinfo=None)
    except ValueError:
        r.problem(sub, f"{v!r} is not a date or date-time: write 2031-05-15 or 2031-05-15T16:00 (event time)")
        return None


def available_from(value: date | datetime | None, tz: ZoneInfo) -> datetime | None:
    """The moment a dated entry (`from:`) becomes true: a date-time in the event's time zone as written, a
    date alone at the END of that day (the time of an announcement is not known: never before it)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz)
    return datetime.combine(value + timedelta(days=1), time(0), tz)


def _time(r: _Reader, sub: tuple, v: Any) -> time | None:
    m = TIME_RE.match(str(v).strip())
    if not m:
        r.problem(sub, f"{v!r} is not a time: write it as HH:MM on the 24-hour clock, e.g. \"16:00\"")
        return None
    return time(int(m.group(1)), int(m.group(2)))


def _number(lo: float, hi: float) -> Callable:
    def check(r: _Reader, sub: tuple, v: Any) -> float | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            r.problem(sub, f"must be a number, got {_kind(v)}")
            return None
        if not lo <= v <= hi:
            r.problem(sub, f"must be between {lo} and {hi}, got {v}")
            return None
        return float(v)
    return check


def _flag(r: _Reader, sub: tuple, v: Any) -> bool:
    if not isinstance(v, bool):
        r.problem(sub, f"must be true or false, got {_kind(v)}")
        return False
    return v


def _whole(r: _Reader, sub: tuple, v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        r.problem(sub, f"must be a whole number of 0 or more, without dots or commas, got {_kind(v)}")
        return None
    return v


def _choice(options: tuple[str, ...]) -> Callable:
    def check(r: _Reader, sub: tuple, v: Any) -> str | None:
        if v not in options:
            r.problem(sub, f"{v!r} is not one of: {', '.join(options)}")
            return None
        return v
    return check


def _timezone(r: _Reader, sub: tuple, v: Any) -> ZoneInfo | None:
    try:
        return ZoneInfo(str(v))
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(sub, f"unknown time zone {v!r}; use Asia/Seoul")
        return None


def _contact(r: _Reader, sub: tuple, v: Any) -> Contact | None:
    inner = _Reader(r.doc, r.path + sub, r.field_name(sub), r.problems, r.langs)
    d = inner.item(v, _schema(Contact))
    if not d or None in (d.get("name"), d.get("organisation"), d.get("phone")):
        return None
    return Contact(**d)


def _winners(r: _Reader, sub: tuple, v: Any) -> tuple[Winner, ...]:
    if not isinstance(v, list):
        r.problem(sub, f"must be a list of winners ('- work: ...'), got {_kind(v)}")
        return ()
    out = []
    for i, item in enumerate(v):
        inner = _Reader(r.doc, r.path + sub + (i,), r.field_name(sub + (i,)), r.problems, r.langs)
        d = inner.item(item, _schema(Winner))
        if d and d.get("work"):
            out.append(Winner(**d))
    return tuple(out)


def checked(check: Callable, default: Any = MISSING, key: str | None = None) -> Any:
    """A field of the model read from the files with `check`; a field without a default is required.
    `key`: the field's name in the files when it differs (`from:` is `from_` in Python)."""
    meta = {"check": check, "key": key or ""}
    return field(metadata=meta) if default is MISSING else field(default=default, metadata=meta)


def _attrs(model: type, values: dict[str, Any]) -> dict[str, Any]:
    """Checked values (by their names in the files) as the model's keyword arguments."""
    names = {f.metadata.get("key") or f.name: f.name for f in fields(model)}
    return {names.get(k, k): v for k, v in values.items()}


@functools.cache
def _schema(model: type, order: tuple[str, ...] | None = None) -> dict[str, tuple[Callable, bool]]:
    """What the files may say about `model`: field -> (check, required), from the model's declarations
    (`order`: the order organisers see in 'allowed: ...', when it differs from the declaration order)."""
    spec = {f.metadata.get("key") or f.name: (f.metadata["check"],
                                              f.default is MISSING and f.default_factory is MISSING)
            for f in fields(model)}
    if order is None:
        return spec
    assert sorted(order) == sorted(spec), (model, order)
    return {name: spec[name] for name in order}


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Text:
    """A text in the event's languages (event.languages); a language the event does not use is ""."""

    ko: str = ""
    en: str = ""

    def get(self, lang: str) -> str:
        """The text in `lang`, else in the event's other language (the one that is there)."""
        mine, other = (self.ko, self.en) if lang == "ko" else (self.en, self.ko)
        return mine or other


@dataclass(frozen=True)
class Questions:
    ko: tuple[str, ...] = ()
    en: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return self.ko + self.en


@dataclass(frozen=True)
class Contact:
    name: Text = checked(_text)
    organisation: Text = checked(_text)
    phone: str = checked(_str)


@dataclass(frozen=True)
class Event:
    name: Text = checked(_text)
    short_name: str = checked(_str)
    start_date: date = checked(_date)
    end_date: date = checked(_date)
    timezone: ZoneInfo = checked(_timezone)
    contact: Contact = checked(_contact)
    opening_hours: Text | None = checked(_text, None)
    uid_domain: str | None = checked(_str, None)  # calendar UIDs (…@domain); default: from short_name
    welcome_examples: Questions = checked(_questions, Questions())  # example questions in the welcome
    # the languages attendees are answered in, first = default; every text is written in each of them
    languages: tuple[str, ...] = checked(_languages, ("ko", "en"))

    def reply_lang(self, lang: str | None) -> str:
        """`lang` when the event speaks it, else the event's first language."""
        return lang if lang in self.languages else self.languages[0]

    @property
    def days(self) -> tuple[date, ...]:
        n = (self.end_date - self.start_date).days + 1
        return tuple(self.start_date + timedelta(days=i) for i in range(n))


@dataclass(frozen=True)
class Venue:
    id: str = checked(_id)
    name: Text = checked(_text)
    address: Text | None = checked(_text, None)
    latitude: float | None = checked(_number(-90, 90), None)
    longitude: float | None = checked(_number(-180, 180), None)
    description: Text | None = checked(_text, None)
    aliases: tuple[str, ...] = checked(_str_list, ())
    questions: Questions = checked(_questions, Questions())


@dataclass(frozen=True)
class Pavilion:
    id: str = checked(_id)
    name: Text = checked(_text)
    venue: str = checked(_id)
    description: Text | None = checked(_text, None)
    aliases: tuple[str, ...] = checked(_str_list, ())
    questions: Questions = checked(_questions, Questions())


@dataclass(frozen=True)
class Speaker:
    id: str = checked(_id)
    name: Text = checked(_text)
    title: Text | None = checked(_text, None)  # their role, e.g. "CEO, Example Corp"
    topic: Text | None = checked(_text, None)
    quote: Text | None = checked(_text, None)
    bio: Text | None = checked(_text, None)
    aliases: tuple[str, ...] = checked(_str_list, ())
    questions: Questions = checked(_questions, Questions())


@dataclass(frozen=True)
class Session:
    id: str = checked(_id)
    days: tuple[date, ...] = checked(_dates)
    title: Text = checked(_text)
    start: time | None = checked(_time, None)
    end: time | None = checked(_time, None)
    venue: str | None = checked(_id, None)
    room: Text | None = checked(_text, None)
    speakers: tuple[str, ...] = checked(_str_list, ())
    kind: str | None = checked(_choice(SESSION_KINDS), None)
    description: Text | None = checked(_text, None)
    track: str | None = checked(_str, None)  # as a programme tool names it (pretalx/frab import)
    type: str | None = checked(_str, None)  # talk, workshop, … (pretalx/frab import)
    language: str | None = checked(_str, None)  # the language the session is held in, e.g. en
    aliases: tuple[str, ...] = checked(_str_list, ())
    questions: Questions = checked(_questions, Questions())

    def starts_at(self, day: date, tz: ZoneInfo) -> datetime | None:
        return datetime.combine(day, self.start, tz) if self.start else None

    def ends_at(self, day: date, tz: ZoneInfo) -> datetime | None:
        return datetime.combine(day, self.end, tz) if self.end else None


@dataclass(frozen=True)
class Winner:
    work: Text = checked(_text)
    team: str | None = checked(_str, None)
    group: Text | None = checked(_text, None)
    total_works: int | None = checked(_whole, None)


@dataclass(frozen=True)
class Award:
    id: str = checked(_id)
    competition: Text = checked(_text)
    prize: Text = checked(_text)
    category: Text | None = checked(_text, None)
    honour: Text | None = checked(_text, None)
    amount_krw: int | None = checked(_whole, None)
    note: Text | None = checked(_text, None)
    winners: tuple[Winner, ...] = checked(_winners, ())
    aliases: tuple[str, ...] = checked(_str_list, ())
    questions: Questions = checked(_questions, Questions())
    from_: date | datetime | None = checked(_moment, None, key="from")  # the result is true from then on


@dataclass(frozen=True)
class Faq:
    id: str = checked(_id)
    questions: Questions = checked(_questions)
    answer: Text = checked(_text)
    topic: str | None = checked(_choice(TOPICS), None)
    keywords: tuple[str, ...] = checked(_str_list, ())
    title: Text | None = checked(_text, None)  # a label for buttons and inline results (default: the first question)
    from_: date | datetime | None = checked(_moment, None, key="from")  # the answer is true from then on
    # the answer opens with where the clock stands: not started yet / on now / over (from the event's dates)
    event_status: bool = checked(_flag, False)


@dataclass(frozen=True)
class Entry:
    """Something the bot can answer: a FAQ entry or a structured item.

    `kind` is one of faq, session, speaker, pavilion, venue, award, day; `ref` is the item (or the date
    for a day). `questions` are the example questions and names the matcher indexes.
    """

    id: str
    kind: str
    topic: str
    questions: Questions
    keywords: tuple[str, ...]
    ref: Any
    title: Text

    def available_from(self, tz: ZoneInfo) -> datetime | None:
        """When the entry's answer becomes true (`from:` of a FAQ entry or award); None: always."""
        return available_from(getattr(self.ref, "from_", None), tz)

    def facts(self) -> tuple[str, ...]:
        """The texts of the item behind the entry (a FAQ answer, a session's description, a speaker's
        title and quote, an award's winners…), both languages: what the answer says, as opposed to the
        questions that ask for it. Example questions, aliases and ids are not facts."""
        out: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, Text):
                out.extend((value.ko, value.en))
            elif isinstance(value, tuple):
                for v in value:
                    walk(v)
            elif hasattr(value, "__dataclass_fields__") and not isinstance(value, Questions):
                for name in value.__dataclass_fields__:
                    if name not in ("id", "aliases", "questions", "venue", "speakers", "days"):
                        walk(getattr(value, name))

        walk(self.ref)
        return tuple(t for t in out if t)


@dataclass(frozen=True)
class Knowledge:
    event: Event
    venues: tuple[Venue, ...]
    pavilions: tuple[Pavilion, ...]
    speakers: tuple[Speaker, ...]
    sessions: tuple[Session, ...]
    awards: tuple[Award, ...]
    faq: tuple[Faq, ...]
    synonyms: tuple[tuple[str, ...], ...] = ()
    entries: tuple[Entry, ...] = ()
    by_id: dict[str, Entry] = field(default_factory=dict, compare=False)
    # file name → what it defines: entry ids, "event", "synonyms:<first word>" (a reload checks what would go)
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def entry(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    def speaker(self, speaker_id: str) -> Speaker | None:
        return next((s for s in self.speakers if s.id == speaker_id), None)

    def venue(self, venue_id: str | None) -> Venue | None:
        return next((v for v in self.venues if v.id == venue_id), None)

    def session(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    def sessions_on(self, day: date) -> list[Session]:
        """Sessions of a day: timed ones by start time first, then the all-day ones in file order."""
        todays = [s for s in self.sessions if day in s.days]
        return sorted(todays, key=lambda s: (s.start is None, s.start or time(0)))

    def summary(self) -> str:
        return (f"{len(self.entries)} answerable entries ({len(self.faq)} FAQ), {len(self.sessions)} sessions, "
                f"{len(self.speakers)} speakers, {len(self.venues)} venues, {len(self.pavilions)} pavilions, "
                f"{len(self.awards)} awards")


# ---------------------------------------------------------------- reading and checking


class _Reader:
    """Checks one item of one file and collects problems with file, line and field."""

    def __init__(self, doc: Document, path: tuple, label: str, problems: list[Problem],
                 langs: tuple[str, ...] = LANGS) -> None:
        self.doc, self.path, self.label, self.problems = doc, path, label, problems
        self.langs = langs  # the event's languages: the ones every text must have

    def field_name(self, sub: tuple) -> str:
        return ".".join([self.label] + [str(p) if not isinstance(p, int) else f"[{p + 1}]" for p in sub]).replace(".[", "[")

    def problem(self, sub: tuple, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line(self.path + sub), self.field_name(sub), message))

    def item(self, value: Any, fields: dict[str, tuple[Callable, bool]]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem((), f"each entry must be a group of 'field: value' lines, got {_kind(value)}")
            return None
        out: dict[str, Any] = {}
        for key in value:
            if key not in fields:
                guess = difflib.get_close_matches(str(key), fields, n=1)
                hint = f" — did you mean '{guess[0]}'?" if guess else f" (allowed: {', '.join(fields)})"
                self.problem((key,), f"unknown field '{key}'{hint}")
        for name, (check, required) in fields.items():
            raw = value.get(name)
            if raw is None or raw == "" or raw == []:
                if required:
                    self.problem((name,) if name in value else (), f"'{name}' is required and missing")
                continue
            out[name] = check(self, (name,), raw)
        return out


MODELS = {"venues": Venue, "pavilions": Pavilion, "speakers": Speaker, "sessions": Session, "awards": Award,
          "faq": Faq}
SCHEMAS: dict[str, dict[str, tuple[Callable, bool]]] = {
    key: _schema(model, ("id", "title", "topic", "from", "event_status", "questions", "keywords", "answer") if model is Faq else None)
    for key, model in MODELS.items()}
EVENT_SCHEMA = _schema(Event)
TOP_KEYS = ("event",) + tuple(SCHEMAS) + ("synonyms",)


@dataclass
class _Placed:
    """A checked item and where it came from (for reference errors)."""

    obj: Any  # None when a required field is broken
    reader: _Reader
    fields: dict[str, Any]  # what could be checked, for id and reference checks


def load_knowledge(directory: str | Path) -> Knowledge:
    """Load and check every `*.yaml` file of `directory`; raise KnowledgeError with all problems."""
    directory = Path(directory)
    problems: list[Problem] = []
    if not directory.is_dir():
        raise KnowledgeError([Problem(str(directory), 0, "(folder)", "the knowledge folder does not exist")])
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise KnowledgeError([Problem(str(directory), 0, "(folder)", "no .yaml files in the knowledge folder")])

    items: dict[str, list[_Placed]] = {key: [] for key in SCHEMAS}
    events: list[_Placed] = []
    synonyms: list[tuple[str, ...]] = []
    sources: dict[str, list[str]] = {}
    docs = [(path, load_yaml(path, problems, display_name=str(path))) for path in files]
    langs = _declared_languages([doc for _, doc in docs if doc is not None])
    for path, doc in docs:
        defined = sources.setdefault(path.name, [])
        if doc is None or doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Problem(doc.file, 1, "(file)", "the file must start with a key such as 'faq:' or "
                                    f"'sessions:' (allowed: {', '.join(TOP_KEYS)}), not with {_kind(doc.data)}"))
            continue
        for key, value in doc.data.items():
            if key == "event":
                reader = _Reader(doc, ("event",), "event", problems, langs)
                checked = reader.item(value, EVENT_SCHEMA)
                if checked is not None:
                    complete = all(checked.get(k) is not None for k, (_, req) in EVENT_SCHEMA.items() if req)
                    events.append(_Placed(Event(**checked) if complete else None, reader, checked))
                    defined.append("event")
                continue
            if key == "synonyms":
                groups = _synonym_groups(doc, value, problems)
                synonyms.extend(groups)
                defined.extend(f"synonyms:{g[0]}" for g in groups)
                continue
            if key not in SCHEMAS:
                guess = difflib.get_close_matches(str(key), TOP_KEYS, n=1)
                hint = f" — did you mean '{guess[0]}'?" if guess else ""
                problems.append(Problem(doc.file, doc.line((key,)), str(key),
                                        f"unknown section '{key}'{hint} (allowed: {', '.join(TOP_KEYS)})"))
                continue
            if value is None:
                continue
            if not isinstance(value, list):
                problems.append(Problem(doc.file, doc.line((key,)), str(key),
                                        f"must be a list of entries, each starting with '- id: ...', got {_kind(value)}"))
                continue
            for i, raw in enumerate(value):
                label = f"{key}[{raw['id']}]" if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"{key}[{i + 1}]"
                reader = _Reader(doc, (key, i), label, problems, langs)
                checked = reader.item(raw, SCHEMAS[key])
                if checked is None:
                    continue
                required = [k for k, (_, req) in SCHEMAS[key].items() if req]
                obj = MODELS[key](**_attrs(MODELS[key], checked)) if all(checked.get(k) is not None for k in required) else None
                items[key].append(_Placed(obj, reader, checked))
                if obj is not None:
                    defined.append(obj.id if key == "faq" else f"{key.removesuffix('s')}:{obj.id}")

    event = _check_event(events, problems)
    _check_ids(items, problems)
    _check_references(items, event, problems)
    if problems:
        raise KnowledgeError(problems)
    assert event is not None
    # one tuple of models per section (venues, sessions, …), passed on as Knowledge's fields of those names
    objs: dict[str, Any] = {key: tuple(p.obj for p in placed) for key, placed in items.items()}
    kb = Knowledge(event=event, **objs)
    entries = _build_entries(kb)
    return Knowledge(event=event, **objs, synonyms=tuple(synonyms), entries=entries, by_id={e.id: e for e in entries},
                     sources={name: tuple(ids) for name, ids in sources.items()})


def _declared_languages(docs: list[Document]) -> tuple[str, ...]:
    """The event's `languages:` (what every text must be written in), read before anything else is
    checked; the default ko+en when absent or broken (the event check reports a broken one)."""
    for doc in docs:
        event = doc.data.get("event") if isinstance(doc.data, dict) else None
        if isinstance(event, dict) and event.get("languages") not in (None, "", []):
            checked = _languages(_Reader(doc, ("event",), "event", []), ("languages",), event["languages"])
            return checked or LANGS
    return LANGS


def _synonym_groups(doc: Document, value: Any, problems: list[Problem]) -> list[tuple[str, ...]]:
    """`synonyms:` is a list of groups of words that mean the same, e.g. `- [화장실, toilet]`."""
    if not isinstance(value, list):
        problems.append(Problem(doc.file, doc.line(("synonyms",)), "synonyms",
                                f"must be a list of groups like '- [화장실, toilet]', got {_kind(value)}"))
        return []
    groups = []
    for i, group in enumerate(value):
        reader = _Reader(doc, ("synonyms", i), f"synonyms[{i + 1}]", problems)
        words = _str_list(reader, (), group)
        if isinstance(group, list) and len(words) < 2:
            reader.problem((), "a group needs at least two words that mean the same")
        elif len(words) >= 2:
            groups.append(words)
    return groups


def _check_event(events: list[_Placed], problems: list[Problem]) -> Event | None:
    if not events:
        problems.append(Problem("event.yaml", 0, "event", "the event section is missing: one file must have 'event:' "
                                "with name, dates, time zone and contact"))
        return None
    for extra in events[1:]:
        extra.reader.problem((), f"the event is described twice (also in {events[0].reader.doc.file}); keep one")
    event = events[0].obj
    if event and event.end_date < event.start_date:
        events[0].reader.problem(("end_date",), "the last day is before the first day")
    return event


def _check_ids(items: dict[str, list[_Placed]], problems: list[Problem]) -> None:
    seen: dict[str, _Placed] = {}
    for placed_list in items.values():
        for placed in placed_list:
            ident = placed.fields.get("id")
            if ident is None:
                continue
            first = seen.get(ident)
            if first:
                placed.reader.problem(("id",), f"the id '{ident}' is already used in {first.reader.doc.file} "
                                               f"line {first.reader.doc.line(first.reader.path)}; ids must be unique")
            else:
                seen[ident] = placed


def _check_references(items: dict[str, list[_Placed]], event: Event | None, problems: list[Problem]) -> None:
    speakers = {p.fields["id"] for p in items["speakers"] if p.fields.get("id")}
    venues = {p.fields["id"] for p in items["venues"] if p.fields.get("id")}

    def known(reader: _Reader, sub: tuple, value: str, pool: set[str], what: str) -> None:
        if value not in pool:
            guess = difflib.get_close_matches(value, pool, n=1)
            hint = f" — did you mean '{guess[0]}'?" if guess else f" (known: {', '.join(sorted(pool)) or 'none'})"
            reader.problem(sub, f"there is no {what} with the id '{value}'{hint}")

    for p in items["pavilions"]:
        if p.fields.get("venue"):
            known(p.reader, ("venue",), p.fields["venue"], venues, "venue")
    for p in items["sessions"]:
        f = p.fields
        if f.get("venue"):
            known(p.reader, ("venue",), f["venue"], venues, "venue")
        for i, sp in enumerate(f.get("speakers", ())):
            known(p.reader, ("speakers", i), sp, speakers, "speaker")
        start, end = f.get("start"), f.get("end")
        if end and not start and "start" not in p.reader.doc.data_at(p.reader.path):
            p.reader.problem(("end",), "an end time needs a start time")
        if start and end and end <= start:
            p.reader.problem(("end",), f"ends ({end:%H:%M}) before it starts ({start:%H:%M})")
        days = f.get("days", ())
        if event:
            for i, d in enumerate(days):
                if not event.start_date <= d <= event.end_date:
                    p.reader.problem(("days", i), f"{d} is not a day of the event ({event.start_date} to {event.end_date})")
        if len(set(days)) != len(days):
            p.reader.problem(("days",), "a day is listed twice")


# ---------------------------------------------------------------- entries made from the structured data

_DAY_NAMES = {"ko": "월화수목금토일", "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}


def day_label(d: date, lang: str) -> str:
    if lang == "ko":
        return f"{d.month}월 {d.day}일({_DAY_NAMES['ko'][d.weekday()]})"
    return f"{_DAY_NAMES['en'][d.weekday()][:3]} {d.day} Sept" if d.month == 9 else f"{d:%a %d %b}"


def _named(kind: str, topic: str, obj: Any, title: Text, ko: Iterable[str], en: Iterable[str],
           langs: tuple[str, ...] = LANGS) -> Entry:
    q = getattr(obj, "questions", Questions())
    return Entry(id=f"{kind}:{obj.id}", kind=kind, topic=topic,
                 questions=Questions(ko=(tuple(ko) if "ko" in langs else ()) + q.ko,
                                     en=(tuple(en) if "en" in langs else ()) + q.en),
                 keywords=tuple(getattr(obj, "aliases", ())), ref=obj, title=title)


def _first(questions: Questions, lang: str) -> str:
    listed = questions.ko if lang == "ko" else questions.en
    return listed[0] if listed else ""


def _build_entries(kb: Knowledge) -> tuple[Entry, ...]:
    langs = kb.event.languages
    entries: list[Entry] = [Entry(id=f.id, kind="faq", topic=f.topic or "general", questions=f.questions,
                                  keywords=f.keywords, ref=f,
                                  title=f.title or Text(_first(f.questions, "ko"), _first(f.questions, "en")))
                            for f in kb.faq]
    for s in kb.sessions:
        entries.append(_named("session", "schedule", s, s.title, (s.title.ko, f"{s.title.ko} 언제"),
                              (s.title.en, f"when is the {s.title.en}"), langs))
    for sp in kb.speakers:
        entries.append(_named("speaker", "speakers", sp, sp.name, (sp.name.ko, f"{sp.name.ko} 강연"),
                              (sp.name.en, f"{sp.name.en} talk"), langs))
    for pv in kb.pavilions:
        entries.append(_named("pavilion", "venue", pv, pv.name, (pv.name.ko,), (pv.name.en,), langs))
    for v in kb.venues:
        entries.append(_named("venue", "venue", v, v.name, (v.name.ko, f"{v.name.ko} 위치"),
                              (v.name.en, f"where is {v.name.en}"), langs))
    for a in kb.awards:
        cat_ko = f"{a.category.ko} " if a.category else ""
        cat_en = f"{a.category.en} " if a.category else ""
        title = Text(f"{a.competition.ko} {cat_ko}{a.prize.ko}" if "ko" in langs else "",
                     f"{a.competition.en} {cat_en}{a.prize.en}" if "en" in langs else "")
        entries.append(_named("award", "results", a, title, (title.ko,), (title.en,), langs))
    # the event's own facts answer without hand-written FAQ entries; an organiser's entry on the same
    # subject (one with `event_status`, or of topic contact) takes their place
    ev = kb.event
    if not any(f.event_status for f in kb.faq):
        entries.append(Entry(
            id="event:when", kind="event", topic="schedule", keywords=(), ref=ev,
            questions=Questions(ko=("행사 언제", "행사 기간", "언제 끝나", "끝났어", "시작했어", "몇 시에 열어")
                                if "ko" in langs else (),
                                en=("when is the event", "event dates", "is it over", "has it started",
                                    "when does it end", "opening hours") if "en" in langs else ()),
            title=Text("일정과 기간" if "ko" in langs else "", "Dates" if "en" in langs else "")))
    if not any(f.topic == "contact" for f in kb.faq):
        entries.append(Entry(
            id="event:contact", kind="contact", topic="contact", keywords=(), ref=ev.contact,
            questions=Questions(ko=("문의처", "연락처", "전화번호", "누구에게 문의해") if "ko" in langs else (),
                                en=("contact", "who do I contact", "phone number", "contact the organisers")
                                if "en" in langs else ()),
            title=Text("문의처" if "ko" in langs else "", "Contact" if "en" in langs else "")))
    for d in kb.event.days:
        ident = f"day:{d.isoformat()}"
        ko = (f"{d.month}월 {d.day}일 일정", f"{d.month}/{d.day} 프로그램") if "ko" in langs else ()
        en = (f"programme on {d.day} {d:%B}", f"schedule {d.month}/{d.day}") if "en" in langs else ()
        entries.append(Entry(id=ident, kind="day", topic="schedule", questions=Questions(ko=ko, en=en),
                             keywords=(), ref=d, title=Text(f"{day_label(d, 'ko')} 일정" if "ko" in langs else "",
                                                             f"Programme, {day_label(d, 'en')}" if "en" in langs
                                                             else "")))
    return tuple(entries)


# ---------------------------------------------------------------- comparing two versions (hot reload)


@dataclass(frozen=True)
class KnowledgeDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        def show(ids: tuple[str, ...]) -> str:
            return ", ".join(ids[:8]) + (f" … (+{len(ids) - 8})" if len(ids) > 8 else "")
        parts = [f"{len(self.added)} added" + (f": {show(self.added)}" if self.added else ""),
                 f"{len(self.removed)} removed" + (f": {show(self.removed)}" if self.removed else ""),
                 f"{len(self.changed)} changed" + (f": {show(self.changed)}" if self.changed else "")]
        return "; ".join(parts)


def diff_knowledge(old: Knowledge, new: Knowledge) -> KnowledgeDiff:
    """Entries added, removed and changed (questions, keywords or the item behind them) between two loads."""
    before = {e.id: e for e in old.entries}
    after = {e.id: e for e in new.entries}
    changed = []
    for ident in before.keys() & after.keys():
        b, a = before[ident], after[ident]
        if b.kind == "day":
            if old.sessions_on(b.ref) != new.sessions_on(a.ref):
                changed.append(ident)
        elif (b.questions, b.keywords, b.ref, b.topic) != (a.questions, a.keywords, a.ref, a.topic):
            changed.append(ident)
    if old.event != new.event:
        changed.append("event")
    return KnowledgeDiff(tuple(sorted(after.keys() - before.keys())), tuple(sorted(before.keys() - after.keys())),
                         tuple(sorted(changed)))
