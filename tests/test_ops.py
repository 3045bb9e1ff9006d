"""Operating the bot (issue 11 items 5 and 8, doctor, backup/restore): one bot per data folder, a database
deleted under the running bot is noticed, CLI broadcasts never go silently to nobody, `doctor` checks
everything an operator needs, and a backup taken mid-broadcast restores into a bot that finishes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.ops import DataLock, OperatorError
from bot.store import Store
from emulator import BotApiEmulator
from harness import ROOT, TOKEN

SECRET = TOKEN.split(":", 1)[1]


def env_for(data: Path, base_url: str = "http://127.0.0.1:9/bot", **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    return {**base, "BOT_DATA_DIR": str(data), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": base_url, **extra}


def cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def start_bot(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=log, stderr=log)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def write_config(tmp_path: Path, rate: float = 25) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nreload:\n  poll_seconds: 0\nmatching:\n  analyser: rules\n"
                    f"broadcast:\n  rate_per_second: {rate}\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- item 5: one bot per data folder


@pytest.mark.slow
def test_second_run_on_the_same_data_folder_refuses_and_names_the_pid(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with BotApiEmulator(token=TOKEN) as emu:
        env = env_for(data, emu.base_url, BOT_CONFIG=str(write_config(tmp_path)))
        first = start_bot(env, tmp_path / "first.log")
        try:
            emu.wait_for("getUpdates", timeout=60)
            getme_before = len(emu.calls_of("getMe"))
            started = time.monotonic()
            second = cli("run", env=env)
            assert time.monotonic() - started < 30
            assert second.returncode != 0
            lines = [line for line in second.stderr.splitlines() if line.strip()]
            assert lines == [f"error: another bot (pid {first.pid}) is already running on data folder {data}: "
                             "stop it first (or use another BOT_DATA_DIR)"], second.stderr
            assert len(emu.calls_of("getMe")) == getme_before, "the second bot must not even talk to Telegram"
            assert first.poll() is None, "the first bot keeps running"
            chat = subprocess.run([sys.executable, "-m", "bot", "chat"], input="!quit\n", capture_output=True,
                                  text=True, cwd=ROOT, env=env, timeout=60)  # it would drain the same outbox
            assert chat.returncode != 0 and f"another bot (pid {first.pid})" in chat.stderr

            doctor = cli("doctor", env=env)  # a running bot is information, not a failure
            assert doctor.returncode == 0, doctor.stdout
            assert f"a bot is running on it (pid {first.pid})" in doctor.stdout
        finally:
            stop(first)
        assert DataLock(data).holder() is None, "the lock goes with the process"


def test_lock_is_released_by_a_killed_process(tmp_path: Path) -> None:
    code = ("import sys, time; from bot.ops import DataLock; DataLock(sys.argv[1]).acquire(); print('locked', "
            "flush=True); time.sleep(60)")
    data = tmp_path / "data"
    data.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", code, str(data)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert DataLock(data).holder() == proc.pid
        try:
            DataLock(data).acquire()
            raise AssertionError("a second lock must fail")
        except OperatorError as exc:
            assert f"pid {proc.pid}" in str(exc)
    finally:
        proc.kill()
        proc.wait(10)
    with DataLock(data):  # kill -9 leaves the file but not the lock
        assert (data / "bot.lock").read_text().strip() == str(os.getpid())


# ---------------------------------------------------------------- item 8: the database under the bot


def test_store_check_notices_a_deleted_or_replaced_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    store = Store(path)
    assert store.check() is None
    store.touch_user(1)
    path.unlink()
    store.touch_user(2)  # SQLite happily writes into the deleted file ...
    problem = store.check()  # ... the check says so
    assert problem and "deleted or replaced" in problem and str(path) in problem and "restore" in problem
    store.close()

    store = Store(path)
    other = Store(tmp_path / "other.db")
    other.close()
    os.replace(tmp_path / "other.db", path)  # someone copied another file over it
    assert "deleted or replaced" in (store.check() or "")
    store.close()


def test_store_check_passes_while_another_process_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    other = sqlite3.connect(str(tmp_path / "bot.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. a CLI broadcast writing its outbox right now
    try:
        started = time.monotonic()
        assert store.check() is None
        assert time.monotonic() - started < 5, "a health check must not hang on a busy database"
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.touch_user(1)  # the connection's normal busy timeout is back
    store.close()


def test_cli_broadcast_refuses_a_data_folder_without_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = cli("broadcast", "--text-en", "hello", env=env_for(empty))
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "no database in the data folder" in lines[0] and "BOT_DATA_DIR" in lines[0]
    assert not (empty / "bot.db").exists(), "it must not create an empty database"


def test_cli_broadcast_to_zero_subscribers_warns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store.in_dir(data)
    store.add_users([{"id": 5, "lang": "ko"}])
    store.close()
    out = cli("broadcast", "--text-en", "hello", "--audience", "en", env=env_for(data))
    assert out.returncode == 0 and out.stdout.strip().isdigit()
    assert "WARNING" in out.stderr and "0 subscribers" in out.stderr
    out = cli("broadcast", "--text-ko", "안녕", "--audience", "ko", env=env_for(data))
    assert out.returncode == 0 and "WARNING" not in out.stderr and "for 1 subscribers" in out.stderr


# ---------------------------------------------------------------- doctor


def test_doctor_all_good_against_the_emulator(tmp_path: Path) -> None:
    with BotApiEmulator(token=TOKEN) as emu:
        out = cli("doctor", env=env_for(tmp_path / "data", emu.base_url, BOT_NOW="2018-09-19T09:50"))
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stdout + out.stderr
    assert [line.split(":", 1)[0] for line in lines] == ["✓ config", "✓ knowledge", "✓ data folder", "✓ database",
                                                         "✓ token", "✓ webhook", "✓ clock"], out.stdout
    assert "sessions" in lines[1] and "accepted" in lines[4] and "long polling" in lines[5]
    assert "2018-09-19 09:5" in lines[6] and "Asia/Seoul" in lines[6] and "BOT_NOW" in lines[6]
    assert TOKEN not in out.stdout + out.stderr and SECRET not in out.stdout + out.stderr


def test_doctor_wrong_token(tmp_path: Path) -> None:
    with BotApiEmulator(token="111111:THE-RIGHT-ONE") as emu:
        out = cli("doctor", env=env_for(tmp_path / "data", emu.base_url))
    assert out.returncode == 1
    token_line = [line for line in out.stdout.splitlines() if line.startswith("✗ token:")]
    assert token_line and "rejected" in token_line[0], out.stdout
    assert "✓ config" in out.stdout and "✓ knowledge" in out.stdout
    assert TOKEN not in out.stdout + out.stderr and SECRET not in out.stdout + out.stderr


def test_doctor_bad_config_and_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bot.db").write_bytes(b"this is not a database" * 100)
    out = cli("doctor", env=env_for(data))
    assert out.returncode == 1 and "✗ database:" in out.stdout and "restore" in out.stdout
    out = cli("doctor", env=env_for(data, BOT_NOW="9999-12-31"))
    assert out.returncode == 1 and out.stdout.startswith("✗ config: BOT_NOW")


# ---------------------------------------------------------------- backup and restore


@pytest.mark.slow
def test_backup_during_a_broadcast_then_restore_resumes_it(tmp_path: Path) -> None:
    n = 1200
    ids = list(range(300_000, 300_000 + n))
    data = tmp_path / "data"
    store = Store.in_dir(data)
    store.add_users({"id": i, "lang": "en"} for i in ids)
    ann = store.create_announcement("", "backup test")
    assert store.queue_announcement(ann) == n
    store.close()
    backup_file = tmp_path / "backups" / "bot-backup.db"
    config = write_config(tmp_path, rate=100)

    def sent_to(emu: BotApiEmulator) -> list[int]:
        return [c.params["chat_id"] for c in emu.calls_of("sendMessage") if c.ok and c.params["chat_id"] in ids]

    with BotApiEmulator(token=TOKEN) as emu:
        for i in ids:
            emu.add_chat(i)
        env = env_for(data, emu.base_url, BOT_CONFIG=str(config))
        bot = start_bot(env, tmp_path / "bot.log")
        try:
            emu.wait_for(lambda c: c.method == "sendMessage" and c.ok, count=150, timeout=90)
            out = cli("backup", str(backup_file), env=env)
            assert out.returncode == 0, out.stderr
            assert "integrity ok" in out.stdout
            assert bot.poll() is None and len(set(sent_to(emu))) < n, "the backup must be taken mid-broadcast"

            refused = cli("restore", str(backup_file), env=env)
            assert refused.returncode != 0 and f"pid {bot.pid}" in refused.stderr and "restore" in refused.stderr
            again = cli("backup", str(backup_file), env=env)
            assert again.returncode != 0 and "already exists" in again.stderr
        finally:
            stop(bot)

    conn = sqlite3.connect(str(backup_file))
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    counts = dict(conn.execute("select status, count(*) from deliveries where announcement_id = ? group by status",
                               [ann]).fetchall())
    pending = {r[0] for r in conn.execute("select chat_id from deliveries where announcement_id = ? and "
                                          "status = 'pending'", [ann])}
    conn.close()
    assert sum(counts.values()) == n and set(counts) <= {"sent", "pending"}, counts
    assert counts.get("sent", 0) >= 150 and pending, counts

    fresh = tmp_path / "fresh"
    with BotApiEmulator(token=TOKEN) as emu:
        for i in ids:
            emu.add_chat(i)
        env = env_for(fresh, emu.base_url, BOT_CONFIG=str(config))
        out = cli("restore", str(backup_file), env=env)
        assert out.returncode == 0, out.stderr
        assert (fresh / "bot.db").is_file() and not (fresh / "bot.db-wal").exists()
        bot = start_bot(env, tmp_path / "bot2.log")
        try:
            deadline = time.monotonic() + 120
            while len(set(sent_to(emu))) < len(pending) and time.monotonic() < deadline and bot.poll() is None:
                time.sleep(0.2)
        finally:
            stop(bot)
        received = sent_to(emu)
    assert set(received) == pending, "the restored bot sends exactly what the backup had not sent yet"
    assert len(received) == len(pending)
    store = Store.in_dir(fresh)
    assert store.progress(ann)["sent"] == n
    store.close()


def test_restore_checks_the_file_and_keeps_the_replaced_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store.in_dir(data)
    store.add_users([{"id": 1, "lang": "en"}, {"id": 2, "lang": "ko"}])
    store.close()
    env = env_for(data)
    assert cli("backup", str(tmp_path / "b.db"), env=env).returncode == 0

    store = Store.in_dir(data)
    store.add_users([{"id": 3, "lang": "en"}])
    store.close()

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite" * 500)
    other = sqlite3.connect(str(tmp_path / "other.db"))
    other.execute("create table t (x)")
    other.close()
    for bad, reason in ((junk, "not a usable SQLite database"), (tmp_path / "other.db", "not a bot database"),
                        (tmp_path / "missing.db", "does not exist")):
        out = cli("restore", str(bad), env=env)
        assert out.returncode != 0 and reason in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert Store.in_dir(data).user(3), "a refused restore changes nothing"

    out = cli("restore", str(tmp_path / "b.db"), env=env)
    assert out.returncode == 0, out.stderr
    store = Store.in_dir(data)
    assert store.user(1) and store.user(2) and not store.user(3)
    store.close()
    kept = [p for p in data.iterdir() if p.name.startswith("bot.db.before-restore-") and "-wal" not in p.name
            and "-shm" not in p.name]
    assert len(kept) == 1
    old = Store(kept[0])
    assert old.user(3), "the replaced database is kept, complete"
    old.close()
