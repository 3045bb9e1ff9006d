"""A strict, in-process emulator of the Telegram Bot API server, for tests and offline demos.

The real ``python-telegram-bot`` (PTB) stack talks to it over HTTP exactly as it talks to
``api.telegram.org``::

    emu = BotApiEmulator().start()
    app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
    emu.push_message(42, "/start")
    emu.wait_for("sendMessage")

What it emulates
----------------
* The HTTP surface: ``POST|GET /bot<TOKEN>/<method>`` with ``application/x-www-form-urlencoded``
  (what PTB sends: strings raw, everything else JSON-encoded), ``application/json`` or
  ``multipart/form-data`` bodies (file uploads), query-string parameters, HTTP/1.1 keep-alive.
  Method names are case-insensitive, like the real server. A wrong token answers 401
  ``Unauthorized`` (404 when it is not even shaped like a token); an unknown method 404 ``Not Found``.
* Parameter validation against the official machine-readable spec (Bot API 10.1, shipped next to
  this module as ``botapi-10.1.json``): missing required parameters, unknown parameters, wrong
  types (Integer, Float, Boolean, String, ``Array of X``, JSON-serialized objects such as
  ``InlineKeyboardMarkup`` checked field by field including nested objects and abstract types such
  as ``InlineQueryResult``/``BotCommandScope``, ``InputFile`` via multipart) all answer 400.
* Entity parsing like Telegram's server (tdlib): ``parse_mode`` HTML (same tags, same rules, same
  error wording, "at byte offset N"), MarkdownV2 (reserved characters, unclosed entities) and legacy
  Markdown; the documented limits are checked on the text *after* parsing (message text 1-4096
  characters, caption 0-1024, callback answer text 0-200).
* Documented limits and server errors: ``callback_data`` 1-64 bytes, exactly one action per inline
  button, at most 100 buttons, at most 50 inline results with unique ids of at most 64 bytes,
  ``setMyCommands`` limits (100 commands, ``[a-z0-9_]{1,32}``, descriptions 1-256), "chat not
  found", "message to edit not found", "message is not modified", "query is too old ...",
  "message to be replied not found", "wrong file identifier/HTTP URL specified", webhook/getUpdates
  conflicts (409), and a second concurrent ``getUpdates`` terminating the first one (409).
* State: known chats and users, per-chat message ids, the current text/caption/markup of every
  message, uploaded files, bot commands per (scope, language_code), webhook, pending updates with
  real long polling (``offset`` confirms, ``limit``, ``timeout``, ``allowed_updates``).
* Implemented methods with realistic results: getMe, getUpdates, setWebhook, deleteWebhook,
  getWebhookInfo, sendMessage, editMessageText, editMessageCaption, editMessageReplyMarkup,
  deleteMessage, deleteMessages, answerCallbackQuery, answerInlineQuery, sendLocation, sendVenue,
  sendDocument, sendPhoto, sendMediaGroup, sendContact, sendDice, copyMessage, forwardMessage,
  setMyCommands, getMyCommands, deleteMyCommands, set/getMyName, set/getMyDescription,
  set/getMyShortDescription, set/getChatMenuButton, sendChatAction, getChat, getChatMember,
  getFile (+ download under ``/file/bot<TOKEN>/...``), close, logOut.
  Every *other* method of the spec is validated and recorded; if the spec says it returns a
  ``Message`` a plain message is created in the target chat, otherwise it answers ``True`` (which PTB
  may fail to parse for methods returning objects - extend the emulator when the bot needs one).
* Who may be written to: chats seen in pushed updates or registered with ``add_chat``; a user seen
  only elsewhere (in a group, an inline query) gets 403 "bot can't initiate conversation with a
  user"; anything else 400 "chat not found".
* Test support: every call is recorded (:class:`Call`), updates are pushed from the test thread,
  and faults can be injected (429 with ``retry_after``, 403 blocked, arbitrary errors, delayed
  answers, an optional global send-rate limit). A small HTTP control interface under
  ``/_emulator/`` drives it from another process; ``python -m emulator`` runs it standalone.

What it does not emulate
------------------------
* No webhook delivery (``setWebhook`` is only stored; updates are served by ``getUpdates``).
* No automatic entity detection (urls, mentions, hashtags) in sent text; only ``bot_command`` is
  added to *pushed* user messages starting with ``/``.
* No media processing beyond checking that an uploaded photo looks like an image; file ids are
  synthetic. Groups have no members/permissions model; forum topics, business connections,
  payments, stickers, games, stories, etc. are validated but not simulated.
* Telegram's own flood limits are not applied unless :meth:`BotApiEmulator.enforce_rate` is used.
* Deliberate extra strictness (the real server is more lenient here, the emulator errs on the side
  of catching bugs): unknown parameters and unknown fields inside JSON objects are rejected, and with
  ``strict_html_ampersand=True`` (default) a bare ``&`` in HTML that does not start one of the
  supported entities (``&lt; &gt; &amp; &quot; &#N; &#xN;``) is rejected (Telegram keeps it literally).
  Lengths are counted in Unicode code points.

Standard library only; it must not import ``telegram`` (it is used by ``python -m bot chat`` too).
"""

from __future__ import annotations

import argparse
import base64
import collections
import copy
import email.message
import email.parser
import http.server
import itertools
import json
import math
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "BotApiSpec",
    "Call",
    "UploadedFile",
    "default_spec_path",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "EntityParseError",
]

SPEC_FILENAME = "botapi-10.1.json"
DEFAULT_TOKEN = "123456:TEST"


def _user(user_id: int, first_name: str, *, last_name: str | None = None, username: str | None = None,
          language_code: str | None = None) -> dict[str, Any]:
    """A Telegram User object for a (non-bot) test user; optional fields only when given."""
    user: dict[str, Any] = {"id": int(user_id), "is_bot": False, "first_name": first_name}
    for key, value in (("last_name", last_name), ("username", username), ("language_code", language_code)):
        if value:
            user[key] = value
    return user


# --------------------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Text helpers and entity parsers (HTML, MarkdownV2, Markdown) mirroring Telegram's server
# --------------------------------------------------------------------------------------------------


class EntityParseError(Exception):
    """Raised by the parsers; the message is what follows ``can't parse entities:``."""


