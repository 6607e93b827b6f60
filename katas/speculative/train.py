"""Train the target and the draft model the speculative kata's grader decodes with.

Reproducible (seeded, one CPU thread) and quick (about 20 s on a laptop CPU):

    python katas/speculative/train.py      # writes katas/speculative/target.pt and draft.pt

Both are model.py's GPT, trained on the generator kata's text (katas/generator/corpus.txt),
character level. The target is the bigger, better-trained model; the draft is a much smaller one
trained for fewer steps, so it often guesses the target's next character and sometimes does not:
on the suite's prompts, speculative rounds both accept and reject proposals. Each checkpoint holds
the config, the vocabulary and a float16 state dict (the grader computes in float64).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # keep __pycache__ out of the content folder
from model import GPT, GPTConfig  # noqa: E402

CORPUS = HERE.parent / "generator" / "corpus.txt"
BATCH = 32
LR = 3e-3
MODELS = {  # name -> (config, training steps)
    "target": (dict(block_size=32, n_layer=2, n_head=2, n_embd=32), 1500),
    "draft": (dict(block_size=32, n_layer=1, n_head=2, n_embd=24), 1500),
}


def train(config: GPTConfig, steps: int, data: torch.Tensor, seed: int) -> GPT:
    torch.manual_seed(seed)
    model = GPT(config)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    g = torch.Generator().manual_seed(seed)
    started = time.time()
    for step in range(steps):
        lr = LR * 0.5 * (1 + math.cos(math.pi * step / steps))  # cosine decay to 0
        for group in opt.param_groups:
            group["lr"] = lr
        ix = torch.randint(len(data) - config.block_size - 1, (BATCH,), generator=g)
        x = torch.stack([data[i : i + config.block_size] for i in ix])  # (B, T)
        y = torch.stack([data[i + 1 : i + 1 + config.block_size] for i in ix])  # (B, T)
        loss = F.cross_entropy(model(x).view(-1, config.vocab_size), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 250 == 0 or step == steps - 1:
            print(f"  step {step:5d}  loss {loss.item():.3f}  {time.time() - started:.0f}s", flush=True)
    model.calls = 0
    return model.eval()


@torch.no_grad()
def agreement(target: GPT, draft: GPT, data: torch.Tensor, block_size: int) -> float:
    """How often the draft's next-token argmax equals the target's, over windows of the text."""
    x = torch.stack([data[i : i + block_size] for i in range(0, len(data) - block_size, block_size)])  # (N, T)
    return float((target(x).argmax(-1) == draft(x).argmax(-1)).double().mean())


def main() -> None:
    torch.set_num_threads(1)
    text = CORPUS.read_text(encoding="utf-8")
    chars = "".join(sorted(set(text)))
    data = torch.tensor([chars.index(c) for c in text], dtype=torch.long)
    models = {}
    for seed, (name, (shape, steps)) in enumerate(MODELS.items()):
        print(f"{name}: {shape}, {steps} steps")
        config = GPTConfig(vocab_size=len(chars), **shape)
        models[name] = train(config, steps, data, seed)
        state = {k: v.detach().half() for k, v in models[name].state_dict().items()}
        torch.save({"config": asdict(config), "chars": chars, "state_dict": state}, HERE / f"{name}.pt")
    rate = agreement(models["target"], models["draft"], data, MODELS["target"][0]["block_size"])
    print(f"the draft agrees with the target's next character {rate:.0%} of the time")


if __name__ == "__main__":
    main()
