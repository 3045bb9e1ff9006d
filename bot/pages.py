"""The browsable pages of the bot (menu, schedule by day, now & next, venue, speakers, results, contact)
and its fixed messages, in Korean and English. Pure functions: knowledge (+ clock time) → `Reply`.

Callback data (≤ 64 bytes) understood by the handlers:
``m:<page>`` a page · ``d:<YYYY-MM-DD>`` a day · ``a:<entry id>`` an answer · ``lang:<ko|en>``
"""

from __future__ import annotations

from datetime import date, datetime

from bot.knowledge import Knowledge, Session, Text, day_label
from bot.render import Button, Doc, Reply, b, i, render_entry, session_when

MSG = {
    "welcome": Text(
        "안녕하세요! {name} 안내 봇입니다. 🏙\n궁금한 것을 편하게 물어보세요 (예: 「해커톤 대상 누구야?」, 「킨텍스 가는 길」).\n아래 메뉴로 둘러볼 수도 있어요.",
        "Hello! I'm the guide bot of {name}. 🏙\nAsk me anything in your own words (e.g. “who won the hackathon?”, “where is it held?”),\nor browse with the menu below.",
    ),
    "menu": Text("무엇을 볼까요?", "What would you like to see?"),
    "help": Text(
        "이렇게 쓰세요:\n• 질문을 그냥 입력하세요 — 한국어/영어, 오타·초성(ㅎㅋㅌ)도 괜찮아요.\n• /menu 메뉴 · /schedule 일정 · /now 지금·다음 · /venue 장소 · /speakers 연사 · /results 결과 · /contact 문의\n• /lang 언어 바꾸기 (한국어/English)\n• 다른 대화방에서 @{bot} 해커톤 처럼 검색할 수도 있어요.",
        "How to use me:\n• Just type a question, in English or Korean — typos are fine.\n• /menu menu · /schedule programme · /now now & next · /venue venue · /speakers speakers · /results results · /contact contact\n• /lang switch language (English/한국어)\n• In any other chat, type @{bot} hackathon to search inline.",
    ),
    "not_found": Text(
        "죄송해요, 그 질문에 대한 답은 아직 모르겠어요. 🙏\n질문을 남겨 두었으니 운영진이 확인할게요. 아래 메뉴에서 찾아보시거나 문의처로 연락해 주세요:\n{contact}",
        "Sorry, I don't know the answer to that yet. 🙏\nI've passed your question on to the organisers. Try the menu below, or contact:\n{contact}",
    ),
    "other_edition": Text(
        "저는 {event}, {dates} 정보만 알고 있어요. 🙏 다른 해나 다른 회차 행사는 문의처로 연락해 주세요:\n{contact}",
        "I only know about {event}, {dates}. 🙏 For other years or editions, please contact:\n{contact}",
    ),
    "did_you_mean": Text("혹시 이것을 찾으셨나요?", "Did you mean one of these?"),
    "empty": Text("질문을 글자로 입력해 주세요. 예: 「행사 언제 해?」", "Please type your question as text, e.g. “when is the event?”"),
    "too_long": Text("질문이 너무 길어요. 짧게 한두 문장으로 물어봐 주세요.", "That message is too long — please ask in a sentence or two."),
    "unknown_command": Text("모르는 명령어예요. /help 로 쓸 수 있는 명령을 확인하세요.", "I don't know that command. Send /help to see what I can do."),
    "non_text": Text("사진·스티커는 읽을 수 없어요. 질문을 글자로 입력해 주세요. 🙂", "I can't read photos or stickers — please type your question. 🙂"),
    "flood": Text("메시지가 너무 많아요. 잠시 후에 다시 물어봐 주세요.", "That's a lot of messages — please wait a moment and ask again."),
    "lang_set": Text("언어를 한국어로 설정했어요.", "Language set to English."),
    "choose_lang": Text("언어를 고르세요 / Choose a language:", "Choose a language / 언어를 고르세요:"),
    "schedule": Text("어느 날의 일정을 볼까요?", "Which day's programme?"),
    "speakers": Text("연사 — 이름을 누르면 자세히 볼 수 있어요.", "Speakers — tap a name for details."),
    "results": Text("행사 결과 — 무엇을 볼까요?", "Results — what would you like to see?"),
    "venue_more": Text("전시관 — 누르면 참여 기관을 볼 수 있어요.", "Pavilions — tap one to see who exhibited."),
    "before": Text("행사 시작 전이에요. {start}에 시작해요.", "The event hasn't started yet. It opens on {start}."),
    "after": Text("행사는 {end}에 끝났어요. 결과는 /results 에서 볼 수 있어요.", "The event ended on {end}. See /results for how it went."),
    "now_title": Text("지금 ({now})", "Now ({now})"),
    "now_none": Text("지금 시작 시간이 알려진 진행 중인 세션은 없어요.", "No session with a known time is running right now."),
    "next_title": Text("다음", "Next"),
    "next_none": Text("오늘 남은 일정 중 시작 시간이 알려진 세션은 없어요.", "No more sessions with a known start time today."),
    "today_all": Text("오늘 열리는 행사 (시간 미정·종일)", "On today (time not announced / all day)"),
    "times_note": Text("보도자료에 시간이 나온 세션은 개막식(16:00~)뿐이에요.", "The press release gives a time only for the opening ceremony (16:00)."),
    "contact": Text("문의", "Contact"),
}

