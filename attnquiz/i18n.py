"""The quiz's own words in English and Chinese; question texts live in the bank."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
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
    "stopped_early": {"en": "Stopped after {done} of {planned} questions.", "zh": "已在 {planned} 题中的第 {done} 题后结束。"},
    "review": {"en": "To review", "zh": "需要复习"},
    "review_hint": {"en": "Ask one again with: attnquiz ask --id ID", "zh": "单独重做一题：attnquiz ask --id ID"},
    "all_right": {"en": "Nothing to review. Well done.", "zh": "没有需要复习的题目，很好！"},
    "time": {"en": "Time", "zh": "用时"},
}


def t(key: str, lang: str, **args: object) -> str:
    """The message `key` in `lang`, filled with `args`."""
    entry = MESSAGES[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**args) if args else text
