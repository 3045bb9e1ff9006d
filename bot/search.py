"""The search index and matcher: which knowledge entry does a question ask for, and how sure are we?

Built once per knowledge base from every example question, keyword and title of every entry, and the
facts of its answer; all turned into words by bot/morph.py (Kiwi lemmas: 열렸어 → 열리) on top of
bot/normalize.py (NFC, case, punctuation, 조사/어미, jamo, 초성, QWERTY). A query is scored three ways,
all vectorised with numpy and `rapidfuzz.process.cdist` (no Python loop over entries or strings):

1. **Words** (soft TF-IDF): each query word is matched against the vocabulary of the index — exactly,
   by jamo edit distance (헤커톤 → 해커톤 is one jamo, not one syllable), by 초성 (ㅎㅋㅌ → 해커톤), or
   through knowledge/synonyms.yaml (a phrase form such as "world bank" only as a phrase); Hangul runs
   typed without spaces are split into known words first. A string's score combines how much of the
   query it explains and how much of itself the query covers, each weighted by how rare (informative)
   the words are. Words the knowledge base has never seen ("bitcoin", "점심") count against a match
   (1.3× the weight of a rare word) — that is what makes the bot say "I don't know" to out-of-domain
   questions.
2. **Whole string**: jamo-level similarity of the query to each string with spaces removed, which
   catches typos spread over a short question and spacing variants.
3. **Whole entry**: how much of the question all example questions of one entry explain together (a
   question may borrow words from several of them), discounted since it ignores word order and length;
   a word found only in the entry's answer (its facts) counts FACT_SIM of one found in its questions.

An entry's score is the best of these. The shape follows rapidfuzz's `process.extract(query, choices,
limit, score_cutoff)`:

- :meth:`Query.parse` turns a question into one immutable :class:`Query` (cleaned, normalised, language,
  the index's words, jamo, flags such as QWERTY) — once; everything downstream reads its fields;
- :meth:`Index.rank` scores every entry for a query and returns the best as :class:`Ranked` (entry id,
  score, related to the best?), best first;
- :func:`decide` (pure) turns a ranking into an :class:`Outcome` (thresholds from config `matching`):
  ``answer`` (best ≥ confident and clear of the best unrelated runner-up by `margin`), ``ambiguous``
  (best ≥ ambiguous: the "did you mean" candidates), ``none``. A question about another year or
  edition (WSCW 2019, 내년) is ``none`` whatever the scores (:data:`OTHER_EDITION`), since the knowledge
  base describes one event.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgpack
import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot import morph as M
from bot import normalize as N
from bot.config import Matching
from bot.knowledge import Knowledge

QUERY_WEIGHT = 0.8  # share of "query explained" vs "string covered" in the word score (geometric mean)
RELATED = 0.5  # share of shared word weight that makes two entries "about the same thing"
LIGHT_WEIGHT = 0.35
UNKNOWN_PERCENTILE = 70  # a word the knowledge base never uses weighs like a fairly rare word ...
UNKNOWN_FACTOR = 1.3  # ... times 1.3: it says "not about this event" (chosen on bench/eval_questions.yaml)

# Fillers, question words and polite endings: they say how a question is asked, not what it is about.
# They weigh little on both sides, so "담당 공무원 전화번호 좀 알려주세요" is about 전화번호, and an
# unknown filler does not make a question look out of domain. Normalised like the text they meet.
_LIGHT_RAW = """
a an the is are was were be been being do does did done of in on at to for from by with about and or it its
this that these those there here what whats which who whom whose when where why how much many can could
would will should shall may might i me my we us our you your he she they them their please tell show give
let know want need like get got any some also still just really ok okay hi hey thanks thank
뭐 뭔 뭐지 뭐야 뭐예요 무엇 무슨 어떤 어느 어디 언제 누구 누가 어떻게 어케 얼마 얼마나 몇 왜 좀 쭉 혹시 그럼
그리고 근데 그 이 저 것 거 건 게 수 분 데 요 네 예 음 알려 알려줘 알려주 알려주세요 알고 싶 궁금 궁금해 궁금해요
있 없 하 되 하고 해 해요 했 했어 였 이었 인가 인지 대 대요 래 맞 맞아 정도 관련 대해 대한
가 가요 갔 오 와 왔 보 봐 볼 주 줘 나 나와 나왔 들 든 된 됐 될 한 할 함 거야 건가 걸 던 줄래 가능
"""


@functools.cache
def light_words(kiwi: bool = False) -> frozenset[str]:
    """The light words in every form the index may meet: as written, by the rules, and (kiwi=True) as
    Kiwi's lemmas (알려주세요 → 알리)."""
    out = set()
    for raw in _LIGHT_RAW.split():
        out.add(raw)
        out.update(N.normalize(raw).split())
        if kiwi:
            out.update(M.words(raw))
    return frozenset(out)


