"""`python -m bot …` (also installed as `wscw-bot`): every command reads the same configuration
(`config.yaml` + environment, see bot/config.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.knowledge import KnowledgeError, load_knowledge


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

    directory = Path(args.dir) if args.dir else _config(args).knowledge_dir
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        print(exc, file=sys.stderr)
        return 1
    out = sys.stdout
    for record in export_records(kb):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="World Smart City Week 2018 attendee bot")
    parser.add_argument("--config", help="config file (default: $BOT_CONFIG or ./config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a knowledge folder and print every problem")
    p.add_argument("dir", nargs="?", help="knowledge folder (default: the configured one)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("export", help="print every answerable entry as JSON lines")
    p.add_argument("dir", nargs="?", help="knowledge folder (default: the configured one)")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print("The configuration has problems:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return 2
