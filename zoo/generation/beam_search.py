"""Beam search with GNMT's length and coverage penalties."""

import dataclasses

import tensorflow as tf

from keras_attention.checks import check_float, check_int
from zoo.generation.decoding_strategy import DecodingStrategy, NextFunction
from zoo.generation.log_probs import NEVER, token_log_probs
from zoo.generation.single_path_search import any_rows_shape, length_limits, row_indices
from zoo.generation.top_k import wide_top_k

# Ranks an unfinished hypothesis (cut by `max_length`) below every finished one.
UNFINISHED = -1e6


@dataclasses.dataclass(frozen=True)
class BeamSearch(DecodingStrategy):
    """Keep the `beam_width` most likely partial translations at every step.

    At each step every kept hypothesis is extended by every token and the
    `beam_width` best continuations are kept. A continuation that ends with
    `[END]` while it ranks among the `beam_width` best is set aside as
    finished, scored

        log P(Y | X) / lp(Y) + cp(X; Y),  lp(Y) = ((5 + |Y|) / 6) ** length_penalty,
        cp(X; Y) = coverage_penalty * sum_i log(min(sum_j a_ij, 1))

    (Wu et al. 2016, eq. 14: `|Y|` counts `[END]`, `a_ij` is output token
    `j`'s attention on source token `i`, over real source tokens). A sentence
    is done when none of its kept hypotheses, scored as if it ended now,
    beats its `num_hypotheses`-th best finished one; in particular when all
    of its beams have ended. Without penalties this stop is exact: a
    hypothesis's log-probability only falls as it grows. With a length
    penalty a longer hypothesis could still overtake, and this is the usual
    heuristic that keeps the search from running to `max_length`. The loop
    stops when every sentence is done or after `max_length` steps (a
    sentence's own, when `max_length` gives one per sentence); a
    sentence with fewer finished hypotheses than asked for is completed with
    the best unfinished ones. A sentence that is done leaves the batch: the
    model and the top-k run only the hypotheses of sentences still
    searching (as in greedy search, the cache must hold the batch first),
    and the first step, when a sentence's hypotheses are all `[START]`,
    runs it once per sentence.
    The cache's `source`, which is the same for every hypothesis of a
    sentence (see `zoo.Seq2SeqBackbone`), is kept once per sentence.

    Width 1 returns exactly what `GreedySearch` returns. Scores are the
    penalized ones above; with both penalties 0 they are log-probabilities.

    Args:
        beam_width: hypotheses kept per sentence.
        length_penalty: `alpha` above; 0 ranks by log-probability, which
            favours short outputs; GNMT used 0.6 to 0.7.
        coverage_penalty: `beta` above; 0 turns it off. Above 0 it favours
            outputs that attend to every source word (models with attention).
        num_hypotheses: the n-best returned per sentence, best first; at
            most `beam_width`.

    Example:

    >>> model.translate("hola", strategy=zoo.generation.BeamSearch(beam_width=4, num_hypotheses=2))

    Reference:
        Wu et al. 2016, "Google's Neural Machine Translation System", section 7.
    """

    beam_width: int = 4
    length_penalty: float = 0.6
    coverage_penalty: float = 0.0
    num_hypotheses: int = 1

    def __post_init__(self):
        check_int("beam_width", self.beam_width, 1)
        check_float("length_penalty", self.length_penalty, 0.0)
        check_float("coverage_penalty", self.coverage_penalty, 0.0)
        check_int("num_hypotheses", self.num_hypotheses, 1)
        if self.num_hypotheses > self.beam_width:
            raise ValueError(
                f"`num_hypotheses` must be at most `beam_width` ({self.beam_width}), received "
                f"{self.num_hypotheses}: a beam of {self.beam_width} holds {self.beam_width} hypotheses."
            )

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
        del seed
        k = self.beam_width
        batch_size = tf.shape(start_tokens)[0]
        source_length = tf.shape(cache["attention"])[-1]
        limits, max_length = length_limits(max_length)
        if done is None:
            done = tf.zeros([batch_size], tf.bool)
        if source_mask is None:
            source_mask = tf.ones([batch_size, source_length], tf.bool)
        source_mask = tf.cast(source_mask, tf.float32)[:, None]  # (batch, 1, Ts)

        def score(log_probs, length, coverage, mask=source_mask):
            penalized = log_probs / self._length_penalty(length)
            if self.coverage_penalty:
                covered = tf.math.log(tf.clip_by_value(coverage, 1e-6, 1.0))  # (batch, n, Ts)
                penalized += self.coverage_penalty * tf.reduce_sum(covered * mask, axis=-1)
            return penalized

        # Without attention the histories have no time steps: writing them
        # and reordering them cost nothing.
        history_length = max_length if return_attention else 0
        alive = {
            "tokens": tf.zeros([batch_size, k, max_length], tf.int32),
            # Only the first copy of each sentence is live at the start.
            "log_probs": tf.tile([[0.0] + [NEVER] * (k - 1)], [batch_size, 1]),
            "coverage": tf.zeros([batch_size, k, source_length]),
            "attention": tf.zeros([batch_size, k, history_length, source_length]),
        }
        finished = {
            "tokens": tf.zeros([batch_size, k, max_length], tf.int32),
            "scores": tf.fill([batch_size, k], NEVER),
            "attention": tf.zeros([batch_size, k, history_length, source_length]),
        }
        ranks = tf.range(2 * k)[None]  # (1, 2k)

        # Only the sentences still searching go through the model, as in
        # `single_path_search`: `rows[i]` is the batch row of running
        # sentence i, whose hypotheses are cache rows `i * width` to
        # `i * width + width - 1`. `alive` and `finished` keep every
        # sentence; a step reads and writes the running ones.
        rows = row_indices(tf.logical_not(done))
        cache = tf.nest.map_structure(lambda x: tf.gather(x, rows), cache)

        def cond(step, rows, last_tokens, cache, alive, finished):
            return tf.logical_and(step < max_length, tf.size(rows) > 0)

        def body(width, step, rows, last_tokens, cache, all_alive, all_finished):
            # `width`: hypotheses a running sentence has in the cache before this step; k after it.
            running = tf.shape(rows)[0]

            def split(x):  # (running * width, ...) -> (running, width, ...)
                return tf.reshape(x, tf.concat([[running, width], tf.shape(x)[1:]], 0))

            at = rows[:, None]
            alive = {key: tf.gather(value, rows)[:, :width] for key, value in all_alive.items()}
            finished = {key: tf.gather(value, rows) for key, value in all_finished.items()}
            mask = tf.gather(source_mask, rows)

            logits, new_cache = next_fn(last_tokens, cache, step)
            step_attention = split(tf.cast(new_cache["attention"], tf.float32))  # (running, width, Ts)
            coverage = alive["coverage"] + step_attention
            candidate_log_probs, parents, tokens = best_continuations(logits, alive["log_probs"], 2 * k)
            ends = tf.equal(tokens, end_id)

            # Continuations that end while among the k best join the finished.
            ending = ends & (ranks < k)
            end_scores = score(
                candidate_log_probs, step + 1, tf.gather(coverage, parents, batch_dims=1), mask
            )
            end_scores = tf.where(ending, end_scores, NEVER)

            def add_finished():
                best, chosen = tf.math.top_k(tf.concat([finished["scores"], end_scores], axis=1), k=k)
                kept = chosen < k  # (running, k): an earlier finished hypothesis
                earlier = tf.minimum(chosen, k - 1)
                candidate = tf.maximum(chosen - k, 0)
                parent = tf.gather(parents, candidate, batch_dims=1)
                token = tf.gather(tokens, candidate, batch_dims=1)
                new = extend(alive, parent, token, step_attention, step)
                return {
                    key: tf.where(
                        _expand_like(kept, finished[key]),
                        tf.gather(finished[key], earlier, batch_dims=1),
                        new[key],
                    )
                    for key in ("tokens", "attention")
                } | {"scores": best}

            finished = tf.cond(tf.reduce_any(ending), add_finished, lambda: finished)

            # The k best continuations that do not end stay alive (each parent
            # has one [END] at most, so 2k candidates hold k that do not).
            alive_log_probs, chosen = tf.math.top_k(tf.where(ends, NEVER, candidate_log_probs), k=k)
            parent = tf.gather(parents, chosen, batch_dims=1)  # (running, k)
            token = tf.gather(tokens, chosen, batch_dims=1)
            alive = extend(alive, parent, token, step_attention, step) | {
                "log_probs": alive_log_probs,
                "coverage": tf.gather(coverage, parent, batch_dims=1),
            }
            all_alive = {key: _write_rows(all_alive[key], at, alive[key]) for key in alive}
            all_finished = {key: _write_rows(all_finished[key], at, finished[key]) for key in finished}

            # Reorder the cache by parent (from `width` rows a sentence to k).
            # The source, and after the first step whatever else `next`
            # passed through unchanged, is the same for every hypothesis of a
            # sentence, so it needs no reordering.
            flat_parent = tf.reshape(parent + tf.range(running)[:, None] * width, [-1])  # (running * k,)

            def reorder(old, new):
                return new if new is old and width == k else tf.gather(new, flat_parent)

            cache = {
                key: value if key == "source" else tf.nest.map_structure(reorder, cache[key], value)
                for key, value in new_cache.items()
            }
            token = tf.reshape(token, [-1])

            # A sentence is done when no kept hypothesis, scored as if it
            # ended now, beats its n-th best finished one; it leaves the batch.
            alive_scores = score(alive["log_probs"], step + 1, alive["coverage"], mask)
            nth_finished = finished["scores"][:, self.num_hypotheses - 1]
            sentence_done = nth_finished >= tf.reduce_max(alive_scores, axis=1)  # (running,)
            if limits is not None:  # or when it reaches its own length limit
                sentence_done |= step + 1 >= tf.gather(limits, rows)

            def drop_done():
                keep = row_indices(tf.logical_not(sentence_done))
                keep_rows = tf.reshape(keep[:, None] * k + tf.range(k)[None], [-1])
                return (
                    tf.gather(rows, keep),
                    tf.gather(token, keep_rows),
                    _by_hypothesis(cache, lambda x: tf.gather(x, keep_rows), lambda x: tf.gather(x, keep)),
                )

            rows, token, cache = tf.cond(
                tf.reduce_any(sentence_done), drop_done, lambda: (rows, token, cache)
            )
            return step + 1, rows, token, cache, all_alive, all_finished

        # Before the first step a sentence's k hypotheses would all be
        # [START] with the same state, so that step runs the model once per
        # sentence and branches into k hypotheses after it.
        loop_vars = (tf.constant(0), rows, tf.gather(start_tokens, rows), cache, alive, finished)
        loop_vars = tf.cond(
            cond(*loop_vars),
            lambda: body(1, *loop_vars),
            lambda: _widen(loop_vars, k),  # nothing to decode; the loop below will not run
        )
        steps, _, _, _, alive, finished = tf.while_loop(
            cond,
            lambda *loop_vars: body(k, *loop_vars),
            loop_vars,
            shape_invariants=(
                tf.TensorShape([]),
                tf.TensorShape([None]),
                tf.TensorShape([None]),
                tf.nest.map_structure(any_rows_shape, cache),
                tf.nest.map_structure(lambda x: x.shape, alive),
                tf.nest.map_structure(lambda x: x.shape, finished),
            ),
            maximum_iterations=max_length,
        )

        # The n best: finished first, then unfinished (cut by max_length).
        # A sentence cut by its own limit has hypotheses of that length.
        lengths = steps if limits is None else tf.minimum(steps, limits)[:, None]
        alive_scores = score(alive["log_probs"], lengths, alive["coverage"])
        ranking = tf.concat([finished["scores"], alive_scores + UNFINISHED], axis=1)  # (batch, 2k)
        _, chosen = tf.math.top_k(ranking, k=self.num_hypotheses)  # (batch, n)
        pool = {key: tf.concat([finished[key], alive[key]], axis=1) for key in ("tokens", "attention")}
        pool["scores"] = tf.concat([finished["scores"], alive_scores], axis=1)
        best = {key: tf.gather(value, chosen, batch_dims=1) for key, value in pool.items()}
        tokens = best["tokens"][:, :, :steps]  # (batch, n, steps)
        if return_attention:
            attention = best["attention"][:, :, :steps]  # (batch, n, steps, Ts)
        else:
            attention = tf.zeros([batch_size, self.num_hypotheses, steps, source_length])
        # Sentences with nothing to translate: no tokens, score 0.
        return {
            "tokens": tf.where(done[:, None, None], 0, tokens),
            "scores": tf.where(done[:, None], 0.0, best["scores"]),
            "attention": tf.where(done[:, None, None, None], 0.0, attention),
        }

    def _length_penalty(self, length):
        """GNMT's `((5 + length) / 6) ** alpha`."""
        return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, self.length_penalty)


