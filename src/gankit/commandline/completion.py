"""Shell completion for bash, zsh and fish: one completer in Python, three small scripts.

``gankit completion SHELL`` prints a script that hands the words typed so far to
``python -m gankit.commandline.completion SHELL WORD...`` (the interpreter that printed it),
which walks the parser's argparse actions (subcommands, flags, ``nargs``, ``choices``) to the
word under the cursor and prints its candidates. So the three shells share one reading of the
command line, and a script installed once follows the parser as gankit changes.

A value is completed by its action's kind, read from the action itself (:func:`kind_of`), never
from a table of commands, so a new argument completes without an edit here when it follows the
conventions: ``type=path`` a file, ``metavar="DIR"`` a directory, and the dests ``config`` (a
shipped name ``grid25`` or ``grid25-wgan-gp``, or a YAML file), ``run_dir``/``runs``/``resume``
(a run directory: a folder holding ``config.yaml``), ``checkpoint`` (``latest``, ``best`` and
the steps of the run named on the line), ``experiment``'s ``name``, ``sort`` (the columns
``gankit runs`` sorts by) and ``metric`` (the figures every run on the line logs). Everything
it reads is read without torch (the registries' declarations, the configs' first lines,
folder names, the keys of metrics.jsonl), so a TAB answers in a Python start-up.

The answer, one line each: what the shell adds from its own completion (``files``, ``dirs`` or
nothing; ``paths`` for candidates that are paths, which bash then quotes as it quotes its own
files: ``sp/my\\ run``), the part of the current word that is not the value (``--out=`` of
``--out=ru``), then the candidates as ``VALUE<TAB>DESCRIPTION``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gankit.commandline.candidates import (
    checkpoints,
    config_names,
    data_sets,
    experiment_names,
    feature_spaces,
    logged_metrics,
    run_directories,
    same_path,
    sort_keys,
)
from gankit.commandline.flags import path
from gankit.commandline.parser import build_parser


@dataclass(frozen=True)
class Answer:
    """Candidates for the word under the cursor. ``shell_adds``: ``files`` or ``dirs`` when the
    shell's own path completion is wanted too (it knows quoting, ``~`` and hidden files);
    ``paths`` when the candidates are paths, none added (zsh and fish quote every candidate;
    bash only paths, and must be told: a subcommand ``runs`` beside a folder ``runs/`` is no
    path)."""

    candidates: list[tuple[str, str]] = field(default_factory=list)  # (value, description)
    shell_adds: str = ""
    before: str = ""  # the part of the word before the value: --out= of --out=ru


# --- the values of one argument, by kind ------------------------------------------------------

Completer = Callable[[str, list[str]], Answer]
KINDS: dict[str, Completer] = {
    "file": lambda prefix, words: Answer(shell_adds="files"),
    "directory": lambda prefix, words: Answer(shell_adds="dirs"),
    "config": lambda prefix, words: Answer(config_names(prefix), "files"),
    "config-or-run": lambda prefix, words: Answer(config_names(prefix)
                                                  + run_directories(prefix), "files"),
    "run": lambda prefix, words: Answer(run_directories(prefix), "paths"),
    "checkpoint": lambda prefix, words: Answer(checkpoints(prefix, words)),
    "experiment": lambda prefix, words: Answer(experiment_names(prefix)),
    "features": lambda prefix, words: Answer(feature_spaces(prefix), "files"),
    "data": lambda prefix, words: Answer(data_sets(prefix), "dirs"),
    "sort-key": lambda prefix, words: Answer(sort_keys(prefix)),
    "metric": lambda prefix, words: Answer(logged_metrics(prefix, words)),
}
_BY_DEST = {"checkpoint": "checkpoint", "run_dir": "run", "resume": "run", "runs": "run",
            "config": "config", "source": "config-or-run", "features": "features",
            "data": "data", "directory": "directory", "out": "file", "trace": "file",
            "save_stats": "file", "sort": "sort-key", "metric": "metric"}


def kind_of(action: argparse.Action, command: list[str]) -> str | None:
    """The completer of an argument's values (a key of :data:`KINDS`): ``metavar="DIR"`` is a
    directory (``--out DIR``, ``--runs DIR``), then its dest, then ``type=path`` a file."""
    if action.metavar == "DIR":
        return "directory"
    if action.dest == "name" and command == ["experiment"]:
        return "experiment"
    return _BY_DEST.get(action.dest, "file" if action.type is path else None)


# --- walking the parser to the word under the cursor ------------------------------------------


def complete(words: list[str], parser: argparse.ArgumentParser | None = None) -> Answer:
    """The candidates for the last of ``words`` (the words after ``gankit``; the last is the
    one being typed, maybe empty)."""
    parser = parser or build_parser()
    *before, current = words
    command: list[str] = []
    positionals = _positionals(parser)
    used: set[argparse.Action] = set()
    given: list[str] = []  # the values of a positional of many (compare's runs) typed so far
    pending, only_positionals, i = None, False, 0
    while i < len(before):
        word, i = before[i], i + 1
        if word == "--" and not only_positionals:
            only_positionals = True
        elif word.startswith("-") and word != "-" and not only_positionals:
            action = _option(parser, word.partition("=")[0])
            if action is not None and "=" not in word:
                used.add(action)
                taken = _taken(action, before[i:])
                i += taken
                pending = action if i == len(before) and _wants_more(action, taken) else None
            elif action is not None:
                used.add(action)
        elif positionals and isinstance(positionals[0], argparse._SubParsersAction):
            if word not in positionals[0].choices:
                return Answer()  # not a command of ours: nothing sensible to offer
            parser = positionals[0].choices[word]
            command.append(word)
            positionals, used = _positionals(parser), set()
        elif positionals and positionals[0].nargs not in ("*", "+", argparse.REMAINDER):
            positionals = positionals[1:]
        elif positionals:
            given.append(word)
    if pending is not None:
        return _values(pending, current, command, words)
    if current.startswith("-") and not only_positionals:
        option, equals, value = current.partition("=")
        action = _option(parser, option) if equals else None
        if action is not None and action.nargs != 0:
            return replace(_values(action, value, command, words), before=option + equals)
        return Answer(_options(parser, current, used))
    if positionals and isinstance(positionals[0], argparse._SubParsersAction):
        return Answer([(choice.dest, _first_line(choice.help)) for choice in
                       positionals[0]._choices_actions if choice.dest.startswith(current)])
    if positionals:
        answer = _values(positionals[0], current, command, words)
        return replace(answer, candidates=[(value, text) for value, text in answer.candidates
                                           if not same_path(Path(value), list(map(Path, given)))])
    return Answer(_options(parser, current, used) if current == "" else [])


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in parser._actions if not action.option_strings]


def _option(parser: argparse.ArgumentParser, text: str) -> argparse.Action | None:
    """The option ``text`` names, also as a unique prefix of a long one (argparse's abbrev)."""
    if text in parser._option_string_actions:
        return parser._option_string_actions[text]
    fitting = {action for flag, action in parser._option_string_actions.items()
               if text.startswith("--") and flag.startswith(text)}
    return fitting.pop() if len(fitting) == 1 else None


def _taken(action: argparse.Action, rest: list[str]) -> int:
    """How many of the following words an option takes as its values."""
    if action.nargs == 0:
        return 0
    if action.nargs is None or isinstance(action.nargs, int):
        return min(action.nargs or 1, len(rest))
    values = 0
    while values < len(rest) and not rest[values].startswith("-"):
        values += 1
    return min(values, 1) if action.nargs == "?" else values


def _wants_more(action: argparse.Action, taken: int) -> bool:
    """Whether the word after an option's ``taken`` values is one of its values too."""
    if action.nargs == 0:
        return False
    if action.nargs is None or isinstance(action.nargs, int):
        return taken < (action.nargs or 1)
    return action.nargs != "?" or taken == 0


def _options(parser: argparse.ArgumentParser, prefix: str, used: set[argparse.Action]
             ) -> list[tuple[str, str]]:
    """The flags not given yet (a repeatable one always), long forms, with their help."""
    found = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS or (
                action in used and not isinstance(action, argparse._AppendAction)):
            continue
        flags = [flag for flag in action.option_strings if flag.startswith("--")]
        found += [(flag, _first_line(action.help)) for flag in flags or action.option_strings
                  if flag.startswith(prefix)]
    return found


def _values(action: argparse.Action, prefix: str, command: list[str], words: list[str]
            ) -> Answer:
    if action.choices is not None:
        return Answer([(str(choice), "") for choice in action.choices
                       if str(choice).startswith(prefix)])
    kind = kind_of(action, command)
    return KINDS[kind](prefix, words[:-1]) if kind is not None else Answer()


def _first_line(text: str | None, width: int = 72) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[:width - 3].rstrip() + "..."


# --- the shells --------------------------------------------------------------------------------

def bash_words(words: list[str]) -> list[str]:
    """bash splits ``--out=ru`` into ``--out``, ``=``, ``ru`` (``=`` is a word break); join
    them, as zsh and fish give them. Its cursor word is then the value alone. Its words come
    as typed, quotes and all (``sp/my\\ r``, ``"sp/my r``): read as the shell will."""
    joined: list[str] = []
    words = list(map(_unquoted, words))
    for i, word in enumerate(words):
        if word == "=" and joined and joined[-1].startswith("--") and "=" not in joined[-1]:
            joined[-1] += "="
        elif i > 0 and words[i - 1] == "=" and joined and joined[-1].endswith("="):
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _unquoted(word: str) -> str:
    """A word as the shell reads it: ``'my run'``, ``my\\ run`` and ``"my r`` (a quote still
    open under the cursor) are ``my run`` and ``my r``; a word that is not one word as typed
    stays."""
    for closing in ("", "'", '"'):
        try:
            parts = shlex.split(word + closing)
        except ValueError:  # a quote still open: try closing it
            continue
        return parts[0] if len(parts) == 1 else word
    return word


_BASH = """\
# gankit's completion for bash; install:
#   gankit completion bash > ~/.local/share/bash-completion/completions/gankit
_gankit() {
    local cur=${COMP_WORDS[COMP_CWORD]} line
    [[ $cur == = ]] && cur=
    local -a answer
    mapfile -t answer < <(PYTHON -m gankit.commandline.completion bash \\
        "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    COMPREPLY=()
    for line in "${answer[@]:2}"; do COMPREPLY+=("${line%%$'\\t'*}"); done
    # -o filenames: readline quotes the paths it inserts (sp/my\\ run), as for its own files
    case ${answer[0]} in
        paths) compopt -o filenames 2>/dev/null ;;
        files|dirs)
            compopt -o filenames 2>/dev/null
            mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -"${answer[0]:0:1}" -- "$cur") ;;
    esac
}
complete -F _gankit gankit
"""

_ZSH = """\
#compdef gankit
# gankit's completion for zsh; install: gankit completion zsh > ~/.zfunc/_gankit
# with fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc
_gankit() {
    local -a answer values shown
    local line tab=$'\\t'
    answer=("${(@f)$(PYTHON -m gankit.commandline.completion zsh \\
        "${(@)words[2,CURRENT]}" 2>/dev/null; print -r -- .)}")
    [[ -n ${answer[2]} ]] && compset -P "${(q)answer[2]}"
    for line in "${(@)answer[3,-2]}"; do
        values+=("${line%%$tab*}")
        [[ $line == *$tab* ]] && shown+=("${line%%$tab*}  -- ${line#*$tab}") || shown+=("$line")
    done
    (( ${#values} )) && compadd -l -d shown -a values
    case ${answer[1]} in
        files) _files ;;
        dirs) _files -/ ;;
    esac
}
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    _gankit "$@"
else
    compdef _gankit gankit
fi
"""

_FISH = """\
# gankit's completion for fish; install:
#   gankit completion fish > ~/.config/fish/completions/gankit.fish
function __gankit_complete
    set -l words (commandline -opc)[2..-1] (commandline -ct)
    set -l answer (PYTHON -m gankit.commandline.completion fish $words 2>/dev/null)
    test (count $answer) -ge 2; or return
    for line in $answer[3..-1]
        echo $answer[2]$line
    end
    set -l value (string sub -s (math (string length -- "$answer[2]") + 1) -- (commandline -ct))
    switch $answer[1]
        case files
            printf '%s\\n' $answer[2](__fish_complete_path "$value")
        case dirs
            printf '%s\\n' $answer[2](__fish_complete_directories "$value")
    end
end
complete -c gankit -f -a '(__gankit_complete)'
"""

SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def script(shell: str) -> str:
    """The completion script of ``shell``, calling back into this interpreter."""
    python = sys.executable
    quoted = ("'" + python.replace("\\", "\\\\").replace("'", "\\'") + "'" if shell == "fish"
              else shlex.quote(python))
    return SCRIPTS[shell].replace("PYTHON", quoted)


def main(argv: list[str]) -> None:
    """``python -m gankit.commandline.completion SHELL WORD...``: what the scripts call."""
    shell, *words = argv
    answer = complete((bash_words(words) if shell == "bash" else words) or [""])
    lines = [answer.shell_adds, answer.before]
    lines += [f"{value}\t{text}" if text else value for value, text in answer.candidates
              if "\n" not in value]  # a folder named with a line break: not offered
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
