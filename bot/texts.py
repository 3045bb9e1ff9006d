"""Every sentence the bot says, one catalogue per language (`KO`, `EN`: the same keys, the same
{placeholders} — a test checks it), and the one rule for which language a user gets (`lang_of`,
`pick_lang`).

Keys are grouped by where they appear: no prefix for the attendee's general messages, then `menu.`,
`cmd.` (command menus), `help.`, `render.` (answers), `agenda.`, `notice.` (reminders, feedback
requests, programme changes), `sub.` and `announce.` (announcements), `progress.`, and `staff.`,
`reload.`, `chart.` for staff screens (in the staff member's language: `STAFF_KO`, `STAFF_EN`). A key with a
`_one` twin is counted: `counted` picks the singular for 1.
Texts holding HTML say so in a comment; what goes into their placeholders must be escaped by the caller.
"""

from __future__ import annotations

from string import Formatter

LANGS = ("en", "ko")
DEFAULT_LANG = "en"


def lang_of(language_code: str | None) -> str:
    """Telegram's `language_code` (an IETF tag: "ko", "ko-KR", "en-GB", None) → "ko" or "en"."""
    return "ko" if (language_code or "").lower().startswith("ko") else "en"


def pick_lang(chosen: str | None = None, question: str | None = None, app: str | None = None) -> str:
    """The language to answer in: the user's /lang choice, else the language the question is written
    in (when there is one: free text, inline queries), else the Telegram app's language."""
    if chosen in LANGS:
        return chosen
    if question in LANGS:
        return question
    return lang_of(app)


def parse_lang(word: str) -> str | None:
    """`/lang <word>`: "ko", "en", or None when the word names no language."""
    return LANG_WORDS.get(word.strip().lower())


LANG_WORDS = {"ko": "ko", "kr": "ko", "korean": "ko", "한국어": "ko",
              "en": "en", "english": "en", "영어": "en"}


def won(amount: int, lang: str) -> str:
    """A sum in Korean won: 만원 units when round in Korean, "KRW 1,000" in English."""
    if lang == "ko":
        if amount % 10000 == 0:
            return f"{amount // 10000:,}만원"
        return f"{amount:,}원"
    return f"KRW {amount:,}"


# ---------------------------------------------------------------- staff screens, in the staff member's language

STAFF_EN = {
    "cmd.broadcast": "Announce to subscribers",
    "cmd.broadcasts": "Recent broadcasts",
    "cmd.reload": "Reload the knowledge",
    "cmd.unanswered": "Unanswered questions",
    "cmd.stats": "Statistics",
    "cmd.ratings": "Session ratings",
    "staff.broadcast_usage": ("Usage:\n/broadcast [{audiences}]\n{examples}\n\n"
                              "Text without KO:/EN: goes to everyone as written. Reply with /broadcast to a "
                              "message, photo or document to send that instead."),
    "staff.broadcast_example_ko": "KO: Korean announcement",
    "staff.broadcast_example_en": "EN: English announcement",
    "staff.broadcast_audience": ("📣 This event has no '{audience}' audience: its subscribers read {languages}.\n\n"
                                 "Usage:\n/broadcast [{audiences}]"),
    # HTML; {audience}, {ko}, {en} escaped by the caller
    "staff.preview_copy": ("📣 Preview #{id} — the message you replied to will be copied to <b>{audience}</b> "
                           "subscribers. Nothing is sent before you confirm."),
    "staff.preview_text": ("📣 Preview #{id} — audience: <b>{audience}</b>. Nothing is sent before you confirm.\n\n"
                           "🇰🇷 {ko}\n\n🇬🇧 {en}"),
    "staff.confirm_button": "✅ Confirm",
    "staff.cancel_button": "✖️ Cancel",
    "staff.stop_button": "⏹ Stop",
    "staff.cancel_id_button": "⏹ Cancel #{id}",
    "staff.already": "📣 #{id} is already {status}.",
    "staff.queued": "📣 #{id} queued for {n} subscribers…",
    "staff.queued_one": "📣 #{id} queued for {n} subscriber…",
    "staff.cancelled": "✖️ #{id} cancelled. Sent before cancel: {sent}.",
    # HTML; {snippet} escaped by the caller
    "staff.broadcast_line": ("#{id} {status} · {audience} · sent {sent}/{total} · blocked {blocked} · "
                             "failed {failed} — {snippet}"),
    "staff.copied_message": "(copied message)",
    "staff.no_broadcasts": "No announcements yet.",
    "staff.unanswered_none": "No unanswered questions in the last 24 hours. 🎉",
    "staff.unanswered_head": "❓ Unanswered in the last 24 h: {questions}, {groups}",
    "staff.n_questions": "{n} questions",
    "staff.n_questions_one": "{n} question",
    "staff.n_groups": "{n} groups",
    "staff.n_groups_one": "{n} group",
    "staff.unanswered_line": "{count}× {example}",
    "staff.unanswered_variants": "  (+{n} variants)",
    "staff.unanswered_variants_one": "  (+{n} variant)",
    "staff.problem": "⚠️ {problem}",
    "staff.ratings_head": "⭐ Ratings",
    "staff.ratings_line": "{average:.2f} ({votes}) — {title}",
    "staff.ratings_none": "no ratings yet",
    "staff.comments_head": "\n💬 Latest comments",
    "staff.comment_line": "{at} [{language}] {text}",
    "staff.comments_none": "none yet",
    "staff.stats_failed": "(The chart could not be drawn; see the bot's log.)",
    # /stats and `python -m bot stats --out` as a picture (bot/stats_chart.py)
    "chart.title": "{event} — questions to the bot",
    "chart.per_hour": "Questions per hour ({tz})",
    "chart.outcomes": "Outcomes",
    "chart.answered": "answered",
    "chart.did_you_mean": "did you mean",
    "chart.unknown": "not answered",
    "chart.top_topics": "Top topics",
    "chart.top_unanswered": "Top unanswered",
    "chart.none": "no data yet",
    "chart.total": "{n} questions in all",
    "chart.total_one": "{n} question in all",
    # an untranslated staff answer in a FAQ entry (bot/staff_faq.py), in the reader's language
    "faq.untranslated_ko": "(The organisers answered in Korean; this answer is not translated yet.)",
    "faq.untranslated_en": "(The organisers answered in English; this answer is not translated yet.)",
    # knowledge reloads (bot/reload.py)
    "reload.applied": "✅ Knowledge reloaded: {summary}.\nChanges: {changes}",
    "reload.synonyms_changed": "\nSynonyms changed.",
    "reload.unchanged": "✅ Knowledge reloaded: {summary}.\nNo changes: the bot answers as before.",
    "reload.problems": ("⚠️ The knowledge files have {n} problems. The bot keeps answering from the last good "
                        "version until they are fixed:\n{problems}"),
    "reload.problems_one": ("⚠️ The knowledge files have {n} problem. The bot keeps answering from the last good "
                            "version until it is fixed:\n{problems}"),
    "reload.more_problems": "\n… and {n} more (python -m bot validate lists them all)",
    "reload.error": ("⚠️ The knowledge reload failed: {error}. The bot keeps answering from the last good version. "
                     "Run `python -m bot validate` and see the bot's log for details."),
    "reload.timeout": ("⚠️ Loading the knowledge files took more than {seconds:g} s and was abandoned. The bot keeps "
                       "answering from the last good version. Check for a very large file in the knowledge folder."),
    "reload.busy": ("⏳ The previous knowledge load is still running ({seconds:.0f} s so far); no new load is started "
                    "until it ends. The bot keeps answering from the last good version."),
    "reload.held": ("⏸ Knowledge reload held: the new version would remove a lot. Nothing changes for attendees "
                    "until you choose."),
    "reload.held_removed": "Entries removed: {n} of {total}:",
    "reload.held_more": "… and {n} more",
    "reload.held_emptied": "File emptied: {name} (had {n} items)",
    "reload.held_emptied_one": "File emptied: {name} (had {n} item)",
    "reload.held_deleted": "File removed: {name} (had {n} items)",
    "reload.held_deleted_one": "File removed: {name} (had {n} item)",
    "reload.held_wait": "If a file is still being saved, wait: a newer version replaces this one.",
    "reload.kept": ("✋ Kept the current knowledge; the held version was dropped. The bot keeps answering from the "
                    "last good version until the files change again."),
    "reload.superseded": "↪️ This held version was replaced by a newer reload; see the latest message.",
    "reload.apply_button": "✅ Apply anyway",
    "reload.keep_button": "✋ Keep current",
    "reload.closed": "This choice is no longer open: it was answered already or replaced by a newer reload.",
    "reload.chosen_by": "{text}\n(chosen by {who})",
    "reload.applied_by": "{text}\n(applied by {who})",
    "reload.someone": "staff",
}

