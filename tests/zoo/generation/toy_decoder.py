"""A decoder with known distributions, for checking search against brute force.

The next-token logits depend on the previous token and on a hidden state
that the whole history updates, so a search that reorders its cache wrongly
gets different logits. Ids 0-3 are [PAD], [UNK], [START], [END].
"""

import itertools

import numpy as np
import tensorflow as tf

from zoo.tokenizer import END_ID, PAD_ID, START_ID

VOCABULARY_SIZE = 7
STATES = 5  # the hidden state: (3 * state + token) % STATES
NEVER = -1e9


class ToyDecoder:
    """`next` and `encode` of a random decoder; `brute_force` lists every output's score."""

    def __init__(self, batch_size, source_length=4, sharpness=2.0, seed=0):
        rng = np.random.default_rng(seed)
        shape = (batch_size, VOCABULARY_SIZE, VOCABULARY_SIZE)
        self.token_logits = (sharpness * rng.standard_normal(shape)).astype("float32")
        self.state_logits = (sharpness * rng.standard_normal((batch_size, STATES, VOCABULARY_SIZE))).astype(
            "float32"
        )
        self.attention_logits = rng.standard_normal((batch_size, VOCABULARY_SIZE, source_length)).astype(
            "float32"
        )
        # Row i has i % source_length padding positions (at least one real).
        lengths = [max(1, source_length - i % source_length) for i in range(batch_size)]
        self.source_mask = np.arange(source_length)[None] < np.array(lengths)[:, None]

    def encode(self):
        batch_size = len(self.token_logits)
        return {
            "token_logits": tf.constant(self.token_logits),
            "state_logits": tf.constant(self.state_logits),
            "attention_logits": tf.constant(self.attention_logits),
            "source_mask": tf.constant(self.source_mask),
            "state": tf.zeros([batch_size], tf.int32),
            "attention": tf.zeros(self.source_mask.shape),
        }

    @staticmethod
    def next(tokens, cache, step):
        state = (3 * cache["state"] + tokens) % STATES
        logits = tf.gather(cache["token_logits"], tokens, batch_dims=1) + tf.gather(
            cache["state_logits"], state, batch_dims=1
        )
        scores = tf.gather(cache["attention_logits"], tokens, batch_dims=1)
        attention = tf.nn.softmax(tf.where(cache["source_mask"], scores, NEVER), axis=-1)
        return logits, dict(cache, state=state, attention=attention)

    def step_numpy(self, row, token, state):
        """`(log_probs, attention, state)` of one step, in NumPy."""
        state = (3 * state + token) % STATES
        logits = (self.token_logits[row, token] + self.state_logits[row, state]).astype("float64")
        logits[[PAD_ID, START_ID]] = NEVER
        log_probs = logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
        scores = np.where(self.source_mask[row], self.attention_logits[row, token], -np.inf)
        attention = np.exp(scores - scores.max())
        return log_probs, attention / attention.sum(), state

    def brute_force(self, row, max_length, length_penalty=0.0, coverage_penalty=0.0):
        """Every finished output of `row` up to `max_length` tokens, `(score, tokens)`, best first."""
        outputs = []
        allowed = [t for t in range(VOCABULARY_SIZE) if t not in (PAD_ID, START_ID, END_ID)]
        for length in range(1, max_length + 1):
            for body in itertools.product(allowed, repeat=length - 1):
                tokens = (*body, END_ID)
                previous, state, log_prob = START_ID, 0, 0.0
                coverage = np.zeros(self.source_mask.shape[1])
                for token in tokens:
                    log_probs, attention, state = self.step_numpy(row, previous, state)
                    log_prob += log_probs[token]
                    coverage += attention
                    previous = token
                score = log_prob / ((5 + length) / 6) ** length_penalty
                covered = np.log(np.clip(coverage, 1e-6, 1.0))[self.source_mask[row]]
                outputs.append((score + coverage_penalty * covered.sum(), tokens))
        return sorted(outputs, reverse=True)


class RowCountingDecoder(ToyDecoder):
    """A `ToyDecoder` that records how many rows each step is given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows_per_step = []

    def next(self, tokens, cache, step):
        self.rows_per_step.append(int(tokens.shape[0]))
        return ToyDecoder.next(tokens, cache, step)

    def row(self, i):
        """A `ToyDecoder` of batch row `i` alone."""
        alone = ToyDecoder(1)
        for name in ("token_logits", "state_logits", "attention_logits", "source_mask"):
            setattr(alone, name, getattr(self, name)[i : i + 1])
        return alone


class SourceSharingDecoder(ToyDecoder):
    """A `ToyDecoder` whose per-sentence tables are its cache's `source`; records each step's rows per source."""

    SHARED = ("token_logits", "state_logits", "attention_logits", "source_mask")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows_per_source = []

    def encode(self):
        cache = super().encode()
        cache["source"] = {name: cache.pop(name) for name in self.SHARED}
        return cache

    def next(self, tokens, cache, step):
        source = cache["source"]
        rows_per_source = tokens.shape[0] // max(1, source["source_mask"].shape[0])
        self.rows_per_source.append(rows_per_source)
        flat = {name: tf.repeat(value, rows_per_source, axis=0) for name, value in source.items()}
        logits, new_cache = ToyDecoder.next(tokens, dict(cache, **flat), step)
        return logits, {key: new_cache[key] for key in cache}


def search(strategy, decoder, max_length, done=None, **kwargs):
    """Run `strategy` on `decoder` and return its result as NumPy arrays."""
    cache = decoder.encode()
    batch_size = len(decoder.token_logits)
    result = strategy.search(
        decoder.next,
        cache,
        tf.fill([batch_size], START_ID),
        END_ID,
        tf.constant(max_length),
        done=None if done is None else tf.constant(done),
        source_mask=tf.constant(decoder.source_mask),
        **kwargs,
    )
    return {key: value.numpy() for key, value in result.items()}


def trim(tokens):
    """A row of tokens up to and including [END], as a tuple."""
    tokens = list(tokens)
    return tuple(tokens[: tokens.index(END_ID) + 1]) if END_ID in tokens else tuple(t for t in tokens if t)
