"""Inline mode: `@bot 해커톤` in any chat offers the best-matching answers as articles."""

from __future__ import annotations

import numpy as np
from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, InlineQueryHandler

from bot import normalize as N
from bot.render import render_entry
from handlers.common import core

MAX_RESULTS = 10


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    c = core(context)
    brain = c.brain
    text = (query.query or "")[:256]
    chosen = c.store.chosen_lang(query.from_user.id)
    lang = chosen or N.detect_lang(text) or ("ko" if (query.from_user.language_code or "").startswith("ko") else "en")
    if N.clean(text):
        scores = brain.index.scores(text)
        order = [int(i) for i in np.argsort(-scores, kind="stable")[:MAX_RESULTS]
                 if scores[i] >= brain.index.matching.ambiguous]
        entries = [brain.kb.entries[i] for i in order]
    else:  # nothing typed yet: the general FAQ entries
        entries = [e for e in brain.kb.entries if e.kind == "faq"][:MAX_RESULTS]
    results = []
    for entry in entries:
        doc = render_entry(brain.kb, entry, lang)
        plain = doc.plain()
        results.append(InlineQueryResultArticle(
            id=entry.id[:64], title=entry.title.get(lang)[:100], description=plain[:120],
            input_message_content=InputTextMessageContent(doc.html_chunks()[0], parse_mode=ParseMode.HTML)))
    await query.answer(results, cache_time=30, is_personal=True)


def register(app: Application) -> None:
    app.add_handler(InlineQueryHandler(inline_query))
