"""The search index and matcher: which knowledge entry does a question ask for, and how sure are we?

Built once per knowledge base from every example question, keyword and title of every entry, all
normalised by bot/normalize.py (NFC, case, punctuation, 조사/어미). A query is scored two ways, both
vectorised with `rapidfuzz.process.cdist` (no Python loop over entries or strings):

1. **Words** (soft TF-IDF): each query word is matched against the vocabulary of the index — exactly,
   by jamo edit distance (헤커톤 → 해커톤 is one jamo, not one syllable), or by 초성 (ㅎㅋㅌ → 해커톤);
   Hangul runs typed without spaces are split into known words first. A string's score combines how
   much of the query it explains and how much of itself the query covers, each weighted by how rare
   (informative) the words are. Words the knowledge base has never seen ("bitcoin", "점심") count
   against a match — that is what makes the bot say "I don't know" to out-of-domain questions.
2. **Whole string**: jamo-level similarity of the query to each string with spaces removed, which
   catches typos spread over a short question and spacing variants.

An entry's score is the best score of its strings. Outcomes (thresholds from config `matching`):
``answer`` (best ≥ confident and clear of the runner-up by `margin`), ``ambiguous`` (best ≥ ambiguous:
up to 3 "did you mean" candidates), ``none``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot import normalize as N
from bot.config import Matching
from bot.knowledge import Knowledge

QUERY_WEIGHT = 0.6  # share of "query explained" vs "string covered" in the word score (geometric mean)


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


def stem(word: str) -> str:
    """A light English stemmer for plurals and common endings (winners → winner, held → held)."""
    if not word.isascii() or len(word) <= 3:
        return word
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + keep
    return word


def words_of(text: str) -> list[str]:
    return [stem(w) for w in N.normalize(text).split()]


def prepare_query(text: str) -> str:
    """Turn Latin runs typed with the Korean keyboard layout into Hangul, keep the rest."""
    out = []
    for token in N.nfc(text).split():
        core = token.strip("?!.,~;:'\"()[]")
        if core and core.isascii() and core.isalpha() and N.looks_like_mistyped_hangul(core):
            out.append(N.qwerty_to_hangul(core))  # case matters here: R is ㄲ, r is ㄱ
        else:
            out.append(token)
    return " ".join(out)


def _is_hangul(word: str) -> bool:
    return any("가" <= ch <= "힣" for ch in word)


class Index:
    """Vocabulary, postings and normalised forms of every indexed string, built once per knowledge base."""

    def __init__(self, kb: Knowledge, matching: Matching) -> None:
        self.kb = kb
        self.matching = matching
        self.entry_ids = [e.id for e in kb.entries]
        owners: list[int] = []
        string_words: list[list[str]] = []
        compact: list[str] = []
        for idx, entry in enumerate(kb.entries):
            seen: set[str] = set()
            for text in list(entry.questions.all()) + list(entry.keywords) + [entry.title.ko, entry.title.en]:
                words = words_of(text)
                key = " ".join(words)
                if not words or key in seen:
                    continue
                seen.add(key)
                owners.append(idx)
                string_words.append(words)
                compact.append(N.to_jamo(key.replace(" ", "")))
        self.owners = np.asarray(owners, dtype=np.int64)
        self.compact = compact
        self.n_strings = len(owners)
        # vocabulary and idf over entries (a word in many entries says little about which one is meant)
        vocab: dict[str, int] = {}
        entry_sets: dict[int, set[int]] = {}
        for s, words in enumerate(string_words):
            for w in words:
                v = vocab.setdefault(w, len(vocab))
                entry_sets.setdefault(v, set()).add(owners[s])
        self.vocab = vocab
        self.words = list(vocab)
        n_entries = max(1, len(kb.entries))
        self.idf = np.array([math.log(1 + n_entries / len(entry_sets[v])) for v in range(len(vocab))], dtype=np.float32)
        self.unknown_idf = float(np.median(self.idf)) if len(self.idf) else 1.0
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
        self.string_weight = weight
        self._starts = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]]) if owners else np.zeros(0, np.int64)
        self._starts_owner = self.owners[self._starts] if owners else np.zeros(0, np.int64)
        self._max_word = max((len(w) for w in self.words), default=1)

    def __len__(self) -> int:
        return self.n_strings

    # ------------------------------------------------------------ query side

    def _split_run(self, word: str) -> list[str]:
        """'해커톤대상누구' → ['해커톤', '대상', '누구'] when the pieces are known words (greedy, longest
        first; a leftover tail is normalised for 조사). Unknown runs are returned whole."""
        if word in self.vocab or not _is_hangul(word) or len(word) < 4:
            return [word]
        pieces, i = [], 0
        while i < len(word):
            for j in range(min(len(word), i + self._max_word), i, -1):
                if word[i:j] in self.vocab and j - i >= 2:
                    pieces.append(word[i:j])
                    i = j
                    break
            else:
                tail = N.normalize(word[i:])
                if tail in self.vocab:
                    pieces.append(tail)
                    break
                if pieces and len(word) - i <= 2:  # a particle or ending left over
                    break
                return [word]
        return pieces if len(pieces) > 1 else [word]

    def query_words(self, text: str) -> list[str]:
        out: list[str] = []
        for w in words_of(prepare_query(text)):
            out.extend(self._split_run(w))
        return out

    def _matches(self, words: list[str]) -> list[list[tuple[int, float]]]:
        """For each query word, the vocabulary words it may mean, with a similarity in 0..1."""
        found: list[list[tuple[int, float]]] = [[] for _ in words]
        fuzzy_rows, fuzzy_words = [], []
        for i, w in enumerate(words):
            v = self.vocab.get(w)
            if v is not None:
                found[i].append((v, 1.0))
            elif N.is_choseong_query(w) and all("ㄱ" <= ch <= "ㅎ" for ch in w):
                for v in np.flatnonzero(self.word_cho == w):
                    found[i].append((int(v), 0.9))
            else:
                fuzzy_rows.append(i)
                fuzzy_words.append(N.to_jamo(w))
        if fuzzy_words and self.words:
            sims = process.cdist(fuzzy_words, self.word_jamo, scorer=fuzz.ratio, dtype=np.uint8, workers=1,
                                 score_cutoff=70)
            for row, i in enumerate(fuzzy_rows):
                n = len(fuzzy_words[row])
                cutoff = 101 if n <= 3 else 80 if n <= 6 else 72  # short words: exact only
                cols = np.flatnonzero(sims[row] >= cutoff)
                if len(cols):
                    best = sims[row, cols].max()
                    for v in cols[sims[row, cols] >= best - 5]:
                        found[i].append((int(v), float(sims[row, v]) / 100 * 0.95))
        return found

    def scores(self, text: str) -> np.ndarray:
        """Score of every entry (0–100) for the question `text`."""
        result = np.zeros(len(self.entry_ids), dtype=np.float32)
        words = self.query_words(text)
        if not words or not self.n_strings:
            return result
        matches = self._matches(words)
        explained = np.zeros(self.n_strings, dtype=np.float32)
        q_total = 0.0
        best_sim: dict[int, float] = {}
        for word_matches in matches:
            if not word_matches:
                q_total += self.unknown_idf
                continue
            weight = max(self.idf[v] for v, _ in word_matches)
            q_total += weight
            contribution = np.zeros(self.n_strings, dtype=np.float32)
            for v, sim in word_matches:
                hit = self.postings[v]
                contribution[hit] = np.maximum(contribution[hit], sim)
                best_sim[v] = max(best_sim.get(v, 0.0), sim)
            explained += contribution * weight
        covered = np.zeros(self.n_strings, dtype=np.float32)
        for v, sim in best_sim.items():
            covered[self.postings[v]] += self.idf[v] * sim
        q_cov = explained / max(q_total, 1e-6)
        s_cov = np.minimum(covered / np.maximum(self.string_weight, 1e-6), 1.0)
        word_score = 100.0 * np.power(q_cov, QUERY_WEIGHT) * np.power(s_cov, 1 - QUERY_WEIGHT)
        whole = process.cdist([N.to_jamo("".join(words))], self.compact, scorer=fuzz.ratio, dtype=np.float32,
                              workers=1, score_cutoff=80)[0]
        best = np.maximum(word_score, whole)
        result[self._starts_owner] = np.maximum.reduceat(best, self._starts)
        return result

    def search(self, text: str) -> Result:
        query = " ".join(self.query_words(text))
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
        return Result("ambiguous", tuple(c for c in cands if c.score >= m.ambiguous), query)
