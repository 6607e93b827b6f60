"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: loaded weights, nearly constant vectors
(where the place of eps matters), eps as given, gradients, dtypes, torch.nn's modules as oracle.
"""

import torch

from norms import LayerNorm, RMSNorm


def test_layernorm_matches_torch():
    x = torch.randn(2, 5, 8) * 3 + 1
    ours, theirs = LayerNorm(8), torch.nn.LayerNorm(8)
    assert set(dict(ours.named_parameters())) == {"weight", "bias"}
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_rmsnorm_matches_torch():
    x = torch.randn(2, 5, 8) * 3 + 1
    ours, theirs = RMSNorm(8), torch.nn.RMSNorm(8, eps=1e-6)
    assert set(dict(ours.named_parameters())) == {"weight"}
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_layernorm_by_hand():
    y = LayerNorm(2, eps=0.0)(torch.tensor([1.0, 3.0]))  # mean 2, biased variance 1
    assert torch.allclose(y, torch.tensor([-1.0, 1.0]))
