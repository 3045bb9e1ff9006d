"""/stats as a picture (and `python -m bot stats --out stats.png`): questions per hour over the event's days
in its time zone, the share answered / did-you-mean / not answered, the entries asked about most, and the
questions asked most that the bot could not answer — labels in the staff member's language.

`stats_data` reads the store (what the chart shows, tested on its own); `render_png` draws it with
matplotlib's Agg backend (no display). matplotlib is imported only when a chart is drawn, so the bot's
start-up does not pay for it. Korean labels need a font with Hangul: NanumGothic, shipped by the
`koreanize-matplotlib` package (a dependency, so CI and every machine get it from pip); its font files are
registered directly, without importing that package (which would change matplotlib's global settings).
Without it, a Korean chart falls back to English labels (`korean_font()` is None; a warning is logged).
"""

from __future__ import annotations

import importlib.util
import io
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.knowledge import Knowledge
from bot.reports import group_questions
from bot.store import Store
from bot.texts import counted, text

log = logging.getLogger(__name__)

TOP = 6  # bars in the "top" panels
LABEL_CHARS = 38  # a longer question or title is cut with …
OUTCOMES = ("answer", "ambiguous", "none")  # the store's `outcome` (NULL in old rows: not answered)
_OUTCOME_KEYS = {"answer": "chart.answered", "ambiguous": "chart.did_you_mean", "none": "chart.unknown"}
_COLOURS = {"answer": "#2e7d32", "ambiguous": "#f9a825", "none": "#c62828"}
KOREAN_FONT = "NanumGothic"

_font_lock = threading.Lock()
_font_state: dict[str, str | None] = {}


@dataclass
class StatsData:
    """What the chart shows (all times in the event's time zone)."""

    lang: str
    title: str
    tz: str
    hours: list[datetime]  # the start of every hour of the event's days
    per_hour: list[int]  # questions asked in each of those hours
    outside: int  # questions asked before or after the event's days (counted in the other panels)
    outcomes: dict[str, int]  # answer / ambiguous / none
    topics: list[tuple[str, int]]  # the entries answered most: (title, times)
    unanswered: list[tuple[str, int]]  # the questions not answered most: (example, times; similar ones grouped)
    now: datetime | None = None  # the clock, when it falls within the event's days
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(self.outcomes.values())


def _cut(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _local(stored: str, tz: ZoneInfo) -> datetime:
    value = datetime.fromisoformat(stored)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz)


