"""Read a YAML file into plain Python values plus the line number of every value.

Organisers need errors that name a file and a line, so the file is read as YAML *events* (libyaml's
parser when installed) and built here, without recursion, into dicts, lists and scalars while the line
of every value is noted. Dates and times stay text (`2018-09-18`, `16:00` — YAML 1.1 would turn the
latter into the number 960); the knowledge model parses them itself.

Knowledge files come from people, and a mistaken or hostile file must cost a clear `file:line` message,
never a frozen bot, a MemoryError or a traceback. So a file is refused, with the reason, when it is
larger than MAX_FILE_BYTES (checked before reading), nests deeper than MAX_DEPTH, uses more than
MAX_ALIASES aliases (`*name`) or expands, aliases included, to more than MAX_VALUES values (a
"billion laughs" file of 500 bytes would expand to 10⁹), carries a tag (`!!python/name:…`, `!custom`)
or a merge key (`<<:`). Only plain texts, numbers, yes/no, lists and `field: value` groups are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

Path_ = tuple  # a path into a document: ("sessions", 3, "title", "en")

MAX_FILE_BYTES = 5 * 1024 * 1024  # the whole knowledge base is ~250 KB
MAX_DEPTH = 50  # the knowledge model nests 6 levels
MAX_ALIASES = 100  # alias uses (`*name`) per file
MAX_VALUES = 200_000  # values per file, aliases expanded (the knowledge base has ~20,000 in all)

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null")}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it: ~20× faster


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


@dataclass
class Document:
    file: str
    data: Any
    lines: dict[tuple, int]

    def data_at(self, path: tuple) -> Any:
        cur = self.data
        for key in path:
            cur = cur[key]
        return cur

    def line(self, path: tuple) -> int:
        """Line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _Refused(Exception):
    """The file cannot be read safely: one Problem, and the file is skipped."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


@dataclass
class _Anchored:
    """A finished value with an anchor (`&name`), for the aliases (`*name`) that repeat it."""

    value: Any
    lines: list[tuple[tuple, int]]  # (path below the anchored value, line)
    size: int  # values, aliases expanded
    height: int  # levels of nesting below it


class _Open:
    """A list or mapping being read."""

    __slots__ = ("value", "path", "line", "anchor", "log_start", "size", "height", "key", "key_line")

    def __init__(self, value: Any, path: tuple, line: int, anchor: str | None, log_start: int) -> None:
        self.value, self.path, self.line, self.anchor, self.log_start = value, path, line, anchor, log_start
        self.size, self.height = 1, 0
        self.key: Any = _NO_KEY
        self.key_line = 0


_NO_KEY = object()


class _Builder:
    """Turns the parser's events into values and lines, iteratively (a 20,000-level file cannot exhaust
    the stack), counting depth, aliases and values as it goes."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file, self.problems = file, problems
        self.loader = yaml.SafeLoader("")  # its resolver and scalar constructors; one per file, nothing kept
        self.stack: list[_Open] = []
        self.log: list[tuple[tuple, int]] = []  # (path, line) in reading order; later entries win
        self.anchors: dict[str, _Anchored] = {}
        self.values = 0
        self.aliases = 0
        self.documents = 0
        self.root: Any = None

    # -- where the next value goes

    def _path(self) -> tuple:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return top.path + (len(top.value),)
        return top.path + (top.key,)

    def _in_key_position(self) -> bool:
        return bool(self.stack) and isinstance(self.stack[-1].value, dict) and self.stack[-1].key is _NO_KEY

    def _count(self, n: int, line: int, alias: bool = False) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            if alias:
                raise _Refused(line, "(alias)", f"this alias makes the file hold more than {MAX_VALUES:,} values once "
                               "aliases are expanded (aliases repeating aliases); write the values out instead")
            raise _Refused(line, "(file)", f"the file holds more than {MAX_VALUES:,} values; split it into smaller files")

    def _place(self, value: Any, line: int, size: int, height: int) -> None:
        """Put a finished value where it belongs: the document root, a list item or a mapping's value."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        top.height = max(top.height, height + 1)
        if isinstance(top.value, list):
            top.value.append(value)
            return
        key = top.key
        if key in top.value:
            where = ".".join(str(p) for p in top.path + (key,))
            self.problems.append(Problem(self.file, top.key_line, where, f"'{key}' is written twice here; keep one"))
        top.value[key] = value
        self.log.append((top.path + (key,), top.key_line))  # a mapping's value is placed on its key's line
        top.key = _NO_KEY

    # -- events

    def scalar(self, event: yaml.ScalarEvent) -> None:
        line = _line(event)
        tag = event.tag
        if tag not in (None, "!") and tag not in _SCALAR_TAGS:
            raise _Refused(line, "(tag)", _tag_message(tag))
        if tag in (None, "!"):
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        key_position = self._in_key_position()
        if tag == _YAML + "merge" and key_position:
            raise _Refused(line, "(merge key)", "merge keys (<<) are not supported: write the fields out")
        value = self._construct(tag, event, line)
        self._count(1, line)
        if event.anchor:
            self.anchors[event.anchor] = _Anchored(value, [((), line)], 1, 0)
        if key_position:
            top = self.stack[-1]
            top.key, top.key_line = value, line
            return
        self.log.append((self._path(), line))
        self._place(value, line, 1, 0)

    def _construct(self, tag: str, event: yaml.ScalarEvent, line: int) -> Any:
        name = tag.rsplit(":", 1)[-1]
        if name == "timestamp" or (name in ("int", "float") and ":" in event.value) or tag not in _SCALAR_TAGS:
            return event.value  # dates, times and YAML 1.1 oddities (`=`, `<<` as a value) stay text
        # libyaml's marks (yaml._yaml.Mark) serve as well as PyYAML's; the stubs only name the latter
        start, end = cast("yaml.Mark | None", event.start_mark), cast("yaml.Mark | None", event.end_mark)
        node = yaml.ScalarNode(tag, event.value, start, end, event.style)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except (yaml.YAMLError, ValueError, TypeError):
            raise _Refused(line, "(value)", f"{event.value!r} cannot be read as {name}; remove the tag") from None

    def start(self, event: yaml.CollectionStartEvent, kind: type) -> None:
        line = _line(event)
        wanted = _YAML + ("seq" if kind is list else "map")
        if event.tag not in (None, "!", wanted):
            raise _Refused(line, "(tag)", _tag_message(event.tag))
        if self._in_key_position():
            raise _Refused(line, "(syntax)", "a key is a list or a group here; a key must be a plain name followed "
                           "by ':'")
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(line, "(nesting)", _too_deep())
        self._count(1, line)
        path = self._path()
        self.log.append((path, line))
        self.stack.append(_Open(kind(), path, line, event.anchor, len(self.log) - 1))

    def end(self) -> None:
        done = self.stack.pop()
        if done.anchor:
            n = len(done.path)
            self.anchors[done.anchor] = _Anchored(done.value, [(p[n:], ln) for p, ln in self.log[done.log_start:]],
                                                  done.size, done.height)
        self._place(done.value, done.line, done.size, done.height)

    def alias(self, event: yaml.AliasEvent) -> None:
        line = _line(event)
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _Refused(line, "(alias)", f"the file uses more than {MAX_ALIASES} aliases (*name); write the values "
                           "out instead")
        if any(o.anchor == event.anchor for o in self.stack):
            raise _Refused(line, "(alias)", f"the alias *{event.anchor} is inside the item it repeats (&{event.anchor})")
        target = self.anchors.get(event.anchor) if event.anchor else None
        if target is None:
            raise _Refused(line, "(alias)", f"the alias *{event.anchor} has no anchor &{event.anchor} above it")
        if self._in_key_position():
            raise _Refused(line, "(alias)", "an alias cannot be used as a key; write the key out")
        if len(self.stack) + target.height > MAX_DEPTH:
            raise _Refused(line, "(nesting)", f"with this alias expanded the file nests more than {MAX_DEPTH} levels "
                           "deep")
        self._count(target.size, line, alias=True)
        path = self._path()
        self.log.extend((path + sub, ln) for sub, ln in target.lines)
        self._place(target.value, line, target.size, target.height)

    def document(self, event: yaml.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            raise _Refused(_line(event), "(syntax)", "the file holds a second YAML document (a '---' "
                           "line); keep one document per file")

    def run(self, events) -> Document:
        for event in events:
            if isinstance(event, yaml.ScalarEvent):
                self.scalar(event)
            elif isinstance(event, yaml.MappingStartEvent):
                self.start(event, dict)
            elif isinstance(event, yaml.SequenceStartEvent):
                self.start(event, list)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                self.end()
            elif isinstance(event, yaml.AliasEvent):
                self.alias(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.document(event)
        return Document(self.file, self.root, dict(self.log))


def _line(event: yaml.Event) -> int:
    """The 1-based line an event starts on (the parser marks every event; 0, "no line", otherwise)."""
    return event.start_mark.line + 1 if event.start_mark is not None else 0


def _tag_message(tag: str) -> str:
    shown = tag.replace(_YAML, "!!")
    return (f"tags such as '{shown}' are not allowed: knowledge files hold plain texts, numbers, lists and "
            "'field: value' groups; remove the tag")


def _read(path: Path, problems: list[Problem], name: str) -> str | None:
    """The file's text, or None (and a Problem) if it is too large, unreadable or not UTF-8."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(Problem(name, 1, "(file)", _too_large(size)))
            return None
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)  # it may have grown since stat()
    except OSError as exc:
        problems.append(Problem(name, 0, "(file)", f"cannot read the file: {exc.strerror}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.append(Problem(name, 1, "(file)", _too_large(len(raw))))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(name, line, "(file)", "the file is not saved as UTF-8 text; save it again as UTF-8"))
        return None


def _too_deep() -> str:
    return f"the file nests lists and groups more than {MAX_DEPTH} levels deep; the knowledge files need at most 6"


def _too_large(size: int) -> str:
    return (f"the file is {size / 2**20:.1f} MB; a knowledge file may be at most {MAX_FILE_BYTES // 2**20} MB "
            "(split it, or check that it is the right file)")


def load_yaml(path: Path, problems: list[Problem], display_name: str | None = None) -> Document | None:
    """Parse one file; on failure add a Problem and return None."""
    name = display_name or str(path)
    text = _read(path, problems, name)
    if text is None:
        return None
    if "\t" in text:
        for number, line_text in enumerate(text.splitlines(), 1):
            if "\t" in line_text[: len(line_text) - len(line_text.lstrip())]:
                problems.append(Problem(name, number, "(indentation)",
                                        "a tab character is used for indentation; YAML needs spaces"))
                return None
    builder = _Builder(name, problems)
    try:
        return builder.run(yaml.parse(text, Loader=_LOADER))
    except _Refused as exc:
        problems.append(Problem(name, exc.line, exc.field, exc.message))
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = (exc.problem or "").strip()
        if "nesting depth" in what:  # libyaml's own limit (1,000 levels) can come before ours
            problems.append(Problem(name, line, "(nesting)", _too_deep()))
            return None
        context = ""
        if exc.context:
            started = f" that starts on line {exc.context_mark.line + 1}" if exc.context_mark else ""
            context = f" ({exc.context.strip()}{started})"
        problems.append(Problem(name, line, "(syntax)",
                                f"the file is not valid YAML: {what}{context}. Check indentation, colons and quotes near this line"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(name, 0, "(syntax)", f"the file is not valid YAML: {exc}"))
        return None
