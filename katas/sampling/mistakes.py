"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "top_p_drops_crossing_token",
        "title": "top-p drops the token that crosses top_p (keeps only tokens whose running sum stays <= top_p)",
        "title_zh": "top-p 丢掉了使累计概率越过 top_p 的那个 token（只保留累计和不超过 top_p 的 token）",
        "fix": "Keep a token while the probability ranked ABOVE it is < top_p: drop = (cumsum - sorted_probs) >= top_p, so the crossing token stays.",
        "fix_zh": "只要排在某个 token 之前的概率之和 < top_p，就保留它：drop = (cumsum - sorted_probs) >= top_p，这样越过 top_p 的那个 token 会被保留。",
        "patch": [("drop = mass_before >= top_p", "drop = sorted_probs.cumsum(dim=-1) > top_p")],
    },
    {
        "name": "top_p_ascending_sort",
        "title": "top-p accumulates over an ascending sort (keeps the least likely tokens)",
        "title_zh": "top-p 在升序排序上累加（保留的是最不可能的 token）",
        "fix": "Sort the probabilities in descending order (torch.sort(probs, descending=True, stable=True)): the nucleus is the MOST likely tokens.",
        "fix_zh": "按降序排序概率（torch.sort(probs, descending=True, stable=True)）：核（nucleus）由最可能的 token 组成。",
        "patch": [("descending=True, stable=True", "descending=False, stable=True")],
    },
    {
        "name": "temperature_after_filters",
        "title": "temperature applied after the filters (top-p and min-p see unscaled probabilities)",
        "title_zh": "在过滤之后才应用 temperature（top-p 和 min-p 看到的是未缩放的概率）",
        "fix": "Divide by temperature FIRST; top-p and min-p must use the probabilities of logits / temperature.",
        "fix_zh": "先除以 temperature；top-p 和 min-p 必须使用 logits / temperature 的概率。",
        "patch": [
            ("logits = logits / temperature  # (B, V), a new tensor", "logits = logits.clone()  # (B, V), a new tensor"),
            ("return logits  # (B, V)", "return logits / temperature  # (B, V)"),
        ],
    },
    {
        "name": "min_p_on_logits",
        "title": "min-p compared on logits (logit >= min_p x max logit) instead of probabilities",
        "title_zh": "min-p 比较的是 logits（logit >= min_p × 最大 logit），而不是概率",
        "fix": "Use probabilities: probs = softmax(logits); remove where probs < min_p * probs.amax(-1, keepdim=True).",
        "fix_zh": "使用概率：probs = softmax(logits)；在 probs < min_p * probs.amax(-1, keepdim=True) 处移除。",
        "patch": [
            (
                "floor = min_p * probs.amax(dim=-1, keepdim=True)  # (B, 1)\n        logits = logits.masked_fill(probs < floor",
                "floor = min_p * logits.amax(dim=-1, keepdim=True)  # (B, 1)\n        logits = logits.masked_fill(logits < floor",
            )
        ],
    },
    {
        "name": "negative_logit_divided",
        "title": "repetition penalty divides negative logits too (making repeated tokens MORE likely)",
        "title_zh": "重复惩罚把负的 logit 也除以了 penalty（反而让重复的 token 更可能出现）",
        "fix": "CTRL rule: divide a positive logit by penalty but MULTIPLY a negative one: torch.where(seen > 0, seen / penalty, seen * penalty).",
        "fix_zh": "CTRL 规则：正的 logit 除以 penalty，负的 logit 则乘以 penalty：torch.where(seen > 0, seen / penalty, seen * penalty)。",
        "patch": [("torch.where(seen > 0, seen / penalty, seen * penalty)", "seen / penalty")],
    },
    {
        "name": "top_k_drops_ties",
        "title": "top-k keeps exactly k tokens (a token tied with the k-th largest logit is dropped)",
        "title_zh": "top-k 只保留恰好 k 个 token（与第 k 大 logit 相等的 token 被丢掉）",
        "fix": "Compare with the k-th largest VALUE: kth = torch.topk(logits, k).values[:, [-1]]; remove logits < kth, so ties stay.",
        "fix_zh": "与第 k 大的值比较：kth = torch.topk(logits, k).values[:, [-1]]；移除 logits < kth 的 token，这样并列的会保留。",
        "patch": [
            (
                "logits = logits.masked_fill(logits < kth, float(\"-inf\"))",
                "top = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1).indices  # (B, k)\n"
                "        logits = torch.full_like(logits, float(\"-inf\")).scatter(-1, top, logits.gather(-1, top))",
            )
        ],
    },
    {
        "name": "top_p_before_top_k",
        "title": "top-p uses the probabilities from before top-k (not renormalised over what top-k left)",
        "title_zh": "top-p 使用的是 top-k 之前的概率（没有在 top-k 留下的 token 上重新归一化）",
        "fix": "Each step works on what the previous left: take probs = softmax(logits) AFTER top-k set the removed logits to -inf.",
        "fix_zh": "每一步都作用于上一步留下的结果：在 top-k 把被移除的 logits 设为 -inf 之后，再计算 probs = softmax(logits)。",
        "patch": [
            ("logits = logits / temperature  # (B, V), a new tensor", "logits = scaled = logits / temperature  # (B, V), a new tensor"),
            ("probs = torch.softmax(logits, dim=-1)  # (B, V), over the tokens top-k left", "probs = torch.softmax(scaled, dim=-1)"),
        ],
    },
    {
        "name": "penalty_per_occurrence",
        "title": "repetition penalty applied once per occurrence (a token seen 3 times is penalised 3 times)",
        "title_zh": "重复惩罚按出现次数施加（出现 3 次的 token 被惩罚 3 次）",
        "fix": "Penalise each distinct id once: gather the seen logits, penalise them, and scatter them back (a repeat writes the same value).",
        "fix_zh": "每个不同的 id 只惩罚一次：gather 出已出现 token 的 logits，惩罚后再 scatter 回去（重复的 id 写入的是同一个值）。",
        "patch": [
            (
                "return logits.scatter(-1, prev_tokens, seen)  # (B, V), a new tensor",
                "out = logits.clone()\n"
                "    for b, row in enumerate(prev_tokens.tolist()):\n"
                "        for t in row:\n"
                "            out[b, t] = out[b, t] / penalty if out[b, t] > 0 else out[b, t] * penalty\n"
                "    return out",
            )
        ],
    },
    {
        "name": "penalty_in_place",
        "title": "repetition penalty writes into the logits passed in (scatter_ in place)",
        "title_zh": "重复惩罚直接写入了传入的 logits（原地 scatter_）",
        "fix": "Return a new tensor: logits.scatter(-1, prev_tokens, seen), not logits.scatter_(...); the caller may reuse its logits.",
        "fix_zh": "返回一个新张量：用 logits.scatter(-1, prev_tokens, seen)，而不是 logits.scatter_(...)；调用方可能还会复用它的 logits。",
        "patch": [("return logits.scatter(-1, prev_tokens, seen)", "return logits.scatter_(-1, prev_tokens, seen)")],
    },
    {
        "name": "sample_ignores_filters",
        "title": "sample draws from softmax of the raw logits (the filtered logits are computed but not used)",
        "title_zh": "sample 从原始 logits 的 softmax 中采样（算出了过滤后的 logits 却没有使用）",
        "fix": "Draw from torch.softmax(filtered, dim=-1): the removed tokens then have probability exactly 0.",
        "fix_zh": "从 torch.softmax(filtered, dim=-1) 中采样：这样被移除的 token 的概率恰好为 0。",
        "patch": [("probs = torch.softmax(filtered, dim=-1)", "probs = torch.softmax(logits, dim=-1)")],
    },
]

