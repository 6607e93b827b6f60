"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
Probes return the result as two tensors: the token lists (each followed by -1) and the scores.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "finished_keep_extending",
        "title": "finished hypotheses keep extending (a hypothesis ending in eos also stays live)",
        "title_zh": "已结束的假设还在继续扩展（以 eos 结尾的假设同时留在活跃集合里）",
        "fix": "An extension ending in eos goes to the finished list ONLY: use if/elif, so it never joins the live set.",
        "fix_zh": "以 eos 结尾的扩展只进入已结束列表：用 if/elif，让它永远不加入活跃集合。",
        "patch": [("elif len(new_live) < beam_size:", "if len(new_live) < beam_size:")],
    },
    {
        "name": "walks_only_beam_size",
        "title": "only the best beam_size extensions walked (the live set starves after an eos)",
        "title_zh": "只遍历了最好的 beam_size 个扩展（遇到 eos 后活跃集合就不满了）",
        "fix": "Walk the best 2 * beam_size extensions: each eos among them finishes, the others refill the beam up to beam_size.",
        "fix_zh": "遍历最好的 2 * beam_size 个扩展：其中每个 eos 都结束，其余的把束重新填满到 beam_size。",
        "patch": [("order[: 2 * beam_size]", "order[:beam_size]")],
    },
    {
        "name": "scores_not_accumulated",
        "title": "scores not accumulated (an extension is ranked by its last transition only)",
        "title_zh": "分数没有累加（扩展只按最后一次转移的对数概率排序）",
        "fix": "An extension's log-probability is the live hypothesis's cumulative one plus transition[last, token].",
        "fix_zh": "扩展的对数概率 = 活跃假设的累计对数概率 + transition[last, token]。",
        "patch": [("cand = live_logp[:, None] + transition[last]", "cand = transition[last]")],
    },
    {
        "name": "live_ranked_normalised",
        "title": "live beams ranked by the length-normalised score (it is carried into the next step)",
        "title_zh": "活跃的束按长度归一化后的分数排序（并把它带入下一步）",
        "fix": "Carry and rank the raw cumulative log-probability; divide by n ** length_penalty only when scoring finished hypotheses.",
        "fix_zh": "活跃假设保存并按原始的累计对数概率排序；只有给已结束的假设打分时才除以 n ** length_penalty。",
        "patch": [("new_logp.append(logp)", "new_logp.append(_final_score(logp, len(tokens) - 1, length_penalty))")],
    },
    {
        "name": "bos_counted_in_length",
        "title": "bos counted in the length (divides by n + 1)",
        "title_zh": "长度里算上了 bos（除以的是 n + 1）",
        "fix": "n counts the generated tokens only (eos included, bos not): len(tokens) - 1 when tokens starts with bos.",
        "fix_zh": "n 只计生成的 token（包括 eos，不包括 bos）：tokens 以 bos 开头时就是 len(tokens) - 1。",
        "patch": [("_final_score(logp, len(tokens) - 1, length_penalty)) for", "_final_score(logp, len(tokens), length_penalty)) for")],
    },
    {
        "name": "live_dropped_at_max_len",
        "title": "hypotheses still live after max_len steps are dropped (only eos endings returned)",
        "title_zh": "走完 max_len 步后仍然活跃的假设被丢掉了（只返回以 eos 结尾的）",
        "fix": "After the last step, append the live hypotheses to the finished ones (in live order) before ranking.",
        "fix_zh": "最后一步之后，把仍然活跃的假设（按活跃顺序）追加到已结束的假设里，再排序。",
        "patch": [("finished += [(tokens, logp) for tokens, logp in zip(live, live_logp.tolist())]", "pass")],
    },
    {
        "name": "ties_token_first",
        "title": "ties broken by token id before the live hypothesis (the (N, V) table flattened column-major)",
        "title_zh": "并列时先按 token id 再按活跃假设排序（(N, V) 表按列展开了）",
        "fix": "Flatten the (N, V) table row-major and sort stably: flat index i * V + token, so ties keep (live index, token) order.",
        "fix_zh": "按行展开 (N, V) 表并做稳定排序：展开下标为 i * V + token，这样并列时保持 (活跃下标, token) 的顺序。",
        "patch": [
            ("torch.sort(cand.flatten(),", "torch.sort(cand.t().flatten(),"),
            ("i, tok = divmod(flat, V)", "tok, i = divmod(flat, len(live))"),
        ],
    },
    {
        "name": "length_penalty_ignored",
        "title": "length_penalty ignored (finished hypotheses scored by raw log-probability)",
        "title_zh": "忽略了 length_penalty（已结束的假设按原始对数概率打分）",
        "fix": "Score = cumulative log-probability / n ** length_penalty, n = generated tokens (eos included, bos not).",
        "fix_zh": "分数 = 累计对数概率 / n ** length_penalty，n 为生成的 token 数（包括 eos，不包括 bos）。",
        "patch": [("return logp / n_generated**length_penalty", "return logp")],
    },
    {
        "name": "stops_walk_when_beam_full",
        "title": "walk stopped once the beam is full (a later eos in the best 2 · beam_size never finishes)",
        "title_zh": "束一满就停止遍历（最好的 2 · beam_size 个里靠后的 eos 永远不会结束）",
        "fix": "Walk all of the best 2 * beam_size: once the live set is full, skip non-eos extensions but still finish each eos.",
        "fix_zh": "遍历全部最好的 2 * beam_size 个：活跃集合满了以后，跳过非 eos 的扩展，但每个 eos 仍然要结束。",
        "patch": [
            (
                "                new_logp.append(logp)\n",
                "                new_logp.append(logp)\n                if len(new_live) == beam_size:\n                    break\n",
            )
        ],
    },
    {
        "name": "returned_in_finishing_order",
        "title": "finished hypotheses returned in the order they finished, not best score first",
        "title_zh": "按结束的先后返回已结束的假设，而不是按分数从高到低",
        "fix": "Sort the finished hypotheses by score, best first, with a stable sort (ties keep finishing order), then keep beam_size.",
        "fix_zh": "把已结束的假设按分数从高到低稳定排序（并列时保持结束的先后），再取前 beam_size 个。",
        "patch": [("scored.sort(key=lambda hyp: -hyp[1])", "pass")],
    },
]


