"""Korean morphology: the content words of a text, by morphological analysis with Kiwi (kiwipiepy).

The rule-based particle stripper of bot/normalize.py knows the endings someone listed; Kiwi, a
statistical analyser whose model ships inside the `kiwipiepy_model` PyPI package (nothing is downloaded
at run time), knows Korean: 열렸어 → 열리, 나왔었죠 → 나오, 맡았어 → 맡, 운영해 → 운영, and compounds
split into their nouns (지자체협의회 → 지자체 협의회, 해외진출 → 해외 진출) so a question and an example
question meet on the same words however each was inflected or spaced. Measured on bench/eval.py
(README, "Korean analyser"), it pays for its memory.

:func:`analyze` returns, for each space-separated piece of the cleaned text, two readings:

- ``kiwi``: the lemmas of the piece's content morphemes (nouns, verb and adjective stems, roots,
  adverbs, determiners, numbers, foreign words); particles, endings, copulas and auxiliaries dropped;
  a number keeps its counter (1등, 3일, 2018년: "1등" is not "2등");
- ``rules``: bot/normalize.py's reading of the same piece (particles stripped by rule). The search
  index uses it when Kiwi's reading has words the knowledge base never uses — a typo such as 기조연셜
  is cut by Kiwi into fragments, while the rule reading keeps one word that jamo matching can mend.

Pieces without a Hangul syllable (English, numbers, 초성 like ㅎㅋㅌ) get the rule reading for both.

One analyser per process, created on first use (about 0.6 s to load the model, 0.5 s to build at the
first analysis, ~190 MB with the options below) and shared by every knowledge base: names from the
knowledge base are added with :func:`add_words` so that Kiwi keeps them whole (에코델타시티, 스마트시티)
— before the first analysis, since Kiwi rebuilds itself at the first analysis after new words
(:func:`warm_up` does that build at load time, not at the first question). Results are memoised; calls
are serialised by a lock because a reload may build an index in another thread.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import threading
from dataclasses import dataclass

from bot import normalize as N

# Kiwi tags kept: general/proper/bound nouns, numerals, pronouns, verb and adjective stems, roots,
# adverbs, determiners (무슨, 어느), foreign words, numbers, Chinese characters.
CONTENT_TAGS = frozenset("NNG NNP NNB NR NP VV VA XR MAG MM SL SN SH".split())
# irregular verb/adjective tags (VV-I, VA-R …) are their base tag plus a suffix
_TAG_BASE = {f"{t}-{s}": t for t in ("VV", "VA") for s in ("I", "R")}


_SYLLABLES = re.compile(r"[가-힣]")


@dataclass(frozen=True)
class Piece:
    text: str  # the cleaned piece
    kiwi: tuple[str, ...]
    rules: tuple[str, ...]

    @property
    def hangul(self) -> bool:
        return bool(_SYLLABLES.search(self.text))


_lock = threading.Lock()
_kiwi = None
_added: set[str] = set()


def _analyser():
    global _kiwi
    if _kiwi is None:
        from kiwipiepy import Kiwi  # imported here: 1 s of start-up only when first needed

        # typo and multi-word dictionaries off: −190 MB and −1.5 s; typos are handled by jamo matching.
        # The default user dictionary off: −60 MB and −0.5 s, the same outcome for every question of
        # bench/eval.py (the knowledge base's own names are added by add_words).
        _kiwi = Kiwi(num_workers=-1, load_typo_dict=False, load_multi_dict=False, load_default_dict=False)
    return _kiwi


def added_words() -> tuple[str, ...]:
    """Every name taught to Kiwi in this process, sorted."""
    with _lock:
        return tuple(sorted(_added))


def warm_up() -> None:
    """Load Kiwi and let it build (once after words were added) now rather than at the next question."""
    with _lock:
        _analyser().tokenize("가")


def add_words(words: list[str] | set[str] | tuple[str, ...]) -> int:
    """Teach Kiwi names it should keep whole (Hangul words of 2+ syllables); returns how many were new."""
    new = []
    for w in words:
        for part in N.clean(w).split():
            if len(part) >= 2 and len(_SYLLABLES.findall(part)) == len(part) and part not in _added:
                new.append(part)
    if not new:
        return 0
    with _lock:
        kiwi = _analyser()
        for w in new:
            _added.add(w)
            kiwi.add_user_word(w, "NNP", 0.0)
        analyze.cache_clear()
    return len(new)


def _lemmas(tokens: list) -> tuple[str, ...]:
    """Content lemmas of one piece's Kiwi tokens; a number keeps the counter glued to it (1등, 3일,
    2018년, 4600억원 stay one word)."""
    lemmas: list[str] = []
    glue_end = -1  # where a number ends, if the next token may be its counter
    for t in tokens:
        tag = _TAG_BASE.get(t.tag, t.tag)
        if t.start == glue_end and tag in ("NNB", "NR"):
            lemmas[-1] += t.form
            glue_end = t.start + t.len
        elif tag in CONTENT_TAGS:
            lemmas.append(t.form.lower())
            glue_end = t.start + t.len if tag == "SN" else -1
        else:
            glue_end = -1
    return tuple(lemmas)


@functools.lru_cache(maxsize=65536)
def analyze(text: str, kiwi: bool = True) -> tuple[Piece, ...]:
    """The pieces of `text` (cleaned by :func:`bot.normalize.clean`) with both readings; with
    ``kiwi=False`` (config ``matching.analyser: rules``) Kiwi is never loaded and both are the rules'."""
    cleaned = N.clean(text)
    if not cleaned:
        return ()
    parts = cleaned.split(" ")
    tokens_of: list[list] = [[] for _ in parts]
    if kiwi and _SYLLABLES.search(cleaned):
        with _lock:
            tokens = _analyser().tokenize(cleaned)
        starts = list(itertools.accumulate((len(p) + 1 for p in parts[:-1]), initial=0))
        for t in tokens:  # one pass: each token to the piece it starts in
            tokens_of[bisect.bisect_right(starts, t.start) - 1].append(t)
    out = []
    for part, tokens in zip(parts, tokens_of, strict=True):
        rules = tuple(N.normalize(part).split())
        if not kiwi or not _SYLLABLES.search(part):
            out.append(Piece(part, rules, rules))
        else:
            out.append(Piece(part, _lemmas(tokens), rules))
    return tuple(out)


def words(text: str, kiwi: bool = True) -> list[str]:
    """Kiwi's reading of the whole text (or the rules' with ``kiwi=False``), piece after piece."""
    return [w for p in analyze(text, kiwi) for w in p.kiwi]
