import json

import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY
from zoo.character_tokenizer import SPACE, CharacterTokenizer
from zoo.tokenizer import RESERVED_TOKENS, UNK_ID
from zoo.tokenizers import TOKENIZERS, get_tokenizer_class, learn_tokenizers
from zoo.wordpiece_tokenizer import WordPieceTokenizer

TEXTS = ["¿Todavía está en casa?", "It is 2021-03-04.", "The cats are sleeping.", "The cat sleeps!"]
STANDARDIZED = ["¿todavía está en casa?", "it is 2021-03-04.", "the cats are sleeping.", "the cat sleeps!"]


def _texts(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
def test_round_trip_unknowns_and_vocabulary_file(name, tmp_path):
    tokenizer = TOKENIZERS[name].from_texts(TEXTS)
    assert tokenizer.vocabulary[:4] == RESERVED_TOKENS
    assert _texts(tokenizer.detokenize(tokenizer.tokenize(tf.constant(TEXTS)))) == STANDARDIZED
    # Unseen text never fails: it maps to [UNK] somewhere, and empty text to nothing.
    ids = tokenizer.tokenize(tf.constant(["zzz qqq", ""])).to_list()
    assert UNK_ID in ids[0] and ids[1] == []
    # A NUL is a space, not the end of the text (TensorFlow's `lower` stops at one).
    ids = tokenizer.tokenize(tf.constant(["the cat\x00 sleeps!", "\x00the cat sleeps!"])).to_list()
    assert ids == tokenizer.tokenize(tf.constant(["the cat sleeps!"] * 2)).to_list()
    # What Python calls whitespace is a space to every tokenizer: the character one read these as
    # [UNK], and a vocabulary learned from \x1f could not be made (its tokens must not be whitespace).
    spaced = ["the\u2028cat\x85\x0b sleeps!\u2029", "\u1680the cat\x1fsleeps!"]
    ids = tokenizer.tokenize(tf.constant(spaced)).to_list()
    assert ids == tokenizer.tokenize(tf.constant(["the cat sleeps!"] * 2)).to_list()
    assert (
        TOKENIZERS[name].from_texts(spaced).vocabulary
        == TOKENIZERS[name].from_texts(["the cat sleeps!"] * 2).vocabulary
    )
    # The checks of text pairs call blank, and refuse, what tokenizes to nothing, and only that.
    from training.readers import _blank
    from zoo.text_inputs import is_blank

    for text in ("", "\x00", "\x01", " \x00\t\n ", "\x85\u2028\u3000\x1f", "a\x00", "\uffed", "\u200b"):
        has_tokens = tokenizer.tokenize(tf.constant([text])).to_list() != [[]]
        assert is_blank(text) == _blank(text) == (not has_tokens), repr(text)
        assert is_blank(text) == (text in ("", "\x00", "\x01", " \x00\t\n ", "\x85\u2028\u3000\x1f"))
    path = tmp_path / "vocabulary.txt"
    tokenizer.save_vocabulary(path)
    again = TOKENIZERS[name].load_vocabulary(path)
    assert again.vocabulary == tokenizer.vocabulary
    assert again.tokenize(tf.constant(TEXTS)).to_list() == tokenizer.tokenize(tf.constant(TEXTS)).to_list()


@pytest.mark.parametrize("lowercase", [True, False])
def test_words_split_where_icu_splits_the_standardized_text(lowercase):
    """`split_words` splits with TensorFlow's `tf.strings.split`, tensorflow-text's ICU tokenizer the reference."""
    import sys
    import unicodedata

    import tensorflow_text as tf_text

    from zoo.tokenizer import split_punctuation, split_words, standardize

    # Every character that Python, Unicode's separator categories or an older
    # ICU calls whitespace, and the invisible ones that are not.
    spaces = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF and (chr(c).isspace() or unicodedata.category(chr(c)).startswith("Z"))
    ]
    spaces += ["\u180e", "\u200b", "\u2060", "\ufeff", "\x00"]
    texts = [f"A{s}b {s}{s}c{s}" for s in spaces] + [f"{s}¿Qué?{s}¡No!,, .. «x» a-b" for s in spaces]
    texts += ["", "¿?", "a\xff b", "Ü ü"]
    reference = tf_text.WhitespaceTokenizer().tokenize(
        split_punctuation(standardize(tf.constant(texts), lowercase))
    )
    assert split_words(tf.constant(texts), lowercase).to_list() == reference.to_list()


