"""BotApiEmulator: lifecycle, the call pipeline and the record of calls.

Every call goes the same way (:meth:`BotApiEmulator._process`): the spec validates it, injected
faults may answer instead, the method implementation runs under the lock, and the call is recorded
(:class:`~emulator.records.Call`) and shown to listeners. State, faults and methods are mixins
(:mod:`emulator.state`, :mod:`emulator.faults`, :mod:`emulator.methods`); HTTP is :mod:`emulator.server`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

from emulator.faults import FaultInjection
from emulator.methods import BotApiMethods
from emulator.records import ApiError, Call, UploadedFile, _maybe_json
from emulator.server import _Handler, _Server
from emulator.spec import BotApiSpec
from emulator.state import TelegramState

DEFAULT_TOKEN = "123456:TEST"


class BotApiEmulator(TelegramState, FaultInjection, BotApiMethods):
    """A strict Telegram Bot API server for tests (see the package docstring, ``emulator/__init__.py``).

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
        self._init_state()
        self._init_faults()
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> BotApiEmulator:
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

    def __enter__(self) -> BotApiEmulator:
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

    # -- recorded calls ---------------------------------------------------------------------------------

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

    # -- direct (non-HTTP) access ----------------------------------------------------------------

    def request(self, method: str, params: dict | None = None,
                files: dict[str, UploadedFile] | None = None) -> tuple[int, dict]:
        """Process a call as if it came over HTTP with a JSON body; returns (status, response)."""
        status, response, _delay = self._process(method, dict(params or {}), dict(files or {}), from_form=False)
        return status, response

    # -- the call pipeline -------------------------------------------------------------------------

    def _process(self, method: str, raw: dict, files: dict[str, UploadedFile],
                 from_form: bool) -> tuple[int, dict, float]:
        canonical = self.spec.canonical_method(method) if method else None
        if canonical is None:
            err = ApiError(404, "Not Found")
            self._record(method, raw, 404, err.payload())
            return 404, err.payload(), 0.0
        try:
            params = self.spec.validate(canonical, raw, files, from_form)
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
