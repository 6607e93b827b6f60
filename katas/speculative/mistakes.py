"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.

The probes decode with the grader's own models (model.py, target.pt, draft.pt): for the learner
(a Remote) they are built in the grading worker, for the reference and the mistake variants here
in the judge. Each probe returns the tokens, the call count the function returned and the calls
the target model counted itself (as tensors, so that the diagnosis compares all three).
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "rejected_token_kept",
        "title": "the first proposal the target disagrees with is accepted too",
        "title_zh": "目标模型不同意的第一个提议也被接受了",
        "fix": "Stop BEFORE the first disagreement: accept proposals[:n] where all n agree, then append the target's own token at position n.",
        "fix_zh": "在第一个不一致之前停下：只接受全部一致的前 n 个提议 proposals[:n]，然后追加目标模型在第 n 个位置给出的 token。",
        "patch": [
            (
                "            if proposed[0, i] != predicted[0, i]:\n"
                "                break  # the first disagreement ends the round: later proposals followed a wrong token\n"
                "            n += 1\n",
                "            n += 1\n"
                "            if proposed[0, i] != predicted[0, i]:\n"
                "                break\n",
            )
        ],
    },
    {
        "name": "no_bonus_token",
        "title": "no bonus token when the target agrees with all k proposals",
        "title_zh": "目标模型同意全部 k 个提议时没有追加额外（bonus）token",
        "fix": "Always append the target's token after the accepted prefix: when all k agree, its prediction at the last position is a free extra token.",
        "fix_zh": "总是在接受的前缀之后追加目标模型的 token：k 个提议全部一致时，它在最后一个位置的预测就是白送的额外 token。",
        "patch": [("predicted[:, n : n + 1]), dim=1)", "predicted[:, n : n + 1] if n < k else predicted[:, :0]), dim=1)")],
    },
    {
        "name": "proposals_after_rejection",
        "title": "proposals after a rejection still accepted (agreements counted, not the agreeing prefix)",
        "title_zh": "被拒绝之后的提议仍被接受（统计了所有一致的位置，而不是一致的前缀）",
        "fix": "Break at the first disagreement: every later proposal was drafted after a wrong token, so the target's verdicts on them mean nothing.",
        "fix_zh": "在第一个不一致处 break：之后的提议都是在一个错误 token 之后起草的，目标模型对它们的判断已经没有意义。",
        "patch": [("break  # the first disagreement ends the round: later proposals followed a wrong token", "continue")],
    },
    {
        "name": "context_not_cropped",
        "title": "context not cropped to the block size",
        "title_zh": "上下文没有裁剪到 block_size",
        "fix": "Feed each model at most its last config.block_size tokens: draft(seq[:, -draft.config.block_size:]) and target(seq[:, -target.config.block_size:]).",
        "fix_zh": "每个模型最多只输入最后 config.block_size 个 token：draft(seq[:, -draft.config.block_size:])，target(seq[:, -target.config.block_size:])。",
        "patch": [
            ("draft(seq[:, -draft.config.block_size :])", "draft(seq)"),
            ("target(seq[:, -block_size:])", "target(seq)"),
        ],
    },
    {
        "name": "one_target_call_per_token",
        "title": "one target call per proposed token (no speed-up over plain greedy decoding)",
        "title_zh": "每个提议的 token 都单独调用一次目标模型（相比普通贪心解码毫无加速）",
        "fix": "Score the context plus ALL proposals in one target call: the causal model's logits at position t already predict token t + 1 for every prefix.",
        "fix_zh": "用一次目标模型调用为上下文加全部提议打分：因果模型在位置 t 的 logits 本身就预测了每个前缀之后的第 t + 1 个 token。",
        "patch": [
            (
                "        logits = target(seq[:, -block_size:])  # (1, <= block_size, V)\n"
                "        calls += 1\n"
                "        predicted = logits[:, -(n_draft + 1) :, :].argmax(dim=-1)  # (1, n_draft + 1): the target's token after each prefix\n",
                "        predicted = idx[:, :0]\n"
                "        for j in range(n_draft + 1):  # one call per proposal, until the first disagreement\n"
                "            step = target(seq[:, : idx.size(1) + j][:, -block_size:])[:, -1, :].argmax(dim=-1, keepdim=True)\n"
                "            calls += 1\n"
                "            predicted = torch.cat((predicted, step), dim=1)\n"
                "            if j < n_draft and step[0, 0] != proposed[0, j]:\n"
                "                break\n",
            )
        ],
    },
    {
        "name": "draft_calls_counted",
        "title": "the draft's calls counted as target calls",
        "title_zh": "把草稿模型（draft）的调用也算成了目标模型的调用",
        "fix": "Count only target calls (one per round): the draft is the cheap model, its calls are not what speculative decoding saves.",
        "fix_zh": "只统计目标模型的调用（每轮一次）：草稿模型很便宜，投机解码节省的不是它的调用。",
        "patch": [
            (
                "logits = draft(seq[:, -draft.config.block_size :])[:, -1, :]  # (1, V)\n",
                "logits = draft(seq[:, -draft.config.block_size :])[:, -1, :]  # (1, V)\n            calls += 1\n",
            )
        ],
    },
    {
        "name": "last_round_overshoots",
        "title": "the last round still proposes k tokens past the end (then the output is cut)",
        "title_zh": "最后一轮仍然提议 k 个 token，超出了末尾（然后再截断输出）",
        "fix": "Propose min(k, tokens still needed - 1): the target adds one token itself, and proposals past the end shift the target's window near block_size.",
        "fix_zh": "提议 min(k, 还需要的 token 数 - 1) 个：目标模型自己会再加一个 token；超出末尾的提议会在接近 block_size 时让目标模型的窗口发生偏移。",
        "patch": [
            ("n_draft = min(k, end - idx.size(1) - 1)", "n_draft = k"),
            ("    return idx, calls", "    return idx[:, :end], calls"),
        ],
    },
]


