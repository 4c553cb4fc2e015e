"""Evaluation that decodes: BLEU, chrF and exact match, overall and by source length."""

import dataclasses
import math
from collections.abc import Sequence

import sacrebleu
import tensorflow as tf

from keras_attention.checks import check_bool, check_int
from training.metrics import exact_match
from training.pipeline import MAX_UNKNOWN_SHARE, unknown_shares
from training.text_pairs import TextPairs
from zoo.annotations import TextPairsLike
from zoo.generation import DecodingStrategy
from zoo.perplexity import Perplexity
from zoo.text_inputs import check_text_pairs
from zoo.translator import Translator

# Source-length buckets in words, as in Bahdanau et al. (2014), Figure 2:
# (first, last) inclusive; None means no upper bound.
LENGTH_BUCKETS = ((1, 5), (6, 10), (11, 15), (16, 20), (21, None))


@dataclasses.dataclass
class BucketScore:
    first: int  # shortest source length in the bucket, in words
    last: int | None  # longest, or None for "and longer"
    count: int  # sentences in the bucket
    bleu: float | None  # corpus BLEU of the bucket; None when it is empty
    exact_match: float | None  # fraction of exact translations; None when empty

    @property
    def label(self):
        return f"{self.first}+" if self.last is None else f"{self.first}-{self.last}"


@dataclasses.dataclass
class EvaluationReport:
    count: int  # sentences decoded
    bleu: float  # sacrebleu corpus BLEU, 13a tokenization, lowercased unless the model keeps case
    chrf: float  # sacrebleu chrF, lowercased as BLEU is
    exact_match: float  # fraction equal to the reference after standardization
    by_length: list  # one BucketScore per source-length bucket
    loss: float | None = (
        None  # cross-entropy per real target token (teacher forcing, no smoothing), when computed
    )
    accuracy: float | None = None  # masked token accuracy, when computed
    signature: str = ""  # sacrebleu's signature of the BLEU settings, for reporting
    skipped: int = 0  # sources longer than the model reads, left out
    reference_count: int = 0  # references scored against: more than `count` where a sentence has several
    # The share of the real source and target tokens that the model's vocabularies read as
    # [UNK] (the out-of-vocabulary rate), when computed. Over half on a side means data the
    # model was not trained for: swapped columns, another language.
    unknown_source: float | None = None
    unknown_target: float | None = None
    # How `evaluate` decoded, so that figures from two runs can be told apart: the
    # strategy (as its repr), `replace_unknown`, `max_length_factor` and `truncate`.
    # Empty for `score_translations`, which scores text it did not decode.
    decoding: dict = dataclasses.field(default_factory=dict)
    # The text, left out of `to_dict`: the decoded translations, the sources they translate
    # (in order), and each source's reference strings.
    translations: list = dataclasses.field(default_factory=list, repr=False)
    sources: list = dataclasses.field(default_factory=list, repr=False)
    references: list = dataclasses.field(default_factory=list, repr=False)

    @property
    def perplexity(self):
        """`exp(loss)`, the per-token perplexity; None without a loss."""
        return None if self.loss is None else math.exp(min(self.loss, 700.0))

    def to_dict(self) -> dict:
        """The figures as plain data (for JSON), without the text: translations, sources and references."""
        data = dataclasses.asdict(self)
        del data["translations"], data["sources"], data["references"]
        data["perplexity"] = self.perplexity
        return data

    def summary(self) -> str:
        """A few lines for people: the headline figures and the length table."""
        counted = f"{self.count} sentences" + (
            f", {self.reference_count} references" if self.reference_count > self.count else ""
        )
        lines = [
            f"BLEU {self.bleu:.2f}  chrF {self.chrf:.2f}  exact match {self.exact_match:.1%}  ({counted})"
        ]
        if self.loss is not None:
            accuracy = "" if self.accuracy is None else f"  token accuracy {self.accuracy:.1%}"
            lines.append(f"loss {self.loss:.4f}  perplexity {self.perplexity:.2f}{accuracy}")
        if self.unknown_source is not None:
            lines.append(
                f"unknown to the vocabularies ([UNK]): {self.unknown_source:.1%} of source and "
                f"{self.unknown_target:.1%} of target tokens"
            )
            for side, share in (("source", self.unknown_source), ("target", self.unknown_target)):
                if share is not None and share > MAX_UNKNOWN_SHARE:
                    lines.append(
                        f"warning: {share:.0%} of the {side} tokens are unknown to the model's {side} "
                        "vocabulary: this is not the kind of text it was trained on (are the source and "
                        "target columns swapped?)"
                    )
        lines.append("source words  sentences  BLEU    exact")
        for bucket in self.by_length:
            bleu = "-" if bucket.bleu is None else f"{bucket.bleu:6.2f}"
            exact = "-" if bucket.exact_match is None else f"{bucket.exact_match:.1%}"
            lines.append(f"{bucket.label:>12}  {bucket.count:>9}  {bleu:>6}  {exact:>6}")
        if self.skipped:
            lines.append(
                f"{self.skipped} sentence(s) longer than the model reads were left out "
                "(truncate=True, or zoo evaluate --truncate, scores them)"
            )
        if self.decoding:
            replaced = ", [UNK] replaced by source words" if self.decoding.get("replace_unknown") else ""
            lines.append(f"decoded with {self.decoding['strategy']}{replaced}")
        lines.append(f"({self.signature})")
        return "\n".join(lines)


