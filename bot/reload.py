"""Safe knowledge reloads: when to reload, how, and what staff are told (plain Python, no Telegram).

Organisers edit `knowledge/*.yaml` while the bot runs. A reload must never stall answers, never apply
half a save, and never drop a large part of the programme by accident:

- the watcher reloads only once the folder has been **stable** for one full poll after a change
  (:class:`Debounce`): a file saved in two steps is read once, complete;
- the load (parse, validate, build the index: `Brain.load`) runs in a **worker thread** with a time
  limit; whatever goes wrong — invalid files, a timeout, any exception — the last good knowledge stays
  and staff are told why (:meth:`Reloader.reload` never raises);
- only **one load at a time**; a load that timed out but still runs blocks the next one until it ends;
- a version that would remove more than a fifth of the entries, empty a file that had content, or
  remove a file is **held** (:func:`assess`) until staff apply or keep it; a newer reload supersedes it;
- a save that changes nothing (no entry, the event and the synonyms the same) is **silent**.

The Telegram side (handlers/reload.py) sends the texts made here, draws the buttons and swaps the brain.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bot.answer import Brain
from bot.knowledge import Knowledge, KnowledgeDiff, KnowledgeError, diff_knowledge
from bot.texts import counted, text

log = logging.getLogger(__name__)

LOAD_TIMEOUT = 60.0  # seconds; the real knowledge base loads in ~1 s (with Kiwi)
HOLD_SHARE = 0.2  # hold a version that removes more than this share of the entries
SHOWN = 8  # ids listed in a staff message


def fingerprint(directory: Path) -> tuple:
    """Names, sizes and modification times of the folder's YAML files: changes when any file is saved,
    added or removed."""
    try:
        out = []
        for p in directory.iterdir():
            if p.suffix in (".yaml", ".yml"):
                st = p.stat()
                out.append((p.name, st.st_size, st.st_mtime_ns))
        return tuple(sorted(out))
    except OSError:
        return ()


class Debounce:
    """Reload only after a change has stayed the same for one full poll interval.

    `due(current)` is called once per poll with the folder's fingerprint. It is true when the folder
    differs from what was last loaded *and* looked exactly the same at the previous poll: an editor
    that writes a file in two steps (truncate, then write; or two files one after the other) is seen
    in between at most once and never loaded in that state."""

    def __init__(self, loaded: tuple) -> None:
        self.loaded = loaded  # the fingerprint of the last attempt (applied, held or refused)
        self.seen = loaded  # the fingerprint at the previous poll

    def due(self, current: tuple) -> bool:
        previous, self.seen = self.seen, current
        return current != self.loaded and current == previous

    def attempted(self, current: tuple) -> None:
        self.loaded = self.seen = current


# ---------------------------------------------------------------- what a new version would remove


@dataclass(frozen=True)
class Loss:
    """What a new version removes, and whether that is enough to hold it for staff."""

    removed: tuple[str, ...]  # entry ids (FAQ, sessions, speakers, …) that would go
    total: int  # entries now
    emptied: tuple[str, ...]  # files that define something now and nothing in the new version
    deleted: tuple[str, ...]  # files that define something now and are gone

    @property
    def hold(self) -> bool:
        return bool(self.emptied or self.deleted) or len(self.removed) > HOLD_SHARE * self.total


def assess(old: Knowledge, new: Knowledge, diff: KnowledgeDiff) -> Loss:
    emptied = tuple(sorted(n for n, ids in old.sources.items() if ids and n in new.sources and not new.sources[n]))
    deleted = tuple(sorted(n for n, ids in old.sources.items() if ids and n not in new.sources))
    return Loss(diff.removed, len(old.entries), emptied, deleted)


def unchanged(old: Knowledge, new: Knowledge, diff: KnowledgeDiff) -> bool:
    """Nothing an attendee could notice changed (a comment, spacing, a re-save of the same text)."""
    return not diff and old.synonyms == new.synonyms


# ---------------------------------------------------------------- texts for staff


def _ids(ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ids[:SHOWN]) + (f" … (+{len(ids) - SHOWN})" if len(ids) > SHOWN else "")


def applied_text(new: Knowledge, diff: KnowledgeDiff, synonyms_changed: bool = False, lang: str = "en") -> str:
    return (text("reload.applied", lang, summary=new.summary(), changes=diff.summary() if diff else "none")
            + (text("reload.synonyms_changed", lang) if synonyms_changed else ""))


def unchanged_text(kb: Knowledge, lang: str = "en") -> str:
    return text("reload.unchanged", lang, summary=kb.summary())


def problems_text(exc: KnowledgeError, lang: str = "en") -> str:
    more = len(exc.problems) - 30
    return (counted("reload.problems", lang, len(exc.problems), problems="\n".join(str(p) for p in exc.problems[:30]))
            + (text("reload.more_problems", lang, n=more) if more > 0 else ""))


def error_text(exc: BaseException, lang: str = "en") -> str:
    return text("reload.error", lang, error=f"{type(exc).__name__}: {str(exc)[:500]}")


def timeout_text(seconds: float, lang: str = "en") -> str:
    return text("reload.timeout", lang, seconds=seconds)


def busy_text(seconds: float, lang: str = "en") -> str:
    return text("reload.busy", lang, seconds=seconds)


def hold_text(old: Knowledge, loss: Loss, lang: str = "en") -> str:
    lines = [text("reload.held", lang)]
    if loss.removed:
        lines.append(text("reload.held_removed", lang, n=len(loss.removed), total=loss.total))
        for ident in loss.removed[:SHOWN]:
            entry = old.entry(ident)
            lines.append(f"• {ident}" + (f" — {entry.title.en}" if entry else ""))
        if len(loss.removed) > SHOWN:
            lines.append(text("reload.held_more", lang, n=len(loss.removed) - SHOWN))
    for name in loss.emptied:
        lines.append(counted("reload.held_emptied", lang, len(old.sources[name]), name=name))
    for name in loss.deleted:
        lines.append(counted("reload.held_deleted", lang, len(old.sources[name]), name=name))
    lines.append(text("reload.held_wait", lang))
    return "\n".join(lines)


def kept_text(lang: str = "en") -> str:
    return text("reload.kept", lang)


def superseded_text(lang: str = "en") -> str:
    return text("reload.superseded", lang)


# ---------------------------------------------------------------- the reload itself


@dataclass
class Outcome:
    """The result of one reload attempt. `kind`:

    - "applied": `new` should replace `old` now (`text` reports it; `diff` says what changed);
    - "unchanged": nothing to do; `text` only for the staff member who asked;
    - "held": `new` waits for staff (`hold_id`); `text` says what would go;
    - "failed": the old knowledge stays; `text` says why;
    - "busy": a previous load still runs; the old knowledge stays."""

    kind: str
    text: str
    old: Brain | None = None
    new: Brain | None = None
    diff: KnowledgeDiff | None = None
    hold_id: int | None = None
    superseded: Held | None = None  # the version held before this attempt, now dropped
    say: Callable[[str], str] | None = None  # `text` in a given language (each staff member reads their own)

    def text_in(self, lang: str) -> str:
        return self.say(lang) if self.say is not None else self.text

    @property
    def quiet(self) -> bool:
        """True when only the staff member who asked (if any) needs to hear about it."""
        return self.kind == "unchanged"


def _outcome(kind: str, say: Callable[[str], str], old: Brain | None = None, new: Brain | None = None,
             diff: KnowledgeDiff | None = None, hold_id: int | None = None) -> Outcome:
    """An Outcome whose text can be said in each staff member's language (`text`: the English one)."""
    return Outcome(kind, say("en"), old, new, diff, hold_id, say=say)


