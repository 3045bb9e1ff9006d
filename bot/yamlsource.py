"""Read a YAML file into plain Python values plus the line number of every value.

Organisers need errors that name a file and a line, so files are parsed with `yaml.compose` (which keeps
positions) instead of `yaml.safe_load`. Dates and times stay text (`2018-09-18`, `16:00` — YAML 1.1 would
turn the latter into the number 960); the knowledge model parses them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple  # a path into a document: ("sessions", 3, "title", "en")


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


_constructor = yaml.SafeLoader("")


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "timestamp" or (tag in ("int", "float") and ":" in node.value):
        return node.value
    return _constructor.construct_object(node, deep=True)


def _convert(node: yaml.Node, path: tuple, lines: dict, problems: list[Problem], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in out:
                where = ".".join(str(p) for p in path + (key,))
                problems.append(Problem(file, key_node.start_mark.line + 1, where,
                                        f"'{key}' is written twice here; keep one"))
            out[key] = _convert(value_node, path + (key,), lines, problems, file)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), lines, problems, file) for i, item in enumerate(node.value)]
    return _scalar(node)


def load_yaml(path: Path, problems: list[Problem], display_name: str | None = None) -> Document | None:
    """Parse one file; on failure add a Problem and return None."""
    name = display_name or str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        problems.append(Problem(name, line, "(file)", "the file is not saved as UTF-8 text; save it again as UTF-8"))
        return None
    except OSError as exc:
        problems.append(Problem(name, 0, "(file)", f"cannot read the file: {exc.strerror}"))
        return None
    if "\t" in text:
        for number, line_text in enumerate(text.splitlines(), 1):
            if "\t" in line_text[: len(line_text) - len(line_text.lstrip())]:
                problems.append(Problem(name, number, "(indentation)",
                                        "a tab character is used for indentation; YAML needs spaces"))
                return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = (exc.problem or "").strip()
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
    lines: dict[tuple, int] = {}
    data = None if node is None else _convert(node, (), lines, problems, name)
    return Document(name, data, lines)