def test_a_failed_vocabulary_write_leaves_the_earlier_file_whole(tmp_path, monkeypatch):
    tokenizer = TOKENIZERS["word"].from_texts(TEXTS)
    path = tmp_path / "vocabulary.txt"
    tokenizer.save_vocabulary(path)
    saved = path.read_text(encoding="utf-8")
    monkeypatch.setattr(tokenizer, "vocabulary", ["[PAD]", None])
    with pytest.raises(TypeError):
        tokenizer.save_vocabulary(path)  # fails after the file was opened
    assert path.read_text(encoding="utf-8") == saved
    assert [p.name for p in tmp_path.iterdir()] == ["vocabulary.txt"]  # no staging file left


def test_wordpiece_splits_a_rare_word_into_known_pieces():
    tokenizer = WordPieceTokenizer.from_texts(TEXTS * 3, max_size=60)
    ids = tokenizer.tokenize(tf.constant(["the sleeper"])).to_list()[0]
    pieces = [tokenizer.vocabulary[i] for i in ids]
    assert UNK_ID not in ids and len(pieces) > 2 and any(p.startswith("##") for p in pieces)
    assert _texts(tokenizer.detokenize(tf.ragged.constant([ids]))) == ["the sleeper"]
    assert tokenizer.vocabulary_size < WordPieceTokenizer.from_texts(TEXTS * 3, max_size=8000).vocabulary_size


def test_character_tokenizer_reads_digits_and_spaces():
    tokenizer = CharacterTokenizer.from_texts(["12 345", "Hola"])
    ids = tokenizer.tokenize(tf.constant(["54  321"])).to_list()[0]
    assert [tokenizer.vocabulary[i] for i in ids] == ["5", "4", SPACE, "3", "2", "1"]  # spaces collapsed
    assert _texts(tokenizer.detokenize(tf.ragged.constant([ids]))) == ["54 321"]


def test_learning_settings_and_errors():
    with pytest.raises(
        ValueError, match="Unknown tokenizer 'bpe'. Expected one of word, wordpiece, character"
    ):
        get_tokenizer_class("bpe")
    with pytest.raises(ValueError, match="min_frequency"):
        CharacterTokenizer.from_texts(TEXTS, min_frequency=0)
    with pytest.raises(ValueError, match="at least one text"):
        CharacterTokenizer.from_texts([])
    assert len(CharacterTokenizer.from_texts(["aab"], min_frequency=2).vocabulary) == 5
    source, target = learn_tokenizers(["a b"], ["c d"], tokenizer="word", shared_vocabulary=True)
    assert source is target and set(source.vocabulary[4:]) == {"a", "b", "c", "d"}
    # A side with no tokens at all is a misread file, not a vocabulary.
    for name in sorted(TOKENIZERS):
        with pytest.raises(ValueError, match="The target side .* no tokens .*: every sentence is empty"):
            learn_tokenizers(["a b"], ["", " "], tokenizer=name)
    with pytest.raises(
        ValueError,
        match=r"The source side .*: no token occurs 2 times \(min_frequency\)\. Lower `min_frequency`",
    ):
        learn_tokenizers(["a b"], ["c c"], min_frequency=2)
    with pytest.raises(ValueError, match="The source and target side"):
        learn_tokenizers([""], [""], shared_vocabulary=True)


