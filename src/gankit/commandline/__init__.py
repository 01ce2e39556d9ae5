"""The ``gankit`` command."""