@dataclass
class Held:
    hold_id: int
    old: Brain
    new: Brain
    diff: KnowledgeDiff
    messages: list = field(default_factory=list)  # where staff were asked (for the adapter)


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None and not isinstance(future.exception(), KnowledgeError):
        log.debug("an abandoned knowledge load ended with %r", future.exception())


class Reloader:
    """Runs reloads one at a time, off the event loop, and keeps the version held for staff.

    `load()` builds a Brain (blocking; it runs in a worker thread); `current()` is the brain in use."""

    def __init__(self, load: Callable[[], Brain], current: Callable[[], Brain], timeout: float = LOAD_TIMEOUT) -> None:
        self.load, self.current, self.timeout = load, current, timeout
        self.held: Held | None = None
        self._lock = asyncio.Lock()
        self._running: asyncio.Future | None = None  # a load that outlived its time limit
        self._started = 0.0
        self._ids = itertools.count(1)

    @property
    def busy(self) -> bool:
        return self._lock.locked() or (self._running is not None and not self._running.done())

    async def reload(self) -> Outcome:
        """Load the folder and decide; never raises. A version held from before is dropped (it is in
        `Outcome.superseded`, so its buttons can be retired)."""
        async with self._lock:
            if self._running is not None and not self._running.done():
                return _outcome("busy", partial(busy_text, time.monotonic() - self._started))
            superseded = self.supersede()
            outcome = await self._attempt()
            outcome.superseded = superseded
            return outcome

    async def _attempt(self) -> Outcome:
        old = self.current()
        self._started = time.monotonic()
        running = self._running = asyncio.get_running_loop().run_in_executor(None, self.load)
        running.add_done_callback(_retrieve)  # a load abandoned by the time limit may fail later, unheard
        try:
            new = await asyncio.wait_for(asyncio.shield(running), self.timeout)
            self._running = None  # (a finished future would keep the brain it made alive)
        except TimeoutError:
            log.error("knowledge load took more than %s s; still answering from the last good version", self.timeout)
            return _outcome("failed", partial(timeout_text, self.timeout))
        except KnowledgeError as exc:
            self._running = None
            log.error("knowledge reload failed, still answering from the last good version:\n%s", exc)
            return _outcome("failed", partial(problems_text, exc))
        except Exception as exc:  # a bug or an odd file must not stop the watcher or leave staff guessing
            self._running = None
            log.exception("knowledge reload failed, still answering from the last good version")
            return _outcome("failed", partial(error_text, exc))
        try:
            return self._decide(old, new)
        except Exception as exc:
            log.exception("comparing the reloaded knowledge failed; keeping the last good version")
            return _outcome("failed", partial(error_text, exc))

    def _decide(self, old: Brain, new: Brain) -> Outcome:
        diff = diff_knowledge(old.kb, new.kb)
        if unchanged(old.kb, new.kb, diff):
            return _outcome("unchanged", partial(unchanged_text, new.kb), old, None, diff)
        loss = assess(old.kb, new.kb, diff)
        if loss.hold:
            held = Held(next(self._ids), old, new, diff)
            self.held = held
            return _outcome("held", partial(hold_text, old.kb, loss), old, new, diff, held.hold_id)
        return _outcome("applied", partial(applied_text, new.kb, diff, old.kb.synonyms != new.kb.synonyms), old, new,
                        diff)

    def take(self, hold_id: int) -> Held | None:
        """Staff answered the hold `hold_id`: hand it over (once), or None if it is gone (answered or
        superseded)."""
        held = self.held
        if held is None or held.hold_id != hold_id:
            return None
        self.held = None
        return held

    def supersede(self) -> Held | None:
        """Drop the held version (a newer reload replaces it); returns it so its messages can be updated."""
        held, self.held = self.held, None
        return held
