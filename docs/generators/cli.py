"""The command line's reference, generated from gankit's argparse parser
(``<!-- generated: cli -->``): every command and subcommand with its usage, what it does, and
each argument's help, choices and default, as ``gankit COMMAND --help`` would print them.

The parser (:func:`gankit.commandline.parser.build_parser`) imports no torch, so neither does
this page. Each command is a heading (``## gankit train``), so its anchor (``#gankit-train``) is
stable for links from the other pages; the usage is formatted at a fixed width so that the page
does not depend on the terminal that builds it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from gankit.commandline.parser import build_parser

USAGE_WIDTH = 80  # columns of the usage blocks, whatever the terminal: the width the page shows


def commands(parser: argparse.ArgumentParser, summary: str = ""
             ) -> Iterator[tuple[argparse.ArgumentParser, str]]:
    """``parser`` and every subcommand's parser below it, depth first in the order they were
    added, each with the one line its parent's command list gives it."""
    yield parser, summary
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            lines = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield from commands(sub, lines.get(name, ""))


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """The commands directly below ``parser``: (name, one line)."""
    return [(choice.dest, choice.help or "") for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for choice in action._choices_actions]


def usage(parser: argparse.ArgumentParser) -> str:
    """``usage: gankit train [-h] [--set KEY=VALUE] ... [config]``, wrapped at USAGE_WIDTH
    between arguments. Written here, not by argparse's formatter, whose layout changes between
    Python versions (3.13 joins a subcommand list and its ``...``): the page must be the same on
    every Python that gankit supports, or the check that it is current would fail on some."""
    actions = [action for action in parser._actions if action.help != argparse.SUPPRESS]
    parts = [usage_part(action) for action in actions if action.option_strings]
    parts += [usage_part(action) for action in actions if not action.option_strings]
    lead = f"usage: {parser.prog} "
    lines = [lead]
    for part in parts:
        if len(lines[-1]) + len(part) > USAGE_WIDTH and lines[-1].strip() != lead.strip():
            lines.append(" " * len(lead))
        lines[-1] += part + " "
    return "\n".join(line.rstrip() for line in lines)


def usage_part(action: argparse.Action) -> str:
    """One argument as a usage line writes it: ``[--out DIR]``, ``--input FILE|DIR``,
    ``[config]``, ``{train,sample,...} ...``."""
    if action.metavar is not None:
        name = action.metavar
    elif action.choices is not None:
        name = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        name = action.dest.upper() if action.option_strings else action.dest
    shape = {None: name, "?": f"[{name}]", "*": f"[{name} ...]", "+": f"{name} [{name} ...]",
             argparse.PARSER: f"{name} ...", 0: ""}[action.nargs]
    if not action.option_strings:
        return shape
    written = f"{action.option_strings[0]} {shape}".strip()
    return written if action.required else f"[{written}]"


def anchor(prog: str) -> str:
    """The heading's id as the toc extension makes it: ``gankit features fit`` ->
    ``gankit-features-fit``."""
    return prog.replace(" ", "-")


def invocation(action: argparse.Action) -> str:
    """``--out DIR``, ``--no-progress``, ``config``: how the argument is written."""
    if not action.option_strings:
        return action.metavar or action.dest
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    metavar = action.metavar or action.dest.upper()
    return ", ".join(f"{flag} {metavar}" for flag in action.option_strings)


def described(action: argparse.Action) -> str:
    """The help, then what --help leaves to the reader: the choices, the default where the help
    does not give it, and whether the argument may be left out or must be given."""
    parts = [sentence(action.help or "")]
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        parts.append("Choices: " + ", ".join(f"`{choice}`" for choice in action.choices) + ".")
    default = action.default
    unset = default is None or default is False or default == [] or default == argparse.SUPPRESS
    if not unset and "default" not in (action.help or ""):
        parts.append(f"Default: `{default}`.")  # a Path shows as its text
    if action.required and action.option_strings:
        parts.append("Required.")
    if action.nargs in ("?", "*") and not action.option_strings:
        parts.append("Optional.")
    return " ".join(part for part in parts if part)


def sentence(text: str) -> str:
    """argparse's lower-case help phrase as a sentence of the page; reST literals as Markdown."""
    text = text.strip().replace("``", "`")
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def cell(text: str) -> str:
    """Text safe in a Markdown table cell: a bar would end the cell."""
    return text.replace("|", "\\|")


def argument_tables(parser: argparse.ArgumentParser) -> str:
    """One table per argument group (positionals, options, a group such as the latent sampler's,
    with its description), leaving out --help and the subcommand list."""
    parts = []
    for group in parser._action_groups:
        shown = [action for action in group._group_actions
                 if action.help != argparse.SUPPRESS
                 and not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)]
        if not shown:
            continue
        title = f"**{group.title}**" + (f": {group.description}" if group.description else "")
        rows = "".join(f"| `{cell(invocation(action))}` | {cell(described(action))} |\n"
                       for action in shown)
        parts.append(f"{title}\n\n| argument | description |\n|---|---|\n{rows}")
    return "\n".join(parts)


def section(parser: argparse.ArgumentParser, summary: str) -> str:
    heading = "##" if len(parser.prog.split()) <= 2 else "###"  # gankit features fit: under fit
    text = [f"{heading} {parser.prog}", ""]
    if what := sentence(parser.description or summary):
        text += [what, ""]
    text += ["```text", usage(parser), "```", ""]
    if listed := subcommands(parser):
        text += ["| command | what it does |", "|---|---|"]
        text += [f"| [`{parser.prog} {name}`](#{anchor(f'{parser.prog} {name}')}) | "
                 f"{cell(line)} |" for name, line in listed]
        text.append("")
    if table := argument_tables(parser):
        text += [table]
    return "\n".join(text)


def render(arguments: str) -> str:
    if arguments:
        raise SystemExit(f"cli: takes no arguments, got {arguments!r}")
    return "\n".join(section(parser, summary) for parser, summary in commands(build_parser()))


RENDERERS = {"cli": render}
