"""Tests of bot/normalize.py — the text normalisation shared by the search index and the queries."""

from __future__ import annotations

import random
import time
import unicodedata

import pytest
from rapidfuzz.distance import Levenshtein

from bot import normalize as N

# --------------------------------------------------------------------------------------------- nfc


def test_nfc_composes_decomposed_hangul():
    decomposed = unicodedata.normalize("NFD", "해커톤 킨텍스")
    assert decomposed != "해커톤 킨텍스"
    assert N.nfc(decomposed) == "해커톤 킨텍스"
    assert N.normalize(decomposed) == N.normalize("해커톤 킨텍스")


def test_nfc_keeps_compatibility_jamo():
    out = N.nfc("ㅎㅋㅌ")
    assert out == "ㅎㅋㅌ"
    assert "\u1112" not in out  # NFKC would have made ㅎ the conjoining HANGUL CHOSEONG HIEUH
    assert N.clean("ㅎㅋㅌ 대상") == "ㅎㅋㅌ 대상"
    assert "\u1112" not in N.normalize("ㅎㅋㅌ")


def test_nfc_repairs_isolated_conjoining_jamo():
    nfkc = unicodedata.normalize("NFKC", "ㅎㅋㅌ")
    assert nfkc != "ㅎㅋㅌ"
    assert N.nfc(nfkc) == "ㅎㅋㅌ"


def test_nfc_fullwidth_ascii_only():
    assert N.nfc("ＷＳＣＷ２０１８！") == "WSCW2018!"
    assert N.nfc("") == ""
    # other compatibility characters are left alone (no NFKC)
    assert N.nfc("①") == "①"


# --------------------------------------------------------------------------------------------- clean


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("해커톤 누가 1등했어?", "해커톤 누가 1등했어"),
        ("Where's it held??", "where it held"),
        ("I don't know", "i do not know"),
        ("😀 시상식 🎉🏆", "시상식"),
        ("👍🏽👨‍👩‍👧", ""),
        ("<b>해커톤</b> &amp; 시상식", "해커톤 시상식"),
        ("&lt;b&gt;주차&lt;/b&gt;", "주차"),
        ("주<b>차</b>장<br>위치", "주차장 위치"),
        ("1 < 2 and 3 > 2", "1 2 and 3 2"),
        ("Ｈａｃｋａｔｈｏｎ　１등！", "hackathon 1등"),
        ("총 4,600억 원", "총 4600억 원"),
        ("1,000,000 won", "1000000 won"),
        ("2,3번 게이트", "2 3번 게이트"),
        ("성장률 3.5%!", "성장률 3.5%"),
        ("끝.  다음...", "끝 다음"),
        ("100 % sure", "100 sure"),
        ("snake_case\ttab\nnewline", "snake case tab newline"),
        ("HELLO World", "hello world"),
        ("ㅋㅋ ㅎㅋㅌ", "ㅋㅋ ㅎㅋㅌ"),
        ("\u3164\u3164숨은 이름", "숨은 이름"),
        ("   ", ""),
        ("", ""),
    ],
)
def test_clean(raw, expected):
    assert N.clean(raw) == expected


def test_clean_keeps_other_scripts():
    assert N.clean("Café Ω 東京!") == "café ω 東京"


# --------------------------------------------------------------------------------------------- particles

