"""Staff answers become FAQ entries ("Save as FAQ" under a staff answer, issue 15): `save_answer` appends one
entry to `<knowledge>/faq_from_staff.yaml` — the only file the bot ever writes in the knowledge folder;
organisers' own files are never rewritten.

The entry: the attendee's wording as its example question, the staff answer in the language staff wrote it
in (`lang`). Every text of a knowledge entry must exist in each of the event's languages (bot/knowledge.py),
and an attendee who reads the other language must never get an empty or broken answer. So the other
language gets the same answer followed by a note in that language ("The organisers answered in Korean; not
translated yet"), and a `# TO TRANSLATE (en)` comment above the entry tells organisers what to replace.
Matching only questions in `lang` was the alternative; it would need a new field in the knowledge model
and would leave the other language's attendees with "I don't know" although staff know the answer.

Safety: the new file content is loaded together with the rest of the folder (a temporary copy, with the
real loader) before anything is written, and it must read back exactly as written; then the file is
replaced atomically (temp file + os.replace), so the folder watcher never sees half a file. Appending
keeps whatever organisers edited in the file (translations, removed entries) byte for byte.

Loading the folder takes a moment: call `save_answer` off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge import KnowledgeError, load_knowledge
from bot.texts import LANGS, text

FILE_NAME = "faq_from_staff.yaml"
ID_PREFIX = "staff"
MAX_PROBLEMS = 5  # problems quoted in a StaffFaqError

HEADER = """\
# =====================================================================================================
# faq_from_staff.yaml — answers staff gave attendees in the helpdesk chat, saved with "Save as FAQ"
# =====================================================================================================
# The bot appends an entry here each time staff press "Save as FAQ" under their answer; it never
# changes the organisers' other files. The fields are those of faq.yaml (see its header).
#
# An entry marked "TO TRANSLATE (xx)" was answered in one language only: its xx: texts repeat that
# answer with a note for attendees. Replace them with a translation (and add example questions in
# that language), then delete the comment. You may also edit or delete any entry: the bot keeps
# what you wrote and only adds new entries at the end of the file.
# =====================================================================================================

"""

_lock = threading.Lock()  # one save at a time (the check and the write are one step)


class StaffFaqError(Exception):
    """The answer cannot be saved; the message says why (shown to staff)."""


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar on one line: any character (quotes, colons, '#', newlines, emoji, HTML,
    control characters) reads back exactly."""
    return yaml.safe_dump(value, allow_unicode=True, default_style='"', width=float("inf")).rstrip("\n") \
        .removesuffix("\n...")


def _entry_yaml(entry: dict[str, Any], comments: Iterable[str], indent: str) -> str:
    lines = [f"{indent}# {c}" for c in comments]
    lines.append(f"{indent}- id: {entry['id']}")
    pad = indent + "  "
    if entry.get("topic"):
        lines.append(f"{pad}topic: {entry['topic']}")
    for field in ("questions", "answer"):
        lines.append(f"{pad}{field}:")
        for code, value in entry[field].items():
            if isinstance(value, list):
                lines.append(f"{pad}  {code}:")
                lines += [f"{pad}    - {_quoted(v)}" for v in value]
            else:
                lines.append(f"{pad}  {code}: {_quoted(value)}")
    return "\n".join(lines) + "\n"


def _next_id(knowledge_dir: Path, now: datetime) -> str:
    """staff-YYYYMMDD-HHMM-N, N one more than any such id with that minute in the folder's YAML files."""
    stem = f"{ID_PREFIX}-{now:%Y%m%d-%H%M}-"
    pattern = re.compile(re.escape(stem) + r"(\d+)\b")
    used = [0]
    for path in knowledge_dir.iterdir():
        if path.suffix in (".yaml", ".yml") and path.is_file():
            used += [int(n) for n in pattern.findall(path.read_text(encoding="utf-8", errors="replace"))]
    return f"{stem}{max(used) + 1}"


