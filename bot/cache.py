"""Fast start: the knowledge base parsed once per process, and the built search index kept on disk.

Building the index analyses every example question and answer (~0.5 s with Kiwi, more for a larger
knowledge base); reading it back takes milliseconds. The copy on disk is used only when everything it
was built from is the same, so it is keyed by a SHA-256 of:

- the bytes (and names) of the knowledge files (the `*.yaml` that `load_knowledge` reads),
- the matching settings (analyser, thresholds),
- the versions of Python, numpy, rapidfuzz, kiwipiepy and its model, and the source of the bot's own
  modules (the project's version in effect, and stricter: an edit of the matcher invalidates the cache
  without a version bump),

The index remembers the names Kiwi knew when it was built; they are taught to Kiwi again when the copy
is read (:meth:`bot.search.Index.attach`), so questions are read as the index's strings were.

A file is ``<cache_dir>/index-<key>.pickle``: a magic line, the SHA-256 of the payload, then the payload
(a pickle of the key and the index). A file whose checksum or key does not match — corrupt, truncated,
from another version — is ignored, deleted and rebuilt, never unpickled. Writes go to a temporary file
renamed into place (atomic; a reload in a worker thread and a second process never see half a file).
If the folder cannot be written, the bot works as before, without a cache. The newest
:data:`KEEP` files are kept.

The pickle is read only from the bot's own data folder (``<data_dir>/cache``), which only the bot writes:
whoever can write there can change the bot's database too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.knowledge import Knowledge, load_knowledge

if TYPE_CHECKING:
    from bot.config import Matching
    from bot.search import Index

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the file layout changes
MAGIC = b"bot-index-cache\n"  # a file with other first bytes (an older layout too) is rebuilt
KEEP = 4  # index files kept in the folder (the newest)
_PACKAGE_DIR = Path(__file__).resolve().parent


# ------------------------------------------------------------------------ knowledge, once per process

def knowledge_files(directory: Path) -> list[Path]:
    """The files `load_knowledge` reads, in its order."""
    try:
        return sorted(p for p in Path(directory).iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return []


def files_digest(directory: Path) -> str | None:
    """SHA-256 of the names and bytes of the knowledge files; None if one cannot be read."""
    h = hashlib.sha256()
    try:
        for path in knowledge_files(directory):
            data = path.read_bytes()
            h.update(f"{path.name}\0{len(data)}\0".encode())
            h.update(data)
    except OSError:
        return None
    return h.hexdigest()


_last_lock = threading.Lock()
_last: tuple[str, str, Knowledge] | None = None  # (folder, digest, knowledge) of the last successful load


def load_knowledge_once(directory: Path) -> tuple[Knowledge, str | None]:
    """`load_knowledge(directory)` and the digest of the bytes it read (None if the files changed while
    they were read). The same bytes in the same folder are parsed once per process: `run` checks the
    knowledge before Telegram starts and then builds the bot on it; an unchanged `/reload` reuses it.
    Raises KnowledgeError like `load_knowledge`."""
    global _last
    folder = str(Path(directory).resolve())
    before = files_digest(directory)
    with _last_lock:
        last = _last
    if before is not None and last is not None and last[:2] == (folder, before):
        return last[2], before
    kb = load_knowledge(directory)
    after = files_digest(directory)
    if before is None or after != before:
        return kb, None  # edited while it was read: neither remembered nor cached
    with _last_lock:
        _last = (folder, before, kb)
    return kb, before


# ------------------------------------------------------------------------ the index on disk

def _versions(analyser: str) -> list[str]:
    import numpy
    import rapidfuzz

    out = [sys.version, f"numpy {numpy.__version__}", f"rapidfuzz {rapidfuzz.__version__}"]
    if analyser == "kiwi":
        import kiwipiepy
        import kiwipiepy_model

        out += [f"kiwipiepy {kiwipiepy.__version__}", f"kiwipiepy_model {kiwipiepy_model.__version__}"]
    return out


def _source_digest() -> str:
    """The source of every module of the bot package: any edit of the code, released or not (cheaper
    than reading the project's version from its metadata, and stricter)."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def cache_key(knowledge_digest: str, matching: Matching) -> str:
    """The key of an index built from these knowledge bytes with these settings, by this code."""
    parts = [f"format {FORMAT}", knowledge_digest, f"analyser {matching.analyser}",
             f"confident {float(matching.confident)!r} ambiguous {float(matching.ambiguous)!r} "
             f"margin {float(matching.margin)!r}", *_versions(matching.analyser), _source_digest()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class IndexCache:
    """Index files in one folder (``<data_dir>/cache``); every failure means "no cache", never an error."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"index-{key[:40]}.pickle"

    def get(self, key: str) -> Index | None:
        """The index stored under `key`, or None (missing, unreadable, corrupt: then it is deleted)."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        value = _unpack(blob, key)
        if value is None:
            log.warning("index cache %s is corrupt or stale: rebuilding it", path)
            self._remove(path)
        return value

    def put(self, key: str, index: Index) -> bool:
        """Store `index` under `key` (atomically); False if the folder cannot be written."""
        payload = pickle.dumps({"key": key, "index": index}, protocol=pickle.HIGHEST_PROTOCOL)
        blob = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".tmp", dir=self.directory)
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self.path(key))
        except OSError as exc:
            log.warning("index cache not written to %s (%s): starting without a cache", self.directory, exc)
            if tmp is not None:
                self._remove(Path(tmp))
            return False
        self._prune()
        return True

    def _prune(self) -> None:
        try:
            files = sorted(self.directory.glob("index-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return
        for old in files[KEEP:]:
            self._remove(old)

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass


def _unpack(blob: bytes, key: str) -> Any:
    """The index in a cache file's bytes, if the checksum and the key match; otherwise None."""
    if not blob.startswith(MAGIC):
        return None
    header_end = blob.find(b"\n", len(MAGIC))
    if header_end < 0:
        return None
    digest, payload = blob[len(MAGIC):header_end], blob[header_end + 1:]
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        return None
    try:
        value = pickle.loads(payload)
    except Exception:  # a checksum-valid file from an incompatible version of a class
        return None
    if not isinstance(value, dict) or value.get("key") != key:
        return None
    return value.get("index")
