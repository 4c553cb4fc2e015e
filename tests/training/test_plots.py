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


def _plotted(monkeypatch, *args, **kwargs):
    """`{(title, label): (epochs, values)}` of the lines plot_history draws."""
    import training.plots as plots

    drawn = {}

    def keep(figure, path):
        for axis in figure.axes:
            for line in axis.get_lines():
                x, y = line.get_data()
                drawn[axis.get_title(), line.get_label()] = (list(x), [round(float(v), 6) for v in y])

    monkeypatch.setattr(plots, "_save", keep)
    plot_history(*args, **kwargs)
    return drawn


def test_plot_history_places_validation_values_at_their_epochs(tmp_path, monkeypatch):
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3)), np.zeros((8, 1))
    csv_path = tmp_path / "history.csv"
    first = model.fit(
        x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(csv_path))],
    )  # fmt: skip
    resumed = model.fit(
        x, y, epochs=6, initial_epoch=4, validation_data=(x, y), validation_freq=2, verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(csv_path), append=True)],
    )  # fmt: skip
    assert "NA" in csv_path.read_text()  # how CSVLogger marks the epochs not validated
    loss = [round(v, 6) for v in first.history["loss"] + resumed.history["loss"]]
    val_loss = [round(v, 6) for v in first.history["val_loss"] + resumed.history["val_loss"]]

    from_csv = _plotted(monkeypatch, str(csv_path), tmp_path / "curves.png")
    assert from_csv == {
        ("loss", "train"): ([1, 2, 3, 4, 5, 6], loss),
        ("loss", "validation"): ([2, 4, 6], val_loss),
    }

    from_history = _plotted(monkeypatch, resumed, tmp_path / "curves.png", validation_freq=2)
    assert from_history == {
        ("loss", "train"): ([5, 6], loss[4:]),
        ("loss", "validation"): ([6], val_loss[2:]),
    }
    with pytest.raises(
        ValueError, match="2 values of 'val_loss' for 4 epochs .*pass plot_history the `validation_freq`"
    ):
        plot_history(first, tmp_path / "curves.png")
    assert _plotted(monkeypatch, first.history, tmp_path / "c.png", validation_freq=[2, 4])[
        "loss", "validation"
    ] == ([2, 4], val_loss[:2])


def test_plot_history_csv_keeps_the_last_row_of_a_repeated_epoch_and_names_bad_cells(tmp_path, monkeypatch):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,3.0,2.5\n1,2.0,NA\n1,1.5,1.8\n2,1.0,\n")
    assert _plotted(monkeypatch, str(path), tmp_path / "curves.png") == {
        ("loss", "train"): ([1, 2, 3], [3.0, 1.5, 1.0]),
        ("loss", "validation"): ([1, 2], [2.5, 1.8]),
    }
    path.write_text("epoch,loss\n0,3.0\n1,oops\n")
    with pytest.raises(ValueError, match=r"history.csv, line 3: loss is 'oops'; expected a number or NA"):
        plot_history(str(path), tmp_path / "curves.png")
    path.write_text("step,loss\n0,3.0\n")
    with pytest.raises(ValueError, match="no 'epoch' column .*CSVLogger"):
        plot_history(str(path), tmp_path / "curves.png")
    with pytest.raises(ValueError, match="validation_freq must be a positive int"):
        plot_history({"loss": [1.0]}, tmp_path / "curves.png", validation_freq=0)
    assert not (tmp_path / "curves.png").exists()


def test_plot_history_draws_validation_in_one_colour_in_every_panel(tmp_path, monkeypatch):
    import matplotlib.colors

    import training.plots as plots

    colours = {}

    def keep(figure, path):
        for axis in figure.axes:
            for line in axis.get_lines():
                colours[axis.get_title(), line.get_label()] = matplotlib.colors.to_hex(line.get_color())

    monkeypatch.setattr(plots, "_save", keep)
    plot_history({"loss": [2.0, 1.0], "val_loss": [2.5, 1.5], "val_bleu": [3.0, 9.0]}, tmp_path / "c.png")
    assert set(colours) == {("loss", "train"), ("loss", "validation"), ("bleu", "validation")}
    assert colours["bleu", "validation"] == colours["loss", "validation"] != colours["loss", "train"]