STRIP_TABLE = [
    # particles after a place name
    ("킨텍스에서", "킨텍스"), ("킨텍스는", "킨텍스"), ("킨텍스가", "킨텍스"), ("킨텍스로", "킨텍스"),
    ("킨텍스의", "킨텍스"), ("킨텍스까지", "킨텍스"), ("킨텍스에서는", "킨텍스"), ("킨텍스하고", "킨텍스"),
    # 열리다
    ("열려요", "열리"), ("열리나요", "열리"), ("열려", "열리"), ("열리는", "열리"), ("열렸어요", "열리"),
    ("열릴까요", "열리"), ("열립니까", "열리"),
    # 하다 alone, and after a noun
    ("하나요", "하"), ("해요", "하"), ("했어", "하"), ("했어요", "하"), ("합니까", "하"), ("해", "하"), ("하는", "하"),
    ("진행해요", "진행"), ("1등했어", "1등"), ("참여하려면", "참여"), ("시작돼요", "시작"), ("진행되나요", "진행"),
    ("있어요", "있"), ("없나요", "없"),
    # question words
    ("언제야", "언제"), ("언제예요", "언제"), ("언제인가요", "언제"), ("언제지", "언제"), ("언제죠", "언제"),
    ("누구야", "누구"), ("누구예요", "누구"), ("누구인가요", "누구"), ("누가", "누구"),
    ("뭐야", "뭐"), ("뭐예요", "뭐"), ("뭔가요", "뭐"), ("뭘까요", "뭐"),
    ("어디야", "어디"), ("어디예요", "어디"), ("어디에요", "어디"), ("어딘가요", "어디"), ("어디서", "어디"),
    ("얼마예요", "얼마"),
    # protected words and nouns whose last syllable looks like a particle
    ("도시", "도시"), ("서울시", "서울시"), ("대구", "대구"), ("부산", "부산"), ("시상식", "시상식"),
    ("개막식", "개막식"), ("해커톤", "해커톤"), ("스마트시티", "스마트시티"), ("전문가", "전문가"),
    ("국제회의", "국제회의"), ("고속도로", "고속도로"), ("경기도", "경기도"), ("올해", "올해"), ("페이지", "페이지"),
    ("한국어", "한국어"), ("분야", "분야"), ("어린이", "어린이"),
    # particles after protected words
    ("도시의", "도시"), ("서울시는", "서울시"), ("대구에서", "대구"), ("부산으로", "부산"), ("시상식은", "시상식"),
    ("개막식이", "개막식"), ("해커톤을", "해커톤"), ("스마트시티를", "스마트시티"), ("전문가가", "전문가"),
    ("국제회의에서", "국제회의"), ("올해는", "올해"), ("한국어로", "한국어"),
    # ordinary nouns, numbers, Latin stems
    ("가격이", "가격"), ("위치가", "위치"), ("장소는", "장소"), ("주차장이", "주차장"), ("우승팀은", "우승팀"),
    ("참가비는", "참가비"), ("몇시에", "몇시"), ("2018년에", "2018년"), ("1층에", "1층"), ("wscw는", "wscw"),
    # one-syllable particles need two syllables left, except after a listed one-syllable noun
    ("시에", "시"), ("상은", "상"), ("층에", "층"), ("나는", "나는"), ("피해", "피해"),
    # untouched
    ("어떻게", "어떻게"), ("대상", "대상"), ("셔틀버스", "셔틀버스"), ("뭐", "뭐"), ("hackathon", "hackathon"),
    ("123", "123"), ("ㅎㅋㅌ", "ㅎㅋㅌ"),
]


def test_strip_table_is_large_enough():
    assert len(STRIP_TABLE) >= 40


@pytest.mark.parametrize("token, expected", STRIP_TABLE)
def test_strip_particles(token, expected):
    assert N.strip_particles(token) == expected


def test_strip_never_empties():
    for token in ["은", "는", "이", "가", "에서", "요", "에요", "이야", "인가요", "해요", "있어"]:
        assert N.strip_particles(token), token


def test_protect_adds_word_and_clears_memo():
    assert N.strip_particles("고양꽃이") == "고양꽃"
    N.protect("고양꽃이")
    try:
        assert N.strip_particles("고양꽃이") == "고양꽃이"
    finally:
        N.PROTECTED.discard("고양꽃이")
        N.strip_particles.cache_clear()
    assert N.strip_particles("고양꽃이") == "고양꽃"


