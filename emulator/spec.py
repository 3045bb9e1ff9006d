"""The machine-readable Bot API description and validation of every call against it.

:class:`BotApiSpec` loads ``botapi-10.1.json`` (or ``$BOTAPI_SPEC``), checks values against spec
types (primitives, ``Array of X``, objects field by field, abstract types by their discriminator),
converts form-encoded parameters as the server does, and validates a whole call: unknown, missing
and mistyped parameters, ``attach://`` files, and the documented inline keyboard limits.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from emulator.formatting import _normalize_url
from emulator.records import UploadedFile, _bad

SPEC_FILENAME = "botapi-10.1.json"
_INLINE_ACTIONS_EXCLUDED = frozenset({"text", "icon_custom_emoji_id", "style"})


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

    _cache: dict[str, BotApiSpec] = {}
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
    def load(cls, path: str | os.PathLike | None = None) -> BotApiSpec:
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

    # -- structural checks -------------------------------------------------------------------------

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

    # -- whole calls -------------------------------------------------------------------------------

    def validate(self, method: str, raw: dict, files: dict[str, UploadedFile], from_form: bool) -> dict:
        """Check a call of ``method`` (canonical name) and return its typed parameters, or raise a 400.

        ``raw`` are the decoded request fields (form strings or JSON values), ``files`` the multipart
        uploads; ``attach://name`` references must point at an uploaded file.
        """
        fields = self.method_fields[method]
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
            params[name] = self.coerce_param(name, f["types"], value, from_form)
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
        self.check_limits(method, params)
        return params

    def check_limits(self, method: str, params: dict) -> None:
        """Documented limits beyond the types (today: the inline keyboard of ``reply_markup``)."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            self.check_inline_keyboard(markup)

    def check_inline_keyboard(self, markup: dict) -> None:
        """One action per button, ``callback_data`` 1-64 bytes, valid URLs, at most 100 buttons."""
        actions = [name for name in self.type_fields.get("InlineKeyboardButton", {})
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