def score_translations(
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    sources: Sequence[str],
    buckets: Sequence[tuple[int, int | None]] = LENGTH_BUCKETS,
    lowercase: bool = True,
) -> "EvaluationReport":
    """Score decoded text against references, overall and by source length.

    BLEU and chrF come from sacrebleu (corpus level; BLEU with its default
    13a tokenization; both lowercased unless `lowercase=False`, since a
    model whose tokenizers lowercase outputs no case to score). Exact match
    compares after the tokenizer's standardization. A sentence with several
    references is scored against all of them, as sacrebleu scores
    multi-reference test sets, and matches exactly if it equals any.

    Args:
        hypotheses: the model's translations, strings.
        references: per hypothesis, its reference string, or a list of
            its reference strings.
        sources: the source sentences, for the length buckets.
        buckets: `(first, last)` source lengths in words; `last` None is open.
        lowercase: compare lowercased (the default), or case-sensitively:
            `evaluate` passes the model's setting (`Tokenizer.lowercase`).

    Returns:
        `EvaluationReport` (without loss and accuracy).
    """
    hypotheses, sources = list(hypotheses), list(sources)
    references = [_reference_list(r, i) for i, r in enumerate(references)]
    if not len(hypotheses) == len(references) == len(sources):
        raise ValueError(
            f"Got {len(hypotheses)} hypotheses, {len(references)} references and "
            f"{len(sources)} sources; they must be aligned."
        )
    if not references:
        raise ValueError("Nothing to score: no sentences.")
    check_bool("lowercase", lowercase)
    bleu = sacrebleu.BLEU(lowercase=lowercase)
    by_length = []
    for first, last in buckets:
        members = [
            i
            for i, s in enumerate(sources)
            if first <= len(s.split()) and (last is None or len(s.split()) <= last)
        ]
        hyp = [hypotheses[i] for i in members]
        ref = [references[i] for i in members]
        by_length.append(
            BucketScore(
                first=first,
                last=last,
                count=len(members),
                bleu=bleu.corpus_score(hyp, _streams(ref)).score if members else None,
                exact_match=exact_match(hyp, ref, lowercase) if members else None,
            )
        )
    streams = _streams(references)
    return EvaluationReport(
        count=len(references),
        bleu=bleu.corpus_score(hypotheses, streams).score,
        chrf=sacrebleu.CHRF(lowercase=lowercase).corpus_score(hypotheses, streams).score,
        exact_match=exact_match(hypotheses, references, lowercase),
        by_length=by_length,
        translations=hypotheses,
        sources=sources,
        references=references,
        signature=str(bleu.get_signature()),
        reference_count=sum(map(len, references)),
    )


def _reference_list(reference, index):
    """A hypothesis's references as a non-empty list of strings."""
    references = [reference] if isinstance(reference, str) else reference
    if not isinstance(references, (list, tuple)) or not references:
        raise ValueError(
            f"Reference {index} must be a string or a non-empty list of strings; received {reference!r}."
        )
    for item in references:
        if not isinstance(item, str):
            raise TypeError(f"Reference {index} holds a {type(item).__name__}, not a string: {item!r}.")
    return list(references)


def _streams(references):
    """sacrebleu's reference streams: the k-th reference of every sentence, `None` where it has fewer."""
    width = max(map(len, references))
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]


