"""The graph that translates a batch of strings, and what `Translator.translate` makes of its outputs."""

import numpy as np
import tensorflow as tf

from zoo.generation import get_strategy
from zoo.tokenizer import END_ID, PAD_ID, START_ID, UNK_ID
from zoo.translation import Translation


def translation_graph(
    backbone,
    preprocessor,
    texts,
    max_length,
    strategy,
    seed,
    return_attention,
    max_length_factor,
    replace_unknown,
):
    """`Translator.translate_graph` of a backbone and its preprocessor; `replace_unknown` checked already."""
    strategy = get_strategy(strategy)
    # `tokenize`, in its two steps: unknown-word replacement copies from the words.
    source_words = preprocessor.source_tokenizer.split(texts)
    source_ids = tf.cast(preprocessor.source_tokenizer.tokens_to_ids(source_words), tf.int32)
    source_lengths = tf.cast(source_ids.row_lengths(), tf.int32)
    source_ids = source_ids[:, : preprocessor.max_source_length]
    lengths = tf.minimum(source_lengths, preprocessor.max_source_length)
    # One padding column at least, so a batch of empty sentences still
    # has a time axis; padding changes no output.
    source_ids = tf.pad(source_ids.to_tensor(PAD_ID), [[0, 0], [0, 1]])  # (batch, Ts + 1)
    cache = backbone.encode(source_ids, max_length)
    batch_size = tf.shape(texts)[0]
    limits = max_length
    if max_length_factor is not None:
        own = tf.math.ceil(max_length_factor * tf.cast(lengths, tf.float32)) + 1  # [END] counted
        limits = tf.cast(tf.minimum(own, tf.cast(max_length, tf.float32)), tf.int32)  # (batch,)
    result = strategy.search(
        backbone.next,
        cache,
        start_tokens=tf.fill([batch_size], START_ID),
        end_id=END_ID,
        max_length=limits,
        done=tf.equal(lengths, 0),
        source_mask=tf.not_equal(source_ids, PAD_ID),
        seed=seed,
        return_attention=return_attention or replace_unknown,
    )
    tokens = result["tokens"]  # (batch, n, steps)
    shape = tf.shape(tokens)
    # Not `[-1, steps]`: an empty batch may have no steps either, and -1 is then ambiguous.
    flat = [shape[0] * shape[1], shape[2]]
    token_strings = None
    if replace_unknown:
        token_strings = tf.reshape(
            copy_unknown(preprocessor, source_words, tokens, result["attention"]), flat
        )
    texts = preprocessor.target_tokenizer.detokenize(tf.reshape(tokens, flat), token_strings)
    return {
        "translations": tf.reshape(texts, shape[:2]),
        "scores": result["scores"],
        "tokens": tokens,
        "attention": result["attention"],
        "source_ids": source_ids,
        "source_lengths": source_lengths,
    }


def copy_unknown(preprocessor, source_words, tokens, attention):
    """Target token strings `(batch, n, steps)`, each `[UNK]` replaced by its most attended source word.

    `source_words` are the source tokenizer's split (standardized, before
    the vocabulary lookup), so a word the source vocabulary lacks is copied
    as written; they line up with the attention's source axis because a
    word or character tokenizer gives one id per word or character.
    """
    words = source_words[:, : preprocessor.max_source_length]
    words = tf.pad(words.to_tensor(""), [[0, 0], [0, 1]])  # (batch, Ts + 1), as `source_ids`
    attended = tf.argmax(attention, axis=-1, output_type=tf.int32)  # (batch, n, steps)
    copied = tf.gather(words, attended, batch_dims=1)
    return tf.where(tf.equal(tokens, UNK_ID), copied, preprocessor.target_tokenizer.id_to_token(tokens))


def translations_with_details(preprocessor, texts, outputs):
    """`Translation`s (a list per sentence, one per hypothesis) from `translation_graph`'s outputs as NumPy."""
    source_lengths = np.minimum(outputs["source_lengths"], preprocessor.max_source_length)
    source_vocab = preprocessor.source_tokenizer.vocabulary
    target_vocab = preprocessor.target_tokenizer.vocabulary
    results = []
    for i, row in enumerate(texts):
        source = [source_vocab[t] for t in outputs["source_ids"][i, : source_lengths[i]]]
        hypotheses = []
        for j, text in enumerate(row):
            output = []
            for t in outputs["tokens"][i, j]:
                if t == PAD_ID:
                    break
                output.append(target_vocab[t])
                if t == END_ID:
                    break
            weights = outputs["attention"][i, j, : len(output), : len(source)]
            hypotheses.append(Translation(text, float(outputs["scores"][i, j]), source, output, weights))
        results.append(hypotheses)
    return results


def count_tokens(tokenizer, texts):
    """Tokens per text of `texts` `(batch,)`, as `tokenizer` counts them: int64 `(batch,)`."""
    return tokenizer.tokenize(texts).row_lengths()


def length_groups(lengths, batch_size):
    """The batches `Translator.translate` decodes: sentence indices sorted by length (stably), then cut."""
    order = np.argsort(lengths, kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def check_max_length_factor(factor):
    """`factor` as a float if it is `None` or a finite positive number, else a `ValueError`."""
    if factor is None:
        return None
    number = not isinstance(factor, bool) and isinstance(factor, (int, float, np.integer, np.floating))
    if not (number and 0 < factor < float("inf")):
        raise ValueError(
            f"`max_length_factor` must be a positive number (or None for no limit), received {factor!r}."
        )
    return float(factor)
