"""``gankit``: train, resume, sample, translate, evaluate, export and run the theory experiments
from a shell.

It composes with a shell: results go to stdout (``train`` and ``eval`` print one JSON object,
``sample`` and ``export`` the path they wrote), everything else (progress bar, run directory,
notices, warnings) to stderr, so ``gankit train ring8 | jq .modes`` works. Every user mistake
ends in one line on stderr (``gankit: error: ...``) and exit status 2; SIGINT or SIGTERM at any
moment ends in one line and exit status 128 + the signal number (an interrupted run saves a
checkpoint of its last finished step first); a closed pipe ends quietly.

The parser imports nothing heavy: torch and the rest load inside the commands, so ``--help``
and shell completion answer at once. The modules: :mod:`.cli` ``main()``, the one place that
turns outcomes into exit codes; :mod:`.parser` the command tree; :mod:`.flags` the flags' types,
the registries' torch-free declarations they offer, and the flags shared by several commands;
:mod:`.training`, :mod:`.generation`, :mod:`.inspection` and :mod:`.runs` the commands' handlers.
"""
