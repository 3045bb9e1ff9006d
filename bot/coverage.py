"""Practical questions the knowledge base may not cover: parking, wifi, food, toilets, tickets…

Attendees ask these at every event, and a fuzzy matcher finds *something* for them ("Is there parking?"
→ a hackathon project about on-street parking; "주차 돼요?" → the hosts, 주차 ≈ 주최). A confident wrong
answer is worse than an honest "I don't know", so a question about one of these :data:`TOPICS` is
answered only with an entry that *declares* the topic: its example questions, keywords or title use
one of the topic's words (an organiser who adds a parking FAQ gets parking questions answered with
it). Otherwise the bot says it has nothing on that topic, names it, and gives the contact.

Each topic is a pattern over the question as typed (lower-cased, NFC): Korean stems match inside
words (주차 in 주차장, 주차돼요), English words at word boundaries. Plain Python, no knowledge of the
index: bot/answer.py applies it to the matcher's outcome.
"""

from __future__ import annotations

import functools
import re

from bot import normalize as N
from bot.knowledge import Entry, Knowledge
from bot.search import LIGHT

_EN = r"(?<![a-z])(?:{})(?![a-z])"

# topic → (Korean stems, English words/phrases). Words that also mean something the event talks
# about are left out or qualified (인터넷 is in 사물인터넷, 입장 is also a "position", free is in
# "accident-free", charging stations are smart-city exhibits).
_RAW: dict[str, tuple[str, str]] = {
    "parking": ("주차", r"parking|car ?park|park (?:my|the|a) car|where (?:can|do|should) i park|park there"),
    "wifi": ("와이파이|와파|무선 ?인터넷", r"wi-?fi|wireless internet|hotspot"),
    "food": ("음식|식당|밥|점심|저녁 ?먹|먹을|먹거리|카페|커피|매점|편의점|푸드|간식|도시락",
             r"food|eat|eating|lunch|dinner|breakfast|restaurants?|cafe|caf[ée]s?|coffee|snacks?|canteen|"
             r"food ?court|drinks?|convenience store"),
    "toilets": ("화장실|변소", r"toilets?|restrooms?|bathrooms?|washrooms?|wc|loo|lavatory"),
    "cloakroom": ("물품 ?보관|보관함|사물함|짐 ?맡|짐 보관|옷 ?보관", r"cloakroom|lockers?|luggage|coat ?check|bag ?drop|leave my bags?"),
    "tickets": ("티켓|입장권|입장료|입장 ?요금|관람료|참가비|유료|무료 ?입장|입장 ?무료|돈 ?내",
                r"tickets?|admission|entrance fee|entry fee|is it free|for free|free (?:entry|admission)|"
                r"how much (?:is|does) (?:it|entry|the entry|a ticket)|cost to (?:enter|attend|get in)"),
    "registration": ("사전 ?등록|등록|신청서|참가 ?신청|사전 ?신청", r"regist(?:er|ration|ering)|sign ?up|signup|pre-?register"),
    "shuttle": ("셔틀", r"shuttles?"),
    "transport": ("지하철|버스|택시|전철|대중교통|기차|ktx", r"subway|metro|bus|buses|taxi|cab|train|public transport"),
    "hotels": ("호텔|숙소|숙박|게스트하우스", r"hotels?|accommodation|hostels?|where to stay|place to stay|airbnb"),
    "weather": ("날씨|비 ?와|비와|우산|기온|추워|더워", r"weather|rain|raining|umbrella|temperature|cold|hot outside"),
    "photography": ("촬영|사진 ?찍|사진찍|찍어도|찍을 ?수|카메라|셀카",
                    r"take (?:a )?(?:photos?|pictures?|pics?)|taking (?:photos?|pictures?)|photograph(?:y|ing)?|"
                    r"camera|filming|film|record(?:ing)? video|selfie"),
    "volunteering": ("자원 ?봉사|봉사자|봉사 ?활동|스태프 ?지원", r"volunteer(?:s|ing)?"),
    "lost_found": ("분실|잃어버|잃어 버|유실물|두고 ?왔", r"lost (?:and|&) found|lost property|(?:i )?lost my|left my"),
    "smoking": ("흡연|담배", r"smok(?:e|ing)|cigarettes?|vape"),
    "money": ("현금 ?인출|atm|환전", r"atm|cash machine|currency exchange|exchange money"),
    "charging": ("폰 ?충전|핸드폰 ?충전|휴대폰 ?충전|배터리|충전기", r"charge my phone|phone charg(?:er|ing)|charger|power ?bank"),
    "prayer": ("기도실", r"prayer room|place to pray|mosque"),
    "nursing": ("수유실|기저귀", r"nursing room|baby changing|breastfeed"),
    "pets": ("반려|강아지|애완", r"pets?|dogs?"),
    "accessibility": ("휠체어|장애인", r"wheelchairs?|accessib(?:le|ility)|disabled"),
    "medical": ("의무실|구급|약국|아파요|다쳤", r"first aid|medical|pharmacy|doctor|injured"),
    "wifi_password": ("비번|비밀번호", r"password"),
}

