"""The checks every backbone makes of its settings."""

import pytest

from zoo.recurrent_seq2seq import RecurrentSeq2Seq
from zoo.transformer_seq2seq import TransformerSeq2Seq

TINY = {
    RecurrentSeq2Seq: dict(embedding_dim=4, hidden_dim=4),
    TransformerSeq2Seq: dict(num_layers=1, hidden_dim=4, num_heads=1, intermediate_dim=4),
}


@pytest.mark.parametrize(
    "backbone_class, settings, message",
    [
        (
            RecurrentSeq2Seq,
            {"num_layer": 2},
            r"RecurrentSeq2Seq got unexpected keyword argument 'num_layer' \(did you mean 'num_layers'\?\)",
        ),
        (
            RecurrentSeq2Seq,
            {"hiden": 2, "cell": "gru"},
            r"arguments 'cell' \(did you mean 'cell_type'\?\), 'hiden' \(did you mean 'hidden_dim'\?\)",
        ),
        (RecurrentSeq2Seq, {"embedding_dim": 2.5}, r"`embedding_dim` must be an int >= 1, received 2.5"),
        (RecurrentSeq2Seq, {"bidirectional": "yes"}, r"`bidirectional` must be True or False"),
        (
            TransformerSeq2Seq,
            {"num_layer": 3},
            r"TransformerSeq2Seq got unexpected keyword argument 'num_layer' \(did you mean 'num_layers'\?\)",
        ),
        (TransformerSeq2Seq, {"num_heads": "2"}, r"`num_heads` must be an int >= 1, received '2'"),
        (TransformerSeq2Seq, {"normalize_first": 1}, r"`normalize_first` must be True or False, received 1"),
    ],
)
def test_backbones_refuse_a_mistyped_setting_instead_of_ignoring_it(backbone_class, settings, message):
    """`keras.Model` drops keywords it does not know: `num_layer=3` would have built the default depth."""
    with pytest.raises((TypeError, ValueError), match=message):
        backbone_class(10, 10, **settings)
    tiny = backbone_class(10, 10, **TINY[backbone_class], name="mine", trainable=False)
    assert (tiny.name, tiny.trainable) == ("mine", False)  # Keras' own keywords pass