@pytest.mark.parametrize(
    "options", [{"tokenizer": "wordpiece"}, {"tokenizer": "character", "shared_vocabulary": True}]
)
def test_a_model_keeps_its_tokenizer_in_preset_directories(options, toy_pairs, tmp_path):
    model = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY, **options)
    kind = TOKENIZERS[options["tokenizer"]]
    assert type(model.preprocessor.source_tokenizer) is kind
    model.save_to_preset(tmp_path / "preset")
    restored = zoo.load(tmp_path / "preset")
    assert type(restored.preprocessor.target_tokenizer) is kind
    assert restored.preprocessor.source_tokenizer.vocabulary == model.preprocessor.source_tokenizer.vocabulary
    assert restored.translate(toy_pairs[0][:3], max_length=6) == model.translate(
        toy_pairs[0][:3], max_length=6
    )
    config = (tmp_path / "preset" / "config.json").read_text()
    (tmp_path / "preset" / "config.json").write_text(config.replace(f'"{options["tokenizer"]}"', '"bpe"'))
    with pytest.raises(ValueError, match="config.json: Unknown tokenizer 'bpe'"):
        zoo.load(tmp_path / "preset")


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
def test_a_tokenizer_can_keep_case(name, tmp_path):
    tokenizer = TOKENIZERS[name].from_texts(TEXTS + ["the cat"], lowercase=False)
    assert tokenizer.lowercase is False
    assert _texts(tokenizer.detokenize(tokenizer.tokenize(tf.constant(TEXTS)))) == TEXTS
    the, lower_the = tokenizer.tokenize(tf.constant(["The", "the"])).to_list()
    assert the != lower_the
    # The rest of the standardization stays: NFKC and one space for a whitespace run.
    spaced = tokenizer.tokenize(tf.constant(["The  cat\u00a0sleeps!"]))
    assert _texts(tokenizer.detokenize(spaced)) == ["The cat sleeps!"]
    # The vocabulary file holds tokens only; the setting is given back on loading.
    path = tmp_path / "vocabulary.txt"
    tokenizer.save_vocabulary(path)
    again = TOKENIZERS[name].load_vocabulary(path, lowercase=False)
    assert again.tokenize(tf.constant(TEXTS)).to_list() == tokenizer.tokenize(tf.constant(TEXTS)).to_list()
    with pytest.raises(ValueError, match=r"`lowercase` must be True or False, received 'no'"):
        TOKENIZERS[name].from_texts(TEXTS, lowercase="no")
    with pytest.raises(ValueError, match=r"`lowercase` must be True or False, received 0"):
        TOKENIZERS[name](tokenizer.vocabulary, lowercase=0)


def test_both_sides_standardize_case_alike():
    lowercased = zoo.WordTokenizer.from_texts(TEXTS)
    cased = zoo.WordTokenizer.from_texts(TEXTS, lowercase=False)
    with pytest.raises(ValueError, match="Both sides must standardize case alike"):
        zoo.Seq2SeqPreprocessor(cased, lowercased)


def test_a_model_that_keeps_case_keeps_it_in_presets_keras_files_and_exports(tmp_path):
    import keras

    from training.evaluation import evaluate

    sources = ["Tom está en casa.", "¿Dónde está Tom?", "Hola, María."] * 4
    targets = ["Tom is at home.", "Where is Tom?", "Hello, Mary."] * 4
    model = zoo.load("gru_luong_small", train_data=(sources, targets), lowercase=False, **TINY)
    assert "Tom" in model.preprocessor.target_tokenizer.vocabulary
    assert "tom" not in model.preprocessor.target_tokenizer.vocabulary
    model.save_to_preset(tmp_path / "preset")
    model.save(tmp_path / "model.keras")
    model.export(tmp_path / "exported", max_length=5, return_attention=True)
    expected = model.translate(sources[:3], max_length=5)
    for restored in (zoo.load(tmp_path / "preset"), keras.saving.load_model(tmp_path / "model.keras")):
        assert restored.preprocessor.source_tokenizer.lowercase is False
        assert restored.preprocessor.target_tokenizer.lowercase is False
        assert restored.translate("Tom está en casa.", return_attention=True).source_tokens[0] == "Tom"
        assert restored.translate(sources[:3], max_length=5) == expected
    served = tf.saved_model.load(str(tmp_path / "exported")).signatures["serving_default"](
        tf.constant(sources[:3])
    )
    assert _texts(served["translation"]) == expected
    assert served["source_tokens"].numpy()[0, 0] == b"Tom"
    # Scored as it is written: case-sensitive BLEU.
    assert "case:mixed" in evaluate(model, (sources[:3], targets[:3])).signature
    # Presets written before the setting lowercased; a bad value names the file.
    config_path = tmp_path / "preset" / "config.json"
    config = json.loads(config_path.read_text())
    del config["config"]["lowercase"]
    config_path.write_text(json.dumps(config))
    assert zoo.load(tmp_path / "preset").preprocessor.source_tokenizer.lowercase is True
    config["config"]["lowercase"] = "no"
    config_path.write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match=r"(?i)config.json: `lowercase` must be true or false, received 'no'"
    ):
        zoo.load(tmp_path / "preset")


