"""The Bot API methods with realistic results (``_m_<method>``); any other spec method gets ``_m_generic``.

:class:`BotApiMethods` is a mixin of :class:`emulator.core.BotApiEmulator`. Each ``_m_*`` receives
parameters already validated against the spec and runs under the emulator's lock; it returns the
``result`` or raises :class:`~emulator.records.ApiError`.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from emulator.formatting import format_text
from emulator.records import ApiError, UploadedFile, _bad

_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
_DEFAULT_ALLOWED_UPDATES_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly "
                 "the same as a current content and reply markup of the message")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"RIFF")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class BotApiMethods:
    """Method implementations (see the module docstring)."""

    def _format(self, text: str, parse_mode: str | None, entities: list | None, *, caption: bool = False,
                limit: int | None = None) -> tuple[str, list[dict] | None]:
        """Apply parse_mode and the length limits; returns (text, entities)."""
        return format_text(text, parse_mode, entities, caption=caption, limit=limit,
                           strict_ampersand=self.strict_html_ampersand)

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

    # -- method implementations --------------------------------------------------------------------

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

    # logOut and close answer True through _m_generic (validated like every call)

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
                self.spec.check_inline_keyboard(markup)
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

    _TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)

    def _m_createForumTopic(self, params: dict) -> dict:
        chat = self._resolve_chat(params["chat_id"])
        if not chat.get("is_forum"):
            raise _bad("the chat is not a forum")
        name = params["name"]
        if not 1 <= len(name) <= 128:
            raise _bad("TOPIC_NAME_EMPTY" if not name else "TOPIC_NAME_INVALID")
        color = params.get("icon_color", self._TOPIC_COLORS[0])
        if color not in self._TOPIC_COLORS:
            raise _bad("TOPIC_ICON_COLOR_INVALID")
        created: dict[str, Any] = {"name": name, "icon_color": color}
        # the topic's id is the id of its service message "topic created"
        thread_id = self._next_message_id.get(chat["id"], 1)
        self._topics.setdefault(chat["id"], {})[thread_id] = dict(created)
        self._new_message(chat, {"forum_topic_created": dict(created)}, {"message_thread_id": thread_id})
        return {"message_thread_id": thread_id, **created}

    def _m_deleteForumTopic(self, params: dict) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        if not chat.get("is_forum"):
            raise _bad("the chat is not a forum")
        thread = params["message_thread_id"]
        if self._topics.get(chat["id"], {}).pop(thread, None) is None:
            raise _bad("message thread not found")
        store = self._messages.get(chat["id"], {})
        for mid in [m for m, msg in store.items() if msg.get("message_thread_id") == thread]:
            del store[mid]
        return True

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