LIGHT = light_words()  # rule forms (Kiwi not loaded at import)
# Question words say what kind of answer is wanted (언제 → a date, 어디 → a place): more than a filler,
# less than a content word.
_QUESTION_RAW = "언제 어디 누구 누가 얼마 몇 며칠 when where who whom how which".split()
QUESTION_WORDS = frozenset(w for raw in _QUESTION_RAW for w in {raw, *N.normalize(raw).split()})
QUESTION_WEIGHT = 0.8
ENTRY_DISCOUNT = 0.95
FACT_SIM = 0.45  # a query word found only in an entry's answer counts this much of a word found in its questions
_YEAR = re.compile(r"((?:19|20)\d\d)(?:년|년도)?")
# another edition: the bot knows one event; these ask about a different one
OTHER_TIME = ("내년", "다음해", "재작년", "next year", "last year", "next edition", "previous edition")


def light_weight(word: str) -> float:
    return QUESTION_WEIGHT if word in QUESTION_WORDS else LIGHT_WEIGHT


@dataclass(frozen=True)
class Ranked:
    """One entry of a ranking: its id, its score (0–100, one decimal) and whether it is about the same
    thing as the best-ranked entry (:meth:`Index.related`; always False for the best itself)."""

    entry_id: str
    score: float
    related: bool = False


@dataclass(frozen=True)
class Outcome:
    kind: str  # "answer" | "ambiguous" | "none"
    candidates: tuple[Ranked, ...]  # best first
    reason: str | None = None  # why "none": "other_time" when the question is about another year/edition

    @property
    def best(self) -> Ranked | None:
        return self.candidates[0] if self.candidates else None


OTHER_EDITION = Outcome("none", (), reason="other_time")
CANDIDATES = 3  # entries a question is decided on (and "did you mean" offers at most)


def decide(ranked: Sequence[Ranked], matching: Matching) -> Outcome:
    """The outcome of a ranking (best first), by the thresholds of `matching`: ``answer`` when the best
    scores at least `confident` and at least `margin` above the best runner-up that is not related to it;
    ``ambiguous`` (the candidates scoring at least `ambiguous`) when the best scores at least
    `ambiguous`; ``none`` otherwise (with all candidates, for the organisers' report)."""
    cands = tuple(ranked)
    if not cands or cands[0].score < matching.ambiguous:
        return Outcome("none", cands)
    rivals = [c.score for c in cands[1:] if not c.related]
    runner_up = rivals[0] if rivals else 0.0
    if cands[0].score >= matching.confident and cands[0].score - runner_up >= matching.margin:
        return Outcome("answer", cands)
    return Outcome("ambiguous", tuple(c for c in cands if c.score >= matching.ambiguous))


def stem(word: str) -> str:
    """A light English stemmer for plurals and common endings (winners → winner, held → held)."""
    if not word.isascii() or len(word) <= 3:
        return word
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + keep
    return word


def words_of(text: str, kiwi: bool = True) -> list[str]:
    """The indexed words of a text: Kiwi's lemmas of content morphemes (bot/morph.py; the rule reading
    with ``kiwi=False``), English stemmed."""
    return [stem(w) for w in M.words(text, kiwi)]


def prepare_query(text: str, known: dict[str, int] | frozenset[str] = frozenset()) -> str:
    """Turn Latin runs typed with the Korean keyboard layout into Hangul, keep the rest.

    Once one word of the question is clearly Korean typed in Latin ("rhksfkaror"), the other Latin
    words that also type complete Hangul syllables and are not words the knowledge base knows follow
    it ("auc aud" → 몇 명): the keyboard was switched for the whole question."""
    return _prepare(text, known)[0]