STAFF_KO = {
    "cmd.broadcast": "구독자에게 공지 발송",
    "cmd.broadcasts": "최근 공지 발송 현황",
    "cmd.reload": "지식 파일 다시 읽기",
    "cmd.unanswered": "못 답한 질문",
    "cmd.stats": "통계",
    "cmd.ratings": "세션 평가",
    "staff.broadcast_usage": ("사용법:\n/broadcast [{audiences}]\n{examples}\n\n"
                              "KO:/EN: 없이 쓴 글은 쓴 그대로 모두에게 가요. 메시지·사진·문서에 /broadcast 로 "
                              "답장하면 그것을 보내요."),
    "staff.broadcast_example_ko": "KO: 한국어 공지",
    "staff.broadcast_example_en": "EN: 영어 공지",
    "staff.broadcast_audience": ("📣 이 행사에는 '{audience}' 대상이 없어요: 구독자는 {languages}(으)로 읽어요.\n\n"
                                 "사용법:\n/broadcast [{audiences}]"),
    # HTML; {audience}, {ko}, {en} escaped by the caller
    "staff.preview_copy": ("📣 미리보기 #{id} — 답장한 메시지를 <b>{audience}</b> 구독자에게 복사해 보내요. "
                           "발송을 누르기 전에는 아무것도 보내지 않아요."),
    "staff.preview_text": ("📣 미리보기 #{id} — 대상: <b>{audience}</b>. 발송을 누르기 전에는 아무것도 보내지 않아요.\n\n"
                           "🇰🇷 {ko}\n\n🇬🇧 {en}"),
    "staff.confirm_button": "✅ 발송",
    "staff.cancel_button": "✖️ 취소",
    "staff.stop_button": "⏹ 중단",
    "staff.cancel_id_button": "⏹ #{id} 취소",
    "staff.already": "📣 #{id}은(는) 이미 {status} 상태예요.",
    "staff.queued": "📣 #{id} 구독자 {n}명에게 발송 대기 중…",
    "staff.queued_one": "📣 #{id} 구독자 {n}명에게 발송 대기 중…",
    "staff.cancelled": "✖️ #{id} 취소했어요. 취소 전에 보낸 수: {sent}.",
    # HTML; {snippet} escaped by the caller
    "staff.broadcast_line": ("#{id} {status} · {audience} · 보냄 {sent}/{total} · 차단 {blocked} · "
                             "실패 {failed} — {snippet}"),
    "staff.copied_message": "(복사한 메시지)",
    "staff.no_broadcasts": "아직 공지가 없어요.",
    "staff.unanswered_none": "지난 24시간 동안 못 답한 질문이 없어요. 🎉",
    "staff.unanswered_head": "❓ 지난 24시간 못 답한 질문: {questions}, {groups}",
    "staff.n_questions": "{n}개",
    "staff.n_questions_one": "{n}개",
    "staff.n_groups": "{n}묶음",
    "staff.n_groups_one": "{n}묶음",
    "staff.unanswered_line": "{count}× {example}",
    "staff.unanswered_variants": "  (+비슷한 질문 {n}개)",
    "staff.unanswered_variants_one": "  (+비슷한 질문 {n}개)",
    "staff.problem": "⚠️ {problem}",
    "staff.ratings_head": "⭐ 세션 평가",
    "staff.ratings_line": "{average:.2f} ({votes}) — {title}",
    "staff.ratings_none": "아직 평가가 없어요",
    "staff.comments_head": "\n💬 최근 의견",
    "staff.comment_line": "{at} [{language}] {text}",
    "staff.comments_none": "아직 없어요",
    "staff.stats_failed": "(그래프를 그리지 못했어요. 봇 로그를 확인해 주세요.)",
    # /stats and `python -m bot stats --out` as a picture (bot/stats_chart.py)
    "chart.title": "{event} — 봇에 온 질문",
    "chart.per_hour": "시간별 질문 수 ({tz})",
    "chart.outcomes": "답변 결과",
    "chart.answered": "답변함",
    "chart.did_you_mean": "혹시 이것?",
    "chart.unknown": "답 못 함",
    "chart.top_topics": "많이 물은 주제",
    "chart.top_unanswered": "많이 물은 못 답한 질문",
    "chart.none": "아직 데이터가 없어요",
    "chart.total": "전체 질문 {n}개",
    "chart.total_one": "전체 질문 {n}개",
    # an untranslated staff answer in a FAQ entry (bot/staff_faq.py), in the reader's language
    "faq.untranslated_ko": "(운영진이 한국어로 답했어요. 아직 번역되지 않은 답변이에요.)",
    "faq.untranslated_en": "(운영진이 영어로 답했어요. 아직 번역되지 않은 답변이에요.)",
    # knowledge reloads (bot/reload.py)
    "reload.applied": "✅ 지식을 다시 읽었어요: {summary}.\n바뀐 것: {changes}",
    "reload.synonyms_changed": "\n동의어가 바뀌었어요.",
    "reload.unchanged": "✅ 지식을 다시 읽었어요: {summary}.\n바뀐 것 없음: 봇은 전과 같이 답해요.",
    "reload.problems": ("⚠️ 지식 파일에 문제가 {n}개 있어요. 고칠 때까지 봇은 마지막으로 정상이던 버전으로 "
                        "답해요:\n{problems}"),
    "reload.problems_one": ("⚠️ 지식 파일에 문제가 {n}개 있어요. 고칠 때까지 봇은 마지막으로 정상이던 버전으로 "
                            "답해요:\n{problems}"),
    "reload.more_problems": "\n… 외 {n}개 (python -m bot validate 로 모두 볼 수 있어요)",
    "reload.error": ("⚠️ 지식 다시 읽기에 실패했어요: {error}. 봇은 마지막으로 정상이던 버전으로 답해요. "
                     "`python -m bot validate` 를 실행하고 봇 로그를 확인해 주세요."),
    "reload.timeout": ("⚠️ 지식 파일을 읽는 데 {seconds:g}초가 넘게 걸려 중단했어요. 봇은 마지막으로 정상이던 버전으로 "
                       "답해요. 지식 폴더에 아주 큰 파일이 있는지 확인해 주세요."),
    "reload.busy": ("⏳ 이전 지식 읽기가 아직 진행 중이에요 (지금까지 {seconds:.0f}초). 끝날 때까지 새로 읽지 않아요. "
                    "봇은 마지막으로 정상이던 버전으로 답해요."),
    "reload.held": "⏸ 지식 다시 읽기를 보류했어요: 새 버전은 많은 것을 지워요. 선택하기 전에는 참가자에게 바뀌는 것이 없어요.",
    "reload.held_removed": "지워지는 항목: 전체 {total}개 중 {n}개:",
    "reload.held_more": "… 외 {n}개",
    "reload.held_emptied": "비워진 파일: {name} (항목 {n}개가 있었어요)",
    "reload.held_emptied_one": "비워진 파일: {name} (항목 {n}개가 있었어요)",
    "reload.held_deleted": "지워진 파일: {name} (항목 {n}개가 있었어요)",
    "reload.held_deleted_one": "지워진 파일: {name} (항목 {n}개가 있었어요)",
    "reload.held_wait": "파일을 아직 저장하는 중이라면 기다려 주세요: 새 버전이 이것을 대신해요.",
    "reload.kept": "✋ 지금 지식을 유지하고 보류한 버전은 버렸어요. 파일이 다시 바뀔 때까지 봇은 마지막으로 정상이던 버전으로 답해요.",
    "reload.superseded": "↪️ 보류한 버전은 더 새로운 다시 읽기로 대체됐어요. 최신 메시지를 보세요.",
    "reload.apply_button": "✅ 그래도 적용",
    "reload.keep_button": "✋ 지금 것 유지",
    "reload.closed": "이 선택은 이미 끝났어요: 누군가 답했거나 더 새로운 다시 읽기로 대체됐어요.",
    "reload.chosen_by": "{text}\n({who} 선택)",
    "reload.applied_by": "{text}\n({who} 적용)",
    "reload.someone": "운영진",
}

