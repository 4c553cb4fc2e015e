"""Matmul FLOPs of a training step, counted from a recurrent backbone's weights.

The count is the one `../shared/peers/tutorial_nmt.py` uses, so figures
can be held side by side: multiply-accumulates of every matmul, times 2
(a multiply and an add), times 3 (the forward pass, and the backward pass's
gradients with respect to inputs and to weights). Element-wise work,
softmax and embedding lookups are left out; they are a few percent.

Each 2-D kernel runs once per token of the side it reads: encoder kernels
and the attention's key projection once per source token, the decoder, the
attention's query side and the output projection once per target token.
Attention scores and the weighted sum add `2 * Tt * Ts * memory_width` per
pair.

"Useful" FLOPs count real tokens only (what the model learns from);
"padded" FLOPs count every position of every batch (what the machine
executes). Their ratio is the padding's cost.
"""

import numpy as np

from zoo import RecurrentSeq2Seq


def token_flops(backbone):
    """Matmul FLOPs of one training step per token and per attention cell.

    Args:
        backbone: a `zoo.RecurrentSeq2Seq`.

    Returns:
        `(per_source_token, per_target_token, per_cell)`: training FLOPs for
        each source token, each target token, and each (target, source)
        pair of positions that attention scores.
    """
    if not isinstance(backbone, RecurrentSeq2Seq):
        raise ValueError(
            f"FLOP counting covers RecurrentSeq2Seq backbones; received {type(backbone).__name__}."
        )
    per_source = per_target = 0
    for weight in backbone.weights:
        if len(weight.shape) != 2 or weight.path.rsplit("/", 1)[1] in ("embeddings", "bias"):
            continue  # lookups; a GRU's bias is (2, 3 * units) but adds, not multiplies
        rows, columns = weight.shape
        if weight.path.startswith("encoder/"):
            per_source += rows * columns
        elif weight.path.startswith("decoder/attention/"):
            name = weight.path.rsplit("/", 1)[1]
            if name == "key_kernel" or (name == "kernel" and backbone.attention_score == "general"):
                per_source += rows * columns  # projects the keys once per source
            elif name == "kernel" and backbone.attention_score == "concat":
                query_rows = columns  # W_a = [W_query; W_key], each (dim, dim_q)
                per_target += query_rows * columns
                per_source += (rows - query_rows) * columns
            else:
                per_target += rows * columns
        else:
            per_target += rows * columns
    per_cell = 2 * backbone.encoder.units if backbone.has_attention else 0
    return 6 * per_source, 6 * per_target, 6 * per_cell


def pair_flops(backbone, source_lengths, target_lengths):
    """Useful training FLOPs of pairs with these real lengths (arrays or ints)."""
    per_source, per_target, per_cell = token_flops(backbone)
    sources = np.asarray(source_lengths, dtype=np.float64)
    targets = np.asarray(target_lengths, dtype=np.float64)
    return float(np.sum(per_source * sources + per_target * targets + per_cell * sources * targets))


def batch_flops(backbone, rows, source_width, target_width):
    """Training FLOPs the machine executes for one padded batch."""
    return pair_flops(backbone, [source_width] * rows, [target_width] * rows)