TOPICS: dict[str, re.Pattern[str]] = {
    topic: re.compile(f"(?:{ko})|" + _EN.format(en), re.IGNORECASE) for topic, (ko, en) in _RAW.items()
}


ANY_TOPIC = re.compile("|".join(p.pattern for p in TOPICS.values()), re.IGNORECASE)  # one search for most questions


def topics_in(text: str) -> tuple[str, ...]:
    """The practical topics a text speaks of (in :data:`TOPICS` order)."""
    return _topics(N.nfc(text).lower())


def _topics(lowered: str) -> tuple[str, ...]:
    if not ANY_TOPIC.search(lowered):
        return ()
    return tuple(topic for topic, pattern in TOPICS.items() if pattern.search(lowered))


# what a practical question may say besides its topic: where (the venue, here, nearby), whether (있어,
# 돼, 가능, is there, can I), how much — nothing that names something of the event
_AROUND_RAW = """행사장 행사 현장 전시장 전시관 부스 홀 근처 주변 안 안에 내 내부 밖 여기 거기 저기 어디 어디서 어디에
있 있어 있어요 있나요 있음 없 없어 돼 돼요 되나요 되 가능 가능해 가능한가요 할 수 하 해 해요 얼마 얼마나 어떻게 몇 시 곳 데
venue event hall halls pavilion pavilions booth booths site inside outside near nearby around here there where
how much many is are there any can could i we you do does get find available allowed possible ok okay please
free paid cost costs price prices fee fees open closed 무료 유료 가격 요금 비용 공짜 열려 닫혀"""


def _plain_words(text: str) -> list[str]:
    return N.normalize(text).split()


@functools.cache
def _around(names: tuple[str, ...]) -> frozenset[str]:
    out = set(LIGHT)
    for raw in (_AROUND_RAW, *names):
        for w in raw.split():
            out.add(w.lower())
            out.update(_plain_words(w))
    return frozenset(out)


def only_about(text: str, names: tuple[str, ...] = ()) -> str | None:
    """The practical topic a text is *only* about ("주차 돼요?", "Is there parking at KINTEX?", "와이파이
    비번"), or None when it names something besides (a hackathon project about on-street parking, "사진
    공모전 수상작"). `names`: the event's and its venues' names, which a practical question may use."""
    lowered = N.nfc(text).lower()
    found = _topics(lowered)
    if not found:
        return None
    for topic in found:
        lowered = TOPICS[topic].sub(" ", lowered)
    around = _around(names)
    return found[0] if all(w in around for w in _plain_words(lowered)) else None


def place_names(kb: Knowledge) -> tuple[str, ...]:
    """The event's and its venues' names: a practical question may name them ("KINTEX 주차")."""
    ev = kb.event
    return (ev.short_name, ev.name.ko, ev.name.en, *(t for v in kb.venues for t in (v.name.ko, v.name.en, *v.aliases)))


def declares(entry: Entry, names: tuple[str, ...] = ()) -> frozenset[str]:
    """The practical topics an entry is written to answer: one of its example questions, keywords or
    its title is only about the topic (an organiser's "주차 돼요?" / [parking]). A project, talk or
    session that merely mentions it ("variable on-street parking award", "welcome dinner") does not."""
    return _declared((*entry.questions.all(), *entry.keywords, entry.title.ko, entry.title.en), names)


@functools.lru_cache(maxsize=4096)
def _declared(texts: tuple[str, ...], names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t for t in (only_about(text, names) for text in texts) if t)


def mentions(entry: Entry) -> frozenset[str]:
    """The practical topics an entry's example questions, keywords or title speak of at all."""
    return frozenset(t for text in (*entry.questions.all(), *entry.keywords, entry.title.ko, entry.title.en)
                     for t in topics_in(text))


def uncovered(text: str, entry: Entry | None, names: tuple[str, ...] = (), sure: bool = True) -> str | None:
    """The practical topic a question asks about when `entry` (the matcher's best; None if nothing) is
    not written to answer it: the bot then says it has nothing on that topic. `sure`: the matcher was
    confident — then only a question that is only about the topic counts ("Is there parking?", not
    "the on-street parking project"), and the entry must be written for it (:func:`declares`); when it
    was not, any topic the question names that the entry does not even mention. None: the question is
    not practical, or the entry answers it."""
    if sure:
        topic = only_about(text, names)
        return topic if topic is not None and (entry is None or topic not in declares(entry, names)) else None
    have = mentions(entry) if entry is not None else frozenset()
    missing = [t for t in topics_in(text) if t not in have]
    return missing[0] if missing else None
