"""Random Feature Attention (Peng et al., ICLR 2021), non-causal form, as plain tensor functions.

phi(x) = sqrt(1/D) [sin(sigma W x), cos(sigma W x)] with W ~ N(0, I) (D x d) and queries and keys
l2-normalised, so E[phi(q) . phi(k)] = exp(-sigma^2 |q - k|^2 / 2) = exp(sigma^2 (q.k - 1)):
softmax attention with temperature sigma^2 over unit vectors. Attention is
phi(q)^T S / phi(q)^T z with S = sum_i phi(k_i) v_i^T and z = sum_i phi(k_i): time and memory are
linear in the sequence length (no n x n matrix is ever formed).
"""

from __future__ import annotations

import torch


def draw_projection(heads: int, features: int, head_dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """W: (heads, D, head_dim), standard normal. Redrawn every training step, fixed at evaluation."""
    return torch.randn(heads, features, head_dim, generator=generator)


def random_features(x: torch.Tensor, projection: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """phi(x) for x: (batch, heads, n, d) -> (batch, heads, n, 2D). ``sigma``: (heads,), learned."""
    x = torch.nn.functional.normalize(x, dim=-1)
    proj = torch.einsum("bhnd,hfd->bhnf", x, projection) * sigma.view(1, -1, 1, 1)
    scale = projection.shape[1] ** -0.5
    return torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1) * scale


def rfa_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    projection: torch.Tensor,
    sigma: torch.Tensor,
    key_mask: torch.Tensor | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """(batch, heads, n, d) -> (batch, heads, n, d_v). ``key_mask``: (batch, n), 1 for real tokens."""
    phi_q = random_features(q, projection, sigma)
    phi_k = random_features(k, projection, sigma)
    if key_mask is not None:
        phi_k = phi_k * key_mask[:, None, :, None].to(phi_k.dtype)
    state = torch.einsum("bhnf,bhne->bhfe", phi_k, v)  # S: (batch, heads, 2D, d_v)
    norm = phi_k.sum(dim=2)  # z: (batch, heads, 2D)
    numerator = torch.einsum("bhnf,bhfe->bhne", phi_q, state)
    denominator = torch.einsum("bhnf,bhf->bhn", phi_q, norm).unsqueeze(-1)
    # sin/cos features can make the estimate of a positive sum small or negative: clamp it, as the
    # authors' implementation does.
    return numerator / denominator.clamp(min=eps)


def softmax_attention_unit(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The exact attention RFA estimates: softmax(sigma^2 q^.k^) v over l2-normalised q and k."""
    q = torch.nn.functional.normalize(q, dim=-1)
    k = torch.nn.functional.normalize(k, dim=-1)
    scores = torch.einsum("bhnd,bhmd->bhnm", q, k) * (sigma**2).view(1, -1, 1, 1)
    return torch.softmax(scores, dim=-1) @ v
