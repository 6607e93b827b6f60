"""Kata: choosing the next token — temperature, top-k, top-p, min-p, repetition penalty.

Write three functions. logits are always (B, V): one row of next-token logits per sequence,
in float32, float64 or bfloat16; each row holds finite values and possibly -inf (tokens that
are already banned), with at least one finite value. The result keeps the input's dtype.

`filter_logits(logits, temperature=1.0, top_k=None, top_p=None, min_p=None) -> (B, V)`
- The steps run in THIS order, each on the logits the previous step left (probabilities are
  always torch.softmax over the current logits of the row, so after a step removes tokens the
  next step's probabilities are renormalised over the survivors):
  1. temperature: divide every logit by temperature.
  2. top_k: remove every token whose logit is below the k-th largest logit of its row. Ties
     with the k-th largest are KEPT (so more than k tokens may survive). top_k = None or 0:
     no top-k; top_k >= V keeps everything.
  3. top_p (nucleus): rank the tokens by probability, most likely first; among equally likely
     tokens the LOWER index ranks first (a stable descending sort). Keep the shortest prefix of
     this ranking whose probabilities sum to >= top_p. So the token whose probability makes the
     sum cross top_p IS kept, and when the first n tokens sum to exactly top_p, token n + 1 is
     removed. The most likely token is always kept (top_p = 0 keeps only it). top_p = None or
     top_p >= 1: no top-p, nothing is removed (not even a token of probability 0). Libraries
     differ on the boundary token and on ties; this contract keeps the boundary token and
     ranks ties by index.
  4. min_p: keep the tokens whose probability is >= min_p x the row's largest probability
     (ties with the bound are kept; min_p = 1 keeps the tokens tied with the most likely).
     min_p = None or 0: no min-p.
- Removed tokens get -inf; kept tokens hold their temperature-scaled logit (logit / temperature,
  nothing else changes it). A -inf in the input stays -inf.
- Probabilities may be computed in the logits' dtype or in a wider one: the hidden inputs keep
  every running sum and ratio well away from its bound, except on rows whose probabilities are
  exact (tied tokens, tokens of probability 0), where every rounding agrees.
- temperature = 0 means greedy: only the row's argmax is kept (the FIRST index when several
  tokens tie for the largest logit), with its logit unchanged (not divided); every other token
  is -inf. (The other steps then have nothing left to remove.)
- ValueError when temperature < 0, top_k < 0, top_p < 0, or min_p outside [0, 1].
- The logits passed in are never modified: return a new tensor.

`sample(logits, generator, temperature=1.0, top_k=None, top_p=None, min_p=None) -> (B,) long`
- filtered = filter_logits(logits, ...same options...); probs = torch.softmax(filtered, dim=-1);
  then exactly ONE draw torch.multinomial(probs, num_samples=1, generator=generator) on the
  whole (B, V) tensor (nothing else drawn from the generator), returned as shape (B,), dtype
  torch.int64. So the same seeded torch.Generator reproduces the reference's tokens (and
  temperature = 0 returns each row's first argmax).
- A sampled token is never one that filter_logits removed.

`apply_repetition_penalty(logits, prev_tokens, penalty) -> (B, V)`
- prev_tokens (B, T) int64: the token ids already in each sequence (0 <= id < V; T may be 0).
  For every id in prev_tokens[b], logits[b, id] is made less likely with the CTRL rule: a
  positive logit is DIVIDED by penalty, a negative one MULTIPLIED by penalty (0 and -inf stay
  as they are). An id that occurs several times in a row is penalised once. Other tokens and
  other rows are untouched. penalty = 1 changes nothing; 0 < penalty < 1 follows the same
  rule (it favours repeats); penalty <= 0 raises ValueError.
- Returns a new tensor; the logits passed in are never modified.

No gradients are needed (sampling runs without autograd).
Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

from typing import Optional

import torch


def filter_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    top_p: Optional[float] = None,
    min_p: Optional[float] = None,
) -> torch.Tensor:
    """(B, V) -> (B, V): kept tokens hold logit / temperature, removed ones -inf (see above)."""
    # TODO: check the arguments (ValueError)
    # TODO: temperature == 0: keep only the first argmax, with its logit unchanged
    # TODO: divide by temperature (a new tensor)
    # TODO: top_k: remove logits below the k-th largest (ties stay)
    # TODO: top_p: stable descending sort of the probabilities; keep the crossing token
    # TODO: min_p: remove probabilities below min_p x the largest
    raise NotImplementedError("write filter_logits")


@torch.no_grad()
def sample(
    logits: torch.Tensor,
    generator: Optional[torch.Generator],
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    top_p: Optional[float] = None,
    min_p: Optional[float] = None,
) -> torch.Tensor:
    """(B, V) -> (B,) int64: one token per row from the filtered distribution."""
    # TODO: filter, softmax, one torch.multinomial(..., num_samples=1, generator=generator)
    raise NotImplementedError("write sample")


def apply_repetition_penalty(logits: torch.Tensor, prev_tokens: torch.Tensor, penalty: float) -> torch.Tensor:
    """(B, V), (B, T) -> (B, V): every token already seen made less likely (CTRL rule)."""
    # TODO: ValueError when penalty <= 0
    # TODO: gather the seen tokens' logits, penalise (divide if > 0, multiply if < 0), scatter into a copy
    raise NotImplementedError("write apply_repetition_penalty")
