"""Safe knowledge reloads (issue 11, items 3, 4 and the reload parts of 9).

Plain-Python rules of bot/reload.py (debounce, the hold decision, the worker thread and its time
limit), then the real Application against the emulator: a half-written save is loaded once, complete;
a save that empties a file or removes many entries waits for staff ("Apply anyway" / "Keep current")
and attendees hear nothing before it is applied; a save that changes nothing is silent; staff always
hear why a reload failed; a 60 MB file never stalls answers; old knowledge is freed after a reload.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import threading
import time
import weakref
from dataclasses import replace
from pathlib import Path

import pytest

from bot.answer import Brain
from bot.config import load_config
from bot.knowledge import diff_knowledge, load_knowledge
from bot.reload import Debounce, Reloader, assess, fingerprint
from emulator import BotApiEmulator, Call
from handlers.reload import reloader, watch
from harness import ROOT, STAFF, TOKEN, BotRunner, Chat, buttons, frozen_clock, make_config

OPENING = "opening-ceremony"
OPENING_TITLE = "Opening ceremony and welcome dinner"
MATCHING = replace(load_config(ROOT / "config.yaml", env={}).matching, analyser="rules")


def copy_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb)
    return kb


def drop_items(path: Path, ids: list[str]) -> None:
    """Remove the `- id: …` blocks of `ids` from a knowledge file."""
    text = path.read_text(encoding="utf-8")
    for ident in ids:
        start = text.index(f"  - id: {ident}\n")
        nxt = text.find("\n  - id: ", start + 1)
        text = text[:start] + (text[nxt + 1:] if nxt != -1 else "")
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- rules (plain Python)


def test_debounce_waits_for_one_stable_interval() -> None:
    d = Debounce(("a",))
    assert not d.due(("a",))  # nothing changed
    assert not d.due(("half",))  # changed: wait one interval
    assert not d.due(("full",))  # changed again while being saved: wait again
    assert d.due(("full",))  # stable for one interval: load
    d.attempted(("full",))
    assert not d.due(("full",))  # loaded: nothing to do until the next change


def test_debounce_on_real_files(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    d = Debounce(fingerprint(kb))
    (kb / "faq.yaml").write_text("faq:\n", encoding="utf-8")  # first step of a save
    assert not d.due(fingerprint(kb))
    (kb / "faq.yaml").write_text((ROOT / "knowledge" / "faq.yaml").read_text(encoding="utf-8") + "\n# saved\n",
                                 encoding="utf-8")
    assert not d.due(fingerprint(kb))
    assert d.due(fingerprint(kb))


def test_hold_decision(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    old = load_knowledge(kb)

    def loss():
        new = load_knowledge(kb)
        return assess(old, new, diff_knowledge(old, new))

    drop_items(kb / "programme.yaml", ["opening-ceremony"])  # one session: an ordinary edit
    small = loss()
    assert not small.hold and small.removed == ("session:opening-ceremony",)

    faq_ids = [f.id for f in old.faq]
    drop_items(kb / "faq.yaml", [f for f in faq_ids if f in old.sources["faq.yaml"]][:12])
    drop_items(kb / "faq_programmes.yaml", [f for f in faq_ids if f in old.sources["faq_programmes.yaml"]][:10])
    many = loss()  # 23 of 98 entries: more than a fifth
    assert len(many.removed) == 23 and many.total == len(old.entries) and many.hold
    assert not many.emptied and not many.deleted

    shutil.copy(ROOT / "knowledge" / "faq.yaml", kb / "faq.yaml")
    shutil.copy(ROOT / "knowledge" / "faq_programmes.yaml", kb / "faq_programmes.yaml")
    (kb / "synonyms.yaml").write_text("# being rewritten\n", encoding="utf-8")  # no entries, but content gone
    emptied = loss()
    assert emptied.hold and emptied.emptied == ("synonyms.yaml",) and len(emptied.removed) == 1

    shutil.copy(ROOT / "knowledge" / "synonyms.yaml", kb / "synonyms.yaml")
    shutil.copy(ROOT / "knowledge" / "programme.yaml", kb / "programme.yaml")
    (kb / "faq_results.yaml").unlink()  # 10 of 98 entries, but a whole file
    deleted = loss()
    assert deleted.hold and deleted.deleted == ("faq_results.yaml",) and len(deleted.removed) == 10


def test_load_runs_in_a_worker_thread_with_a_time_limit() -> None:
    """The loop keeps running while a load works; a load over the limit is abandoned (old brain kept)
    and blocks the next one until it ends; any exception becomes a reason for staff."""
    brain = Brain.load(ROOT / "knowledge", MATCHING)
    release = threading.Event()

    def slow_load() -> Brain:
        release.wait(10)
        return brain

    async def main() -> None:
        r = Reloader(slow_load, lambda: brain, timeout=0.3)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        outcome = await r.reload()
        assert outcome.kind == "failed" and "more than 0.3 s" in outcome.text and outcome.new is None
        assert ticks >= 10  # the event loop ran during the load
        assert r.busy and (await r.reload()).kind == "busy"  # the abandoned load still runs
        release.set()
        for _ in range(100):
            if not r.busy:
                break
            await asyncio.sleep(0.02)
        assert not r.busy
        task.cancel()

        def broken() -> Brain:
            raise RuntimeError("disk on fire")

        failed = await Reloader(broken, lambda: brain).reload()
        assert failed.kind == "failed" and "RuntimeError: disk on fire" in failed.text

    asyncio.run(main())


# ---------------------------------------------------------------- end to end


@pytest.fixture
def env(tmp_path):
    emu = BotApiEmulator(token=TOKEN).start()
    emu.add_chat(STAFF)
    cfg = replace(make_config(tmp_path, emu), knowledge_dir=copy_kb(tmp_path))
    runners: list[BotRunner] = []

    def start(share: bool = True, **changes) -> BotRunner:
        c = replace(cfg, **changes)
        runner = BotRunner(c, frozen_clock(c, "2018-09-18T10:00"), share=share).start()
        runners.append(runner)
        return runner

    yield emu, cfg, start
    for r in runners:
        r.stop()
    emu.stop()


def staff_messages(emu: BotApiEmulator, since: int) -> list[Call]:
    return [c for c in emu.calls[since:] if c.method == "sendMessage" and c.ok and c.params.get("chat_id") == STAFF]


def to_chat(emu: BotApiEmulator, chat: Chat, since: int) -> list[Call]:
    return [c for c in emu.calls[since:] if c.method == "sendMessage" and c.ok
            and str(c.params.get("chat_id")) == str(chat.chat_id)]


def press_late(emu: BotApiEmulator, message: Call, data: str) -> Call:
    """A press on a button that was just retired (a second staff member pressing at the same moment)."""
    since = len(emu.calls)
    emu.push_callback_query(STAFF, STAFF, data, message.result["message_id"], require_button=False)
    return emu.wait_for(lambda c: c.method == "editMessageText" and c.params.get("chat_id") == STAFF, since=since)[-1]


def save_opening(user: Chat) -> None:
    answer = user.say("opening ceremony")
    data = f"sv:{OPENING}"
    assert data in [b.get("callback_data") for b in buttons(answer)]
    qid = user.emu.push_callback_query(user.chat_id, user.user_id, data, answer.result["message_id"])
    user.emu.wait_for(lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == qid)


def test_half_written_save_is_loaded_once_complete(env) -> None:
    """The watcher's look (handlers.reload.watch, what the JobQueue job runs) sees the file half written,
    then complete: it loads only after the complete file stayed the same for one look."""
    emu, cfg, start = env
    bot = start()
    programme = cfg.knowledge_dir / "programme.yaml"
    full = programme.read_text(encoding="utf-8").replace('start: "16:00"', 'start: "16:30"')
    since = len(emu.calls)
    brain = bot.core.brain
    programme.write_text(full[: len(full) // 2], encoding="utf-8")  # the editor's first write
    assert bot.call(lambda: watch(bot.app)) is False
    programme.write_text(full, encoding="utf-8")  # the second
    assert bot.call(lambda: watch(bot.app)) is False
    assert bot.core.brain is brain and staff_messages(emu, since) == []
    assert bot.call(lambda: watch(bot.app)) is True  # stable for one look: loaded, once
    [report] = staff_messages(emu, since)
    assert "Knowledge reloaded" in report.params["text"] and "changed: day:2018-09-18, session:opening" in report.params["text"]
    assert bot.core.brain.kb.session(OPENING).start.strftime("%H:%M") == "16:30"
    assert bot.call(lambda: watch(bot.app)) is False and len(staff_messages(emu, since)) == 1


def test_emptied_file_is_held_until_staff_apply_it(env) -> None:
    emu, cfg, start = env
    bot = start(reload_seconds=0.2)  # the real watcher job
    user = Chat(emu, user_id=71001, lang="en")
    save_opening(user)
    staff = Chat(emu, user_id=STAFF, lang="en")
    brain = bot.core.brain
    since = len(emu.calls)
    (cfg.knowledge_dir / "programme.yaml").write_text("", encoding="utf-8")  # truncated by a failing save
    held = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == STAFF
                        and "held" in c.params.get("text", ""), since=since, timeout=10)[-1]
    text = held.params["text"]
    assert "File emptied: programme.yaml (had 28 items)" in text and "Entries removed: 28 of 98" in text
    assert "• session:academic-conference — Smart City Academic Conference" in text and "… and 20 more" in text
    assert [b["text"] for b in buttons(held)] == ["✅ Apply anyway", "✋ Keep current"]  # in the staff member's language
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons(held))
    # nothing changed for attendees: same knowledge, no notice
    assert bot.core.brain is brain
    assert OPENING_TITLE in user.say("opening ceremony").params["text"]
    for _ in range(3):  # three more looks of the watcher: the held version is not offered again
        bot.run_job("knowledge-watch", emu)
    assert [c for c in to_chat(emu, user, since) if "removed from the programme" in c.params["text"]] == []
    assert len([c for c in staff_messages(emu, since) if "held" in c.params["text"]]) == 1

    since = len(emu.calls)
    staff.press(held, "Apply anyway")
    edited = emu.wait_for(lambda c: c.method == "editMessageText" and c.params.get("message_id")
                          == held.result["message_id"], since=since, timeout=8)[-1]
    assert "Knowledge reloaded" in edited.params["text"] and "28 removed" in edited.params["text"]
    assert bot.core.brain is not brain and bot.core.brain.kb.session(OPENING) is None
    notice = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == user.chat_id
                          and "removed from the programme" in c.params.get("text", ""), since=since, timeout=8)
    assert OPENING_TITLE in notice[-1].params["text"]
    assert bot.core.metrics.reloads._value.get() == 1
    # pressed again (by another staff member at the same moment): nothing happens twice
    brain = bot.core.brain
    assert "no longer open" in press_late(emu, held, buttons(held)[0]["callback_data"]).params["text"]
    assert bot.core.brain is brain and bot.core.metrics.reloads._value.get() == 1


def test_keep_current_changes_nothing_and_a_newer_save_supersedes(env) -> None:
    emu, cfg, start = env
    bot = start()
    user = Chat(emu, user_id=71002, lang="en")
    save_opening(user)
    staff = Chat(emu, user_id=STAFF, lang="en")
    brain = bot.core.brain
    faq = cfg.knowledge_dir / "faq_results.yaml"
    source = faq.read_text(encoding="utf-8")
    faq.unlink()  # a whole file gone
    since = len(emu.calls)
    held = staff.say("/reload")
    assert "File removed: faq_results.yaml (had 10 items)" in held.params["text"] and buttons(held)
    since = len(emu.calls)
    staff.press(held, "Keep current")
    kept = emu.wait_for(lambda c: c.method == "editMessageText" and c.params.get("chat_id") == STAFF, since=since)[-1]
    assert "Kept the current knowledge" in kept.params["text"] and "reply_markup" not in kept.params
    assert bot.core.brain is brain and bot.core.metrics.reloads._value.get() == 0

    held = staff.say("/reload")  # held again; then the file comes back before anyone answers
    assert "File removed" in held.params["text"]
    faq.write_text(source, encoding="utf-8")
    since = len(emu.calls)
    report = staff.say("/reload")
    assert "No changes" in report.params["text"]
    retired = emu.wait_for(lambda c: c.method == "editMessageText" and c.params.get("message_id")
                           == held.result["message_id"], since=since)[-1]
    assert "replaced by a newer reload" in retired.params["text"]
    assert "no longer open" in press_late(emu, held, buttons(held)[0]["callback_data"]).params["text"]
    assert bot.core.brain is brain and to_chat(emu, user, since) == []


def test_a_save_that_changes_nothing_is_silent(env) -> None:
    emu, cfg, start = env
    bot = start(reload_seconds=0.2)
    user = Chat(emu, user_id=71003, lang="en")
    save_opening(user)
    brain = bot.core.brain
    since = len(emu.calls)
    programme = cfg.knowledge_dir / "programme.yaml"
    programme.write_text(programme.read_text(encoding="utf-8") + "\n# checked by the organisers\n", encoding="utf-8")
    deadline = time.monotonic() + 10
    while bot.app.bot_data.debounce.loaded != fingerprint(cfg.knowledge_dir) and time.monotonic() < deadline:
        time.sleep(0.05)  # the watcher has looked at the saved folder
    assert bot.app.bot_data.debounce.loaded == fingerprint(cfg.knowledge_dir)
    bot.idle(emu)
    assert staff_messages(emu, since) == [] and to_chat(emu, user, since) == []
    assert bot.core.brain is brain
    # staff who ask still get an answer
    report = Chat(emu, user_id=STAFF, lang="en").say("/reload")
    assert "Knowledge reloaded" in report.params["text"] and "No changes" in report.params["text"]


def test_staff_hear_why_a_reload_failed(env) -> None:
    emu, cfg, start = env
    bot = start(reload_seconds=0.2)
    user = Chat(emu, user_id=71004, lang="en")
    bomb = cfg.knowledge_dir / "zz_bomb.yaml"
    lines = ["a: &a [" + ",".join(["lol"] * 10) + "]"]
    lines += [f"{n}: &{n} [" + ",".join([f"*{p}"] * 10) + "]" for p, n in zip("abcdefghi", "bcdefghij", strict=True)]
    since = len(emu.calls)
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = emu.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == STAFF
                          and "problem" in c.params.get("text", ""), since=since, timeout=10)[-1]
    assert f"{bomb}:6: (alias): " in report.params["text"] and "last good version" in report.params["text"]
    assert bot.core.metrics.reload_failures._value.get() == 1
    assert OPENING_TITLE in user.say("opening ceremony").params["text"]


def test_a_60_mb_file_does_not_stall_answers(env) -> None:
    emu, cfg, start = env
    start()
    user = Chat(emu, user_id=71005, lang="en")
    staff = Chat(emu, user_id=STAFF, lang="en")
    huge = cfg.knowledge_dir / "zz_export.yaml"  # e.g. a data export saved into the folder by mistake
    huge.write_bytes(b"faq:\n" + b"  - id: x\n" * (60 * 2**20 // 10))
    since = len(emu.calls)
    started = time.monotonic()
    emu.push_message(STAFF, "/reload", user_id=STAFF)
    emu.push_message(user.chat_id, "opening ceremony", user_id=user.user_id)  # in flight meanwhile
    answer = user.replies(since)[-1]
    report = staff.replies(since)[-1]
    assert time.monotonic() - started < 5
    assert OPENING_TITLE in answer.params["text"]
    assert "zz_export.yaml:1: (file): the file is 60.0 MB" in report.params["text"]
    huge.unlink()


def test_old_knowledge_is_freed_after_reloads(env) -> None:
    emu, cfg, start = env
    bot = start(share=False)  # the first Brain must be the bot's own (the shared one lives on)
    staff = Chat(emu, user_id=STAFF, lang="en")
    faq = cfg.knowledge_dir / "faq.yaml"
    source = faq.read_text(encoding="utf-8")
    olds = []
    for n in range(3):
        olds.append(weakref.ref(bot.core.brain))
        faq.write_text(source.replace("about-wscw", f"about-wscw-{n}"), encoding="utf-8")
        assert "Knowledge reloaded" in staff.say("/reload").params["text"]
    bot.call(lambda: asyncio.sleep(0.1))
    gc.collect()
    assert [r() for r in olds] == [None, None, None]
    assert reloader(bot.app).held is None