def _prepare(text: str, known: dict[str, int] | frozenset[str]) -> tuple[str, bool]:
    """:func:`prepare_query`, and whether any word was converted."""
    tokens = N.nfc(text).split()
    cores = [t.strip("?!.,~;:'\"()[]") for t in tokens]
    latin = [bool(c) and c.isascii() and c.isalpha() for c in cores]
    sure = [is_latin and N.looks_like_mistyped_hangul(c) for c, is_latin in zip(cores, latin, strict=True)]
    out = []
    converted = False
    for token, core, is_latin, is_sure in zip(tokens, cores, latin, sure, strict=True):
        follows = (is_latin and any(sure) and core.lower() not in known and core.lower() not in N.COMMON_ENGLISH
                   and not N.has_lone_jamo(N.qwerty_to_hangul(core)))
        if is_sure or follows:
            out.append(N.qwerty_to_hangul(core))  # case matters: R is ㄲ
            converted = True
        else:
            out.append(token)
    return " ".join(out), converted


@dataclass(frozen=True)
class Query:
    """A question, read once (:meth:`parse`): every form the bot needs, so nothing downstream normalises
    it again. Immutable; the text-level fields do not depend on the knowledge base, the word-level
    ones (``words``, ``jamo``, ``qwerty``, ``other_time``) are the reading of the index it was parsed
    with (empty without one)."""

    text: str  # as typed
    lang: str | None  # "ko" / "en" from the text itself (N.detect_lang), None if it has no letters
    cleaned: str  # N.clean: "" means nothing to answer (emoji, punctuation)
    lowered: str  # N.nfc, lower-cased: for time and date phrases (9월 19일, the 20th)
    rules: tuple[str, ...]  # N.normalize's words (particles stripped by rule)
    words: tuple[str, ...] = ()  # the index's words: Kiwi lemmas or rule words, runs split, English stemmed
    jamo: str = ""  # the words run together, in jamo (whole-string similarity)
    qwerty: bool = False  # Latin words were Korean typed with the IME off, and were converted
    other_time: bool = False  # about another year or edition (WSCW 2019, 내년)

    @classmethod
    def parse(cls, text: str, index: Index | None = None) -> Query:
        """The one place a question is normalised: text forms always, words by `index` (its analyser,
        vocabulary and names) when given."""
        text = text or ""
        lang, cleaned, lowered = N.detect_lang(text), N.clean(text), N.nfc(text).lower()
        rules = tuple(N.normalize(text).split())
        if index is None:
            return cls(text, lang, cleaned, lowered, rules)
        prepared, qwerty = _prepare(text, index.vocab)
        words = tuple(index._read(prepared))
        return cls(text, lang, cleaned, lowered, rules, words=words, jamo=N.to_jamo("".join(words)), qwerty=qwerty,
                   other_time=index.other_time(words))

    @property
    def key(self) -> str:
        """The words joined by spaces (what the index matched)."""
        return " ".join(self.words)


def _is_hangul(word: str) -> bool:
    return any("가" <= ch <= "힣" for ch in word)


COMMON_CENTIBELS = 600  # a common word: frequency ≥ 10^-6 (Zipf 3, about once per million words)


@dataclass(frozen=True)
class WordList:
    """A large, fixed set of words kept as one newline-joined text per script: ~0.5 MB where a frozenset
    of the same ~56,000 words takes ~9 MB. A lookup is a substring search (~0.1 ms), made only for
    question words the knowledge base does not know."""

    latin: str
    other: str

    @classmethod
    def of(cls, words: set[str]) -> WordList:
        clean = {w for w in words if w and "\n" not in w}
        return cls("\n" + "\n".join(sorted(w for w in clean if w.isascii())) + "\n",
                   "\n" + "\n".join(sorted(w for w in clean if not w.isascii())) + "\n")

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str) or not word or "\n" in word:
            return False
        return f"\n{word}\n" in (self.latin if word.isascii() else self.other)


