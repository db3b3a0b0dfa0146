"""The melody Transformer of DeepComposer's Extend: a small decoder-only model over melody tokens.

``tokens (B, L) -> logits (B, L, vocab)``: token embeddings plus learnt position embeddings, ``n_layer``
pre-norm blocks of causal self-attention (PyTorch's fused scaled dot-product attention) and an MLP, a final
layer norm and an output layer that shares the embedding's weights. Tokens are those of
:mod:`museforge.music.tokens`; the Extend pipeline (:mod:`museforge.pipelines.extend`) owns sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.models.base import check_size_limits
from museforge.music.tokens import VOCAB_SIZE


@dataclass
class TransformerConfig:
    """Hyper-parameters of a melody Transformer; rebuilt from ``TransformerConfig(**config_to_dict(cfg))``.

    Attributes
    ----------
    vocab_size : int
        Token kinds (:data:`museforge.music.tokens.VOCAB_SIZE`).
    block_size : int
        Longest context in tokens.
    n_layer, n_head, n_embd : int
        Depth, attention heads and width (``n_embd`` divisible by ``n_head``).
    dropout : float
        Dropout in training, in ``[0, 1)``.
    steps_per_bar, lowest_pitch, n_pitches : int
        The grid and pitch window of the data it learnt (pitches outside are never offered when sampling).
    """

    architecture: ClassVar[str] = "transformer"
    positive: ClassVar[tuple[str, ...]] = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd")

    vocab_size: int = VOCAB_SIZE
    block_size: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1
    steps_per_bar: int = 16
    lowest_pitch: int = 24
    n_pitches: int = 84

    def validate(self) -> None:
        """Raise :class:`MuseforgeError` on a value out of range."""
        for name in (*self.positive, "steps_per_bar", "n_pitches"):
            if getattr(self, name) < 1:
                raise MuseforgeError(f"transformer config: {name} must be >= 1, got {getattr(self, name)}")
        check_size_limits(self, "transformer")
        if self.n_embd % self.n_head:
            raise MuseforgeError(f"transformer config: n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise MuseforgeError(f"transformer config: dropout must be in [0, 1), got {self.dropout}")
        if self.lowest_pitch < 0 or self.lowest_pitch + self.n_pitches > 128:
            raise MuseforgeError("transformer config: the pitch window falls outside MIDI 0..127")


class _Block(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
            nn.GELU(),
            nn.Linear(4 * cfg.n_embd, cfg.n_embd),
            nn.Dropout(cfg.dropout),
        )
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        b, length, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (t.view(b, length, self.n_head, c // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.resid_drop(self.proj(y.transpose(1, 2).reshape(b, length, c)))
        return x + self.mlp(self.ln2(x))


class MelodyTransformer(nn.Module):
    """``tokens (B, L) -> logits (B, L, vocab_size)``, causal: position ``i`` sees tokens ``0..i``."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.config = cfg
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.position_embedding = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([_Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight  # tied
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-token logits.

        Parameters
        ----------
        tokens : Tensor
            ``(B, L)`` int64, ``L <= block_size``.

        Returns
        -------
        Tensor
            ``(B, L, vocab_size)``: at position ``i`` the logits of token ``i + 1``.
        """
        if tokens.ndim != 2 or tokens.shape[1] > self.config.block_size:
            raise MuseforgeError(f"tokens must be (batch, at most {self.config.block_size}), got {tuple(tokens.shape)}")
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.drop(self.token_embedding(tokens) + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def build(config: TransformerConfig) -> MelodyTransformer:
    """Build a freshly initialised melody Transformer from a validated config."""
    return MelodyTransformer(config)