# --------------------------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    "question, expected",
    [
        ("해커톤 누가 1등했어?", "해커톤 누구 1등"),
        ("킨텍스에서 언제 열려요", "킨텍스 언제 열리"),
        ("킨텍스에서 언제 열리나요?", "킨텍스 언제 열리"),
        ("스마트시티 hackathon 1등", "스마트시티 hackathon 1등"),
        ("개막식은몇시에해?", "개막식 몇시"),
        ("시상식은언제야", "시상식 언제"),
        ("who won the hackathon?", "who won the hackathon"),
        ("Where's it held??", "where it held"),
        ("시상식 어디서 해요? 🏆", "시상식 어디 하"),
        ("<b>주차</b>는 &amp; 어디예요", "주차 어디"),
        ("ＷＳＣＷ 일정은？", "wscw 일정"),
        ("스마트시티hackathon에서", "스마트시티 hackathon"),
        ("hackathon은 언제인가요", "hackathon 언제"),
        ("총 사업비 4,600억 원인가요", "총 사업비 4600억 원"),
        ("ㅎㅋㅌ 대상", "ㅎㅋㅌ 대상"),
        ("🎉🎉", ""),
    ],
)
def test_normalize(question, expected):
    assert N.normalize(question) == expected


def test_normalize_variants_meet():
    forms = ["킨텍스에서 열려요", "킨텍스에서는 열리나요?", "킨텍스가 열리는", "킨텍스로 열려"]
    assert len({N.normalize(f) for f in forms}) == 1


def test_normalize_is_idempotent():
    for q in ["해커톤 누가 1등했어?", "킨텍스에서 언제 열려요", "개막식은몇시에해?", "Where's it held??"]:
        once = N.normalize(q)
        assert N.normalize(once) == once


def test_tokens():
    assert N.tokens("해커톤 누가 1등했어?") == ["해커톤", "누구", "1등"]
    assert N.tokens("") == []


# --------------------------------------------------------------------------------------------- compact


def test_compact_spacing_insensitive():
    assert N.compact("개막식은몇시에해") == N.compact("개막식 몇 시") == "개막식몇시"
    assert N.compact("해커톤 대상") == N.compact("해커톤대상") == "해커톤대상"
    assert " " not in N.compact("who won the hackathon?")


# --------------------------------------------------------------------------------------------- jamo


@pytest.mark.parametrize(
    "text, expected",
    [
        ("해커톤", "ㅎㅐㅋㅓㅌㅗㄴ"),
        ("킨텍스", "ㅋㅣㄴㅌㅔㄱㅅㅡ"),
        ("화", "ㅎㅗㅏ"),  # compound vowel split
        ("의", "ㅇㅡㅣ"),
        ("닭", "ㄷㅏㄹㄱ"),  # compound final split
        ("값", "ㄱㅏㅂㅅ"),
        ("쓰", "ㅆㅡ"),  # double consonant stays one jamo
        ("해커톤 2018!", "ㅎㅐㅋㅓㅌㅗㄴ 2018!"),
        ("ㅘ ㄳ", "ㅗㅏ ㄱㅅ"),
        ("abc", "abc"),
    ],
)
def test_to_jamo(text, expected):
    assert N.to_jamo(text) == expected


def test_to_jamo_only_compatibility_jamo():
    out = N.to_jamo("스마트시티 해커톤")
    assert all("\u3131" <= ch <= "\u318e" or ch == " " for ch in out)


@pytest.mark.parametrize("typo, right", [("헤커톤", "해커톤"), ("킨텍쓰", "킨텍스"), ("개막씩", "개막식"), ("시상싱", "시상식")])
def test_jamo_typo_costs_one_edit(typo, right):
    assert Levenshtein.distance(N.to_jamo(typo), N.to_jamo(right)) == 1
    assert Levenshtein.distance(typo, right) == 1  # same on syllables, but there one edit = a whole syllable
    assert len(N.to_jamo(right)) > len(right)


# --------------------------------------------------------------------------------------------- 초성


