import pytest

from training.plots import plot_attention, plot_history

PNG = b"\x89PNG"


def test_plot_attention_takes_one_translation(trained_translator, tmp_path):
    result = trained_translator.translate("el gato come", return_attention=True)
    plot_attention(result, tmp_path / "attention.png")
    assert (tmp_path / "attention.png").read_bytes().startswith(PNG)
    for wrong, named in (
        (trained_translator.translate(["el gato come"], return_attention=True), "list"),
        ("x", "str"),
    ):
        with pytest.raises(TypeError, match=f"one zoo.Translation.*received a {named}"):
            plot_attention(wrong, tmp_path / "wrong.png")
    with pytest.raises(ValueError, match="no attention weights"):
        plot_attention(trained_translator.translate("", return_attention=True), tmp_path / "empty.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attention.png"]


def test_plot_history_takes_a_dict_and_refuses_an_empty_one(tmp_path):
    plot_history({"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG)
    with pytest.raises(ValueError, match="no epochs"):
        plot_history({}, tmp_path / "empty.png")
    with pytest.raises(FileNotFoundError, match="No training history"):
        plot_history(str(tmp_path / "history.csv"), tmp_path / "missing.png")
