"""Export a `Translator` as a SavedModel that maps strings to strings."""

import tensorflow as tf

from zoo.atomic import atomic_directory


def export_translator(translator, path, max_length=None):
    """Write a SavedModel with tokenizer, decoder loop and detokenizer inside.

    Its `serving_default` signature takes `text: tf.string[None]` and returns
    `translation: tf.string[None]` and `score: tf.float32[None]` (the sum of
    the chosen tokens' log-probabilities), decoding greedily. It loads with
    `tf.saved_model.load` in a process that has only TensorFlow and
    tensorflow-text (`import tensorflow_text` registers the ops it uses).

    Defined results: an empty sentence translates to `""`; a sentence over
    `max_source_length` tokens is cut to that length (the live
    `Translator.translate` raises instead).

    Args:
        translator: the `Translator` to export.
        path: the directory to write; replaced atomically if it exists.
        max_length: most tokens generated per sentence; the preprocessor's
            `max_target_length` + 1 by default.
    """
    max_length = translator.check_max_length(max_length)
    module = tf.Module()
    # Attributes make TensorFlow track the variables and vocabulary tables.
    module.backbone = translator.backbone
    module.preprocessor = translator.preprocessor

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")], autograph=False)
    def serve(text):
        outputs = translator.translate_graph(text, tf.constant(max_length, tf.int32))
        return {"translation": outputs["translation"], "score": outputs["score"]}

    module.serve = serve
    with atomic_directory(path) as staging:
        tf.saved_model.save(module, staging, signatures={"serving_default": serve})
