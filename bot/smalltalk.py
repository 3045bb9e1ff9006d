"""Small talk: greetings, thanks, goodbyes, "who are you", "what can you do", "help" — a whole short
message of that kind gets a short friendly reply instead of a search (and is never an unanswered
question for the organisers).

Only a whole message counts, compared after dropping case, punctuation, emoji and laughter (ㅋㅋ, ㅎㅎ,
lol): "hi" and "안녕하세요!!" are small talk, "hi, where is the venue?" is a question.
"""

from __future__ import annotations

import re
import unicodedata

PHRASES: dict[str, tuple[str, ...]] = {
    "greeting": ("안녕", "안녕하세요", "안녕하십니까", "안뇽", "하이", "ㅎㅇ", "반가워", "반가워요", "반갑습니다",
                 "hi", "hello", "hey", "hi there", "hello there", "hey there", "yo", "good morning",
                 "good afternoon", "good evening", "greetings"),
    "thanks": ("고마워", "고마워요", "고맙습니다", "감사", "감사해", "감사해요", "감사합니다", "땡큐", "ㄱㅅ", "ㄳ",
               "thanks", "thank you", "thank you very much", "thanks a lot", "many thanks", "thx", "ty", "cheers",
               "great thanks", "ok thanks", "okay thanks"),
    "bye": ("잘가", "잘 가", "안녕히 계세요", "안녕히 계세요", "바이", "빠이", "또 봐", "다음에 봐",
            "bye", "goodbye", "good bye", "bye bye", "see you", "see ya", "cya", "see you later"),
    "who": ("누구야", "너 누구야", "넌 누구야", "넌 누구니", "너는 누구야", "누구세요", "봇이야", "이름이 뭐야", "너 이름 뭐야",
            "이름 뭐야", "넌 이름이 뭐야", "누가 만들었어", "넌 누가 만들었어", "누가 만든 거야", "사람이야", "로봇이야",
            "who are you", "what are you", "are you a bot", "are you human", "are you a robot", "what s your name",
            "whats your name", "what is your name", "your name", "who made you", "who built you", "who created you"),
    "how": ("잘 지내", "잘 지냈어", "잘 지내요", "뭐해", "뭐 해", "뭐하니", "뭐해요", "어떻게 지내", "기분 어때", "괜찮아",
            "how are you", "how r u", "how are u", "how s it going", "hows it going", "what s up", "whats up", "sup",
            "wassup", "how do you do", "how have you been", "you ok", "are you ok"),
    "ack": ("ㅇㅋ", "ㅇㅇ", "응", "웅", "그래", "알겠어", "알겠어요", "알겠습니다", "오케이", "좋아", "좋아요", "넵", "네", "예",
            "ok", "okay", "k", "kk", "okey", "alright", "all right", "got it", "cool", "nice", "great", "good", "fine",
            "sure", "yes", "yep", "yeah", "no", "nope", "ok cool"),
    "test": ("테스트", "테스트 중", "테스트중", "test", "testing", "test test", "testing 123", "test 123", "hello world",
             "ping"),
    "help": ("도움말", "도와줘", "도와주세요", "도움", "사용법", "뭐 할 수 있어", "뭘 할 수 있어", "뭐 물어봐",
             "뭐 물어볼 수 있어", "무엇을 할 수 있어",
             "help", "help me", "what can you do", "how does this work", "how do i use this",
             "what can i ask", "menu"),
}
_LOOKUP = {phrase: kind for kind, phrases in PHRASES.items() for phrase in phrases}
_LAUGHTER = re.compile(r"(?:[ㅋㅎㅠㅜ]{2,}|\b(?:lol|haha+|hehe+)\b)")
MAX_LENGTH = 40  # longer messages are questions even when they start with a greeting


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    text = _LAUGHTER.sub(" ", text)
    text = "".join(ch if ch.isalnum() or ch.isspace() or "\u3131" <= ch <= "\u318e" else " " for ch in text)
    return " ".join(text.split())


def small_talk(text: str) -> str | None:
    """The kind of small talk the whole message is (greeting, thanks, bye, who, help), or None."""
    if len(text) > MAX_LENGTH:
        return None
    plain = _plain(text)
    if plain in _LOOKUP:
        return _LOOKUP[plain]
    for ending in ("요", "용", "여"):  # 고마워용, 안녕여: a polite or playful ending on a known phrase
        if plain.endswith(ending) and plain[: -len(ending)] in _LOOKUP:
            return _LOOKUP[plain[: -len(ending)]]
    return None
