"""The benchmark tooling: FLOP counts, the time budget, the step timer and the suite's bookkeeping.

Nothing here is timed: the figures a benchmark prints are checked for
consistency (ratios, units, counts), never against a speed.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import zoo
from tests.conftest import TOY_SOURCES, TOY_TARGETS
from training.benchmarks.flops import (
    batch_flops,
    decoding_flops,
    pair_flops,
    peer_decoding_flops,
    token_flops,
)
from training.budget import TimeBudget
from training.progress import StepTimer

E, U = 8, 16  # embedding and hidden sizes of the FLOP tests


def _model(preset, **overrides):
    pairs = (TOY_SOURCES, TOY_TARGETS)
    return zoo.load(preset, train_data=pairs, embedding_dim=E, hidden_dim=U, **overrides)


@pytest.mark.parametrize(
    "preset, overrides, source_macs, target_macs",
    [
        # Bidirectional GRU, directions summed (each U wide); GRU decoder; Luong dot: [c; h] -> U.
        (
            "gru_luong",
            {"bidirectional": True, "merge_mode": "sum"},
            2 * 3 * (E * U + U * U),
            3 * (E * U + U * U) + 2 * U * U,
        ),
        # Luong general projects the keys once per source token.
        (
            "gru_luong",
            {"attention_score": "general"},
            3 * (E * U + U * U) + U * U,
            3 * (E * U + U * U) + 2 * U * U,
        ),
        # Luong concat: W_a splits into a query half (per target) and a key half (per source).
        (
            "gru_luong",
            {"attention_score": "concat"},
            3 * (E * U + U * U) + U * U,
            3 * (E * U + U * U) + 2 * U * U + U * U,
        ),
        # RNNsearch: the decoder GRU reads [embedding; context]; query and key projections.
        (
            "gru_bahdanau",
            {},
            2 * 3 * (E * (U // 2) + (U // 2) ** 2) + U * U,
            3 * ((E + U) * U + U * U) + U * U + 2 * U * U,
        ),
        # LSTM, fixed context: four gates, no attention.
        ("lstm_seq2seq", {}, 4 * (E * U + U * U), 4 * (E * U + U * U)),
    ],
)
def test_token_flops_match_the_architecture_by_hand(preset, overrides, source_macs, target_macs):
    model = _model(preset, **overrides)
    vocabulary = model.backbone.target_vocabulary_size
    per_source, per_target, per_cell = token_flops(model.backbone)
    assert per_source == 6 * source_macs
    assert per_target == 6 * (target_macs + U * vocabulary)  # + the output projection
    assert per_cell == (6 * 2 * U if model.backbone.has_attention else 0)


def test_padded_flops_exceed_useful_flops_by_the_padding():
    model = _model("gru_luong")
    per_source, per_target, per_cell = token_flops(model.backbone)
    sources, targets = np.array([3, 5, 2]), np.array([4, 1, 6])
    useful = pair_flops(model.backbone, sources, targets)
    assert useful == pytest.approx(
        float(np.sum(per_source * sources + per_target * targets + per_cell * sources * targets))
    )
    padded = batch_flops(model.backbone, 3, 5, 6)
    assert padded == pytest.approx(3 * (5 * per_source + 6 * per_target + 30 * per_cell))
    assert padded > useful


def test_decoding_flops_are_a_forward_pass_over_what_decoding_ran():
    model = _model("gru_luong")
    per_source, per_target, per_cell = token_flops(model.backbone)
    flops = decoding_flops(model.backbone, source_tokens=7, row_steps=11, attention_cells=40)
    assert flops == pytest.approx((7 * per_source + 11 * per_target + 40 * per_cell) / 3)


def test_peer_decoding_flops_count_its_attention_projecting_the_source_at_every_step():
    u, v = 4, 10
    gru = 2 * 3 * u * u
    # One batch of 2 rows, a source 3 wide, 5 steps: encoder, then per step the decoder GRU, the
    # query and output projections, keys and values over the source, scores and sum, vocabulary.
    step = gru + 2 * u * u + 2 * 3 * u * u + 2 * 3 * u + u * v
    expected = 2 * (2 * 3 * 2 * gru + 5 * 2 * step)
    assert peer_decoding_flops([(2, 3, 5)], units=u, vocabulary=v) == expected
    assert peer_decoding_flops([(2, 3, 5), (2, 3, 5)], units=u, vocabulary=v) == 2 * expected


@pytest.mark.slow
def test_decoding_work_counts_the_rows_still_decoding_at_each_step(trained_translator):
    from training.benchmarks.decoding import DecodingWork, decoding_work
    from zoo.generation import BeamSearch, GreedySearch

    model = trained_translator
    batches = [TOY_SOURCES[:5], TOY_SOURCES[5:] + ["", "the"]]  # an empty source decodes nothing
    greedy = decoding_work(model, batches, GreedySearch())
    # One counter, traced once, counts each call afresh (the benchmark counts several passes with it).
    work = DecodingWork(model, GreedySearch())
    assert work(batches[:1]) == decoding_work(model, batches[:1], GreedySearch())
    assert work(batches) == greedy
    # A row runs until its [END], which it outputs: the steps are the tokens it emitted.
    max_length = model.check_max_length(None)
    emitted = 0
    widths = []
    for batch in batches:
        outputs = model.translate_function(GreedySearch(), return_attention=False)(
            keras.ops.convert_to_tensor(batch), keras.ops.convert_to_tensor(max_length, "int32"),
            keras.ops.convert_to_tensor([0, 0], "int32"),
        )  # fmt: skip
        tokens = keras.ops.convert_to_numpy(outputs["tokens"])
        emitted_here = int((tokens != 0).sum())
        emitted += emitted_here
        widths.append((emitted_here, outputs["source_ids"].shape[1]))
    assert greedy["row_steps"] == emitted
    assert greedy["attention_cells"] == sum(rows * width for rows, width in widths)
    assert greedy["source_tokens"] == int(sum(model.source_lengths(b).sum() for b in batches))
    # One hypothesis per sentence is greedy search; four run more rows, never more than four times.
    assert decoding_work(model, batches, BeamSearch(1))["row_steps"] == greedy["row_steps"]
    beam = decoding_work(model, batches, BeamSearch(4))["row_steps"]
    assert greedy["row_steps"] < beam <= 4 * sum(map(len, batches)) * max_length
    # The backbone's own step is back: translating again gives what it gave before.
    assert "next" not in vars(model.backbone)
    assert model.translate(TOY_SOURCES[:3]) == model.translate(TOY_SOURCES[:3])


def test_token_flops_refuse_a_transformer():
    model = zoo.load("transformer_small", train_data=(TOY_SOURCES, TOY_TARGETS))
    with pytest.raises(ValueError, match="RecurrentSeq2Seq"):
        token_flops(model.backbone)


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class _Model:
    def __init__(self, learning_rate):
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.stop_training = False


def test_time_budget_anneals_over_time_and_stops_at_the_budget(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("training.budget.time.perf_counter", clock)
    budget = TimeBudget(10.0, peak_learning_rate=0.01, warmup_steps=2)
    model = _Model(0.5)
    budget.set_model(model)
    budget.on_train_begin()
    rates = []
    for elapsed in (0.0, 0.0, 5.0, 9.0, 10.5):
        clock.now = 100.0 + elapsed
        budget.on_train_batch_begin(0)
        rates.append(float(model.optimizer.learning_rate))
        budget.on_train_batch_end(0)
    # Warm-up halves the first step; then the cosine of elapsed time: peak, half at 5 s, 0 after 10 s.
    expected = [0.005, 0.01, 0.005, 0.01 * 0.5 * (1 + np.cos(0.9 * np.pi)), 0.0]
    np.testing.assert_allclose(rates, expected, atol=1e-9)
    assert model.stop_training and budget.steps == 5 and budget.elapsed == pytest.approx(10.5)


def test_time_budget_trains_its_minimum_steps_on_a_slow_machine(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("training.budget.time.perf_counter", clock)
    budget = TimeBudget(1.0, min_steps=3)  # a measurement needs steps, however slow each one is
    model = _Model(0.5)
    budget.set_model(model)
    budget.on_train_begin()
    stopped = []
    for _ in range(3):
        clock.now += 2.0
        budget.on_train_batch_begin(0)
        budget.on_train_batch_end(0)
        stopped.append(model.stop_training)
    assert stopped == [False, False, True] and budget.elapsed == pytest.approx(6.0)


def test_time_budget_keeps_training_before_the_budget_and_rejects_bad_settings(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("training.budget.time.perf_counter", clock)
    budget = TimeBudget(10.0)  # no annealing: the rate is left alone
    model = _Model(0.5)
    budget.set_model(model)
    budget.on_train_begin()
    clock.now += 9.9
    budget.on_train_batch_begin(0)
    budget.on_train_batch_end(0)
    assert not model.stop_training and float(model.optimizer.learning_rate) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="seconds"):
        TimeBudget(0)
    with pytest.raises(ValueError, match="warmup_steps"):
        TimeBudget(5, 0.1, warmup_steps=-1)
    with pytest.raises(ValueError, match="min_steps"):
        TimeBudget(5, min_steps=-1)
    scheduled = TimeBudget(5, 0.1)
    scheduled.set_model(_Model(keras.optimizers.schedules.CosineDecay(0.1, 100)))
    with pytest.raises(ValueError, match="float learning rate"):
        scheduled.on_train_begin()


def test_step_timer_counts_each_steps_tokens_across_epochs(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("training.progress.time.perf_counter", clock)
    timer = StepTimer(warmup_steps=1)
    # target_tokens is the epoch's running count; it restarts every epoch.
    for epoch, counts in enumerate(([10, 30, 60], [5, 25])):
        timer.on_epoch_begin(epoch)
        for count in counts:
            clock.now += 0.5
            timer.on_train_batch_end(0, {"target_tokens": count})
    assert timer.tokens == [20, 30, 5, 20]  # the first step (warm-up) is left out
    figures = timer.figures()
    assert figures["measured_steps"] == 4
    assert figures["target_tokens_per_second"] == pytest.approx(75 / 2.0)
    assert figures["steps_per_second"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="warm-up"):
        StepTimer(warmup_steps=5).figures()


# --- The suite, end to end, with stand-ins for the peer scripts.

FAKE_CEILING = """
import argparse, json
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
json.dump({"results": [{"gflops": 100.0}, {"gflops": 200.0}]}, open(a.out, "w"))
"""

FAKE_PEER = """
import argparse, json, os
p = argparse.ArgumentParser()
for name in ("--train", "--valid", "--test", "--steps", "--batch", "--decode-n", "--decode-repeats", "--warmup",
             "--hyp-out", "--save-weights", "--load-weights", "--out"):
    p.add_argument(name)
