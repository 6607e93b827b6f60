"""Kata: beam search with length-normalised scores, over a bigram model given as data.

Write `beam_search(transition, bos, eos, beam_size, max_len, length_penalty=1.0)
-> list[tuple[list[int], float]]`.

Contract (the hidden suite checks every line):
- transition: a float64 tensor (V, V); transition[a, b] = log p(next token = b | last token = a).
  Use the numbers as given: rows need not be normalised, and an entry may be -inf (a forbidden
  transition). Do not modify it. bos and eos are token ids in 0 .. V-1 and may be equal.
  beam_size >= 1 and max_len >= 1 are ints; length_penalty is a float (the suite uses 0, 0.5,
  1 and 2).
- A hypothesis is a token list that starts with bos, with a cumulative log-probability: the sum
  of transition[prev, next] over its consecutive pairs. Start from ONE live hypothesis [bos]
  with log-probability 0 (it is live even when eos == bos: bos is never "generated").
- Each step (at most max_len steps; stop early when nothing is live):
  1. extend every live hypothesis by every token 0 .. V-1: N live give N * V extensions;
  2. rank them by cumulative log-probability, best first. TIES keep the order of the live
     hypothesis's index, then the token id — the row-major order of an (N, V) table, i.e. a
     STABLE descending sort. (torch.topk does not promise any order for ties.)
  3. walk ALL of the best 2 * beam_size extensions (all of them if there are fewer), in that
     order: every one whose new token is eos is FINISHED (never extended again); every other
     one joins the new live set while it holds fewer than beam_size — later ones are dropped.
     Keep walking after the live set is full: an eos further down the best 2 * beam_size still
     finishes. Twice the beam, so that eos endings never starve the live set.
  4. the new live set (in the order it was filled) replaces the old one.
  -inf is an ordinary value here: such an extension ranks after every finite one (ties among
  them keep the order above) and is walked like any other, so a score may be -inf.
- After the last step, the hypotheses still live are finished too (after the ones that finished
  in that step, in live order). A max_len-long hypothesis therefore need not end in eos.
- SCORE of a finished hypothesis = its cumulative log-probability / n ** length_penalty, where
  n = the number of GENERATED tokens: eos included, bos NOT counted (so n >= 1). length_penalty
  0 ranks by raw log-probability (favours short outputs), 1 by the mean per token, 2 favours
  long ones even more. The live hypotheses are ranked by the raw cumulative log-probability
  (all have the same length in a step); only finished ones are divided.
- Returns the beam_size best finished hypotheses (fewer if fewer finished), best score first;
  ties in score keep the order in which they finished (within a step, the walk's order). Each
  is a tuple (tokens, score): tokens a list of Python ints WITHOUT bos (ending in eos unless it
  ran out of steps; eos never earlier), score a Python float. A plain list of such tuples.
- Precision: accumulate in float64 (never float32); scores are compared to 1e-9 relative, so
  any order of the additions is fine.
- Conventions that differ between libraries (this contract is fixed): Hugging Face stops the
  walk once the beam is full and drops an eos ranked below beam_size — here every eos among the
  best 2 * beam_size finishes. Some code counts bos or the prompt in the length, or uses GNMT's
  ((5 + n) / 6) ** alpha — here it is n ** length_penalty, n without bos. Some code ranks live
  beams by the normalised score or keeps extending finished ones — not here.
- Edge cases: max_len = 1 (one step); beam_size = 1 (NOT plain greedy decoding: when the best
  extension is eos it finishes and the runner-up goes on); eos == bos; V = 1 with
  bos = eos = 0 (after step 1 nothing is live: return [([0], float(transition[0, 0]))] for any
  length_penalty); eos reached early; a model that never emits eos.
- Property: with beam_size >= V ** max_len nothing is ever dropped, and the best hypothesis is
  the one exhaustive search over every possible output finds.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import torch


def beam_search(
    transition: torch.Tensor,
    bos: int,
    eos: int,
    beam_size: int,
    max_len: int,
    length_penalty: float = 1.0,
) -> list[tuple[list[int], float]]:
    """The beam_size best finished hypotheses, best first; see the module docstring for the contract."""
    # TODO: live = [[bos]] with cumulative log-probability 0.0; finished = [] (in finishing order)
    # TODO: for each of at most max_len steps (break when nothing is live):
    # TODO:     every extension's log-probability: live log-prob + transition[last token]  -> (N, V)
    # TODO:     stable descending sort of the flattened (N, V) table; walk the best 2 * beam_size:
    # TODO:     eos -> finished; otherwise join the new live set while it holds < beam_size
    # TODO: the hypotheses still live are finished too
    # TODO: score = log-prob / (len(tokens) - 1) ** length_penalty; stable sort, best first;
    # TODO: return the first beam_size as (tokens without bos, score)
    raise NotImplementedError("write beam_search")