def _random_ids(rng, rows, longest):
    """Ragged int32 ids `(rows, None)`, some rows empty, as lists and as a `tf.RaggedTensor`."""
    lists = [rng.integers(4, 50, size=rng.integers(0, longest + 1)).tolist() for _ in range(rows)]
    return lists, tf.ragged.constant(lists, dtype=tf.int32, ragged_rank=1, row_splits_dtype=tf.int64)


@pytest.mark.parametrize("rows", [0, 1, 7])
def test_truncate_and_wrap_cuts_and_wraps_each_row(rows):
    import numpy as np

    from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
    from zoo.tokenizer import END_ID, START_ID

    tokenizer = TOKENIZERS["word"].from_texts(TEXTS)
    preprocessor = Seq2SeqPreprocessor(tokenizer, tokenizer, max_source_length=5, max_target_length=4)
    rng = np.random.default_rng(rows)
    for _ in range(5):
        (source_lists, sources), (target_lists, targets) = (
            _random_ids(rng, rows, 9),
            _random_ids(rng, rows, 9),
        )
        cut, wrapped = preprocessor.truncate_and_wrap(sources, targets)
        assert cut.to_list() == [s[:5] for s in source_lists]
        assert wrapped.to_list() == [[START_ID, *t[:4], END_ID] for t in target_lists]
        assert wrapped.dtype == tf.int32 and wrapped.row_splits.dtype == tf.int64
    # Traced, the ids keep their rank: padding them gives `(batch, T)`, which Keras' steps read.
    spec = tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1, row_splits_dtype=tf.int64)
    padded = tf.function(lambda s, t: [ids.to_tensor() for ids in preprocessor.truncate_and_wrap(s, t)])
    assert [ids.shape.rank for ids in padded.get_concrete_function(spec, spec).structured_outputs] == [2, 2]


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
def test_detokenize_joins_each_rows_tokens_up_to_its_end(name):
    """Against the tokens read one by one, and joined by `join`."""
    import numpy as np

    from zoo.tokenizer import END_ID, PAD_ID, START_ID

    tokenizer = TOKENIZERS[name].from_texts(TEXTS)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, tokenizer.vocabulary_size, size=(9, 7)).astype(np.int32)
    ids[rng.random(ids.shape) < 0.1] = END_ID
    ids[3] = PAD_ID  # nothing to read
    ids[4, 0] = END_ID
    replaced = np.array(
        [[f"w{r}.{c}" for c in range(7)] for r in range(9)]
    )  # as unknown-word replacement gives

    def read(strings):
        rows = []
        for row, row_strings in zip(ids.tolist(), strings):
            ended = row.index(END_ID) if END_ID in row else len(row)
            rows.append([t for i, t in zip(row[:ended], row_strings) if i not in (PAD_ID, START_ID)])
        return tokenizer.join(tf.ragged.constant(rows, dtype=tf.string, ragged_rank=1)).numpy().tolist()

    vocabulary = np.array(tokenizer.vocabulary)
    assert tokenizer.detokenize(ids).numpy().tolist() == read(vocabulary[ids].tolist())
    assert tokenizer.detokenize(tf.ragged.constant(ids.tolist())).numpy().tolist() == read(
        vocabulary[ids].tolist()
    )
    assert tokenizer.detokenize(ids, tokens=replaced).numpy().tolist() == read(replaced.tolist())
    assert tokenizer.detokenize(ids[:0]).numpy().tolist() == []


def test_the_preprocessor_takes_no_pairs_and_names_the_first_empty_pair():
    from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor

    tokenizer = TOKENIZERS["word"].from_texts(TEXTS)
    preprocessor = Seq2SeqPreprocessor(tokenizer, tokenizer)
    none = tf.constant([], tf.string)
    for call in (preprocessor, tf.function(preprocessor)):  # eager and traced, as in a tf.data map
        x, y, weights = call(none, none)
        assert x["encoder_token_ids"].shape[0] == y.shape[0] == weights.shape[0] == 0
        sources, targets = ["the cat", "it is", "", "the"], ["el gato", " ", "x", ""]
        with pytest.raises(
            tf.errors.InvalidArgumentError,
            match=r"\(source, target\):('\nb'it is'\nb' '$|\] \[it is\] \[ \]\n)",
        ):
            call(tf.constant(sources), tf.constant(targets))
