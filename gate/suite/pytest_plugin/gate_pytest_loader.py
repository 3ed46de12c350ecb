"""Loads gate's pytest plugin (gate_pytest.py): gate runs pytest with
``-p gate_pytest_loader``.

pytest compiles a module named by ``-p`` itself, to rewrite its asserts, and
keeps no bytecode of it where PYTHONDONTWRITEBYTECODE is set (as on many CI
machines): the whole plugin would be compiled again at every pytest start
(~5 ms). So this file, all that pytest compiles, is a line, and the plugin
an ordinary import, whose bytecode it keeps beside itself.
PYTEST_DONT_REWRITE
"""
from gate_pytest import pytest_addoption, pytest_configure  # noqa: F401
