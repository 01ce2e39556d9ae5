"""Shell completion (gankit.commandline.completion): the completer's answers, read straight from
the parser and the project on disk, and the scripts run in a real bash, zsh and fish."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gankit
from gankit.commandline.cli import main
from gankit.commandline.completion import Answer, complete, kind_of
from gankit.commandline.parser import SHELLS, build_parser

# The lines typed, and what their completion must offer (and must not)
CASES = {
    "gankit tr": ({"train", "translate"}, {"sample"}),
    "gankit sample --for": ({"--format"}, set()),
    "gankit train gr": ({"grid25", "grey2colour"}, {"ring8", "grid25-hinge"}),
    "gankit train grid25-w": ({"grid25-wgan", "grid25-wgan-gp"}, {"grid25-hinge"}),
    "gankit sample ": ({"runs/grid25-a", "runs/view/ring-b", "old-run"}, {"mydir"}),
    "gankit experiment cri": ({"critic-tracks-w1"}, {"gan-1d"}),
    "gankit sample runs/grid25-a --checkpoint ": ({"500", "1000", "latest"}, {"best"}),
    "gankit eval runs/grid25-a --weights no": ({"notes.txt"}, set()),
    "gankit train --out=my": ({"mydir"}, {"notes.txt"}),
}

@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory with runs (one with two checkpoints, one a level deeper, one beside
    the `runs` folder), a folder that is not a run, and a file."""
    for run in ("runs/grid25-a", "runs/view/ring-b", "old-run"):
        (tmp_path / run).mkdir(parents=True)
        (tmp_path / run / "config.yaml").write_text("recipe: gan\n")
    for step in ("step-0000500", "step-0001000"):
        (tmp_path / "runs/grid25-a/checkpoints" / step).mkdir(parents=True)
    (tmp_path / "mydir").mkdir()
    (tmp_path / "notes.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def environment(*first: Path) -> dict[str, str]:
    """This process's environment with gankit's own source folder (and ``first``) first on the
    path, as absolute paths: the subprocesses run in the project's folder."""
    paths = [*map(str, first), str(Path(gankit.__file__).parents[1])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def offered(line: str, parser=None) -> tuple[set[str], str]:
    words = line.split(" ")[1:]
    answer = complete(words, parser or build_parser())
    return {value for value, _ in answer.candidates}, answer.shell_adds


# --- the completer ----------------------------------------------------------------------------


@pytest.mark.parametrize("line", list(CASES))
def test_completer_offers_what_the_project_holds(project, line):
    wanted, unwanted = CASES[line]
    values, adds = offered(line)
    if adds in ("files", "dirs"):  # the shell lists the files (or folders) itself
        typed = line.split(" ")[-1].rpartition("=")[2]
        values |= {p.name for p in project.iterdir()
                   if p.name.startswith(typed) and (adds == "files" or p.is_dir())}
    assert wanted <= values and not unwanted & values, (line, values)


def test_kinds_follow_the_actions_not_a_table_of_commands():
    """The dests and types issue 29's other commands use complete without an edit here."""
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    runs = commands.add_parser("runs-demo")
    runs.add_argument("directory", nargs="?", metavar="DIR")
    runs.add_argument("--checkpoint")
    compare = commands.add_parser("compare-demo")
    compare.add_argument("runs", nargs="+", metavar="RUN")
    compare.add_argument("--out", metavar="PNG")
    kinds = {action.dest: kind_of(action, ["x"]) for p in (runs, compare)
             for action in p._actions if action.dest != "help"}
    assert kinds == {"directory": "directory", "checkpoint": "checkpoint", "runs": "run",
                     "out": "file"}


def test_runs_repeat_for_a_positional_of_many(project):
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    commands.add_parser("compare-demo").add_argument("runs", nargs="+")
    values, _ = offered("gankit compare-demo runs/grid25-a runs/v", parser)
    assert values == {"runs/view/ring-b"}


def test_checkpoint_steps_come_from_the_run_on_the_line(project):
    (project / "runs/grid25-a/best.json").write_text(
        '{"checkpoints": [{"step": 500, "path": "checkpoints/step-0000500"}]}')
    values, _ = offered("gankit sample runs/grid25-a --checkpoint ")
    assert values == {"latest", "best", "500", "1000"}
    # no run on the line: the two names
    assert offered("gankit sample --checkpoint ")[0] == {"latest", "best"}


def test_a_checkpoint_folder_offers_only_the_choices_naming_it(project):
    """`choose` refuses another step for a checkpoint folder: offer its own step, and latest
    or best where they name it."""
    (project / "runs/grid25-a/best.json").write_text(
        '{"checkpoints": [{"step": 500, "path": "checkpoints/step-0000500"}]}')
    folder = "gankit sample runs/grid25-a/checkpoints/step-"
    assert offered(folder + "0000500 --checkpoint ")[0] == {"500", "best"}
    assert offered(folder + "0001000 --checkpoint ")[0] == {"1000", "latest"}
    (project / "runs/grid25-a/best.json").unlink()
    assert offered(folder + "0000500 --checkpoint ")[0] == {"500"}


def test_runs_on_the_line_are_not_offered_again(project):
    """compare's runs: a run given (as typed, or another spelling of it) is not offered again."""
    values, _ = offered("gankit compare runs/grid25-a ")
    assert "runs/grid25-a" not in values and {"runs/view/ring-b", "old-run"} <= values
    values, _ = offered(f"gankit compare {project}/runs/grid25-a/ old-run/../runs/")
    assert values == {"old-run/../runs/view/ring-b"}


def test_sort_keys_and_the_metrics_the_runs_log(project):
    from gankit.training.run_index import sort_keys

    assert offered("gankit runs --sort ")[0] == set(sort_keys([])) and "status" in sort_keys([])
    assert offered("gankit runs --sort st")[0] == {"step", "steps", "status"}
    (project / "runs/grid25-a/metrics.jsonl").write_text(
        '{"step": 10, "d_loss": 1.0, "steps_per_s": 9.0}\n'
        + '{"step": 20, "d_loss": 0.5}\n' * 30000  # past the first megabyte read
        + '{"step": 20, "eval/fid": 31.4, "lr/g": 0.0002}\n')
    (project / "old-run/metrics.jsonl").write_text('{"step": 5, "eval/fid": 40.0, "g_loss": 1}\n')
    assert offered("gankit compare runs/grid25-a --metric ")[0] == {"d_loss", "fid", "lr/g"}
    # every run on the line logs it (compare refuses a run without it)
    assert offered("gankit compare runs/grid25-a old-run --metric ")[0] == {"fid"}
    assert offered("gankit compare --metric ")[0] == set()
    best = min(timed([sys.executable, "-m", "gankit.commandline.completion", "bash", "compare",
                      "runs/grid25-a", "old-run", "--metric", ""]) for _ in range(3))
    assert best < 0.5, f"a metric's completion took {best:.2f} s"


def test_run_paths_go_into_a_run_for_its_checkpoint_folders(project):
    values, _ = offered("gankit sample runs/grid25-a/")
    assert values == {"runs/grid25-a/checkpoints/step-0000500",
                      "runs/grid25-a/checkpoints/step-0001000"}
    assert offered(f"gankit sample {project}/runs/g")[0] == {f"{project}/runs/grid25-a"}


def test_presets_appear_once_the_data_set_is_typed():
    """Fifteen data sets, not 300 names at once; a preset after its data set's name."""
    top, _ = offered("gankit train ")
    assert "grid25" in top and not any(name.startswith("grid25-") for name in top)
    assert "grid25-wgan-gp" in offered("gankit train grid25")[0]
    assert "grid25-wgan-gp" in offered("gankit train gri")[0]  # the only data set fitting


def test_flags_values_and_what_the_shell_adds(project):
    assert offered("gankit sample --format ")[0] == {"npy", "png-dir"}
    assert offered("gankit train --out ")[1] == "dirs"  # metavar DIR
    assert offered("gankit translate runs/grid25-a --input ")[1] == "files"  # type=path
    assert offered("gankit eval x --features ") == ({"digits", "inception"}, "files")
    used, _ = offered("gankit sample runs/grid25-a --n 3 --")
    assert "--n" not in used and "--seed" in used  # given once already
    answer = complete(["train", "--out=my"], build_parser())
    assert (answer.shell_adds, answer.before) == ("dirs", "--out=")
    assert complete(["nonsense", ""], build_parser()) == Answer()
    # a flag without a value, then the positional: the config again
    assert "grid25" in offered("gankit train --no-progress ")[0]
    assert "grid25" in offered("gankit config show --explain --set a=1 ")[0]


def test_completer_answers_fast_without_torch(project):
    code = ("import runpy, sys; sys.argv = ['x', 'bash', 'train', 'grid25']; "
            "runpy.run_module('gankit.commandline.completion', run_name='__main__'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=environment()).stdout.split()
    assert "grid25-wgan-gp" in out and out[-1] == "False"
    best = min(timed([sys.executable, "-m", "gankit.commandline.completion", "zsh",
                      "experiment", ""]) for _ in range(3))
    assert best < 0.5, f"a completion took {best:.2f} s"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, env=environment())
    return time.perf_counter() - start


# --- the scripts, in the shells ---------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_prints_a_script_that_calls_this_interpreter(shell, capsys):
    assert main(["completion", shell]) == 0
    text = capsys.readouterr().out
    assert sys.executable in text and "gankit.commandline.completion" in text


def shell_script(shell: str, project: Path) -> tuple[Path, dict[str, str]]:
    """The script ``gankit completion SHELL`` prints, the one users install, in a folder of
    its own."""
    env = environment()
    text = subprocess.run([sys.executable, "-m", "gankit", "completion", shell], env=env,
                          capture_output=True, text=True, check=True).stdout
    (project / ".completion").mkdir(exist_ok=True)
    path = project / ".completion" / ("_gankit" if shell == "zsh" else f"gankit.{shell}")
    path.write_text(text)
    return path, env


def needs(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (CI installs it: .ci/run)")


def test_bash_completes_from_the_project(project):
    needs("bash")
    path, env = shell_script("bash", project)
    lines = [f"source {path}"]
    for line in CASES:
        # bash's words: "=" is a word break (COMP_WORDBREAKS), --out=my is --out, =, my
        words = [part for word in line.split(" ")
                 for part in (re.split("(=)", word) if word.startswith("--") else [word])]
        lines += ["COMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")",
                  f"COMP_CWORD={len(words) - 1}", "_gankit",
                  f"echo '=== {line}'", "printf '%s\\n' \"${COMPREPLY[@]}\""]
    out = subprocess.run(["bash", "--norc", "-c", "\n".join(lines)], env=env, text=True,
                         capture_output=True, check=True, timeout=60).stdout
    assert check_sections(out) == len(CASES)


def test_bash_quotes_the_run_directory_it_inserts(project):
    """A TAB in an interactive bash (a pseudo-terminal, so readline inserts the word) puts in
    a run directory with a space as one word."""
    needs("bash")
    (project / "sp/my run").mkdir(parents=True)
    (project / "sp/my run/config.yaml").write_text("recipe: gan\n")
    path, env = shell_script("bash", project)
    screen = typed_in_bash(f"source {path}\n", "gankit eval sp/my\t", env)
    assert "gankit eval sp/my\\ run/" in screen, screen


def typed_in_bash(setup: str, typed: str, env: dict[str, str]) -> str:
    """What an interactive bash shows once ``typed`` (a TAB in it) is entered after ``setup``;
    then the line is cleared (^U) and a marker printed, which shows the TAB is answered."""
    import pty

    main_end, shell_end = pty.openpty()
    shell = subprocess.Popen(["bash", "--norc", "--noprofile", "-i"], stdin=shell_end,
                             stdout=shell_end, stderr=shell_end, env={**env, "PS1": "> "},
                             start_new_session=True)
    os.close(shell_end)
    screen = b""
    try:
        os.write(main_end, f"{setup}echo READY$((6*7))\n".encode())
        screen = read_until(main_end, b"READY42", screen)
        os.write(main_end, typed.encode())
        time.sleep(0.1)
        os.write(main_end, b"\x15echo DONE$((6*7))\n")
        screen = read_until(main_end, b"DONE42", b"")
    finally:
        shell.kill()
        shell.wait()
        os.close(main_end)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|[\r\b]", "", screen.decode(errors="replace"))


def read_until(fd: int, marker: bytes, screen: bytes, timeout: float = 30) -> bytes:
    import select

    deadline = time.monotonic() + timeout
    while marker not in screen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            screen += os.read(fd, 4096)
    return screen


def test_fish_completes_from_the_project(project):
    needs("fish")
    path, env = shell_script("fish", project)
    lines = [f"source {path}"]
    for line in CASES:
        lines += [f"echo '=== {line}'", f"complete -C '{line}'"]
    out = subprocess.run(["fish", "--no-config", "-c", "\n".join(lines)], env=env, text=True,
                         capture_output=True, check=True, timeout=60).stdout
    assert check_sections(out) == len(CASES)


# zsh's completion runs in its line editor only: a pseudo-terminal (zsh/zpty) types each line
# and a TAB into an interactive zsh with compinit, and the screen shows the completion (the
# word inserted, or the list of candidates: no_list_ambiguous lists them even when a common
# prefix was inserted). Then the line is cleared (^U) and a command prints a marker, which
# shows once the completion is done.
ZPTY_DRIVER = r"""
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; unset zle_bracketed_paste; setopt no_list_ambiguous; LISTMAX=10000; "`
         `"fpath=($1 \$fpath); autoload -U compinit; compinit -u -D; print READY\$((6*7))"
wait_for() {
    local chunk; out=; integer tries=0
    while [[ $out != *$1* ]] && (( tries++ < 600 )); do
        zpty -r -t z chunk && out+=$chunk || sleep 0.05
    done
}
wait_for READY42
for line in "${@[2,-1]}"; do
    zpty -n -w z "$line"$'\t'
    zpty -w z $'\x15'"print -r -- DONE\$((6*7))"
    wait_for DONE42
    print -r -- "=== $line"; print -r -- "$out"
done
zpty -d z
"""


def test_zsh_completes_from_the_project(project):
    needs("zsh")
    path, env = shell_script("zsh", project)
    driver = project / ".completion" / "driver.zsh"
    driver.write_text(ZPTY_DRIVER)
    out = subprocess.run(["zsh", "-f", str(driver), str(path.parent), *CASES], env=env,
                         text=True, capture_output=True, check=True, timeout=120).stdout
    assert check_sections(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|[\r\b]", " ", out),
                          words=False) == len(CASES)


def check_sections(out: str, words: bool = True) -> int:
    """Each case's section of a shell's output holds the wanted candidates (as whole words
    where the shell prints a list of them) and none of the unwanted ones; returns how many
    sections were checked."""
    sections = dict(re.findall(r"=== (.*)\n((?:(?!===).*\n?)*)", out))
    for line, (wanted, unwanted) in CASES.items():
        text = sections[line]
        listed = {word.rstrip("/") for word in re.split(r"[\s=]+", text)}
        missing = [w for w in wanted if w not in (listed if words else text)]
        extra = [w for w in unwanted if w in listed]
        assert not missing and not extra, (line, missing, extra, text)
    return len(CASES)
