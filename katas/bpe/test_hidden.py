"""Hidden suite for the bpe kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

Everything in this kata is plain data: `sol` is a proxy to the learner's module in the sandboxed
worker, and strings, ints, lists and tuples cross as themselves. There are no floating tensors, so
no dtypes, tolerances or gradients: merges and ids must equal the reference's exactly, and the
messages say where they first differ. Training texts stay under 2 KB (pure Python is slow).
"""

from functools import lru_cache

# A training text in two languages, with emoji: merges will cut some characters in the middle.
CORPUS = (
    "A tokenizer turns text into a list of integers before the model ever sees it. "
    "Byte pair encoding starts from the bytes of the text and keeps fusing the pair of "
    "neighbours that occurs most often into a new token. After a few thousand merges the "
    "common words are single tokens, while rare words are spelled with several pieces. "
    "Because it starts from bytes, it never meets a character it cannot represent: "
    "accents, Chinese, and emoji are all just bytes. The merges are learned once, on a "
    "training text, and then applied in the same order to every new text. "
    "分词器把文本变成整数序列，模型看到的正是这些整数。字节对编码从文本的字节出发，"
    "不断把最常见的相邻对合并成新的 token。常见的词会变成一个 token，少见的词则由几个片段拼成。"
    "因为从字节出发，任何字符都能表示：重音字母、中文和表情符号都只是字节。🙂🙂 🚀🚀 👍🏽👍🏽 "
    "The model reads tokens, the tokenizer writes them, and decoding joins their bytes again. "
    "Tokens, tokens, tokens: the tokenizer tokenizes the text into tokens."
)
CHINESE = "我们学习注意力机制。注意力机制让每个词关注其他词。我们学习分词：分词把文本变成整数。🙂🙂🙂"

# Strings for the round trip: accents, CJK, emoji with modifiers and joiners, control bytes.
STRINGS = [
    "",
    "a",
    "the tokenizer",
    "aaaaaaa",
    "naïve café, Ærøskøbing",
    "注意力机制",
    "你好，世界！Hello, 世界 🌏",
    "👩‍👩‍👧 👍🏽 🇨🇳 ☃️",
    "tabs\tand\nnewlines\r\n\x00\x7f end",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 (four-byte characters)",
    "tokens, tokens, tokenizer, 🙂🙂🙂 分词器分词",
]


@lru_cache(maxsize=None)
def _ref_merges(ref, text, num_merges):
    return tuple(ref.train_bpe(text, num_merges))


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _merges(got, what):
    """The learner's merges as a list of (int, int); an AssertionError naming what is wrong."""
    if not isinstance(got, list):
        raise AssertionError(f"{what}: expected a list of 2-tuples, got {type(got).__name__} {_short(got)}")
    for i, pair in enumerate(got):
        if not isinstance(pair, tuple) or len(pair) != 2 or not all(type(x) is int for x in pair):
            raise AssertionError(
                f"{what}: merge {i} is {_short(pair)}, expected a 2-tuple of ints like (97, 98) "
                f"(return tuples, not lists)"
            )
    return got


def _ids(got, what):
    if not isinstance(got, list) or not all(type(x) is int for x in got):
        raise AssertionError(f"{what}: expected a list of ints, got {_short(got)}")
    return got


def _text(got, what):
    if not isinstance(got, str):
        raise AssertionError(f"{what}: expected a str, got {type(got).__name__} {_short(got)}")
    return got


def _same_merges(got, expected, what):
    got, expected = _merges(got, what), list(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            raise AssertionError(f"{what}: merge {i} (new id {256 + i}) is {g}, expected {e}")
    n = min(len(got), len(expected))
    if len(got) > len(expected):
        agree = f"the first {n} agree, then you add {_short(got[n:])}" if n else f"got {_short(got)}"
        raise AssertionError(f"{what}: {len(got)} merges, expected {len(expected)}: {agree}")
    if len(got) < len(expected):
        agree = f"the first {n} agree, then the reference goes on with {_short(expected[n:])}" if n else f"expected {_short(expected)}"
        raise AssertionError(f"{what}: {len(got)} merges, expected {len(expected)}: {agree}")


def _same_ids(got, expected, what):
    got = _ids(got, what)
    if got != expected:
        i = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected)))
        at = f"id {i} is {got[i]}, expected {expected[i]}" if i < min(len(got), len(expected)) else f"{len(got)} ids, expected {len(expected)}"
        raise AssertionError(f"{what}: {at} (got {_short(got)}, expected {_short(expected)})")


