"""Perplexity of any causal LM transformers loads on token rows, computed the trainer's way (model.gpt's loss)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from train.data import Batch


@torch.no_grad()
def perplexity(model, rows: Batch, vocab_size: int, batch_size: int = 4) -> dict:
    """exp(mean cross entropy) over the counted next-token targets of rows (loss_mask where the shards carry one).
    As in the trainer's loss, only the first vocab_size logits enter the softmax (padded ids are never predicted);
    unlike the trainer, attention is plain causal across the documents packed in a row (no document masking, as in
    transformers inference)."""
    device = next(model.parameters()).device
    total, counted = 0.0, 0.0
    for start in range(0, len(rows.input_ids), batch_size):
        ids = torch.from_numpy(rows.input_ids[start:start + batch_size]).to(device)
        targets = torch.from_numpy(rows.targets[start:start + batch_size]).to(device)
        logits = model(input_ids=ids).logits[..., :vocab_size].float()          # [B, T, vocab]
        nll = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")  # [B * T]
        weight = torch.ones_like(nll)
        if rows.loss_mask is not None:
            weight = torch.from_numpy(rows.loss_mask[start:start + batch_size]).to(device).flatten().float()
        total += float((nll * weight).sum())
        counted += float(weight.sum())
    if counted == 0:
        raise ValueError("the perplexity rows count no tokens (their loss_mask is all zero)")
    mean = total / counted
    return {"perplexity": math.exp(mean), "mean_nll": mean, "tokens": int(counted), "rows": len(rows.input_ids)}
