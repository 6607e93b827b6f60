"""After a passing grade: the learner's speculative_generate writes a paragraph with the kata's
target and draft models (trained by train.py), and says how many target calls it took.

The models are the grader's (model.py, built in the grading worker); nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

PROMPT = "Attention "
K = 4


def showcase(module: Any, kata_dir: Path, length: int = 200) -> str:
    from attnquiz.grading.suite import Helpers

    m = Helpers().define(module, "model.py")
    models = {}
    for name in ("target", "draft"):
        checkpoint = torch.load(kata_dir / f"{name}.pt", weights_only=True)
        models[name] = m.GPT(m.GPTConfig(**checkpoint["config"]))
        models[name].load_state_dict({k: v.float() for k, v in checkpoint["state_dict"].items()})
        models[name].eval()
    chars: str = checkpoint["chars"]
    prompt = torch.tensor([[chars.index(c) for c in PROMPT]])
    tokens, calls = module.speculative_generate(models["target"], models["draft"], prompt, length, K)
    text = "".join(chars[i] for i in tokens[0].tolist())
    return (
        f"{text}\n\n{length} new characters in {calls} target calls with k = {K} "
        f"({length / max(calls, 1):.1f} per call); plain greedy decoding needs {length}."
    )