@pytest.mark.parametrize(
    "text, expected",
    [
        ("해커톤 대상", "ㅎㅋㅌ ㄷㅅ"),
        ("킨텍스", "ㅋㅌㅅ"),
        ("스마트시티", "ㅅㅁㅌㅅㅌ"),
        ("까치", "ㄲㅊ"),
        ("해커톤   2018  hackathon", "ㅎㅋㅌ 2018 hackathon"),
        ("ㅎㅋㅌ", "ㅎㅋㅌ"),
        ("", ""),
    ],
)
def test_choseong(text, expected):
    assert N.choseong(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ㅎㅋㅌ", True),
        ("ㅋㅌㅅ", True),
        ("ㅎㅋㅌ 대상", True),
        ("ㄱㅅ 해커톤", True),
        ("  ㅅㅁㅌㅅㅌ?!", True),
        ("해커톤", False),
        ("ㅎ", False),
        ("ㅎ 대상", False),
        ("ㅋㅋㅋ", False),  # laughter
        ("ㅎㅎ 해커톤", False),
        ("ㅇㅇ", False),  # "응응"
        ("ㅅㅅㅅ 언제야", True),  # 시상식: a repeated letter other than ㅋㅎㅇㄷㄱ is an abbreviation
        ("ㅈㅈ", True),  # 주제
        ("ㅠㅠ", False),  # vowels
        ("hackathon", False),
        ("", False),
        (unicodedata.normalize("NFKC", "ㅎㅋㅌ"), True),
    ],
)
def test_is_choseong_query(text, expected):
    assert N.is_choseong_query(text) is expected


# --------------------------------------------------------------------------------------------- 2-beolsik

QWERTY_TABLE = [
    ("gksrmf", "한글"),
    ("dkssudgktpdy", "안녕하세요"),
    ("gozjxhs", "해커톤"),
    ("zlsxprtm", "킨텍스"),
    ("tmakxmtlxl", "스마트시티"),
    ("roakrtlr", "개막식"),
    ("rofhrtlr", "개록식"),
    ("ghkwkdtlf", "화장실"),  # ㅘ
    ("dnjswjs", "원전"),  # ㅝ
    ("dmlwk", "의자"),  # ㅢ
    ("dhlrnr", "외국"),  # ㅚ
    ("dnpdlxj", "웨이터"),  # ㅞ
    ("dhoswkd", "왠장"),  # ㅙ
    ("dnlcl", "위치"),  # ㅟ
    ("ekfr", "닭"),  # ㄺ
    ("rkqt", "값"),  # ㅄ
    ("dksgdk", "않아"),  # ㄶ then ㅎ... moves: 않 + 아
    ("dkswdk", "앉아"),  # ㄵ splits before a vowel
    ("qkfqdk", "밟아"),  # ㄼ
    ("ekfrdl", "닭이"),  # compound final split when a vowel follows
    ("Rkcl", "까치"),  # shifted R
    ("Ekfl", "따리"),  # E
    ("Qkd", "빵"),  # Q
    ("Tkf", "쌀"),  # T
    ("Wkr", "짝"),  # W
    ("dO", "얘"),  # O
    ("dP", "예"),  # P
    ("DKSSUD", "안녕"),  # capitals other than Q W E R T O P act like lowercase
    ("GOZJXHS", "햬커톤"),  # ... but O is Shift+ㅐ = ㅒ
    ("rkT", "갔"),  # ㅆ as a final
    ("Ekk", "따ㅏ"),
    ("rr", "ㄱㄱ"),
    ("k", "ㅏ"),
    ("gozjxhs eotkd 1!", "해커톤 대상 1!"),
    ("", ""),
]


def test_qwerty_table_is_large_enough():
    assert len(QWERTY_TABLE) >= 12


@pytest.mark.parametrize("typed, expected", QWERTY_TABLE)
def test_qwerty_to_hangul(typed, expected):
    assert N.qwerty_to_hangul(typed) == expected


