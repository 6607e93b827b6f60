"""attnquiz's own words in English and Chinese; question and kata texts live in their files.

MESSAGES holds the quiz's and the kata commands' lines; GRADING the messages a grading produces
(check messages built by the grader, not the custom ones a hidden suite writes). A grading
message travels as a `Text`: the English string (what --json and the tests see) that also keeps
its key and arguments, so the CLI can show it in the learner's language.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

MESSAGES: dict[str, dict[str, str]] = {
    "colon": {"en": ": ", "zh": "："},
    "header": {"en": "Question {i}/{n}", "zh": "第 {i}/{n} 题"},
    "single": {"en": "single choice", "zh": "单选"},
    "multi": {"en": "multiple answers", "zh": "多选"},
    "truefalse": {"en": "true or false", "zh": "判断"},
    "numeric": {"en": "numeric", "zh": "数值"},
    "short": {"en": "short answer", "zh": "简答"},
    "recall": {"en": "free recall", "zh": "自由回忆"},
    "bug": {"en": "spot the bug", "zh": "找 bug"},
    "easy": {"en": "easy", "zh": "简单"},
    "medium": {"en": "medium", "zh": "中等"},
    "hard": {"en": "hard", "zh": "困难"},
    "ask_single": {"en": "Your answer (letter or number)", "zh": "你的答案（字母或数字）"},
    "ask_multi": {"en": "Your answers (e.g. A,C)", "zh": "你的答案（如 A,C）"},
    "ask_truefalse": {"en": "True or false? (t/f)", "zh": "对还是错？（t/f）"},
    "ask_numeric": {"en": "Your number", "zh": "你的数值"},
    "ask_numeric_unit": {"en": "Your number (in {unit})", "zh": "你的数值（单位：{unit}）"},
    "ask_short": {"en": "Your answer", "zh": "你的答案"},
    "ask_recall": {"en": "Your answer (one line; Enter to reveal)", "zh": "你的回答（一行；回车查看答案）"},
    "ask_rating": {
        "en": "How well did you know it? 1 Again · 2 Hard · 3 Good · 4 Easy",
        "zh": "掌握得怎么样？1 重来 · 2 困难 · 3 良好 · 4 简单",
    },
    "keys_hint": {
        "en": "Enter on an empty line = don't know · :q or Ctrl-D = stop",
        "zh": "空行回车 = 不会 · :q 或 Ctrl-D = 结束",
    },
    "one_choice": {"en": "Type one letter A–{last} or a number 1–{n}.", "zh": "请输入一个字母 A–{last} 或数字 1–{n}。"},
    "choices": {"en": "Type letters A–{last} or numbers 1–{n}, e.g. A,C.", "zh": "请输入字母 A–{last} 或数字 1–{n}，如 A,C。"},
    "truefalse_invalid": {"en": "Type t (true) or f (false).", "zh": "请输入 t（对）或 f（错）。"},
    "number": {"en": "Type a number, e.g. 512, 1.5e6, 2^30 or 4*512**2.", "zh": "请输入数字，如 512、1.5e6、2^30 或 4*512**2。"},
    "rating": {"en": "Type 1, 2, 3 or 4.", "zh": "请输入 1、2、3 或 4。"},
    "correct": {"en": "Correct", "zh": "正确"},
    "correct_typo": {"en": "Correct (small typo forgiven)", "zh": "正确（小笔误已忽略）"},
    "wrong": {"en": "Not quite", "zh": "不对"},
    "skipped": {"en": "Skipped", "zh": "跳过"},
    "answer_is": {"en": "Answer", "zh": "答案"},
    "you_picked": {"en": "You picked", "zh": "你选了"},
    "wrong_picks": {"en": "Not right", "zh": "选错的"},
    "missed_picks": {"en": "Missed", "zh": "漏选的"},
    "you_typed": {"en": "You typed {value}", "zh": "你的答案是 {value}"},
    "rel_sign": {"en": "the sign is flipped", "zh": "符号反了"},
    "rel_double": {"en": "twice the answer", "zh": "是答案的 2 倍"},
    "rel_half": {"en": "half the answer", "zh": "是答案的一半"},
    "rel_bits_bytes": {"en": "{times} × the answer: bits vs bytes?", "zh": "是答案的 {times} 倍：比特和字节弄混了？"},
    "rel_binary": {"en": "off by 1024 vs 1000: GiB vs GB?", "zh": "差在 1024 与 1000：GiB 与 GB 弄混了？"},
    "rel_pow10": {"en": "off by a factor 10^{n}", "zh": "差了 10^{n} 倍"},
    "rel_pow2": {"en": "off by a factor 2^{n}", "zh": "差了 2^{n} 倍"},
    "also_accepted": {"en": "also accepted", "zh": "也接受"},
    "true": {"en": "true", "zh": "对"},
    "false": {"en": "false", "zh": "错"},
    "model_answer": {"en": "Model answer", "zh": "参考答案"},
    "key_points": {"en": "Key points your answer mentioned", "zh": "你的回答提到的要点"},
    "why": {"en": "Why", "zh": "解析"},
    "source": {"en": "Source", "zh": "出处"},
    "summary": {"en": "Session summary", "zh": "本次小结"},
    "topic": {"en": "Topic", "zh": "主题"},
    "score": {"en": "Score", "zh": "得分"},
    "total": {"en": "Total", "zh": "合计"},
    "none_answered": {"en": "No questions answered.", "zh": "没有回答任何题目。"},
    "stopped_early": {"en": "Stopped after {done} of {planned} questions.", "zh": "本次共 {planned} 题，答了 {done} 题后结束。"},
    "review": {"en": "To review", "zh": "需要复习"},
    "review_hint": {"en": "Ask one again with: attnquiz ask --id ID", "zh": "单独重做一题：attnquiz ask --id ID"},
    "all_right": {"en": "Nothing to review. Well done.", "zh": "没有需要复习的题目，很好！"},
    "time": {"en": "Time", "zh": "用时"},
    "export_title": {"en": "attnquiz cheat sheet", "zh": "attnquiz 速查表"},
    "export_summary": {"en": "Questions: {n} · topics: {topics} · {date}", "zh": "题目：{n} · 主题：{topics} · {date}"},
    "export_missed_rule": {
        "en": "Only what you answered wrong or know weakly: your last answer was wrong, or FSRS puts your recall below {pct}% now.",
        "zh": "只收录答错或掌握薄弱的题：最近一次答错，或 FSRS 估计你现在记得的概率低于 {pct}%。",
    },
    "export_key_points": {"en": "Key points", "zh": "要点"},
    "export_record_wrong": {"en": "you: {right}/{answers} right, the last one wrong", "zh": "你的记录：答对 {right}/{answers} 次，最近一次答错"},
    "export_record_weak": {
        "en": "you: {right}/{answers} right, recall now {recall}%",
        "zh": "你的记录：答对 {right}/{answers} 次，现在记得的概率 {recall}%",
    },
    "export_lang_en": {"en": "English", "zh": "英文"},
    "export_lang_zh": {"en": "Chinese", "zh": "中文"},
    "export_lang_both": {"en": "English and Chinese", "zh": "中英双语"},
    "export_anki_done": {
        "en": "Wrote {notes} notes ({topics} topics, {language}) to {path}",
        "zh": "已写入 {notes} 张笔记（{topics} 个主题，{language}）：{path}",
    },
    "export_anki_hint": {
        "en": "Import it in Anki (File → Import). Importing a newer export updates these notes and keeps their reviews.",
        "zh": "在 Anki 中导入（文件 → 导入）。以后再导入新的导出文件会更新这些笔记，并保留复习记录。",
    },
    "export_sheet_done": {"en": "Wrote the cheat sheet ({n} questions) to {path}", "zh": "已写入速查表（{n} 道题）：{path}"},
    "export_replaced": {"en": "It replaced the earlier export there.", "zh": "已替换该位置上一次的导出文件。"},
    "export_nothing_missed": {
        "en": "--missed: nothing answered wrong or weak yet ({answered} answered question(s) match); nothing written. Practise with: attnquiz ask",
        "zh": "--missed：还没有答错或薄弱的题（符合条件的已答题 {answered} 道），未写入任何内容。先练习：attnquiz ask",
    },
    "when_now": {"en": "now", "zh": "现在"},
    "when_minute": {"en": "in 1 minute", "zh": "1 分钟后"},
    "when_minutes": {"en": "in {n} minutes", "zh": "{n} 分钟后"},
    "when_hour": {"en": "in 1 hour", "zh": "1 小时后"},
    "when_hours": {"en": "in {n} hours", "zh": "{n} 小时后"},
    "when_day": {"en": "tomorrow", "zh": "明天"},
    "when_days": {"en": "in {n} days", "zh": "{n} 天后"},
    "next_reviews": {"en": "Next reviews: {items}", "zh": "接下来的复习：{items}"},
    "review_bucket": {"en": "{count} due {when}", "zh": "{when} {count} 题"},
    "more_buckets": {"en": "…", "zh": "……"},
    "list_sep": {"en": ", ", "zh": "，"},
    # attnquiz plan
    "plan_title": {
        "en": "Plan to the interview on {date}: {days} day(s)",
        "zh": "距 {date} 面试的计划：共 {days} 天",
    },
    "plan_day": {"en": "Day", "zh": "日期"},
    "plan_reviews": {"en": "Reviews", "zh": "复习"},
    "plan_new": {"en": "New questions", "zh": "新题"},
    "plan_katas": {"en": "Katas to pass", "zh": "待通过的编程练习"},
    "plan_date": {"en": "{weekday} {month:02d}-{day:02d}", "zh": "{month}月{day}日 {weekday}"},
    "plan_weekdays": {"en": "Mon Tue Wed Thu Fri Sat Sun", "zh": "周一 周二 周三 周四 周五 周六 周日"},
    "plan_today": {"en": "today", "zh": "今天"},
    "plan_interview": {"en": "interview", "zh": "面试"},
    "plan_interview_rest": {"en": "reviews only: nothing new today", "zh": "只做复习，不学新内容"},
    "plan_assumption": {
        "en": "Reviews: the due dates in your progress, plus the ones FSRS would set if every review and new "
        "question were answered right (Good) on its day; wrong answers add more.",
        "zh": "复习数：进度中已排定的到期日，加上假设每次复习和每道新题都在当天答对（良好）时 FSRS 会再安排的复习；答错会更多。",
    },
    "plan_new_left": {
        "en": "{n} new question(s) do not fit at --new-per-day {per_day}; raise it to plan them all.",
        "zh": "按 --new-per-day {per_day}，还有 {n} 道新题排不下；调高它即可全部排入。",
    },
    "plan_only_reviews": {
        "en": "Every question answered and every kata passed: the days ahead are reviews only.",
        "zh": "所有题目都答过、所有编程练习都已通过：接下来只需复习。",
    },
    "plan_err_not_a_date": {
        "en": "--until {value}: not a date; use YYYY-MM-DD (e.g. {example}) or +Nd (N days from today, e.g. +7d)",
        "zh": "--until {value}：不是日期；请用 YYYY-MM-DD（如 {example}）或 +Nd（从今天起第 N 天，如 +7d）",
    },
    "plan_err_no_such_date": {
        "en": "--until {value}: no such date; use YYYY-MM-DD (e.g. {example}) or +Nd (N days from today, e.g. +7d)",
        "zh": "--until {value}：没有这一天；请用 YYYY-MM-DD（如 {example}）或 +Nd（从今天起第 N 天，如 +7d）",
    },
    "plan_err_past": {
        "en": "--until {value} is in the past (today is {today}); give the interview day, today or later",
        "zh": "--until {value} 已经过去（今天是 {today}）；请给出面试那天：今天或以后",
    },
    "plan_err_too_far": {
        "en": "--until {value} is more than {days} days away; plan at most a year ahead",
        "zh": "--until {value} 在 {days} 天以后；最多规划一年",
    },
    "plan_err_new_per_day": {
        "en": "--new-per-day {value}: give 0 or more new questions a day",
        "zh": "--new-per-day {value}：每天的新题数应为 0 或更多",
    },
    "plan_how": {
        "en": "Each day: attnquiz ask --due (reviews), attnquiz ask --new -n N --topic T (new questions), attnquiz kata NAME.",
        "zh": "每天：attnquiz ask --due（复习），attnquiz ask --new -n N --topic T（新题），attnquiz kata NAME（编程练习）。",
    },
    "nothing_due": {"en": "Nothing is due for review now.", "zh": "现在没有到期的复习。"},
    "nothing_weak": {
        "en": "--weak drills questions you have answered; none matches yet. Start with: attnquiz ask",
        "zh": "--weak 只练习答过的题，目前还没有。先从这里开始：attnquiz ask",
    },
    "nothing_new": {"en": "No new questions left: you have answered every one that matches.", "zh": "没有新题了：符合条件的题目都已答过。"},
    "next_review_when": {"en": "The next review is due {when}.", "zh": "下一次复习：{when}。"},
    "try_new_or_all": {
        "en": "Try attnquiz ask --new for unseen questions, or --all to practise anyway.",
        "zh": "可用 attnquiz ask --new 做新题，或用 --all 照样练习。",
    },
    "try_due_or_all": {
        "en": "Try attnquiz ask (due reviews), or --all to practise anyway.",
        "zh": "可用 attnquiz ask 复习到期题目，或用 --all 照样练习。",
    },
    "ahead": {
        "en": "Nothing is due and nothing is new: practising ahead of schedule, soonest review first (next due {when}).",
        "zh": "没有到期的复习，也没有新题：提前练习，最先到期的在前（最早 {when} 到期）。",
    },
    # kata reviews (`attnquiz kata NAME --fresh`, the rating after `attnquiz grade`) and `attnquiz next`
    "rating_again": {"en": "Again", "zh": "重来"},
    "rating_hard": {"en": "Hard", "zh": "困难"},
    "rating_good": {"en": "Good", "zh": "良好"},
    "rating_easy": {"en": "Easy", "zh": "简单"},
    "fresh_archived": {
        "en": "Your previous file is archived as {backup}; {entry} is the starter again.",
        "zh": "你之前的文件已归档为 {backup}；{entry} 已恢复为初始代码。",
    },
    "fresh_created": {"en": "Created the {kata} workspace in {path} with the starter.", "zh": "已在 {path} 创建 {kata} 的工作区（初始代码）。"},
    "fresh_due": {"en": "Review of {kata}: write it again from memory.", "zh": "复习 {kata}：凭记忆重新写一遍。"},
    "fresh_early": {
        "en": "{kata} is not due for review yet (due {when}, {date}); reviewing it now counts as an early review.",
        "zh": "{kata} 还没到复习时间（{when} 到期，{date}）；现在复习算作提前复习。",
    },
    "fresh_rates": {
        "en": "The next attnquiz grade {kata} rates the review: passed without hints → Good, with hints → Hard, failed → Again.",
        "zh": "下一次 attnquiz grade {kata} 为这次复习评分：不看提示通过 → 良好，看了提示 → 困难，未通过 → 重来。",
    },
    "fresh_unpassed": {
        "en": "{kata} has not passed yet, so it has no review to take: this is a restart, like --reset.",
        "zh": "{kata} 还没有通过，没有可做的复习：这次相当于 --reset，从头开始。",
    },
    "review_first": {
        "en": "{kata} is now a review card ({rating}): due {when}, {date}. Then: attnquiz kata {kata} --fresh",
        "zh": "{kata} 已加入复习（{rating}）：{when}（{date}）到期，届时运行 attnquiz kata {kata} --fresh",
    },
    "review_rated": {
        "en": "Review of {kata} rated {rating}: due again {when}, {date}.",
        "zh": "{kata} 的复习评分：{rating}；{when}（{date}）再次到期。",
    },
    "review_untouched": {
        "en": "This is the untouched starter, so it rates nothing: the review of {kata} waits for your own code.",
        "zh": "这是未改动的初始代码，不计入评分：{kata} 的复习等你写完自己的代码。",
    },
    "kata_due_one": {"en": "A kata review is due: {kata}. Run: attnquiz kata {kata} --fresh", "zh": "有一个编程练习到期复习：{kata}。运行：attnquiz kata {kata} --fresh"},
    "kata_due_many": {
        "en": "{n} kata reviews are due, {kata} first. Run: attnquiz kata {kata} --fresh",
        "zh": "有 {n} 个编程练习到期复习，先做 {kata}。运行：attnquiz kata {kata} --fresh",
    },
    "kata_review_open": {
        "en": "The review of kata {kata} is open: finish it. Run: attnquiz grade {kata}",
        "zh": "编程练习 {kata} 的复习还没完成。运行：attnquiz grade {kata}",
    },
    "next_reviews_one": {"en": "1 question review is due now.", "zh": "现在有 1 道题到期复习。"},
    "next_reviews_many": {"en": "{n} question reviews are due now.", "zh": "现在有 {n} 道题到期复习。"},
    "next_kata_review": {"en": "Kata {kata} is due for review (since {date}).", "zh": "编程练习 {kata} 已到期复习（自 {date} 起）。"},
    "next_kata_review_open": {
        "en": "Finish the review of kata {kata} (opened with --fresh).",
        "zh": "完成编程练习 {kata} 的复习（已用 --fresh 开始）。",
    },
    "next_kata": {"en": "Next kata on the ladder: {kata}, {title}.", "zh": "阶梯上的下一个编程练习：{kata}，{title}。"},
    "next_kata_started": {
        "en": "Go on with kata {kata}, {title}: edit {file}, then grade it.",
        "zh": "继续编程练习 {kata}（{title}）：编辑 {file}，然后评分。",
    },
    "next_weakest": {
        "en": "Nothing is due and every kata has passed; your weakest topic is {topic}.",
        "zh": "没有到期的复习，编程练习也都已通过；你最薄弱的主题是 {topic}。",
    },
    "next_quiz": {
        "en": "Nothing is due and every kata has passed: answer some questions.",
        "zh": "没有到期的复习，编程练习也都已通过：来答几道题吧。",
    },
    "next_line": {"en": "{text} Run: {command}", "zh": "{text}运行：{command}"},
    "kata_reviews_title": {"en": "Kata reviews", "zh": "编程练习复习"},
    "kata_review": {"en": "Due", "zh": "到期"},
    "kata_reviews": {"en": "Reviews done", "zh": "已复习次数"},
    "kata_last_rating": {"en": "Last rating", "zh": "上次评分"},
    "kata_reviews_due": {"en": "Kata reviews due now: {n}. See attnquiz next.", "zh": "现在到期的编程练习复习：{n} 个。见 attnquiz next。"},
    "stats_title": {"en": "Progress by topic", "zh": "各主题进度"},
    "seen": {"en": "Seen", "zh": "已答"},
    "accuracy": {"en": "Accuracy", "zh": "正确率"},
    "mastery": {"en": "Mastery", "zh": "掌握度"},
    "due_now": {"en": "Due now", "zh": "现在到期"},
    "due_7d": {"en": "Due ≤7d", "zh": "7 天内"},
    "katas_title": {"en": "Katas", "zh": "编程练习"},
    "kata": {"en": "Kata", "zh": "练习"},
    "status": {"en": "Status", "zh": "状态"},
    "attempts": {"en": "Attempts", "zh": "尝试次数"},
    "best": {"en": "Best checks", "zh": "最佳通过数"},
    "last_attempt": {"en": "Last attempt", "zh": "最近一次"},
    "kata_new": {"en": "new", "zh": "未开始"},
    "kata_attempted": {"en": "attempted", "zh": "未通过"},
    "kata_passed": {"en": "passed", "zh": "已通过"},
    # A failed check's case (attnquiz/failures.py) and the hint that answers it.
    "case_inputs": {"en": "inputs: {items}", "zh": "输入：{items}"},
    "case_checked": {"en": "checked: {what}, shape {shape} {dtype}", "zh": "比较：{what}，形状 {shape} {dtype}"},
    "case_shape_differs": {"en": "checked: {what}: your shape {got}, expected {shape}", "zh": "比较：{what}：你的形状是 {got}，应为 {shape}"},
    "case_dtype_differs": {"en": "checked: {what}: your dtype {got}, expected {expected}", "zh": "比较：{what}：你的 dtype 是 {got}，应为 {expected}"},
    "case_worst": {"en": "worst at {index}: got {got}, expected {expected}", "zh": "差异最大处 {index}：你的值 {got}，应为 {expected}"},
    "heat_yours": {"en": "your weights", "zh": "你的权重"},
    "heat_reference": {"en": "reference", "zh": "参考权重"},
    "heat_legend_color": {
        "en": "rows = queries, columns = keys; blank = exactly 0, !! = NaN\npurple → yellow = more weight; × = 0 in only one of the two",
        "zh": "行 = 查询，列 = 键；空白 = 恰好为 0，!! = NaN\n紫色 → 黄色 = 权重越来越大；× = 只有一边为 0",
    },
    "heat_legend_digits": {
        "en": "rows = queries, columns = keys; · = exactly 0, ! = NaN\ndigit = weight × 10, rounded down (0: under 0.1 but not 0)",
        "zh": "行 = 查询，列 = 键；· = 恰好为 0，! = NaN\n数字 = 权重 × 10 向下取整（0：小于 0.1 但不为 0）",
    },
    "hint_for_check": {
        "en": "Your last grading failed {check} first; this hint is about it.",
        "zh": "上次评测最先失败的检查是 {check}，这条提示正是针对它的。",
    },
    "streak": {
        "en": "Streak: {current} day(s) in a row (longest {longest}).",
        "zh": "连续练习：{current} 天（最长 {longest} 天）。",
    },
    "streak_today": {"en": "Practise today to keep it going.", "zh": "今天练一练，保持连续。"},
    "sessions_title": {"en": "Recent sessions", "zh": "最近的练习"},
    "started": {"en": "Started", "zh": "开始"},
    "duration": {"en": "Length", "zh": "时长"},
    "no_progress": {"en": "No answers yet: start with attnquiz ask.", "zh": "还没有作答记录：先运行 attnquiz ask。"},
    "database": {"en": "Progress file", "zh": "进度文件"},
    "reset_confirm": {
        "en": "Erase all progress in {path}? A backup copy is kept next to it.",
        "zh": "清除 {path} 中的全部进度？会在旁边保留一份备份。",
    },
    "reset_done": {"en": "Progress erased. Backup: {backup}", "zh": "进度已清除。备份：{backup}"},
    "reset_cancelled": {"en": "Nothing was changed.", "zh": "未做任何更改。"},
    # --- the kata commands (kata, grade, hint, solution) ------------------------------------
    "error": {"en": "error: ", "zh": "错误："},  # before the message, with its own spacing
    "kata_started": {"en": "started", "zh": "进行中"},
    "katas_ladder": {"en": "Katas, in ladder order", "zh": "编程练习（按阶梯顺序）"},
    "col_name": {"en": "name", "zh": "名称"},
    "col_title": {"en": "title", "zh": "标题"},
    "col_difficulty": {"en": "difficulty", "zh": "难度"},
    "col_after": {"en": "after", "zh": "前置"},
    "col_status": {"en": "status", "zh": "状态"},
    "katas_start": {
        "en": "Start one with {command}; the order is advice, nothing is locked.",
        "zh": "用 {command} 开始一个练习；顺序只是建议，不会锁定任何练习。",
    },
    "ws_restored": {
        "en": "Restored the starter; your previous file is saved as {backup}.",
        "zh": "已恢复初始文件；你之前的文件另存为 {backup}。",
    },
    "ws_created": {"en": "Created the {kata} workspace in {where}", "zh": "已在 {where} 创建练习 {kata} 的工作区"},
    "ws_exists": {
        "en": "The workspace {where} already exists; your {entry} was left as it is.",
        "zh": "工作区 {where} 已存在；你的 {entry} 保持原样。",
    },
    "ws_next": {"en": "Next:", "zh": "下一步："},
    "ws_edit": {"en": "edit {entry}  (its docstring is the full contract)", "zh": "编辑 {entry}（它的文档字符串就是完整的要求）"},
    "ws_sample": {"en": "# a small sample test", "zh": "# 一个小的示例测试"},
    "ws_grade": {"en": "# the hidden suite, with a diagnosis", "zh": "# 运行隐藏测试，并给出诊断"},
    "ws_hints": {"en": "# {n} progressive hints", "zh": "# 共 {n} 条渐进式提示"},
    "grading": {"en": "Grading {kata}: {file}", "zh": "正在评测 {kata}：{file}"},
    "note": {"en": "note: {text}", "zh": "注意：{text}"},
    "mistake_full": {"en": "This matches a known mistake:", "zh": "这与一个已知错误吻合："},
    "mistake_partial": {"en": "This partly matches a known mistake:", "zh": "这与一个已知错误部分吻合："},
    "fix": {"en": "fix:", "zh": "修正："},
    "all_checks_passed": {"en": "All {total} checks passed", "zh": "全部 {total} 项检查通过"},
    "kata_passed_in": {"en": "{head} in {seconds} s — kata passed.", "zh": "{head}，用时 {seconds} 秒——练习通过。"},
    "see_reference": {"en": "See the reference with {command}.", "zh": "用 {command} 查看参考答案。"},
    "showcase": {
        "en": "Your code, generating from a small model trained on the project's text:",
        "zh": "你的代码，用一个在本项目文本上训练的小模型生成的文字：",
    },
    "checks_passed": {"en": "{passed}/{total} checks passed", "zh": "{passed}/{total} 项检查通过"},
    "fix_first": {
        "en": "{head} in {seconds} s. Fix the first ✗; {command} gives a hint.",
        "zh": "{head}，用时 {seconds} 秒。先修正第一个 ✗；{command} 会给出提示。",
    },
    "grading_interrupted": {"en": "grading interrupted; nothing recorded", "zh": "评测被中断；没有记录任何结果"},
    "not_recorded": {"en": "the attempt was not recorded: {reason}", "zh": "这次尝试没有记录下来：{reason}"},
    "hint_head": {"en": "Hint {number}/{total}", "zh": "提示 {number}/{total}"},
    "hint_line": {"en": "{head} for {kata}: {text}", "zh": "{head}（{kata}）：{text}"},
    "last_hint": {
        "en": "That was the last hint; {command} shows the reference.",
        "zh": "这是最后一条提示；{command} 可以查看参考答案。",
    },
    "check_syntax": {"en": "the file is valid Python", "zh": "文件是合法的 Python 代码"},
    "check_no_forbidden_calls": {
        "en": "no call to what this kata forbids (checked in the source and while it runs)",
        "zh": "没有调用本练习禁止的函数（检查源代码，也检查运行过程）",
    },
    "check_loads": {"en": "the file imports and defines the names the kata needs", "zh": "文件能被导入，并定义了练习要求的名字"},
    "check_no_tampering": {"en": "torch and the builtins are left as they are (no monkeypatching)", "zh": "没有改动 torch 或内置函数（不做 monkeypatch）"},
    "err_unknown_kata": {
        "en": "unknown kata {name}; known katas: {known} (run `attnquiz kata` to list them)",
        "zh": "没有名为 {name} 的练习；已有的练习：{known}（运行 `attnquiz kata` 可列出它们）",
    },
    "err_manifest": {
        "en": "{path}: invalid kata manifest ({detail}); fix the file or reinstall attnquiz",
        "zh": "{path}：练习清单无效（{detail}）；请修正该文件或重新安装 attnquiz",
    },
    "err_not_a_folder": {
        "en": "{where} exists and is not a folder; pass another --dir",
        "zh": "{where} 已存在且不是文件夹；请用 --dir 指定另一个位置",
    },
    "err_other_workspace": {
        "en": "{where} is the workspace of kata {owner}; pick another --dir for {kata}",
        "zh": "{where} 是练习 {owner} 的工作区；请为 {kata} 另选一个 --dir",
    },
    "err_marker_entry": {
        "en": "{marker}: entry {entry} is not a file name in the workspace; run `attnquiz kata {kata} --dir {directory}` again to rewrite the marker",
        "zh": "{marker}：entry {entry} 不是工作区里的文件名；再运行一次 `attnquiz kata {kata} --dir {directory}` 以重写标记文件",
    },
    "err_no_kata": {
        "en": "no kata given and none started; run `attnquiz kata NAME` first, or name the kata",
        "zh": "没有指定练习，也还没有开始任何练习；先运行 `attnquiz kata NAME`，或写明练习名",
    },
    "err_no_file": {
        "en": "{file}: no such file to grade for kata {kata}; run `attnquiz kata {name}` to create the workspace, or pass --file PATH",
        "zh": "{file}：找不到练习 {kata} 要评测的文件；运行 `attnquiz kata {name}` 创建工作区，或用 --file PATH 指定文件",
    },
    "err_legacy_state": {
        "en": "{path}: damaged kata bookkeeping from an older attnquiz ({detail}); move it aside and run again (your graded attempts are in the progress database and are not affected)",
        "zh": "{path}：旧版 attnquiz 留下的练习记录已损坏（{detail}）；把它移到别处后重新运行（你的评测记录在进度数据库里，不受影响）",
    },
    "err_solution_in_review": {
        "en": "the solution of {kata} is hidden during its review (opened with --fresh); finish it with `attnquiz grade {name}`, or pass --give-up to see it now (the review then counts as Again)",
        "zh": "练习 {kata} 正在复习中（用 --fresh 开始），参考答案暂时隐藏；用 `attnquiz grade {name}` 完成复习，或加 --give-up 立即查看（本次复习记为“重来”）",
    },
    "err_solution_locked": {
        "en": "the solution of {kata} unlocks once `attnquiz grade {name}` passes; try `attnquiz hint {name}`, or pass --give-up to see it now",
        "zh": "练习 {kata} 的参考答案要在 `attnquiz grade {name}` 通过后才解锁；试试 `attnquiz hint {name}`，或加 --give-up 立即查看",
    },
    "err_grading_needs": {
        "en": "grading needs {missing}, which this Python lacks; add the kata extra to this environment: pip install '.[kata]' from the checkout, or pip install torch pytest watchfiles (CPU-only machines: see the README)",
        "zh": "评测需要 {missing}，但当前 Python 环境没有；请在这个环境中安装 kata 附加依赖：在源码目录运行 pip install '.[kata]'，或 pip install torch pytest watchfiles（只有 CPU 的机器：见 README）",
    },
    "both": {"en": "{a} and {b}", "zh": "{a} 和 {b}"},
    "err_timeout": {"en": "timeout {value}: give a positive number of seconds", "zh": "超时 {value}：请给出正数秒数"},
    "err_too_big": {
        "en": "{file}: {size} KB is too big to grade (the limit is {limit} KB; a kata solution is a few hundred lines) — pass the file you wrote with --file",
        "zh": "{file}：{size} KB 太大，无法评测（上限 {limit} KB；练习的解答只有几百行）——请用 --file 指定你写的文件",
    },
    "err_os": {"en": "{where}{reason}; check the path and its permissions", "zh": "{where}{reason}；请检查路径及其权限"},
}

GRADING: dict[str, dict[str, str]] = {
    # --- built by the `h` helpers of the hidden suites (attnquiz/grading/suite.py) -------------
    "the_reference": {"en": "the reference", "zh": "参考实现"},
    "not_a_tensor": {"en": "{what}: expected a torch.Tensor, got {kind}", "zh": "{what}：应为 torch.Tensor，实际是 {kind}"},
    "wrong_shape": {"en": "{what}: shape {got}, expected {expected}", "zh": "{what}：形状为 {got}，应为 {expected}"},
    "wrong_dtype_keep": {
        "en": "{what}: dtype {got}, expected {expected} (keep the input's dtype)",
        "zh": "{what}：dtype 为 {got}，应为 {expected}（请保持输入的 dtype）",
    },
    "wrong_dtype": {"en": "{what}: dtype {got}, expected {expected}", "zh": "{what}：dtype 为 {got}，应为 {expected}"},
    "nan_at": {"en": "{what}: NaN at index {index} where {against} is finite", "zh": "{what}：索引 {index} 处是 NaN，而{against}在这里是有限值"},
    "differs_by": {
        "en": "{what}: differs from {against} by {diff} at index {index} (got {got}, expected {expected})",
        "zh": "{what}：在索引 {index} 处与{against}相差 {diff}（得到 {got}，应为 {expected}）",
    },
    "differs_at": {
        "en": "{what}: differs at index {index} (got {got}, expected {expected})",
        "zh": "{what}：索引 {index} 处不同（得到 {got}，应为 {expected}）",
    },
    "grad_malformed": {"en": "the worker's gradient answer is malformed", "zh": "评测进程返回的梯度结果格式不对"},
    "answer_malformed": {"en": "the worker's answer is malformed", "zh": "评测进程返回的结果格式不对"},
    "not_measured": {"en": "the grading worker could not be measured", "zh": "无法测量评测进程的资源用量"},
    "bound": {"en": "the bound is {limit} MiB of extra memory", "zh": "上限是 {limit} MiB 额外内存"},
    "bound_naive": {"en": "the bound is {limit} MiB of extra memory ({naive})", "zh": "上限是 {limit} MiB 额外内存（{naive}）"},
    "bound_out_of_memory": {
        "en": "{what}: ran out of the grader's memory limit (--memory) before finishing; {bound}",
        "zh": "{what}：还没算完就用光了评测的内存限制（--memory）；{bound}",
    },
    "bound_new_process": {
        "en": "{what}: your code started another process during the call; compute in the grading process itself, so that its memory can be measured; {bound}",
        "zh": "{what}：你的代码在调用期间启动了另一个进程；请在评测进程本身里计算，这样才能测量它的内存；{bound}",
    },
    "bound_used": {
        "en": "{what}: used {used} of extra memory at its peak{how}; {bound}",
        "zh": "{what}：峰值时用了 {used} 额外内存{how}；{bound}",
    },
    "sampled": {"en": ", sampled", "zh": "（采样值）"},
    # --- the grading worker, its proxy and the judge ------------------------------------------
    "too_long": {
        "en": "did not finish within the {limit} s time limit (an infinite loop?)",
        "zh": "没有在 {limit} 秒的时间限制内完成（死循环？）",
    },
    "past_limit": {"en": "not run: past the {limit} s time limit", "zh": "未运行：已超过 {limit} 秒的时间限制"},
    "not_run": {"en": "not run: {reason}", "zh": "未运行：{reason}"},
    "out_of_turn": {
        "en": "the grading worker answered out of turn (did your code write to its pipes?)",
        "zh": "评测进程答非所问（你的代码是否写入了它的管道？）",
    },
    "stopped_answering": {"en": "the grading worker stopped answering ({why})", "zh": "评测进程不再应答（{why}）"},
    "exit_zero": {
        "en": "your code ended the grading worker (exit code 0 — did it call os._exit()?)",
        "zh": "你的代码结束了评测进程（退出码 0——是否调用了 os._exit()？）",
    },
    "cpu_limit": {"en": "your code used up the CPU-time limit", "zh": "你的代码用完了 CPU 时间限制"},
    "killed_by": {
        "en": "the grading worker was killed by {signal} (out of memory, or your code killed it)",
        "zh": "评测进程被 {signal} 终止（内存不足，或是你的代码终止了它）",
    },
    "worker_ended": {"en": "the grading worker ended early (exit code {code})", "zh": "评测进程提前结束（退出码 {code}）"},
    "raised": {"en": "{type}: {message}{where}", "zh": "{type}：{message}{where}"},
    "raised_bare": {"en": "{type}", "zh": "{type}"},
    "at_line": {"en": " (at line {line} of your file)", "zh": "（在你的文件第 {line} 行）"},
    "not_loaded": {"en": "not run: the file did not load", "zh": "未运行：文件没有加载成功"},
    "worker_cannot_start": {"en": "the grading worker could not start: {reason}{hint}", "zh": "评测进程无法启动：{reason}{hint}"},
    "raise_memory": {
        "en": "; raise --memory if it is small (torch alone needs about 1 GiB)",
        "zh": "；如果 --memory 太小请调大（光是 torch 就需要约 1 GiB）",
    },
    "last_output": {"en": "{text}; last output: {last}", "zh": "{text}；最后的输出：{last}"},
    "not_confined": {"en": "file access is not confined: {reason}", "zh": "文件访问没有被限制：{reason}"},
    "cannot_import": {"en": "{name} cannot be imported", "zh": "{name} 无法导入"},
    "sys_exit": {"en": "{name} called sys.exit({code}) while being imported{line}", "zh": "{name} 在导入时调用了 sys.exit({code}){line}"},
    "import_raised": {
        "en": "{name} raised {type}: {message}{line} while being imported",
        "zh": "{name} 在导入时抛出 {type}：{message}{line}",
    },
    "line_suffix": {"en": " (line {line})", "zh": "（第 {line} 行）"},
    "missing_symbols": {
        "en": "{name} defines no {names}; the kata needs it at the top level of the file",
        "zh": "{name} 没有定义 {names}；练习要求在文件顶层定义它",
    },
    "forbidden_call": {
        "en": "{file} line {line}: calls {name}, which this kata forbids — write it yourself",
        "zh": "{file} 第 {line} 行：调用了本练习禁止的 {name}——请自己实现",
    },
    "tampered": {
        "en": "your code replaced {names}; grading undid it — do not monkeypatch torch or builtins",
        "zh": "你的代码替换了 {names}；评测已将其还原——不要 monkeypatch torch 或内置函数",
    },
    # --- the CLI's side of grading (attnquiz/grading/runner.py) -------------------------------
    "cannot_read": {"en": "cannot read {file}: {reason}", "zh": "无法读取 {file}：{reason}"},
    "not_run_unreadable": {"en": "not run: the file cannot be read", "zh": "未运行：文件无法读取"},
    "not_run_syntax": {"en": "not run: fix the syntax", "zh": "未运行：请先修正语法"},
    "nul_byte": {
        "en": "{file} line {line}: a NUL byte; Python source cannot contain one",
        "zh": "{file} 第 {line} 行：有一个 NUL 字节；Python 源代码里不能有它",
    },
    "cannot_parse": {"en": "{file} cannot be parsed: {reason}", "zh": "{file} 无法解析：{reason}"},
    "too_deep": {"en": "nested too deeply for Python to parse", "zh": "嵌套太深，Python 无法解析"},
    "syntax_error": {"en": "SyntaxError at {where}: {message}{code}", "zh": "SyntaxError，位置 {where}：{message}{code}"},
    "file_line": {"en": "{file} line {line}", "zh": "{file} 第 {line} 行"},
    "file_line_column": {"en": "{file} line {line}, column {column}", "zh": "{file} 第 {line} 行第 {column} 列"},
    "code_suffix": {"en": " — `{code}`", "zh": "——`{code}`"},
    "forbidden_uses": {"en": "{items} — write it yourself", "zh": "{items}——请自己实现"},
    "items": {"en": "{items}", "zh": "{items}"},
    "imports_forbidden": {"en": "line {line}: imports {name}, which grading forbids", "zh": "第 {line} 行：导入了评测禁止的 {name}"},
    "imports_from_forbidden": {"en": "line {line}: imports from {name}, which grading forbids", "zh": "第 {line} 行：从评测禁止的 {name} 导入"},
    "uses_forbidden": {"en": "line {line}: uses {name}, which this kata forbids", "zh": "第 {line} 行：用到了本练习禁止的 {name}"},
    "tensor_method_forbidden": {
        "en": "line {line}: calls .{name}(), the tensor method of torch.Tensor.{name}, which this kata forbids",
        "zh": "第 {line} 行：调用了 .{name}()，即 torch.Tensor.{name} 这个张量方法，本练习禁止使用",
    },
    "getattr_forbidden": {
        "en": "line {line}: getattr(..., {name}) reaches a torch built-in this kata forbids",
        "zh": "第 {line} 行：getattr(..., {name}) 取到了本练习禁止的 torch 内置函数",
    },
    "not_run_fix_first": {"en": "not run: fix `{name}` first", "zh": "未运行：请先修正 `{name}`"},
    "limit_reached": {"en": "not run: the {limit} s time limit was reached", "zh": "未运行：已到 {limit} 秒的时间限制"},
    "judge_ended": {"en": "no result: the grading judge ended early (exit code {code})", "zh": "没有结果：评测裁判进程提前结束（退出码 {code}）"},
    "judge_ended_last": {
        "en": "no result: the grading judge ended early (exit code {code}); {last}",
        "zh": "没有结果：评测裁判进程提前结束（退出码 {code}）；{last}",
    },
    "grading_failed": {"en": "grading failed: {reason}", "zh": "评测失败：{reason}"},
    "report_too_large": {"en": "the grading report was larger than {size} KB", "zh": "评测报告超过了 {size} KB"},
    "report_foreign_line": {"en": "the grading report has a line that is not the judge's", "zh": "评测报告里有一行不是裁判进程写的"},
    "report_unknown_candidate": {"en": "the grading report names an unknown candidate", "zh": "评测报告提到了未知的候选文件"},
    "report_unknown_shape": {"en": "the grading report has a line of unknown shape ({kind})", "zh": "评测报告里有一行格式未知（{kind}）"},
}

MESSAGES.update(GRADING)


def t(key: str, lang: str, **args: object) -> str:
    """The message `key` in `lang`, filled with `args`."""
    entry = MESSAGES[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**args) if args else text


# --- texts that keep their template -------------------------------------------------------------

SEPARATOR = {"en": "; ", "zh": "；"}  # between the items of a list argument
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}\Z")
_MAX_ITEMS, _MAX_DEPTH = 20, 4


class Text(str):
    """An English message that remembers its template (`key`, `args`) so it can be shown in
    another language. It is a str, so --json, logs and tests see the English unchanged; string
    operations (slicing, joining) give plain str and lose the translation, never the text.

    Arguments may be other Texts (rendered in the same language) or lists of them (joined)."""

    key: str
    args: dict[str, Any]

    def __new__(cls, key: str, english: str | None = None, /, **args: Any) -> "Text":
        self = super().__new__(cls, english if english is not None else render(key, args, "en"))
        self.key, self.args = key, args
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle rebuild it with its template
        return (_rebuild, (self.key, str(self), self.args))

    def in_lang(self, lang: str) -> str:
        """This message in LANG; the English text where the template cannot be filled."""
        try:
            return render(self.key, self.args, lang)
        except (KeyError, IndexError, ValueError, TypeError, RecursionError):
            return str(self)

    def to_wire(self) -> dict[str, Any]:
        """key and args as plain JSON data (nested Texts as {"key", "args"})."""
        return {"key": self.key, "args": {name: _to_wire(value) for name, value in self.args.items()}}


def _rebuild(key: str, english: str, args: dict[str, Any]) -> Text:
    return Text(key, english, **args)


def _to_wire(value: Any) -> Any:
    if isinstance(value, Text):
        return value.to_wire()
    if isinstance(value, (list, tuple)):
        return [_to_wire(v) for v in value]
    return value


def render(key: str, args: Mapping[str, Any], lang: str) -> str:
    """The template KEY in LANG filled with ARGS (Texts in LANG too, lists joined)."""
    filled = {name: _arg(value, lang) for name, value in args.items()}
    return t(key, lang, **filled) if filled else t(key, lang)


def _arg(value: Any, lang: str) -> str:
    if isinstance(value, Text):
        return value.in_lang(lang)
    if isinstance(value, (list, tuple)):
        return (SEPARATOR.get(lang) or SEPARATOR["en"]).join(_arg(v, lang) for v in value)
    return str(value)


def localized(text: str, lang: str) -> str:
    """TEXT in LANG when it is a Text; any other string as it is."""
    return text.in_lang(lang) if isinstance(text, Text) else text


def from_wire(english: str, key: Any, args: Any, clean: Any = str) -> str:
    """A Text rebuilt from a grading report (untrusted): KEY must name a GRADING template and
    ARGS hold only plain values (each passed through CLEAN), nested Texts and lists of them,
    and the template must fill in every language; otherwise the English as it is."""
    try:
        text = _from_wire(english, key, args, clean, 0)
        for lang in ("en", "zh"):
            text.in_lang(lang)
            render(text.key, text.args, lang)
        return text
    except (_Refused, KeyError, IndexError, ValueError, TypeError, RecursionError):
        return english


class _Refused(Exception):
    pass


def _from_wire(english: str, key: Any, args: Any, clean: Any, depth: int) -> Text:
    if not isinstance(key, str) or key not in GRADING or not isinstance(args, dict) or depth > _MAX_DEPTH:
        raise _Refused
    values = {}
    for name, value in list(args.items())[:_MAX_ITEMS]:
        if not isinstance(name, str) or not _NAME.match(name):
            raise _Refused
        values[name] = _value_from_wire(value, clean, depth)
    return Text(key, english, **values)


def _value_from_wire(value: Any, clean: Any, depth: int) -> Any:
    if isinstance(value, dict):
        inner = _from_wire("", value.get("key"), value.get("args"), clean, depth + 1)
        return Text(inner.key, **inner.args)
    if isinstance(value, list):
        return [_value_from_wire(v, clean, depth + 1) for v in value[:_MAX_ITEMS]]
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        raise _Refused
    return clean(str(value))
