import pytest

from training.readers import from_lists, load_aligned, load_csv, load_tsv, read_pairs


def test_csv_with_quotes_and_header(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(
        'english,spanish,note\n"Hello, friend.","Hola, amigo.",x\n"She said ""no"".","Ella dijo ""no"".",y\n',
        encoding="utf-8",
    )
    pairs = load_csv(path, source="spanish", target="english", header=True)
    assert pairs.sources == ("Hola, amigo.", 'Ella dijo "no".')
    assert pairs.targets == ("Hello, friend.", 'She said "no".')
    assert load_csv(path, source=1, target=0).sources[0] == "spanish"  # no header: the first row is data


def test_csv_bad_input(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\nc\n,d\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.csv, line 2: the line has 1 column"):
        load_csv(path)
    with pytest.warns(UserWarning, match="skipped 2 malformed"):
        assert load_csv(path, errors="skip").sources == ("a",)
    with pytest.raises(ValueError, match="no column named 'french'.*'a', 'b'"):
        load_csv(path, source="french", target="b", header=True)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty; expected a header"):
        load_csv(empty, header=True)


def test_tsv_and_read_pairs_with_a_header(tmp_path, capsys):
    path = tmp_path / "pairs.tsv"
    path.write_text("\nenglish \tspanish\r\nHello.\tHola.\nCat.\tGato.\n", encoding="utf-8")
    pairs = load_tsv(path, source="spanish", target="english", header=True)
    assert (pairs.sources, pairs.targets) == (("Hola.", "Gato."), ("Hello.", "Cat."))
    assert load_tsv(path, source=1, target=0, header=True).sources == ("Hola.", "Gato.")
    assert load_tsv(path, source=1, target=0).sources[0] == "spanish"  # no header: the first row is data
    with pytest.raises(ValueError, match="The column 'spanish' is a name: names need a header row"):
        load_tsv(path, source="spanish", target="english")
    with pytest.raises(
        ValueError, match="no column named 'french'; the header has \\['english', 'spanish'\\]"
    ):
        load_tsv(path, source="french", target="english", header=True)
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text("en,es\nHello.,Hola.\n", encoding="utf-8")
    assert read_pairs(csv_path, source="es", target="en", header=True).sources == ("Hola.",)
    assert read_pairs(path, source="spanish", target="english", header=True).sources == ("Hola.", "Gato.")
    with pytest.raises(ValueError, match="`header` is for a TSV or CSV file"):
        read_pairs(path, target_data=path, header=True)

    # The command line: --header, and columns by name.
    from training.cli import main

    assert (
        main(["evaluate", str(tmp_path / "nowhere"), "--data", str(path), "--source-column", "spanish"]) == 2
    )
    assert "names need a header row" in capsys.readouterr().err


def test_csv_line_numbers_follow_quoted_newlines(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('src,tgt\n"one\ntwo",x\nonly\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 4: the line has 1 column"):
        load_csv(path, source="src", target="tgt", header=True)
    # The quoted line break stays between the words (csv glued them: "onetwo").
    path.write_text('src,tgt\n"one\ntwo",x\r\n"three\r\nfour",y\n', encoding="utf-8")
    assert list(load_csv(path, header=True)) == [("one\ntwo", "x"), ("three\nfour", "y")]


def test_a_file_with_another_column_separator(tmp_path, capsys):
    """A line short of columns that holds another usual separator names it, and `delimiter` reads it."""
    from training.cli import main

    semicolons, commas = tmp_path / "excel.csv", tmp_path / "pairs.tsv"
    semicolons.write_text('hola;"hello; hi"\nadiós;bye\n', encoding="utf-8")
    commas.write_text("hola,hello\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"line 1: .*: 'hola;\"hello; hi\"'\. Its columns may be separated by ';', not ','"
    ):
        read_pairs(semicolons)
    with pytest.raises(ValueError, match=r"not '\\t': read it with delimiter=',' \(zoo: --delimiter ','\)"):
        read_pairs(commas)
    assert list(read_pairs(semicolons, delimiter=";")) == [("hola", "hello; hi"), ("adiós", "bye")]
    assert list(read_pairs(commas, delimiter=",")) == [("hola", "hello")]
    tabs = tmp_path / "tabs.csv"
    tabs.write_text("hola\thello\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"separated by '\\t', not ',': .*\(zoo: --delimiter tab\)"):
        read_pairs(tabs)
    for bad in ("", ";;", "\n", '"', 1):
        with pytest.raises(ValueError, match="`delimiter` must be one character other than a line break"):
            read_pairs(semicolons, delimiter=bad)
    with pytest.raises(ValueError, match="`delimiter` is for a TSV or CSV file"):
        read_pairs(semicolons, commas, delimiter=";")
    # The CLI's --delimiter: one character, or `tab`.
    assert main(["evaluate", str(tmp_path / "none"), "--data", str(tabs), "--delimiter", "tab"]) == 2
    assert "No saved model at" in capsys.readouterr().err  # the file was read with tabs first
    with pytest.raises(SystemExit):
        main(["evaluate", str(tmp_path / "none"), "--data", str(tabs), "--delimiter", ";;"])
    assert "argument --delimiter: expected one character (or `tab`)" in capsys.readouterr().err


def test_a_lone_carriage_return_ends_a_line(tmp_path):
    """A file whose lines end in CR alone (classic Mac OS) was read as one line: one pair, the rest lost."""
    path = tmp_path / "mac.tsv"
    path.write_bytes(b"hola\thello\radi\xc3\xb3s\tbye\r\ngato\tcat\rperro\t\rpez\tfish\n")
    with pytest.raises(ValueError, match=r"line 4: the line has an empty target sentence: 'perro\\t'"):
        load_tsv(path)
    with pytest.warns(UserWarning, match="skipped 1 malformed"):
        pairs = load_tsv(path, errors="skip")
    assert list(pairs) == [("hola", "hello"), ("adiós", "bye"), ("gato", "cat"), ("pez", "fish")]
    source, target = tmp_path / "a.es", tmp_path / "a.en"
    source.write_bytes(b"uno\rdos\rtres\r")
    target.write_bytes(b"one\rtwo\r")
    with pytest.raises(ValueError, match="a.es has 3 lines but .*a.en has 2"):
        load_aligned(source, target)


def test_aligned_files(tmp_path):
    source, target = tmp_path / "train.es", tmp_path / "train.en"
    source.write_text("Hola.\nAdiós.\n", encoding="utf-8")
    target.write_text("Hello.\nGoodbye.\n", encoding="utf-8")
    pairs = load_aligned(source, target)
    assert pairs.sources == ("Hola.", "Adiós.") and pairs.targets == ("Hello.", "Goodbye.")


def test_aligned_files_bad_input(tmp_path):
    source, target = tmp_path / "a.es", tmp_path / "a.en"
    source.write_text("uno\ndos\ntres\n", encoding="utf-8")
    target.write_text("one\ntwo\n", encoding="utf-8")
    with pytest.raises(ValueError, match="a.es has 3 lines but .*a.en has 2"):
        load_aligned(source, target)
    target.write_text("one\n\nthree\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: the line has an empty target sentence"):
        load_aligned(source, target)
    target.write_text("one\n\x00\nthree\n", encoding="utf-8")  # a NUL tokenizes to nothing, as a space
    with pytest.raises(ValueError, match="line 2: the line has an empty target sentence"):
        load_aligned(source, target)
    target.write_text("one\n\nthree\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="skipped 1 malformed"):
        assert load_aligned(source, target, errors="skip").targets == ("one", "three")
    target.write_bytes("one\ntwo\n\xf1\n".encode("latin-1"))
    with pytest.raises(
        ValueError, match=r"a.en, line 3: not valid UTF-8 \(.* at byte 0: b'\\xf1'\); .*iconv"
    ):
        load_aligned(source, target)
    with pytest.raises(FileNotFoundError, match="nowhere.en"):
        load_aligned(source, tmp_path / "nowhere.en")


def test_skip_warns_with_the_count(tmp_path):
    path = tmp_path / "mixed.tsv"
    path.write_bytes("a\tb\n\xf1\tc\nd\n".encode("latin-1"))
    with pytest.warns(UserWarning) as record:
        assert load_tsv(path, errors="skip").sources == ("a",)
    messages = " ".join(str(w.message) for w in record)
    assert "1 line(s) that are not valid UTF-8" in messages and "1 malformed" in messages
    with pytest.raises(ValueError, match="`errors` must be one of"):
        load_tsv(path, errors="ignore")


def test_compressed_files_read_as_they_are(tmp_path):
    import bz2
    import gzip
    import lzma

    lines = [f"hello {i}\thola {i}" for i in range(3000)]
    data = "\n".join(lines).encode()
    expected = load_tsv(_write(tmp_path / "plain.tsv", data), source=1, target=0)
    for name, compress in (
        ("a.tsv.gz", gzip.compress),
        ("a.tsv.bz2", bz2.compress),
        ("a.tsv.xz", lzma.compress),
    ):
        pairs = read_pairs(_write(tmp_path / name, compress(data)), source=1, target=0)
        assert (pairs.sources, pairs.targets) == (expected.sources, expected.targets), name
    # Known by the first bytes, not the name; the name's inner extension picks CSV.
    assert len(load_tsv(_write(tmp_path / "renamed.txt", gzip.compress(data)))) == 3000
    csv_data = gzip.compress(b'en,es\nhello,"hola, amigo"\n')
    pairs = read_pairs(_write(tmp_path / "a.csv.gz", csv_data), source="es", target="en", header=True)
    assert (pairs.sources, pairs.targets) == (("hola, amigo",), ("hello",))
    left, right = _write(tmp_path / "x.es.gz", gzip.compress(b"hola\nadios\n")), tmp_path / "x.en"
    right.write_text("hello\nbye\n")
    assert load_aligned(left, right).sources == ("hola", "adios")


def test_broken_compressed_files_and_utf16_are_named(tmp_path):
    import gzip
    import lzma

    data = "\n".join(f"hello {i}\thola {i}" for i in range(3000)).encode()
    cut = _write(tmp_path / "cut.tsv.gz", gzip.compress(data)[:2000])
    with pytest.raises(ValueError, match=r"cut\.tsv\.gz: the gzip data is broken after line \d+ .*cut short"):
        load_tsv(cut)
    damaged = bytearray(lzma.compress(data))
    damaged[1500] ^= 0xFF
    with pytest.raises(ValueError, match=r"the xz data is broken"):
        load_tsv(_write(tmp_path / "damaged.tsv.xz", bytes(damaged)))
    import zipfile

    with zipfile.ZipFile(tmp_path / "spa-eng.zip", "w") as archive:  # as manythings.org serves it
        archive.writestr("_about.txt", "about")
        archive.writestr("spa.txt", "Go.\tVe.\tCC-BY\n")
    with pytest.raises(
        ValueError, match="spa-eng.zip is a zip archive holding _about.txt, spa.txt: unzip it"
    ):
        read_pairs(tmp_path / "spa-eng.zip")
    utf16 = _write(tmp_path / "notepad.tsv", "hello\thola\n".encode("utf-16"))
    with pytest.raises(ValueError, match="notepad.tsv is UTF-16 text .*expected UTF-8"):
        load_tsv(utf16)


def test_pipes_are_read_once_as_they_come(tmp_path):
    """`--data <(zcat x.gz | cut -f1,2)` and `/dev/stdin` are pipes: not regular files, read only once."""
    import gzip
    import os
    import threading

    data = "\n".join(f"hello {i}\thola {i}" for i in range(3000)).encode()
    expected = load_tsv(_write(tmp_path / "plain.tsv", data), source=1, target=0)
    # The writer's first chunk is shorter than the longest magic number (xz's 6 bytes).
    for name, payload in (("plain", data), ("gzip", gzip.compress(data)), ("tiny first write", data)):
        fifo = tmp_path / f"fifo {name}"
        os.mkfifo(fifo)
        first = 3 if name == "tiny first write" else len(payload)

        def write(fifo=fifo, payload=payload, first=first):
            with open(fifo, "wb", buffering=0) as f:
                f.write(payload[:first])
                f.write(payload[first:])

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            pairs = read_pairs(fifo, source=1, target=0)
        finally:
            writer.join(timeout=10)
        assert (pairs.sources, pairs.targets) == (expected.sources, expected.targets), name
    with pytest.raises(FileNotFoundError, match="No such data file: .*missing.tsv"):
        load_tsv(tmp_path / "missing.tsv")
    with pytest.raises(FileNotFoundError, match="a URL is not read: download the file first"):
        load_tsv("https://www.manythings.org/anki/spa-eng.zip")


def _write(path, data):
    path.write_bytes(data)
    return path


def test_readers_expand_a_home_directory(tmp_path, monkeypatch):
    # Python's open() takes "~" literally; a path written as in a shell must still read.
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "pairs.tsv").write_text("hello\thola\n")
    (tmp_path / "pairs.csv").write_text('"hello, you",hola\n')
    (tmp_path / "x.en").write_text("hello\n")
    (tmp_path / "x.es").write_text("hola\n")
    assert list(load_tsv("~/pairs.tsv")) == [("hello", "hola")]
    assert list(read_pairs("~/pairs.csv")) == [("hello, you", "hola")]
    assert list(load_aligned("~/x.en", "~/x.es")) == [("hello", "hola")]
    with pytest.raises(FileNotFoundError, match="No such data file: ~/missing.tsv"):
        load_tsv("~/missing.tsv")


def test_from_lists_refuses_or_skips_pairs_with_an_empty_side():
    sources, targets = ["a b", " ", "c", "d"], ["x", "y", "", "z"]
    with pytest.raises(
        ValueError, match=r"2 of 4 pairs have an empty side; the first is pair 1: \(' ', 'y'\)\."
    ):
        from_lists(sources, targets)
    with pytest.warns(UserWarning, match=r"skipped 2 pair\(s\) with an empty side"):
        pairs = from_lists(sources, targets, errors="skip")
    assert list(pairs) == [("a b", "x"), ("d", "z")]
    assert list(from_lists(["a"], ["b"])) == [("a", "b")]
    with pytest.raises(ValueError, match="all 1 have an empty side"):
        from_lists([""], ["b"], errors="skip")
    with pytest.raises(ValueError, match="`errors` must be one of"):
        from_lists(["a"], ["b"], errors="ignore")
    # A NUL is a space to the tokenizers, so a side of NULs is as empty as one of spaces.
    with pytest.raises(ValueError, match=r"the first is pair 1: \('\\x00 ', 'y'\)"):
        from_lists(["a", "\x00 "], ["x", "y"])
