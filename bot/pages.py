"""The browsable pages of the bot (menu, schedule by day, now & next, venue, speakers, results, contact,
help, language choice). Pure functions: knowledge (+ clock time) → `Reply`; the words come from the
text catalogue (bot/texts.py).

Callback data (≤ 64 bytes) understood by the handlers:
``m:<page>`` a page · ``d:<YYYY-MM-DD>`` a day · ``a:<entry id>`` an answer · ``lang:<ko|en>``
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from bot.knowledge import Knowledge, Session, day_label
from bot.render import Button, Doc, Reply, b, i, render_entry, session_when
from bot.texts import LANGS, text

MENU = ["sched", "now", "venue", "speakers", "results", "contact"]  # labels: "menu.<key>" in bot/texts.py


msg = text  # a text of the catalogue (kept for bot/answer.py)


def star(session_id: str, saved: bool, lang: str, label: bool = False) -> Button:
    """The agenda toggle of a session: ☆ adds it to "my agenda", ★ removes it."""
    label_text = "★" if saved else "☆"
    if label:
        label_text += " " + text("star.remove" if saved else "star.add", lang)
    return Button(label_text, data=f"{'un' if saved else 'sv'}:{session_id}")


def flip_star(label: str, now_saved: bool) -> str:
    """The label of a pressed ☆/★ button after the toggle (whatever language it was written in)."""
    if now_saved:
        label = label.replace("☆", "★")
        for lang in LANGS:
            label = label.replace(text("star.add", lang), text("star.remove", lang))
    else:
        label = label.replace("★", "☆")
        for lang in LANGS:
            label = label.replace(text("star.remove", lang), text("star.add", lang))
    return label


def session_rows(sessions: list[Session], lang: str, saved: frozenset[str]) -> list[list[Button]]:
    return [[Button(s.title.get(lang)[:60], data=f"a:session:{s.id}"), star(s.id, s.id in saved, lang)]
            for s in sessions]


def menu_keys(kb: Knowledge | None) -> list[str]:
    """The menu entries that have content in `kb` (all of them without a knowledge base): a schedule and
    now & next only with sessions, a venue page only with venues, speakers only with speakers, results only
    with awards or results entries."""
    if kb is None:
        return list(MENU)
    has = {"sched": bool(kb.sessions), "now": bool(kb.sessions), "venue": bool(kb.venues),
           "speakers": bool(kb.speakers), "results": bool(kb.awards or _results(kb))}
    return [key for key in MENU if has.get(key, True)]


def menu_buttons(lang: str, kb: Knowledge | None = None) -> list[list[Button]]:
    buttons = [Button(text(f"menu.{key}", lang), data=f"m:{key}") for key in menu_keys(kb)]
    return [buttons[k:k + 2] for k in range(0, len(buttons), 2)]


def back_row(lang: str) -> list[Button]:
    return [Button(text("menu.back", lang), data="m:home")]


def contact_line(kb: Knowledge, lang: str) -> str:
    c = kb.event.contact
    return f"{c.organisation.get(lang)} {c.name.get(lang)} ☎ {c.phone}"


def welcome_examples(kb: Knowledge, lang: str, n: int = 2) -> list[str]:
    """Example questions for the greeting: the event's `welcome_examples`, else the first example question
    of the first FAQ entries."""
    own = list(getattr(kb.event.welcome_examples, lang, ()) or ())
    if own:
        return own[:n]
    return [q for q in (next(iter(getattr(f.questions, lang, ()) or ()), None) for f in kb.faq) if q][:n]


def welcome(kb: Knowledge, lang: str) -> Reply:
    examples = text("welcome.quote_sep", lang).join(text("welcome.quote", lang, q=q) for q in welcome_examples(kb, lang))
    key = "welcome" if examples else "welcome.plain"
    return Reply(Doc().add(text(key, lang, name=kb.event.name.get(lang), examples=examples)), menu_buttons(lang, kb))


def home(kb: Knowledge, lang: str) -> Reply:
    return Reply(Doc().add(text("menu", lang)), menu_buttons(lang, kb))


def help_page(kb: Knowledge, lang: str, bot_username: str,
              commands: Sequence[Sequence[tuple[str, str]]] = ()) -> Reply:
    """How to use the bot. `commands`: the lines of commands to list, each a sequence of (name, short
    description) pairs (the command registry, handlers/commands.py, gives them)."""
    lines = [text("help.head" if len(kb.event.languages) > 1 else "help.head_one", lang)]
    lines += ["• " + " · ".join(f"/{name} {description}" for name, description in group)
              for group in commands if group]
    examples = welcome_examples(kb, lang, 1)
    lines.append(text("help.inline", lang, bot=bot_username, example=examples[0] if examples else "…"))
    return Reply(Doc().add("\n".join(lines)), menu_buttons(lang, kb))


def choose_lang(lang: str, langs: tuple[str, ...] = ("ko", "en")) -> Reply:
    """/lang without a language: the event's languages to choose from."""
    return Reply(Doc().add(text("choose_lang", lang)),
                 [[Button(text(f"lang_button_{code}", lang), data=f"lang:{code}") for code in langs]])


