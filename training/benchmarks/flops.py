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


def decoding_flops(backbone, source_tokens, row_steps, attention_cells):
    """Forward matmul FLOPs of decoding with a recurrent backbone (a third of a training pass).

    The packed encoder runs over real source tokens only; the decoder runs
    one step per row still decoding (a hypothesis, in beam search), and
    attends over its batch's source width.

    Args:
        backbone: a `zoo.RecurrentSeq2Seq`.
        source_tokens: real source tokens encoded, summed over the sentences.
        row_steps: decoder steps summed over rows (`decoding_work`).
        attention_cells: (row step, source position) pairs scored.
    """
    per_source, per_target, per_cell = token_flops(backbone)
    return (per_source * source_tokens + per_target * row_steps + per_cell * attention_cells) / 3


def peer_decoding_flops(batches, units, vocabulary):
    """Forward matmul FLOPs of the peer's greedy decoding (`../shared/peers/tutorial_nmt.py`).

    Its encoder runs both directions over every position of the padded
    batch; every decoding step runs all rows until the last has ended, and
    its `MultiHeadAttention` projects the encoder outputs to keys and values
    again at each step. Counted as its `matmul_flops_per_train_step` counts
    a forward pass, 2 FLOPs a multiply-accumulate.

    Args:
        batches: `(rows, source_width, steps)` per decoded batch, the width
            counting its `[START]` and `[END]`.
        units: the peer's `UNITS`.
        vocabulary: its target vocabulary size.
    """
    u = units
    gru_step = 3 * u * u + 3 * u * u  # input and recurrent matmuls
    total = 0
    for rows, width, steps in batches:
        macs = 2 * width * rows * gru_step  # the bidirectional encoder
        per_step = gru_step + 2 * u * u + 2 * width * u * u + 2 * width * u + u * vocabulary
        # decoder GRU; query and output projections; keys and values; scores and sum; vocabulary
        macs += steps * rows * per_step
        total += 2 * macs
    return float(total)
