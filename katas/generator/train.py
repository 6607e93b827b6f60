"""Train the tiny character-level model that `attnquiz grade generator` samples from on a pass.

Reproducible (seeded, one CPU thread) and quick (about a minute on a laptop CPU):

    python katas/generator/train.py            # writes katas/generator/model.pt

The checkpoint holds the config, the vocabulary and a float16 state dict (about 0.2 MB).
It uses the reference model, so any passing learner model can load it by submodule name.
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
from reference import GPT, GPTConfig, generate  # noqa: E402

STEPS = 1500
BATCH = 32
LR = 3e-3


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    text = (HERE / "corpus.txt").read_text(encoding="utf-8")
    chars = "".join(sorted(set(text)))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    config = GPTConfig(vocab_size=len(chars), block_size=64, n_layer=2, n_head=4, n_embd=64)
    model = GPT(config)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    started = time.time()
    for step in range(STEPS):
        lr = LR * 0.5 * (1 + math.cos(math.pi * step / STEPS))  # cosine decay to 0
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
        if step % 250 == 0 or step == STEPS - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.time() - started:.0f}s", flush=True)
    state = {k: v.detach().half() for k, v in model.state_dict().items()}
    torch.save({"config": asdict(config), "chars": chars, "state_dict": state}, HERE / "model.pt")
    prompt = torch.tensor([[stoi[c] for c in "Attention "]])
    out = generate(model.eval(), prompt, 200, temperature=0.8, top_k=8, generator=torch.Generator().manual_seed(0))
    print("".join(chars[i] for i in out[0].tolist()))


if __name__ == "__main__":
    main()
