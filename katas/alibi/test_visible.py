"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: slopes for many head counts (powers of two
and others), the bias for many shapes, the edge cases and the bias's structure.
"""

import pytest
import torch

from alibi import alibi_bias, alibi_slopes


def test_slopes_for_eight_heads():
    slopes = alibi_slopes(8)
    assert slopes.dtype == torch.float32
    assert torch.allclose(slopes, torch.tensor([2.0**-h for h in range(1, 9)]))


def test_slopes_for_a_non_power_of_two():
    # 3 heads: the 2 slopes of 2 heads, then the first even-index slope of 4 heads
    assert torch.allclose(alibi_slopes(3), torch.tensor([2.0**-4, 2.0**-8, 2.0**-2]))


def test_bias_is_causal_and_linear():
    bias = alibi_bias(2, 3)
    assert bias.shape == (2, 3, 3) and bias.dtype == torch.float32
    inf = float("inf")
    s = 2.0**-4  # head 0's slope for 2 heads
    expected0 = torch.tensor([[0.0, -inf, -inf], [-s, 0.0, -inf], [-2 * s, -s, 0.0]])
    assert torch.equal(bias[0], expected0)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        alibi_slopes(0)
    with pytest.raises(ValueError):
        alibi_bias(4, -1)
