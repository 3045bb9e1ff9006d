"""Everything the bot remembers, in one SQLite file (`<data_dir>/bot.db`, WAL mode) via sqlite-utils.

Tables: users, announcements, deliveries (one row per announcement × recipient: the outbox),
questions (every free-text question; the unanswered ones are what organisers read), agenda,
notices (the personal outbox: reminders, rating requests, programme-change notices; schema 2 — it
replaces reminders_sent, whose rows it took over), ratings, comments. The schema is created and
migrated on open (`meta.schema_version`).
Every write is a single transaction, so a kill -9 leaves either the old or the new state.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, cast

import sqlite_utils

SCHEMA_VERSION = 4
CHANGE_KINDS = ("moved", "dropped")  # notices about a programme change (the others: "remind", "feedback")


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def shown(stored: str, tz: tzinfo) -> str:
    """A stored (UTC) time as people at the event read it: `2018-09-18 16:05` in the event's time zone."""
    value = datetime.fromisoformat(stored)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Announcement:
    id: int
    text_ko: str
    text_en: str
    audience: str
    status: str
    created_at: str
    created_by: int | None
    staff_chat_id: int | None
    staff_message_id: int | None
    copy_chat_id: int | None
    copy_message_id: int | None

    def text_for(self, lang: str | None) -> str:
        if lang == "ko":
            return self.text_ko or self.text_en
        return self.text_en or self.text_ko


def _migrate_1(db: sqlite_utils.Database) -> None:
    db.table("users").create({"id": int, "lang": str, "first_seen": str, "last_seen": str, "subscribed": int,
                        "blocked": int, "remind_minutes": int, "lang_chosen": int}, pk="id",
                       not_null={"subscribed", "blocked"}, defaults={"subscribed": 1, "blocked": 0, "lang_chosen": 0},
                       if_not_exists=True)
    db.table("announcements").create({"id": int, "created_at": str, "created_by": int, "text_ko": str, "text_en": str,
                                "audience": str, "status": str, "staff_chat_id": int, "staff_message_id": int,
                                "copy_chat_id": int, "copy_message_id": int, "finished_at": str},
                               pk="id", if_not_exists=True)
    db.table("deliveries").create({"announcement_id": int, "chat_id": int, "lang": str, "status": str, "attempts": int,
                             "error": str, "sent_at": str}, pk=("announcement_id", "chat_id"),
                            defaults={"status": "pending", "attempts": 0}, if_not_exists=True)
    db.table("deliveries").create_index(["announcement_id", "status"], if_not_exists=True)
    db.table("questions").create({"id": int, "asked_at": str, "text": str, "lang": str, "answered": int, "entry": str,
                            "candidates": str}, pk="id", if_not_exists=True)
    db.table("questions").create_index(["asked_at"], if_not_exists=True)
    db.table("agenda").create({"user_id": int, "session_id": str, "added_at": str}, pk=("user_id", "session_id"),
                        if_not_exists=True)
    db.table("reminders_sent").create({"user_id": int, "session_id": str, "day": str, "kind": str, "sent_at": str},
                                pk=("user_id", "session_id", "day", "kind"), if_not_exists=True)
    db.table("ratings").create({"user_id": int, "session_id": str, "rating": int, "at": str},
                         pk=("user_id", "session_id"), if_not_exists=True)
    db.table("comments").create({"id": int, "session_id": str, "text": str, "lang": str, "at": str}, pk="id",
                          if_not_exists=True)


def _migrate_2(db: sqlite_utils.Database) -> None:
    """The personal outbox. A row is written when a reminder, rating request or programme-change notice
    falls due (`pending`) and closed only after Telegram accepted it (`sent`) or it cannot be sent
    (`blocked`, `failed`, `expired`: a reminder whose session started first, `cancelled`: no longer
    wanted, `superseded`: a later change notice replaces it). The unique key makes each notice queued
    once: (user, kind, session, day, version) — `version` tells programme changes apart, '' otherwise."""
    db.table("notices").create({"id": int, "user_id": int, "kind": str, "session_id": str, "day": str, "version": str,
                          "lang": str, "text": str, "due_at": str, "queued_at": str, "status": str,
                          "attempts": int, "error": str, "sent_at": str}, pk="id",
                         not_null={"user_id", "kind", "session_id", "day", "version", "status"},
                         defaults={"status": "pending", "attempts": 0, "version": "", "day": ""}, if_not_exists=True)
    db.table("notices").create_index(["user_id", "kind", "session_id", "day", "version"], unique=True, if_not_exists=True)
    db.table("notices").create_index(["status", "due_at"], if_not_exists=True)
    # what schema 1 recorded as sent (it claimed before sending) stays sent: never twice
    db.execute("insert or ignore into notices (user_id, kind, session_id, day, version, due_at, queued_at, status, "
               "attempts, sent_at) select user_id, kind, session_id, day, '', sent_at, sent_at, 'sent', 1, sent_at "
               "from reminders_sent")


