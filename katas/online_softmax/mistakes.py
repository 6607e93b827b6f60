"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
A mistake with a "check" shows only in that resource bound (its values are right).
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "sum_not_rescaled",
        "title": "the running sum is not rescaled when the maximum grows (old terms stay on the old scale)",
        "title_zh": "最大值变大时没有重新缩放累计和（旧的项仍停留在旧的尺度上）",
        "fix": "When the maximum moves from m to m_new, multiply the sum so far by exp(m - m_new) before adding the new chunk's Σ exp(x - m_new).",
        "fix_zh": "当最大值从 m 变为 m_new 时，先把已有的累计和乘以 exp(m - m_new)，再加上新分块的 Σ exp(x - m_new)。",
        "patch": [("s = e if s is None else s * torch.exp(m - shift) + e", "s = e if s is None else s + e")],
    },
    {
        "name": "no_max_subtraction",
        "title": "no max subtraction: exp overflows to inf for large inputs (exp(89) in float32, exp(710) in float64)",
        "title_zh": "没有减去最大值：输入较大时 exp 溢出为 inf（float32 中 exp(89)，float64 中 exp(710)）",
        "fix": "Keep a running maximum m and sum exp(x - m) (every term <= 1); return m + log(sum).",
        "fix_zh": "维护一个运行中的最大值 m，对 exp(x - m) 求和（每一项都 <= 1）；返回 m + log(和)。",
        "patch": [
            ("torch.exp(x - shift.unsqueeze(-1))", "torch.exp(x)"),
            ("s = e if s is None else s * torch.exp(m - shift) + e", "s = e if s is None else s + e"),
            ('return m.masked_fill(m == float("-inf"), 0.0) + torch.log(s)', "return torch.log(s)"),
        ],
    },
    {
        "name": "nan_from_neg_inf_chunks",
        "title": "NaN when the first chunks of a row are all -inf (x - m with m = -inf is -inf - -inf = NaN)",
        "title_zh": "某一行开头的分块全为 -inf 时得到 NaN（m = -inf 时 x - m 即 -inf - -inf = NaN）",
        "fix": "Subtract a shift that is 0 where the running maximum is still -inf: shift = m.masked_fill(m == float('-inf'), 0.0).",
        "fix_zh": "减去的偏移量在运行最大值仍为 -inf 的位置取 0：shift = m.masked_fill(m == float('-inf'), 0.0)。",
        "patch": [('shift = m_new.masked_fill(m_new == float("-inf"), 0.0)', "shift = m_new")],
    },
    {
        "name": "max_not_added_back",
        "title": "returns log Σ exp(x - m) without adding the maximum m back",
        "title_zh": "返回的是 log Σ exp(x - m)，没有把最大值 m 加回去",
        "fix": "logsumexp(x) = m + log Σ exp(x - m): add the final maximum back (0 where it is -inf).",
        "fix_zh": "logsumexp(x) = m + log Σ exp(x - m)：把最终的最大值加回去（最大值为 -inf 的位置加 0）。",
        "patch": [('return m.masked_fill(m == float("-inf"), 0.0) + torch.log(s)', "return torch.log(s)")],
    },
    {
        "name": "empty_chunk_not_skipped",
        "title": "an empty chunk (n_i = 0) is not skipped: its maximum is taken and raises",
        "title_zh": "没有跳过空分块（n_i = 0）：对它取最大值时抛出异常",
        "fix": "Skip a chunk whose last dim is 0 before taking its maximum: if x.size(-1) == 0: continue.",
        "fix_zh": "在取最大值之前跳过最后一维为 0 的分块：if x.size(-1) == 0: continue。",
        "patch": [("            continue  # an empty chunk", "            pass  # an empty chunk")],
    },
    {
        "name": "two_passes",
        "title": "two passes over the chunks (the maximum first, then the sum): a generator is empty the second time",
        "title_zh": "对分块遍历了两次（先求最大值，再求和）：生成器第二次遍历时已经为空",
        "fix": "Read the chunks once: keep a running maximum and rescale the running sum whenever the maximum grows.",
        "fix_zh": "只读取一次分块：维护运行中的最大值，每当最大值变大时就重新缩放累计和。",
        "patch": [
            (
                "    for x in chunks:  # (..., n_i), each chunk seen exactly once\n",
                "    top = None  # first pass: the maximum of everything\n"
                "    for x in chunks:\n"
                "        if x.size(-1):\n"
                "            top = x.amax(dim=-1) if top is None else torch.maximum(top, x.amax(dim=-1))\n"
                "    if top is not None:\n"
                "        m, s = top, torch.zeros_like(top)\n"
                "    for x in chunks:  # second pass: the sum (a generator has nothing left)\n",
            )
        ],
    },
    {
        "name": "all_chunks_kept",
        "title": "all chunks kept (collected in a list first): memory grows with the number of chunks",
        "title_zh": "保留了全部分块（先全部收集到列表里）：内存随分块数量增长",
        "fix": "Never hold more than one chunk: fold each into a running maximum and a running rescaled sum, then drop it.",
        "fix_zh": "任何时候最多只持有一个分块：把每个分块并入运行中的最大值和经过重新缩放的累计和，然后丢弃它。",
        "check": "bound_chunks_not_kept",
        "patch": [
            (
                "    for x in chunks:  # (..., n_i), each chunk seen exactly once\n",
                "    kept = list(chunks)  # every chunk held at once\n"
                "    for x in kept:\n",
            )
        ],
    },
]


def _chunks(lead: tuple[int, ...], sizes: list[int], seed: int, scale: float = 2.0, drift: float = 0.0) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(*lead, n, generator=g, dtype=torch.float64) + drift * i for i, n in enumerate(sizes)]


def _growing_max(mod: Any, ref: Any) -> Any:
    return mod.streaming_logsumexp(_chunks((2, 3), [4, 5, 3], 1, drift=6.0))


def _large(mod: Any, ref: Any) -> Any:
    return mod.streaming_logsumexp(_chunks((3,), [5, 4], 2, scale=100.0, drift=900.0))


def _neg_inf(mod: Any, ref: Any) -> Any:
    chunks = _chunks((3,), [4, 3, 5], 3)
    chunks[0][:2] = float("-inf")  # rows 0 and 1 start with a chunk of -inf
    chunks[1][1] = float("-inf")
    chunks[2][1] = float("-inf")  # row 1 is -inf throughout
    chunks[2][0, ::2] = float("-inf")
    return mod.streaming_logsumexp(chunks)


def _empty(mod: Any, ref: Any) -> Any:
    return mod.streaming_logsumexp(_chunks((2,), [0, 3, 0, 4], 4))


def _generator(mod: Any, ref: Any) -> Any:
    """A generator, as the suite passes it (built in the worker when the module is the learner's)."""
    from attnquiz.grading.proxy import Remote
    from attnquiz.grading.suite import Helpers

    h = Helpers()
    stream = h.stream(5, (3,), [6, 4, 7], scale=2.0, drift=3.0)
    if isinstance(mod.streaming_logsumexp, Remote):
        return h.measure(mod.streaming_logsumexp, stream).value
    return mod.streaming_logsumexp(stream.chunks())


PROBES = {"growing_max": _growing_max, "large": _large, "neg_inf": _neg_inf, "empty": _empty, "generator": _generator}
