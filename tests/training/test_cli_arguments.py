"""The `zoo` command's arguments: the parser, the decoding strategy and the settings it reads."""

import argparse
import re

import pytest

from training.cli_arguments import BEAM_DEFAULTS, build_parser, decoding_strategy, parse_overrides


def test_decoding_options_name_their_strategy():
    from zoo.generation import BeamSearch, GreedySearch, RandomSampling

    def strategy(command, *options):
        extra = {"evaluate": ["--data", "pairs.tsv"], "export": ["out"]}.get(command, [])
        return decoding_strategy(build_parser().parse_args([command, "model", *extra, *options]))

    assert strategy("translate") == GreedySearch()
    # Unset settings are the strategy's own defaults.
    assert strategy("translate", "--beam-width", "3") == BeamSearch(3)
    assert strategy("translate", "--beam-width", "3", "--length-penalty", "0", "--n-best", "2") == BeamSearch(
        3, length_penalty=0.0, num_hypotheses=2
    )
    assert strategy("evaluate", "--beam-width", "2", "--coverage-penalty", "0.2") == BeamSearch(
        2, coverage_penalty=0.2
    )
    assert strategy("translate", "--sample") == RandomSampling()
    assert strategy("translate", "--sample", "--top-p", "0.9", "--seed", "4") == RandomSampling(
        top_p=0.9, seed=4
    )
    assert strategy("export", "--beam-width", "3", "--n-best", "2") == BeamSearch(3, num_hypotheses=2)
    with pytest.raises(ValueError, match="--coverage-penalty is a beam search setting; add --beam-width"):
        strategy("export", "--coverage-penalty", "0.2")


def test_each_commands_help_names_only_options_it_has(monkeypatch):
    """`zoo evaluate --help` named --sample and --max-length, which only `zoo translate` has."""
    monkeypatch.setenv("COLUMNS", "1000")  # no option split over two lines
    (commands,) = [
        action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    ]
    for name, command in commands.choices.items():
        own = {option for action in command._actions for option in action.option_strings}
        named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", command.format_help()))
        assert named - own <= {"--logdir"}, name  # --logdir: `tensorboard --logdir OUT/logs`


def test_the_help_shows_beam_searchs_own_defaults():
    from zoo.generation import BeamSearch

    beam = BeamSearch()
    assert BEAM_DEFAULTS == {name: getattr(beam, name) for name in BEAM_DEFAULTS}


def test_set_takes_several_settings_after_one_option():
    """`--set a=1 b=2`, as a user types it, reads as `--set a=1 --set b=2` (and so does --corpus-set)."""
    for arguments in (
        ["--set", "hidden_dim=32", "embedding_dim=16", "--corpus-set", "max_length=9", "min_length=2"],
        [
            "--set",
            "hidden_dim=32",
            "--corpus-set",
            "max_length=9",
            "--set",
            "embedding_dim=16",
            "--corpus-set",
            "min_length=2",
        ],
    ):
        args = build_parser().parse_args(["train", *arguments])
        assert args.overrides == ["hidden_dim=32", "embedding_dim=16"]
        assert args.corpus_set == ["max_length=9", "min_length=2"]
    assert build_parser().parse_args(["train"]).overrides == []


def test_set_reads_json_values():
    assert parse_overrides(
        ["hidden_dim=512", "bidirectional=true", "merge_mode=sum", "attention_score=general"]
    ) == {
        "hidden_dim": 512,
        "bidirectional": True,
        "merge_mode": "sum",
        "attention_score": "general",
    }


def test_every_command_the_parser_offers_is_one_main_runs():
    from training.cli import COMMANDS

    (commands,) = [
        action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    ]
    assert sorted(commands.choices) == sorted(COMMANDS)
