"""Follow-up questions: "그럼 언제야?", "and where?", "who won?", "그 사람 누구야?" only make sense with what
the conversation was just about.

Each chat keeps its last :class:`Topic` (the entry it was last answered with, or tapped) for
:data:`TOPIC_TTL`. A short question that names nothing of its own — only follow-up markers (그럼, 거기,
그 사람, and, what about, he…), question words and aspect words (장소, 시간, 수상, where, winner…) — is
a follow-up (:func:`aspect`); bot/answer.py answers it about the topic (:func:`about`): the question
with the topic's name put in front, or the topic's own card when that already says when, where and who.
A question that names something ("그럼 해커톤은?") is a new question and is answered on its own.

Plain Python: the Telegram layer keeps the topic in ``chat_data``, ``python -m bot ask --jsonl`` per
``chat`` id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import normalize as N
from bot.knowledge import Entry, Knowledge

TOPIC_TTL = timedelta(minutes=15)  # a question after a longer pause starts a new conversation
MAX_WORDS = 6  # longer questions say what they are about


@dataclass(frozen=True)
class Topic:
    """What a chat was last talking about: an entry id and when."""

    entry_id: str
    at: datetime

    def fresh(self, now: datetime) -> bool:
        return timedelta(0) <= now - self.at <= TOPIC_TTL


def _words(raw: str) -> frozenset[str]:
    return frozenset(w for part in raw.split() for w in {part, *N.normalize(part).split()})


# words that point back ("그럼 장소는?", "what about it"): no meaning of their own
MARKERS = _words("""그럼 그러면 그럼요 그래서 그리고 그거 그건 그게 그걸 거기 거긴 거기서 그곳 그때 그날 그 그분 그사람 사람
걔 그녀 저기 이거 여기 또 다시 and then so what about how it its that this there he she they him her them his their""")
# the aspects a follow-up asks for, by kind: "person" questions want the topic's speaker
ASPECTS = {
    "when": _words("언제 언제야 몇시 몇 시 시간 날짜 요일 며칠 시작 끝 when time date day start starts end ends"),
    "where": _words("어디 어디서 어디야 장소 위치 어느 where place venue location room hall"),
    "who": _words("누구 누가 연사 발표자 강연자 말했어 who speaker speakers presenter spoke speak speaks speaking"),
    "won": _words("수상 수상자 우승 우승팀 결과 상 won win winner winners result results prize award awards"),
    "what": _words("뭐 뭐야 뭔데 무슨 내용 주제 소개 what about topic"),
}
PERSON = _words("사람 그분 그사람 걔 그녀 he she him her his")
# fillers a follow-up may carry (야, 했어, is, the …)
FILLERS = _words("""야 요 예요 에요 이야 이에요 인가 인가요 했어 했어요 해 해요 하는 하나 하나요 해서 돼 되 였어 이었어 나 냐
니 지 죠 는 은 이 가 을 를 에 에서 도 is are was were the a an did does do of for at in on""")


def aspect(rules: tuple[str, ...]) -> str | None:
    """The aspect a follow-up asks for ("when", "where", "who", "won", "what", or "person" for "그 사람
    누구야" / "who is he"), from the question's rule words (``Query.rules``); None when the question
    names something of its own or is too long to be a follow-up."""
    if not rules or len(rules) > MAX_WORDS:
        return None
    found: list[str] = []
    marker = False
    for word in rules:
        kinds = [kind for kind, words in ASPECTS.items() if word in words]
        if kinds:
            found.extend(kinds)
        elif word in MARKERS:
            marker = True
        elif word not in FILLERS:
            return None  # a word of its own: a new question
    if not found:
        return None
    if marker and any(w in PERSON for w in rules) and "who" in found:
        return "person"
    for kind in ("won", "when", "where", "who", "what"):  # the most specific first ("who won" is about results)
        if kind in found:
            return kind
    return None


def speaker_of(kb: Knowledge, entry: Entry) -> str | None:
    """The speaker entry a person follow-up means: the topic itself, or the first speaker of a session."""
    if entry.kind == "speaker":
        return entry.id
    if entry.kind == "session" and entry.ref.speakers:
        candidate = f"speaker:{entry.ref.speakers[0]}"
        return candidate if kb.entry(candidate) is not None else None
    return None


def about(question: str, entry: Entry, lang: str) -> str:
    """The follow-up rewritten as a question of its own: the topic's name, then what was asked."""
    name = entry.title.get(lang) or entry.title.get("en") or entry.title.get("ko")
    return f"{name} {question}"


# cards that already say when, where and who: a follow-up on those aspects is answered with the card
SELF_ANSWERING = {"session": {"when", "where", "who", "what"}, "venue": {"where", "what"},
                  "pavilion": {"where", "what"}, "speaker": {"who", "what", "when", "where"},
                  "day": {"when", "what"}, "award": {"won", "who", "what"}}
