"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: maxima that grow late, values up to ±1e4,
chunks of -inf, empty chunks, generators, dtypes, and the memory bound (64 chunks of 2^20 numbers).
"""

import pytest
import torch

from online_softmax import streaming_logsumexp


def test_matches_logsumexp_of_the_concatenation():
    chunks = [torch.randn(2, 3, 4), torch.randn(2, 3, 1), torch.randn(2, 3, 6) + 5.0]
    expected = torch.logsumexp(torch.cat(chunks, dim=-1), dim=-1)
    assert torch.allclose(streaming_logsumexp(chunks), expected, atol=1e-5)


def test_a_generator_is_read_once():
    chunks = [torch.randn(3, 5) for _ in range(4)]
    got = streaming_logsumexp(c for c in chunks)
    assert got.shape == (3,)
    assert torch.allclose(got, torch.logsumexp(torch.cat(chunks, dim=-1), dim=-1), atol=1e-5)


def test_large_values_and_neg_inf():
    got = streaming_logsumexp([torch.tensor([1e4, float("-inf")]), torch.tensor([1e4, 0.0])])
    assert torch.isfinite(got)
    assert torch.allclose(got, torch.tensor(1e4 + 0.6931472))
    assert streaming_logsumexp([torch.full((2,), float("-inf"))]) == float("-inf")


def test_empty_chunks_are_skipped_and_nothing_is_an_error():
    x = torch.randn(2, 3)
    assert torch.allclose(streaming_logsumexp([torch.zeros(2, 0), x]), torch.logsumexp(x, dim=-1))
    with pytest.raises(ValueError):
        streaming_logsumexp([])
