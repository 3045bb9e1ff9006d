"""Entity parsing like Telegram's server (tdlib): HTML, MarkdownV2 and legacy Markdown.

Each parser returns ``(plain text, Bot API entities)`` with offsets and lengths in UTF-16 code
units, or raises :class:`EntityParseError` with Telegram's wording. :func:`format_text` applies a
``parse_mode`` and the documented length limits the way ``sendMessage``/captions do.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.records import _bad


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


def format_text(text: str, parse_mode: str | None, entities: list | None, *, caption: bool = False,
                limit: int | None = None, strict_ampersand: bool = True) -> tuple[str, list[dict] | None]:
    """Apply ``parse_mode`` and the length limits; returns (text, entities) or raises a 400 ApiError."""
    mode = (parse_mode or "").strip().lower()
    if entities is not None:
        parsed, ents = text, [dict(e) for e in entities]
    elif not mode:
        parsed, ents = text, []
    else:
        try:
            if mode == "html":
                parsed, ents = parse_html(text, strict_ampersand=strict_ampersand)
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
