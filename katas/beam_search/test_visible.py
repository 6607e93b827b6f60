"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: random models against the reference,
length penalties 0 / 0.5 / 1 / 2, ties, eos reached early or never, eos == bos, -inf
transitions, and that a wide enough beam finds what exhaustive search finds.
"""

import math

import pytest
import torch

from beam_search import beam_search

BOS, A, EOS = 0, 1, 2
# After bos: a 0.7, eos 0.2, bos 0.1. After a: a 0.4, eos 0.5, bos 0.1. After eos: unused.
P = torch.tensor([[0.1, 0.7, 0.2], [0.1, 0.4, 0.5], [0.2, 0.4, 0.4]], dtype=torch.float64)
T = P.log()


def test_two_steps_by_hand():
    # Step 1 walks [a] 0.7 (live), [eos] 0.2 (finished), [bos] 0.1 (live).
    # Step 2 walks [a, eos] 0.35 (finished), [a, a] 0.28 (live), [a, bos] 0.07 (live, the beam is
    # now full); then max_len is reached and the live ones finish too.
    # Scores (length_penalty=1): log-probability / number of generated tokens, bos not counted.
    out = beam_search(T, BOS, EOS, beam_size=2, max_len=2, length_penalty=1.0)
    assert isinstance(out, list) and all(isinstance(hyp, tuple) for hyp in out)
    assert [tokens for tokens, _ in out] == [[A, EOS], [A, A]]
    assert [score for _, score in out] == pytest.approx([math.log(0.35) / 2, math.log(0.28) / 2], rel=1e-9)


def test_one_step_and_no_length_penalty():
    out = beam_search(T, BOS, EOS, beam_size=3, max_len=1, length_penalty=0.0)
    assert [tokens for tokens, _ in out] == [[A], [EOS], [BOS]]
    assert [score for _, score in out] == pytest.approx([math.log(0.7), math.log(0.2), math.log(0.1)], rel=1e-9)