def evaluate(
    model: Translator,
    pairs: TextPairsLike,
    batch_size: int = 64,
    max_sentences: int | None = None,
    buckets: Sequence[tuple[int, int | None]] = LENGTH_BUCKETS,
    loss: bool = True,
    strategy: DecodingStrategy | str | None = None,
    max_length_factor: float | None = None,
    *,
    beam_width: int | None = None,
    truncate: bool = False,
    multi_reference: bool = False,
    replace_unknown: bool = False,
) -> "EvaluationReport":
    """Decode `pairs` with `model` and score the result; also loss and token accuracy.

    Sources longer than the model's `max_source_length` are left out and
    counted in the report's `skipped`, unless `truncate` is set.

    Args:
        model: a `zoo.Translator`.
        pairs: `training.TextPairs` (or anything with `sources` and
            `targets`), or a `(sources, targets)` pair of string lists.
        batch_size: sentences per decoding call and per loss batch.
        max_sentences: read at most this many pairs (the first ones); all when None.
        buckets: see `score_translations`.
        loss: also run the teacher-forced loss, perplexity and token accuracy.
        strategy: how to decode (see `Translator.translate`); greedy by default.
            With an n-best strategy the best hypothesis of each is scored.
        max_length_factor: a length limit for each sentence from its source
            (see `Translator.translate`), so the scores are those of the
            decoding that will serve; none by default.
        beam_width: shorthand for `strategy=BeamSearch(beam_width=...)`, as
            in `translate`.
        truncate: score an over-long source's translation of its first
            `max_source_length` tokens (as `translate(truncate=True)` and the
            export give it) instead of leaving the pair out: every pair is
            scored, as a served model would be.
        multi_reference: decode each distinct source once and score it
            against every target it has in `pairs` (sacrebleu's
            multi-reference BLEU; exact if it equals any), instead of once
            per pair against each target alone. For corpora that translate
            one sentence several ways, such as Tatoeba's; the report's
            `count` is then of sources, and `reference_count` of pairs.
        replace_unknown: score the translations with each `[UNK]` written as
            the source word it attended to most (see `Translator.translate`).

    Returns:
        `EvaluationReport`.
    """
    sources, targets = check_text_pairs(pairs, "pairs")
    strategy = model.check_strategy(strategy, beam_width)
    check_bool("multi_reference", multi_reference)
    if max_sentences is not None:
        check_int("max_sentences", max_sentences, 1)
        sources, targets = sources[:max_sentences], targets[:max_sentences]
    skipped = 0
    if not truncate:
        limit = model.preprocessor.max_source_length
        lengths = model.preprocessor.source_tokenizer.tokenize(tf.constant(sources)).row_lengths().numpy()
        kept = [i for i, n in enumerate(lengths) if n <= limit]
        skipped = len(sources) - len(kept)
        if not kept:
            raise ValueError(
                f"Every source of the {skipped} pair(s) is longer than the model reads ({limit} tokens, "
                "max_source_length), so none is left to score; pass truncate=True to score their "
                "translations of the first tokens."
            )
        sources, targets = [sources[i] for i in kept], [targets[i] for i in kept]
    references = targets
    decoded = sources
    if multi_reference:
        grouped: dict[str, list[str]] = {}
        for source, target in zip(sources, targets):
            grouped.setdefault(source, []).append(target)
        decoded, references = list(grouped), list(grouped.values())
    # One call: the translator groups the sentences by length and keeps two batches in flight.
    # A list of sentences gives a list: a string each, or an n-best list each.
    hypotheses = model.translate(
        decoded,
        strategy=strategy,
        batch_size=batch_size,
        max_length_factor=max_length_factor,
        truncate=truncate,
        replace_unknown=replace_unknown,
    )
    if strategy.num_hypotheses > 1:
        hypotheses = [best for best, *_ in hypotheses]
    lowercase = model.preprocessor.target_tokenizer.lowercase
    report = score_translations(hypotheses, references, decoded, buckets, lowercase)
    if loss and sources:
        metrics = model.evaluate((sources, targets), batch_size=batch_size, verbose=0, return_dict=True)
        # The compiled loss may be label-smoothed (the Transformer presets train
        # so); the perplexity metric is always the plain cross-entropy.
        perplexity = _perplexity_metric(model)
        plain = metrics["loss"] if perplexity is None else float(perplexity.cross_entropy())
        accuracy = metrics.get("accuracy")  # absent where the model was compiled without it
        report.loss, report.accuracy = float(plain), None if accuracy is None else float(accuracy)
    # Not cached: pairs read once would push a training set out of the cache `fit` reads.
    report.unknown_source, report.unknown_target = unknown_shares(
        TextPairs(sources, targets), model.preprocessor, cache=False
    )
    report.skipped = skipped
    report.decoding = {
        "strategy": repr(strategy),
        "replace_unknown": bool(replace_unknown),
        "max_length_factor": max_length_factor,
        "truncate": bool(truncate),
    }
    return report


def _perplexity_metric(model):
    """The model's compiled `Perplexity`, whose state is the last `evaluate`'s; None without one."""
    pending = list(model.metrics)
    while pending:
        metric = pending.pop(0)
        if isinstance(metric, Perplexity):
            return metric
        pending.extend(getattr(metric, "metrics", []))  # Keras' compiled metrics hold theirs
    return None