_LOCAL: dict[str, Any] = {}


def _local_model() -> Any:
    """model.py run as a module here in the judge (once), like the suite's own copy."""
    if "model" not in _LOCAL:
        import sys
        import types

        from attnquiz.grading.records import STATE

        module = types.ModuleType("_speculative_probe_model")
        sys.modules[module.__name__] = module  # while it runs only (dataclasses look their module up)
        try:
            exec(compile((STATE.kata_dir / "model.py").read_text(encoding="utf-8"), "<model.py>", "exec"), module.__dict__)
        finally:
            sys.modules.pop(module.__name__, None)
        _LOCAL["model"] = module
    return _LOCAL["model"]


def _checkpoint(name: str) -> Any:
    if name not in _LOCAL:
        import torch

        from attnquiz.grading.records import STATE

        _LOCAL[name] = torch.load(STATE.kata_dir / f"{name}.pt", weights_only=True)
    return _LOCAL[name]


def _models(module: Any, same: bool) -> Any:
    """The grader's (target, draft) in float64, where MODULE lives (the worker for a Remote, else
    here, shared by the reference and the variants); built once: the probes count calls as deltas."""
    from attnquiz.grading.proxy import Remote

    remote = isinstance(module, Remote)
    key = ("worker", id(module), same) if remote else ("local", same)
    if key not in _LOCAL:
        if remote:
            from attnquiz.grading.suite import Helpers

            m = Helpers().define(module, "model.py")
        else:
            m = _local_model()
        models = m.from_checkpoint(_checkpoint("target")), m.from_checkpoint(_checkpoint("target" if same else "draft"))
        _LOCAL[key] = (module, models)  # (module kept alive, so that its id is not reused)
    return _LOCAL[key][1]


def _run(module: Any, prompt: str, max_new_tokens: int, k: int, same: bool = False) -> Any:
    import torch

    chars = _checkpoint("target")["chars"]
    target, draft = _models(module, same)
    idx = torch.tensor([[chars.index(c) for c in prompt]])
    before = int(target.calls)
    out, calls = module.speculative_generate(target, draft, idx, max_new_tokens, k)
    return out, torch.tensor(int(calls)), torch.tensor(int(target.calls) - before)


def _accept_and_reject(mod: Any, ref: Any) -> Any:
    return _run(mod, "The ", 12, 4)


def _small_k(mod: Any, ref: Any) -> Any:
    return _run(mod, "value", 10, 2)


def _draft_is_target(mod: Any, ref: Any) -> Any:
    return _run(mod, "q", 8, 3, same=True)


def _near_block_end(mod: Any, ref: Any) -> Any:
    return _run(mod, "a word shows to the others is", 3, 4)


def _past_block(mod: Any, ref: Any) -> Any:
    return _run(mod, "Attention is a way for a mode", 8, 4)


PROBES = {
    "accept_and_reject": _accept_and_reject,
    "small_k": _small_k,
    "draft_is_target": _draft_is_target,
    "near_block_end": _near_block_end,
    "past_block": _past_block,
}