def _call(fn, *args, what, why):
    """FN(*ARGS); a UnicodeError raised by the learner's code becomes a failure that says WHY not."""
    try:
        return fn(*args)
    except Exception as exc:  # the learner's exception, sent back by the worker
        if "Unicode" not in getattr(exc, "remote_type", type(exc).__name__):
            raise  # anything else (the worker gone, a timeout, NotImplementedError) keeps its message
        raise AssertionError(f"{what} raised {exc}; {why}") from None


def _same_text(got, expected, what):
    got = _text(got, what)
    if got != expected:
        i = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        raise AssertionError(f"{what}: {_short(got)}, expected {_short(expected)} (they differ from character {i})")


def test_known_merges(sol, ref, h):
    """Hand-computed merges: overlapping counts, a tie, merges of merged ids, early stop."""
    # (a, a) 4 times -> 256; (a, b) ties (256, a) and is smaller -> 257; (256, 257) -> 258; stop.
    _same_merges(sol.train_bpe("aaabdaaabac", 10), [(97, 97), (97, 98), (256, 257)], "train_bpe('aaabdaaabac', 10)")
    _same_merges(sol.train_bpe("aaabdaaabac", 2), [(97, 97), (97, 98)], "train_bpe('aaabdaaabac', 2)")
    _same_merges(sol.train_bpe("hello hello hello", 20), _ref_merges(ref, "hello hello hello", 20), "train_bpe('hello hello hello', 20)")


def test_overlapping_pairs(sol, ref, h):
    """Pairs are counted overlapping ('aaa' has two (a, a)) but replaced without overlap."""
    # (a, a) twice (overlapping) ties (b, c) twice and is the smaller pair
    _same_merges(sol.train_bpe("aaabcbc", 1), [(97, 97)], "train_bpe('aaabcbc', 1) ('aaa' holds (a, a) twice)")
    # 'aaaaa' -> [aa, aa, a]: no pair occurs twice any more
    _same_merges(sol.train_bpe("aaaaa", 3), [(97, 97)], "train_bpe('aaaaa', 3) ('aaaaa' becomes [aa, aa, a])")
    # 'aaaaaaaa' -> [aa, aa, aa, aa] -> [aaaa, aaaa]
    _same_merges(sol.train_bpe("aaaaaaaa", 5), [(97, 97), (256, 256)], "train_bpe('aaaaaaaa', 5)")
    _same_ids(sol.encode("aaaaaaa", [(97, 97)]), [256, 256, 256, 97], "encode('aaaaaaa', [(97, 97)]) (left to right, no overlap)")
    _same_ids(sol.encode("aaaaaaa", [(97, 97), (256, 256)]), [257, 256, 97], "encode('aaaaaaa', [(97, 97), (256, 256)])")


def test_ties_to_the_smallest_pair(sol, ref, h):
    """Equally frequent pairs: the smallest first id wins, then the smallest second id."""
    # (a, c), (c, a), (a, b) twice each: (a, b) is the smallest, although (a, c) comes first
    _same_merges(sol.train_bpe("acacabab", 4), [(97, 98), (97, 99)], "train_bpe('acacabab', 4) (ties: smallest pair, first ids then second)")
    # (z, y) and (a, b) twice each: (a, b) wins on the first id
    _same_merges(sol.train_bpe("zyzyabab", 4), [(97, 98), (122, 121)], "train_bpe('zyzyabab', 4) (ties: smallest pair)")
    _same_merges(sol.train_bpe("dcba dcba abcd abcd", 10), _ref_merges(ref, "dcba dcba abcd abcd", 10), "train_bpe('dcba dcba abcd abcd', 10)")


