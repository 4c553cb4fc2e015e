"""The interface every decoding strategy implements."""

from collections.abc import Callable

import tensorflow as tf

# A model's one decoding step, `Seq2SeqBackbone.next`: `(tokens, cache, step) -> (logits, cache)`.
NextFunction = Callable[[tf.Tensor, dict, tf.Tensor], tuple[tf.Tensor, dict]]


class DecodingStrategy:
    """How to turn a model's next-token distributions into output sequences.

    A strategy is a frozen dataclass of settings (so it can key a cache of
    compiled functions) with one method, `search`, which drives a model's
    `next(tokens, cache, step) -> (logits, cache)` in a `tf.while_loop`.
    Written with TensorFlow ops, it runs inside the `tf.function` that
    `Translator` traces once per strategy and inside exported SavedModels.

    Attributes:
        num_hypotheses: hypotheses returned per sentence, best first.
        deterministic: whether the same input always gives the same output.
    """

    num_hypotheses = 1
    deterministic = True

    def call_seed(self) -> list[int]:
        """The int32 `(2,)` seed passed to `search` for one call (unused unless the strategy draws)."""
        return [0, 0]

    def search(
        self,
        next_fn: NextFunction,
        cache: dict,
        start_tokens: tf.Tensor,
        end_id: int,
        max_length: int | tf.Tensor,
        done: tf.Tensor | None = None,
        source_mask: tf.Tensor | None = None,
        seed: tf.Tensor | None = None,
        return_attention: bool = True,
    ) -> dict[str, tf.Tensor]:
        """Decode a batch.

        Args:
            next_fn: `next(tokens, cache, step) -> (logits, cache)`: logits
                `(batch_size, vocabulary_size)`, and this step's weights over
                the source in the cache's `attention` `(batch_size, Ts)`.
            cache: what the model's `encode` returned: a dict of (nested)
                tensors with the batch first; see `zoo.Seq2SeqBackbone` for
                its `source`.
            start_tokens: int32 `(batch_size,)`.
            end_id: int, the token that ends a hypothesis (kept in its output).
            max_length: int32 scalar, the most tokens generated, or
                `(batch_size,)`, the most for each row (a row cut by its
                own limit ends as one cut by a scalar `max_length` does).
            done: optional bool `(batch_size,)`: rows with nothing to
                translate; they return no tokens and score 0.
            source_mask: optional bool `(batch_size, Ts)`, the real source
                positions (for penalties that look at the attention).
            seed: optional int32 `(2,)`, for strategies that draw at random.
            return_attention: whether to collect the attention weights
                (without them, beam search does less work per step).

        Returns:
            A dict: `tokens` int32 `(batch_size, num_hypotheses, steps)`
            (`[PAD]` after `[END]`), `scores` float32 `(batch_size,
            num_hypotheses)` and `attention` float32 `(batch_size,
            num_hypotheses, steps, Ts)` (zeros when not collected).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `search`.")