@functools.cache
def common_words() -> WordList:
    """Words common in Korean or English (wordfreq's "small" lists, frequency ≥ 10^-6: 사랑, 주차, feeling,
    stay, cafe — not 헤커톤, venu, vistors). A common word the knowledge base does not use is another
    word, not a typo of one: it is never matched by similarity (사랑 is not 사람, feeling not meeting).

    Read once per process straight from the package's data files (gzip + msgpack, wordfreq's "cBpack":
    a header, then list i holds the words of frequency 10^(-i/100)): ~56,000 words in ~0.05 s.
    Importing wordfreq itself would cost ~0.25 s (it loads ftfy, langcodes and regex for its tokenizer,
    which this does not use), and its lookup functions keep far larger dictionaries in memory."""
    spec = importlib.util.find_spec("wordfreq")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the wordfreq package is missing: pip install -e . installs it")
    data = Path(spec.submodule_search_locations[0]) / "data"
    out: set[str] = set()
    for lang in ("ko", "en"):
        with gzip.open(data / f"small_{lang}.msgpack.gz", "rb") as packed:
            header, *lists = msgpack.load(packed, raw=False)
        if header.get("format") != "cB" or header.get("version") != 1:
            raise RuntimeError(f"wordfreq's small_{lang} list has an unknown format: {header}")
        for words in lists[:COMMON_CENTIBELS + 1]:
            out.update(words)
    return WordList.of(out)


SURE_MATCH = 0.95  # a word found exactly (1.0) or through a synonym (0.95), not by similarity


def _short(word: str) -> bool:
    """Short enough that one slip makes another word (사랑/사람, cafe/case)."""
    return len(word) <= 2 if _is_hangul(word) else word.isalpha() and len(word) <= 4


def knowledge_words(kb: Knowledge) -> list[str]:
    """The names of a knowledge base the analyser keeps whole and never reads as mistyped Korean: the
    event's names, keywords, entry titles and synonyms."""
    ev = kb.event
    return ([ev.short_name, ev.name.ko, ev.name.en] + [w for g in kb.synonyms for w in g]
            + [t for e in kb.entries for t in (*e.keywords, e.title.ko, e.title.en)])