def lang_set(kb: Knowledge, lang: str) -> Reply:
    """The menu, headed by "Language set to …"."""
    reply = home(kb, lang)
    reply.doc.lines.insert(0, Doc().add(text("lang_set", lang)).lines[0])
    return reply


def subscription_buttons(subscribed: bool, lang: str) -> list[list[Button]]:
    """Under an announcement: unsubscribe (or, once pressed, subscribe again)."""
    if subscribed:
        return [[Button(text("sub.off_button", lang), data="sub:off")]]
    return [[Button(text("sub.on_button", lang), data="sub:on")]]


def schedule(kb: Knowledge, lang: str) -> Reply:
    if not kb.sessions:
        return Reply(Doc().add(text("none.sched", lang)), [back_row(lang)])
    days = [Button(day_label(d, lang), data=f"d:{d.isoformat()}") for d in kb.event.days]
    return Reply(Doc().add(text("schedule", lang)), [days, back_row(lang)])


def day(kb: Knowledge, d: date, lang: str, saved: frozenset[str] = frozenset()) -> Reply:
    entry = kb.entry(f"day:{d.isoformat()}")
    doc = render_entry(kb, entry, lang) if entry else Doc()
    others = [Button(day_label(x, lang), data=f"d:{x.isoformat()}") for x in kb.event.days if x != d]
    session_buttons = session_rows(kb.sessions_on(d), lang, saved)
    return Reply(doc, session_buttons + [others, back_row(lang)], entry_id=entry.id if entry else None)


def now_next(kb: Knowledge, now: datetime, lang: str, saved: frozenset[str] = frozenset()) -> Reply:
    """What runs now and what starts next, from the programme and the (possibly overridden) clock."""
    tz = kb.event.timezone
    now = now.astimezone(tz)
    today = now.date()
    doc = Doc()
    buttons: list[list[Button]] = []
    if today < kb.event.start_date:
        doc.add(text("before", lang, start=day_label(kb.event.start_date, lang)))
        first = _timed(kb, kb.event.start_date)
        if first:
            doc.blank().add(b(text("next_title", lang)))
            doc.add(f"{session_when(first[0], lang)} — ", b(first[0].title.get(lang)))
        buttons.append([Button(day_label(kb.event.start_date, lang), data=f"d:{kb.event.start_date.isoformat()}")])
    elif today > kb.event.end_date:
        doc.add(text("after", lang, end=day_label(kb.event.end_date, lang)))
        if "results" in menu_keys(kb):
            buttons.append([Button(text("menu.results", lang), data="m:results")])
    else:
        running: list[Session] = []
        upcoming: list[Session] = []
        for s in _timed(kb, today):
            start = s.starts_at(today, tz)
            end = s.ends_at(today, tz)
            if start is None:  # never: _timed() keeps the sessions with a start time
                continue
            if start <= now and (end is None or now < end):
                running.append(s)
            elif start > now:
                upcoming.append(s)
        doc.add(b(text("now_title", lang, now=f"{day_label(today, lang)} {now:%H:%M}")))
        for s in running:
            doc.add(f"▶️ {session_when(s, lang)} — ", b(s.title.get(lang)))
        if not running:
            doc.add(text("now_none", lang))
        doc.blank().add(b(text("next_title", lang)))
        for s in upcoming[:3]:
            doc.add(f"⏭ {s.start:%H:%M} — ", b(s.title.get(lang)))
        if not upcoming:
            doc.add(text("next_none", lang))
        allday = [s for s in kb.sessions_on(today) if not s.start]
        if allday:
            doc.blank().add(b(text("today_all", lang)))
            for s in allday:
                doc.add(f"• {s.title.get(lang)}")
        untimed = sum(1 for s in kb.sessions if not s.start)
        if untimed:  # how much of the programme now & next can see
            doc.blank().add(i(text("times_note", lang, timed=len(kb.sessions) - untimed, total=len(kb.sessions))))
        buttons += session_rows((running + upcoming)[:3], lang, saved)
        buttons.append([Button(day_label(today, lang), data=f"d:{today.isoformat()}")])
    buttons.append(back_row(lang))
    return Reply(doc, buttons)


