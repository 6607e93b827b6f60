"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "no_causal_mask",
        "title": "no causal mask (bidirectional, like the article's BERT generator)",
        "title_zh": "没有因果掩码（双向的，就像文章里的 BERT 生成器）",
        "fix": "Mask the future: scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float('-inf')).",
        "fix_zh": "屏蔽未来：scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float('-inf'))。",
        "patch": [('scores = scores.masked_fill(~causal, float("-inf"))', "pass")],
    },
    {
        "name": "causal_mask_inverted",
        "title": "causal mask inverted (attends to the future, not the past)",
        "title_zh": "因果掩码反了（关注的是未来而不是过去）",
        "fix": "tril() is True where a position may look; fill -inf where it is False: masked_fill(~causal, ...).",
        "fix_zh": "tril() 在位置可以看的地方为 True；在它为 False 的地方填 -inf：masked_fill(~causal, ...)。",
        "patch": [('scores.masked_fill(~causal, float("-inf"))', 'scores.masked_fill(causal, float("-inf"))')],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√head_dim scaling in the attention",
        "title_zh": "注意力中缺少 1/√head_dim 缩放",
        "fix": "Divide the scores by math.sqrt(k.size(-1)), the width of one head.",
        "fix_zh": "把分数除以 math.sqrt(k.size(-1))，即单个头的宽度。",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(k.size(-1))", "q @ k.transpose(-2, -1)")],
    },
    {
        "name": "merge_without_transpose",
        "title": "heads merged with reshape(B, T, C) — no transpose",
        "title_zh": "合并各头时直接 reshape(B, T, C)——没有 transpose",
        "fix": "transpose(1, 2) the (B, H, T, d) output to (B, T, H, d) before reshape(B, T, C).",
        "fix_zh": "先把 (B, H, T, d) 的输出 transpose(1, 2) 成 (B, T, H, d)，再 reshape(B, T, C)。",
        "patch": [("y.transpose(1, 2).reshape(B, T, C)", "y.reshape(B, T, C)")],
    },
    {
        "name": "context_not_cropped",
        "title": "context not cropped to block_size",
        "title_zh": "上下文没有裁剪到 block_size",
        "fix": "Feed only the last block_size tokens each step: idx[:, -model.config.block_size:].",
        "fix_zh": "每一步只输入最后 block_size 个 token：idx[:, -model.config.block_size:]。",
        "patch": [("idx_cond = idx[:, -model.config.block_size :]", "idx_cond = idx")],
    },
    {
        "name": "temperature_ignored",
        "title": "temperature ignored when sampling",
        "title_zh": "采样时忽略了 temperature",
        "fix": "Divide the logits by temperature before the softmax (and take the argmax when it is 0).",
        "fix_zh": "在 softmax 之前把 logits 除以 temperature（temperature 为 0 时取 argmax）。",
        "patch": [("logits = logits / temperature", "pass")],
    },
    {
        "name": "top_k_ignored",
        "title": "top_k ignored",
        "title_zh": "忽略了 top_k",
        "fix": "Keep only the top_k largest logits: set the others to -inf before the softmax.",
        "fix_zh": "只保留最大的 top_k 个 logits：在 softmax 之前把其余的设为 -inf。",
        "patch": [("logits = logits.masked_fill(logits < kth, float(\"-inf\"))", "pass")],
    },
    {
        "name": "temperature_zero_not_greedy",
        "title": "temperature 0 not treated as greedy (divides by zero)",
        "title_zh": "temperature 为 0 时没有按贪心处理（会除以零）",
        "fix": "When temperature == 0, take logits.argmax(dim=-1, keepdim=True) instead of sampling.",
        "fix_zh": "当 temperature == 0 时，取 logits.argmax(dim=-1, keepdim=True)，而不是采样。",
        "patch": [("if temperature == 0:", "if False:")],
    },
    {
        "name": "first_position_logits",
        "title": "samples from the first position's logits instead of the last",
        "title_zh": "从第一个位置的 logits 采样，而不是最后一个位置",
        "fix": "The next token is predicted by the LAST position: model(idx_cond)[:, -1, :].",
        "fix_zh": "下一个 token 由最后一个位置预测：model(idx_cond)[:, -1, :]。",
        "patch": [("logits = model(idx_cond)[:, -1, :]", "logits = model(idx_cond)[:, 0, :]")],
    },
]

CONFIG = dict(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=8)


def _model(mod: Any, ref: Any) -> Any:
    import torch

    torch.manual_seed(3)
    state = ref.GPT(ref.GPTConfig(**CONFIG)).double().state_dict()
    model = mod.GPT(mod.GPTConfig(**CONFIG)).double()
    model.load_state_dict(state)
    return model


def _idx(b: int, t: int, seed: int) -> Any:
    import torch

    return torch.randint(0, CONFIG["vocab_size"], (b, t), generator=torch.Generator().manual_seed(seed))


def _logits(mod: Any, ref: Any) -> Any:
    return _model(mod, ref)(_idx(2, 6, 1))


def _greedy_long(mod: Any, ref: Any) -> Any:
    return mod.generate(_model(mod, ref), _idx(2, 4, 2), 6, temperature=0)


def _sample_temperature(mod: Any, ref: Any) -> Any:
    import torch

    return mod.generate(_model(mod, ref), _idx(3, 2, 3), 3, temperature=0.3, generator=torch.Generator().manual_seed(4))


def _sample_top_k(mod: Any, ref: Any) -> Any:
    import torch

    return mod.generate(_model(mod, ref), _idx(3, 2, 5), 3, temperature=2.0, top_k=2, generator=torch.Generator().manual_seed(6))


PROBES = {
    "logits": _logits,
    "greedy_long": _greedy_long,
    "sample_temperature": _sample_temperature,
    "sample_top_k": _sample_top_k,
}