def _u16(text: str) -> int:
    """Length in UTF-16 code units (Telegram's unit for entity offsets)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _sort_entities(entities: list[dict]) -> list[dict]:
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


_HTML_TAGS = frozenset({
    "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "tg-emoji", "tg-time", "pre", "code", "blockquote",
})
_HTML_SPACE = frozenset(" \t\r\n\v\f")
_HTML_NAMED = {"lt": 0x3C, "gt": 0x3E, "amp": 0x26, "quot": 0x22}
_HTML_SPECIAL_RE = re.compile(r"[<&]")
_HEX = frozenset("0123456789abcdefABCDEF")
_SURROGATE_MSG = ("Text contains invalid Unicode characters after decoding HTML entities, "
                  "check for unmatched surrogate code units")


def _decode_html_entity(text: str, pos: int) -> tuple[int, int] | None:
    """Decode the entity at ``text[pos] == '&'``; returns (code point, end index) or None."""
    n = len(text)
    end = pos + 1
    code = 0
    if end < n and text[end] == "#":
        end += 1
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in _HEX:
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and "0" <= text[end] <= "9":
                code = code * 10 + ord(text[end]) - 48
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        code = _HTML_NAMED.get(text[pos + 1:end], 0)
        if not code:
            return None
    if end < n and text[end] == ";":
        end += 1
    return code, end


def _normalize_url(url: str) -> str | None:
    """A rough version of Telegram's link check: returns the normalized URL or None if invalid."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(.*)$", url)
    if m:
        scheme, rest = m.group(1).lower(), m.group(2)
        if scheme not in ("http", "https", "tg", "ton", "ftp"):
            return None
        if not rest:
            return None
        if scheme in ("http", "https", "ftp") and "/" not in rest and "?" not in rest and "#" not in rest:
            url += "/"
        return url
    if re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?([/?#].*)?$", url):
        rest = url
        if "/" not in rest and "?" not in rest and "#" not in rest:
            rest += "/"
        return "http://" + rest
    return None


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict]]:
    """Parse Telegram-flavoured HTML; returns (plain text, Bot API entities).

    Follows the server's rules: supported tags only (``b strong i em u ins s strike del
    span.tg-spoiler tg-spoiler a code pre blockquote[expandable] tg-emoji tg-time``), attribute
    syntax, entities ``&lt; &gt; &amp; &quot;`` and numeric ones (``;`` optional). Raises
    :class:`EntityParseError` with Telegram's wording. With ``strict_ampersand`` a ``&`` that does
    not start a supported entity is an error (Telegram would keep it literally).
    """
    out: list[str] = []
    u16 = 0
    entities: list[dict] = []
    stack: list[list] = []  # [tag, attrs, u16 offset, out chunk index, begin index]
    n = len(text)
    i = 0

    def fail(message: str) -> None:
        raise EntityParseError(message)

    def bo(index: int) -> int:
        return _byte_offset(text, index)

    def decode_amp(index: int) -> tuple[str, int] | None:
        decoded = _decode_html_entity(text, index)
        if decoded is None:
            if strict_ampersand:
                fail(f"Unsupported HTML entity at byte offset {bo(index)}: a bare \"&\" must be "
                     f"escaped as \"&amp;\"")
            return None
        code, end = decoded
        if 0xD800 <= code <= 0xDFFF:
            fail(_SURROGATE_MSG)
        return chr(code), end

    while i < n:
        m = _HTML_SPECIAL_RE.search(text, i)
        j = m.start() if m else n
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            u16 += _u16(chunk)
            i = j
            if i >= n:
                break
        if text[i] == "&":
            decoded = decode_amp(i)
            if decoded is None:
                out.append("&")
                u16 += 1
                i += 1
            else:
                ch, i = decoded
                out.append(ch)
                u16 += _u16(ch)
            continue

        begin = i
        i += 1
        if i < n and text[i] == "/":
            # end tag
            if not stack:
                fail(f"Unexpected end tag at byte offset {bo(begin)}")
            i += 1
            name_begin = i
            while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
                i += 1
            end_name = text[name_begin:i].lower()
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n or text[i] != ">":
                fail(f"Unclosed end tag at byte offset {bo(begin)}")
            i += 1
            tag, attrs, offset, chunk_index, _ = stack[-1]
            if end_name and end_name != tag:
                fail(f"Unmatched end tag at byte offset {bo(begin)}, expected \"</{tag}>\", "
                     f"found \"</{end_name}>\"")
            stack.pop()
            length = u16 - offset
            if length <= 0:
                continue
            entity: dict[str, Any] = {"offset": offset, "length": length}
            if tag in ("b", "strong"):
                entity["type"] = "bold"
            elif tag in ("i", "em"):
                entity["type"] = "italic"
            elif tag in ("u", "ins"):
                entity["type"] = "underline"
            elif tag in ("s", "strike", "del"):
                entity["type"] = "strikethrough"
            elif tag in ("tg-spoiler", "span"):
                entity["type"] = "spoiler"
            elif tag == "tg-emoji":
                emoji_id = attrs.get("emoji-id", "")
                if not emoji_id.isdigit() or int(emoji_id) == 0:
                    fail("Invalid custom emoji identifier specified")
                entity.update(type="custom_emoji", custom_emoji_id=emoji_id)
            elif tag == "tg-time":
                unix = attrs.get("unix", "")
                if not re.fullmatch(r"-?\d+", unix):
                    fail("Invalid Unix time specified")
                entity.update(type="date_time", unix_time=int(unix))
                if attrs.get("format"):
                    entity["date_time_format"] = attrs["format"]
            elif tag == "a":
                url = attrs.get("href", "")
                if not url:
                    url = "".join(out[chunk_index:])
                user_match = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
                if user_match:
                    entity.update(type="text_mention",
                                  user={"id": int(user_match.group(1)), "is_bot": False, "first_name": ""})
                else:
                    checked = _normalize_url(url)
                    if checked is None:
                        continue
                    entity.update(type="text_link", url=checked)
            elif tag == "pre":
                last = entities[-1] if entities else None
                if (last and last["type"] == "code" and last["offset"] == offset
                        and last["length"] == length and last.get("language")):
                    last["type"] = "pre"
                    continue
                entity["type"] = "pre"
            elif tag == "code":
                language = attrs.get("language", "")
                last = entities[-1] if entities else None
                if (last and last["type"] == "pre" and last["offset"] == offset
                        and last["length"] == length and language):
                    last["language"] = language
                    continue
                entity["type"] = "code"
                if language:
                    entity["language"] = language
            elif tag == "blockquote":
                entity["type"] = "expandable_blockquote" if attrs.get("expandable") else "blockquote"
            entities.append(entity)
            continue

        # start tag
        name_begin = i
        while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
            i += 1
        if i >= n:
            fail(f"Unclosed start tag at byte offset {bo(begin)}")
        tag = text[name_begin:i].lower()
        if tag not in _HTML_TAGS:
            fail(f"Unsupported start tag \"{tag}\" at byte offset {bo(begin)}")
        attrs: dict[str, Any] = {}
        while True:
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n:
                fail(f"Unclosed start tag \"{tag}\" at byte offset {bo(begin)}")
            if text[i] == ">":
                break
            attr_begin = i
            while i < n and text[i] not in _HTML_SPACE and text[i] not in "=>":
                i += 1
            attr = text[attr_begin:i]
            if not attr:
                fail(f"Empty attribute name in the tag \"{tag}\" at byte offset {bo(begin)}")
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr.lower() == "expandable" and i < n:
                    attrs["expandable"] = True
                    continue
                fail(f"Expected equal sign in declaration of an attribute of the tag \"{tag}\" "
                     f"at byte offset {bo(begin)}")
            i += 1
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n:
                fail(f"Unclosed start tag \"{tag}\" at byte offset {bo(begin)}")
            if text[i] not in "'\"":
                token_begin = i
                while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                    i += 1
                value = text[token_begin:i].lower()
                if i >= n or (text[i] not in _HTML_SPACE and text[i] != ">"):
                    fail(f"Unexpected end of name token at byte offset {bo(token_begin)}")
            else:
                quote = text[i]
                i += 1
                buf: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = decode_amp(i)
                        if decoded is not None:
                            buf.append(decoded[0])
                            i = decoded[1]
                            continue
                    buf.append(text[i])
                    i += 1
                if i < n:
                    i += 1
                value = "".join(buf)
                if i >= n:
                    fail(f"Unclosed start tag at byte offset {bo(begin)}")
            if tag == "a" and attr == "href":
                attrs["href"] = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                attrs["language"] = value[9:]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                attrs["span"] = value[3:]
            elif tag == "tg-emoji" and attr == "emoji-id":
                attrs["emoji-id"] = value
            elif tag == "tg-time" and attr in ("unix", "format"):
                attrs[attr] = value
            elif tag == "blockquote" and attr.lower() == "expandable":
                attrs["expandable"] = True
        i += 1  # '>'
        if tag == "span" and attrs.get("span") != "spoiler":
            fail(f"Tag \"span\" must have class \"tg-spoiler\" at byte offset {bo(begin)}")
        stack.append([tag, attrs, u16, len(out), begin])

    if stack:
        fail(f"Can't find end tag corresponding to start tag \"{stack[-1][0]}\"")
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return "".join(out), _sort_entities(entities)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "italic": "Italic", "bold": "Bold", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    """Parse MarkdownV2; returns (plain text, entities) or raises :class:`EntityParseError`.

    Reserved characters ``_*[]()~`>#+-=|{}.!`` must be escaped with ``\\`` outside of entities
    (inside ``code``/``pre`` only ``\\`` and `````` ` `````` matter). Block quotes (``>`` at line start,
    ``**>`` ... ``||`` expandable) are recognised.
    """
    out: list[str] = []
    u16 = 0
    entities: list[dict] = []
    stack: list[dict] = []
    n = len(text)
    i = 0
    quote: dict | None = None  # current block quote {"offset", "end", "expandable"}

    def fail(message: str) -> None:
        raise EntityParseError(message)

    def reserved(ch: str) -> None:
        fail(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")

    def close_quote() -> None:
        nonlocal quote
        if quote is not None and quote["end"] > quote["offset"]:
            entities.append({"type": "expandable_blockquote" if quote["expandable"] else "blockquote",
                             "offset": quote["offset"], "length": quote["end"] - quote["offset"]})
        quote = None

    while i < n:
        c = text[i]
        top = stack[-1] if stack else None
        in_code = top is not None and top["kind"] in ("code", "pre")
        if not in_code and (i == 0 or text[i - 1] == "\n"):
            if text.startswith("**>", i) or c == ">":
                expandable = text.startswith("**>", i)
                if quote is None:
                    quote = {"offset": u16, "end": u16, "expandable": False}
                quote["expandable"] |= expandable
                i += 3 if expandable else 1
                continue
            if quote is not None:
                close_quote()
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if c == "\n" and quote is not None and not in_code:
            quote["end"] = u16
        if in_code and c != "`":
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        if c not in _MDV2_RESERVED:
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        if (c == "|" and quote is not None and text.startswith("||", i)
                and (i + 2 == n or text[i + 2] == "\n") and (top is None or top["kind"] != "spoiler")):
            quote["expandable"] = True
            i += 2
            continue

        is_end = False
        if top is not None:
            kind = top["kind"]
            if kind == "bold":
                is_end = c == "*"
            elif kind == "italic":
                is_end = c == "_" and not text.startswith("__", i)
            elif kind == "underline":
                is_end = text.startswith("__", i)
            elif kind == "strikethrough":
                is_end = c == "~"
            elif kind == "spoiler":
                is_end = text.startswith("||", i)
            elif kind == "code":
                is_end = c == "`"
            elif kind == "pre":
                is_end = text.startswith("```", i)
            elif kind in ("text_link", "custom_emoji"):
                is_end = c == "]"

        if not is_end:
            start = i
            language = ""
            if c == "_":
                if text.startswith("__", i):
                    kind, i = "underline", i + 2
                else:
                    kind, i = "italic", i + 1
            elif c == "*":
                kind, i = "bold", i + 1
            elif c == "~":
                kind, i = "strikethrough", i + 1
            elif c == "|":
                if not text.startswith("||", i):
                    reserved(c)
                kind, i = "spoiler", i + 2
            elif c == "[":
                kind, i = "text_link", i + 1
            elif c == "!" and text.startswith("![", i):
                kind, i = "custom_emoji", i + 2
            elif c == "`":
                if text.startswith("```", i):
                    kind, i = "pre", i + 3
                    nl = text.find("\n", i)
                    if nl > i and not any(ch.isspace() for ch in text[i:nl]) and "`" not in text[i:nl]:
                        language, i = text[i:nl], nl + 1
                    elif nl == i:
                        i += 1
                else:
                    kind, i = "code", i + 1
            else:
                reserved(c)
            stack.append({"kind": kind, "u16": u16, "start": start, "chunk": len(out),
                          "language": language})
            continue

        opened = stack.pop()
        kind = opened["kind"]
        url = None
        if kind in ("text_link", "custom_emoji"):
            i += 1
            if i < n and text[i] == "(":
                i += 1
                url_begin = i
                buf: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                        buf.append(text[i + 1])
                        i += 2
                        continue
                    buf.append(text[i])
                    i += 1
                if i >= n:
                    fail(f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}")
                i += 1
                url = "".join(buf)
            elif kind == "text_link":
                url = "".join(out[opened["chunk"]:])
            else:
                fail("Custom emoji entity must contain a tg://emoji URL")
        elif kind == "pre":
            i += 3
        elif kind in ("underline", "spoiler"):
            i += 2
        else:
            i += 1
        length = u16 - opened["u16"]
        if length <= 0:
            continue
        entity: dict[str, Any] = {"type": kind, "offset": opened["u16"], "length": length}
        if kind == "pre" and opened["language"]:
            entity["language"] = opened["language"]
        if kind == "text_link":
            user_match = re.fullmatch(r"tg://user\?id=(\d+)", (url or "").strip())
            if user_match:
                entity = {"type": "text_mention", "offset": opened["u16"], "length": length,
                          "user": {"id": int(user_match.group(1)), "is_bot": False, "first_name": ""}}
            else:
                checked = _normalize_url(url or "")
                if checked is None:
                    continue
                entity["url"] = checked
        if kind == "custom_emoji":
            emoji = re.fullmatch(r"tg://emoji\?id=(\d+)", url or "")
            if not emoji:
                fail("Custom emoji entity must contain a tg://emoji URL")
            entity["custom_emoji_id"] = emoji.group(1)
        entities.append(entity)

    if stack:
        opened = stack[-1]
        name = _MDV2_NAMES[opened["kind"]]
        if opened["kind"] == "pre" and opened["language"]:
            name = "PreCode"
        fail(f"Can't find end of {name} entity at byte offset {_byte_offset(text, opened['start'])}")
    if quote is not None:
        quote["end"] = u16
        close_quote()
    return "".join(out), _sort_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[dict]]:
    """Parse legacy ``Markdown`` (``*bold* _italic_ `code` ```pre``` [text](url)``)."""
    out: list[str] = []
    u16 = 0
    entities: list[dict] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        start = i
        error = f"Can't find end of the entity starting at byte offset {_byte_offset(text, start)}"
        if c == "[":
            close = text.find("]", i + 1)
            if close < 0 or not text.startswith("(", close + 1) or text.find(")", close + 2) < 0:
                raise EntityParseError(error)
            url_end = text.find(")", close + 2)
            inner, url = text[i + 1:close], text[close + 2:url_end]
            entity: dict[str, Any] = {"type": "text_link", "offset": u16, "length": _u16(inner)}
            checked = _normalize_url(url)
            if checked and inner:
                entity["url"] = checked
                entities.append(entity)
            out.append(inner)
            u16 += _u16(inner)
            i = url_end + 1
            continue
        if text.startswith("```", i):
            close = text.find("```", i + 3)
            if close < 0:
                raise EntityParseError(error)
            inner = text[i + 3:close]
            language = ""
            nl = inner.find("\n")
            if nl > 0 and not any(ch.isspace() for ch in inner[:nl]):
                language, inner = inner[:nl], inner[nl + 1:]
            entity = {"type": "pre", "offset": u16, "length": _u16(inner)}
            if language:
                entity["language"] = language
            i = close + 3
        else:
            close = text.find(c, i + 1)
            if close < 0:
                raise EntityParseError(error)
            inner = text[i + 1:close]
            entity = {"type": {"*": "bold", "_": "italic", "`": "code"}[c], "offset": u16,
                      "length": _u16(inner)}
            i = close + 1
        if entity["length"]:
            entities.append(entity)
        out.append(inner)
        u16 += _u16(inner)
    return "".join(out), _sort_entities(entities)