def _log_softmax(v: int, seed: int, eos: int, eos_bias: float) -> Any:
    import torch

    x = torch.randn(v, v, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 1.5
    x[:, eos] += eos_bias  # make eos likely enough to end hypotheses early
    return torch.log_softmax(x, dim=-1)


def _encode(result: Any) -> Any:
    import torch

    tokens = [int(t) for tokens, _ in result for t in [*tokens, -1]]
    scores = [float(score) for _, score in result]
    return torch.tensor(tokens, dtype=torch.long), torch.tensor(scores, dtype=torch.float64)


# Hand-made, exact in binary: ties are real ties.
TIES = [[-2.0, -1.0, -1.0, -3.0], [-2.0, -2.0, -3.0, -4.0], [-2.0, -2.0, -3.0, -4.0], [-1.0, -1.0, -1.0, -1.0]]
# In step 3 an eos ranks after the two extensions that fill the beam, within the best four.
EOS_AFTER_FULL = [[-2.25, -3.0, -3.25, -2.25], [-1.25, -1.5, -1.0, -1.75], [-2.5, -3.5, -1.75, -3.0], [-3.75, -0.75, -2.5, -3.25]]


def _random(mod: Any, ref: Any) -> Any:
    return _encode(mod.beam_search(_log_softmax(5, 0, 1, 1.0), 0, 1, 2, 4, 1.0))


def _long_penalty_two(mod: Any, ref: Any) -> Any:
    return _encode(mod.beam_search(_log_softmax(6, 1, 2, 1.5), 0, 2, 3, 5, 2.0))


def _eos_likely(mod: Any, ref: Any) -> Any:
    return _encode(mod.beam_search(_log_softmax(4, 2, 3, 2.5), 0, 3, 2, 4, 0.5))


def _ties(mod: Any, ref: Any) -> Any:
    import torch

    return _encode(mod.beam_search(torch.tensor(TIES, dtype=torch.float64), 0, 3, 2, 3, 1.0))


def _eos_after_full(mod: Any, ref: Any) -> Any:
    import torch

    return _encode(mod.beam_search(torch.tensor(EOS_AFTER_FULL, dtype=torch.float64), 0, 3, 2, 3, 1.0))


PROBES = {
    "random": _random,
    "long_penalty_two": _long_penalty_two,
    "eos_likely": _eos_likely,
    "ties": _ties,
    "eos_after_full": _eos_after_full,
}
