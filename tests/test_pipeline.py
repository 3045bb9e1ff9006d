"""What every update goes through (handlers/pipeline.py), end to end against the emulator: unparseable
updates are skipped, one flood limit covers every kind of update, commands for other bots are ignored,
and the metrics count updates, replies and questions."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulator import BotApiEmulator
from harness import STAFF, TOKEN, BotRunner, Chat, buttons, frozen_clock, make_config

OPENING = "opening-ceremony"
_uid = iter(range(30_000, 40_000))


@pytest.fixture(scope="module")
def bot(emu, tmp_path_factory):
    cfg = make_config(tmp_path_factory.mktemp("pipeline"), emu)
    runner = BotRunner(cfg, frozen_clock(cfg, "2018-09-18T15:30")).start()
    yield runner
    runner.stop()


def chat(emu: BotApiEmulator, **kw) -> Chat:
    return Chat(emu, user_id=next(_uid), **kw)


def sent_to(emu: BotApiEmulator, chat_id: int, since: int, method: str = "sendMessage") -> list:
    return [c for c in emu.calls[since:] if c.method == method and str(c.params.get("chat_id")) == str(chat_id)]


def settle(emu: BotApiEmulator, runner: BotRunner) -> None:
    """Wait until the bot has handled everything pushed before (fetched, handled, nothing in flight)."""
    runner.idle(emu)


def metrics(runner: BotRunner) -> dict[tuple[str, tuple], float]:
    values = {}
    for family in text_string_to_metric_families(runner.core.metrics.render().decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_unparseable_updates_are_skipped_once_and_the_next_ones_answered(bot, emu, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="handlers.pipeline")
    c = chat(emu)
    now = int(time.time())
    bad = [emu.push_update({"message": {}})["update_id"]]
    bad += [emu.push_update({"message": {"message_id": 1, "text": "no date", "chat": {"id": c.chat_id, "type": "private"},
                                 "from": {"id": c.user_id, "is_bot": False, "first_name": "X"}}})["update_id"]]
    bad += [emu.push_update({"callback_query": {"id": "1", "from": {"id": c.user_id}, "chat_instance": "1",
                                                "data": "x", "message": {"message_id": 1, "date": now}}})["update_id"]]
    reply = c.say("/contact")  # without the fix PTB refetches the bad batch forever: no reply
    assert "044-201-4878" in reply.params["text"]
    c.say("/contact")  # later batches no longer contain the bad updates ...
    skipped = [r for r in caplog.records if "cannot be parsed" in r.getMessage()]
    assert len(skipped) == 3, [r.getMessage() for r in skipped]  # ... so each was logged once
    assert all(r.levelno == logging.WARNING for r in skipped)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no second, louder line from PTB
    assert not [u for u in emu.pending_updates() if u["update_id"] in bad]  # confirmed to Telegram


def test_commands_for_other_bots_are_ignored(bot, emu) -> None:
    private = chat(emu)
    group = chat(emu, chat_id=-next(_uid), chat_type="group")
    since = private.mark()
    for text in ("/start@otherbot", "/foo@otherbot", "/contact@OtherBot hello"):
        emu.push_message(private.chat_id, text, user_id=private.user_id)
        emu.push_message(group.chat_id, text, user_id=group.user_id, chat_type="group")
    settle(emu, bot)
    assert not sent_to(emu, private.chat_id, since) and not sent_to(emu, group.chat_id, since)
    # the same commands addressed to this bot are answered (in a group too)
    assert "044-201-4878" in group.say("/contact@wscw_test_bot").params["text"]
    assert group.say("/foo@wscw_test_bot").params["text"]
    assert private.say("/foo").params["text"]


def test_metrics_count_updates_by_kind_replies_and_questions(bot, emu) -> None:
    settle(emu, bot)
    before = metrics(bot)
    c = chat(emu)
    c.say("/contact")
    c.say("/help")
    answer = c.say("opening ceremony")
    c.say("what's the weather in Tokyo tomorrow morning?")
    since = len(emu.calls)
    emu.push_callback_query(c.chat_id, c.user_id, f"sv:{OPENING}", answer.result["message_id"])
    emu.wait_for("answerCallbackQuery", since=since)
    emu.push_inline_query(c.user_id, "해커톤")
    emu.wait_for("answerInlineQuery", since=since)
    settle(emu, bot)
    after = metrics(bot)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("bot_updates_total", kind="command") == 2
    assert grew("bot_updates_total", kind="message") == 2
    assert grew("bot_updates_total", kind="callback_query") == 1
    assert grew("bot_updates_total", kind="inline_query") == 1
    assert grew("bot_reply_seconds_count") == 6
    assert 0 < grew("bot_reply_seconds_sum") < 6 * 5
    assert grew("bot_questions_total", outcome="answer") == 1
    assert grew("bot_questions_total", outcome="none") == 1
    assert grew("bot_unanswered_total") == 1


def test_one_flood_limit_for_every_kind_of_update_but_never_for_staff(tmp_path) -> None:
    with BotApiEmulator(token=TOKEN) as emu:
        cfg = replace(make_config(tmp_path, emu), flood_messages=3, flood_seconds=60)
        runner = BotRunner(cfg, frozen_clock(cfg, "2018-09-18T15:30")).start()
        try:
            c = chat(emu)
            c.say("/start")
            c.say("/feedback")
            answer = c.say("opening ceremony")  # 3 of 3
            assert f"sv:{OPENING}" in [b["callback_data"] for b in buttons(answer)]

            # a ☆ press over the limit: answered (so the client stops spinning) with the explanation once ...
            since = c.mark()
            emu.push_callback_query(c.chat_id, c.user_id, f"sv:{OPENING}", answer.result["message_id"])
            ack = emu.wait_for("answerCallbackQuery", since=since)[0]
            assert "a lot of messages" in ack.params.get("text", "")
            # ... and nothing else happens: the session is not saved, /start /feedback and inline are ignored
            emu.push_callback_query(c.chat_id, c.user_id, f"sv:{OPENING}", answer.result["message_id"])
            emu.push_message(c.chat_id, "/start", user_id=c.user_id)
            emu.push_message(c.chat_id, "/feedback great event", user_id=c.user_id)
            for _ in range(5):  # staff are never limited
                assert "044-201-4878" in Chat(emu, user_id=STAFF).say("/contact").params["text"]
            settle(emu, runner)
            acks = [x for x in emu.calls[since:] if x.method == "answerCallbackQuery"]
            assert len(acks) == 2 and not acks[1].params.get("text")
            assert not sent_to(emu, c.chat_id, since) and not sent_to(emu, c.chat_id, since, "editMessageReplyMarkup")
            assert runner.core.store.agenda(c.user_id) == []
            assert runner.core.store.comments() == []

            # inline queries: a budget of their own, of the same size (the flooded chat user may still search)
            for n in range(5):
                emu.push_inline_query(c.user_id, f"해커톤 {n}")
            emu.wait_for("answerInlineQuery", count=3, since=since)
            settle(emu, runner)
            assert len(emu.calls_of("answerInlineQuery")) == 3
        finally:
            runner.stop()