# --------------------------------------------------------------------------------------------------
# The spec and structural validation
# --------------------------------------------------------------------------------------------------


def default_spec_path() -> Path:
    """``$BOTAPI_SPEC`` if set, else the copy shipped in this package (``emulator/botapi-10.1.json``)."""
    env = os.environ.get("BOTAPI_SPEC")
    if env:
        return Path(env)
    return Path(__file__).resolve().with_name(SPEC_FILENAME)


class _Mismatch(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "True", "InputFile"})
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always)\s+\"?([a-z_]+)\"?")


class BotApiSpec:
    """The machine-readable Bot API spec with a validator for parameters and JSON objects."""

    _cache: dict[str, "BotApiSpec"] = {}
    _cache_lock = threading.Lock()

    def __init__(self, data: dict) -> None:
        self.version: str = data.get("version", "?")
        self.methods: dict[str, dict] = data["methods"]
        self.types: dict[str, dict] = data["types"]
        self._by_lower = {name.lower(): name for name in self.methods}
        self.method_fields = {name: {f["name"]: f for f in m.get("fields", [])}
                              for name, m in self.methods.items()}
        self.type_fields = {name: {f["name"]: f for f in t["fields"]}
                            for name, t in self.types.items() if "fields" in t}
        self.abstract = {name: t["subtypes"] for name, t in self.types.items() if "subtypes" in t}
        self.discriminators: dict[str, tuple[str, str]] = {}
        for subtypes in self.abstract.values():
            for sub in subtypes:
                for fname in ("type", "source", "status"):
                    f = self.type_fields.get(sub, {}).get(fname)
                    if f is None:
                        continue
                    m = _DISCRIMINATOR_RE.search(f.get("description", ""))
                    if m:
                        self.discriminators[sub] = (fname, m.group(1))
                        break

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "BotApiSpec":
        """Load (and cache) the spec from ``path`` or :func:`default_spec_path`."""
        resolved = str(Path(path or default_spec_path()).resolve())
        with cls._cache_lock:
            spec = cls._cache.get(resolved)
            if spec is None:
                with open(resolved, encoding="utf-8") as fh:
                    spec = cls(json.load(fh))
                cls._cache[resolved] = spec
            return spec

    def canonical_method(self, name: str) -> str | None:
        return self._by_lower.get(name.lower())

    def returns(self, method: str) -> list[str]:
        return self.methods[method].get("returns", [])

    # -- structural checks ---------------------------------------------------------------------

    def check(self, value: Any, types: list[str], path: str) -> Any:
        """Check ``value`` against a union of spec types; returns the (normalized) value."""
        if len(types) == 1:
            return self._check_one(value, types[0], path)
        candidates = list(types)
        if isinstance(value, dict):
            def overlap(t: str) -> int:
                fields = self.type_fields.get(t)
                return -len(value.keys() & fields.keys()) if fields else 0
            candidates.sort(key=overlap)
        first_error: _Mismatch | None = None
        for t in candidates:
            try:
                return self._check_one(value, t, path)
            except _Mismatch as exc:
                if first_error is None or (exc.path != path and first_error.path == path):
                    first_error = exc
        assert first_error is not None
        if first_error.path == path and not isinstance(value, dict):
            raise _Mismatch(path, f"Field \"{path}\" must be of type {' or '.join(types)}")
        raise first_error

    def _check_one(self, value: Any, t: str, path: str) -> Any:
        if t == "Integer":
            if type(value) is int:
                return value
        elif t == "Float":
            if type(value) in (int, float):
                return value
        elif t == "Boolean":
            if type(value) is bool:
                return value
        elif t == "True":
            if value is True:
                return value
        elif t == "String":
            if type(value) is str:
                return value
        elif t == "InputFile":
            pass
        elif t.startswith("Array of "):
            inner = t[len("Array of "):]
            if isinstance(value, list):
                return [self.check(item, [inner], f"{path}[{k}]") for k, item in enumerate(value)]
        elif t in self.type_fields:
            if isinstance(value, dict):
                return self._check_object(value, t, path)
        elif t in self.abstract:
            subtypes = self.abstract[t]
            if isinstance(value, dict):
                keyed = [s for s in subtypes if s in self.discriminators]
                if keyed:
                    fname = self.discriminators[keyed[0]][0]
                    chosen = [s for s in keyed if value.get(fname) == self.discriminators[s][1]]
                    if not chosen:
                        allowed = sorted({self.discriminators[s][1] for s in keyed})
                        raise _Mismatch(f"{path}.{fname}",
                                        f"Field \"{path}.{fname}\" must be one of {', '.join(allowed)} "
                                        f"for {t}, got {value.get(fname)!r}")
                    return self.check(value, chosen, path)
            return self.check(value, subtypes, path)
        else:
            return value  # a type the spec does not describe: accept
        raise _Mismatch(path, f"Field \"{path}\" must be of type {t}")

    def _check_object(self, value: dict, t: str, path: str) -> dict:
        fields = self.type_fields[t]
        for key in value:
            if key not in fields:
                raise _Mismatch(f"{path}.{key}", f"Field \"{path}.{key}\" is not a field of {t}")
        for name, f in fields.items():
            if f["required"] and name not in value:
                raise _Mismatch(f"{path}.{name}", f"Field \"{path}.{name}\" is required in {t}")
        return {key: self.check(item, fields[key]["types"], f"{path}.{key}") for key, item in value.items()}

    def coerce_param(self, name: str, types: list[str], raw: Any, from_form: bool) -> Any:
        """Convert one top-level parameter as the server does (form strings -> typed values)."""
        value_types = [t for t in types if t != "InputFile"]
        if isinstance(raw, str):
            if "Integer" in value_types and _INT_RE.fullmatch(raw.strip()):
                return int(raw)
            if "Float" in value_types and _FLOAT_RE.fullmatch(raw.strip()):
                return float(raw)
            if "Boolean" in value_types and raw.strip().lower() in ("true", "false", "1", "0"):
                return raw.strip().lower() in ("true", "1")
            if "True" in value_types and raw.strip().lower() in ("true", "1"):
                return True
            if "String" in value_types:
                return raw
            structured = [t for t in value_types if t not in _PRIMITIVES]
            if not structured:
                raise _bad(f"parameter \"{name}\" must be of type {' or '.join(types)}, got {raw!r}")
            try:
                decoded = json.loads(raw)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
            raw = decoded
        elif not from_form and type(raw) in (int, float) and "String" in value_types \
                and not ({"Integer", "Float"} & set(value_types)):
            return str(raw)  # JSON body: the server is lenient with scalars, not with structure
        try:
            return self.check(raw, value_types, name)
        except _Mismatch as exc:
            if exc.path == name:
                raise _bad(f"parameter \"{name}\" must be of type {' or '.join(types)}") from None
            raise _bad(f"can't parse {name}: {exc.message}") from None


# --------------------------------------------------------------------------------------------------
# Request body decoding
# --------------------------------------------------------------------------------------------------


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not boundary or not isinstance(boundary, str):
        raise _bad("multipart/form-data without boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    parser = email.parser.HeaderParser()
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            raise _bad("malformed multipart/form-data part")
        headers = parser.parsestr(head.decode("utf-8", "replace"))
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = headers.get_filename()
        if filename is not None:
            files[name] = UploadedFile(name, filename, headers.get_content_type()
                                       if headers.get("content-type") else None, data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


# --------------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------------

_SEND_EXCLUDED = frozenset({"sendChatAction", "sendMessageDraft", "sendRichMessageDraft"})
_FORWARD_LIKE = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
_DEFAULT_ALLOWED_UPDATES_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_INLINE_ACTIONS_EXCLUDED = frozenset({"text", "icon_custom_emoji_id", "style"})
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly "
                 "the same as a current content and reply markup of the message")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"RIFF")
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


