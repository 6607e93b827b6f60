"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.

The diagnosis compares only the tensors a probe returns, so every probe turns its plain data into
tensors: ids and merges as int64 tensors, a string as the int64 tensor of its UTF-8 bytes.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "encode_by_frequency",
        "title": "encode merges the most frequent pair of the text instead of the earliest-learned one",
        "title_zh": "encode 合并的是文本中出现次数最多的对，而不是最早学到的对",
        "fix": "Encoding replays training's order: among the pairs present, merge the one with the lowest rank (smallest new id) first, however often it occurs.",
        "fix_zh": "编码要重演训练时的顺序：在现有的相邻对中，先合并排名最低（新 id 最小）的那一对，不管它出现多少次。",
        "patch": [
            (
                'pair = min(stats, key=lambda p: rank.get(p, float("inf")))',
                "pair = max((p for p in stats if p in rank), key=stats.get, default=None)",
            )
        ],
    },
    {
        "name": "overlapping_replacement",
        "title": "overlapping occurrences are all replaced (\"aaa\" becomes [aa, aa] instead of [aa, a])",
        "title_zh": "重叠的出现都被替换了（\"aaa\" 变成 [aa, aa]，而不是 [aa, a]）",
        "fix": "Scan left to right and skip BOTH ids after a match (i += 2): a byte belongs to one token only.",
        "fix_zh": "从左到右扫描，匹配之后跳过两个 id（i += 2）：一个字节只能属于一个 token。",
        "patch": [
            (
                'i += 2  # both ids are used up: "aaa" -> [aa, a]',
                "i += 1 if i + 2 < len(ids) and ids[i + 1] == pair[0] and ids[i + 2] == pair[1] else 2",
            )
        ],
    },
    {
        "name": "ties_by_first_occurrence",
        "title": "ties between equally frequent pairs go to the pair seen first, not the smallest pair",
        "title_zh": "出现次数相同的对之间，选了最先出现的那一对，而不是最小的那一对",
        "fix": "Break ties by the pair itself: min(stats, key=lambda p: (-stats[p], p)) compares the first ids, then the second.",
        "fix_zh": "按对本身打破平局：min(stats, key=lambda p: (-stats[p], p)) 先比较第一个 id，再比较第二个。",
        "patch": [
            (
                "pair = min(stats, key=lambda p: (-stats[p], p))  # most frequent; ties to the smallest pair",
                "pair = max(stats, key=stats.get)  # the first pair seen wins ties",
            )
        ],
    },
    {
        "name": "decode_token_by_token",
        "title": "decodes each token on its own (a character split across tokens becomes �)",
        "title_zh": "逐个 token 单独解码（被拆到多个 token 里的字符变成了 �）",
        "fix": "Join the bytes of all tokens first, then decode once: b\"\".join(vocab[i] for i in ids).decode(\"utf-8\", errors=\"replace\").",
        "fix_zh": "先把所有 token 的字节拼接起来，再统一解码一次：b\"\".join(vocab[i] for i in ids).decode(\"utf-8\", errors=\"replace\")。",
        "patch": [
            (
                'data = b"".join(vocab[i] for i in ids)\n    return data.decode("utf-8", errors="replace")',
                'return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)',
            )
        ],
    },
    {
        "name": "characters_instead_of_bytes",
        "title": "starts from characters (ord(c)) instead of UTF-8 bytes",
        "title_zh": "从字符（ord(c)）而不是 UTF-8 字节开始",
        "fix": "Start from list(text.encode(\"utf-8\")): ids 0-255 are bytes, so \"你\" is three ids (228, 189, 160) and 256+ stay free for merges.",
        "fix_zh": "从 list(text.encode(\"utf-8\")) 开始：id 0-255 是字节，所以“你”是三个 id（228, 189, 160），256 及以上留给合并。",
        "patch": [("return list(text.encode(\"utf-8\"))", "return [ord(c) for c in text]")],
    },
    {
        "name": "no_early_stop",
        "title": "training goes on merging pairs that occur only once",
        "title_zh": "训练时继续合并只出现一次的对",
        "fix": "Stop as soon as the most frequent pair occurs fewer than twice: if stats[pair] < 2: break.",
        "fix_zh": "一旦出现次数最多的对也不到两次就停止：if stats[pair] < 2: break。",
        "patch": [("if stats[pair] < 2:", "if stats[pair] < 1:")],
    },
    {
        "name": "decode_strict",
        "title": "decode raises on bytes that are not valid UTF-8 (no errors=\"replace\")",
        "title_zh": "遇到不合法的 UTF-8 字节时 decode 抛出异常（没有用 errors=\"replace\"）",
        "fix": "Any id sequence must decode: bytes.decode(\"utf-8\", errors=\"replace\") turns a broken character into U+FFFD.",
        "fix_zh": "任何 id 序列都必须能解码：bytes.decode(\"utf-8\", errors=\"replace\") 会把残缺的字符变成 U+FFFD。",
        "patch": [('data.decode("utf-8", errors="replace")', 'data.decode("utf-8")')],
    },
]

