"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) also checks values against the reference, greedy and
sampled tokens, context cropping, temperature, top-k and gradients.
"""

import torch

from generator import GPT, GPTConfig, generate

CONFIG = GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16)


def test_future_does_not_leak():
    torch.manual_seed(0)
    model = GPT(CONFIG)
    idx = torch.randint(0, 10, (1, 6))
    changed = idx.clone()
    changed[0, 5] = (changed[0, 5] + 1) % 10
    assert torch.allclose(model(idx)[:, :5], model(changed)[:, :5], atol=1e-6)


def test_generate_shape_and_prefix():
    torch.manual_seed(0)
    model = GPT(CONFIG)
    idx = torch.zeros(2, 3, dtype=torch.long)
    out = generate(model, idx, 12, temperature=0)  # 15 tokens: more than block_size
    assert out.shape == (2, 15)
    assert torch.equal(out[:, :3], idx)
