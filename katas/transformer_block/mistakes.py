"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "post_ln",
        "title": "post-LN (norm after the residual add, the original Transformer) instead of pre-LN",
        "title_zh": "用了 post-LN（残差相加之后再归一化，即原始 Transformer），而不是 pre-LN",
        "fix": "Pre-LN normalises only the branch input: x = x + self.attn(self.ln1(x)), then x = x + self.mlp(self.ln2(x)).",
        "fix_zh": "Pre-LN 只对分支的输入做归一化：x = x + self.attn(self.ln1(x))，然后 x = x + self.mlp(self.ln2(x))。",
        "patch": [
            ("x = x + self.attn(self.ln1(x))", "x = self.ln1(x + self.attn(x))"),
            ("x = x + self.mlp(self.ln2(x))", "x = self.ln2(x + self.mlp(x))"),
        ],
    },
    {
        "name": "no_attn_residual",
        "title": "no residual connection around the attention",
        "title_zh": "注意力外面没有残差连接",
        "fix": "Add the attention branch to its input: x = x + self.attn(self.ln1(x)).",
        "fix_zh": "把注意力分支加到它的输入上：x = x + self.attn(self.ln1(x))。",
        "patch": [("x = x + self.attn(self.ln1(x))", "x = self.attn(self.ln1(x))")],
    },
    {
        "name": "relu_for_gelu",
        "title": "ReLU instead of GELU in the MLP",
        "title_zh": "MLP 中用了 ReLU 而不是 GELU",
        "fix": "Use the exact GELU: F.gelu(self.fc(x)) (or nn.GELU()), not ReLU.",
        "fix_zh": "使用精确 GELU：F.gelu(self.fc(x))（或 nn.GELU()），不要用 ReLU。",
        "patch": [("F.gelu(self.fc(x))", "F.relu(self.fc(x))")],
    },
    {
        "name": "not_causal",
        "title": "attention not causal (every position sees the future)",
        "title_zh": "注意力不是因果的（每个位置都能看到未来）",
        "fix": "Mask the future: scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float('-inf')) before the softmax.",
        "fix_zh": "屏蔽未来：在 softmax 之前执行 scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float('-inf'))。",
        "patch": [('scores = scores.masked_fill(~causal, float("-inf"))', "pass")],
    },
    {
        "name": "residual_after_norm",
        "title": "the residual taken after the norm (x = ln(x); x = x + branch(x))",
        "title_zh": "残差取自归一化之后（x = ln(x); x = x + branch(x)）",
        "fix": "Keep the un-normalised x on the residual path: x = x + self.attn(self.ln1(x)), the norm only feeds the branch.",
        "fix_zh": "残差路径上保留未归一化的 x：x = x + self.attn(self.ln1(x))，归一化只用于分支的输入。",
        "patch": [
            ("x = x + self.attn(self.ln1(x))", "x = self.ln1(x)\n        x = x + self.attn(x)"),
            ("x = x + self.mlp(self.ln2(x))", "x = self.ln2(x)\n        x = x + self.mlp(x)"),
        ],
    },
    {
        "name": "tanh_gelu",
        "title": "tanh-approximate GELU instead of the exact (erf) one",
        "title_zh": "用了 tanh 近似的 GELU，而不是精确（erf）版本",
        "fix": "The contract (and nn.TransformerEncoderLayer's activation='gelu') uses the exact GELU: F.gelu(h) without approximate='tanh'.",
        "fix_zh": "约定（以及 nn.TransformerEncoderLayer 的 activation='gelu'）使用精确 GELU：F.gelu(h)，不带 approximate='tanh'。",
        "patch": [("F.gelu(self.fc(x))", 'F.gelu(self.fc(x), approximate="tanh")')],
    },
    {
        "name": "ln1_reused_for_mlp",
        "title": "ln1 reused before the MLP (ln2 never used)",
        "title_zh": "MLP 前复用了 ln1（ln2 从未被使用）",
        "fix": "Each branch has its own norm: x = x + self.mlp(self.ln2(x)).",
        "fix_zh": "每个分支都有自己的归一化：x = x + self.mlp(self.ln2(x))。",
        "patch": [("x = x + self.mlp(self.ln2(x))", "x = x + self.mlp(self.ln1(x))")],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√head_dim scaling in the attention",
        "title_zh": "注意力中缺少 1/√head_dim 缩放",
        "fix": "Divide the scores by math.sqrt(self.head_dim) before the softmax.",
        "fix_zh": "在 softmax 之前把分数除以 math.sqrt(self.head_dim)。",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)", "q @ k.transpose(-2, -1)")],
    },
]

D_MODEL, HEADS, D_FF = 8, 2, 12


def _block(mod: Any, ref: Any) -> Any:
    import torch

    torch.manual_seed(11)
    r = ref.Block(D_MODEL, HEADS, D_FF).double()
    g = torch.Generator().manual_seed(12)
    state = {}
    for name, t in r.state_dict().items():
        if name.startswith("ln"):  # non-trivial norms, so ln1 and ln2 differ
            base = 1.0 if name.endswith("weight") else 0.0
            t = base + 0.3 * torch.randn(t.shape, generator=g, dtype=torch.float64)
        state[name] = t
    m = mod.Block(D_MODEL, HEADS, D_FF).double()
    m.load_state_dict(state)
    return m


def _x(t: int, seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(2, t, D_MODEL, generator=g, dtype=torch.float64) + 0.5


def _sequence(mod: Any, ref: Any) -> Any:
    return _block(mod, ref)(_x(5, 1))


def _one_token(mod: Any, ref: Any) -> Any:
    return _block(mod, ref)(_x(1, 2))


PROBES = {"sequence": _sequence, "one_token": _one_token}
