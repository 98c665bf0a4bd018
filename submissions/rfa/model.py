"""MiniLM reading long documents: copied position embeddings and a choice of attention.

The pretrained layers are reused as they are (query/key/value projections, output projection,
feed-forward, layer norms); only the attention in between changes, so softmax and RFA runs differ
in nothing else. Attention dropout is off in both, since RFA has no attention matrix to drop from.
"""

from __future__ import annotations

import torch
from torch import nn

from .hedgehog import FeatureMaps, linear_attention
from .rfa import draw_projection, rfa_attention

ATTENTIONS = ("softmax", "rfa", "hedgehog")


def extend_positions(encoder: nn.Module, length: int) -> None:
    """Grow BERT's position table to ``length`` by repeating the pretrained 512 rows (Longformer's
    initialisation): every new position starts from an embedding the layers already understand."""
    emb = encoder.embeddings
    old = emb.position_embeddings.weight.data
    if length <= old.shape[0]:
        return
    table = nn.Embedding(length, old.shape[1]).to(old.device, old.dtype)
    reps = -(-length // old.shape[0])
    table.weight.data.copy_(old.repeat(reps, 1)[:length])
    emb.position_embeddings = table
    emb.position_ids = torch.arange(length, device=old.device).expand((1, -1))
    emb.token_type_ids = torch.zeros((1, length), dtype=torch.long, device=old.device)
    encoder.config.max_position_embeddings = length


class LongEncoder(nn.Module):
    """A BERT-family encoder whose self-attention is softmax (torch SDPA), random feature attention
    or linear attention through learned feature maps (``hedgehog``). ``softmax_layers`` > 0 keeps
    softmax in that many leading layers (a hybrid): the low layers are the ones the learned maps
    fit worst (README), and each kept layer gives back part of the speed-up at length."""

    def __init__(self, encoder: nn.Module, attention: str, features: int, seed: int, softmax_layers: int = 0) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}")
        n_layers = len(encoder.encoder.layer)
        if not 0 <= softmax_layers <= n_layers:
            raise ValueError(f"softmax_layers must be between 0 and {n_layers}")
        self.encoder, self.attention = encoder, attention
        self.softmax_layers = softmax_layers
        cfg = encoder.config
        self.heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.features = features
        # One learned sigma per head and layer, kept as its log so it stays positive; it starts at 1.
        self.log_sigma = nn.Parameter(torch.zeros(n_layers, self.heads))
        gen = torch.Generator().manual_seed(seed)
        # The evaluation projection: drawn once from the seed, saved with the weights.
        self.register_buffer(
            "projection",
            torch.stack([draw_projection(self.heads, features, self.head_dim, gen) for _ in range(n_layers)]),
        )
        # Only the hedgehog model has feature maps, so the other models' weights are unchanged.
        self.feature_maps = FeatureMaps(n_layers, self.heads, self.head_dim, features) if attention == "hedgehog" else None

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.head_dim).transpose(1, 2)

    def _attend(
        self, index: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        if self.attention == "softmax" or index < self.softmax_layers:
            allowed = mask[:, None, None, :].bool()
            return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        if self.feature_maps is not None:
            return linear_attention(self.feature_maps(index, q), self.feature_maps(index, k), v, key_mask=mask)
        if self.training:  # a fresh draw every step, as the paper trains
            projection = draw_projection(self.heads, self.features, self.head_dim).to(q.device, q.dtype)
        else:
            projection = self.projection[index].to(q.dtype)
        return rfa_attention(q, k, v, projection, self.log_sigma[index].exp(), key_mask=mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Final-layer hidden states, (batch, n, hidden)."""
        hidden = self.encoder.embeddings(input_ids=input_ids)
        for index, layer in enumerate(self.encoder.encoder.layer):
            sa = layer.attention.self
            context = self._attend(
                index,
                self._split(sa.query(hidden)),
                self._split(sa.key(hidden)),
                self._split(sa.value(hidden)),
                attention_mask,
            )
            context = context.transpose(1, 2).reshape(hidden.shape)
            attended = layer.attention.output(context, hidden)
            hidden = layer.output(layer.intermediate(attended), attended)
        return hidden

    @torch.no_grad()
    def teacher_queries_keys(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Each layer's (q, k, v) as the pretrained softmax model computes them: the distillation
        targets, every layer fed the softmax model's hidden states (teacher forcing)."""
        hidden = self.encoder.embeddings(input_ids=input_ids)
        allowed = attention_mask[:, None, None, :].bool()
        pairs = []
        for layer in self.encoder.encoder.layer:
            sa = layer.attention.self
            q, k, v = self._split(sa.query(hidden)), self._split(sa.key(hidden)), self._split(sa.value(hidden))
            pairs.append((q, k, v))
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
            attended = layer.attention.output(context.transpose(1, 2).reshape(hidden.shape), hidden)
            hidden = layer.output(layer.intermediate(attended), attended)
        return pairs

    @torch.no_grad()
    def matched_sigma(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[list[float]]:
        """The sigma per head at which RFA's kernel exp(sigma^2 q^.k^) would have the temperature the
        pretrained head uses: softmax(q.k / sqrt(d)) = softmax(|q||k|/sqrt(d) * q^.k^), so
        sigma^2 = mean |q| * mean |k| / sqrt(d) over the real tokens of a batch. Reported, not used:
        at these values (about 2 to 8) 64 sin/cos features estimate the kernel sums so badly that
        denominators reach zero (tools/rfa_fidelity.py), so training starts from sigma = 1."""
        hidden = self.encoder.embeddings(input_ids=input_ids)
        real = attention_mask.bool()
        sigmas = []
        for layer in self.encoder.encoder.layer:
            sa = layer.attention.self
            q, k, v = self._split(sa.query(hidden)), self._split(sa.key(hidden)), self._split(sa.value(hidden))
            qn = q.norm(dim=-1).transpose(1, 2)[real].mean(0)  # (heads,)
            kn = k.norm(dim=-1).transpose(1, 2)[real].mean(0)
            sigmas.append([round(float(s), 3) for s in (qn * kn / self.head_dim**0.5).sqrt()])
            # Continue through the pretrained (softmax) layer so deeper statistics are realistic.
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=real[:, None, None, :])
            context = context.transpose(1, 2).reshape(hidden.shape)
            attended = layer.attention.output(context, hidden)
            hidden = layer.output(layer.intermediate(attended), attended)
        return sigmas