def _widen(loop_vars, k):
    """The search's loop variables with the cache and last tokens repeated for `k` hypotheses a sentence."""
    step, rows, last_tokens, cache, alive, finished = loop_vars
    cache = _by_hypothesis(cache, lambda x: tf.repeat(x, k, axis=0), lambda x: x)
    return step, rows, tf.repeat(last_tokens, k), cache, alive, finished


def _by_hypothesis(cache, per_hypothesis, per_sentence):
    """`cache` with `per_sentence` applied to each tensor of its `source` and `per_hypothesis` to the rest."""
    return {
        key: tf.nest.map_structure(per_sentence if key == "source" else per_hypothesis, value)
        for key, value in cache.items()
    }


def best_continuations(logits, log_probs, n):
    """The `n` most likely one-token continuations of each sentence's hypotheses.

    Args:
        logits: float `(sentences * k, vocabulary_size)`, the model's, `k`
            hypotheses per sentence.
        log_probs: float32 `(sentences, k)`, the hypotheses' log-probabilities.
        n: int. Where the hypotheses have fewer continuations, the rest
            are impossible ones: `NEVER`, extending the last hypothesis.

    Returns:
        `(log_probs, parents, tokens)`, each `(sentences, n)`, best first
        (among equal scores the earlier hypothesis, then the lower token id):
        the continuations' log-probabilities, the hypothesis each extends and
        its token.
    """
    sentences, k = tf.shape(log_probs)[0], tf.shape(log_probs)[1]
    per_token = tf.reshape(token_log_probs(logits), [sentences, k, -1])  # (sentences, k, V)
    vocabulary_size = tf.shape(per_token)[-1]
    candidates = tf.reshape(log_probs[:, :, None] + per_token, [sentences, -1])  # (sentences, k * V)
    static = None not in (log_probs.shape[-1], logits.shape[-1])
    few = not static or log_probs.shape[-1] * logits.shape[-1] < n  # one hypothesis, a small vocabulary
    if few:
        candidates = tf.pad(
            candidates, [[0, 0], [0, tf.maximum(n - tf.shape(candidates)[1], 0)]], constant_values=NEVER
        )
    # Per hypothesis, a top-n of its logits and a log-sum-exp would avoid the
    # log-softmax of every row, but measured no faster here (0.97-1.03x):
    # the top-k then runs over k times the rows.
    best, at = wide_top_k(candidates, n)
    parents = at // vocabulary_size
    if few:
        parents = tf.minimum(parents, k - 1)  # padding extends the last hypothesis, at `NEVER`
    return best, parents, at % vocabulary_size


