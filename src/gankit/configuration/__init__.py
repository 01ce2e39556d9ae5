"""The run configuration, by concept: ``schema`` (typed sections and bounds), ``yaml_io`` (the
hardened YAML reader and writer), ``compose`` (a data-set config, a preset, the person's file
and ``--set``, with the source of each value), ``unread`` (the one rule for keys a run would
ignore), ``resolve`` (against the registries: paper defaults, names) and ``messages``.
:mod:`gankit.config` and :mod:`gankit.resolve` re-export them for code written before the split.
"""
