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
  this package as ``botapi-10.1.json``): missing required parameters, unknown parameters, wrong
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
  getFile (+ download under ``/file/bot<TOKEN>/...``), close, logOut, createForumTopic, deleteForumTopic.
* Forum supergroups (``add_chat(id, is_forum=True)``): topics made by createForumTopic (their id is the
  id of the "topic created" service message), ``message_thread_id`` checked on every send ("message thread
  not found"), messages in a topic carry ``is_topic_message``, a reply lands in the replied message's
  topic, and a user's message pushed into a topic without a reply replies to the topic's first message (as
  Telegram does). ``push_edit`` queues an ``edited_message``.
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
  synthetic. Groups have no members/permissions model; business connections,
  payments, stickers, games, stories, etc. are validated but not simulated.
* Telegram's own flood limits are not applied unless :meth:`BotApiEmulator.enforce_rate` is used.
* Deliberate extra strictness (the real server is more lenient here, the emulator errs on the side
  of catching bugs): unknown parameters and unknown fields inside JSON objects are rejected, and with
  ``strict_html_ampersand=True`` (default) a bare ``&`` in HTML that does not start one of the
  supported entities (``&lt; &gt; &amp; &quot; &#N; &#xN;``) is rejected (Telegram keeps it literally).
  Lengths are counted in Unicode code points.

Layout
------
``records`` (ApiError, UploadedFile, Call) · ``formatting`` (entity parsers, UTF-16 offsets, length
limits) · ``spec`` (BotApiSpec: loading the spec, validating every call) · ``state`` (the in-memory
Telegram: chats, messages, updates, files, commands) · ``methods`` (the ``_m_<method>``
implementations) · ``faults`` (429/403/errors/delays/rate limits) · ``core`` (BotApiEmulator: the
call pipeline and the record of calls) · ``server`` (HTTP, multipart, ``/_emulator/``) · ``cli``
(``python -m emulator``).

Standard library only; it must not import ``telegram`` (it is used by ``python -m bot chat`` too),
and the bot imports it only for ``python -m bot emulator`` and ``python -m bot chat``.
"""

from __future__ import annotations

from emulator.cli import main
from emulator.core import DEFAULT_TOKEN, BotApiEmulator
from emulator.formatting import EntityParseError, parse_html, parse_markdown, parse_markdown_v2
from emulator.records import ApiError, Call, UploadedFile
from emulator.spec import SPEC_FILENAME, BotApiSpec, default_spec_path

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "BotApiSpec",
    "Call",
    "DEFAULT_TOKEN",
    "EntityParseError",
    "SPEC_FILENAME",
    "UploadedFile",
    "default_spec_path",
    "main",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
]
