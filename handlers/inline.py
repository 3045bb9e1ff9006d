"""Inline mode: `@bot 해커톤` in any chat offers the best-matching answers as articles."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import Application, InlineQueryHandler

from bot.render import render_entry
from bot.search import decide
from bot.texts import pick_lang
from handlers.common import Context, core

MAX_RESULTS = 10


async def inline_query(update: Update, context: Context) -> None:
    query = update.inline_query
    c = core(context)
    brain = c.brain
    question = brain.parse((query.query or "")[:256])
    chosen = c.store.chosen_lang(query.from_user.id)
    lang = brain.kb.event.reply_lang(pick_lang(chosen, question.lang, query.from_user.language_code))
    if question.cleaned:  # every entry worth a "did you mean", best first
        ranked = brain.index.rank(question, limit=MAX_RESULTS, score_cutoff=brain.matching.ambiguous)
        outcome = decide(ranked, brain.matching)
        entries = [e for e in (brain.kb.entry(r.entry_id) for r in outcome.candidates) if e is not None]
    else:  # nothing typed yet: the general FAQ entries
        entries = [e for e in brain.kb.entries if e.kind == "faq"][:MAX_RESULTS]
    results = []
    for entry in entries:
        doc = render_entry(brain.kb, entry, lang, c.now())  # a dated entry: nothing before its `from:`
        plain = doc.plain()
        results.append(InlineQueryResultArticle(
            id=entry.id[:64], title=entry.title.get(lang)[:100], description=plain[:120],
            input_message_content=InputTextMessageContent(doc.html_chunks()[0], parse_mode=ParseMode.HTML)))
    await query.answer(results, cache_time=30, is_personal=True)


def register(app: Application) -> None:
    app.add_handler(InlineQueryHandler(inline_query))