def _compose(old: str | None, entry: dict[str, Any], comments: list[str]) -> str:
    """The file's new content: `old` with the entry appended (a new file: the header first)."""
    if old is None:
        return HEADER + "faq:\n" + _entry_yaml(entry, comments, "  ")
    try:
        data = yaml.safe_load(old)
    except yaml.YAMLError as exc:
        raise StaffFaqError(f"{FILE_NAME} is not valid YAML ({exc}); fix it, then save again") from exc
    base = old if not old or old.endswith("\n") else old + "\n"
    if data is None:
        return base + "faq:\n" + _entry_yaml(entry, comments, "  ")
    if isinstance(data, dict) and "faq" in data and list(data)[-1] == "faq" and isinstance(data["faq"], list | None):
        expected = (data["faq"] or []) + [entry]
        for indent in ("  ", ""):  # the bot's own layout, or a file re-indented by an editor
            candidate = base + _entry_yaml(entry, comments, indent)
            try:
                if yaml.safe_load(candidate)["faq"] == expected:
                    return candidate
            except (yaml.YAMLError, TypeError, KeyError):
                continue
    raise StaffFaqError(f"{FILE_NAME} was edited into a layout new entries cannot be appended to: its last "
                        "top-level key must be 'faq:' with a list of '- id: ...' entries")


def _validate(knowledge_dir: Path, content: str, entry: dict[str, Any]) -> None:
    """Load the folder with `content` as the staff file (in a temporary copy); raise StaffFaqError with the
    problems if it would not load, or if the entry would not read back as written."""
    with tempfile.TemporaryDirectory(prefix="staff-faq-") as tmp:
        copy = Path(tmp)
        for path in knowledge_dir.iterdir():
            if path.suffix in (".yaml", ".yml") and path.is_file() and path.name != FILE_NAME:
                shutil.copy2(path, copy / path.name)
        (copy / FILE_NAME).write_text(content, encoding="utf-8")
        try:
            kb = load_knowledge(copy)
        except KnowledgeError as exc:
            shown = [str(p).replace(str(copy), str(knowledge_dir)) for p in exc.problems[:MAX_PROBLEMS]]
            more = f"\n… and {len(exc.problems) - MAX_PROBLEMS} more" if len(exc.problems) > MAX_PROBLEMS else ""
            raise StaffFaqError("the knowledge folder would not load with this entry:\n" + "\n".join(shown) + more) \
                from exc
    saved = kb.entry(entry["id"])
    faq = saved.ref if saved is not None and saved.kind == "faq" else None
    if faq is None or any(faq.answer.get(code) != value for code, value in entry["answer"].items()) \
            or any(getattr(faq.questions, code) != tuple(values) for code, values in entry["questions"].items()):
        raise StaffFaqError("the entry would not read back as written")


def _write_atomically(path: Path, content: str) -> None:
    """Write `content` to a temporary file beside `path` (not a .yaml name: the watcher ignores it), then
    os.replace: readers see the old file or the new one, never half of it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_answer(knowledge_dir: Path, question: str, answer: str, lang: str, languages: tuple[str, ...],
                now: datetime, topic: str | None = None) -> str:
    """Append a FAQ entry made from a staff answer to knowledge_dir/faq_from_staff.yaml; return its id.

    `question`: the attendee's wording; `answer`: the staff answer, written in `lang`; `languages`: the
    event's declared languages (every text is written in each; the others get the answer with a "not yet
    translated" note); `now`: the event-local time (the id and the comment); `topic`: one of the knowledge
    topics, optional. Raises StaffFaqError (nothing written) when the folder would not load with it."""
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise StaffFaqError("the question and the answer must not be empty")
    if lang not in LANGS:
        raise StaffFaqError(f"unknown answer language {lang!r} (one of {', '.join(LANGS)})")
    languages = tuple(languages) or (lang,)
    knowledge_dir = Path(knowledge_dir)
    if not knowledge_dir.is_dir():
        raise StaffFaqError(f"the knowledge folder {knowledge_dir} does not exist")
    path = knowledge_dir / FILE_NAME
    with _lock:
        old = path.read_text(encoding="utf-8") if path.exists() else None
        entry_id = _next_id(knowledge_dir, now)
        others = [code for code in languages if code != lang]
        answers = {code: answer if code == lang else
                   f"{answer}\n\n{text(f'faq.untranslated_{lang}', code)}"
                   for code in languages}
        entry: dict[str, Any] = {"id": entry_id}
        if topic:
            entry["topic"] = topic
        entry["questions"] = {code: [question] for code in languages}
        entry["answer"] = answers
        comments = [f"saved by staff on {now:%Y-%m-%d %H:%M} from an attendee's question; answered in '{lang}'"]
        if others:
            comments.append(f"TO TRANSLATE ({', '.join(others)}): the {', '.join(o + ':' for o in others)} texts "
                            f"repeat the '{lang}' answer with a note")
        content = _compose(old, entry, comments)
        _validate(knowledge_dir, content, entry)
        _write_atomically(path, content)
    return entry_id
