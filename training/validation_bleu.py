"""Validation BLEU after every epoch, for early stopping and best checkpoints."""

import keras

from keras_attention.checks import check_bool, check_int


class ValidationBleu(keras.callbacks.Callback):
    """Decode held-out pairs at each epoch end and add `val_bleu` (and `val_exact_match`) to the logs.

    `Translator.fit` runs it before the other callbacks, so
    `EarlyStopping(monitor="val_bleu", mode="max")`,
    `TrainingCheckpoint(monitor="val_bleu")` or `CSVLogger` see the figure
    wherever it is listed.

    Args:
        pairs: `training.TextPairs` (or a `(sources, targets)` pair of string
            lists) to decode.
        max_sentences: decode at most this many (the first ones); all when
            `None`. Decoding costs far more than a teacher-forced loss.
        batch_size: sentences per decoding call.
        strategy: how to decode (see `Translator.translate`); greedy by
            default.
        multi_reference: score a source that has several targets among
            `pairs` once, against all of them (see `training.evaluate`).
        replace_unknown: score translations with each `[UNK]` written as
            the source word it attended to most (see `Translator.translate`).
    """

    writes_epoch_logs = True  # `Translator.fit` runs it first

    def __init__(
        self,
        pairs,
        max_sentences=500,
        batch_size=64,
        strategy=None,
        multi_reference=False,
        replace_unknown=False,
    ):
        super().__init__()
        from zoo.generation import get_strategy
        from zoo.text_inputs import check_text_pairs

        # Checked now, not after the first epoch's training.
        sources, targets = check_text_pairs(pairs, "pairs")
        self.max_sentences = None if max_sentences is None else check_int("max_sentences", max_sentences, 1)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.pairs = (sources[: self.max_sentences], targets[: self.max_sentences])
        self.strategy = get_strategy(strategy)
        self.multi_reference = check_bool("multi_reference", multi_reference)
        self.replace_unknown = check_bool("replace_unknown", replace_unknown)

    def on_epoch_end(self, epoch, logs=None):
        from training.evaluation import evaluate

        report = evaluate(
            self.model,
            self.pairs,
            batch_size=self.batch_size,
            loss=False,
            strategy=self.strategy,
            multi_reference=self.multi_reference,
            replace_unknown=self.replace_unknown,
        )
        if logs is not None:
            logs["val_bleu"] = report.bleu
            logs["val_exact_match"] = report.exact_match