def test_early_stop_and_edges(sol, ref, h):
    """Stop when no pair occurs twice; num_merges = 0, '', one character: no merges."""
    _same_merges(sol.train_bpe("abcabd", 10), [(97, 98)], "train_bpe('abcabd', 10) (after (a, b) every pair occurs once)")
    for text, n in (("abcd", 5), ("a", 3), ("", 4), ("abababab", 0), ("你你", 5)):
        _same_merges(sol.train_bpe(text, n), _ref_merges(ref, text, n), f"train_bpe({text!r}, {n})")
    _same_merges(sol.train_bpe(CORPUS, 5), _ref_merges(ref, CORPUS, 5), "train_bpe(corpus, 5) (exactly 5 merges)")


def test_train_matches_reference(sol, ref, h):
    """A two-language training text: every merge, in order, as the reference learns it."""
    _same_merges(sol.train_bpe(CORPUS, 80), _ref_merges(ref, CORPUS, 80), "train_bpe(corpus in English, Chinese and emoji, 80)")
    _same_merges(sol.train_bpe(CHINESE, 40), _ref_merges(ref, CHINESE, 40), "train_bpe(Chinese text, 40)")


def test_encode_by_rank(sol, ref, h):
    """encode applies merges learned on ANOTHER text, earliest-learned first, not by frequency."""
    merges = list(_ref_merges(ref, "xyxyxyyzyz", 5))  # (x, y) -> 256, (y, z) -> 257, (256, 256) -> 258
    # in 'xyzyzyz' (y, z) occurs 3 times and (x, y) once, but (x, y) was learned first
    _same_ids(sol.encode("xyzyzyz", merges), [256, 122, 257, 257], f"encode('xyzyzyz', {merges})")
    merges = list(_ref_merges(ref, CORPUS, 80))
    for text in ("the tokenizer never meets a character it cannot represent",
                 "tokens tokens tokens: to tokenize, token by token",
                 "我们的模型读入 token，分词器写出 token。"):
        _same_ids(sol.encode(text, merges), ref.encode(text, merges), f"encode({text!r}, merges trained on the corpus)")


def test_encode_edges(sol, ref, h):
    """'' -> []; no merges -> the raw bytes; the training text itself; merges that never apply."""
    merges = list(_ref_merges(ref, CORPUS, 80))
    _same_ids(sol.encode("", merges), [], "encode('', merges)")
    _same_ids(sol.encode("x", merges), [120], "encode('x', merges)")
    text = "Hello, 世界 🙂"
    _same_ids(sol.encode(text, []), list(text.encode("utf-8")), f"encode({text!r}, []) (no merges: the UTF-8 bytes)")
    _same_ids(sol.encode("QQQ", merges), [81, 81, 81], "encode('QQQ', merges) (no merge applies)")
    _same_ids(sol.encode(CORPUS, merges), ref.encode(CORPUS, merges), "encode(the training text, its own merges)")


def test_bytes_not_characters(sol, ref, h):
    """Ids 0-255 are UTF-8 bytes: 'é' is 2 ids, '你' 3, '🙂' 4; merges can join them."""
    for text in ("é", "你", "🙂", "naïve 你好 🙂"):
        _same_ids(sol.encode(text, []), list(text.encode("utf-8")), f"encode({text!r}, []) (UTF-8 bytes, not characters)")
    merges = list(_ref_merges(ref, CHINESE, 40))
    _same_ids(sol.encode("注意力机制 🙂", merges), ref.encode("注意力机制 🙂", merges), "encode('注意力机制 🙂', merges trained on Chinese)")
    _same_merges(sol.train_bpe("你你你好好", 5), _ref_merges(ref, "你你你好好", 5), "train_bpe('你你你好好', 5) (pairs of bytes)")