@pytest.mark.parametrize("hangul, keys", [("해커톤", "gozjxhs"), ("까치", "Rkcl"), ("닭", "ekfr"), ("화장실", "ghkwkdtlf"),
                                          ("예 ok", "dP ok"), ("ㅎㅋㅌ", "gzx")])
def test_hangul_to_qwerty(hangul, keys):
    assert N.hangul_to_qwerty(hangul) == keys


def test_qwerty_roundtrip_random_syllables():
    rng = random.Random(20180912)
    for _ in range(200):
        s = "".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(rng.randint(1, 8)))
        keys = N.hangul_to_qwerty(s)
        assert keys.isascii() and keys.isalpha()
        assert N.qwerty_to_hangul(keys) == s, (s, keys)


def test_qwerty_roundtrip_with_spaces():
    rng = random.Random(7)
    for _ in range(50):
        words = ["".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(rng.randint(1, 4))) for _ in range(3)]
        s = " ".join(words)
        assert N.qwerty_to_hangul(N.hangul_to_qwerty(s)) == s


# --------------------------------------------------------------------------------------------- wrong layout

MISTYPED = [
    "gozjxhs", "zlsxprtm", "rofhrtlr", "roakrtlr", "tmakxmtlxl", "gksrmf", "dkssudgktpdy", "rkrur", "wnckwkd",
    "ghkwkdtlf", "dnlcl", "tlrks", "tltkdtlr", "eotkd", "dlfemd", "dhkdlvkdl", "wjatla", "tjdnf", "qntks",
    "ekdma", "akscks", "dlfwjd", "qkfvy", "gozjxhs eotkd", "zlsxprtm djeldi", "Gozjxhs",
]
ENGLISH = [
    "hackathon", "where is the venue", "who won", "awards", "kintex", "opening ceremony", "WSCW", "IR", "MOU",
    "UNDP", "hi", "time", "the", "world", "wifi", "fish", "go", "sofa", "tofu", "dog", "rock", "gift", "seoul",
    "goyang", "lunch", "parking", "schedule", "smart city", "keynote speaker", "when", "what", "toilet", "ok",
    "dot", "got", "rush", "wish", "so", "to", "do", "who", "LG", "SK", "AI", "busan", "gozjxhs world",
]


def test_wrong_layout_lists_are_large_enough():
    assert len(MISTYPED) >= 15 and len(ENGLISH) >= 15


@pytest.mark.parametrize("text", MISTYPED)
def test_looks_like_mistyped_hangul_true(text):
    assert N.looks_like_mistyped_hangul(text) is True
    assert N.detect_lang(text) == "ko"


@pytest.mark.parametrize("text", ENGLISH)
def test_looks_like_mistyped_hangul_false(text):
    assert N.looks_like_mistyped_hangul(text) is False


@pytest.mark.parametrize("text", ["", "123", "🎉", "해커톤"])
def test_looks_like_mistyped_hangul_needs_latin(text):
    assert N.looks_like_mistyped_hangul(text) is False


# --------------------------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    "text, expected",
    [
        ("해커톤 누가 1등했어?", "ko"),
        ("스마트시티 hackathon 1등", "ko"),
        ("ㅎㅋㅌ", "ko"),
        ("gozjxhs", "ko"),
        ("who won the hackathon?", "en"),
        ("Where's it held??", "en"),
        ("ＷＳＣＷ", "en"),
        ("Café", "en"),
        ("2018 🎉", None),
        ("!!!", None),
        ("", None),
    ],
)
def test_detect_lang(text, expected):
    assert N.detect_lang(text) == expected


# --------------------------------------------------------------------------------------------- speed


def test_normalize_is_fast():
    queries = [f"킨텍스에서 {i}시에 열리나요? 해커톤 누가 1등했어" for i in range(200)]
    N.normalize(queries[0])
    start = time.perf_counter()
    for q in queries:
        N.normalize(q)
    per_call = (time.perf_counter() - start) / len(queries)
    assert per_call < 200e-6  # typically ~5 µs; generous for loaded CI machines
