"""The in-memory Telegram: chats, users, messages, the update queue, files and bot settings.

:class:`TelegramState` is a mixin of :class:`emulator.core.BotApiEmulator`; it uses the emulator's
``_lock``/``_cond`` and ``bot_user``. The test-facing half pushes updates as users would
(messages, button presses, inline queries) and reads what the bot left behind; the other half
(``_resolve_chat``, ``_new_message``, ``_file_object``, ...) serves the method implementations.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from typing import Any

from emulator.formatting import _u16
from emulator.records import ApiError, UploadedFile, _bad


def _user(user_id: int, first_name: str, *, last_name: str | None = None, username: str | None = None,
          language_code: str | None = None) -> dict[str, Any]:
    """A Telegram User object for a (non-bot) test user; optional fields only when given."""
    user: dict[str, Any] = {"id": int(user_id), "is_bot": False, "first_name": first_name}
    for key, value in (("last_name", last_name), ("username", username), ("language_code", language_code)):
        if value:
            user[key] = value
    return user


class TelegramState:
    """Chats, users, messages, updates, files, commands and profile texts (see the module docstring)."""

    def _init_state(self) -> None:
        """An empty Telegram: no chats, messages, updates, files or settings yet."""
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
        self._topics: dict[int, dict[int, dict]] = {}  # forum chat id -> message_thread_id -> topic

    # -- chats, users, messages --------------------------------------------------------------------

    def add_chat(self, chat_id: int, type: str | None = None, *, title: str | None = None,
                 first_name: str = "Test", username: str | None = None, last_name: str | None = None,
                 is_forum: bool = False) -> dict:
        """Register a chat the bot may write to (as if it had started the bot / added the bot).
        ``is_forum``: a supergroup with topics (createForumTopic, ``message_thread_id``)."""
        chat_id = int(chat_id)
        if type is None:
            type = "private" if chat_id > 0 else ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
        if is_forum and type != "supergroup":
            raise ValueError("add_chat: only a supergroup can be a forum")
        chat: dict[str, Any] = {"id": chat_id, "type": type}
        if is_forum:
            chat["is_forum"] = True
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
            with self._lock:
                known = self._chats.get(chat_id)
            # a registered group keeps its type (a forum added with add_chat); else the id's usual kind
            chat_type = known["type"] if known and known["type"] != "private" else (
                "supergroup" if chat_id <= -1_000_000_000_000 else "group")
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
            thread = extra.get("message_thread_id")
            if thread is not None and chat.get("is_forum"):
                # a message in a forum topic; without an explicit reply it replies to the topic's first message
                topic = self._topics.get(chat_id, {}).get(int(thread))
                if topic is None:
                    raise ValueError(f"push_message: no topic {thread} in forum {chat_id}")
                message["is_topic_message"] = True
                if reply_to is None and int(thread) in self._messages.get(chat_id, {}):
                    reply_to = int(thread)
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

    def push_edit(self, chat_id: int, message_id: int, text: str | None = None, caption: str | None = None) -> dict:
        """A user edits their message (its text or its caption): the stored message changes and an
        ``edited_message`` update is queued; returns the update."""
        with self._cond:
            msg = self._messages.get(int(chat_id), {}).get(int(message_id))
            if msg is None:
                raise ValueError(f"push_edit: no message {message_id} in chat {chat_id}")
            if text is not None:
                if "text" not in msg:
                    raise ValueError("push_edit: the message has no text (edit its caption)")
                msg["text"] = text
                msg.pop("entities", None)
            if caption is not None:
                msg["caption"] = caption
                msg.pop("caption_entities", None)
            msg["edit_date"] = int(time.time())
            return self.push_update({"edited_message": self._public(msg)})

    def topics(self, chat_id: int) -> dict[int, dict]:
        """The forum topics of a chat: message_thread_id -> {"name", "icon_color"}."""
        with self._lock:
            return copy.deepcopy(self._topics.get(int(chat_id), {}))

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

    # -- helpers for the method implementations ----------------------------------------------------

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
        thread = params.get("message_thread_id")
        if chat.get("is_forum"):
            if thread is None and replied is not None and replied.get("is_topic_message"):
                thread = replied.get("message_thread_id")  # a reply goes into the replied message's topic
            if thread is not None:
                if thread not in self._topics.get(chat_id, {}):
                    raise _bad("message thread not found")
                msg["is_topic_message"] = True
        elif thread is not None and (chat.get("type") != "supergroup" or thread not in self._messages.get(chat_id, {})):
            raise _bad("message thread not found")  # outside forums: only a supergroup's reply threads
        if thread is not None:
            msg["message_thread_id"] = thread
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

    def _file_download(self, path: str) -> bytes | None:
        with self._lock:
            for info in self._files.values():
                if info.get("file_path") == path:
                    return info.get("data")
        return None
