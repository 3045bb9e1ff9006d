"""`python -m bot …` (also installed as `wscw-bot`): every command reads the same configuration
(`config.yaml` + environment, see bot/config.py)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock, parse_datetime
from bot.config import Config, ConfigError, load_config
from bot.followup import Topic
from bot.knowledge import KnowledgeError, load_knowledge
from bot.ops import OperatorError, redact
from bot.render import Reply
from bot.yamlsource import Problem


def _config(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None))


def cmd_validate(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else _config(args).knowledge_dir
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        for p in exc.problems:
            print(p)
        print(f"\n{len(exc.problems)} problem(s) found in {directory}; nothing was changed.", file=sys.stderr)
        return 1
    print(f"OK: {directory}: {kb.summary()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.render import export_records

    cfg = _config(args)
    directory = Path(args.dir) if args.dir else cfg.knowledge_dir
    kb = load_knowledge(directory)  # a KnowledgeError is reported by main()
    out = sys.stdout
    for record in export_records(kb, cfg.clock().now()):  # as attendees read it now (BOT_NOW honoured)
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


def _now_option(args: argparse.Namespace, cfg: Config) -> datetime | None:
    """--now of `ask` and `chat`, checked like BOT_NOW (bot/clock.py parse_datetime)."""
    if not getattr(args, "now", None):
        return None
    try:
        return parse_datetime(args.now, cfg.timezone)
    except ValueError as exc:
        raise OperatorError(f"--now: {exc}", 2) from None


def _clock(args: argparse.Namespace, cfg: Config) -> Clock:
    now = _now_option(args, cfg)
    return Clock(cfg.timezone, now) if now else cfg.clock()


def reply_text(reply: Reply) -> str:
    """A reply as the user reads it, in plain text: the message, then its buttons as [labels]."""
    parts = [reply.doc.plain()]
    if reply.location:
        lat, lon, title, address = reply.location
        parts.append(f"📍 {title} {address} ({lat}, {lon})".replace("  ", " "))
    for row in reply.buttons:
        parts.append("  ".join(f"[{button.text}]" for button in row))
    return "\n".join(p for p in parts if p)


def _jsonl_question(line: str) -> tuple[str, str | None]:
    """One line of ``ask --jsonl``: a plain question, or ``{"question": "...", "chat": "any id"}`` (the
    questions of one chat are a conversation: follow-ups are answered about its last topic)."""
    if line.lstrip().startswith("{"):
        try:
            item = json.loads(line)
        except ValueError:
            return line, None
        if isinstance(item, dict) and isinstance(item.get("question"), str):
            chat = item.get("chat")
            return item["question"], None if chat is None else str(chat)
    return line, None


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.answer import Brain

    cfg = _config(args)
    brain = Brain.from_config(cfg)
    clock = _clock(args, cfg)
    if args.jsonl:
        out = sys.stdout
        topics: dict[str, Topic | None] = {}  # per conversation: what its follow-ups are about
        for raw in sys.stdin:
            question, chat = _jsonl_question(raw.rstrip("\n"))
            now = clock.now()
            ans = brain.ask(question, now, args.lang, topic=topics.get(chat) if chat is not None else None)
            if chat is not None:
                topics[chat] = ans.topic(topics.get(chat), now)
            out.write(json.dumps({"question": question, "lang": ans.lang, "entry": ans.entry, "score": ans.score,
                                  "candidates": ans.candidates, "reply": reply_text(ans.reply)},
                                 ensure_ascii=False) + "\n")
        return 0
    if not args.question:
        print("Give a question, e.g. python -m bot ask \"where is the venue?\", or use --jsonl", file=sys.stderr)
        return 2
    ans = brain.ask(" ".join(args.question), clock.now(), args.lang)
    print(reply_text(ans.reply))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.cache import load_knowledge_once
    from bot.ops import DataLock, check_token, describe_api_error, prepare_data_dir
    from handlers.app import run

    cfg = _config(args)
    if args.webhook and not args.webhook.lower().startswith("https://"):
        raise OperatorError(f"--webhook must be an https:// URL (Telegram only delivers updates over HTTPS), got "
                            f"{args.webhook!r}: put the bot behind a TLS reverse proxy and give its https address", 2)
    lock = DataLock(prepare_data_dir(cfg.data_dir)).acquire()  # held until this process ends
    try:
        load_knowledge_once(cfg.knowledge_dir)  # remembered: the bot is built on this parse, not a second one
        if cfg.token:
            check_token(cfg.base_url, cfg.token)  # a wrong token or an unreachable API: one line, before PTB starts
        try:
            return run(cfg, webhook_url=args.webhook, secret_token=args.secret or os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
                       log_format=args.log_format)
        except Exception as exc:
            message = describe_api_error(exc, cfg.base_url, cfg.token)
            if message is None:
                raise
            raise OperatorError(message) from exc
    finally:
        lock.release()


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.ops import DataLock, prepare_data_dir
    from handlers.terminal import chat

    cfg = _config(args)
    _now_option(args, cfg)
    # the terminal bot runs the same jobs on the same database: it would drain a running bot's outbox
    with DataLock(prepare_data_dir(cfg.data_dir)):
        return chat(cfg, staff=args.staff, now=args.now)


def cmd_broadcast(args: argparse.Namespace) -> int:
    from bot.ops import require_database
    from bot.store import Store

    if not (args.text_ko or args.text_en):
        print("Give --text-ko and/or --text-en", file=sys.stderr)
        return 2
    cfg = _config(args)
    store = Store(require_database(cfg.data_dir))
    ann_id = store.create_announcement(args.text_ko or "", args.text_en or "", args.audience)
    recipients = store.queue_announcement(ann_id)
    store.close()
    print(ann_id)
    if recipients == 0:
        print(f"WARNING: announcement #{ann_id} reaches 0 subscribers (audience {args.audience}) in {cfg.data_dir}: "
              "nobody will get it now; check that BOT_DATA_DIR is the running bot's data folder", file=sys.stderr)
    else:
        print(f"queued announcement #{ann_id} for {recipients} subscribers; the running bot delivers it", file=sys.stderr)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.ops import doctor

    checks = doctor(getattr(args, "config", None))
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.ops import backup

    cfg = _config(args)
    info = backup(cfg.data_dir, Path(args.file), force=args.force)
    size = Path(args.file).stat().st_size
    print(f"backed up {cfg.data_dir / 'bot.db'} to {args.file} ({size // 1024} KB, integrity ok): {info.users} users, "
          f"{info.announcements} announcements, {info.outbox} announcement messages waiting")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.ops import restore

    cfg = _config(args)
    info, kept = restore(cfg.data_dir, Path(args.file))
    print(f"restored {args.file} into {cfg.data_dir / 'bot.db'}: {info.users} users, {info.announcements} "
          f"announcements, {info.outbox} announcement messages waiting (sent when the bot starts)")
    if kept:
        print(f"the replaced database was kept as {kept}")
    return 0


def _since(text: str, cfg: Config) -> datetime:
    m = re.fullmatch(r"(\d+)\s*([hd])", text.strip())
    if m:
        hours = int(m.group(1)) * (24 if m.group(2) == "d" else 1)
        return cfg.clock().now() - timedelta(hours=hours)
    return parse_datetime(text, cfg.timezone)


def cmd_unanswered(args: argparse.Namespace) -> int:
    from bot.ops import require_database
    from bot.reports import group_questions, unanswered_csv
    from bot.store import Store

    cfg = _config(args)
    try:
        since = _since(args.since, cfg)
    except ValueError:
        print(f"--since: {args.since!r} is not an ISO date-time or a duration like 24h / 7d", file=sys.stderr)
        return 2
    rows = Store(require_database(cfg.data_dir)).unanswered(since)
    if args.format == "csv":
        sys.stdout.write(unanswered_csv(rows))
    else:
        for g in group_questions(rows):
            print(f"{g.count:4d}  {g.example}" + (f"   (+{len(g.variants) - 1} variants)" if len(g.variants) > 1 else ""))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """The /stats picture as a PNG file (the store of BOT_DATA_DIR, questions up to the clock: BOT_NOW)."""
    from bot.ops import require_database
    from bot.stats_chart import stats_png
    from bot.store import Store

    cfg = _config(args)
    kb = load_knowledge(cfg.knowledge_dir)
    store = Store(require_database(cfg.data_dir))
    try:
        data = stats_png(store, kb, cfg.timezone, args.lang or kb.event.languages[0], cfg.clock().now())
    finally:
        store.close()
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)", file=sys.stderr)
    return 0


def cmd_ics(args: argparse.Namespace) -> int:
    from bot.agenda import build_ics

    cfg = _config(args)
    kb = load_knowledge(cfg.knowledge_dir)
    data = build_ics(kb, list(kb.sessions), args.lang)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {len(kb.sessions)} sessions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from bot.ops import require_database
    from bot.reports import to_csv
    from bot.store import Store

    store = Store(require_database(_config(args).data_dir))
    ratings = store.ratings_summary()
    comments = store.comments(limit=100_000)
    if args.format == "csv":
        sys.stdout.write(to_csv(({"kind": "rating", "session_id": r["session_id"], "average": r["average"],
                                  "votes": r["votes"]} for r in ratings), ["kind", "session_id", "average", "votes"]))
        sys.stdout.write(to_csv(({"kind": "comment", **c} for c in comments), ["kind", "at", "session_id", "lang", "text"]))
    else:
        for r in ratings:
            print(f"{r['average']:.2f} ({r['votes']} votes)  {r['session_id']}")
        for c in comments:
            print(f"{c['at']}  [{c['lang']}] {c['text']}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from bot.starter import StarterError, parse_options, write_starter

    try:
        starter = parse_options(args.title, args.start, args.end, args.timezone, args.languages)
        written = write_starter(Path(args.dir), starter)
    except StarterError as exc:
        raise OperatorError(str(exc), 2) from None
    for path in written:
        print(f"wrote {path}")
    config = Path(args.dir) / "config.yaml"
    print(f"next: python -m bot --config {config} validate, then edit {Path(args.dir) / 'knowledge'}/*.yaml "
          f"and try python -m bot --config {config} chat")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from bot.importer import ScheduleError, import_schedule

    cfg = _config(args)
    try:
        result = import_schedule(args.source, cfg.knowledge_dir, str(cfg.timezone))
    except ScheduleError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"nothing was written to {cfg.knowledge_dir}", file=sys.stderr)
        return 1

    def show(ids: tuple[str, ...]) -> str:
        return f": {', '.join(ids)}" if ids else ""
    print(f"wrote {result.path}")
    print(f"sessions: {len(result.added)} added{show(result.added)}; {len(result.changed)} changed"
          f"{show(result.changed)}; {len(result.removed)} removed{show(result.removed)}")
    print(f"knowledge: {result.summary}")
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    from emulator import main as emulator_main

    return emulator_main(["--port", str(args.port), "--token", args.token]) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Attendee bot for one event; its facts come from the knowledge folder")
    parser.add_argument("--config", help="config file (default: $BOT_CONFIG or ./config.yaml)")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback (token redacted)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)  # --debug also after the command

    p = command("validate", help="check a knowledge folder and print every problem")
    p.add_argument("dir", nargs="?", help="knowledge folder (default: the configured one)")
    p.set_defaults(func=cmd_validate)

    p = command("export", help="print every answerable entry as JSON lines")
    p.add_argument("dir", nargs="?", help="knowledge folder (default: the configured one)")
    p.set_defaults(func=cmd_export)

    p = command("ask", help="answer a question as the bot would")
    p.add_argument("question", nargs="*", help="the question")
    p.add_argument("--lang", choices=("ko", "en"), help="reply language (default: the question's)")
    p.add_argument("--now", help="ISO date-time to use as the clock (default: $BOT_NOW or the real time)")
    p.add_argument("--jsonl", action="store_true", help=("read one question per line on stdin (a plain line, or {\"question\": ..., \"chat\": ...} "
                        "to replay a conversation), write JSON lines"))
    p.set_defaults(func=cmd_ask)

    p = command("init", help="write a small, valid knowledge folder and config for a new event")
    p.add_argument("dir", metavar="DIR", help="a new or empty folder")
    p.add_argument("--title", required=True, help="the event's name")
    p.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
    p.add_argument("--timezone", required=True, help="the event's time zone, Area/City (e.g. Europe/Berlin)")
    p.add_argument("--languages", default="ko,en", help="en, ko or ko,en (default ko,en)")
    p.set_defaults(func=cmd_init)

    p = command("import", help="import a pretalx/frab schedule (JSON or XML, file or URL) into the knowledge folder")
    p.add_argument("source", metavar="FILE_OR_URL", help="schedule.json or schedule.xml, a path or an http(s) URL")
    p.set_defaults(func=cmd_import)

    p = command("run", help="run the Telegram bot (long polling, or a webhook with --webhook)")
    p.add_argument("--webhook", metavar="URL", help="public HTTPS URL of the webhook (behind a reverse proxy)")
    p.add_argument("--secret", help="webhook secret token (default: $TELEGRAM_WEBHOOK_SECRET)")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON objects")
    p.set_defaults(func=cmd_run)

    p = command("doctor", help="check config, knowledge, data folder, database, token, webhook and clock")
    p.set_defaults(func=cmd_doctor)

    p = command("backup", help="copy the database to FILE while the bot runs (consistent online backup)")
    p.add_argument("file", metavar="FILE", help="the backup file to write")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_backup)

    p = command("restore", help="replace the database with a backup FILE (the bot must be stopped)")
    p.add_argument("file", metavar="FILE", help="a file written by python -m bot backup")
    p.set_defaults(func=cmd_restore)

    p = command("chat", help="try the bot in this terminal, with no token and no network")
    p.add_argument("--staff", action="store_true", help="make the terminal user a staff member")
    p.add_argument("--now", help="ISO date-time to use as the clock, e.g. 2031-05-14T09:30")
    p.set_defaults(func=cmd_chat)

    p = command("broadcast", help="queue an announcement for the running bot; prints its id")
    p.add_argument("--text-ko", default="", help="Korean text")
    p.add_argument("--text-en", default="", help="English text")
    p.add_argument("--audience", choices=("all", "ko", "en"), default="all")
    p.set_defaults(func=cmd_broadcast)

    p = command("unanswered", help="questions the bot could not answer, grouped by similarity")
    p.add_argument("--since", default="24h", help="ISO date-time or a duration such as 24h or 7d (default 24h)")
    p.add_argument("--format", choices=("text", "csv"), default="text")
    p.set_defaults(func=cmd_unanswered)

    p = command("stats", help="draw the /stats picture (questions per hour, outcomes, top topics) as a PNG file")
    p.add_argument("--out", required=True, help="the PNG file to write, e.g. stats.png")
    p.add_argument("--lang", choices=("ko", "en"), help="labels' language (default: the event's first language)")
    p.set_defaults(func=cmd_stats)

    p = command("ics", help="write the whole programme as an iCalendar file (for the event website)")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.add_argument("--lang", choices=("ko", "en"), default="ko")
    p.set_defaults(func=cmd_ics)

    p = command("feedback", help="session ratings and attendee comments")
    p.add_argument("--format", choices=("text", "csv"), default="text")
    p.set_defaults(func=cmd_feedback)

    p = command("emulator", help="run the loopback Bot API emulator on its own")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--token", default="123456:LOCAL")
    p.set_defaults(func=cmd_emulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
    token = os.environ.get("TELEGRAM_BOT_TOKEN")
    try:
        return args.func(args)
    except ConfigError as exc:
        lines = [redact(_problem(p), token) for p in exc.problems]
        if len(lines) == 1:
            print(f"error: configuration: {lines[0]}", file=sys.stderr)
        else:
            print("The configuration has problems:", file=sys.stderr)
            for line in lines:
                print(f"  {line}", file=sys.stderr)
        return 2
    except KnowledgeError as exc:  # every command that reads the knowledge: file:line: field: message
        print(redact(str(exc), token), file=sys.stderr)
        return 1
    except OperatorError as exc:
        _debug_traceback(args, token)
        print(f"error: {redact(str(exc), token)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or an error we do not know: one line, the details behind --debug
        _debug_traceback(args, token)
        text = redact(str(exc), token).strip().splitlines()
        summary = f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
        hint = "" if getattr(args, "debug", False) else " (run with --debug for details)"
        print(f"error: unexpected {summary}{hint}", file=sys.stderr)
        return 1


def _problem(p: Problem) -> str:
    """A config problem as one line; values from the environment or options have no line number."""
    return str(p) if p.line else f"{p.file}: {p.message}"


def _debug_traceback(args: argparse.Namespace, token: str | None) -> None:
    if getattr(args, "debug", False):
        print(redact(traceback.format_exc(), token), file=sys.stderr, end="")
