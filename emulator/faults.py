"""Fault injection: 429 with ``retry_after``, blocked chats (403), any error, late answers, rate limits.

:class:`FaultInjection` is a mixin of :class:`emulator.core.BotApiEmulator`; faults are checked
after a call is validated and before its method runs, under the emulator's lock (it also reads the
chats of :class:`emulator.state.TelegramState` to resolve ``@username`` targets and blocked chats).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from emulator.records import ApiError

_SEND_EXCLUDED = frozenset({"sendChatAction", "sendMessageDraft", "sendRichMessageDraft"})
_FORWARD_LIKE = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


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


class FaultInjection:
    """Injected errors, delays and rate limits (see the module docstring)."""

    def _init_faults(self) -> None:
        """No faults, delays, blocked chats or rate limits."""
        self._blocked: set[int] = set()
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._rate_limit: int | None = None
        self._rate_per_chat: int | None = None
        self._rate_window: collections.deque = collections.deque()
        self._rate_chat_windows: dict[int, collections.deque] = {}

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

    # -- applied to each call ----------------------------------------------------------------------

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

    def _take_delay(self, method: str) -> float:
        """Seconds to hold the answer to this call (the call itself is processed at once)."""
        for d in self._delays:
            if (d.method is None or d.method == method) and (d.remaining is None or d.remaining > 0):
                if d.remaining is not None:
                    d.remaining -= 1
                return d.seconds
        return 0.0