class Index:
    """Vocabulary, postings and normalised forms of every indexed string, built once per knowledge base."""

    def __init__(self, kb: Knowledge, matching: Matching) -> None:
        self.kb = kb
        self.matching = matching
        self.kiwi = matching.analyser == "kiwi"
        # names the knowledge base uses (keywords, titles, synonyms) stay whole in Kiwi's analysis; added
        # before anything is analysed (Kiwi rebuilds itself at the first analysis after new words)
        self.names: tuple[str, ...] = ()
        N.learn_words(knowledge_words(kb))
        if self.kiwi:
            M.add_words([t for e in kb.entries for t in (*e.keywords, e.title.ko)]
                        + [w for g in kb.synonyms for w in g])
            self.names = M.added_words()  # what Kiwi knew when this index was built (restored with a cached copy)
        self.light = light_words(self.kiwi)
        self.common = common_words()  # not cached with the index: the same for every knowledge base
        self._last_matches: tuple[tuple[str, ...], list[list[tuple[int, float]]]] | None = None
        self.entry_ids = [e.id for e in kb.entries]
        self._position = {e: i for i, e in enumerate(self.entry_ids)}
        owners: list[int] = []
        string_words: list[list[str]] = []
        compact: list[str] = []
        for idx, entry in enumerate(kb.entries):
            seen: set[str] = set()
            for text in list(entry.questions.all()) + list(entry.keywords) + [entry.title.ko, entry.title.en]:
                words = words_of(text, self.kiwi)
                key = " ".join(words)
                if not words or key in seen:
                    continue
                seen.add(key)
                owners.append(idx)
                string_words.append(words)
                compact.append(N.to_jamo(key.replace(" ", "")))
        self.owners = np.asarray(owners, dtype=np.int64)
        self.compact = compact
        self.string_digits = [frozenset(w for w in words if w.isdigit()) for words in string_words]
        self.n_strings = len(owners)
        # vocabulary and idf over entries (a word in many entries says little about which one is meant)
        vocab: dict[str, int] = {}
        entry_sets: dict[int, set[int]] = {}
        for s, words in enumerate(string_words):
            for w in words:
                v = vocab.setdefault(w, len(vocab))
                entry_sets.setdefault(v, set()).add(owners[s])
        n_questions_vocab = len(vocab)
        # facts: words an entry's answer uses but its questions may not ("5G 기술" when the questions say
        # only 세미나) point at it too, more weakly (FACT_SIM) and only at the entry level
        fact_sets: dict[int, set[int]] = {}
        for idx, entry in enumerate(kb.entries):
            for text in entry.facts():
                for w in words_of(text, self.kiwi):
                    fact_sets.setdefault(vocab.setdefault(w, len(vocab)), set()).add(idx)
        self.vocab = vocab
        self.words = list(vocab)
        n_entries = max(1, len(kb.entries))
        self.idf = np.array([light_weight(w) if w in self.light else
                             math.log(1 + n_entries / len(entry_sets.get(v) or fact_sets[v]))
                             for w, v in vocab.items()], dtype=np.float32)
        content = np.array([self.idf[v] for w, v in vocab.items() if w not in self.light and v < n_questions_vocab],
                           dtype=np.float32)
        self.unknown_idf = UNKNOWN_FACTOR * float(np.percentile(content, UNKNOWN_PERCENTILE)) if len(content) else 1.0
        self.max_idf = float(content.max()) if len(content) else 1.0
        self.synonyms: dict[str, tuple[str, ...]] = {}
        for group in kb.synonyms:
            forms = [" ".join(words_of(g, self.kiwi)) for g in group]
            for f in forms:
                self.synonyms[f] = tuple(x for x in forms if x != f)
        self._max_phrase = max((f.count(" ") + 1 for f in self.synonyms), default=1)
        self.entry_words: list[frozenset[int]] = [frozenset() for _ in kb.entries]
        for s_idx, words in enumerate(string_words):
            self.entry_words[owners[s_idx]] |= {vocab[w] for w in words}
        # what describes an entry: the words of its questions and of its answer
        described: list[set[int]] = [set(ws) for ws in self.entry_words]
        for v, owners_of_v in fact_sets.items():
            for idx in owners_of_v:
                described[idx].add(v)
        self.entry_described = [frozenset(d) for d in described]
        # the words that name an entry (title and keywords), for telling twins apart from rivals
        self.entry_names: list[frozenset[int]] = []
        for entry in kb.entries:
            names = [entry.title.ko, entry.title.en, *entry.keywords]
            self.entry_names.append(frozenset(vocab[w] for t in names for w in words_of(t, self.kiwi)
                                              if w in vocab and w not in self.light))
        self.word_jamo = [N.to_jamo(w) for w in self.words]
        self.word_cho = np.array([N.choseong(w) if _is_hangul(w) else "" for w in self.words], dtype=object)
        # postings: strings containing each word; each string's total weight
        postings: list[list[int]] = [[] for _ in vocab]
        weight = np.zeros(self.n_strings, dtype=np.float32)
        for s, words in enumerate(string_words):
            for v in {vocab[w] for w in words}:
                postings[v].append(s)
                weight[s] += self.idf[v]
        self.postings = [np.asarray(p, dtype=np.int64) for p in postings]
        # the same per entry: a question may borrow words from several example questions of one entry
        self.entry_postings = [np.unique(self.owners[p]) if len(p) else np.zeros(0, np.int64) for p in self.postings]
        self.fact_postings = [np.asarray(sorted(fact_sets.get(v, ())), dtype=np.int64) for v in range(len(vocab))]
        self.string_weight = weight
        self._starts = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]]) if owners else np.zeros(0, np.int64)
        self._starts_owner = self.owners[self._starts] if owners else np.zeros(0, np.int64)
        self._max_word = max((len(w) for w in self.words), default=1)

    def __len__(self) -> int:
        return self.n_strings

    # ------------------------------------------------------------ cache (bot/cache.py)

    def __getstate__(self) -> dict:
        """Everything but the knowledge base and the settings (given back by :meth:`attach`)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("kb", "matching", "common", "_last_matches")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._last_matches = None

    def attach(self, kb: Knowledge, matching: Matching) -> Index:
        """A copy read back from the cache: give it its knowledge base and settings, and teach Kiwi the
        names it knew when the index was built, before any analysis."""
        self.kb = kb
        self.matching = matching
        self.common = common_words()
        N.learn_words(knowledge_words(kb))
        if self.kiwi:
            M.add_words(self.names)
            M.warm_up()
        return self

    # ------------------------------------------------------------ query side

    def _split_run(self, word: str) -> list[str]:
        """Split Hangul typed without spaces into known words: '해커톤대상누구였어' → 해커톤 대상 누구.

        Dynamic programming over the run: known words of 2+ syllables score their length squared (so
        longer words win), a known 1-syllable word scores 1, and a syllable that belongs to no known word
        (a particle or an ending: 가, 에서, 였어) is skipped at no gain. Accepted when known words cover
        at least half of the run; otherwise the run is returned whole (and matched fuzzily)."""
        n = len(word)
        if word in self.vocab or n < 3 or not all("가" <= ch <= "힣" for ch in word):  # 2019년 stays whole
            return [word]
        start: list[str] = []
        best: list[tuple[float, int, list[str]]] = [(0.0, 0, start)] + [(-1.0, 0, start)] * n
        for i in range(n):
            score, covered, pieces = best[i]
            if score < 0:
                continue
            if score > best[i + 1][0] or (score == best[i + 1][0] and covered > best[i + 1][1]):
                best[i + 1] = (score, covered, pieces)  # skip one syllable
            for j in range(i + 1, min(n, i + self._max_word) + 1):
                piece = word[i:j]
                if piece in self.vocab:
                    gain = (j - i) ** 2 if j - i >= 2 else 1
                    cand = (score + gain, covered + (j - i), pieces + [piece])
                    if cand[0] > best[j][0]:
                        best[j] = cand
        _, covered, pieces = best[n]
        long_cover = sum(len(p) for p in pieces if len(p) >= 2)
        if len(pieces) >= 2 and long_cover >= 0.5 * n:  # 와이파이 is not 와+이+파+이
            return pieces
        return [word]

    @staticmethod
    def _same_shape(a: str, b: str) -> bool:
        if _is_hangul(a) or _is_hangul(b):
            return len(a) == len(b)
        return abs(len(a) - len(b)) <= 2 and not (a.isdigit() or b.isdigit())

    def query_words(self, text: str) -> list[str]:
        """The words of a question (``Query.parse(text, index).words``)."""
        return self._read(prepare_query(text, self.vocab))

    def _read(self, prepared: str) -> list[str]:
        """The words of a question, piece by piece: Kiwi's reading when the knowledge base knows all its
        words, otherwise the rule reading (a typo stays one word for jamo matching: 기조연셜 → 기조연설),
        with Hangul runs typed without spaces split into known words. `prepared`: QWERTY already undone."""
        pieces = M.analyze(prepared, self.kiwi)
        rules = [stem(w) for p in pieces for w in p.rules]
        if sum(1 for w in rules if len(w) == 1 and _is_hangul(w)) >= 2:
            # "기조 연 설 한 사람": spaces inside words; re-split the Hangul as one run
            split = self._split_run("".join(w for w in rules if _is_hangul(w)))
            if len(split) > 1:
                return [w for w in rules if not _is_hangul(w)] + split
        out: list[str] = []
        for p in pieces:
            kiwi = [stem(w) for w in p.kiwi]
            unknown = sum(1 for w in kiwi if w not in self.vocab and w not in self.light and not w.isdigit())
            if p.hangul and kiwi and unknown == 0:
                out.extend(kiwi)
            else:
                for w in p.rules:
                    out.extend(self._split_run(stem(w)))
        return out

    def _matches(self, words: list[str]) -> list[list[tuple[int, float]]]:
        """For each query word, the vocabulary words it may mean, with a similarity in 0..1 (the last
        question's are kept: :meth:`scores` and :meth:`near_miss` read the same question; do not mutate)."""
        key = tuple(words)
        last = self._last_matches
        if last is not None and last[0] == key:
            return last[1]
        found = self._find_matches(words)
        self._last_matches = (key, found)
        return found

    def _find_matches(self, words: list[str]) -> list[list[tuple[int, float]]]:
        found: list[list[tuple[int, float]]] = [[] for _ in words]
        fuzzy_rows, fuzzy_words = [], []
        for i, w in enumerate(words):
            v = self.vocab.get(w)
            if v is not None:
                found[i].append((v, 1.0))
            elif w in self.light or w in self.common:
                continue  # a filler or a common word the knowledge base does not use: not a typo (분 ≠ 번, 사랑 ≠ 사람)
            elif N.is_choseong_query(w) and all("ㄱ" <= ch <= "ㅎ" for ch in w):
                for col in np.flatnonzero(self.word_cho == w):
                    found[i].append((int(col), 0.9))
            else:
                fuzzy_rows.append(i)
                fuzzy_words.append(N.to_jamo(w))
        if fuzzy_words and self.words:
            # edit distance in jamo: one slip (헤커톤, 킨텍쓰, 투쟈) costs 1, whatever the syllable
            dist = process.cdist(fuzzy_words, self.word_jamo, scorer=Levenshtein.distance, dtype=np.int32,
                                 workers=1, score_cutoff=2)
            for row, i in enumerate(fuzzy_rows):
                word = words[i]
                n = len(fuzzy_words[row])
                if n <= 2 or word.isdigit():
                    continue  # very short words and numbers match exactly or not at all
                if word.isascii():
                    allowed = 0 if n <= 3 else 1 if n <= 5 else 2  # "old" is not "hold"
                else:
                    allowed = 1 if n <= 7 else 2
                if allowed == 0:
                    continue
                cols = [int(c) for c in np.flatnonzero(dist[row] <= allowed) if self._same_shape(word, self.words[c])]
                if cols:
                    best = min(dist[row, c] for c in cols)
                    for c in cols:
                        if dist[row, c] == best:
                            found[i].append((c, 0.9 if best == 1 else 0.8))
        # synonyms from knowledge/synonyms.yaml (keynote → 기조연설, 월드뱅크 → world bank …): a form of
        # several words is matched as a phrase, and stands for all of its words
        for i, w in enumerate(words):
            others = list(self.synonyms.get(w, ()))
            for k in range(2, self._max_phrase + 1):
                others += self.synonyms.get(" ".join(words[i:i + k]), ()) if i + k <= len(words) else ()
            for other in others:
                for part in other.split():
                    v = self.vocab.get(part)
                    if v is not None and part not in self.light and all(v != x for x, _ in found[i]):
                        found[i].append((v, 0.95))
        return found

    def says_anything(self, query: Query) -> bool:
        """Does the question have a word to match on: a content word, or at least a question word (언제,
        where)? "있어?", "뭐라는거야", "1+1" have neither."""
        return any(w in QUESTION_WORDS or (w not in self.light and not w.isdigit()) for w in query.words)

    def near_miss(self, query: Query) -> bool:
        """Is the question only *like* the knowledge base? True when none of its content words is a word
        the knowledge base uses (exactly, through a synonym or by 초성) and one of them is short (1–2
        Hangul syllables, up to 4 letters) and unknown or one changed jamo or letter from a knowledge
        word: 사랑 is one jamo from 사람, cafe one letter from case, 주차 only looks like 주최 as a whole
        string — another word, not a typo. Long words keep their typo tolerance (헤커톤, 킨텍쓰,
        hackaton), and so do short ones missing a letter (venu). Such questions get the honest "I don't
        know"."""
        words = list(query.words)
        content = [(w, found) for w, found in zip(words, self._matches(words), strict=True)
                   if w not in self.light and not w.isdigit()]
        if not content:
            return False
        slips = False
        for word, found in content:
            if any(sim >= SURE_MATCH for _, sim in found) or (found and N.is_choseong_query(word)):
                return False
            # a short word unknown, or only a same-length slip away from a knowledge word (a letter
            # missing or added — venu, wher — is a typo; one changed — cafe/case — is another word)
            slips = slips or (_short(word) and (_is_hangul(word) or not found or all(
                len(self.words[v]) == len(word) for v, _ in found)))
        return slips

    def parse(self, text: str) -> Query:
        """``Query.parse(text, self)``."""
        return Query.parse(text, self)

    def rank(self, query: Query | str, *, limit: int | None = CANDIDATES,
             score_cutoff: float | None = None) -> list[Ranked]:
        """The best entries for `query`, best first (ties in entry order), like rapidfuzz's
        ``process.extract``: at most `limit` (None: all), each scoring more than 0, and at least
        `score_cutoff` when given (compared before rounding). ``related`` marks the entries about the
        same thing as the best one."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")
        if limit is not None:
            order = order[:limit]
        keep = [int(i) for i in order if scores[i] > 0 and (score_cutoff is None or scores[i] >= score_cutoff)]
        if not keep:
            return []
        best = self.entry_ids[keep[0]]
        return [Ranked(self.entry_ids[i], round(float(scores[i]), 1), n > 0 and self.related(best, self.entry_ids[i]))
                for n, i in enumerate(keep)]

    def scores(self, query: Query | str) -> np.ndarray:
        """Score of every entry (0–100), in entry order, for a parsed query (or a text, parsed here)."""
        if isinstance(query, str):
            query = Query.parse(query, self)
        result = np.zeros(len(self.entry_ids), dtype=np.float32)
        words = list(query.words)
        if not words or not self.n_strings:
            return result
        matches = self._matches(words)
        explained = np.zeros(self.n_strings, dtype=np.float32)
        explained_entry = np.zeros(len(self.entry_ids), dtype=np.float32)
        q_total = 0.0
        best_sim: dict[int, float] = {}
        for word, word_matches in zip(words, matches, strict=True):
            if not word_matches:
                # an unknown number (a year the event never had: 2019) weighs like the rarest word
                q_total += light_weight(word) if word in self.light else self.max_idf if word.isdigit() else self.unknown_idf
                continue
            weight = light_weight(word) if word in self.light else max(self.idf[v] for v, _ in word_matches)
            q_total += weight
            contribution = np.zeros(self.n_strings, dtype=np.float32)
            contribution_entry = np.zeros(len(self.entry_ids), dtype=np.float32)
            for v, sim in word_matches:
                hit = self.postings[v]
                contribution[hit] = np.maximum(contribution[hit], sim)
                hit_fact = self.fact_postings[v]
                contribution_entry[hit_fact] = np.maximum(contribution_entry[hit_fact], sim * FACT_SIM)
                hit_entry = self.entry_postings[v]
                contribution_entry[hit_entry] = np.maximum(contribution_entry[hit_entry], sim)
                best_sim[v] = max(best_sim.get(v, 0.0), sim)
            explained += contribution * weight
            explained_entry += contribution_entry * weight
        covered = np.zeros(self.n_strings, dtype=np.float32)
        for v, sim in best_sim.items():
            covered[self.postings[v]] += self.idf[v] * sim
        q_cov = explained / max(q_total, 1e-6)
        s_cov = np.minimum(covered / np.maximum(self.string_weight, 1e-6), 1.0)
        word_score = 100.0 * np.power(q_cov, QUERY_WEIGHT) * np.power(s_cov, 1 - QUERY_WEIGHT)
        whole = process.cdist([query.jamo], self.compact, scorer=fuzz.ratio, dtype=np.float32,
                              workers=1, score_cutoff=80)[0]
        digits = {w for w in words if w.isdigit()}
        if digits:  # "WSCW 2019" is not "WSCW 2018", however similar the letters
            whole[[not digits <= d for d in self.string_digits]] = 0
        best = np.maximum(word_score, whole)
        result[self._starts_owner] = np.maximum.reduceat(best, self._starts)
        # entry level: how much of the question the entry's examples explain together (no string
        # coverage here, so it is discounted)
        entry_score = ENTRY_DISCOUNT * 100.0 * np.power(explained_entry / max(q_total, 1e-6), QUERY_WEIGHT)
        return np.maximum(result, entry_score)

    def related(self, a: str, b: str) -> bool:
        """Two entries about the same thing (a FAQ entry and its structured twin, say): most of the
        rarer words of the smaller one also describe the other. A close runner-up that is related does
        not make the answer ambiguous."""
        ia, ib = self._position.get(a), self._position.get(b)
        if ia is None or ib is None:
            return False
        wa, wb = self.entry_words[ia], self.entry_words[ib]
        weigh = lambda ws: float(sum(self.idf[v] for v in ws))  # noqa: E731
        small = min(weigh(wa), weigh(wb))
        if small > 0 and weigh(wa & wb) / small >= RELATED:
            return True
        # one is named in the other's questions or answer: a speaker and the talk they gave, a session
        # and its results
        na, nb = self.entry_names[ia], self.entry_names[ib]
        da, db = self.entry_described[ia], self.entry_described[ib]
        return any(names and weigh(names & other) / weigh(names) >= RELATED
                   for names, other in ((na, db), (nb, da)))

    def other_time(self, words: Sequence[str]) -> bool:
        """The question is about another edition or year: a year the knowledge base never mentions
        (WSCW 2019, 2020년) or 내년 / next year (unless the knowledge base itself uses the word)."""
        joined = f" {' '.join(words)} "
        years = [m.group(1) for m in map(_YEAR.fullmatch, words) if m]
        return (any(y not in self.vocab for y in years)
                or any(f" {w} " in joined and (" " in w or w not in self.vocab) for w in OTHER_TIME))
