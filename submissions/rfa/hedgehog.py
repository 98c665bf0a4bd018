"""Learned feature maps distilled from softmax attention (Hedgehog: Zhang, Bhatia, Kumbong & Re,
ICLR 2024; T2R: Kasai et al., EMNLP 2021, learned the map by fine-tuning alone).

phi(x) = [softmax(W x + b), softmax(-(W x + b))] over the feature axis, one W (F x d) and b per
head and layer. The features are positive, so the linear-attention denominator phi(q) . sum phi(k)
is a sum of positive terms and never needs the clamp that sin/cos random features need. W starts
as the identity: the map is then a fixed function of the pretrained queries and keys, and the
distillation step (``attention_weights`` + ``distillation_loss``) fits it to the pretrained
softmax heads before any task training, which is the step RFA lacked (its kernel computes a
different attention from the pretrained one, README).
"""

from __future__ import annotations

import torch
from torch import nn


class FeatureMaps(nn.Module):
    """One learned map per layer and head: weight (layers, heads, F, d), bias (layers, heads, F)."""

    def __init__(self, layers: int, heads: int, head_dim: int, features: int) -> None:
        super().__init__()
        eye = torch.eye(features, head_dim)
        self.weight = nn.Parameter(eye.expand(layers, heads, features, head_dim).clone())
        self.bias = nn.Parameter(torch.zeros(layers, heads, features))

    def forward(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """(batch, heads, n, d) -> (batch, heads, n, 2F)."""
        proj = torch.einsum("bhnd,hfd->bhnf", x, self.weight[index]) + self.bias[index][None, :, None, :]
        return torch.cat([torch.softmax(proj, dim=-1), torch.softmax(-proj, dim=-1)], dim=-1)


def linear_attention(
    phi_q: torch.Tensor, phi_k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None, eps: float = 1e-6
) -> torch.Tensor:
    """phi(q)^T S / phi(q)^T z with S = sum_i phi(k_i) v_i^T, z = sum_i phi(k_i): linear in n."""
    if key_mask is not None:
        phi_k = phi_k * key_mask[:, None, :, None].to(phi_k.dtype)
    state = torch.einsum("bhnf,bhne->bhfe", phi_k, v)
    norm = phi_k.sum(dim=2)
    numerator = torch.einsum("bhnf,bhfe->bhne", phi_q, state)
    denominator = torch.einsum("bhnf,bhf->bhn", phi_q, norm).unsqueeze(-1)
    return numerator / (denominator + eps)


def attention_weights(phi_q: torch.Tensor, phi_k: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
    """The n x n weights linear attention implies (distillation only): rows sum to 1 over real keys."""
    scores = torch.einsum("bhnf,bhmf->bhnm", phi_q, phi_k) * key_mask[:, None, None, :].to(phi_q.dtype)
    return scores / (scores.sum(dim=-1, keepdim=True) + 1e-6)


def softmax_weights(q: torch.Tensor, k: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
    """The pretrained head's attention, softmax(q k^T / sqrt(d)) over real keys: the teacher."""
    scores = torch.einsum("bhnd,bhmd->bhnm", q, k) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(~key_mask[:, None, None, :].bool(), float("-inf"))
    return torch.softmax(scores, dim=-1)


def distillation_loss(teacher: torch.Tensor, student: torch.Tensor, query_mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student's attention rows against the teacher's, over real queries
    (Hedgehog's loss): -sum_j A_ij log A^_ij, averaged over heads and real query rows."""
    ce = -(teacher * torch.log(student + 1e-9)).sum(dim=-1)  # (batch, heads, n)
    rows = query_mask[:, None, :].to(ce.dtype).expand_as(ce)
    return (ce * rows).sum() / rows.sum()
