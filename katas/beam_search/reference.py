"""Beam search over a bigram model given as a (V, V) table of next-token log-probabilities."""

from __future__ import annotations

import torch


def _final_score(logp: float, n_generated: int, length_penalty: float) -> float:
    """What a finished hypothesis is ranked by: its log-probability per length ** length_penalty.

    Raw log-probabilities only ever fall as a hypothesis grows, so without the division short
    outputs win; n_generated counts eos but never bos (the model did not choose bos).
    """
    return logp / n_generated**length_penalty


def beam_search(
    transition: torch.Tensor,
    bos: int,
    eos: int,
    beam_size: int,
    max_len: int,
    length_penalty: float = 1.0,
) -> list[tuple[list[int], float]]:
    """The beam_size best finished hypotheses, best first, as (tokens without bos, score).

    transition[a, b] = log p(next = b | last = a). Each step extends every live hypothesis by
    every token and walks the best 2 * beam_size extensions: those ending in eos finish, the
    others refill the beam. Twice the beam, so that eos endings never starve the live set.
    """
    V = transition.size(0)
    live: list[list[int]] = [[bos]]  # token lists, bos first
    live_logp = torch.zeros(1, dtype=torch.float64)  # (N,) cumulative log-probabilities
    finished: list[tuple[list[int], float]] = []  # (tokens, log-prob), in the order they finished
    for _ in range(max_len):
        if not live:
            break  # every walked extension ended in eos
        last = torch.tensor([tokens[-1] for tokens in live])  # (N,)
        cand = live_logp[:, None] + transition[last]  # (N, V): every extension of every live hypothesis
        # stable sort of the row-major flattening: ties keep (live index, token id) order
        order = torch.sort(cand.flatten(), descending=True, stable=True).indices  # (N * V,)
        new_live: list[list[int]] = []
        new_logp: list[float] = []
        for flat in order[: 2 * beam_size].tolist():
            i, tok = divmod(flat, V)
            tokens, logp = live[i] + [tok], float(cand[i, tok])
            if tok == eos:
                finished.append((tokens, logp))
            elif len(new_live) < beam_size:
                new_live.append(tokens)
                new_logp.append(logp)
        live, live_logp = new_live, torch.tensor(new_logp, dtype=torch.float64)
    finished += [(tokens, logp) for tokens, logp in zip(live, live_logp.tolist())]  # out of steps

    scored = [(tokens[1:], _final_score(logp, len(tokens) - 1, length_penalty)) for tokens, logp in finished]
    scored.sort(key=lambda hyp: -hyp[1])  # stable: ties stay in the order they finished
    return scored[:beam_size]