a = p.parse_args()
speed = 100.0
if a.load_weights:  # a duel round: decoding only, a little slower every round
    assert int(a.steps) == 0 and open(a.load_weights).read() == "weights"
    calls = os.path.join(os.path.dirname(__file__), "decode_calls")
    rounds = len(open(calls).read()) if os.path.exists(calls) else 0
    open(calls, "a").write("x")
    speed = 100.0 / (1 + rounds)
with open(a.hyp_out, "w", encoding="utf-8") as f:
    f.writelines(line.split("\\t")[0].lower() + "\\n" if i % 2 else "nothing\\n"
                 for i, line in enumerate(open(a.test, encoding="utf-8")))
if a.save_weights:
    open(a.save_weights, "w").write("weights")
json.dump({"params": 1000, "steps_per_s": 4.0, "target_tokens_per_s": 500.0,
           "target_tokens_per_step_mean": 125.0, "batch_mean": 50.0, "padded_tgt_len_mean": 5.0,
           "est_achieved_matmul_gflop_per_s": 50.0, "compiled_sentences_per_s": speed,
           "python_sentences_per_s": 0.8 * speed, "valid_loss": 2.0, "peak_rss_mib": 1000.0,
           "train_wall_seconds": 6.0, "steps": int(a.steps), "decode_n": int(a.decode_n),
           "decode_batch": int(a.batch), "decode_max_len": 50, "units": 16, "tgt_vocab": 30}, open(a.out, "w"))