def test_decode_values(sol, ref, h):
    """Ids of merged tokens decode to their bytes; [] -> ''."""
    merges = list(_ref_merges(ref, CORPUS, 80))
    _same_text(sol.decode([], merges), "", "decode([], merges)")
    ids = ref.encode(CORPUS[:300], merges)
    _same_text(sol.decode(ids, merges), CORPUS[:300], "decode(the reference's ids for the corpus)")
    ids = list(range(256, 256 + len(merges)))
    what = "decode([256, 257, ...], merges) (every merged token, some of them parts of characters)"
    why = "decode must never raise: invalid UTF-8 becomes U+FFFD (errors='replace')"
    _same_text(_call(sol.decode, ids, merges, what=what, why=why), ref.decode(ids, merges), what)


def test_decode_cut_characters(sol, ref, h):
    """A character split across tokens decodes whole; bytes cut mid-character become U+FFFD."""
    why = "bytes that are not valid UTF-8 must become U+FFFD (errors='replace'), never an exception"
    merges = [(228, 189)]  # the first two bytes of '你' (228, 189, 160)
    what = "decode([256, 160, 104, 105], [(228, 189)]) ('你' split across two tokens: join the bytes first)"
    _same_text(_call(sol.decode, [256, 160, 104, 105], merges, what=what, why=why), "你hi", what)
    what = "decode([104, 256], [(228, 189)]) ('你' cut short: errors='replace' gives U+FFFD)"
    _same_text(_call(sol.decode, [104, 256], merges, what=what, why=why), "h\ufffd", what)
    for ids in ([228, 189], [240, 159, 153], [255, 97], [160, 104]):
        what = f"decode({ids}, []) (invalid UTF-8)"
        _same_text(_call(sol.decode, ids, [], what=what, why=why), ref.decode(ids, []), what)
    merges = list(_ref_merges(ref, CHINESE, 40))
    ids = ref.encode("注意力机制", merges)[:-1]  # drop the last token: a character is cut
    what = f"decode({ids}, merges trained on Chinese) (last character cut)"
    _same_text(_call(sol.decode, ids, merges, what=what, why=why), ref.decode(ids, merges), what)


def test_round_trip_property(sol, ref, h):
    """Property (no reference): decode(encode(s)) == s with the learner's own merges, any s."""
    learned = _merges(sol.train_bpe(CORPUS, 80), "train_bpe(corpus, 80)")
    for merges, name in (([], "no merges"), (learned, "your merges trained on the corpus")):
        for s in STRINGS:
            ids = _ids(sol.encode(s, merges), f"encode({_short(s, 40)}, {name})")
            back = _text(sol.decode(ids, merges), f"decode(encode({_short(s, 40)}))")
            if back != s:
                raise AssertionError(f"decode(encode(s)) with {name} gave {_short(back)} for s = {_short(s)}: the round trip must give s back")


def test_well_formed_merges(sol, ref, h):
    """Property (no reference): merge i refers only to ids below 256 + i, and no pair twice."""
    got = _merges(sol.train_bpe(CORPUS, 80), "train_bpe(corpus, 80)")
    for i, (a, b) in enumerate(got):
        if not (0 <= a < 256 + i and 0 <= b < 256 + i):
            raise AssertionError(f"train_bpe(corpus, 80): merge {i} is {(a, b)}, but merge {i} may only use ids 0..{255 + i} (bytes and earlier merges)")
    seen = {}
    for i, pair in enumerate(got):
        if pair in seen:
            raise AssertionError(f"train_bpe(corpus, 80): merges {seen[pair]} and {i} are both {pair}")
        seen[pair] = i


def test_arguments_untouched(sol, ref, h):
    """encode and decode leave the merges and ids they are given as they were."""
    merges = list(_ref_merges(ref, CORPUS, 30))
    _, args = h.call_keeping_args(sol.encode, "tokens", merges)
    if args[1] != merges:
        raise AssertionError("encode modified the merges it was given")
    ids = ref.encode("tokens and more tokens", merges)
    _, args = h.call_keeping_args(sol.decode, ids, merges)
    if args[0] != ids or args[1] != merges:
        raise AssertionError("decode modified the ids or the merges it was given")