NEG = float("-inf")
_FNS: dict = {}


def _fn(mod: Any, name: str) -> Any:
    """mod.NAME, read once per module: through the grading proxy every attribute read is a request."""
    key = (id(mod), name)
    if key not in _FNS or _FNS[key][0] is not mod:
        _FNS[key] = (mod, getattr(mod, name))
    return _FNS[key][1]


def _t(rows: Any) -> Any:
    import torch

    return torch.tensor(rows, dtype=torch.float64)


def _random(b: int, v: int, seed: int) -> Any:
    import torch

    return 2.0 * torch.randn(b, v, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _top_p(mod: Any, ref: Any) -> Any:
    # log-probabilities 0.5, 0.3, 0.15, 0.05 (crossing token at top_p=0.6), then four tokens of 1/4
    x = _t([[-0.6931471805599453, -1.2039728043259361, -1.8971199848858813, -2.995732273553991, NEG, NEG],
            [-1000.0, 3.0, 3.0, 3.0, 3.0, -1000.0]])
    return _fn(mod, "filter_logits")(x, top_p=0.6)


def _min_p(mod: Any, ref: Any) -> Any:
    x = _random(2, 8, 2)
    x[1] -= 4.0  # negative logits
    return _fn(mod, "filter_logits")(x, temperature=2.0, min_p=0.3)


def _top_k_ties(mod: Any, ref: Any) -> Any:
    return _fn(mod, "filter_logits")(_t([[1.0, 3.0, 3.0, 2.0, 3.0, 0.0], [5.0, 2.0, 2.0, 2.0, 1.0, 2.0]]), top_k=2)


def _top_k_then_top_p(mod: Any, ref: Any) -> Any:
    # log-probabilities 0.4, 0.35, 0.25: top_k=2 leaves 0.4 and 0.35, renormalised to 0.53 and 0.47;
    # then 0.6, 0.3, 0.1 (which only an ascending sort gets wrong here)
    x = _t([[-0.916290731874155, -1.0498221244986778, -1.3862943611198906],
            [-0.5108256237659907, -1.2039728043259361, -2.3025850929940455]])
    return _fn(mod, "filter_logits")(x, top_k=2, top_p=0.5)


def _penalty(mod: Any, ref: Any) -> Any:
    """The penalised logits, and the logits passed in as the call left them (through call_keeping_args
    in the worker, so that an in-place write shows)."""
    import torch

    x = _t([[2.0, -1.0, 0.5, -3.0, 1.5], [-0.5, 4.0, -2.0, 1.0, 0.0]])
    prev = torch.tensor([[0, 0, 1, 4], [2, 3, 3, 3]])
    from attnquiz.grading.proxy import Remote

    fn = _fn(mod, "apply_repetition_penalty")
    if isinstance(fn, Remote):
        from attnquiz.grading.suite import Helpers

        out, args = Helpers().call_keeping_args(fn, x, prev, 2.0)
        return out, args[0]
    return fn(x, prev, 2.0), x


def _sample(mod: Any, ref: Any) -> Any:
    import torch

    return _fn(mod, "sample")(_random(16, 10, 3), torch.Generator().manual_seed(4), top_k=2)


PROBES = {
    "top_p": _top_p,
    "min_p": _min_p,
    "top_k_ties": _top_k_ties,
    "top_k_then_top_p": _top_k_then_top_p,
    "penalty": _penalty,
    "sample": _sample,
}