MENU = [
    ("sched", Text("🗓 일정", "🗓 Schedule")),
    ("now", Text("⏱ 지금·다음", "⏱ Now & next")),
    ("venue", Text("📍 장소", "📍 Venue")),
    ("speakers", Text("🎤 연사", "🎤 Speakers")),
    ("results", Text("🏆 결과", "🏆 Results")),
    ("contact", Text("☎️ 문의", "☎️ Contact")),
]


def msg(key: str, lang: str, **kw: object) -> str:
    return MSG[key].get(lang).format(**kw)


def star(session_id: str, saved: bool, lang: str, label: bool = False) -> Button:
    """The agenda toggle of a session: ☆ adds it to "my agenda", ★ removes it."""
    text = "★" if saved else "☆"
    if label:
        text += (" 내 일정에서 빼기" if saved else " 내 일정에 추가") if lang == "ko" else \
            (" Remove from my agenda" if saved else " Add to my agenda")
    return Button(text, data=f"{'un' if saved else 'sv'}:{session_id}")


def session_rows(sessions: list[Session], lang: str, saved: frozenset[str]) -> list[list[Button]]:
    return [[Button(s.title.get(lang)[:60], data=f"a:session:{s.id}"), star(s.id, s.id in saved, lang)]
            for s in sessions]


def menu_buttons(lang: str) -> list[list[Button]]:
    buttons = [Button(label.get(lang), data=f"m:{key}") for key, label in MENU]
    return [buttons[k:k + 2] for k in range(0, len(buttons), 2)]


def back_row(lang: str) -> list[Button]:
    return [Button("⬅️ 메뉴" if lang == "ko" else "⬅️ Menu", data="m:home")]


def contact_line(kb: Knowledge, lang: str) -> str:
    c = kb.event.contact
    return f"{c.organisation.get(lang)} {c.name.get(lang)} ☎ {c.phone}"


def welcome(kb: Knowledge, lang: str) -> Reply:
    return Reply(Doc().add(msg("welcome", lang, name=kb.event.name.get(lang))), menu_buttons(lang))


def home(kb: Knowledge, lang: str) -> Reply:
    return Reply(Doc().add(msg("menu", lang)), menu_buttons(lang))


def help_page(kb: Knowledge, lang: str, bot_username: str) -> Reply:
    return Reply(Doc().add(msg("help", lang, bot=bot_username)), menu_buttons(lang))


