"""Module paths from before the subpackages of issue 26 keep working, and say where to go."""

import subprocess
import sys

import pytest

from gankit.moved import MOVED_MODULES


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_every_old_path_imports_and_names_its_new_home(old):
    """In a fresh interpreter: the import warns once, naming the new module, and every public
    name of the new module (or modules, for a split one) is reached through the old path."""
    new = MOVED_MODULES[old]
    names = (new,) if isinstance(new, str) else new
    code = (f"import importlib, warnings\n"
            f"warnings.simplefilter('error', DeprecationWarning)\n"
            f"try:\n    import {old}\nexcept DeprecationWarning as w:\n    print(w)\n"
            f"warnings.simplefilter('ignore')\n"
            f"import {old} as old\n"
            f"for name in {list(names)!r}:\n"
            f"    new = importlib.import_module(name)\n"
            f"    public = [a for a in vars(new) if not a.startswith('_')]\n"
            f"    assert all(getattr(old, a) is getattr(new, a) for a in public), name\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{old} moved to {' and '.join(names)}; import it from there"


def test_a_name_the_old_module_never_had_is_an_attribute_error():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import gankit.divergences as old
    with pytest.raises(AttributeError, match="now gankit.theory.divergences"):
        old.no_such_name  # noqa: B018
