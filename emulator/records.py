"""What crosses the emulator's boundary: Bot API errors, uploaded files and recorded calls."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """An error answer of the Bot API: HTTP ``status`` with ``description`` (and ``parameters``)."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, "Bad Request: " + description)


@dataclass
class UploadedFile:
    """A file part of a multipart request, as recorded in :attr:`Call.params`."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def to_json(self) -> dict:
        return {
            "_file": True,
            "field": self.field,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
            "data_base64": base64.b64encode(self.data).decode("ascii"),
        }


@dataclass
class Call:
    """One recorded Bot API request.

    ``method`` is the canonical spec name (``sendMessage`` even if requested as ``sendmessage``);
    ``params`` are the decoded parameters (JSON-serialized fields parsed to Python objects, numbers
    and booleans converted, uploaded files as :class:`UploadedFile`); ``response`` is the JSON body
    that was answered with HTTP ``status``.
    """

    method: str
    params: dict
    time: float
    status: int
    response: dict

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")

    def to_json(self, index: int | None = None) -> dict:
        out = {
            "method": self.method,
            "params": _jsonable(self.params),
            "time": self.time,
            "status": self.status,
            "response": self.response,
        }
        if index is not None:
            out["index"] = index
        return out

    def __repr__(self) -> str:  # compact, useful in assertion dumps
        shown = {k: (f"<file {v.filename!r} {v.size}B>" if isinstance(v, UploadedFile) else v)
                 for k, v in self.params.items()}
        text = json.dumps(shown, ensure_ascii=False, default=str)
        if len(text) > 300:
            text = text[:297] + "..."
        tail = "" if self.ok else f" -> {self.status} {self.description!r}"
        return f"Call({self.method} {text}{tail})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return value.to_json()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
