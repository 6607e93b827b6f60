"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "last_page_whole",
        "title": "the last page used whole: its stale slots past context_lens are attended",
        "title_zh": "最后一页被整页使用：context_lens 之后的过期槽位也参与了注意力",
        "fix": "Attend only tokens t < context_lens[b]: mask positions t >= context_lens[b] with -inf before the softmax, even inside the last page.",
        "fix_zh": "只关注 t < context_lens[b] 的 token：在 softmax 之前把 t >= context_lens[b] 的位置（包括最后一页里的）用 -inf 掩码。",
        "patch": [
            (
                "valid = t[None, :] < context_lens[:, None]",
                "valid = t[None, :] < (context_lens[:, None] + block_size - 1) // block_size * block_size",
            )
        ],
    },
    {
        "name": "page_and_offset_swapped",
        "title": "page and offset swapped (page block_table[b, t % block_size], slot t // block_size)",
        "title_zh": "页号和页内偏移弄反了（页为 block_table[b, t % block_size]，槽位为 t // block_size）",
        "fix": "Token t lives in page block_table[b, t // block_size] at slot t % block_size: the quotient picks the page, the remainder the slot.",
        "fix_zh": "token t 位于页 block_table[b, t // block_size] 的槽位 t % block_size：商决定页，余数决定槽位。",
        "patch": [
            ("pages = block_table[:, t // block_size]", "pages = block_table[:, t % block_size]"),
            ("slots = t % block_size", "slots = t // block_size"),
        ],
    },
    {
        "name": "another_sequences_row",
        "title": "every sequence reads the pages of sequence 0 (block_table[0] instead of block_table[b])",
        "title_zh": "每个序列都读取了序列 0 的页（用了 block_table[0] 而不是 block_table[b]）",
        "fix": "Sequence b's pages are row b of the table: block_table[b, t // block_size] (vectorised: block_table[:, t // block_size]).",
        "fix_zh": "序列 b 的页是块表的第 b 行：block_table[b, t // block_size]（向量化写法：block_table[:, t // block_size]）。",
        "patch": [("pages = block_table[:, t // block_size]", "pages = block_table[:1, t // block_size].expand(B, -1)")],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√d scaling",
        "title_zh": "没有做 1/√d 缩放",
        "fix": "Divide the scores by math.sqrt(d), with d = q.size(-1), before the softmax.",
        "fix_zh": "在 softmax 之前把分数除以 math.sqrt(d)，其中 d = q.size(-1)。",
        "patch": [("/ math.sqrt(d)", "")],
    },
    {
        "name": "one_token_too_many",
        "title": "one token too many (t <= context_lens[b]: the slot after the last token is attended)",
        "title_zh": "多了一个 token（t <= context_lens[b]：最后一个 token 之后的槽位也被关注）",
        "fix": "Sequence b has tokens 0 .. context_lens[b] - 1: keep t < context_lens[b], strictly.",
        "fix_zh": "序列 b 的 token 是 0 .. context_lens[b] - 1：应保留 t < context_lens[b]，严格小于。",
        "patch": [("valid = t[None, :] < context_lens[:, None]", "valid = t[None, :] <= context_lens[:, None]")],
    },
    {
        "name": "pages_assumed_contiguous",
        "title": "pages assumed contiguous (page block_table[b, 0] + t // block_size, the rest of the table ignored)",
        "title_zh": "假设页是连续的（页为 block_table[b, 0] + t // block_size，忽略了块表的其余部分）",
        "fix": "Pages are handed out in any order: look every page up in the table, block_table[b, t // block_size].",
        "fix_zh": "页的分配顺序是任意的：每一页都要到块表里查，即 block_table[b, t // block_size]。",
        "patch": [("pages = block_table[:, t // block_size]", "pages = block_table[:, :1] + t // block_size")],
    },
]


def _pool(lens: list[int], tables: list[list[int]], block_size: int, num_blocks: int, seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    heads, d = 2, 4
    k_cache = 5.0 * torch.randn(num_blocks, block_size, heads, d, generator=g, dtype=torch.float64)
    v_cache = 5.0 * torch.randn(num_blocks, block_size, heads, d, generator=g, dtype=torch.float64)
    q = 2.0 * torch.randn(len(lens), heads, d, generator=g, dtype=torch.float64)
    return q, k_cache, v_cache, torch.tensor(tables), torch.tensor(lens)


def _four_by_four(mod: Any, ref: Any) -> Any:
    # block_size 4 = max_blocks, so a swapped page/offset stays in range; every first page + 3 < 16
    args = _pool([6, 8, 1], [[9, 2, 0, 7], [5, 11, 3, 1], [12, 4, 6, 10]], 4, 16, 1)
    return mod.paged_attention(*args)


def _three_by_three(mod: Any, ref: Any) -> Any:
    args = _pool([7, 3], [[4, 1, 6], [2, 0, 5]], 3, 9, 2)
    return mod.paged_attention(*args)


PROBES = {"four_by_four": _four_by_four, "three_by_three": _three_by_three}
