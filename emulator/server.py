"""The HTTP surface: ``/bot<TOKEN>/<method>``, file downloads and the ``/_emulator/`` control interface.

A threading HTTP/1.1 server (keep-alive, no reverse DNS) hands each request to the emulator:
bodies are decoded here (form, JSON, multipart with files) and then go through
:meth:`emulator.core.BotApiEmulator._process`; ``/_emulator/<name>`` drives the emulator from another
process (push updates, read calls, inject faults).
"""

from __future__ import annotations

import email.message
import email.parser
import http.server
import json
import re
import socketserver
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator.records import ApiError, UploadedFile, _bad

if TYPE_CHECKING:
    from emulator.core import BotApiEmulator

_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")


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


def bot_request(emu: BotApiEmulator, token: str, method: str, query: str, content_type: str,
                body: bytes) -> tuple[int, dict, float]:
    """Decode an HTTP request to /bot<token>/<method>; returns (status, payload, delay)."""
    if token != emu.token:
        status = 401 if _TOKEN_RE.fullmatch(token) else 404
        err = ApiError(status, "Unauthorized" if status == 401 else "Not Found")
        emu._record(method or "", {}, status, err.payload())
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
        emu._record(emu.spec.canonical_method(method) or method, raw, exc.status, exc.payload())
        return exc.status, exc.payload(), 0.0
    except (ValueError, UnicodeDecodeError):
        err = _bad("can't parse request body")
        emu._record(emu.spec.canonical_method(method) or method, raw, 400, err.payload())
        return 400, err.payload(), 0.0
    return emu._process(method, raw, files, from_form)


def control_request(emu: BotApiEmulator, name: str, query: dict, body: Any) -> tuple[int, Any]:
    """Handle /_emulator/<name>; returns (status, JSON payload)."""
    args = body if isinstance(body, dict) else {}
    try:
        if name in ("health", "info"):
            return 200, {"ok": True, "result": {"base_url": emu.base_url, "token": emu.token,
                                                "bot": emu.bot_user, "spec": emu.spec.version}}
        if name == "calls":
            since = int(query.get("since", 0))
            with emu._lock:
                calls = [c.to_json(i) for i, c in enumerate(emu._calls[since:], start=since)]
            return 200, calls
        if name == "sent_messages":
            return 200, emu.sent_messages(int(query.get("chat_id") or args["chat_id"]))
        if name == "push_update":
            shorthand_keys = {"chat_id", "text"}
            if shorthand_keys & args.keys() and "update_id" not in args and "message" not in args:
                return 200, {"ok": True, "result": emu.push_message(**args)}
            return 200, {"ok": True, "result": emu.push_update(args)}
        if name == "push_message":
            return 200, {"ok": True, "result": emu.push_message(**args)}
        if name == "push_callback_query":
            args.setdefault("user_id", None)
            return 200, {"ok": True, "result": emu.push_callback_query(**args)}
        if name == "push_inline_query":
            return 200, {"ok": True, "result": emu.push_inline_query(**args)}
        if name == "add_chat":
            return 200, {"ok": True, "result": emu.add_chat(**args)}
        if name == "block_chat":
            emu.block_chat(args["chat_id"])
            return 200, {"ok": True, "result": True}
        if name == "unblock_chat":
            emu.unblock_chat(args["chat_id"])
            return 200, {"ok": True, "result": True}
        if name == "retry_after":
            emu.fail_with_retry_after(args.get("chat_id"), int(args.get("retry_after", 1)),
                                      int(args.get("times", 1)))
            return 200, {"ok": True, "result": True}
        if name == "fail_with":
            emu.fail_with(args.get("chat_id"), int(args["status"]), args["description"],
                          args.get("times", 1), methods=args.get("methods"),
                          parameters=args.get("parameters"))
            return 200, {"ok": True, "result": True}
        if name == "delay":
            emu.delay(args.get("method"), float(args["seconds"]), args.get("times"))
            return 200, {"ok": True, "result": True}
        if name == "enforce_rate":
            emu.enforce_rate(args.get("per_second", 30), args.get("per_chat_per_second"))
            return 200, {"ok": True, "result": True}
        if name == "clear_calls":
            emu.clear_calls()
            return 200, {"ok": True, "result": True}
        if name == "clear_faults":
            emu.clear_faults()
            return 200, {"ok": True, "result": True}
    except (TypeError, ValueError, KeyError) as exc:
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
    return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


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
                status, payload = control_request(emulator, name, query, decoded)
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
            status, payload, delay = bot_request(
                emulator, token, method.strip("/"), parts.query, self.headers.get("Content-Type", ""), body)
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
