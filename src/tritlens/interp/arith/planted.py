"""A planted adder: a hand-written hooked model whose nodes compute known sub-tasks.

It answers n-digit addition in the Quirke layout (most significant digit first) exactly, with
TransformerLens hook names, so the circuit search can be tested against known answers. At the
position that predicts answer digit A{k}:

* head 0 attends to D{k} and D'{k} (half each) and outputs the one-hot of (D{k} + D'{k}) mod 10
  (base add, ``A{k}.SA``);
* head 1 attends to D{k-1} and D'{k-1} and outputs 1 if that column makes a carry (``A{k-1}.SC``);
* head 2 attends to D{k-2} and D'{k-2} and outputs 1 if a carry cascades into column k through a
  column k-1 whose digits sum to 9 (use sum 9, ``A{k-1}.SS``);
* the MLP combines them: digit = (argmax head 0 + round head 1 + round head 2) mod 10.

Digits are read as the argmax of the (one-hot) residual stream, so ablating or patching any hook
changes the answer the way the sub-task it carries says. No other position does anything.
``broken`` switches off the use-sum-9 head of chosen answer digits: the model then fails exactly the
questions whose carry cascades into those digits (planted failures, for testing the grader).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tritlens.config import RunConfig
from tritlens.models import HookedModule, HookPoint
from tritlens.run import Run
from tritlens.tasks.arith import D_VOCAB, PLUS, AddConfig, ArithTask

HEADS = 3


class _Attn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.n_heads = HEADS
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()


class _Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hook_post = HookPoint()


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hook_resid_pre = HookPoint()
        self.attn = _Attn()
        self.mlp = _Mlp()
        self.hook_resid_post = HookPoint()


class PlantedAdder(HookedModule):
    """Exact n-digit addition through known nodes (see the module docstring)."""

    def __init__(self, digits: int, broken: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.broken = set(broken)  # answer digits whose use-sum-9 head is switched off (planted failures)
        self.task = ArithTask("add", AddConfig(digits=digits))
        self.layout = self.task.layout
        self.d_vocab = self.d_vocab_out = D_VOCAB
        self.n_ctx = self.layout.n_ctx
        self.blocks = nn.ModuleList([_Block()])
        self.setup_hooks()

    def answer_logits(self, tokens: Tensor, positions: tuple[int, ...]) -> Tensor:
        return self(tokens)[:, list(positions)]

    def forward(self, tokens: Tensor) -> Tensor:
        block, lay, n = self.blocks[0], self.layout, self.layout.digits
        resid = block.hook_resid_pre(F.one_hot(tokens, D_VOCAB).float())
        tok = resid.argmax(-1)
        a = torch.stack([tok[:, lay.a_pos(i)] for i in range(n)], 1)  # [B, n] by power of ten
        b = torch.stack([tok[:, lay.b_pos(i)] for i in range(n)], 1)
        total = a + b
        carry_in = [torch.zeros_like(total[:, 0])]
        for i in range(n):
            carry_in.append((total[:, i] + carry_in[i] >= 10).long())
        batch, ctx = tokens.shape
        pattern = torch.eye(ctx).expand(batch, HEADS, ctx, ctx).clone()  # default: attend to self
        z = torch.zeros(batch, ctx, HEADS, 10)
        for k in range(n + 1):
            p = lay.answer_pos(k) - 1
            for head, col in enumerate((k, k - 1, k - 2)):
                if 0 <= col < n:
                    pattern[:, head, p] = 0.0
                    pattern[:, head, p, lay.a_pos(col)] = pattern[:, head, p, lay.b_pos(col)] = 0.5
            z[:, p, 0] = F.one_hot(total[:, k] % 10 if k < n else torch.zeros_like(total[:, 0]), 10).float()
            if k >= 1:
                z[:, p, 1, 0] = (total[:, k - 1] >= 10).float()
            if k >= 2 and k not in self.broken:
                z[:, p, 2, 0] = ((total[:, k - 1] == 9) & (carry_in[k - 1] == 1)).float()
        block.attn.hook_pattern(pattern)
        z = block.attn.hook_z(z)
        digit = (z[..., 0, :].argmax(-1) + z[..., 1, 0].round().long() + z[..., 2, 0].round().long()) % 10
        post = block.mlp.hook_post(F.one_hot(digit, 10).float())  # [B, T, 10]
        logits = torch.zeros(batch, ctx, D_VOCAB)
        logits[..., :10] = post
        logits[:, lay.eq_pos] = F.one_hot(torch.tensor(PLUS), D_VOCAB).float()
        logits[:, lay.answer_positions[-1] + 1:] = 0.0
        return 10.0 * block.hook_resid_post(logits)


def planted_run(digits: int = 3, broken: tuple[int, ...] = ()) -> Run:
    """An in-memory Run around a :class:`PlantedAdder` (for tests and examples)."""
    model = PlantedAdder(digits, broken)
    config = RunConfig.from_dict({"task": {"name": "add", "digits": digits}, "train": {"batch_size": 64}})
    return Run(None, config, model, [], task=model.task)