def _migrate_3(db: sqlite_utils.Database) -> None:
    """The matcher's outcome of each recorded question (`answer`, `ambiguous`: did-you-mean buttons, `none`: "I
    don't know"), for /stats. Rows recorded before keep NULL when unanswered: they count as not answered."""
    db.execute("alter table questions add column outcome text")
    db.execute("update questions set outcome = 'answer' where answered = 1")


def _migrate_4(db: sqlite_utils.Database) -> None:
    """The helpdesk (bot/helpdesk.py): attendees' questions for the organisers (`helpdesk_tickets`), one forum
    topic per attendee (`helpdesk_topics`), the staff-chat messages that stand for a ticket (`helpdesk_posts`:
    a reply to one answers it), staff answers and their copies (`helpdesk_answers`), and the relay outbox
    (`helpdesk_outbox`: a row is marked sent only after Telegram accepted it)."""
    db.table("helpdesk_tickets").create({"id": int, "user_id": int, "chat_id": int, "name": str, "question": str,
                                         "lang": str, "topic": str, "status": str, "created_at": str,
                                         "asked_at": str, "answered_at": str}, pk="id", not_null={"status"},
                                        if_not_exists=True)
    db.table("helpdesk_tickets").create_index(["user_id", "status"], if_not_exists=True)
    db.table("helpdesk_tickets").create_index(["status", "asked_at"], if_not_exists=True)
    db.table("helpdesk_topics").create({"staff_chat_id": int, "user_id": int, "thread_id": int, "created_at": str},
                                       pk=("staff_chat_id", "user_id"), if_not_exists=True)
    db.table("helpdesk_topics").create_index(["staff_chat_id", "thread_id"], if_not_exists=True)
    db.table("helpdesk_posts").create({"chat_id": int, "message_id": int, "ticket_id": int, "kind": str},
                                      pk=("chat_id", "message_id"), if_not_exists=True)
    db.table("helpdesk_answers").create({"id": int, "ticket_id": int, "staff_chat_id": int, "staff_message_id": int,
                                         "thread_id": int, "staff_id": int, "staff_lang": str, "kind": str,
                                         "media": str, "text": str, "created_at": str, "attendee_message_id": int,
                                         "status": str, "faq_entry": str}, pk="id", not_null={"status"},
                                        defaults={"status": "pending"}, if_not_exists=True)
    db.table("helpdesk_answers").create_index(["staff_chat_id", "staff_message_id"], unique=True, if_not_exists=True)
    db.table("helpdesk_outbox").create({"id": int, "kind": str, "ticket_id": int, "answer_id": int, "payload": str,
                                        "status": str, "attempts": int, "error": str, "queued_at": str,
                                        "sent_at": str}, pk="id", not_null={"kind", "status"},
                                       defaults={"status": "pending", "attempts": 0}, if_not_exists=True)
    db.table("helpdesk_outbox").create_index(["status", "id"], if_not_exists=True)


MIGRATIONS = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4}