def extend(hypotheses, parent, token, step_attention, step):
    """`tokens` and `attention` of the hypotheses `parent` `(batch, n)` extended by `token` at `step`."""
    tokens = tf.gather(hypotheses["tokens"], parent, batch_dims=1)  # (batch, n, L)
    attention = tf.gather(hypotheses["attention"], parent, batch_dims=1)  # (batch, n, L or 0, Ts)
    weights = tf.gather(step_attention, parent, batch_dims=1)  # (batch, n, Ts)
    return {
        "tokens": _write(tokens, step, token),
        "attention": _write(attention, step, weights),
    }


def _write(history, step, values):
    """`history` `(batch, n, L, ...)` with `values` `(batch, n, ...)` at time `step` (none if L is 0)."""
    at = tf.equal(tf.range(tf.shape(history)[2]), step)  # (L,)
    at = tf.reshape(at, [-1] + [1] * (values.shape.rank - 2))
    return tf.where(at, tf.expand_dims(values, 2), history)


def _write_rows(full, at, rows):
    """`full` `(batch, ...)` with `rows` at the batch rows `at` `(n, 1)`; an empty history stays as it is."""
    if 0 in full.shape:  # no attention history kept: nothing to write (and TF refuses to)
        return full
    return tf.tensor_scatter_nd_update(full, at, rows)


def _expand_like(mask, target):
    """`mask` `(batch, n)` with singleton axes up to `target`'s rank."""
    return tf.reshape(mask, tf.concat([tf.shape(mask), tf.ones([target.shape.rank - 2], tf.int32)], 0))