def stats_data(store: Store, kb: Knowledge, tz: ZoneInfo, lang: str, now: datetime | None = None) -> StatsData:
    """The chart's numbers from the questions the store recorded up to `now` (default: all)."""
    days = kb.event.days
    start = datetime.combine(days[0], time(0), tz)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tz)
    until = now if now is not None else datetime.max.replace(tzinfo=UTC)
    rows = store.questions(datetime(1970, 1, 1, tzinfo=UTC), until)
    hours = [start + timedelta(hours=h) for h in range(int((end - start).total_seconds() // 3600))]
    per_hour = [0] * len(hours)
    outside = 0
    outcomes = Counter({o: 0 for o in OUTCOMES})
    entries: Counter[str] = Counter()
    unanswered = []
    for row in rows:
        asked = _local(row["asked_at"], tz)
        if start <= asked < end:
            per_hour[int((asked - start).total_seconds() // 3600)] += 1
        else:
            outside += 1
        outcome = row["outcome"] or ("answer" if row["answered"] else "none")
        outcomes[outcome if outcome in _OUTCOME_KEYS else "none"] += 1
        if outcome == "answer" and row["entry"]:
            entries[row["entry"]] += 1
        elif outcome != "answer":
            unanswered.append(row)
    topics = []
    for entry_id, n in entries.most_common(TOP):
        entry = kb.entry(entry_id)
        topics.append((_cut(entry.title.get(lang) if entry else entry_id), n))
    groups = group_questions(unanswered)[:TOP]
    return StatsData(lang=lang, title=text("chart.title", lang, event=kb.event.name.get(lang)), tz=str(tz),
                     hours=hours, per_hour=per_hour, outside=outside, outcomes=dict(outcomes), topics=topics,
                     unanswered=[(_cut(g.example), g.count) for g in groups],
                     now=now if now is not None and start <= now < end else None)


def korean_font() -> str | None:
    """Register NanumGothic (from the koreanize-matplotlib package's files) with matplotlib once; its
    family name, or None when it is not installed."""
    with _font_lock:
        if "korean" not in _font_state:
            _font_state["korean"] = None
            spec = importlib.util.find_spec("koreanize_matplotlib")
            folders = list(spec.submodule_search_locations or []) if spec else []
            fonts = sorted(p for folder in folders for p in (Path(folder) / "fonts").glob("NanumGothic*.ttf"))
            if fonts:
                from matplotlib import font_manager

                for path in fonts:
                    font_manager.fontManager.addfont(str(path))
                _font_state["korean"] = KOREAN_FONT
            else:
                log.warning("no font with Hangul (pip install koreanize-matplotlib): /stats charts use English labels")
        return _font_state["korean"]


def chart_lang(lang: str) -> str:
    """The language the chart can be labelled in: Korean only with a Hangul font."""
    return "en" if lang == "ko" and korean_font() is None else lang


def render_png(data: StatsData) -> bytes:
    """The chart as PNG bytes (1500×1000 pixels)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    lang = data.lang
    family = [KOREAN_FONT, "DejaVu Sans"] if korean_font() else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": family, "font.size": 10, "axes.spines.top": False,
                                "axes.spines.right": False}):
        fig = Figure(figsize=(15, 10), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.add_gridspec(2, 3, height_ratios=(1, 1.1))
        fig.suptitle(f"{data.title} · {counted('chart.total', lang, data.total)}", fontsize=15, fontweight="bold")

        ax = fig.add_subplot(grid[0, :])
        tz = data.hours[0].tzinfo if data.hours else None
        x = [float(mdates.date2num(h)) for h in data.hours]
        ax.bar(x, data.per_hour, width=1 / 24 * 0.9, align="edge", color="#1565c0")
        ax.set_title(text("chart.per_hour", lang, tz=data.tz), loc="left")
        for day_start in x[::24][1:]:
            ax.axvline(day_start, color="#9e9e9e", linewidth=0.8)
        if data.now is not None:
            ax.axvline(float(mdates.date2num(data.now)), color="#c62828", linestyle="--", linewidth=1)
        if x:
            ax.set_xlim(x[0], x[-1] + 1 / 24)
        ax.xaxis.set_major_locator(mdates.HourLocator(byhour=(0, 6, 12, 18), tz=tz))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=tz))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if not any(data.per_hour):
            ax.text(0.5, 0.5, text("chart.none", lang), transform=ax.transAxes, ha="center", va="center",
                    color="#757575")

        ax = fig.add_subplot(grid[1, 0])
        ax.set_title(text("chart.outcomes", lang), loc="left")
        values = [data.outcomes.get(o, 0) for o in OUTCOMES]
        labels = [text(_OUTCOME_KEYS[o], lang) for o in OUTCOMES]
        if data.total:
            ax.pie(values, labels=[f"{label}\n{v} ({100 * v / data.total:.0f}%)" if v else "" for label, v
                                   in zip(labels, values, strict=True)],
                   colors=[_COLOURS[o] for o in OUTCOMES], startangle=90, counterclock=False,
                   wedgeprops={"width": 0.45, "edgecolor": "white"})
            ax.set_aspect("equal")
        else:
            ax.axis("off")
            ax.text(0.5, 0.5, text("chart.none", lang), transform=ax.transAxes, ha="center", color="#757575")

        for col, (key, rows, colour) in enumerate((("chart.top_topics", data.topics, "#2e7d32"),
                                                   ("chart.top_unanswered", data.unanswered, "#c62828")), start=1):
            ax = fig.add_subplot(grid[1, col])
            ax.set_title(text(key, lang), loc="left")
            if not rows:
                ax.axis("off")
                ax.text(0.5, 0.5, text("chart.none", lang), transform=ax.transAxes, ha="center", color="#757575")
                continue
            names = [name for name, _ in rows][::-1]
            counts = [n for _, n in rows][::-1]
            bars = ax.barh(range(len(rows)), counts, color=colour)
            ax.set_yticks(range(len(rows)), names)
            ax.bar_label(bars, padding=3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlim(0, max(counts) * 1.15)

        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()


def stats_png(store: Store, kb: Knowledge, tz: ZoneInfo, lang: str, now: datetime | None = None) -> bytes:
    """Read the store and draw: the /stats picture and `python -m bot stats --out`."""
    return render_png(stats_data(store, kb, tz, chart_lang(lang), now))