class Store:
    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.path = path
        st = path.stat()
        self._identity = (st.st_dev, st.st_ino)  # Store.check(): is the file on disk still the one we write?
        self._migrate()

    @classmethod
    def in_dir(cls, data_dir: Path) -> Store:
        return cls(Path(data_dir) / "bot.db")

    def close(self) -> None:
        self.db.conn.close()

    def check(self) -> str | None:
        """None when the database file on disk is the one this Store opened and it takes writes; else one line
        saying what is wrong and what to do. Cheap (a stat and an empty write transaction): for health checks."""
        try:
            st = self.path.stat()
        except OSError:
            st = None
        if st is None or (st.st_dev, st.st_ino) != self._identity:
            return (f"the database file {self.path} was deleted or replaced while the bot was running: everything "
                    "written since goes nowhere; stop the bot, restore a backup (python -m bot restore FILE) "
                    "and start it again")
        if not os.access(self.path, os.W_OK):
            return f"the database file {self.path} is read-only: make it writable for the bot's user and restart"
        conn = self.db.conn
        if conn.in_transaction:  # a write is under way on this connection: it is writable
            return None
        try:
            conn.execute("PRAGMA busy_timeout=500")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):  # another writer holds it for a moment: fine
                return None
            return f"the database {self.path} does not take writes ({exc}): check the disk and permissions, then restart"
        finally:
            conn.execute("PRAGMA busy_timeout=30000")
        return None

    def _migrate(self) -> None:
        self.db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
        row = next(self.db.query("select value from meta where key = 'schema_version'"), None)
        version = int(row["value"]) if row else 0
        for target in sorted(v for v in MIGRATIONS if v > version):
            with self.db.conn:
                self.db.execute("BEGIN IMMEDIATE")
                MIGRATIONS[target](self.db)
                self.db.table("meta").upsert({"key": "schema_version", "value": str(target)}, pk="key")

    def _tx(self):
        """A write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on error)."""
        return _Transaction(self.db)

    # ------------------------------------------------------------ users

    def touch_user(self, user_id: int, lang: str | None = None) -> bool:
        """Record that the user talked to the bot (a user who blocked us and came back is unblocked).
        `lang` (from Telegram's language_code) is kept only at first contact. True if the user is new."""
        now = utcnow()
        with self._tx():
            new = self.db.execute("insert or ignore into users (id, lang, first_seen, last_seen, subscribed, blocked, "
                                  "lang_chosen) values (?, ?, ?, ?, 1, 0, 0)", [user_id, lang, now, now]).rowcount > 0
            if not new:
                self.db.execute("update users set last_seen = ?, blocked = 0, lang = coalesce(lang, ?) where id = ?",
                                [now, lang, user_id])
        return new

    def user(self, user_id: int) -> dict[str, Any] | None:
        return next(self.db.query("select * from users where id = ?", [user_id]), None)

    def set_lang(self, user_id: int, lang: str) -> None:
        """The user's explicit choice (/lang): from now on every reply is in this language."""
        self.touch_user(user_id)
        with self._tx():
            self.db.execute("update users set lang = ?, lang_chosen = 1 where id = ?", [lang, user_id])

    def user_lang(self, user_id: int) -> str | None:
        """The language to write to the user unprompted (announcements, reminders): chosen or from Telegram."""
        row = self.user(user_id)
        return row["lang"] if row else None

    def chosen_lang(self, user_id: int) -> str | None:
        """The language the user chose with /lang, or None (then replies follow each question's language)."""
        row = self.user(user_id)
        return row["lang"] if row and row["lang_chosen"] else None

    def set_subscribed(self, user_id: int, subscribed: bool) -> None:
        self.touch_user(user_id)
        with self._tx():
            self.db.execute("update users set subscribed = ? where id = ?", [int(subscribed), user_id])

    def mark_blocked(self, user_id: int) -> None:
        with self._tx():
            self.db.execute("update users set blocked = 1, subscribed = 0 where id = ?", [user_id])

    def set_remind_minutes(self, user_id: int, minutes: int | None) -> None:
        self.touch_user(user_id)
        with self._tx():
            self.db.execute("update users set remind_minutes = ? where id = ?", [minutes, user_id])

    def add_users(self, rows: Iterable[dict[str, Any]]) -> None:
        """Bulk insert (benchmarks and tests)."""
        now = utcnow()
        with self._tx():
            self.db.table("users").insert_all(({"first_seen": now, "last_seen": now, "subscribed": 1, "blocked": 0, **r}
                                         for r in rows), pk="id", replace=True, batch_size=1000)

    def stats(self, since: datetime) -> dict[str, int]:
        q = lambda sql, args=(): next(self.db.query(sql, list(args)))["n"]  # noqa: E731
        asked = q("select count(*) n from questions where asked_at >= ?", [iso(since)])
        answered = q("select count(*) n from questions where asked_at >= ? and answered = 1", [iso(since)])
        return {"users": q("select count(*) n from users"),
                "subscribers": q("select count(*) n from users where subscribed = 1 and blocked = 0"),
                "blocked": q("select count(*) n from users where blocked = 1"),
                "questions": asked, "answered": answered}

    # ------------------------------------------------------------ questions

    def record_question(self, text: str, lang: str, answered: bool, entry: str | None, candidates: list[str],
                        when: datetime, outcome: str | None = None) -> None:
        """`outcome`: the matcher's (answer | ambiguous | none); default from `answered` (answer | none)."""
        with self._tx():
            self.db.table("questions").insert({"asked_at": iso(when), "text": text[:1000], "lang": lang,
                                         "answered": int(answered), "entry": entry,
                                         "candidates": json.dumps(candidates),
                                         "outcome": outcome or ("answer" if answered else "none")})

    def record_unanswered(self, text: str, lang: str, candidates: list[str], when: datetime) -> None:
        self.record_question(text, lang, False, None, candidates, when)

    def questions(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The questions asked in [since, until): asked_at (UTC ISO), text, lang, answered, entry, outcome."""
        return list(self.db.query("select asked_at, text, lang, answered, entry, outcome from questions "
                                  "where asked_at >= ? and asked_at < ? order by asked_at", [iso(since), iso(until)]))

    def unanswered(self, since: datetime) -> list[dict[str, Any]]:
        return list(self.db.query("select asked_at, text, lang, candidates from questions "
                                  "where answered = 0 and asked_at >= ? order by asked_at", [iso(since)]))

    # ------------------------------------------------------------ announcements and the outbox

    def create_announcement(self, text_ko: str, text_en: str, audience: str = "all", created_by: int | None = None,
                            status: str = "draft", staff_chat_id: int | None = None,
                            copy_chat_id: int | None = None, copy_message_id: int | None = None,
                            created_at: datetime | None = None) -> int:
        """`created_at`: the bot's clock (event time, also when simulated); real time by default."""
        with self._tx():
            # last_pk is typed Optional[Any]; after an insert into a table with an integer rowid it is that int
            return cast(int, self.db.table("announcements").insert({
                "created_at": iso(created_at) if created_at else utcnow(), "created_by": created_by, "text_ko": text_ko, "text_en": text_en,
                "audience": audience, "status": status, "staff_chat_id": staff_chat_id,
                "copy_chat_id": copy_chat_id, "copy_message_id": copy_message_id}).last_pk)

    def set_staff_message(self, announcement_id: int, chat_id: int, message_id: int) -> None:
        with self._tx():
            self.db.execute("update announcements set staff_chat_id = ?, staff_message_id = ? where id = ?",
                            [chat_id, message_id, announcement_id])

    def announcement(self, announcement_id: int) -> Announcement | None:
        row = next(self.db.query("select * from announcements where id = ?", [announcement_id]), None)
        if not row:
            return None
        row.pop("finished_at", None)
        return Announcement(**row)

    def announcement_status(self, announcement_id: int) -> str | None:
        row = next(self.db.query("select status from announcements where id = ?", [announcement_id]), None)
        return row["status"] if row else None

    def queue_announcement(self, announcement_id: int) -> int:
        """Confirm a draft: write one pending delivery per recipient in the same transaction as the status
        change. Returns the number of recipients (0 if it was not a draft: confirming twice is harmless)."""
        with self._tx():
            row = next(self.db.query("select audience, status from announcements where id = ?", [announcement_id]), None)
            if not row or row["status"] != "draft":
                return 0
            where = "subscribed = 1 and blocked = 0"
            if row["audience"] in ("ko", "en"):
                where += f" and coalesce(lang, 'en') = '{row['audience']}'"
            self.db.execute(
                "insert or ignore into deliveries (announcement_id, chat_id, lang, status, attempts) "
                f"select ?, id, lang, 'pending', 0 from users where {where} order by id", [announcement_id])
            self.db.execute("update announcements set status = 'queued' where id = ?", [announcement_id])
            return next(self.db.query("select count(*) n from deliveries where announcement_id = ?",
                                      [announcement_id]))["n"]

    def cancel_announcement(self, announcement_id: int) -> bool:
        with self._tx():
            row = next(self.db.query("select status from announcements where id = ?", [announcement_id]), None)
            if not row or row["status"] in ("done", "cancelled"):
                return False
            self.db.execute("update announcements set status = 'cancelled', finished_at = ? where id = ?",
                            [utcnow(), announcement_id])
            self.db.execute("update deliveries set status = 'cancelled' where announcement_id = ? and status = 'pending'",
                            [announcement_id])
            return True

    def next_active_announcement(self) -> Announcement | None:
        """The oldest queued or sending announcement: broadcasts go out one after another, in order."""
        row = next(self.db.query("select id from announcements where status in ('queued', 'sending') order by id limit 1"), None)
        return self.announcement(row["id"]) if row else None

    def set_status(self, announcement_id: int, status: str) -> None:
        with self._tx():
            finished = utcnow() if status in ("done", "cancelled") else None
            self.db.execute("update announcements set status = ?, finished_at = coalesce(?, finished_at) where id = ?",
                            [status, finished, announcement_id])

    def pending_deliveries(self, announcement_id: int, limit: int = 500) -> list[dict[str, Any]]:
        return list(self.db.query("select chat_id, lang, attempts from deliveries where announcement_id = ? and "
                                  "status = 'pending' order by chat_id limit ?", [announcement_id, limit]))

    def mark_delivery(self, announcement_id: int, chat_id: int, status: str, error: str | None = None,
                      attempt: bool = True) -> None:
        """Final state of one delivery (sent / blocked / failed); `attempt` counts this send as a try."""
        with self._tx():
            self.db.execute(f"update deliveries set status = ?, error = ?, attempts = attempts + {int(attempt)}, sent_at = ? "
                            "where announcement_id = ? and chat_id = ? and status = 'pending'",
                            [status, error, utcnow(), announcement_id, chat_id])
            if status == "blocked":
                self.db.execute("update users set blocked = 1, subscribed = 0 where id = ?", [chat_id])

    def count_attempt(self, announcement_id: int, chat_id: int, error: str) -> int:
        with self._tx():
            self.db.execute("update deliveries set attempts = attempts + 1, error = ? where announcement_id = ? "
                            "and chat_id = ?", [error, announcement_id, chat_id])
        return next(self.db.query("select attempts from deliveries where announcement_id = ? and chat_id = ?",
                                  [announcement_id, chat_id]))["attempts"]

    def progress(self, announcement_id: int) -> dict[str, int]:
        counts = {"pending": 0, "sent": 0, "blocked": 0, "failed": 0, "cancelled": 0}
        for row in self.db.query("select status, count(*) n from deliveries where announcement_id = ? group by status",
                                 [announcement_id]):
            counts[row["status"]] = row["n"]
        counts["total"] = sum(counts.values())
        return counts

    def delivery_totals(self) -> dict[str, int]:
        """Deliveries of every announcement by state (sent, blocked, failed, pending, cancelled)."""
        return {row["status"]: row["n"] for row in self.db.query("select status, count(*) n from deliveries group by status")}

    def outbox_depth(self) -> int:
        """Messages still to be sent: pending deliveries of announcements that are queued or sending, and
        pending personal notices (reminders, rating requests, programme-change notices) and helpdesk relays."""
        return next(self.db.query("select count(*) n from deliveries d join announcements a on a.id = d.announcement_id "
                                  "where d.status = 'pending' and a.status in ('queued', 'sending')"))["n"] \
            + next(self.db.query("select count(*) n from notices where status = 'pending'"))["n"] \
            + next(self.db.query("select count(*) n from helpdesk_outbox where status = 'pending'"))["n"]

    def recent_announcements(self, limit: int = 10, statuses: tuple[str, ...] | None = None) -> list[Announcement]:
        rows = self.db.query("select id from announcements order by id desc limit ?", [limit * 3])
        out = [self.announcement(r["id"]) for r in rows]
        return [a for a in out if a and (statuses is None or a.status in statuses)][:limit]

    # ------------------------------------------------------------ agenda, reminders, feedback

    def agenda(self, user_id: int) -> list[str]:
        return [r["session_id"] for r in self.db.query("select session_id from agenda where user_id = ? "
                                                       "order by added_at", [user_id])]

    def add_to_agenda(self, user_id: int, session_id: str) -> bool:
        self.touch_user(user_id)
        with self._tx():
            cur = self.db.execute("insert or ignore into agenda (user_id, session_id, added_at) values (?, ?, ?)",
                                  [user_id, session_id, utcnow()])
            return cur.rowcount > 0

    def remove_from_agenda(self, user_id: int, session_id: str) -> bool:
        with self._tx():
            return self.db.execute("delete from agenda where user_id = ? and session_id = ?",
                                   [user_id, session_id]).rowcount > 0

    def all_agenda(self) -> list[dict[str, Any]]:
        return list(self.db.query("select a.user_id, a.session_id, u.lang, u.remind_minutes from agenda a "
                                  "join users u on u.id = a.user_id where u.blocked = 0"))

    def queue_notice(self, user_id: int, kind: str, session_id: str, due_at: datetime, day: str = "",
                     version: str = "", lang: str | None = None, text: str | None = None) -> bool:
        """Write a due notice as `pending`; False if this notice was queued before (it is never queued
        twice, whatever became of it). A programme-change notice supersedes an unsent earlier one about
        the same session: the attendee hears only the latest state."""
        with self._tx():
            new = self.db.execute(
                "insert or ignore into notices (user_id, kind, session_id, day, version, lang, text, due_at, queued_at, "
                "status, attempts) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0)",
                [user_id, kind, session_id, day, version, lang, text, iso(due_at), utcnow()]).rowcount > 0
            if new and kind in CHANGE_KINDS:
                marks = ", ".join("?" * len(CHANGE_KINDS))
                self.db.execute(f"update notices set status = 'superseded' where user_id = ? and session_id = ? and "
                                f"kind in ({marks}) and status = 'pending' and version != ?",
                                [user_id, session_id, *CHANGE_KINDS, version])
            return new

    def pending_notices(self, limit: int = 100) -> list[dict[str, Any]]:
        """Notices to send, in the order they fell due."""
        return list(self.db.query("select * from notices where status = 'pending' order by due_at, id limit ?", [limit]))

    def close_notice(self, notice_id: int, status: str, error: str | None = None, attempt: bool = True) -> None:
        """Final state of a notice (sent / blocked / failed / expired / cancelled); only a pending one changes."""
        with self._tx():
            self.db.execute(f"update notices set status = ?, error = ?, attempts = attempts + {int(attempt)}, "
                            "sent_at = ? where id = ? and status = 'pending'", [status, error, utcnow(), notice_id])

    def count_notice_attempt(self, notice_id: int, error: str) -> int:
        with self._tx():
            self.db.execute("update notices set attempts = attempts + 1, error = ? where id = ?", [error, notice_id])
        return next(self.db.query("select attempts from notices where id = ?", [notice_id]))["attempts"]

    def notice_totals(self) -> dict[str, int]:
        """Notices by state (pending, sent, blocked, failed, expired, cancelled, superseded)."""
        return {row["status"]: row["n"] for row in self.db.query("select status, count(*) n from notices group by status")}

    def rate(self, user_id: int, session_id: str, rating: int, at: datetime | None = None) -> None:
        with self._tx():
            self.db.execute("insert into ratings (user_id, session_id, rating, at) values (?, ?, ?, ?) "
                            "on conflict(user_id, session_id) do update set rating = excluded.rating, at = excluded.at",
                            [user_id, session_id, rating, iso(at) if at else utcnow()])

    def add_comment(self, text: str, lang: str, session_id: str | None = None, at: datetime | None = None) -> None:
        with self._tx():
            self.db.table("comments").insert({"session_id": session_id, "text": text[:2000], "lang": lang,
                                        "at": iso(at) if at else utcnow()})

    def ratings_summary(self) -> list[dict[str, Any]]:
        return list(self.db.query("select session_id, round(avg(rating), 2) average, count(*) votes from ratings "
                                  "group by session_id order by average desc"))

    def comments(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.db.query("select at, session_id, lang, text from comments order by id desc limit ?", [limit]))


class _Transaction:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.depth_owner = False

    def __enter__(self) -> None:
        if not self.db.conn.in_transaction:
            self.db.conn.execute("BEGIN IMMEDIATE")
            self.depth_owner = True

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.depth_owner:
            return
        if exc_type is None:
            self.db.conn.execute("COMMIT")
        else:
            self.db.conn.execute("ROLLBACK")
