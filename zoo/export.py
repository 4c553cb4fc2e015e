"""Export a `Translator` as a SavedModel that maps strings to strings."""

import tensorflow as tf

from zoo.annotations import PathLike
from zoo.atomic import DirectoryKind, atomic_directory
from zoo.generation import DecodingStrategy
from zoo.translation_graph import check_max_length_factor
from zoo.translator import Translator

# What an export may replace: an earlier SavedModel, nothing else (not a
# preset, not a run's folder).
SAVED_MODEL_DIRECTORY = DirectoryKind(
    "a SavedModel directory",
    "saved_model.pb",
    frozenset({"saved_model.pb", "variables", "assets", "fingerprint.pb"}),
)


def export_translator(
    translator: Translator,
    path: PathLike,
    max_length: int | None = None,
    strategy: DecodingStrategy | str | None = None,
    beam_width: int | None = None,
    return_attention: bool = False,
    max_length_factor: float | None = None,
    replace_unknown: bool = False,
) -> list[str]:
    """Write a SavedModel with tokenizer, decoding loop and detokenizer inside.

    Its `serving_default` signature takes `text: tf.string[None]` and returns
    `translation: tf.string[None]` and `score: tf.float32[None]` (the
    strategy's score of the best hypothesis: the sum of its tokens'
    log-probabilities, penalized as beam search's settings say). A beam
    search with `num_hypotheses=n > 1` adds `n_best: tf.string[None, n]`
    and `n_best_scores: tf.float32[None, n]`, best first. With
    `return_attention`, it also returns `attention: tf.float32[None, None,
    None]` (output token x source token; rows past a translation's end and
    columns past its source are 0) and the tokens those axes refer to,
    `source_tokens` and `output_tokens: tf.string[None, None]` (padded with
    `""`).

    It loads with `tf.saved_model.load` in a process that has only
    TensorFlow and tensorflow-text (`import tensorflow_text` registers the
    ops it uses), and serves under TensorFlow Serving's conventions (string
    input, the `serving_default` signature).

    Defined results: an empty sentence translates to `""` with score 0; a
    sentence over `max_source_length` tokens is cut to that length (the live
    `Translator.translate` raises instead).

    Args:
        translator: the `Translator` to export.
        path: the directory to write. An existing one is replaced
            atomically if it is empty or an earlier SavedModel; anything
            else (a preset, a folder of other files) raises
            `FileExistsError` before any work and is left as it is.
        max_length: most tokens generated per sentence; the preprocessor's
            `max_target_length` + 1 by default.
        strategy: `GreedySearch()` (the default), `BeamSearch(...)` or a
            strategy name; `RandomSampling` only with a `seed` (a served
            model answers the same input the same way).
        beam_width: shorthand for `strategy=BeamSearch(beam_width=...)`.
        return_attention: add the attention weights and tokens to the outputs.
        max_length_factor: a limit for each sentence too, from its source
            length (see `Translator.translate`); `None` sets none.
        replace_unknown: serve translations with each `[UNK]` written as the
            source word it attended to most (see `Translator.translate`).

    Returns:
        The names of the signature's outputs.
    """
    max_length = translator.check_max_length(max_length)
    max_length_factor = check_max_length_factor(max_length_factor)
    strategy = translator.check_strategy(strategy, beam_width)
    replace_unknown = translator.check_replace_unknown(replace_unknown)
    if not strategy.deterministic:
        raise ValueError(
            f"Export decodes deterministically (greedy or beam search); received {strategy!r}. "
            "Give RandomSampling a `seed` to export it."
        )
    module = tf.Module()
    # Attributes make TensorFlow track the variables and vocabulary tables.
    module.backbone = translator.backbone
    module.preprocessor = translator.preprocessor
    seed = tf.constant(strategy.call_seed(), tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")], autograph=False)
    def serve(text):
        # A signature call does not hold its input to the declared shape, and
        # a scalar (TensorFlow Serving's `{"inputs": "..."}`, say) crashed the
        # process inside the graph. Checked here, it is an InvalidArgument
        # error that names the shapes.
        text = tf.ensure_shape(text, [None], name="text_must_be_a_1d_batch")
        outputs = translator.translate_graph(
            text,
            tf.constant(max_length, tf.int32),
            strategy,
            seed,
            return_attention,
            max_length_factor,
            replace_unknown,
        )
        served = {"translation": outputs["translations"][:, 0], "score": outputs["scores"][:, 0]}
        if strategy.num_hypotheses > 1:
            served["n_best"] = outputs["translations"]
            served["n_best_scores"] = outputs["scores"]
        if return_attention:
            served["attention"] = outputs["attention"][:, 0]
            served["source_tokens"] = _token_strings(
                translator.preprocessor.source_tokenizer, outputs["source_ids"]
            )
            served["output_tokens"] = _token_strings(
                translator.preprocessor.target_tokenizer, outputs["tokens"][:, 0]
            )
        return served

    # Checks `path` on entry, before the graph is traced (seconds). Traced
    # once, here: `save` and the outputs read below use this trace (asked
    # for after `save`, a trace was made anew, seconds more).
    with atomic_directory(path, SAVED_MODEL_DIRECTORY) as staging:
        concrete = serve.get_concrete_function()
        tf.saved_model.save(module, staging, signatures={"serving_default": concrete})
    return sorted(concrete.structured_outputs)


def _token_strings(tokenizer, ids):
    """Token strings `(batch, T)` for `ids`, `""` where the id is padding."""
    return tf.where(ids == 0, "", tokenizer.id_to_token(ids))