# ---------------------------------------------------------------- Korean

KO = {
    # helpdesk: "Ask the organisers" (bot/helpdesk.py). Attendee texts in the attendee's language, staff texts
    # in the staff member's; HTML where marked, placeholders escaped by the caller
    "cmd.ask": "운영진에게 질문하기",
    "help.ask": "/ask 질문 — 봇이 모르는 것을 운영진에게 물어봐요",
    "helpdesk.ask_button": "🙋 운영진에게 물어보기",
    "helpdesk.asked": "✉️ 질문을 운영진에게 전달했어요. 답변이 오면 여기로 보내 드릴게요.",
    "helpdesk.already": "✉️ 이 질문은 이미 운영진에게 전달됐어요. 답변을 기다려 주세요.",
    "helpdesk.ask_usage": "/ask 뒤에 질문을 써 주세요. 예: /ask 물품 보관소가 있나요?",
    "helpdesk.unavailable": "이 봇에서는 운영진에게 직접 질문할 수 없어요. /contact 에서 연락처를 확인해 주세요.",
    "helpdesk.private_only": "운영진에게 질문하려면 저와의 1:1 대화에서 /ask 를 보내 주세요.",
    "helpdesk.header": "💬 <b>운영진 답변</b>",  # HTML
    "helpdesk.lang_ko": "한국어",
    "helpdesk.lang_en": "영어",
    "helpdesk.question": "❓ <b>질문 #{id}</b> · {name} · {language}{topic}\n\n{question}\n\n{how}",  # HTML
    "helpdesk.topic_part": " · 최근 주제: {topic}",
    "helpdesk.how_reply": "↩️ 이 메시지에 답장하면 참가자에게 전달돼요.",
    "helpdesk.how_topic": "✍️ 이 토픽에 쓰면 참가자에게 전달돼요.",
    "helpdesk.topic_name": "❓ {name} ({user})",
    "helpdesk.digest_head": "📥 질문이 많아 {n}개를 묶어서 보내요 (답변 버튼을 누르세요):",
    "helpdesk.digest_line": "#{id} [{language}] {name}: {question}",  # HTML
    "helpdesk.answer_button": "✍️ #{id} 답변",
    "helpdesk.prompt": "✍️ 질문 #{id} · {name} · {language}\n\n{question}\n\n↩️ 이 메시지에 답장으로 답변을 써 주세요.",  # HTML
    "helpdesk.sent": "✅ {name}님께 보냈어요 (#{id}).",
    "helpdesk.faq_button": "💾 FAQ로 저장",
    "helpdesk.faq_saved": "💾 FAQ 항목 {entry}(으)로 저장했어요. 이제 봇이 이 질문에 답해요.",
    "helpdesk.faq_failed": "⚠️ FAQ로 저장하지 못했어요: {error}",
    "helpdesk.faq_no_text": "⚠️ 글로 된 답변만 FAQ로 저장할 수 있어요.",
    "helpdesk.faq_unavailable": "⚠️ 이 봇에서는 FAQ 저장을 쓸 수 없어요.",
    "helpdesk.blocked": "⚠️ {name}님이 봇을 차단해서 질문 #{id}의 답변을 전달하지 못했어요.",
    "helpdesk.failed": "⚠️ 질문 #{id}의 답변을 전달하지 못했어요: {error}",
    "helpdesk.open_head": "✍️ 답변을 기다리는 참가자 질문 (눌러서 답변):",
    "helpdesk.open_line": "#{id} [{language}] {name}: {question}",
    "helpdesk.open_none": "답변을 기다리는 참가자 질문이 없어요.",
    "helpdesk.gone": "이 질문은 더 이상 없어요.",
    # general messages (bot.pages, bot.answer)
    "welcome": "안녕하세요! {name} 안내 봇입니다. 🏙\n궁금한 것을 편하게 물어보세요 (예: {examples}).\n아래 메뉴로 둘러볼 수도 있어요.",
    "welcome.plain": "안녕하세요! {name} 안내 봇입니다. 🏙\n궁금한 것을 편하게 물어보세요.\n아래 메뉴로 둘러볼 수도 있어요.",
    "welcome.quote": "「{q}」",
    "smalltalk.thanks": "천만에요! 😊 더 궁금한 게 있으면 언제든 물어보세요.",
    "smalltalk.bye": "안녕히 가세요! 👋 필요할 때 다시 불러 주세요.",
    "smalltalk.how": "잘 지내요, 고마워요! 😊 {name}에 대해 궁금한 걸 물어보세요.",
    "smalltalk.ack": "👍 더 궁금한 게 있으면 물어보세요.",
    "smalltalk.test": "네, 잘 작동하고 있어요! ✅ 궁금한 걸 물어보세요.",
    "smalltalk.who": "저는 {name} 안내 봇이에요. 🤖 일정, 장소, 연사, 결과, 문의처를 알려 드려요.",
    "welcome.quote_sep": ", ",
    "menu": "무엇을 볼까요?",
    "not_found": ("죄송해요, 그 질문에 대한 답은 아직 모르겠어요. 🙏\n질문을 남겨 두었으니 운영진이 확인할게요. "
                  "아래 메뉴에서 찾아보시거나 문의처로 연락해 주세요:\n{contact}"),
    "not_covered": ("죄송해요, {topic} 정보는 아직 없어요. 🙏\n질문을 남겨 두었으니 운영진이 확인할게요. "
                    "문의처:\n{contact}"),
    "topic.parking": "주차",
    "topic.wifi": "와이파이",
    "topic.food": "식사·카페",
    "topic.toilets": "화장실",
    "topic.cloakroom": "물품 보관",
    "topic.tickets": "입장권·요금",
    "topic.registration": "등록·신청",
    "topic.shuttle": "셔틀버스",
    "topic.transport": "대중교통",
    "topic.hotels": "숙박",
    "topic.weather": "날씨",
    "topic.photography": "사진 촬영",
    "topic.volunteering": "자원봉사",
    "topic.lost_found": "분실물",
    "topic.smoking": "흡연",
    "topic.money": "ATM·환전",
    "topic.charging": "휴대폰 충전",
    "topic.prayer": "기도실",
    "topic.nursing": "수유실",
    "topic.pets": "반려동물",
    "topic.accessibility": "장애인 편의시설",
    "topic.medical": "의무실·응급",
    "topic.wifi_password": "비밀번호",
    "other_edition": ("저는 {event}, {dates} 정보만 알고 있어요. 🙏 다른 해나 다른 회차 행사는 문의처로 "
                      "연락해 주세요:\n{contact}"),
    "did_you_mean": "혹시 이것을 찾으셨나요?",
    "empty": "질문을 글자로 입력해 주세요. 예: 「행사 언제 해?」",
    "too_long": "질문이 너무 길어요. 짧게 한두 문장으로 물어봐 주세요.",
    "unknown_command": "모르는 명령어예요. /help 로 쓸 수 있는 명령을 확인하세요.",
    "non_text": "사진·스티커는 읽을 수 없어요. 질문을 글자로 입력해 주세요. 🙂",
    "flood": "메시지가 너무 많아요. 잠시 후에 다시 물어봐 주세요.",
    "lang_set": "언어를 한국어로 설정했어요.",
    "lang_only": "이 행사의 안내는 한국어로만 해 드려요. 🙂 궁금한 것을 물어보세요.",
    "choose_lang": "언어를 고르세요 / Choose a language:",
    "lang_button_ko": "한국어",
    "lang_button_en": "English",
    "schedule": "어느 날의 일정을 볼까요?",
    "speakers": "연사 — 이름을 누르면 자세히 볼 수 있어요.",
    "results": "행사 결과 — 무엇을 볼까요?",
    "venue_more": "전시관 — 누르면 참여 기관을 볼 수 있어요.",
    "before": "행사 시작 전이에요. {start}에 시작해요.",
    "after": "행사는 {end}에 끝났어요. 결과는 /results 에서 볼 수 있어요.",
    "now_title": "지금 ({now})",
    "now_none": "지금 시작 시간이 알려진 진행 중인 세션은 없어요.",
    "next_title": "다음",
    "next_none": "오늘 남은 일정 중 시작 시간이 알려진 세션은 없어요.",
    "prog.now": "지금 {place} ({now})",
    "prog.now_none": "지금({now}) {place}에서 진행 중인 세션은 없어요.",
    "prog.next": "{place} 다음 세션",
    "prog.next_none": "{place}에 남은 세션이 없어요.",
    "today_all": "오늘 열리는 행사 (시간 미정·종일)",
    "times_note": "시작 시간이 발표된 세션은 전체 {total}개 중 {timed}개예요.",
    "none.sched": "아직 발표된 프로그램이 없어요.",
    "none.venue": "아직 장소 안내가 없어요.",
    "none.speakers": "아직 발표된 연사가 없어요.",
    "none.results": "아직 발표된 결과가 없어요.",
    "contact": "문의",
    "error": "죄송해요, 일시적인 오류가 있었어요. 잠시 후 다시 시도해 주세요.",
    "refused": "죄송해요, 운영진만 쓸 수 있는 명령이에요.",
    # buttons
    "menu.sched": "🗓 일정",
    "menu.now": "⏱ 지금·다음",
    "menu.venue": "📍 장소",
    "menu.speakers": "🎤 연사",
    "menu.results": "🏆 결과",
    "menu.contact": "☎️ 문의",
    "menu.back": "⬅️ 메뉴",
    "star.add": "내 일정에 추가",
    "star.remove": "내 일정에서 빼기",
    # command menu (set_my_commands)
    "cmd.start": "시작하고 메뉴 보기",
    "cmd.menu": "메뉴",
    "cmd.schedule": "날짜별 일정",
    "cmd.now": "지금·다음",
    "cmd.venue": "장소와 전시관",
    "cmd.speakers": "연사",
    "cmd.results": "결과와 시상",
    "cmd.contact": "문의처",
    "cmd.my": "내 일정",
    "cmd.remind": "알림 설정",
    "cmd.ics": "캘린더 파일",
    "cmd.announcements": "최근 공지",
    "cmd.subscribe": "공지 받기",
    "cmd.unsubscribe": "공지 그만 받기",
    "cmd.feedback": "의견 보내기",
    "cmd.lang": "언어: 한국어/English",
    "cmd.help": "사용법",
    # /help: the head, one line per group of commands (/name + help.<name>), the inline tip
    "help.head": "이렇게 쓰세요:\n• 질문을 그냥 입력하세요 — 한국어/영어, 오타·초성(ㅎㅋㅌ)도 괜찮아요.",
    "help.head_one": "이렇게 쓰세요:\n• 질문을 그냥 입력하세요 — 오타나 초성만 써도 괜찮아요.",  # a one-language event
    "help.inline": "• 다른 대화방에서 @{bot} {example} 처럼 검색할 수도 있어요.",
    "help.menu": "메뉴",
    "help.schedule": "일정",
    "help.now": "지금·다음",
    "help.venue": "장소",
    "help.speakers": "연사",
    "help.results": "결과",
    "help.contact": "문의",
    "help.lang": "언어 바꾸기 (한국어/English)",
    # answers (bot.render)
    "render.speakers": "연사",
    "render.when": "일시",
    "render.where": "장소",
    "render.time_tbc": "시간 미정(주최 측 공지 예정)",
    "render.exhibitors": "참여",
    "render.topic": "주제",
    "render.winners": "수상",
    "render.prize_money": "상금",
    "render.more_works": "외 {n}점",
    "render.total_works": "총 {n}점",
    "render.sessions_of": "참여 세션",
    "render.address": "주소",
    "render.all_day": "시간 미정 · 종일",
    "render.announced_later": "아직 발표 전이에요. {when}에 발표될 예정이에요.",
    "status.before": "아직 시작 전이에요. 행사는 {start}부터 {end}까지 열려요.",
    "status.during": "지금 진행 중이에요. 행사는 {end}에 끝나요.",
    "status.after": "행사는 끝났어요. {end}에 막을 내렸어요.",
    # personal agenda
    "agenda.saved": "내 일정에 추가했어요. 시작 {m}분 전에 알려 드릴게요.",
    "agenda.saved_no_time": "내 일정에 추가했어요. 시작 시간이 아직 발표되지 않아 알림은 보낼 수 없어요.",
    "agenda.saved_quiet": "내 일정에 추가했어요. (알림 꺼짐: /remind 15)",
    "agenda.removed": "내 일정에서 뺐어요.",
    "agenda.overlaps": "⚠️ 내 일정의 「{title}」와(과) 시간이 겹쳐요.",
    "agenda.saved_started": "내 일정에 추가했어요. (이미 시작한 세션이라 알림은 없어요)",
    "agenda.gone": "이 세션은 더 이상 프로그램에 없어요.",
    "agenda.empty": "내 일정이 비어 있어요. 일정(/schedule)에서 ☆를 눌러 세션을 추가하세요.",
    "agenda.title": "📌 내 일정",
    "agenda.time_tba": "시간 미정",
    "agenda.remind_on": "세션 시작 {m}분 전에 알려 드릴게요.",
    "agenda.remind_off": "알림을 껐어요. 다시 켜려면 /remind 15",
    "agenda.remind_usage": "지금 설정: {state}. 바꾸려면 /remind 30 (분) 또는 /remind off",
    "agenda.remind_state_on": "{m}분 전",
    "agenda.remind_state_off": "꺼짐",
    "agenda.rated": "평가 고마워요! ({n}점)",
    "agenda.feedback_usage": "의견을 함께 보내 주세요. 예: /feedback 안내 표지판이 더 있으면 좋겠어요",
    "agenda.feedback_thanks": "의견 고마워요! 운영진에게 전달할게요.",
    "agenda.rate_not_saved": "내 일정에 추가한 세션만 평가할 수 있어요.",
    "agenda.rate_not_started": "세션이 시작된 뒤에 평가할 수 있어요.",
    "agenda.ics_caption": "📅 내 일정 캘린더 파일이에요. 다시 가져오면 기존 일정이 갱신돼요.",
    "agenda.ics_all": "📅 전체 프로그램 캘린더 파일이에요 (내 일정이 비어 있어요).",
    # personal notices (HTML; placeholders escaped by bot.agenda)
    "notice.reminder": "⏰ {m}분 뒤 시작: <b>{title}</b>\n🗓 {when}\n📍 {where}",
    "notice.rate_q": "「{title}」 어떠셨어요? 1~5점으로 평가해 주세요.",
    "notice.moved": "📌 내 일정의 세션이 변경됐어요: <b>{title}</b>\n🗓 {when}\n📍 {where}",
    "notice.dropped": "📌 내 일정의 세션이 프로그램에서 빠졌어요: <b>{title}</b>",
    # announcements (head: HTML)
    "announce.head": "📣 <b>공지</b>",
    "announce.none": "아직 공지가 없어요.",
    "sub.on": "🔔 공지를 받아요. 그만 받으려면 /unsubscribe",
    "sub.off": "🔕 공지를 더 보내지 않을게요. 다시 받으려면 /subscribe",
    "sub.off_button": "🔕 공지 그만 받기",
    "sub.on_button": "🔔 다시 받기",
    # broadcast progress (staff)
    "progress.sending": "📣 공지 #{id} 발송 중",
    "progress.done": "📣 공지 #{id} 완료",
    "progress.cancelled": "📣 공지 #{id} 취소됨",
    "progress.counts": "보냄 {sent} · 남음 {pending} · 차단 {blocked} · 실패 {failed} (전체 {total}, 처리 {done})",
    "stats": "📊 사용자 {users} · 구독 {subscribers} · 차단 {blocked}\n오늘 질문 {questions} · 답변률 {share}",
    **STAFF_KO,
}