def _timed(kb: Knowledge, d: date) -> list[Session]:
    return [s for s in kb.sessions_on(d) if s.start]


def venue(kb: Knowledge, lang: str) -> Reply:
    if not kb.venues:
        return Reply(Doc().add(text("none.venue", lang)), [back_row(lang)])
    doc = Doc()
    location = None
    for v in kb.venues:
        doc.extend(render_entry(kb, kb.by_id[f"venue:{v.id}"], lang)).blank()
        if location is None and v.latitude is not None and v.longitude is not None:
            location = (v.latitude, v.longitude, v.name.get(lang), v.address.get(lang) if v.address else "")
    doc.add(text("venue_more", lang))
    rows = [[Button(p.name.get(lang)[:60], data=f"a:pavilion:{p.id}")] for p in kb.pavilions]
    return Reply(doc, rows + [back_row(lang)], location=location)


def speakers(kb: Knowledge, lang: str) -> Reply:
    if not kb.speakers:
        return Reply(Doc().add(text("none.speakers", lang)), [back_row(lang)])
    doc = Doc().add(text("speakers", lang))
    for sp in kb.speakers:
        doc.add("• ", b(sp.name.get(lang)), f" — {sp.title.get(lang)}" if sp.title else "")
    rows = [[Button(sp.name.get(lang)[:60], data=f"a:speaker:{sp.id}")] for sp in kb.speakers]
    return Reply(doc, rows + [back_row(lang)])


def _results(kb: Knowledge) -> list:
    return [e for e in kb.entries if e.kind == "faq" and e.topic == "results"]


def results(kb: Knowledge, lang: str) -> Reply:
    faq_results = _results(kb)
    if not faq_results and not kb.awards:
        return Reply(Doc().add(text("none.results", lang)), [back_row(lang)])
    doc = Doc().add(text("results", lang))
    listed = faq_results or [e for e in kb.entries if e.kind == "award"]
    rows = [[Button(e.title.get(lang)[:60], data=f"a:{e.id}")] for e in listed[:12]]
    return Reply(doc, rows + [back_row(lang)])


def contact(kb: Knowledge, lang: str) -> Reply:
    c = kb.event.contact
    doc = Doc().add(b(text("contact", lang))).add(c.organisation.get(lang)).add(c.name.get(lang)).add(f"☎ {c.phone}")
    return Reply(doc, [back_row(lang)])


def page(kb: Knowledge, name: str, lang: str, now: datetime, saved: frozenset[str] = frozenset()) -> Reply | None:
    pages = {"home": home, "sched": schedule, "venue": venue, "speakers": speakers, "results": results,
             "contact": contact}
    if name == "now":
        if not kb.sessions:
            return schedule(kb, lang)  # "no programme yet"
        return now_next(kb, now, lang, saved)
    fn = pages.get(name)
    return fn(kb, lang) if fn else None
