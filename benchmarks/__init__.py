"""Experiment drivers behind the tables in ``results/`` (not installed; not user commands).

Each module is a click command run from the repository root as ``python -m
benchmarks.<name> --help``; each writes to a new or empty ``--out`` folder (or refuses), with
``meta.json`` / ``settings.json`` recording versions, git commit and machine.
"""
