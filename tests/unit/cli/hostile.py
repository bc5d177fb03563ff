"""Hypothesis strategies that draw a command line from a parser's own flags, with hostile values."""

from __future__ import annotations

import argparse

from hypothesis import strategies as st

HOSTILE_VALUES = [
    "nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0", "0", "0.0", "1e-320", "1e308", "9" * 400, "",
    " ", "\t", "ü", "ТОН", "🙂", "日本", "/", ".", "..", "/tmp", "/proc", "/nonexistent/file.csv", "/dev/null",
    "-", "--", "0x", "0x" + "ab" * 40, "1.5", "5%", "%", "1,2", "a=b", "TON", "ton", "TON=x", "true", "no",
    "http://", "http://127.0.0.1:1", "mainnet", "sim", "DEBUG", "10s", "2h", "-5", "65536", "2e9",
]

#: Drawn more often than the rest: the values a number check must refuse.
EXTREMES = ["nan", "inf", "-inf", "-1", "0", "1e308", "-1e-9", "9" * 40]


def _flag_fragments(action: argparse.Action, folder: str) -> st.SearchStrategy[list[str]]:
    flag = st.sampled_from(action.option_strings)
    if action.nargs == 0:
        return flag.map(lambda f: [f])
    own = [str(c) for c in (action.choices or [])]
    if action.default not in (None, argparse.SUPPRESS) and not isinstance(action.default, (list, tuple)):
        own.append(str(action.default))
    value = st.one_of(
        st.sampled_from(EXTREMES),
        st.sampled_from(HOSTILE_VALUES + [folder, folder + "/missing.csv"]),
        st.sampled_from(own) if own else st.nothing(),
        st.text(max_size=6),
    )
    count = action.nargs if isinstance(action.nargs, int) else 1
    return st.tuples(flag, st.lists(value, min_size=count, max_size=count)).map(lambda fv: [fv[0], *fv[1]])


def _option_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def argv_for(parser: argparse.ArgumentParser, folder: str, *, max_flags: int = 5) -> st.SearchStrategy[list[str]]:
    """An argv: optionally a subcommand, then up to ``max_flags`` of that parser's flags with values
    drawn from hostile inputs and the flag's own choices and default; sometimes a stray token."""

    def for_parser(p: argparse.ArgumentParser, prefix: list[str]) -> st.SearchStrategy[list[str]]:
        actions = _option_actions(p)
        fragments = (st.lists(st.one_of([_flag_fragments(a, folder) for a in actions]), max_size=max_flags)
                     if actions else st.just([]))
        stray = st.one_of(st.just([]), st.sampled_from(HOSTILE_VALUES).map(lambda v: [v]))
        return st.tuples(fragments, stray).map(lambda fs: prefix + [t for f in fs[0] for t in f] + fs[1])

    choices = [for_parser(parser, [])]
    choices += [for_parser(sub, [name]) for name, sub in _subparsers(parser).items()]
    return st.one_of(choices)
