"""After a passing grade: the learner's own model code and generate() write a paragraph.

Loads model.pt (made by train.py) into the learner's GPT by submodule name; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

PROMPT = "Attention "


def showcase(module: Any, kata_dir: Path, length: int = 240) -> str:
    checkpoint = torch.load(kata_dir / "model.pt", weights_only=True)
    chars: str = checkpoint["chars"]
    model = module.GPT(module.GPTConfig(**checkpoint["config"]))
    model.load_state_dict({k: v.float() for k, v in checkpoint["state_dict"].items()})
    model.eval()
    prompt = torch.tensor([[chars.index(c) for c in PROMPT]])
    out = module.generate(model, prompt, length, temperature=0.5, top_k=5, generator=torch.Generator().manual_seed(0))
    return "".join(chars[i] for i in out[0].tolist())
