"""Validation BLEU after every epoch, for early stopping and best checkpoints."""

import keras


class ValidationBleu(keras.callbacks.Callback):
    """Decode held-out pairs at each epoch end and add `val_bleu` (and `val_exact_match`) to the logs.

    Put it before `EarlyStopping(monitor="val_bleu", mode="max")` or
    `TrainingCheckpoint(monitor="val_bleu")` in the callback list, so they
    see the figure.

    Args:
        pairs: `training.TextPairs` (or `sources`/`targets` lists) to decode.
        max_sentences: decode at most this many (the first ones); decoding
            costs far more than a teacher-forced loss.
        batch_size: sentences per decoding call.
    """

    def __init__(self, pairs, max_sentences=500, batch_size=64):
        super().__init__()
        self.pairs = pairs
        self.max_sentences = max_sentences
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        from training.evaluation import evaluate

        report = evaluate(
            self.model, self.pairs, batch_size=self.batch_size, max_sentences=self.max_sentences, loss=False
        )
        if logs is not None:
            logs["val_bleu"] = report.bleu
            logs["val_exact_match"] = report.exact_match
