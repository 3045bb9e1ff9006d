"""The search index and matcher: which knowledge entry does a question ask for, and how sure are we?

Built once per knowledge base. Every example question, keyword and title of every entry is normalised
(bot/normalize.py) into three forms — words, jamo (spacing-free, so a typo costs one jamo, not one
syllable) and 초성 — and a query is scored against all of them at once with `rapidfuzz.process.cdist`
(vectorised C++, no Python loop per entry). An entry's score is the best score of its strings.

Outcomes (thresholds from config `matching`):
- ``answer``: best ≥ confident and the runner-up entry is at least `margin` lower;
- ``ambiguous``: best ≥ ambiguous → up to 3 candidates ("did you mean");
- ``none``: nothing good enough — an honest "I don't know".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot import normalize as N
from bot.config import Matching
from bot.knowledge import Knowledge

# Question words and fillers that say nothing about *which* entry is meant. They are dropped from the
# word form of both the query and the index strings so that "who won the hackathon" and "what is the
# weather" do not look alike just because of "what/the/is".
_STOPWORDS_RAW = ("""
a an the is are was were be been do does did of in on at to for from by with about and or it its this that
there what whats what's which who whom whose when where why how much many can could i me my we you your
please tell show give know want let us any some get got held happen happened hold holding take taking place
event wscw 2018 world smart city week
뭐 뭔 뭐지 무엇 어디 언제 누구 어떻게 얼마 얼마나 몇 어느 무슨 좀 알려 알려줘 알려주세요 궁금 궁금해요 있 없 하 되
이 그 저 것 거 건 수 요 좀 제발 혹시 그럼 그리고 근데 행사 월드 스마트시티위크 위크
""".split())
# normalised the same way as the text they are removed from (알려주세요 → 알려주, what's → what)
STOPWORDS = frozenset(w for raw in _STOPWORDS_RAW for w in N.normalize(raw).split())


@dataclass(frozen=True)
class Match:
    entry_id: str
    score: float


@dataclass(frozen=True)
class Result:
    outcome: str  # "answer" | "ambiguous" | "none"
    candidates: tuple[Match, ...]  # best first, at most 3
    query: str  # the normalised query

    @property
    def best(self) -> Match | None:
        return self.candidates[0] if self.candidates else None


def content_words(text: str) -> str:
    """Normalised words without stopwords (falls back to all words if nothing else is left)."""
    words = N.normalize(text).split()
    kept = [w for w in words if w not in STOPWORDS]
    return " ".join(kept or words)


def prepare_query(text: str) -> str:
    """Turn Latin runs typed with the Korean keyboard layout into Hangul, keep the rest."""
    words = N.nfc(text).split()
    out = []
    for token in words:
        core = token.strip("?!.,~;:'\"()[]")
        if core and core.isascii() and core.isalpha() and N.looks_like_mistyped_hangul(core):
            out.append(N.qwerty_to_hangul(core))  # case matters here: R is ㄲ, r is ㄱ
        else:
            out.append(token)
    return " ".join(out)


class Index:
    """Normalised forms of every indexed string, and the entry each string belongs to."""

    def __init__(self, kb: Knowledge, matching: Matching) -> None:
        self.kb = kb
        self.matching = matching
        owners: list[int] = []
        words: list[str] = []
        jamo: list[str] = []
        cho: list[str] = []
        self.entry_ids = [e.id for e in kb.entries]
        for idx, entry in enumerate(kb.entries):
            texts = list(entry.questions.all()) + list(entry.keywords) + [entry.title.ko, entry.title.en]
            seen: set[str] = set()
            for text in texts:
                w = content_words(text)
                if not w or w in seen:
                    continue
                seen.add(w)
                owners.append(idx)
                words.append(w)
                compact = w.replace(" ", "")
                jamo.append(N.to_jamo(compact))
                cho.append(N.choseong(compact) if any("가" <= ch <= "힣" for ch in compact) else "")
        self.owners = np.asarray(owners, dtype=np.int64)
        self.words, self.jamo, self.cho = words, jamo, cho
        # strings are grouped by entry, in order: reduceat needs the first string of each entry
        self._starts = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]]) if owners else np.array([], dtype=np.int64)
        self._starts_owner = self.owners[self._starts] if owners else np.array([], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.words)

    def scores(self, text: str) -> np.ndarray:
        """Score of every entry (0–100) for the question `text`."""
        result = np.zeros(len(self.entry_ids), dtype=np.float32)
        query = prepare_query(text)
        if not query or not len(self.words):
            return result
        qw = content_words(query)
        qj = N.to_jamo(qw.replace(" ", ""))
        best = process.cdist([qw], self.words, scorer=fuzz.WRatio, dtype=np.float32, workers=1)[0]
        np.maximum(best, process.cdist([qj], self.jamo, scorer=fuzz.WRatio, dtype=np.float32, workers=1)[0], out=best)
        if N.is_choseong_query(query):
            qc = N.choseong(qw.replace(" ", ""))
            chosen = process.cdist([qc], self.cho, scorer=fuzz.ratio, dtype=np.float32, workers=1)[0]
            np.maximum(best, chosen, out=best)
        per_entry = np.maximum.reduceat(best, self._starts)
        result[self._starts_owner] = per_entry
        return result

    def search(self, text: str) -> Result:
        query = prepare_query(text)
        scores = self.scores(text)
        if not len(scores):
            return Result("none", (), query)
        top = np.argsort(-scores, kind="stable")[:3]
        cands = tuple(Match(self.entry_ids[i], round(float(scores[i]), 1)) for i in top if scores[i] > 0)
        m = self.matching
        if not cands or cands[0].score < m.ambiguous:
            return Result("none", cands, query)
        runner_up = cands[1].score if len(cands) > 1 else 0.0
        if cands[0].score >= m.confident and cands[0].score - runner_up >= m.margin:
            return Result("answer", cands, query)
        near = tuple(c for c in cands if c.score >= m.ambiguous)
        return Result("ambiguous", near, query)