"""


# Session-scoped: built once per xdist worker, however the worker's stretches
# of this module fall (a module fixture is built again for each stretch).
@pytest.fixture(scope="session")
def suite_run(tmp_path_factory):
    from training.benchmarks import suite

    root = tmp_path_factory.mktemp("suite")
    peers = root / "peers"
    peers.mkdir()
    (peers / "matmul_peak.py").write_text(textwrap.dedent(FAKE_CEILING))
    (peers / "tutorial_nmt.py").write_text(textwrap.dedent(FAKE_PEER))
    pairs = [
        (f"{t} {i % 7}", f"{s} {i % 7}") for i, (s, t) in enumerate(zip(TOY_SOURCES * 20, TOY_TARGETS * 20))
    ]
    (root / "train.tsv").write_text("".join(f"{en}\t{es}\n" for en, es in pairs), encoding="utf-8")
    (root / "valid.tsv").write_text("".join(f"{en}\t{es}\n" for en, es in pairs[:40]), encoding="utf-8")
    argv = [
        "--train", str(root / "train.tsv"), "--valid", str(root / "valid.tsv"), "--peers", str(peers),
        "--presets", "gru_luong", "--set", "hidden_dim=16", "--set", "embedding_dim=8",
        "--peer-steps", "7", "--warmup-steps", "2", "--decode-sentences", "16", "--repeats", "1",
        "--epoch-sizes", "120", "0", "--duel-rounds", "2", "--out", str(root / "out"),
    ]  # fmt: skip
    try:
        report = suite.main(argv)
    except SystemExit as error:  # a failed stage: report it here, not as a broken fixture in every test
        pytest.fail(str(error))
    return root, argv, report


@pytest.mark.slow
def test_the_suite_reports_every_figure_as_a_ratio_to_the_peer(suite_run):
    from training.benchmarks import suite as suite_module

    root, _, report = suite_run
    out = root / "out"
    peer, ours = report["peer"], report["presets"]["gru_luong"]
    ours_row = ours
    assert report["matmul_ceiling_gflop_per_second"] == 200.0
    assert report["budget_seconds"] == 6.0  # the peer's training time
    assert peer["target_padding"] == pytest.approx(0.5)
    assert peer["greedy_64_sentences_per_second"] == 100.0  # the faster of the peer's two loops
    ratios = ours["ratios"]
    assert ratios["target_tokens_per_second"] == pytest.approx(ours["target_tokens_per_second"] / 500.0)
    assert ratios["peak_rss"] == pytest.approx(ours["peak_rss_mib"] / 1000.0)
    assert ratios["greedy_64_live_vs_peer_greedy_64"] == pytest.approx(
        ours["greedy_64_live_sentences_per_second"] / 100.0
    )
    assert ratios["bleu_beam4_minus_peer"] == pytest.approx(ours["bleu_beam4"] - peer["bleu_greedy"])
    assert ours["useful_share_of_ceiling"] == pytest.approx(ours["useful_gflop_per_second"] / 200.0)
    assert 0 < ours["useful_gflop_per_second"] < ours["padded_gflop_per_second"]
    # The peer's hypotheses are scored as ours: every other line is the reference.
    assert 0 < peer["bleu_greedy"] < 100
    assert [b["count"] for b in peer["by_length"]] == [b["count"] for b in ours["by_length"]]
    assert [g["pairs"] for g in report["epoch_growth"]] == [120, 240]
    for name in (
        "suite.json",
        "suite.md",
        "bleu_by_length.png",
        "gru_luong/valid.greedy.txt",
        "gru_luong/preset/config.json",
    ):
        assert (out / name).is_file(), name
    assert len((out / "gru_luong/valid.beam4.txt").read_text().splitlines()) == 40
    table = (out / "suite.md").read_text()
    assert "| gru_luong |" in table and "hidden_dim=16" in table
    assert report["precision"] == "float32" and "ours train in float32" in table
    # The duel: each round's figure over the peer's in the same round (the fake peer slows down each round).
    duel = report["decoding_duel"]
    assert duel["rounds"] == 2 and duel["peer_greedy_64_sentences_per_second"] == [100.0, 50.0]
    figures = duel["presets"]["gru_luong"]
    assert set(figures) == {
        f"{s}_64_{w}" for s in ("greedy", "beam4") for w in ("live", "exported", "live_one_call")
    }
    greedy = figures["greedy_64_live"]
    ours = greedy["sentences_per_second"]
    assert greedy["ratios"] == pytest.approx([ours[0] / 100.0, ours[1] / 50.0])
    assert greedy["median_ratio"] == pytest.approx(sum(greedy["ratios"]) / 2)
    assert "## Decoding in fresh processes, in alternation (2 rounds; batch 64)" in table
    # Decoding work: the peer's from its 16 timed outputs, one batch; ours counted, at each rate.
    valid = [line.split("\t") for line in (root / "valid.tsv").read_text(encoding="utf-8").splitlines()]
    hypotheses = (out / "peer.valid.greedy.txt").read_text(encoding="utf-8").splitlines()
    width = max(len(suite_module._peer_standardized(spanish).split()) + 2 for _, spanish in valid[:16])
    steps = max(len(h.split()) + 1 for h in hypotheses[:16])
    theirs = peer["decoding_work"]
    assert theirs["gflop"] == pytest.approx(peer_decoding_flops([(16, width, steps)], 16, 30) / 1e9)
    assert theirs["gflop_per_second"] == pytest.approx(theirs["gflop"] * 100.0 / 16)
    assert theirs["duel_gflop_per_second"] == pytest.approx(theirs["gflop"] * 75.0 / 16)  # median of 100, 50
    for strategy in ("greedy", "beam4"):
        work = ours_row["decoding_work"][strategy]
        assert work["vs_peer"] == pytest.approx(work["gflop"] / theirs["gflop"])
        rate = ours_row[f"{strategy}_64_live_sentences_per_second"]
        assert work["gflop_per_second"] == pytest.approx(work["gflop"] * rate / 16)
        assert work["share_of_ceiling"] == pytest.approx(work["gflop_per_second"] / 200.0)
        duel_rate = np.median(figures[f"{strategy}_64_live"]["sentences_per_second"])
        assert work["duel_gflop_per_second"] == pytest.approx(work["gflop"] * duel_rate / 16)
        # Not compared with each other: after a few seconds of training,
        # greedy may run to the length limit where beam 4 finds [END] early.
        assert work["gflop"] > 0
    assert "## Decoding work: matmul GFLOP of the file-order batches of 64" in table
    assert not any(name.endswith(".partial.json") for name in os.listdir(out))
    # What else ran on the machine, stage by stage, in the order they ran.
    loads = report["machine_load"]
    assert list(loads) == [
        "ceiling", "peer", "gru_luong", "epoch_growth",
        "duel1_peer", "duel1_gru_luong", "duel2_peer", "duel2_gru_luong",
    ]  # fmt: skip
    for load in loads.values():
        assert load["seconds"] > 0 and load["stage_cpu_seconds"] > 0
        if os.path.exists("/proc/stat"):
            assert 0 <= load["other_share"] <= 1 and 0 <= load["steal_share"] <= 1
    assert "## The machine during each stage" in table and "| duel2_gru_luong |" in table.replace("**", "")
    # Each in-process decoding figure has its own record, and the table marks a disturbed one.
    rows = ours_row["decoding"]
    assert all(r["machine_load"]["seconds"] > 0 for r in rows)
    assert "†" not in table or "† Other processes or steal took" in table
    disturbed = json.loads(json.dumps(report))
    for r in disturbed["presets"]["gru_luong"]["decoding"]:
        quiet = {"seconds": 1.0, "stage_cpu_seconds": 2.0, "other_share": 0.0, "steal_share": 0.0}
        busy = {**quiet, "other_share": 0.3}
        r["machine_load"] = (
            busy if (r["strategy"], r["batch_size"], r["where"]) == ("beam4", 64, "exported") else quiet
        )
    marked = suite_module.format_report(disturbed)
    beam_row = next(line for line in marked.splitlines() if line.startswith("| gru_luong | beam4 |"))
    assert beam_row.split(" | ")[3].endswith(" †") and beam_row.count("†") == 1
    assert "† Other processes or steal took 5% or more of the machine" in marked


@pytest.mark.slow
def test_a_rerun_reuses_finished_stages_and_reruns_changed_ones(suite_run, capsys):
    from training.benchmarks import suite

    root, argv, first = suite_run
    capsys.readouterr()
    again = suite.main(argv)
    printed = capsys.readouterr().out
    assert printed.count("reusing") == 8  # ceiling, peer, the preset, epoch growth, 2 duel rounds of 2
    assert json.dumps(again["presets"], sort_keys=True) == json.dumps(first["presets"], sort_keys=True)
    assert again["decoding_duel"] == first["decoding_duel"]
    changed = [*argv[: argv.index("--epoch-sizes")], "--epoch-sizes", "--out", argv[-1], "--peer-steps", "8"]
    suite.main(changed)
    printed = capsys.readouterr().out
    assert "[ceiling] reusing" in printed and "[peer] reusing" not in printed
    # The peer saved new weights, so its duel rounds decode again; the preset did not change.
    assert "[duel1_peer] reusing" not in printed and "[duel1_gru_luong] reusing" in printed


def _write_stat(path, busy_ticks, steal_ticks):
    """A `/proc/stat` of 2 CPUs whose busy time (user, nice, system, irq, softirq) adds up to `busy_ticks`."""
    user = busy_ticks - 6
    path.write_text(
        f"cpu  {user} 1 2 999999 50 1 2 {steal_ticks} 0 0\n"
        "cpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 12345\nctxt 678\n"
    )


def test_machine_cpu_seconds_reads_busy_and_steal_time_from_proc_stat(tmp_path):
    from training.benchmarks.machine_load import machine_cpu_seconds

    ticks = os.sysconf("SC_CLK_TCK")
    stat = tmp_path / "stat"
    _write_stat(stat, busy_ticks=10 * ticks, steal_ticks=3 * ticks)
    # idle (999999) and iowait (50) are not busy time.
    assert machine_cpu_seconds(str(stat)) == pytest.approx((10.0, 3.0, 2))
    assert machine_cpu_seconds(str(tmp_path / "missing")) is None
    stat.write_text("intr 1 2 3\n")
    assert machine_cpu_seconds(str(stat)) is None


def test_a_stage_load_counts_other_processes_and_steal_and_leaves_out_the_stage(tmp_path):
    from training.benchmarks import machine_load

    ticks = os.sysconf("SC_CLK_TCK")
    stat = tmp_path / "stat"
    _write_stat(stat, busy_ticks=1000, steal_ticks=10)
    own_before = machine_load._own_cpu_seconds()
    load = machine_load.StageLoad(str(stat))
    # The stage: a child process that computes for a while, waited for.
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    own = machine_load._own_cpu_seconds() - own_before
    # Meanwhile the machine was busy for the stage's own time plus 1 s of someone else's, and lost 0.5 s to steal.
    _write_stat(stat, busy_ticks=1000 + round((own + 1.0) * ticks), steal_ticks=10 + round(0.5 * ticks))
    result = load.finish()
    capacity = result["seconds"] * 2
    assert result["stage_cpu_seconds"] >= 0.1  # the child's CPU time is the stage's
    assert result["stage_cpu_seconds"] == pytest.approx(own, abs=0.02)
    assert result["other_share"] == pytest.approx(1.0 / capacity, abs=0.05 / capacity)
    assert result["steal_share"] == pytest.approx(0.5 / capacity, abs=0.02 / capacity)
    # Without /proc/stat the shares are not measured, and no stage is marked.
    blind = machine_load.StageLoad(str(tmp_path / "missing")).finish()
    assert blind["other_share"] is None and blind["steal_share"] is None
    assert machine_load.notable(blind) is None


def test_a_decoding_row_says_when_others_took_the_machine():
    from training.benchmarks.decoding import _format

    row = {
        "strategy": "greedy", "batch_size": 64, "where": "live", "sentences_per_second": 900.0,
        "median_batch_ms": 70.2, "output_words_per_sentence": 6.2,
        "machine_load": {"seconds": 10.0, "stage_cpu_seconds": 19.0, "other_share": 0.01, "steal_share": 0.0},
    }  # fmt: skip
    assert "less reliable" not in _format(row)
    row["machine_load"]["other_share"] = 0.3
    assert _format(row).endswith("[other processes 30% and steal 0% of the machine: less reliable]")
    del row["machine_load"]  # a row from before loads were recorded
    assert "less reliable" not in _format(row)


def test_the_report_marks_a_stage_that_others_slowed():
    from training.benchmarks.machine_load import notable
    from training.benchmarks.suite import _load_lines

    quiet = {"seconds": 120.0, "stage_cpu_seconds": 230.0, "other_share": 0.01, "steal_share": 0.0}
    busy = {"seconds": 60.0, "stage_cpu_seconds": 100.0, "other_share": 0.12, "steal_share": 0.03}
    stolen = {**quiet, "other_share": 0.0, "steal_share": 0.2}
    assert notable(quiet) is None and notable(None) is None
    assert "other processes used 12% of the machine's CPU" in notable(busy)
    assert "took 20% (steal)" in notable(stolen)
    lines = _load_lines({"ceiling": quiet, "duel1_peer": busy, "duel1_gru_luong": stolen, "old": None})
    assert "| ceiling | 2.0 | 1.0% | 0.0% |" in lines
    assert "| **duel1_peer** | 1.0 | **12.0%** | **3.0%** |" in lines
    assert "| **duel1_gru_luong** | 2.0 | **0.0%** | **20.0%** |" in lines
    assert "| old | - | not measured | not measured |" in lines


def test_the_peers_standardization_is_read_as_the_peer_reads_it():
    from training.benchmarks.suite import _peer_standardized

    # NFKD drops the accents, only [ a-z.?!,¿] stays, punctuation becomes a token of its own
    # (the peer's vectorizer splits on runs of whitespace).
    assert _peer_standardized("¿Dónde está, Tom?").split() == ["¿", "donde", "esta", ",", "tom", "?"]
    assert _peer_standardized("Tom's 3 cats.").split() == ["toms", "cats", "."]


def test_a_failing_stage_stops_the_suite_and_names_its_log(tmp_path):
    from training.benchmarks.suite import _parser, _stage

    args = _parser().parse_args(["--train", "t", "--valid", "v", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="stage 'broken' failed.*broken.log"):
        _stage(args, "broken", [sys.executable, "-c", "print('about to fail'); raise SystemExit(3)"])
    assert "about to fail" in (tmp_path / "broken.log").read_text()
    assert not (tmp_path / "broken.json").exists()


def test_the_suite_names_missing_inputs_and_bad_settings(tmp_path):
    from training.benchmarks import suite

    with pytest.raises(SystemExit, match="--duel-rounds must be 0 .no duel. or more, got -1"):
        suite.main(["--train", "t.tsv", "--valid", "v.tsv", "--duel-rounds", "-1"])
    with pytest.raises(SystemExit, match="no such file"):
        suite.main(["--train", str(tmp_path / "missing.tsv"), "--valid", str(tmp_path / "v.tsv")])
    (tmp_path / "t.tsv").write_text("a\tb\n")
    with pytest.raises(SystemExit, match="tutorial_nmt.py not found"):
        suite.main(
            ["--train", str(tmp_path / "t.tsv"), "--valid", str(tmp_path / "t.tsv"), "--peers", str(tmp_path)]
        )


@pytest.mark.slow
def test_long_sentences_reports_exact_match_per_length_bucket_for_each_preset(tmp_path):
    from training.benchmarks import long_sentences

    report = long_sentences.main(
        [
            "--corpora",
            "reverse",
            "--budget-seconds",
            "1",
            "--num-pairs",
            "300",
            "--held-out",
            "60",
            "--out",
            str(tmp_path),
            "--set",
            "output_norm=false",
        ]
    )
    assert report["overrides"] == {"output_norm": False}
    results = report["results"]["reverse"]
    assert list(results) == ["gru_seq2seq", "gru_luong"]
    for result in results.values():
        assert [b["label"] for b in result["by_length"]] == [
            "1-10",
            "11-20",
            "21-30",
            "31-40",
            "41-50",
            "51-60",
        ]
        assert sum(b["count"] for b in result["by_length"]) == 60
        assert result["steps"] >= 1
    assert (tmp_path / "reverse_exact_match_by_length.png").is_file()
    text = (tmp_path / "long_sentences.md").read_text()
    assert "| gru_luong |" in text and "with output_norm=false" in text


def test_plot_by_length_needs_the_same_buckets_in_every_series(tmp_path):
    from training.plots import plot_by_length

    path = tmp_path / "plot.png"
    plot_by_length({"a": [("1-5", 10.0), ("6-10", None)], "b": [("1-5", 5.0), ("6-10", 4.0)]}, path, "BLEU")
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="buckets"):
        plot_by_length({"a": [("1-5", 1.0)], "b": [("6-10", 1.0)]}, tmp_path / "other.png", "BLEU")
    with pytest.raises(ValueError, match="Nothing to plot"):
        plot_by_length({}, tmp_path / "other.png", "BLEU")
    assert not (tmp_path / "other.png").exists()


@pytest.mark.slow
def test_decoding_benchmark_runs_given_only_the_source_column(trained_translator, tmp_path):
    from training.benchmarks import decoding

    trained_translator.save_to_preset(tmp_path / "preset")
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{t}\t{s}\n" for s, t in zip(TOY_SOURCES, TOY_TARGETS)), encoding="utf-8")
    report = decoding.main(
        [
            "--model", str(tmp_path / "preset"),
            "--data", str(data),
            "--source-column", "1",  # the docstring's spa-eng example: no --target-column
            "--sentences", "6",
            "--batch-sizes", "1", "64",
            "--batch-1-sentences", "2",
            "--repeats", "1",
        ]
    )  # fmt: skip
    rows = {(r["strategy"], r["batch_size"], r["where"]): r for r in report["rows"]}
    assert set(rows) == {
        (strategy, size, where)
        for strategy in ("greedy", "beam4")
        for size, where in [
            (1, "live"),
            (1, "exported"),
            (64, "live"),
            (64, "exported"),
            (64, "live, one call"),
        ]
    }
    assert rows[("greedy", 1, "live")]["sentences"] == 2
    assert rows[("greedy", 64, "live, one call")]["sentences"] == 6