# The merges learned from "xyxyxyyzyz" begin (x, y), (y, z): in "xyzyzyz" (y, z) is the most
# frequent pair, but (x, y) has the lower rank (encode_rank).
# Each training probe shows one mistake alone (so that a learner with several is still told
# about each): no ties after the point where training stops, no stop before the tie, no run
# (aa...) where ties or the stop decide.
TIES = "acacabab"  # (a, c), (c, a), (a, b) twice each: the smallest is (a, b), the first seen (a, c)
RUNS = "aaaaabcbcbc"  # 3 merges: (a, a) (4 times, overlapping), (b, c), then (bc, bc), not (aa, aa)
STOPS = "xyzxyz"  # (x, y), (xy, z), then only (xyz, xyz) is left, once: stop
MIXED = "你好你好，世界🙂🙂 hello hello"


def _ids(x: Any) -> Any:
    import torch

    return torch.tensor([int(i) for i in x], dtype=torch.long)


def _pairs(merges: Any) -> Any:
    import torch

    return torch.tensor([[int(a), int(b)] for a, b in merges], dtype=torch.long).view(-1, 2)


def _text(s: Any) -> Any:
    if not isinstance(s, str):
        raise TypeError("not a str")
    return _ids(s.encode("utf-8", errors="surrogatepass"))


def _train_ties(mod: Any, ref: Any) -> Any:
    return _pairs(mod.train_bpe(TIES, 1))


def _train_runs(mod: Any, ref: Any) -> Any:
    return _pairs(mod.train_bpe(RUNS, 3))


def _train_stops(mod: Any, ref: Any) -> Any:
    return _pairs(mod.train_bpe(STOPS, 5))


def _encode_rank(mod: Any, ref: Any) -> Any:
    return _ids(mod.encode("xyzyzyz", ref.train_bpe("xyxyxyyzyz", 5)))


def _encode_runs(mod: Any, ref: Any) -> Any:
    return _ids(mod.encode("aaaaaaa b", [(97, 97)]))


def _encode_mixed(mod: Any, ref: Any) -> Any:
    return _ids(mod.encode(MIXED, ref.train_bpe(MIXED, 8)))


def _decode_joined(mod: Any, ref: Any) -> Any:
    """"你" (228, 189, 160) with its first two bytes in one token, then the third: whole."""
    return _text(mod.decode([256, 160, 104, 105], [(228, 189)]))


def _decode_cut(mod: Any, ref: Any) -> Any:
    """"你" cut after its first two bytes: U+FFFD."""
    return _text(mod.decode([104, 256], [(228, 189)]))


PROBES = {
    "train_ties": _train_ties,
    "train_runs": _train_runs,
    "train_stops": _train_stops,
    "encode_rank": _encode_rank,
    "encode_runs": _encode_runs,
    "encode_mixed": _encode_mixed,
    "decode_joined": _decode_joined,
    "decode_cut": _decode_cut,
}