def schedule(kb: Knowledge, lang: str) -> Reply:
    days = [Button(day_label(d, lang), data=f"d:{d.isoformat()}") for d in kb.event.days]
    return Reply(Doc().add(msg("schedule", lang)), [days, back_row(lang)])


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
        doc.add(msg("before", lang, start=day_label(kb.event.start_date, lang)))
        first = _timed(kb, kb.event.start_date)
        if first:
            doc.blank().add(b(msg("next_title", lang)))
            doc.add(f"{session_when(first[0], lang)} — ", b(first[0].title.get(lang)))
        buttons.append([Button(day_label(kb.event.start_date, lang), data=f"d:{kb.event.start_date.isoformat()}")])
    elif today > kb.event.end_date:
        doc.add(msg("after", lang, end=day_label(kb.event.end_date, lang)))
        buttons.append([Button(MENU[4][1].get(lang), data="m:results")])
    else:
        running: list[Session] = []
        upcoming: list[Session] = []
        for s in _timed(kb, today):
            start = s.starts_at(today, tz)
            end = s.ends_at(today, tz)
            if start <= now and (end is None or now < end):
                running.append(s)
            elif start > now:
                upcoming.append(s)
        doc.add(b(msg("now_title", lang, now=f"{day_label(today, lang)} {now:%H:%M}")))
        for s in running:
            doc.add(f"▶️ {session_when(s, lang)} — ", b(s.title.get(lang)))
        if not running:
            doc.add(msg("now_none", lang))
        doc.blank().add(b(msg("next_title", lang)))
        for s in upcoming[:3]:
            doc.add(f"⏭ {s.start:%H:%M} — ", b(s.title.get(lang)))
        if not upcoming:
            doc.add(msg("next_none", lang))
        allday = [s for s in kb.sessions_on(today) if not s.start]
        if allday:
            doc.blank().add(b(msg("today_all", lang)))
            for s in allday:
                doc.add(f"• {s.title.get(lang)}")
        doc.blank().add(i(msg("times_note", lang)))
        buttons += session_rows((running + upcoming)[:3], lang, saved)
        buttons.append([Button(day_label(today, lang), data=f"d:{today.isoformat()}")])
    buttons.append(back_row(lang))
    return Reply(doc, buttons)


def _timed(kb: Knowledge, d: date) -> list[Session]:
    return [s for s in kb.sessions_on(d) if s.start]


def venue(kb: Knowledge, lang: str) -> Reply:
    doc = Doc()
    location = None
    for v in kb.venues:
        doc.extend(render_entry(kb, kb.entry(f"venue:{v.id}"), lang)).blank()
        if location is None and v.latitude is not None and v.longitude is not None:
            location = (v.latitude, v.longitude, v.name.get(lang), v.address.get(lang) if v.address else "")
    doc.add(msg("venue_more", lang))
    rows = [[Button(p.name.get(lang)[:60], data=f"a:pavilion:{p.id}")] for p in kb.pavilions]
    return Reply(doc, rows + [back_row(lang)], location=location)


def speakers(kb: Knowledge, lang: str) -> Reply:
    doc = Doc().add(msg("speakers", lang))
    for sp in kb.speakers:
        doc.add("• ", b(sp.name.get(lang)), f" — {sp.title.get(lang)}")
    rows = [[Button(sp.name.get(lang)[:60], data=f"a:speaker:{sp.id}")] for sp in kb.speakers]
    return Reply(doc, rows + [back_row(lang)])


def results(kb: Knowledge, lang: str) -> Reply:
    faq_results = [e for e in kb.entries if e.kind == "faq" and e.topic == "results"]
    doc = Doc().add(msg("results", lang))
    rows = [[Button(e.title.get(lang)[:60], data=f"a:{e.id}")] for e in faq_results[:12]]
    return Reply(doc, rows + [back_row(lang)])


def contact(kb: Knowledge, lang: str) -> Reply:
    c = kb.event.contact
    doc = Doc().add(b(msg("contact", lang))).add(c.organisation.get(lang)).add(c.name.get(lang)).add(f"☎ {c.phone}")
    return Reply(doc, [back_row(lang)])


def page(kb: Knowledge, name: str, lang: str, now: datetime, saved: frozenset[str] = frozenset()) -> Reply | None:
    pages = {"home": home, "sched": schedule, "venue": venue, "speakers": speakers, "results": results,
             "contact": contact}
    if name == "now":
        return now_next(kb, now, lang, saved)
    fn = pages.get(name)
    return fn(kb, lang) if fn else None
