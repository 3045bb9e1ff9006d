"""Tests of the Bot API emulator (the emulator/ package), driven by the real python-telegram-bot client.

No mocks: every test talks HTTP to a running emulator through ``telegram.Bot`` (or raw ``httpx``
where PTB would refuse to send the request), and one test runs a complete ``telegram.ext.Application``
polling loop against it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle, InputTextMessageContent
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler
from telegram.request import HTTPXRequest

import emulator as emulator_package
from emulator import BotApiEmulator, EntityParseError, UploadedFile, default_spec_path, parse_html, parse_markdown_v2

ROOT = Path(__file__).resolve().parent.parent

CHAT = 4242

# PTB itself reads its deprecated int-valued RetryAfter.retry_after when building the exception
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after")


@pytest.fixture
def emu():
    with BotApiEmulator() as emulator:
        emulator.add_chat(CHAT, first_name="Ada")
        yield emulator


def run_bot(emu: BotApiEmulator, scenario, **bot_kwargs):
    """Run ``await scenario(bot)`` with an initialized real ``telegram.Bot`` pointed at the emulator."""

    async def main():
        bot = telegram.Bot(emu.token, base_url=emu.base_url, **bot_kwargs)
        async with bot:
            return await scenario(bot)

    return asyncio.run(main())


def call_raw(emu: BotApiEmulator, method: str, **data) -> httpx.Response:
    return httpx.post(f"{emu.base_url}{emu.token}/{method}", data=data, timeout=5)


# -- basics ------------------------------------------------------------------------------------------


def test_get_me_describes_the_bot(emu):
    me = run_bot(emu, lambda bot: bot.get_me())
    assert me.is_bot and me.username == "wscw_test_bot" and me.id == 123456
    assert me.supports_inline_queries is True and me.can_read_all_group_messages is False
    assert emu.calls_of("getMe")[0].status == 200


def test_send_message_round_trip_is_recorded_and_stored(emu):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])

    async def scenario(bot):
        first = await bot.send_message(CHAT, "<b>Hello</b> &lt;world&gt;", parse_mode="HTML", reply_markup=markup)
        second = await bot.send_message(CHAT, "again")
        return first, second

    first, second = run_bot(emu, scenario)
    assert first.text == "Hello <world>" and first.chat.id == CHAT and first.from_user.is_bot
    assert [(e.type, e.offset, e.length) for e in first.entities] == [("bold", 0, 5)]
    assert first.reply_markup == markup
    assert second.message_id == first.message_id + 1

    call = emu.calls_of("sendMessage", chat_id=CHAT)[0]
    assert call.ok and call.params["chat_id"] == CHAT and call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    stored = emu.sent_messages(CHAT)
    assert [m["text"] for m in stored] == ["Hello <world>", "again"]


def test_method_names_are_case_insensitive_and_unknown_methods_404(emu):
    assert call_raw(emu, "SENDMESSAGE", chat_id=CHAT, text="hi").json()["ok"] is True
    assert emu.calls[-1].method == "sendMessage"
    response = call_raw(emu, "sendMessagez", chat_id=CHAT, text="hi")
    assert response.status_code == 404 and response.json()["description"] == "Not Found"


def test_wrong_token_is_unauthorized(emu):
    async def main():
        bot = telegram.Bot("999:WRONG", base_url=emu.base_url)
        with pytest.raises(InvalidToken):
            await bot.get_me()

    asyncio.run(main())
    response = httpx.post(f"{emu.base_url}999:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_sending_to_an_unknown_chat_fails(emu):
    emu.push_message(-300, "hi all", user_id=778)  # 778 is seen in a group but never opened the bot

    async def scenario(bot):
        with pytest.raises(BadRequest, match="(?i)Chat not found"):
            await bot.send_message(777, "who?")
        with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation"):
            await bot.send_message(778, "psst")
        await bot.send_message(-300, "hello group")

    run_bot(emu, scenario)


# -- parameter validation ----------------------------------------------------------------------------


def test_unknown_missing_and_mistyped_parameters_are_rejected(emu):
    unknown = call_raw(emu, "sendMessage", chat_id=CHAT, text="hi", colour="blue")
    assert unknown.status_code == 400 and 'unknown parameter "colour"' in unknown.json()["description"]

    missing = call_raw(emu, "sendMessage", chat_id=CHAT)
    assert missing.status_code == 400 and missing.json()["description"] == "Bad Request: message text is empty"
    missing = call_raw(emu, "answerCallbackQuery")
    assert "callback_query_id" in missing.json()["description"] and "required" in missing.json()["description"]

    wrong = call_raw(emu, "sendMessage", chat_id=CHAT, text="hi", disable_notification="maybe")
    assert wrong.status_code == 400 and "disable_notification" in wrong.json()["description"]
    wrong = call_raw(emu, "getUpdates", limit="ten")
    assert wrong.status_code == 400 and "Integer" in wrong.json()["description"]
    bad_json = call_raw(emu, "sendMessage", chat_id=CHAT, text="hi", reply_markup="{not json")
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["description"]
    bad_field = call_raw(emu, "sendMessage", chat_id=CHAT, text="hi",
                         reply_markup=json.dumps({"inline_keyboard": [[{"text": 5, "callback_data": "x"}]]}))
    assert bad_field.status_code == 400 and "inline_keyboard[0][0].text" in bad_field.json()["description"]
    # the failed calls are recorded too
    assert [c.status for c in emu.calls_of("sendMessage")] == [400, 400, 400, 400, 400]


def test_json_bodies_are_accepted(emu):
    response = httpx.post(f"{emu.base_url}{emu.token}/sendMessage",
                          json={"chat_id": CHAT, "text": "json", "reply_markup": {
                              "inline_keyboard": [[{"text": "go", "url": "https://example.org"}]]}})
    assert response.json()["ok"] is True
    assert emu.sent_messages(CHAT)[-1]["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.org"


def test_html_is_parsed_like_telegram(emu):
    async def scenario(bot):
        with pytest.raises(BadRequest, match='(?i)Unsupported start tag "br"'):
            await bot.send_message(CHAT, "line<br>break", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)Can't find end tag"):
            await bot.send_message(CHAT, "<b>open", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(CHAT, "1 < 2", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(CHAT, "Q&A", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)Message is too long"):
            await bot.send_message(CHAT, "x" * 4097)
        with pytest.raises(BadRequest, match="(?i)Message text is empty"):
            await bot.send_message(CHAT, "")
        with pytest.raises(BadRequest, match="(?i)Message text is empty"):
            await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")
        # the limit applies after entity parsing: 4096 visible characters plus markup is fine
        long_ok = await bot.send_message(CHAT, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
        escaped = await bot.send_message(CHAT, "1 &lt; 2 &amp;&amp; Q&#38;A &quot;ok&quot;", parse_mode="HTML")
        link = await bot.send_message(CHAT, '<a href="https://example.org/?a=1&amp;b=2">site</a>', parse_mode="HTML")
        return long_ok, escaped, link

    long_ok, escaped, link = run_bot(emu, scenario)
    assert len(long_ok.text) == 4096
    assert escaped.text == '1 < 2 && Q&A "ok"'
    assert link.entities[0].type == "text_link" and link.entities[0].url == "https://example.org/?a=1&b=2"


def test_parse_html_mirrors_telegram_error_messages():
    cases = {
        "🏟 🏟&lt;<abacaba": "Unclosed start tag at byte offset 13",
        "🏟 🏟&lt;<abac aba>": 'Unsupported start tag "abac" at byte offset 13',
        "🏟 🏟&lt;<i   =aba>": 'Empty attribute name in the tag "i" at byte offset 13',
        "🏟 🏟&lt;<i    aba>": 'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        "🏟 🏟&lt;<i    aba  =  190azAz-.,": "Unexpected end of name token at byte offset 27",
        "🏟 🏟&lt;</": "Unexpected end tag at byte offset 13",
        "🏟 🏟&lt;<i>a</i   ": "Unclosed end tag at byte offset 17",
        "🏟 🏟&lt;<i>a</em   >": 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        '<span class="x">s</span>': 'Tag "span" must have class "tg-spoiler" at byte offset 0',
    }
    for text, message in cases.items():
        with pytest.raises(EntityParseError) as info:
            parse_html(text)
        assert str(info.value) == message, text

    text, entities = parse_html('🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt;🏟</b></i>')
    assert text == "🏟 🏟🏟 ><🏟"
    assert entities == [{"offset": 5, "length": 7, "type": "italic"}, {"offset": 9, "length": 3, "type": "bold"}]
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>'
                                '<blockquote expandable>q</blockquote>'
                                '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span>')
    assert text == "x = 1qst"
    assert [e["type"] for e in entities] == ["pre", "expandable_blockquote", "spoiler", "spoiler"]
    assert entities[0]["language"] == "python"
    # Telegram itself keeps an unknown "&..." literally; that is available when not strict
    assert parse_html("Q&A", strict_ampersand=False) == ("Q&A", [])


def test_markdown_v2_requires_escaping(emu):
    with pytest.raises(EntityParseError, match="Character '.' is reserved"):
        parse_markdown_v2("Hello.")
    assert parse_markdown_v2(r"*Hi* \. _there_")[0] == "Hi . there"

    async def scenario(bot):
        with pytest.raises(BadRequest, match="(?i)reserved"):
            await bot.send_message(CHAT, "1-2", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="(?i)Can't find end of Bold entity"):
            await bot.send_message(CHAT, "*bold", parse_mode="MarkdownV2")
        return await bot.send_message(CHAT, r"*bold* and \(escaped\)", parse_mode="MarkdownV2")

    message = run_bot(emu, scenario)
    assert message.text == "bold and (escaped)" and message.entities[0].type == "bold"


def test_inline_keyboard_rules(emu):
    async def scenario(bot):
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(CHAT, "pick", reply_markup=too_long)
        multibyte = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])  # 66 bytes
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(CHAT, "pick", reply_markup=multibyte)
        no_action = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a")]])
        no_action.inline_keyboard[0][0]._unfreeze()
        no_action.inline_keyboard[0][0].callback_data = None
        with pytest.raises(BadRequest, match="(?i)Text buttons are unallowed"):
            await bot.send_message(CHAT, "pick", reply_markup=no_action)
        return await bot.send_message(
            CHAT, "pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 64)]]))

    assert run_bot(emu, scenario).reply_markup.inline_keyboard[0][0].callback_data == "d" * 64
    two_actions = call_raw(emu, "sendMessage", chat_id=CHAT, text="t", reply_markup=json.dumps(
        {"inline_keyboard": [[{"text": "x", "callback_data": "a", "url": "https://example.org"}]]}))
    assert two_actions.status_code == 400 and "exactly one" in two_actions.json()["description"]


def test_caption_limit(emu):
    async def scenario(bot):
        with pytest.raises(BadRequest, match="(?i)caption is too long"):
            await bot.send_document(CHAT, b"data", filename="a.txt", caption="c" * 1025)
        return await bot.send_document(CHAT, b"data", filename="a.txt", caption="<i>" + "c" * 1024 + "</i>",
                                       parse_mode="HTML")

    assert len(run_bot(emu, scenario).caption) == 1024


# -- faults ------------------------------------------------------------------------------------------


def test_retry_after_and_blocked_chats(emu):
    emu.add_chat(5)
    emu.fail_with_retry_after(CHAT, 7, times=1)
    emu.block_chat(5)

    async def scenario(bot):
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(CHAT, "first")
        ok = await bot.send_message(CHAT, "second")  # only the next call failed
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(5, "hello?")
        return info.value, ok

    error, ok = run_bot(emu, scenario)
    assert str(error) == "Flood control exceeded. Retry in 7 seconds"  # PTB parsed parameters.retry_after
    assert ok.text == "second"
    failed = emu.calls_of("sendMessage", chat_id=CHAT)[0]
    assert failed.status == 429 and failed.response["parameters"] == {"retry_after": 7}
    assert failed.response["description"] == "Too Many Requests: retry after 7"
    assert emu.calls_of("sendMessage", chat_id=5)[0].status == 403


def test_delay_makes_the_client_time_out_but_the_message_is_sent(emu):
    emu.delay("sendMessage", 0.6, times=1)

    async def scenario(bot):
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "slow", read_timeout=0.2)

    run_bot(emu, scenario)
    assert [m["text"] for m in emu.sent_messages(CHAT)] == ["slow"]


def test_enforced_global_rate(emu):
    emu.enforce_rate(per_second=5)
    statuses = [call_raw(emu, "sendMessage", chat_id=CHAT, text=str(i)).status_code for i in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    assert emu.calls[-1].response["parameters"]["retry_after"] >= 1


# -- updates -----------------------------------------------------------------------------------------


def test_get_updates_long_poll_wakes_on_push_and_honours_offset(emu):
    def push_later():
        time.sleep(0.3)
        emu.push_message(CHAT, "/start")

    async def scenario(bot):
        threading.Thread(target=push_later, daemon=True).start()
        started = time.monotonic()
        updates = await bot.get_updates(timeout=3)
        waited = time.monotonic() - started
        assert len(updates) == 1 and updates[0].message.text == "/start"
        assert 0.2 < waited < 2.0
        assert updates[0].message.entities[0].type == "bot_command"
        again = await bot.get_updates(timeout=0)  # not confirmed yet
        assert [u.update_id for u in again] == [updates[0].update_id]
        emu.push_message(CHAT, "second")
        rest = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
        assert [u.message.text for u in rest] == ["second"]
        started = time.monotonic()
        empty = await bot.get_updates(offset=rest[0].update_id + 1, timeout=1)
        assert empty == () and time.monotonic() - started >= 0.9

    run_bot(emu, scenario)
    assert emu.pending_updates() == []


def test_callback_queries_must_match_a_button_and_be_answered_once(emu):
    async def scenario(bot):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Agenda", callback_data="agenda")]])
        sent = await bot.send_message(CHAT, "Menu", reply_markup=markup)
        with pytest.raises(ValueError):
            emu.push_callback_query(CHAT, CHAT, "not-a-button", sent.message_id)
        query_id = emu.push_callback_query(CHAT, CHAT, "agenda", sent.message_id)
        update = (await bot.get_updates())[-1]
        assert update.callback_query.message.message_id == sent.message_id
        assert update.callback_query.data == "agenda"
        assert await bot.answer_callback_query(query_id, text="ok") is True
        with pytest.raises(BadRequest, match="(?i)Query is too old"):
            await bot.answer_callback_query(query_id)
        with pytest.raises(BadRequest, match="(?i)Query is too old"):
            await bot.answer_callback_query("12345")

    run_bot(emu, scenario)


def test_edit_message_text_not_found_and_not_modified(emu):
    async def scenario(bot):
        with pytest.raises(BadRequest, match="(?i)Message to edit not found"):
            await bot.edit_message_text("new", chat_id=CHAT, message_id=999)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
        sent = await bot.send_message(CHAT, "<b>same</b>", parse_mode="HTML", reply_markup=markup)
        with pytest.raises(BadRequest, match="(?i)Message is not modified"):
            await bot.edit_message_text("<b>same</b>", chat_id=CHAT, message_id=sent.message_id,
                                        parse_mode="HTML", reply_markup=markup)
        edited = await bot.edit_message_text("changed", chat_id=CHAT, message_id=sent.message_id, reply_markup=markup)
        assert edited.text == "changed" and edited.edit_date is not None
        with pytest.raises(BadRequest, match="(?i)Message is not modified"):
            await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id, reply_markup=markup)
        await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id, reply_markup=None)
        assert await bot.delete_message(CHAT, sent.message_id) is True
        with pytest.raises(BadRequest, match="(?i)Message to delete not found"):
            await bot.delete_message(CHAT, sent.message_id)

    run_bot(emu, scenario)
    assert emu.sent_messages(CHAT) == []


def test_answer_inline_query_limits(emu):
    def article(i, rid=None):
        return InlineQueryResultArticle(rid or f"r{i}", f"Title {i}", InputTextMessageContent(f"text {i}"))

    async def scenario(bot):
        query_id = emu.push_inline_query(7, "keynote")
        with pytest.raises(BadRequest, match="(?i)results_too_much"):
            await bot.answer_inline_query(query_id, [article(i) for i in range(51)])
        with pytest.raises(BadRequest, match="(?i)result_id_duplicate"):
            await bot.answer_inline_query(query_id, [article(1), article(2, rid="r1")])
        with pytest.raises(BadRequest, match="(?i)result_id_invalid"):
            await bot.answer_inline_query(query_id, [article(1, rid="x" * 65)])
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.answer_inline_query(query_id, [InlineQueryResultArticle(
                "a", "t", InputTextMessageContent("<blink>", parse_mode="HTML"))])
        assert await bot.answer_inline_query(query_id, [article(i) for i in range(50)]) is True
        with pytest.raises(BadRequest, match="(?i)Query is too old"):
            await bot.answer_inline_query(query_id, [article(1)])

    run_bot(emu, scenario)
    update = emu.calls_of("answerInlineQuery")[-2]
    assert update.ok and len(update.params["results"]) == 50


def test_set_my_commands_validation_and_per_language_storage(emu):
    async def scenario(bot):
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([("Start", "Begin")])
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([("x" * 33, "too long")])
        with pytest.raises(BadRequest, match="(?i)bot_command_description_invalid"):
            await bot.set_my_commands([("start", "d" * 257)])
        with pytest.raises(BadRequest, match="(?i)bot_commands_too_much"):
            await bot.set_my_commands([(f"c{i}", "d") for i in range(101)])
        await bot.set_my_commands([("start", "Begin"), ("agenda", "Programme")])
        await bot.set_my_commands([("start", "시작")], language_code="ko")
        default = await bot.get_my_commands()
        korean = await bot.get_my_commands(language_code="ko")
        german = await bot.get_my_commands(language_code="de")
        return default, korean, german

    default, korean, german = run_bot(emu, scenario)
    assert [(c.command, c.description) for c in default] == [("start", "Begin"), ("agenda", "Programme")]
    assert [(c.command, c.description) for c in korean] == [("start", "시작")]
    assert german == ()
    assert emu.bot_commands(language_code="ko") == [{"command": "start", "description": "시작"}]


def test_send_document_multipart_is_recorded_with_filename_and_bytes(emu):
    payload = bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"

    async def scenario(bot):
        return await bot.send_document(CHAT, document=payload, filename="agenda.ics", caption="Your agenda")

    message = run_bot(emu, scenario)
    assert message.document.file_name == "agenda.ics" and message.document.file_size == len(payload)
    call = emu.calls_of("sendDocument")[0]
    upload = call.params["document"]
    assert isinstance(upload, UploadedFile) and upload.filename == "agenda.ics" and upload.data == payload
    assert call.params["caption"] == "Your agenda" and call.params["chat_id"] == CHAT

    async def resend(bot):
        again = await bot.send_document(CHAT, message.document.file_id)  # by file_id
        with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
            await bot.send_document(CHAT, "no-such-file-id")
        return again

    assert run_bot(emu, resend).document.file_id == message.document.file_id


def test_location_venue_copy_and_forward(emu):
    emu.add_chat(-100123, title="Attendees")

    async def scenario(bot):
        loc = await bot.send_location(CHAT, latitude=37.5665, longitude=126.978)
        venue = await bot.send_venue(CHAT, 37.5, 127.0, "COEX", "Seoul")
        with pytest.raises(BadRequest):
            await bot.send_location(CHAT, latitude=123, longitude=0)
        copied = await bot.copy_message(-100123, CHAT, venue.message_id)
        forwarded = await bot.forward_message(-100123, CHAT, loc.message_id)
        with pytest.raises(BadRequest, match="(?i)Message to copy not found"):
            await bot.copy_message(-100123, CHAT, 9999)
        await bot.send_chat_action(CHAT, "typing")
        return loc, venue, copied, forwarded

    loc, venue, copied, forwarded = run_bot(emu, scenario)
    assert loc.location.latitude == pytest.approx(37.5665) and venue.venue.title == "COEX"
    group = emu.sent_messages(-100123)
    assert group[0]["message_id"] == copied.message_id and group[0]["venue"]["title"] == "COEX"
    assert forwarded.forward_origin.type == "user" and forwarded.location is not None


def test_group_messages_and_replies(emu):
    update = emu.push_message(-555, "/agenda@wscw_test_bot", user_id=9, first_name="Bo")
    message = update["message"]
    assert message["chat"] == {"id": -555, "type": "group", "title": "Test group -555"}
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 21}]

    async def scenario(bot):
        reply = await bot.send_message(-555, "Here you go", reply_parameters=telegram.ReplyParameters(
            message["message_id"]))
        with pytest.raises(BadRequest, match="(?i)Message to be replied not found"):
            await bot.send_message(-555, "x", reply_parameters=telegram.ReplyParameters(777))
        return reply

    reply = run_bot(emu, scenario)
    assert reply.reply_to_message.message_id == message["message_id"]
    assert reply.message_id == message["message_id"] + 1  # ids are shared per chat


# -- control interface, standalone use, whole application -------------------------------------------


def test_methods_without_an_implementation_are_still_validated(emu):
    """logOut/close (and every other method without an _m_ implementation) go through the spec check."""
    assert emu.request("logOut") == (200, {"ok": True, "result": True})
    status, response = emu.request("close", {"chat_id": CHAT})
    assert status == 400 and response["description"] == 'Bad Request: unknown parameter "chat_id" for method close'
    status, response = emu.request("banChatMember", {"chat_id": CHAT})
    assert status == 400 and response["description"] == 'Bad Request: parameter "user_id" is required'
    status, response = emu.request("banChatMember", {"chat_id": CHAT, "user_id": "x"})
    assert status == 400 and "must be of type Integer" in response["description"]


def test_the_spec_ships_in_the_package_and_botapi_spec_overrides_it(monkeypatch, tmp_path):
    monkeypatch.delenv("BOTAPI_SPEC", raising=False)
    shipped = Path(emulator_package.__file__).with_name("botapi-10.1.json")
    assert default_spec_path() == shipped.resolve() and shipped.is_file()
    assert BotApiEmulator().spec.version == "Bot API 10.1"

    full = json.loads(shipped.read_text(encoding="utf-8"))
    tiny = {"version": "test-0.1", "methods": {"getMe": full["methods"]["getMe"]}, "types": {}}
    (tmp_path / "tiny.json").write_text(json.dumps(tiny), encoding="utf-8")
    monkeypatch.setenv("BOTAPI_SPEC", str(tmp_path / "tiny.json"))
    small = BotApiEmulator()
    assert small.spec.version == "test-0.1"
    assert small.request("getMe")[0] == 200
    assert small.request("sendMessage", {"chat_id": CHAT, "text": "hi"}) == (
        404, {"ok": False, "error_code": 404, "description": "Not Found"})


@pytest.mark.parametrize("command", [
    ["-m", "emulator", "--port", "0", "--token", "654321:ABC", "--chat", "77"],
    ["-m", "bot", "emulator", "--port", "0", "--token", "654321:ABC"],
], ids=["python -m emulator", "python -m bot emulator"])
def test_standalone_emulator_serves_until_terminated(command):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base_url = proc.stdout.readline().strip()  # printed once it listens
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot"), proc.stderr.read()
        me = httpx.post(f"{base_url}654321:ABC/getMe", timeout=5).json()
        assert me["ok"] and me["result"]["id"] == 654321
        sent = httpx.post(f"{base_url}654321:ABC/sendMessage", data={"chat_id": 77, "text": "hi"}, timeout=5)
        assert sent.status_code == (200 if "--chat" in command else 400)
        assert httpx.get(base_url.removesuffix("/bot") + "/_emulator/health", timeout=5).json()["ok"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()



def test_control_interface_over_http(emu):
    base = f"{emu.url}/_emulator"
    pushed = httpx.post(f"{base}/push_update", json={"chat_id": 31, "text": "/help"}).json()
    assert pushed["ok"] and pushed["result"]["message"]["text"] == "/help"
    httpx.post(f"{base}/push_update", json={"callback_query": {
        "id": "cq1", "from": {"id": 31, "is_bot": False, "first_name": "X"}, "chat_instance": "1", "data": "d"}})
    httpx.post(f"{base}/add_chat", json={"chat_id": 32})
    httpx.post(f"{base}/retry_after", json={"chat_id": 32, "retry_after": 3})

    async def scenario(bot):
        updates = await bot.get_updates()
        with pytest.raises(RetryAfter):
            await bot.send_message(32, "x")
        await bot.send_message(31, "reply")
        return updates

    updates = run_bot(emu, scenario)
    assert updates[0].message.text == "/help" and updates[1].callback_query.data == "d"
    calls = httpx.get(f"{base}/calls", params={"since": 0}).json()
    assert [c["method"] for c in calls][-2:] == ["sendMessage", "sendMessage"]
    assert calls[-2]["status"] == 429 and calls[-1]["params"]["text"] == "reply"
    since = httpx.get(f"{base}/calls", params={"since": len(calls) - 1}).json()
    assert len(since) == 1 and since[0]["index"] == len(calls) - 1
    httpx.post(f"{base}/block_chat", json={"chat_id": 31})
    assert call_raw(emu, "sendMessage", chat_id=31, text="x").status_code == 403
    assert httpx.post(f"{base}/nope").status_code == 404


def test_wait_for_times_out_with_a_dump_and_listeners_see_calls(emu):
    seen = []
    unsubscribe = emu.subscribe(seen.append)
    call_raw(emu, "sendMessage", chat_id=CHAT, text="only this")
    unsubscribe()
    call_raw(emu, "getMe")
    assert [c.method for c in seen] == ["sendMessage"]
    with pytest.raises(AssertionError, match="only this"):
        emu.wait_for("sendPhoto", timeout=0.2)
    assert emu.wait_for("sendMessage")[0].params["text"] == "only this"


def test_application_polling_loop_end_to_end(emu):
    async def start(update, context):
        await update.message.reply_text(f"Welcome, <b>{update.effective_user.first_name}</b>!", parse_mode="HTML",
                                        reply_markup=InlineKeyboardMarkup(
                                            [[InlineKeyboardButton("Agenda", callback_data="agenda")]]))

    async def on_button(update, context):
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Agenda: keynote at 10:00")

    async def main():
        request = HTTPXRequest(connection_pool_size=8)
        app = (ApplicationBuilder().token(emu.token).base_url(emu.base_url)
               .request(request).get_updates_request(HTTPXRequest()).build())
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(on_button))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            try:
                emu.push_message(CHAT, "/start", first_name="Ada")
                sent = await asyncio.to_thread(emu.wait_for, lambda c: c.method == "sendMessage" and c.ok)
                message_id = sent[0].result["message_id"]
                emu.push_callback_query(CHAT, CHAT, "agenda", message_id)
                await asyncio.to_thread(emu.wait_for, lambda c: c.method == "editMessageText" and c.ok)
            finally:
                await app.updater.stop()
                await app.stop()

    asyncio.run(main())
    assert emu.sent_messages(CHAT)[0]["text"] == "Agenda: keynote at 10:00"
    assert emu.calls_of("answerCallbackQuery")[0].ok
    assert [c for c in emu.calls if not c.ok and c.method != "getUpdates"] == []
