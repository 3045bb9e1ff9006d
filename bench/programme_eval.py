"""Programme questions answered from the imported facts alone (issue 13 item 4), measured.

    python bench/programme_eval.py            # tables (markdown) for the README
    python bench/programme_eval.py --failures # also list what goes wrong

Two events, each made as an organiser would: `bot.starter` (python -m bot init) writes a knowledge
folder in a temporary directory and `bot.importer` (python -m bot import) reads a frab schedule into it —
nobody writes an example question:

- examples/devconf-2025/schedule.json (12 sessions, 3 rooms, 2 tracks): questions generated from its
  facts plus ~30 written by hand, clock 2025-06-12 10:40 (Europe/Amsterdam);
- a synthetic frab schedule of 1,000 sessions (3 days, 10 rooms, 5 tracks, distinct fictional titles
  and speakers, fixed seed), questions generated from its facts with varied phrasings, typos, partial
  titles and the Korean patterns, clocks fixed inside the event.

Correct means: when / where / who → a confident answer with that session's card; talks by → the
speaker's page; now in a room → exactly the sessions running there at the clock; next in a track → the
list starts with a session of the track's next start time. Latency: `Brain.ask` (the whole answer path:
parse, time words, general matcher, programme layer) and the programme layer alone, per question, over
the 1,000-session knowledge.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answer import Answer, Brain  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.importer import import_schedule  # noqa: E402
from bot.knowledge import Knowledge, Session  # noqa: E402
from bot.programme import running, upcoming  # noqa: E402
from bot.starter import parse_options, write_starter  # noqa: E402

EXAMPLE = ROOT / "examples" / "devconf-2025" / "schedule.json"
TARGET_ACCURACY = 90.0
TARGET_P99_MS = 20.0
BUILD_MS: list[float] = []  # building the programme layer's index, per event
BY_VARIANT: dict[str, list[bool]] = defaultdict(list)  # full, lower, typo, partial, hand, unseen, neg
INTENTS = ("when", "where", "who", "talks_by", "now", "next", "not_programme")

# ---------------------------------------------------------------- a synthetic frab schedule

_ADJ = """Resilient Quiet Elastic Frugal Curious Brave Gentle Hidden Lucid Nimble Patient Radiant Rustic
Silent Steady Subtle Tidy Vivid Wandering Wistful Humble Crisp Fearless Mellow Polished Rapid Sober Sturdy
Thrifty Zesty""".split()
_NOUN = """Pipelines Compilers Gardens Lighthouses Ledgers Kernels Caches Schedulers Dashboards Firewalls
Notebooks Sandboxes Queues Meshes Crawlers Parsers Bridges Archives Orchestras Glaciers Harbours Lanterns
Looms Mosaics Observatories Orchards Quarries Rivers Satellites Terraces Tunnels Vineyards Windmills Beacons
Canals Citadels Ferries Foundries Gazebos Hangars""".split()
_TAIL = """for Librarians|at Planet Scale|on a Shoestring|without Regret|in the Arctic|for Night Owls|after
Midnight|under Pressure|for Beginners|in Production|beyond the Hype|with Tea|for Cartographers|in Orbit|by the
Sea|for Beekeepers|on Mondays|without Servers|for Astronomers|in Small Towns|for Tired Humans|on Rainy Days|at
the Museum|for Gardeners|in Slow Motion""".replace("\n", " ").split("|")
_FIRST = """Alva Bruno Celia Dario Elin Farid Greta Hugo Ilse Jonas Kaia Lior Mirela Nils Odile Pavel Quinn
Rosa Stellan Tamsin Ulrik Vesna Wim Xenia Yannis Zora Anouk Bastien Cosima Dmitri Edda Fenna Gideon Hedda
Ivo Jorunn Kasimir Lotte Matteo Nadia""".split()
_LAST = """Arnesen Brodeur Castellano Dahlberg Esposito Falkenrath Grimaldi Halvorsen Ibarra Jankowski Kovalenko
Lindgren Marchetti Nakashima Oyelaran Petrakis Quesnel Rasmussen Sandoval Thorvaldsen Udeh Valtonen Wegener
Xiang Yilmaz Zeller Abernathy Bellweather Cordeiro Drummond Engstrom Ferreira Gustafsson Hakimi Iversen
Jovanovic Kaplan Lachance Moreau Nordqvist""".split()
ROOMS = ["Aurora Hall", "Basalt Room", "Cedar Room", "Delta Stage", "Ember Hall", "Fjord Room", "Granite Room",
         "Harbor Stage", "Iris Room", "Juniper Hall"]
TRACKS = ["Security", "Data Engineering", "Web Platform", "Cloud Native", "Community"]
SYN_START = date(2030, 3, 4)
SYN_TZ = "Europe/Berlin"


def synthetic_schedule(n: int = 1000, seed: int = 13) -> dict:
    """A frab schedule of `n` sessions over 3 days and 10 rooms (20-minute slots from 08:00), distinct
    fictional titles (adjective + noun + tail) and speakers (first + last name)."""
    rnd = random.Random(seed)
    titles = [f"{a} {b} {c}" for a in _ADJ for b in _NOUN for c in _TAIL]
    rnd.shuffle(titles)
    names = [f"{first} {last}" for first in _FIRST for last in _LAST]
    rnd.shuffle(names)
    people = [{"guid": str(uuid.UUID(int=rnd.getrandbits(128))), "id": k + 1, "public_name": nm,
               "biography": f"{nm} is a fictional speaker made up for the programme benchmark."}
              for k, nm in enumerate(names[:600])]
    per_room_day = -(-n // 30)
    days = []
    made = 0
    for d in range(3):
        day = SYN_START + timedelta(days=d)
        rooms: dict[str, list] = {}
        for r, room in enumerate(ROOMS):
            talks = []
            for slot in range(per_room_day):
                if made >= n:
                    break
                start = datetime(day.year, day.month, day.day, 8, 0) + timedelta(minutes=20 * slot)
                track = TRACKS[(r + slot) % len(TRACKS)]
                speakers = rnd.sample(people, 2 if rnd.random() < 0.2 else 1)
                talks.append({
                    "guid": str(uuid.UUID(int=rnd.getrandbits(128))), "id": 10000 + made,
                    "date": start.strftime("%Y-%m-%dT%H:%M:00+01:00"), "start": start.strftime("%H:%M"),
                    "duration": "00:20", "room": room, "slug": f"syn-{made}", "title": titles[made],
                    "subtitle": "", "track": track, "type": "Workshop" if slot % 7 == 3 else "Talk",
                    "language": "en", "abstract": f"A fictional session about {titles[made].lower()}.",
                    "description": "", "persons": [dict(p) for p in speakers], "links": [], "attachments": []})
                made += 1
            rooms[room] = talks
        days.append({"index": d + 1, "date": day.isoformat(), "day_start": f"{day.isoformat()}T08:00:00+01:00",
                     "day_end": f"{day.isoformat()}T20:00:00+01:00", "rooms": rooms})
    end = SYN_START + timedelta(days=2)
    return {"schedule": {"version": "bench", "conference": {
        "acronym": "synconf", "title": "SynConf (a synthetic benchmark event)", "start": SYN_START.isoformat(),
        "end": end.isoformat(), "daysCount": 3, "timeslot_duration": "00:20", "time_zone_name": SYN_TZ,
        "rooms": [{"name": r} for r in ROOMS], "tracks": [{"name": t} for t in TRACKS], "days": days}}}


def make_event(folder: Path, title: str, start: date, end: date, tz: str, schedule: Path) -> Brain:
    """init + import into `folder`, then the Brain the bot would answer with."""
    write_starter(folder, parse_options(title, start.isoformat(), end.isoformat(), tz, "en"))
    import_schedule(str(schedule), folder / "knowledge", tz)
    config = load_config(folder / "config.yaml")
    return Brain.load(config.knowledge_dir, config.matching)


# ---------------------------------------------------------------- questions from the facts

def typo(rnd: random.Random, text: str) -> str:
    """One typo in the longest word: two letters swapped, or one dropped."""
    ws = text.split()
    k = max(range(len(ws)), key=lambda j: len(ws[j]))
    w = ws[k]
    if len(w) < 5:
        return text
    j = rnd.randrange(1, len(w) - 2)
    ws[k] = w[:j] + w[j + 1] + w[j] + w[j + 2:] if rnd.random() < 0.5 else w[:j] + w[j + 1:]
    return " ".join(ws)


def partial(rnd: random.Random, s: Session, kb: Knowledge) -> str | None:
    """Two words of the title that name no other session (as an attendee would shorten it)."""
    from bot.programme import _STOP, words
    title = s.title.get("en")
    ws = [w for w in title.split() if len(w) > 3 and w.lower() not in _STOP]
    sets = [set(words(x.title.get("en"))) for x in kb.sessions if x.id != s.id]
    pairs = [(a, b) for i, a in enumerate(ws) for b in ws[i + 1:]]
    rnd.shuffle(pairs)
    for a, b in pairs:
        need = set(words(f"{a} {b}"))
        if not any(need <= other for other in sets):
            return f"{a} {b}"
    return None


WHEN = ["when is {t}", "what time is {t}?", "When does {t} start", "when's the {t} talk", "{t} 언제", "{t} 몇 시에 해요?"]
WHERE = ["where is {t}", "which room is {t} in?", "Where do I find {t}", "where's the {t} session", "{t} 어디서 해?"]
WHO = ["who gives {t}", "who is speaking at {t}?", "Who presents {t}", "who's the speaker of {t}", "{t} 누가 발표해?"]
BY = ["talks by {n}", "what is {n} talking about?", "When does {n} speak", "sessions by {n}", "{n} 발표"]
NOW = ["what's on in {r} now", "{r} now?", "what is happening in {r} right now", "{r} 지금 뭐해?"]
NEXT = ["what's next in {k}", "next {k} talk?", "upcoming in {k}", "{k} 다음 세션"]


def generated(kb: Knowledge, rnd: random.Random, clocks: list[datetime], n_title: int, n_by: int) -> list[dict]:
    out: list[dict] = []
    sessions = list(kb.sessions)
    for intent, forms in (("when", WHEN), ("where", WHERE), ("who", WHO)):
        for s in rnd.sample(sessions, min(n_title, len(sessions))):
            title = s.title.get("en")
            variant = rnd.choice(["full", "lower", "typo", "partial"])
            t = {"full": title, "lower": title.lower(), "typo": typo(rnd, title)}.get(variant) \
                or partial(rnd, s, kb) or title
            out.append({"q": rnd.choice(forms).format(t=t), "intent": intent, "variant": variant,
                        "expect": f"session:{s.id}"})
    speakers = [sp for sp in kb.speakers if any(sp.id in s.speakers for s in sessions)]
    for sp in rnd.sample(speakers, min(n_by, len(speakers))):
        name = sp.name.get("en")
        variant = rnd.choice(["full", "lower", "typo"])
        n = {"full": name, "lower": name.lower(), "typo": typo(rnd, name)}[variant]
        out.append({"q": rnd.choice(BY).format(n=n), "intent": "talks_by", "variant": variant,
                    "expect": f"speaker:{sp.id}"})
    for now in clocks:
        for venue in kb.venues:
            form = rnd.choice(NOW)
            members = [s for s in sessions if s.venue == venue.id]
            out.append({"q": form.format(r=venue.name.get("en")), "intent": "now", "variant": "full", "now": now,
                        "expect": sorted(s.id for s in running(kb, members, now))})
        for track in sorted({s.track for s in sessions if s.track}):
            members = [s for s in sessions if s.track == track]
            nxt = upcoming(kb, members, now)
            first = [s.id for s in nxt if _start(kb, s, now) == _start(kb, nxt[0], now)] if nxt else []
            for form in rnd.sample(NEXT, 2):
                out.append({"q": form.format(k=track if rnd.random() < 0.7 else track.lower()), "intent": "next",
                            "variant": "full", "now": now, "expect": first})
    return out


def _start(kb: Knowledge, s: Session, now: datetime) -> datetime | None:
    tz = kb.event.timezone
    starts = [x for x in (s.starts_at(d, tz) for d in s.days) if x is not None and x > now]
    return min(starts) if starts else None


def by_title(kb: Knowledge, fragment: str) -> str:
    return next(f"session:{s.id}" for s in kb.sessions if fragment.lower() in s.title.get("en").lower())


def by_name(kb: Knowledge, fragment: str) -> str:
    return next(f"speaker:{sp.id}" for sp in kb.speakers if fragment.lower() in sp.name.get("en").lower())


def ids(kb: Knowledge, *fragments: str) -> list[str]:
    return sorted(by_title(kb, f).split(":", 1)[1] for f in fragments)


# Phrasings written after the programme layer was done and never tuned on (variant "unseen").
UNSEEN = {
    "when": ["at what time can I see {t}?", "is {t} today or tomorrow?", "{t} – what time?", "{t} 시작 언제야"],
    "where": ["{t} room?", "how do I get to {t}", "in which hall is {t}", "{t} 장소 어디"],
    "who": ["who's doing {t}", "speaker for {t}?", "who speaks at {t}", "{t} 연사 누구"],
    "talks_by": ["what does {n} present?", "{n}'s talks", "is {n} speaking?", "{n} 세션 언제"],
}
# Questions that are not about a session, a speaker, a room or a track: the layer must stay out.
NOT_PROGRAMME = ["where is the toilet", "when does registration open?", "who organises this event?",
                 "what is the wifi password", "where can I get coffee", "when is lunch", "is there a cloakroom?",
                 "who should I contact about my ticket", "where do I park", "when does the event end",
                 "what's on now", "what's next?", "화장실 어디", "와이파이 비밀번호", "행사 언제 끝나",
                 "who won the best talk award", "where is the nearest train station", "how much is a ticket",
                 "can I bring my dog", "what time do doors open"]


def unseen(kb: Knowledge, rnd: random.Random, n: int) -> list[dict]:
    out = []
    sessions = list(kb.sessions)
    speakers = [sp for sp in kb.speakers if any(sp.id in s.speakers for s in sessions)]
    for intent, forms in UNSEEN.items():
        for _ in range(n):
            form = rnd.choice(forms)
            if intent == "talks_by":
                sp = rnd.choice(speakers)
                out.append({"q": form.format(n=sp.name.get("en")), "intent": intent, "variant": "unseen",
                            "expect": f"speaker:{sp.id}"})
            else:
                s = rnd.choice(sessions)
                t = s.title.get("en") if rnd.random() < 0.5 else (partial(rnd, s, kb) or s.title.get("en"))
                out.append({"q": form.format(t=t), "intent": intent, "variant": "unseen", "expect": f"session:{s.id}"})
    out += [{"q": q, "intent": "not_programme", "variant": "neg", "expect": None} for q in NOT_PROGRAMME]
    return out


def hand_written(kb: Knowledge) -> list[dict]:
    """~30 questions written by hand for the example event at 2025-06-12 10:40 (Thursday)."""
    t, n = by_title, by_name
    rows = [
        ("where is the accessibility workshop", "where", t(kb, "Accessibility")),
        ("Where's the CSS layouts talk?", "where", t(kb, "CSS")),
        ("which room is the postgres talk in", "where", t(kb, "Postgres")),
        ("where is the database migration workshop", "where", t(kb, "Migration")),
        ("where is the closing panel", "where", t(kb, "Closing Panel")),
        ("when is the opening keynote", "when", t(kb, "Keynote")),
        ("what time is rate limiting at the edge", "when", t(kb, "Rate Limiting")),
        ("when is observability for small teams?", "when", t(kb, "Observability")),
        ("when's the design tokens talk", "when", t(kb, "Design Tokens")),
        ("wen is the state managment talk", "when", t(kb, "State Management")),
        ("queues retries idempotency 언제", "when", t(kb, "Queues")),
        ("forms that work for everyone 몇 시야", "when", t(kb, "Forms")),
        ("who gives the keynote?", "who", t(kb, "Keynote")),
        ("who is talking about postgres indexes", "who", t(kb, "Postgres")),
        ("who runs the accessibility testing workshop", "who", t(kb, "Accessibility")),
        ("who's on the closing panel", "who", t(kb, "Closing Panel")),
        ("modern css layouts 누가 해?", "who", t(kb, "CSS")),
        ("talks by Mara Lindqvist", "talks_by", n(kb, "Mara")),
        ("what is sofia novak talking about", "talks_by", n(kb, "Sofia")),
        ("when does Kenji Watanabe speak?", "talks_by", n(kb, "Kenji")),
        ("sessions by tobias okafor", "talks_by", n(kb, "Tobias")),
        ("Ines Carvalho 발표", "talks_by", n(kb, "Ines")),
        ("talks by amir hadad", "talks_by", n(kb, "Amir")),
        ("what's on in Hall A now", "now", ids(kb, "Postgres")),
        ("hall b right now?", "now", ids(kb, "CSS")),
        ("what is happening in the workshop room now", "now", ids(kb, "Accessibility")),
        ("Hall A 지금 뭐해?", "now", ids(kb, "Postgres")),
        ("what's next in backend", "next", ids(kb, "Rate Limiting")),
        ("next frontend talk?", "next", ids(kb, "State Management")),
        ("Frontend 다음 세션", "next", ids(kb, "State Management")),
        ("what's next in the Backend track?", "next", ids(kb, "Rate Limiting")),
    ]
    return [{"q": q, "intent": intent, "variant": "hand", "expect": exp} for q, intent, exp in rows]


# ---------------------------------------------------------------- judging and timing

def listed(answer: Answer) -> list[str]:
    return [b.data.split(":", 2)[2] for row in answer.reply.buttons for b in row
            if b.data and b.data.startswith("a:session:")]


def judge(answer: Answer, item: dict) -> bool:
    if item["intent"] == "not_programme":
        head = answer.reply.doc.plain().split("\n")[0]
        return not (answer.entry or "").startswith(("session:", "speaker:")) \
            and not head.startswith(("Now in ", "Next in "))
    if item["intent"] in ("when", "where", "who", "talks_by"):
        return answer.outcome == "answer" and answer.entry == item["expect"]
    got = listed(answer)
    if item["intent"] == "now":
        return answer.outcome == "time" and sorted(got) == item["expect"]  # [] : "nothing is running"
    return answer.outcome == "time" and bool(got) and got[0] in item["expect"]


def run(brain: Brain, items: list[dict], default_now: datetime, failures: list[str]) -> tuple[dict, list[float], list[float]]:
    results: dict[str, list[bool]] = defaultdict(list)
    ask_ms: list[float] = []
    layer_ms: list[float] = []
    t0 = time.perf_counter()
    brain.programme  # noqa: B018  (built once, as at the first question)
    BUILD_MS.append((time.perf_counter() - t0) * 1000)
    for item in items:
        now = item.get("now", default_now)
        t0 = time.perf_counter()
        answer = brain.ask(item["q"], now)
        t1 = time.perf_counter()
        brain.programme.understand(item["q"], now)
        t2 = time.perf_counter()
        ask_ms.append((t1 - t0) * 1000)
        layer_ms.append((t2 - t1) * 1000)
        ok = judge(answer, item)
        results[item["intent"]].append(ok)
        BY_VARIANT[item["variant"]].append(ok)
        if not ok:
            failures.append(f"{item['intent']:8} {item['variant']:7} {item['q']!r} → {answer.outcome}:"
                            f"{answer.entry or listed(answer)[:3]} (expected {item['expect']})")
    return results, ask_ms, layer_ms


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--failures", action="store_true", help="list the questions answered wrongly")
    ap.add_argument("--sessions", type=int, default=1000, help="sessions of the synthetic schedule")
    args = ap.parse_args()
    rnd = random.Random(4)
    failures: list[str] = []
    table: dict[str, dict[str, list[bool]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        dev = make_event(tmpdir / "devconf", "DevConf 2025 (a fictional example conference)", date(2025, 6, 12),
                         date(2025, 6, 13), "Europe/Amsterdam", EXAMPLE)
        tz = dev.kb.event.timezone
        dev_now = datetime(2025, 6, 12, 10, 40, tzinfo=tz)
        dev_items = hand_written(dev.kb) + generated(dev.kb, rnd, [dev_now], 12, 6) + unseen(dev.kb, rnd, 4)
        table["devconf-2025 (12 sessions)"], _, _ = run(dev, dev_items, dev_now, failures)

        schedule = tmpdir / "synthetic-schedule.json"
        schedule.write_text(json.dumps(synthetic_schedule(args.sessions)), encoding="utf-8")
        t0 = time.perf_counter()
        syn = make_event(tmpdir / "synconf", "SynConf (a synthetic benchmark event)", SYN_START,
                         SYN_START + timedelta(days=2), SYN_TZ, schedule)
        build_s = time.perf_counter() - t0
        stz = syn.kb.event.timezone
        clocks = [datetime(2030, 3, 5, 11, 10, tzinfo=stz), datetime(2030, 3, 6, 15, 50, tzinfo=stz)]
        syn_items = generated(syn.kb, rnd, clocks, 60, 50) + unseen(syn.kb, rnd, 10)
        label = f"synthetic ({len(syn.kb.sessions)} sessions)"
        table[label], ask_ms, layer_ms = run(syn, syn_items, clocks[0], failures)

    total = sum(len(v) for res in table.values() for v in res.values())
    print(f"#### Programme questions without example questions ({total} questions)\n")
    print("| event | " + " | ".join(INTENTS) + " | **all** |")
    print("|---|" + "---:|" * (len(INTENTS) + 1))
    overall: list[bool] = []
    per_intent: dict[str, list[bool]] = defaultdict(list)
    for event, res in table.items():
        cells = []
        for intent in INTENTS:
            got = res.get(intent, [])
            per_intent[intent] += got
            cells.append(f"{100 * sum(got) / len(got):5.1f} % ({len(got)})" if got else "–")
        flat = [x for v in res.values() for x in v]
        overall += flat
        print(f"| {event} | " + " | ".join(cells) + f" | **{100 * sum(flat) / len(flat):.1f} %** ({len(flat)}) |")
    cells = [f"{100 * sum(v) / len(v):5.1f} % ({len(v)})" if (v := per_intent[i]) else "–" for i in INTENTS]
    acc = 100 * sum(overall) / len(overall)
    print("| **both** | " + " | ".join(cells) + f" | **{acc:.1f} %** ({len(overall)}) |")
    print()
    print("By phrasing: " + " · ".join(f"{v} {100 * sum(x) / len(x):.1f} % ({len(x)})"
                                       for v, x in sorted(BY_VARIANT.items())) + "\n")
    print(f"Latency over the {len(syn.kb.sessions)}-session knowledge ({len(ask_ms)} questions; index built "
          f"in {build_s:.1f} s incl. import; the programme layer's own index in "
          f"{BUILD_MS[-1]:.0f} ms, once per knowledge base):\n")
    print("| path | p50 | p99 | max |\n|---|---:|---:|---:|")
    print(f"| whole answer (`Brain.ask`) | {statistics.median(ask_ms):.1f} ms | {pct(ask_ms, 99):.1f} ms | "
          f"{max(ask_ms):.1f} ms |")
    print(f"| programme layer alone | {statistics.median(layer_ms):.1f} ms | {pct(layer_ms, 99):.1f} ms | "
          f"{max(layer_ms):.1f} ms |")
    print()
    print(f"- accuracy: {acc:.1f} % (target ≥ {TARGET_ACCURACY:.0f} %) — {'met' if acc >= TARGET_ACCURACY else 'MISSED'}")
    p99 = pct(layer_ms, 99)
    print(f"- programme matching p99: {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms) — "
          f"{'met' if p99 < TARGET_P99_MS else 'MISSED'}; whole answer p99 {pct(ask_ms, 99):.1f} ms")
    if args.failures and failures:
        print(f"\n{len(failures)} wrong:")
        for line in failures:
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