@dataclass
class _Fault:
    chat_id: str | None           # normalized chat id, None = any chat
    methods: frozenset | None     # canonical method names, None = "send" methods
    status: int
    description: str
    parameters: dict | None
    remaining: int | None         # None = forever


@dataclass
class _Delay:
    method: str | None            # canonical name, None = every method
    seconds: float
    remaining: int | None


class BotApiEmulator:
    """A strict Telegram Bot API server for tests (see the module docstring).

    Thread-safe: the test thread may push updates, inspect calls and inject faults while the bot
    polls from its own event loop. Use as a context manager or call :meth:`start`/:meth:`stop`.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0,
                 bot_username: str = "wscw_test_bot", spec_path: str | os.PathLike | None = None, *,
                 bot_name: str = "WSCW Test Bot", strict_html_ampersand: bool = True,
                 query_ttl: float | None = None) -> None:
        self.token = token
        self.host = host
        self._requested_port = port
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.strict_html_ampersand = strict_html_ampersand
        self.query_ttl = query_ttl
        self.spec = BotApiSpec.load(spec_path)
        try:
            bot_id = int(token.split(":", 1)[0])
        except ValueError:
            bot_id = 123456
        self.bot_user: dict = {"id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._listeners: list[Callable[[Call], None]] = []
        self._chats: dict[int, dict] = {}
        self._users: dict[int, dict] = {}
        self._messages: dict[int, dict[int, dict]] = {}
        self._next_message_id: dict[int, int] = {}
        self._updates: list[dict] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset | None = None
        self._poll_generation = 0
        self._webhook: dict = {}
        self._callback_queries: dict[str, dict] = {}
        self._inline_queries: dict[str, dict] = {}
        self._query_ids = itertools.count(5_000_000_000_001)
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._profile: dict[tuple[str, str], Any] = {}
        self._files: dict[str, dict] = {}
        self._file_counter = itertools.count(1)
        self._blocked: set[int] = set()
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._rate_limit: int | None = None
        self._rate_per_chat: int | None = None
        self._rate_window: collections.deque = collections.deque()
        self._rate_chat_windows: dict[int, collections.deque] = {}
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "BotApiEmulator":
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._stopping = False
        self._server = _Server((self.host, self._requested_port), _Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"BotApiEmulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake long polls and close client connections."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "BotApiEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            return self._requested_port
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (root of the server; the control interface lives under ``/_emulator/``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The value for ``ApplicationBuilder().base_url(...)``: ``http://HOST:PORT/bot``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """The value for ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    # -- chats, users, messages ------------------------------------------------------------------

    def add_chat(self, chat_id: int, type: str | None = None, *, title: str | None = None,
                 first_name: str = "Test", username: str | None = None, last_name: str | None = None) -> dict:
        """Register a chat the bot may write to (as if it had started the bot / added the bot)."""
        chat_id = int(chat_id)
        if type is None:
            type = "private" if chat_id > 0 else ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
        chat: dict[str, Any] = {"id": chat_id, "type": type}
        if type == "private":
            chat["first_name"] = first_name
            if last_name:
                chat["last_name"] = last_name
        else:
            chat["title"] = title or f"Test {type} {chat_id}"
        if username:
            chat["username"] = username
        with self._lock:
            self._chats[chat_id] = chat
            self._messages.setdefault(chat_id, {})
            if type == "private":
                self._users.setdefault(chat_id, _user(chat_id, first_name, last_name=last_name, username=username))
        return dict(chat)

    def known_chat(self, chat_id: int) -> dict | None:
        """The registered chat object or None."""
        with self._lock:
            chat = self._chats.get(int(chat_id))
            return dict(chat) if chat else None

    def sent_messages(self, chat_id: int) -> list[dict]:
        """Current state (after edits, without deleted ones) of the messages the bot sent to a chat."""
        with self._lock:
            msgs = self._messages.get(int(chat_id), {})
            return [copy.deepcopy(m) for m in msgs.values() if m.get("from", {}).get("id") == self.bot_user["id"]
                    or ("from" not in m and m.get("_by_bot"))]

    def messages(self, chat_id: int) -> list[dict]:
        """All live messages of a chat (the user's and the bot's), oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for m in self._messages.get(int(chat_id), {}).values()]

    def get_message(self, chat_id: int, message_id: int) -> dict | None:
        """One live message or None."""
        with self._lock:
            msg = self._messages.get(int(chat_id), {}).get(int(message_id))
            return copy.deepcopy(msg) if msg else None

    def bot_commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """The commands currently set for (scope, language_code)."""
        with self._lock:
            return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code or ""), []))

    # -- recorded calls ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of all recorded calls, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_of(self, method: str, chat_id: int | str | None = None) -> list[Call]:
        """Recorded calls of ``method`` (case-insensitive), optionally only those to ``chat_id``."""
        wanted = method.lower()
        with self._lock:
            return [c for c in self._calls if c.method.lower() == wanted
                    and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def subscribe(self, listener: Callable[[Call], None]) -> Callable[[], None]:
        """Call ``listener(call)`` for every recorded call (in a server thread, before the HTTP answer
        is sent, without holding the emulator's lock; keep it quick).

        Returns a function that unsubscribes it. Useful for an interactive console that shows the
        bot's answers as they arrive.
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def clear_calls(self) -> None:
        """Forget recorded calls (state such as messages and chats is kept)."""
        with self._lock:
            self._calls.clear()

    def wait_for(self, predicate_or_method: str | Callable[[Call], bool], count: int = 1,
                 timeout: float = 5.0, *, since: int = 0) -> list[Call]:
        """Block until at least ``count`` calls match; returns the matching calls.

        ``predicate_or_method`` is a method name (case-insensitive; any status matches) or a
        predicate on :class:`Call`. Only calls with index >= ``since`` are considered (use
        ``len(emu.calls)`` taken earlier). Raises ``AssertionError`` with a dump on timeout.
        """
        if isinstance(predicate_or_method, str):
            wanted = predicate_or_method.lower()
            predicate: Callable[[Call], bool] = lambda c: c.method.lower() == wanted  # noqa: E731
            label = predicate_or_method
        else:
            predicate = predicate_or_method
            label = getattr(predicate_or_method, "__name__", repr(predicate_or_method))
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matched = [c for c in self._calls[since:] if predicate(c)]
                if len(matched) >= count:
                    return matched
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = [c for c in self._calls[since:] if c.method != "getUpdates"][-25:]
                    dump = "\n".join(f"  {c!r}" for c in recent) or "  (no calls besides getUpdates)"
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {count} call(s) matching {label}; "
                        f"got {len(matched)}. Recent calls:\n{dump}")
                self._cond.wait(remaining)

    # -- pushing updates ---------------------------------------------------------------------------

    def push_update(self, update: dict) -> dict:
        """Queue an update (``update_id`` assigned if missing); returns the stored update.

        Chats, users and messages found in it are registered, so the bot may answer them.
        """
        update = copy.deepcopy(update)
        with self._cond:
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            self._register_update(update)
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
            self._cond.notify_all()
        return copy.deepcopy(update)

    def push_message(self, chat_id: int, text: str | None = None, user_id: int | None = None,
                     language_code: str | None = "en", chat_type: str = "private", first_name: str = "Test",
                     username: str | None = None, entities: list[dict] | None = None,
                     reply_to: int | dict | None = None, **extra: Any) -> dict:
        """Push a user message; returns the update.

        ``chat_id < 0`` makes a group (``supergroup`` for ``-100...`` ids) unless ``chat_type``
        says otherwise (``"channel"`` pushes a ``channel_post``); the sender defaults to the chat's
        user in private chats and to user 100000001 in groups. Text starting with ``/`` gets a
        ``bot_command`` entity. ``reply_to`` is a
        message id of that chat (or a message dict). ``extra`` adds fields such as ``photo``,
        ``document``, ``location``, ``sticker``, ``contact`` (use ``text=None`` for those).
        """
        chat_id = int(chat_id)
        if chat_type == "private" and chat_id < 0:
            chat_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        if user_id is None:
            user_id = chat_id if chat_id > 0 else 100_000_001
        user = _user(user_id, first_name, username=username, language_code=language_code)
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None or chat["type"] != chat_type:
                chat = {"id": chat_id, "type": chat_type}
                if chat_type == "private":
                    chat["first_name"] = first_name
                    if username:
                        chat["username"] = username
                else:
                    chat["title"] = f"Test {chat_type} {chat_id}"
                self._chats[chat_id] = chat
            message: dict[str, Any] = {
                "message_id": self._take_message_id(chat_id),
                "from": user,
                "chat": dict(chat),
                "date": int(time.time()),
            }
            if text is not None:
                message["text"] = text
                if entities is None:
                    # like a Telegram client: a leading /command and every @username become entities
                    entities = []
                    command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
                    if command:
                        entities.append({"type": "bot_command", "offset": 0, "length": _u16(command.group(0))})
                    for mention in re.finditer(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}", text):
                        if command and mention.start() < command.end():
                            continue
                        entities.append({"type": "mention", "offset": _u16(text[:mention.start()]),
                                         "length": _u16(mention.group(0))})
                if entities:
                    message["entities"] = entities
            if reply_to is not None:
                if isinstance(reply_to, dict):
                    message["reply_to_message"] = copy.deepcopy(reply_to)
                else:
                    replied = self._messages.get(chat_id, {}).get(int(reply_to))
                    if replied is None:
                        raise ValueError(f"push_message: no message {reply_to} in chat {chat_id} to reply to")
                    message["reply_to_message"] = self._public(replied, nested=True)
            message.update(copy.deepcopy(extra))
            if chat_type == "channel":
                del message["from"]
                message["sender_chat"] = dict(chat)
                return self.push_update({"channel_post": message})
            return self.push_update({"message": message})

    def push_callback_query(self, chat_id: int, user_id: int | None, data: str, message_id: int,
                            language_code: str | None = "en", *, require_button: bool = True,
                            first_name: str = "Test", username: str | None = None) -> str:
        """Simulate a press on an inline button of a message the bot sent; returns the query id.

        With ``require_button`` (default) the message's current inline keyboard must contain a
        button with this ``callback_data`` - as on real Telegram, where a user can only press
        buttons that exist.
        """
        chat_id = int(chat_id)
        user_id = int(user_id if user_id is not None else chat_id)
        with self._cond:
            msg = self._messages.get(chat_id, {}).get(int(message_id))
            if msg is None:
                raise ValueError(f"push_callback_query: no message {message_id} in chat {chat_id}")
            if msg.get("from", {}).get("id") != self.bot_user["id"]:
                raise ValueError(f"push_callback_query: message {message_id} was not sent by the bot")
            if require_button:
                buttons = [b.get("callback_data") for row in
                           msg.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
                if data not in buttons:
                    raise ValueError(f"push_callback_query: message {message_id} has no button with "
                                     f"callback_data {data!r}; its buttons: {buttons}")
            query_id = str(next(self._query_ids))
            user = _user(user_id, first_name, username=username, language_code=language_code)
            query = {
                "id": query_id,
                "from": user,
                "message": self._public(msg),
                "chat_instance": str(abs(chat_id) * 7 + 13),
                "data": data,
            }
            self._callback_queries[query_id] = {"answered": False, "time": time.monotonic()}
            self.push_update({"callback_query": query})
            return query_id

    def push_inline_query(self, user_id: int, query: str, language_code: str | None = "en", *,
                          offset: str = "", chat_type: str | None = "sender", first_name: str = "Test",
                          username: str | None = None) -> str:
        """Simulate an inline query ``@bot <query>``; returns the inline query id."""
        user = _user(user_id, first_name, username=username, language_code=language_code)
        with self._cond:
            query_id = str(next(self._query_ids))
            inline = {"id": query_id, "from": user, "query": query, "offset": offset}
            if chat_type:
                inline["chat_type"] = chat_type
            self._inline_queries[query_id] = {"answered": False, "time": time.monotonic()}
            self.push_update({"inline_query": inline})
            return query_id

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by the bot."""
        with self._lock:
            return copy.deepcopy(self._updates)

    # -- fault injection ---------------------------------------------------------------------------

    def fail_with_retry_after(self, chat_id: int | str | None, retry_after_seconds: int, times: int = 1) -> None:
        """Answer the next ``times`` send calls to ``chat_id`` (None: any chat) with 429 + retry_after."""
        seconds = int(retry_after_seconds)
        self.fail_with(chat_id, 429, f"Too Many Requests: retry after {seconds}", times,
                       parameters={"retry_after": seconds})

    def fail_with(self, chat_id: int | str | None, status: int, description: str, times: int | None = 1, *,
                  methods: Iterable[str] | str | None = None, parameters: dict | None = None) -> None:
        """Answer the next ``times`` (None: all) matching calls with an error.

        Matches calls whose ``chat_id`` is ``chat_id`` (None: any) and whose method is in ``methods``
        (default: the send methods - ``send*`` except chat actions/drafts, copy/forward).
        """
        if isinstance(methods, str):
            methods = [methods]
        canonical = None
        if methods is not None:
            canonical = frozenset(self.spec.canonical_method(m) or m for m in methods)
        with self._lock:
            self._faults.append(_Fault(None if chat_id is None else str(chat_id), canonical, int(status),
                                       description, parameters, times))

    def block_chat(self, chat_id: int) -> None:
        """The user blocked the bot: every call targeting the chat answers 403 from now on."""
        chat_id = int(chat_id)
        with self._lock:
            if chat_id not in self._chats:
                self.add_chat(chat_id)
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(int(chat_id))

    def delay(self, method: str | None, seconds: float, times: int | None = None) -> None:
        """Delay the answer to ``method`` (None: all methods) by ``seconds`` (``times`` None: forever).

        The request is processed first (a message *is* sent) and only the answer is late - like a
        slow network, so client timeouts leave the server-side effect in place.
        """
        canonical = None if method is None else (self.spec.canonical_method(method) or method)
        with self._lock:
            self._delays.append(_Delay(canonical, float(seconds), times))

    def enforce_rate(self, per_second: int | None = 30, per_chat_per_second: int | None = None) -> None:
        """Answer 429 (with retry_after) when send calls exceed the given rates; None disables."""
        with self._lock:
            self._rate_limit = per_second
            self._rate_per_chat = per_chat_per_second
            self._rate_window.clear()
            self._rate_chat_windows.clear()

    def clear_faults(self) -> None:
        """Remove injected faults, delays, blocks and rate limits."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._blocked.clear()
            self._rate_limit = None
            self._rate_per_chat = None

    # -- direct (non-HTTP) access ----------------------------------------------------------------

    def request(self, method: str, params: dict | None = None,
                files: dict[str, UploadedFile] | None = None) -> tuple[int, dict]:
        """Process a call as if it came over HTTP with a JSON body; returns (status, response)."""
        status, response, _delay = self._process(method, dict(params or {}), dict(files or {}), from_form=False)
        return status, response

    # ============================================================================================
    # internals
    # ============================================================================================

    def _take_message_id(self, chat_id: int) -> int:
        mid = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = mid + 1
        return mid

    def _register_update(self, update: dict) -> None:
        def visit_message(msg: Any) -> None:
            if not isinstance(msg, dict) or "chat" not in msg:
                return
            chat = msg["chat"]
            if isinstance(chat, dict) and "id" in chat:
                self._chats.setdefault(int(chat["id"]), dict(chat))
                store = self._messages.setdefault(int(chat["id"]), {})
                if "message_id" in msg and "date" in msg and msg.get("date"):
                    mid = int(msg["message_id"])
                    store.setdefault(mid, copy.deepcopy(msg))
                    if self._next_message_id.get(int(chat["id"]), 1) <= mid:
                        self._next_message_id[int(chat["id"])] = mid + 1
            visit_user(msg.get("from"))
            self._register_files(msg)

        def visit_user(user: Any) -> None:
            if isinstance(user, dict) and "id" in user:
                self._users[int(user["id"])] = dict(user)

        for key, value in update.items():
            if key == "update_id" or not isinstance(value, dict):
                continue
            if "message_id" in value and "chat" in value:
                visit_message(value)
            visit_user(value.get("from"))
            if isinstance(value.get("message"), dict) and key != "callback_query":
                visit_message(value["message"])
            if isinstance(value.get("chat"), dict) and "message_id" not in value:
                chat = value["chat"]
                if "id" in chat:
                    self._chats.setdefault(int(chat["id"]), dict(chat))

    def _register_files(self, obj: Any) -> None:
        if isinstance(obj, dict):
            if "file_id" in obj and "file_unique_id" in obj:
                self._files.setdefault(obj["file_id"], {"file_unique_id": obj["file_unique_id"],
                                                        "file_size": obj.get("file_size"), "data": None,
                                                        "file_name": obj.get("file_name"),
                                                        "mime_type": obj.get("mime_type")})
            for value in obj.values():
                self._register_files(value)
        elif isinstance(obj, list):
            for value in obj:
                self._register_files(value)

    def _public(self, msg: dict, nested: bool = False) -> dict:
        out = {k: copy.deepcopy(v) for k, v in msg.items() if not k.startswith("_")}
        if nested:
            out.pop("reply_to_message", None)
        return out

    @staticmethod
    def _scope_key(scope: dict | None) -> str:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True, separators=(",", ":"))

    # -- HTTP entry points -----------------------------------------------------------------------

    def _handle_bot_request(self, token: str, method: str, query: str, content_type: str,
                            body: bytes) -> tuple[int, dict, float]:
        """Decode an HTTP request to /bot<token>/<method>; returns (status, payload, delay)."""
        if token != self.token:
            status = 401 if _TOKEN_RE.fullmatch(token) else 404
            err = ApiError(status, "Unauthorized" if status == 401 else "Not Found")
            self._record(method or "", {}, status, err.payload())
            return status, err.payload(), 0.0
        raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        from_form = True
        ctype = content_type.split(";", 1)[0].strip().lower()
        try:
            if body:
                if ctype == "application/json":
                    decoded = json.loads(body.decode("utf-8"))
                    if not isinstance(decoded, dict):
                        raise _bad("request body must be a JSON object")
                    raw.update({k: v for k, v in decoded.items() if v is not None})  # null = absent
                    from_form = False
                elif ctype == "multipart/form-data":
                    fields, files = _parse_multipart(body, content_type)
                    raw.update(fields)
                elif ctype in ("application/x-www-form-urlencoded", ""):
                    raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                else:
                    raise _bad(f"unsupported Content-Type {ctype!r}")
        except ApiError as exc:
            self._record(self.spec.canonical_method(method) or method, raw, exc.status, exc.payload())
            return exc.status, exc.payload(), 0.0
        except (ValueError, UnicodeDecodeError):
            err = _bad("can't parse request body")
            self._record(self.spec.canonical_method(method) or method, raw, 400, err.payload())
            return 400, err.payload(), 0.0
        return self._process(method, raw, files, from_form)

    def _process(self, method: str, raw: dict, files: dict[str, UploadedFile],
                 from_form: bool) -> tuple[int, dict, float]:
        canonical = self.spec.canonical_method(method) if method else None
        if canonical is None:
            err = ApiError(404, "Not Found")
            self._record(method, raw, 404, err.payload())
            return 404, err.payload(), 0.0
        try:
            params = self._validate(canonical, raw, files, from_form)
        except ApiError as exc:
            recorded = {k: _maybe_json(v) for k, v in raw.items()}
            recorded.update(files)
            self._record(canonical, recorded, exc.status, exc.payload())
            return exc.status, exc.payload(), 0.0
        with self._cond:
            try:
                self._apply_faults(canonical, params)
                handler = getattr(self, "_m_" + canonical, None)
                result = handler(params) if handler else self._m_generic(canonical, params)
                status, payload = 200, {"ok": True, "result": result}
            except ApiError as exc:
                status, payload = exc.status, exc.payload()
            delay = self._take_delay(canonical)
        self._record(canonical, params, status, payload)
        return status, payload, delay

    def _record(self, method: str, params: dict, status: int, payload: dict) -> None:
        call = Call(method, params, time.time(), status, payload)
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(call)
            except Exception:  # a broken listener must not break the server
                pass

    def _take_delay(self, method: str) -> float:
        for d in self._delays:
            if (d.method is None or d.method == method) and (d.remaining is None or d.remaining > 0):
                if d.remaining is not None:
                    d.remaining -= 1
                return d.seconds
        return 0.0

    # -- validation ----------------------------------------------------------------------------------

    def _validate(self, method: str, raw: dict, files: dict[str, UploadedFile], from_form: bool) -> dict:
        fields = self.spec.method_fields[method]
        params: dict[str, Any] = {}
        for name, value in raw.items():
            f = fields.get(name)
            if f is None:
                if name in files:
                    continue
                raise _bad(f"unknown parameter \"{name}\" for method {method}")
            if isinstance(value, str) and value.startswith("attach://") and "InputFile" in f["types"]:
                attached = files.get(value[len("attach://"):])
                if attached is None:
                    raise _bad(f"can't find attached file \"{value[len('attach://'):]}\"")
                params[name] = attached
                continue
            params[name] = self.spec.coerce_param(name, f["types"], value, from_form)
        attached = _attach_names(raw)
        for name in attached:
            if name not in files:
                raise _bad(f"can't find attached file \"{name}\"")
        for name, upload in files.items():
            f = fields.get(name)
            if f is not None:
                if name not in params:
                    if "InputFile" not in f["types"]:
                        raise _bad(f"parameter \"{name}\" can't be a file")
                    params[name] = upload
            elif name in attached:
                params[name] = upload  # referenced from a JSON field; kept for inspection
            else:
                raise _bad(f"unknown parameter \"{name}\" for method {method}")
        for name, f in fields.items():
            if f["required"] and (name not in params or params[name] == ""):
                if name == "chat_id":
                    raise _bad("chat_id is empty")
                if name == "text" and method in ("sendMessage", "editMessageText"):
                    raise _bad("message text is empty")
                raise _bad(f"parameter \"{name}\" is required")
        self._semantic_checks(method, params)
        return params

    def _semantic_checks(self, method: str, params: dict) -> None:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            self._check_inline_keyboard(markup)

    def _check_inline_keyboard(self, markup: dict) -> None:
        actions = [name for name in self.spec.type_fields.get("InlineKeyboardButton", {})
                   if name not in _INLINE_ACTIONS_EXCLUDED]
        count = 0
        for row in markup["inline_keyboard"]:
            for button in row:
                count += 1
                if not button.get("text"):
                    raise _bad("BUTTON_TEXT_INVALID")
                used = [a for a in actions if a in button]
                if not used:
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the "
                               "inline keyboard")
                if len(used) > 1:
                    raise _bad(f"can't parse inline keyboard button: exactly one of the optional fields "
                               f"must be used, got {', '.join(used)}")
                if "callback_data" in button:
                    size = len(button["callback_data"].encode("utf-8"))
                    if not 1 <= size <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button and _normalize_url(button["url"]) is None:
                    raise _bad(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")
                if "style" in button and button["style"] not in ("danger", "success", "primary"):
                    raise _bad("BUTTON_STYLE_INVALID")
        if count > 100:
            raise _bad("reply markup is too long")

    def _format(self, text: str, parse_mode: str | None, entities: list | None, *, caption: bool = False,
                limit: int | None = None) -> tuple[str, list[dict] | None]:
        """Apply parse_mode and the length limits; returns (text, entities)."""
        mode = (parse_mode or "").strip().lower()
        if entities is not None:
            parsed, ents = text, [dict(e) for e in entities]
        elif not mode:
            parsed, ents = text, []
        else:
            try:
                if mode == "html":
                    parsed, ents = parse_html(text, strict_ampersand=self.strict_html_ampersand)
                elif mode == "markdownv2":
                    parsed, ents = parse_markdown_v2(text)
                elif mode == "markdown":
                    parsed, ents = parse_markdown(text)
                else:
                    raise _bad("unsupported parse_mode")
            except EntityParseError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        length = len(parsed)
        if caption:
            if length > (limit or 1024):
                raise _bad("message caption is too long")
        else:
            if not parsed.strip():
                raise _bad("message text is empty")
            if length > (limit or 4096):
                raise _bad("message is too long")
        return parsed, (ents or None)

    # -- fault application -----------------------------------------------------------------------

    def _is_send(self, method: str) -> bool:
        return (method.startswith("send") and method not in _SEND_EXCLUDED) or method in _FORWARD_LIKE

    def _chat_key(self, params: dict) -> int | str | None:
        chat_id = params.get("chat_id")
        if chat_id is None:
            return None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for cid, chat in self._chats.items():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return cid
        return chat_id

    def _apply_faults(self, method: str, params: dict) -> None:
        chat_key = self._chat_key(params)
        if chat_key is not None and chat_key in self._blocked:
            chat_type = self._chats.get(chat_key, {}).get("type", "private")
            if chat_type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_type == "channel":
                raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat_type} chat")
        is_send = self._is_send(method)
        for fault in self._faults:
            if fault.remaining is not None and fault.remaining <= 0:
                continue
            if fault.methods is None and not is_send:
                continue
            if fault.methods is not None and method not in fault.methods:
                continue
            if fault.chat_id is not None and str(chat_key) != fault.chat_id:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            raise ApiError(fault.status, fault.description, dict(fault.parameters) if fault.parameters else None)
        self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]
        if is_send and (self._rate_limit or self._rate_per_chat):
            now = time.monotonic()
            window = self._rate_window
            while window and window[0] <= now - 1.0:
                window.popleft()
            if self._rate_limit and len(window) >= self._rate_limit:
                retry = max(1, math.ceil(window[0] + 1.0 - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
            chat_window = None
            if self._rate_per_chat and chat_key is not None:
                chat_window = self._rate_chat_windows.setdefault(chat_key, collections.deque())
                while chat_window and chat_window[0] <= now - 1.0:
                    chat_window.popleft()
                if len(chat_window) >= self._rate_per_chat:
                    retry = max(1, math.ceil(chat_window[0] + 1.0 - now))
                    raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
            window.append(now)
            if chat_window is not None:
                chat_window.append(now)

    # -- helpers for method implementations ------------------------------------------------------

    def _resolve_chat(self, chat_id: Any) -> dict:
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
            if chat is not None:
                return chat
            if chat_id in self._users:
                # seen (in a group, an inline query, ...) but never started a private chat with the bot
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return chat
        raise _bad("chat not found")

    def _find_message(self, chat_id: int, message_id: int, error: str) -> dict:
        msg = self._messages.get(chat_id, {}).get(message_id)
        if msg is None:
            raise _bad(error)
        return msg

    def _new_message(self, chat: dict, content: dict, params: dict) -> dict:
        """Create, store and return (public copy) a message sent by the bot."""
        chat_id = chat["id"]
        reply = params.get("reply_parameters")
        replied = None
        if reply:
            source_chat = chat
            if "chat_id" in reply:
                source_chat = self._resolve_chat(reply["chat_id"])
            replied = self._messages.get(source_chat["id"], {}).get(reply["message_id"])
            if replied is None and not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        msg: dict[str, Any] = {
            "message_id": self._take_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        if chat.get("type") == "channel":
            del msg["from"]
            msg["sender_chat"] = dict(chat)
            msg["_by_bot"] = True
        if params.get("message_thread_id") is not None:
            msg["message_thread_id"] = params["message_thread_id"]
        if replied is not None:
            msg["reply_to_message"] = self._public(replied, nested=True)
        msg.update(content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        if params.get("has_spoiler"):
            msg["has_media_spoiler"] = True
        self._messages.setdefault(chat_id, {})[msg["message_id"]] = msg
        return self._public(msg)

    def _file_object(self, value: Any, kind: str) -> dict:
        """Resolve an InputFile/String parameter to a stored file description."""
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad("file must be non-empty")
            n = next(self._file_counter)
            file_id = f"EMU{kind[:3].upper()}{n:06d}{'x' * 8}"
            info = {"file_unique_id": f"U{n:07d}", "file_size": len(value.data), "data": value.data,
                    "file_name": value.filename, "mime_type": value.content_type}
            self._files[file_id] = info
            return {"file_id": file_id, **info}
        if isinstance(value, str):
            if value in self._files:
                return {"file_id": value, **self._files[value]}
            if re.match(r"^https?://\S+$", value):
                n = next(self._file_counter)
                file_id = f"EMU{kind[:3].upper()}{n:06d}url"
                info = {"file_unique_id": f"U{n:07d}", "file_size": 1024, "data": None,
                        "file_name": value.rsplit("/", 1)[-1] or None, "mime_type": None}
                self._files[file_id] = info
                return {"file_id": file_id, **info}
        raise _bad("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _file_public(info: dict, *keep: str) -> dict:
        out = {"file_id": info["file_id"], "file_unique_id": info["file_unique_id"]}
        if info.get("file_size") is not None:
            out["file_size"] = info["file_size"]
        for key in keep:
            if info.get(key):
                out[key] = info[key]
        return out

    def _caption_content(self, params: dict) -> dict:
        content: dict[str, Any] = {}
        if params.get("caption"):
            caption, ents = self._format(params["caption"], params.get("parse_mode"),
                                         params.get("caption_entities"), caption=True)
            if caption:
                content["caption"] = caption
                if ents:
                    content["caption_entities"] = ents
            if params.get("show_caption_above_media"):
                content["show_caption_above_media"] = True
        return content

    def _editable_message(self, params: dict, *, need: str | None = None) -> dict | None:
        """Locate the message of an edit call; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        if params.get("chat_id") is None or params.get("message_id") is None:
            raise _bad("message identifier is not specified")
        chat = self._resolve_chat(params["chat_id"])
        msg = self._find_message(chat["id"], params["message_id"], "message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"] and not msg.get("_by_bot"):
            raise _bad("message can't be edited")
        if need == "text" and "text" not in msg:
            raise _bad("there is no text in the message to edit")
        if need == "caption" and not any(k in msg for k in ("photo", "document", "video", "audio",
                                                             "animation", "voice")):
            raise _bad("there is no caption in the message to edit")
        return msg

    # -- method implementations ------------------------------------------------------------------

    def _m_generic(self, method: str, params: dict) -> Any:
        """Any spec method without a dedicated implementation: validated and recorded.

        Methods returning (only) a ``Message`` create a plain one in the target chat; send methods
        check that the chat exists; everything else answers True.
        """
        returns = self.spec.returns(method)
        if "chat_id" in params and (returns == ["Message"] or self._is_send(method)):
            chat = self._resolve_chat(params["chat_id"])
            if returns == ["Message"]:
                return self._new_message(chat, self._caption_content(params), params)
        return True

    def _m_getMe(self, params: dict) -> dict:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": True, "can_connect_to_business": False, "has_main_web_app": False}

    def _m_logOut(self, params: dict) -> bool:
        return True

    def _m_close(self, params: dict) -> bool:
        return True

    def _m_getUpdates(self, params: dict) -> list[dict]:
        if self._webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use "
                                "deleteWebhook to delete the webhook first")
        offset = params.get("offset")
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = max(params.get("timeout", 0), 0)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # terminates an older long poll
        deadline = time.monotonic() + timeout
        while True:
            if offset is not None:
                if offset < 0:
                    self._updates = self._updates[offset:] if -offset < len(self._updates) else self._updates
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._updates = [u for u in self._updates if self._update_allowed(u)]
            if self._updates or timeout == 0:
                return copy.deepcopy(self._updates[:limit])
            if self._poll_generation != generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only "
                                    "one bot instance is running")
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping:
                return []
            self._cond.wait(remaining)

    def _update_allowed(self, update: dict) -> bool:
        kinds = [k for k in update if k != "update_id"]
        kind = kinds[0] if kinds else ""
        if self._allowed_updates is None:
            return kind not in _DEFAULT_ALLOWED_UPDATES_EXCLUDED
        return kind in self._allowed_updates

    def _m_setWebhook(self, params: dict) -> bool:
        url = params["url"]
        if url and not url.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {k: v for k, v in params.items() if not isinstance(v, UploadedFile)} if url else {}
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        return True

    def _m_deleteWebhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {}
        return True

    def _m_getWebhookInfo(self, params: dict) -> dict:
        info: dict[str, Any] = {"url": self._webhook.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if self._webhook.get("url"):
            info["max_connections"] = self._webhook.get("max_connections", 40)
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _m_sendMessage(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        text, ents = self._format(params["text"], params.get("parse_mode"), params.get("entities"))
        content: dict[str, Any] = {"text": text}
        if ents:
            content["entities"] = ents
        if params.get("link_preview_options"):
            content["link_preview_options"] = params["link_preview_options"]
        return self._new_message(chat, content, params)

    def _m_editMessageText(self, params: dict) -> Any:
        text, ents = self._format(params["text"], params.get("parse_mode"), params.get("entities"))
        msg = self._editable_message(params, need="text")
        if msg is None:
            return True
        markup = params.get("reply_markup")
        if msg["text"] == text and msg.get("entities") == ents and msg.get("reply_markup") == markup:
            raise _bad(_NOT_MODIFIED)
        msg["text"] = text
        return self._apply_edit(msg, entities=ents, reply_markup=markup)

    def _m_editMessageCaption(self, params: dict) -> Any:
        caption, ents = self._format(params.get("caption", ""), params.get("parse_mode"),
                                     params.get("caption_entities"), caption=True)
        msg = self._editable_message(params, need="caption")
        if msg is None:
            return True
        markup = params.get("reply_markup")
        if (msg.get("caption", "") == caption and msg.get("caption_entities") == ents
                and msg.get("reply_markup") == markup):
            raise _bad(_NOT_MODIFIED)
        return self._apply_edit(msg, caption=caption, caption_entities=ents, reply_markup=markup)

    def _m_editMessageReplyMarkup(self, params: dict) -> Any:
        msg = self._editable_message(params)
        if msg is None:
            return True
        markup = params.get("reply_markup")
        if msg.get("reply_markup") == markup or (not markup and "reply_markup" not in msg):
            raise _bad(_NOT_MODIFIED)
        return self._apply_edit(msg, reply_markup=markup)

    def _apply_edit(self, msg: dict, **fields: Any) -> dict:
        """Store an edit: each field is set, or removed when empty; the message gets an edit_date."""
        for key, value in fields.items():
            if value:
                msg[key] = value
            else:
                msg.pop(key, None)
        msg["edit_date"] = int(time.time())
        return self._public(msg)

    def _m_deleteMessage(self, params: dict) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        store = self._messages.get(chat["id"], {})
        if params["message_id"] not in store:
            raise _bad("message to delete not found")
        del store[params["message_id"]]
        return True

    def _m_deleteMessages(self, params: dict) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        ids = params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise _bad("message_ids must contain 1-100 identifiers")
        store = self._messages.get(chat["id"], {})
        for mid in ids:
            store.pop(mid, None)
        return True

    def _take_query(self, registry: dict, query_id: str) -> dict:
        entry = registry.get(query_id)
        if entry is None or entry["answered"] or (
                self.query_ttl is not None and time.monotonic() - entry["time"] > self.query_ttl):
            raise _bad(_QUERY_INVALID)
        return entry

    def _m_answerCallbackQuery(self, params: dict) -> bool:
        entry = self._take_query(self._callback_queries, params["callback_query_id"])
        if len(params.get("text", "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        entry["answered"] = True
        return True

    def _m_answerInlineQuery(self, params: dict) -> bool:
        results = params["results"]
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            rid = result.get("id", "")
            if not 1 <= len(rid.encode("utf-8")) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if rid in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(rid)
            markup = result.get("reply_markup")
            if isinstance(markup, dict):
                self._check_inline_keyboard(markup)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._format(content["message_text"], content.get("parse_mode"), content.get("entities"))
            if isinstance(result.get("caption"), str):
                self._format(result["caption"], result.get("parse_mode"), result.get("caption_entities"),
                             caption=True)
        entry = self._take_query(self._inline_queries, params["inline_query_id"])
        entry["answered"] = True
        return True

    def _location(self, params: dict) -> dict:
        lat, lon = params["latitude"], params["longitude"]
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise _bad("wrong latitude or longitude specified")
        loc: dict[str, Any] = {"latitude": float(lat), "longitude": float(lon)}
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if params.get(key) is not None:
                loc[key] = params[key]
        return loc

    def _m_sendLocation(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        return self._new_message(chat, {"location": self._location(params)}, params)

    def _m_sendVenue(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        if not params["title"].strip() or not params["address"].strip():
            raise _bad("venue title and address must be non-empty")
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        self._location({"latitude": params["latitude"], "longitude": params["longitude"]})
        venue: dict[str, Any] = {"location": location, "title": params["title"], "address": params["address"]}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(key):
                venue[key] = params[key]
        return self._new_message(chat, {"venue": venue, "location": location}, params)

    def _m_sendContact(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        contact = {k: params[k] for k in ("phone_number", "first_name", "last_name", "vcard") if params.get(k)}
        return self._new_message(chat, {"contact": contact}, params)

    def _m_sendDice(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        return self._new_message(chat, {"dice": {"emoji": params.get("emoji", "🎲"), "value": 1}}, params)

    def _m_sendDocument(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        content = self._caption_content(params)
        info = self._file_object(params["document"], "document")
        content["document"] = self._file_public(info, "file_name", "mime_type")
        return self._new_message(chat, content, params)

    def _m_sendPhoto(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        content = self._caption_content(params)
        content["photo"] = self._photo_sizes(self._media_file(params["photo"], "photo"))
        return self._new_message(chat, content, params)

    def _media_file(self, value: Any, kind: str) -> dict:
        if kind == "photo" and isinstance(value, UploadedFile) and value.data \
                and not value.data.startswith(_IMAGE_MAGIC):
            raise _bad("IMAGE_PROCESS_FAILED")
        return self._file_object(value, kind)

    def _photo_sizes(self, info: dict) -> list[dict]:
        size = info.get("file_size") or 0
        return [
            {"file_id": info["file_id"] + "s", "file_unique_id": info["file_unique_id"] + "s",
             "width": 90, "height": 90, "file_size": max(1, size // 10)},
            {**self._file_public(info), "width": 800, "height": 800},
        ]

    def _media_content(self, kind: str, info: dict) -> dict:
        if kind == "photo":
            return {"photo": self._photo_sizes(info)}
        obj = self._file_public(info, "file_name", "mime_type")
        if kind in ("video", "animation", "live_photo"):
            obj.update(width=640, height=360, duration=1)
        elif kind in ("audio", "voice"):
            obj.update(duration=1)
        return {kind: obj}

    def _m_sendMediaGroup(self, params: dict) -> list[dict]:
        chat = self._resolve_chat(params["chat_id"])
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise _bad("media group must contain 2-10 items")
        kinds = {item["type"] for item in media}
        if len(kinds) > 1 and (kinds & {"document", "audio"}):
            raise _bad("MEDIA_INVALID: documents and audio can't be mixed with other media types")
        group_id = str(13_000_000_000 + next(self._file_counter))
        plain = {k: v for k, v in params.items() if k != "reply_markup"}
        messages = []
        for item in media:
            ref = item["media"]
            value = params.get(ref[len("attach://"):]) if ref.startswith("attach://") else ref
            content = self._media_content(item["type"], self._media_file(value, item["type"]))
            content.update(self._caption_content({"caption": item.get("caption"), "parse_mode": item.get("parse_mode"),
                                                  "caption_entities": item.get("caption_entities")}))
            content["media_group_id"] = group_id
            messages.append(self._new_message(chat, content, plain))
        return messages

    def _m_getChatMenuButton(self, params: dict) -> dict:
        return copy.deepcopy(self._profile.get(("menu_button", str(params.get("chat_id", ""))), {"type": "commands"}))

    def _m_setChatMenuButton(self, params: dict) -> bool:
        self._profile[("menu_button", str(params.get("chat_id", "")))] = params.get("menu_button", {"type": "default"})
        return True

    def _set_profile(self, key: str, params: dict, limit: int) -> bool:
        value = params.get(key, "") or ""
        if len(value) > limit:
            raise _bad(f"{key} is too long")
        self._profile[(key, self._language(params))] = value
        return True

    def _get_profile(self, key: str, params: dict) -> dict:
        return {key: self._profile.get((key, self._language(params)), self.bot_name if key == "name" else "")}

    def _m_setMyName(self, params: dict) -> bool:
        return self._set_profile("name", params, 64)

    def _m_getMyName(self, params: dict) -> dict:
        return self._get_profile("name", params)

    def _m_setMyDescription(self, params: dict) -> bool:
        return self._set_profile("description", params, 512)

    def _m_getMyDescription(self, params: dict) -> dict:
        return self._get_profile("description", params)

    def _m_setMyShortDescription(self, params: dict) -> bool:
        return self._set_profile("short_description", params, 120)

    def _m_getMyShortDescription(self, params: dict) -> dict:
        return self._get_profile("short_description", params)

    def _m_copyMessage(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        source_chat = self._resolve_chat(params["from_chat_id"])
        source = self._find_message(source_chat["id"], params["message_id"], "message to copy not found")
        content = {k: copy.deepcopy(v) for k, v in source.items()
                   if k not in ("message_id", "from", "chat", "date", "reply_to_message", "reply_markup",
                                "edit_date", "forward_origin", "sender_chat") and not k.startswith("_")}
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._caption_content(params))
        msg = self._new_message(chat, content, params)
        return {"message_id": msg["message_id"]}

    def _m_forwardMessage(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        source_chat = self._resolve_chat(params["from_chat_id"])
        source = self._find_message(source_chat["id"], params["message_id"], "message to forward not found")
        content = {k: copy.deepcopy(v) for k, v in source.items()
                   if k not in ("message_id", "from", "chat", "date", "reply_to_message", "reply_markup",
                                "edit_date", "sender_chat") and not k.startswith("_")}
        if "forward_origin" not in content:
            if source_chat.get("type") == "channel":
                content["forward_origin"] = {"type": "channel", "date": source["date"], "chat": dict(source_chat),
                                             "message_id": source["message_id"]}
            else:
                content["forward_origin"] = {"type": "user", "date": source["date"],
                                             "sender_user": copy.deepcopy(source.get("from", self.bot_user))}
        return self._new_message(chat, content, {k: v for k, v in params.items() if k != "reply_markup"})

    def _m_sendChatAction(self, params: dict) -> bool:
        self._resolve_chat(params["chat_id"])
        if params["action"] not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _m_setMyCommands(self, params: dict) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for cmd in commands:
            if not _COMMAND_RE.fullmatch(cmd["command"]):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(cmd["description"].strip()) or len(cmd["description"]) > 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        language = self._language(params)
        self._commands[(self._scope_key(self._scope(params)), language)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _m_getMyCommands(self, params: dict) -> list[dict]:
        key = (self._scope_key(self._scope(params)), self._language(params))
        return copy.deepcopy(self._commands.get(key, []))

    def _m_deleteMyCommands(self, params: dict) -> bool:
        self._commands.pop((self._scope_key(self._scope(params)), self._language(params)), None)
        return True

    def _scope(self, params: dict) -> dict:
        scope = params.get("scope") or {"type": "default"}
        if "chat_id" in scope:
            scope = dict(scope)
            chat = self._resolve_chat(scope["chat_id"])
            scope["chat_id"] = chat["id"]
        return scope

    @staticmethod
    def _language(params: dict) -> str:
        language = params.get("language_code", "") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("LANG_CODE_INVALID")
        return language

    def _m_getChat(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        gifts = {name: False for name in self.spec.type_fields.get("AcceptedGiftTypes", {})}
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _m_getChatMember(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        user_id = params["user_id"]
        if user_id == self.bot_user["id"]:
            return {"status": "member", "user": dict(self.bot_user)}
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        if chat["type"] == "private" and chat["id"] != user_id:
            raise _bad("user not found")
        return {"status": "member", "user": dict(user)}

    def _m_getFile(self, params: dict) -> dict:
        info = self._files.get(params["file_id"])
        if info is None:
            raise _bad("invalid file_id")
        out = {"file_id": params["file_id"], "file_unique_id": info["file_unique_id"]}
        if info.get("file_size") is not None:
            out["file_size"] = info["file_size"]
        if info.get("data") is not None:
            info.setdefault("file_path", f"documents/file_{info['file_unique_id']}")
            out["file_path"] = info["file_path"]
        return out

    def _file_download(self, path: str) -> bytes | None:
        with self._lock:
            for info in self._files.values():
                if info.get("file_path") == path:
                    return info.get("data")
        return None

    # -- control interface -----------------------------------------------------------------------

    def _control(self, name: str, query: dict, body: Any) -> tuple[int, Any]:
        """Handle /_emulator/<name>; returns (status, JSON payload)."""
        args = body if isinstance(body, dict) else {}
        try:
            if name in ("health", "info"):
                return 200, {"ok": True, "result": {"base_url": self.base_url, "token": self.token,
                                                    "bot": self.bot_user, "spec": self.spec.version}}
            if name == "calls":
                since = int(query.get("since", 0))
                with self._lock:
                    calls = [c.to_json(i) for i, c in enumerate(self._calls[since:], start=since)]
                return 200, calls
            if name == "sent_messages":
                return 200, self.sent_messages(int(query.get("chat_id") or args["chat_id"]))
            if name == "push_update":
                shorthand_keys = {"chat_id", "text"}
                if shorthand_keys & args.keys() and "update_id" not in args and "message" not in args:
                    return 200, {"ok": True, "result": self.push_message(**args)}
                return 200, {"ok": True, "result": self.push_update(args)}
            if name == "push_message":
                return 200, {"ok": True, "result": self.push_message(**args)}
            if name == "push_callback_query":
                args.setdefault("user_id", None)
                return 200, {"ok": True, "result": self.push_callback_query(**args)}
            if name == "push_inline_query":
                return 200, {"ok": True, "result": self.push_inline_query(**args)}
            if name == "add_chat":
                return 200, {"ok": True, "result": self.add_chat(**args)}
            if name == "block_chat":
                self.block_chat(args["chat_id"])
                return 200, {"ok": True, "result": True}
            if name == "unblock_chat":
                self.unblock_chat(args["chat_id"])
                return 200, {"ok": True, "result": True}
            if name == "retry_after":
                self.fail_with_retry_after(args.get("chat_id"), int(args.get("retry_after", 1)),
                                           int(args.get("times", 1)))
                return 200, {"ok": True, "result": True}
            if name == "fail_with":
                self.fail_with(args.get("chat_id"), int(args["status"]), args["description"],
                               args.get("times", 1), methods=args.get("methods"),
                               parameters=args.get("parameters"))
                return 200, {"ok": True, "result": True}
            if name == "delay":
                self.delay(args.get("method"), float(args["seconds"]), args.get("times"))
                return 200, {"ok": True, "result": True}
            if name == "enforce_rate":
                self.enforce_rate(args.get("per_second", 30), args.get("per_chat_per_second"))
                return 200, {"ok": True, "result": True}
            if name == "clear_calls":
                self.clear_calls()
                return 200, {"ok": True, "result": True}
            if name == "clear_faults":
                self.clear_faults()
                return 200, {"ok": True, "result": True}
        except (TypeError, ValueError, KeyError) as exc:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _attach_names(raw: dict) -> set[str]:
    """Names referenced as ``attach://<name>`` anywhere in the (possibly JSON-encoded) parameters."""
    names: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, str):
            if value.startswith("attach://"):
                names.add(value[len("attach://"):])
            elif value[:1] in ("{", "[") and "attach://" in value:
                try:
                    visit(json.loads(value))
                except ValueError:
                    pass

    visit(raw)
    return names


# --------------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: type, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # skip HTTPServer.server_bind's getfqdn() (a reverse DNS lookup)
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = port

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BotApiEmulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence request logging
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.emulator._lock:
            self.server.emulator._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.emulator._lock:
            self.server.emulator._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        if isinstance(payload, bytes):
            body = payload
        else:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        head = (f"HTTP/1.1 {status} {reason}\r\n"
                f"Server: {self.server_version}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"Connection: {'close' if self.close_connection else 'keep-alive'}\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, {"ok": False, "error_code": 400, "description": "Bad Request: malformed body"})
            return
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        if path.startswith("/_emulator/"):
            name = path[len("/_emulator/"):].strip("/")
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            try:
                decoded = json.loads(body.decode("utf-8")) if body else {}
            except ValueError:
                self._send(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid JSON"})
                return
            try:
                status, payload = emulator._control(name, query, decoded)
            except Exception as exc:
                traceback.print_exc()
                status, payload = 500, {"ok": False, "error_code": 500,
                                        "description": f"Internal Server Error: {exc!r}"}
            self._send(status, payload)
            return
        if path.startswith("/file/bot"):
            token, _, file_path = path[len("/file/bot"):].partition("/")
            data = emulator._file_download(file_path) if token == emulator.token else None
            if data is None:
                self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            else:
                self._send(200, data, "application/octet-stream")
            return
        if not path.startswith("/bot"):
            self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, _, method = path[len("/bot"):].partition("/")
        try:
            status, payload, delay = emulator._handle_bot_request(
                token, method.strip("/"), parts.query, self.headers.get("Content-Type", ""), body)
        except Exception as exc:  # a bug in the emulator: answer 500 instead of dropping the connection
            traceback.print_exc()
            status, payload, delay = 500, {"ok": False, "error_code": 500,
                                           "description": f"Internal Server Error: emulator bug: {exc!r}"}, 0.0
            emulator._record(method.strip("/"), {}, status, payload)
        if delay > 0:
            time.sleep(delay)
        self._send(status, payload)

    do_GET = _dispatch
    do_POST = _dispatch


# --------------------------------------------------------------------------------------------------
# Standalone use
# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m emulator --port 8081 --token T``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--username", default="wscw_test_bot", help="the bot's username (getMe)")
    parser.add_argument("--spec", default=None, help="path to the Bot API spec JSON")
    parser.add_argument("--chat", type=int, action="append", default=[],
                        help="register a chat id the bot may write to (repeatable)")
    parser.add_argument("--rate", type=int, default=None, help="enforce a global send rate per second")
    args = parser.parse_args(argv)
    emulator = BotApiEmulator(args.token, args.host, args.port, args.username, args.spec).start()
    for chat_id in args.chat:
        emulator.add_chat(chat_id)
    if args.rate:
        emulator.enforce_rate(args.rate)
    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    print(emulator.base_url, flush=True)
    print(f"control interface: {emulator.url}/_emulator/ (push_update, calls?since=N, add_chat, "
          f"block_chat, retry_after, ...)", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