# ---------------------------------------------------------------- English

EN = {
    # helpdesk (see the Korean catalogue)
    "cmd.ask": "Ask the organisers",
    "help.ask": "/ask question — ask the organisers what I don't know",
    "helpdesk.ask_button": "🙋 Ask the organisers",
    "helpdesk.asked": "✉️ I passed your question to the organisers. Their answer will appear here.",
    "helpdesk.already": "✉️ This question is already with the organisers. Their answer will appear here.",
    "helpdesk.ask_usage": "Write your question after /ask, e.g. /ask Is there a cloakroom?",
    "helpdesk.unavailable": "Questions to the organisers are not available in this bot. See /contact for how to reach them.",
    "helpdesk.private_only": "To ask the organisers, send /ask in a private chat with me.",
    "helpdesk.header": "💬 <b>From the organisers</b>",  # HTML
    "helpdesk.lang_ko": "Korean",
    "helpdesk.lang_en": "English",
    "helpdesk.question": "❓ <b>Question #{id}</b> · {name} · {language}{topic}\n\n{question}\n\n{how}",  # HTML
    "helpdesk.topic_part": " · last topic: {topic}",
    "helpdesk.how_reply": "↩️ Reply to this message to answer the attendee.",
    "helpdesk.how_topic": "✍️ Write in this topic to answer the attendee.",
    "helpdesk.topic_name": "❓ {name} ({user})",
    "helpdesk.digest_head": "📥 Many questions at once: {n} batched here (tap to answer):",
    "helpdesk.digest_line": "#{id} [{language}] {name}: {question}",  # HTML
    "helpdesk.answer_button": "✍️ Answer #{id}",
    "helpdesk.prompt": "✍️ Question #{id} · {name} · {language}\n\n{question}\n\n↩️ Reply to this message with your answer.",  # HTML
    "helpdesk.sent": "✅ sent to {name} (#{id}).",
    "helpdesk.faq_button": "💾 Save as FAQ",
    "helpdesk.faq_saved": "💾 Saved as FAQ entry {entry}; the bot answers it from now on.",
    "helpdesk.faq_failed": "⚠️ Not saved as FAQ: {error}",
    "helpdesk.faq_no_text": "⚠️ Only an answer with text can be saved as FAQ.",
    "helpdesk.faq_unavailable": "⚠️ Saving as FAQ is not available in this bot.",
    "helpdesk.blocked": "⚠️ {name} has blocked the bot: the answer to question #{id} was not delivered.",
    "helpdesk.failed": "⚠️ The answer to question #{id} could not be delivered: {error}",
    "helpdesk.open_head": "✍️ Attendees' questions waiting for an answer (tap to answer):",
    "helpdesk.open_line": "#{id} [{language}] {name}: {question}",
    "helpdesk.open_none": "No attendee questions are waiting for an answer.",
    "helpdesk.gone": "This question no longer exists.",
    # general messages (bot.pages, bot.answer)
    "welcome": ("Hello! I'm the guide bot of {name}. 🏙\nAsk me anything in your own words (e.g. {examples}),\n"
                "or browse with the menu below."),
    "welcome.plain": "Hello! I'm the guide bot of {name}. 🏙\nAsk me anything in your own words,\nor browse with the menu below.",
    "welcome.quote": "“{q}”",
    "smalltalk.thanks": "You're welcome! 😊 Ask me anything else any time.",
    "smalltalk.bye": "Goodbye! 👋 Come back whenever you need me.",
    "smalltalk.how": "I'm doing well, thanks! 😊 Ask me anything about {name}.",
    "smalltalk.ack": "👍 Ask me whenever you need anything else.",
    "smalltalk.test": "Yes, I'm working! ✅ Ask me anything about the event.",
    "smalltalk.who": "I'm the guide bot of {name}. 🤖 I can tell you about the programme, the venue, speakers, results and whom to contact.",
    "welcome.quote_sep": ", ",
    "menu": "What would you like to see?",
    "not_found": ("Sorry, I don't know the answer to that yet. 🙏\nI've passed your question on to the organisers. "
                  "Try the menu below, or contact:\n{contact}"),
    "not_covered": ("Sorry, I have no information about {topic} yet. 🙏\nI've passed your question on to the "
                    "organisers. Contact:\n{contact}"),
    "topic.parking": "parking",
    "topic.wifi": "wifi",
    "topic.food": "food and cafés",
    "topic.toilets": "toilets",
    "topic.cloakroom": "the cloakroom and lockers",
    "topic.tickets": "tickets and prices",
    "topic.registration": "registration",
    "topic.shuttle": "shuttle buses",
    "topic.transport": "public transport",
    "topic.hotels": "hotels",
    "topic.weather": "the weather",
    "topic.photography": "taking photos",
    "topic.volunteering": "volunteering",
    "topic.lost_found": "lost and found",
    "topic.smoking": "smoking areas",
    "topic.money": "ATMs and currency exchange",
    "topic.charging": "phone charging",
    "topic.prayer": "a prayer room",
    "topic.nursing": "a nursing room",
    "topic.pets": "pets",
    "topic.accessibility": "accessibility",
    "topic.medical": "first aid",
    "topic.wifi_password": "passwords",
    "other_edition": "I only know about {event}, {dates}. 🙏 For other years or editions, please contact:\n{contact}",
    "did_you_mean": "Did you mean one of these?",
    "empty": "Please type your question as text, e.g. “when is the event?”",
    "too_long": "That message is too long — please ask in a sentence or two.",
    "unknown_command": "I don't know that command. Send /help to see what I can do.",
    "non_text": "I can't read photos or stickers — please type your question. 🙂",
    "flood": "That's a lot of messages — please wait a moment and ask again.",
    "lang_set": "Language set to English.",
    "lang_only": "This event's bot speaks English only. 🙂 Ask me anything about the event.",
    "choose_lang": "Choose a language / 언어를 고르세요:",
    "lang_button_ko": "한국어",
    "lang_button_en": "English",
    "schedule": "Which day's programme?",
    "speakers": "Speakers — tap a name for details.",
    "results": "Results — what would you like to see?",
    "venue_more": "Pavilions — tap one to see who exhibited.",
    "before": "The event hasn't started yet. It opens on {start}.",
    "after": "The event ended on {end}. See /results for how it went.",
    "now_title": "Now ({now})",
    "now_none": "No session with a known time is running right now.",
    "next_title": "Next",
    "next_none": "No more sessions with a known start time today.",
    "prog.now": "Now in {place} ({now})",
    "prog.now_none": "Nothing is running in {place} right now ({now}).",
    "prog.next": "Next in {place}",
    "prog.next_none": "No more sessions in {place}.",
    "today_all": "On today (time not announced / all day)",
    "times_note": "Start times are announced for {timed} of the {total} sessions.",
    "none.sched": "No programme has been announced yet.",
    "none.venue": "No venue information yet.",
    "none.speakers": "No speakers have been announced.",
    "none.results": "No results have been announced.",
    "contact": "Contact",
    "error": "Sorry, something went wrong on my side. Please try again in a moment.",
    "refused": "Sorry, only event staff can use that command.",
    # buttons
    "menu.sched": "🗓 Schedule",
    "menu.now": "⏱ Now & next",
    "menu.venue": "📍 Venue",
    "menu.speakers": "🎤 Speakers",
    "menu.results": "🏆 Results",
    "menu.contact": "☎️ Contact",
    "menu.back": "⬅️ Menu",
    "star.add": "Add to my agenda",
    "star.remove": "Remove from my agenda",
    # command menu (set_my_commands)
    "cmd.start": "Start and show the menu",
    "cmd.menu": "Menu",
    "cmd.schedule": "Programme by day",
    "cmd.now": "Now & next",
    "cmd.venue": "Venue and pavilions",
    "cmd.speakers": "Speakers",
    "cmd.results": "Results and awards",
    "cmd.contact": "Contact the organisers",
    "cmd.my": "My agenda",
    "cmd.remind": "Reminder settings",
    "cmd.ics": "Calendar file",
    "cmd.announcements": "Recent announcements",
    "cmd.subscribe": "Receive announcements",
    "cmd.unsubscribe": "Stop announcements",
    "cmd.feedback": "Send feedback",
    "cmd.lang": "Language: 한국어/English",
    "cmd.help": "How to use this bot",
    # /help
    "help.head": "How to use me:\n• Just type a question, in English or Korean — typos are fine.",
    "help.head_one": "How to use me:\n• Just type a question — typos are fine.",  # a one-language event
    "help.inline": "• In any other chat, type @{bot} {example} to search inline.",
    "help.menu": "menu",
    "help.schedule": "programme",
    "help.now": "now & next",
    "help.venue": "venue",
    "help.speakers": "speakers",
    "help.results": "results",
    "help.contact": "contact",
    "help.lang": "switch language (English/한국어)",
    # answers (bot.render)
    "render.speakers": "Speakers",
    "render.when": "When",
    "render.where": "Where",
    "render.time_tbc": "time not announced",
    "render.exhibitors": "Exhibitors",
    "render.topic": "Topic",
    "render.winners": "Winners",
    "render.prize_money": "Prize money",
    "render.more_works": "and {n} more",
    "render.total_works": "{n} works in all",
    "render.sessions_of": "Sessions",
    "render.address": "Address",
    "render.all_day": "Time not announced / all day",
    "render.announced_later": "Not announced yet: it will be announced on {when}.",
    "status.before": "Not yet — the event has not started: it runs from {start} to {end}.",
    "status.during": "It is on now — the event closes on {end}.",
    "status.after": "It is over — the event closed on {end}.",
    # personal agenda
    "agenda.saved": "Added to my agenda. I'll remind you {m} minutes before it starts.",
    "agenda.saved_no_time": "Added to my agenda. Its start time hasn't been announced, so I can't send a reminder.",
    "agenda.saved_quiet": "Added to my agenda. (Reminders are off: /remind 15)",
    "agenda.removed": "Removed from my agenda.",
    "agenda.overlaps": "⚠️ It overlaps with “{title}” in your agenda.",
    "agenda.saved_started": "Added to my agenda. (It has already started, so no reminder.)",
    "agenda.gone": "This session is no longer in the programme.",
    "agenda.empty": "Your agenda is empty. Tap ☆ on a session in /schedule to add it.",
    "agenda.title": "📌 My agenda",
    "agenda.time_tba": "time TBA",
    "agenda.remind_on": "I'll remind you {m} minutes before each saved session.",
    "agenda.remind_off": "Reminders are off. /remind 15 to turn them back on.",
    "agenda.remind_usage": "Now: {state}. Change with /remind 30 (minutes) or /remind off",
    "agenda.remind_state_on": "{m} minutes before",
    "agenda.remind_state_off": "off",
    "agenda.rated": "Thanks for rating! ({n}/5)",
    "agenda.feedback_usage": "Add your comment, e.g. /feedback More signs to the halls would help",
    "agenda.feedback_thanks": "Thank you! Your feedback goes to the organisers.",
    "agenda.rate_not_saved": "You can rate only sessions in your agenda.",
    "agenda.rate_not_started": "You can rate this session once it has started.",
    "agenda.ics_caption": "📅 Your agenda as a calendar file. Importing it again updates the events.",
    "agenda.ics_all": "📅 The whole programme as a calendar file (your agenda is empty).",
    # personal notices (HTML; placeholders escaped by bot.agenda)
    "notice.reminder": "⏰ Starting in {m} minutes: <b>{title}</b>\n🗓 {when}\n📍 {where}",
    "notice.rate_q": "How was “{title}”? Please rate it from 1 to 5.",
    "notice.moved": "📌 A session in your agenda has changed: <b>{title}</b>\n🗓 {when}\n📍 {where}",
    "notice.dropped": "📌 A session in your agenda was removed from the programme: <b>{title}</b>",
    # announcements (head: HTML)
    "announce.head": "📣 <b>Announcement</b>",
    "announce.none": "No announcements yet.",
    "sub.on": "🔔 You'll receive announcements. /unsubscribe to stop.",
    "sub.off": "🔕 No more announcements. /subscribe to get them again.",
    "sub.off_button": "🔕 Unsubscribe",
    "sub.on_button": "🔔 Subscribe again",
    # broadcast progress (staff)
    "progress.sending": "📣 Announcement #{id} sending",
    "progress.done": "📣 Announcement #{id} done",
    "progress.cancelled": "📣 Announcement #{id} cancelled",
    "progress.counts": ("sent {sent} · remaining {pending} · blocked {blocked} · failed {failed} "
                        "(of {total}, {done} processed)"),
    "stats": ("📊 users {users} · subscribers {subscribers} · blocked {blocked}\n"
              "questions today {questions} · answered {share}"),
    **STAFF_EN,
}

CATALOGUES = {"ko": KO, "en": EN}


def text(key: str, lang: str, **kw: object) -> str:
    """The text `key` in `lang` (English for any other value), its {placeholders} filled from `kw`."""
    return CATALOGUES.get(lang, EN)[key].format(**kw)


def counted(key: str, lang: str, n: int, **kw: object) -> str:
    """`key` with the count `n` (the placeholder {n} unless given in `kw`): `key_one` when n is 1 and the
    catalogue has it (English "1 subscriber"), else `key`."""
    catalogue = CATALOGUES.get(lang, EN)
    chosen = f"{key}_one" if n == 1 and f"{key}_one" in catalogue else key
    return catalogue[chosen].format(**({"n": n} | kw))


def placeholders(template: str) -> set[str]:
    """The field names of a template ({m}, {average:.2f} → "m", "average")."""
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}
