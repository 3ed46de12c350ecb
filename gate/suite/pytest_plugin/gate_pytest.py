"""gate's pytest plugin (runner: pytest).

gate writes this file next to its batch files, with gate_pytest_loader.py
(which pytest loads for ``-p gate_pytest_loader``), in a directory it puts
on PYTHONPATH: nothing is installed into the consumer. It lets gate

- list the tests once (``--gate-collect FILE``: the node ids collected, one
  per line, after the consumer's own ``-k``/``-m`` deselection);
- run exactly a set of them (``--gate-select FILE``: node ids, one per
  line, run in that order), without naming thousands on the command line;
- collect only the files those tests are in (``--gate-files FILE``: paths,
  one per line): the consumer's own rules (``collect_ignore``, ``--ignore``,
  ``python_files``) still decide what is collected there, as in a whole run;
- check that a run collects what the listing said (``--gate-expect SHA``:
  the sha256 of the ids collected, one per line; on a difference the
  collected ids are written to ``--gate-collect``);
- follow the run as it happens (``--gate-events FILE``: one JSON object a
  line: collected, collect-error, selected, start, finish);
- end the process sooner (see _collect_then_freeze).

Standard library only; works with pytest 6 and later.
"""
import atexit
import gc
import hashlib
import json
import os
from json.encoder import encode_basestring_ascii as _json_string  # json.dumps of a str, without its dispatch

import pytest

# A failure's text beyond this is cut (gate bounds it further).
MAX_TEXT = 64 * 1024


def pytest_addoption(parser):
    group = parser.getgroup("gate", "gate's batch protocol (set by gate)")
    group.addoption("--gate-collect", default=None, help="write the collected node ids to this file")
    group.addoption("--gate-select", default=None, help="run only the node ids listed in this file, in its order")
    group.addoption("--gate-expect", default=None, help="sha256 the collected ids should have")
    group.addoption("--gate-files", default=None, help="collect only the files listed in this file")
    group.addoption("--gate-events", default=None, help="append one JSON event a line to this file")


def pytest_configure(config):
    if config.getoption("gate_events") or config.getoption("gate_select") or config.getoption("gate_collect"):
        config.pluginmanager.register(GateProtocol(config), "gate-protocol")
    if config.getoption("gate_files"):
        # Registered last, so its trylast hook runs before the protocol's
        # (pluggy calls the last registered first): the digest is of the batch's files.
        config.pluginmanager.register(FilesOnly(config.getoption("gate_files")), "gate-files-only")


def _real(path):
    return os.path.realpath(str(path))


class FilesOnly:
    """Collects only the given files (and what leads to them): the rest of
    the tree is pruned before pytest imports it."""

    def __init__(self, list_file):
        with open(list_file, encoding="utf-8", errors="surrogateescape") as paths:
            self.files = {_real(line.rstrip("\n")) for line in paths if line.rstrip("\n")}
        self.dirs = set()
        for path in self.files:
            parent = os.path.dirname(path)
            while parent not in self.dirs and parent != os.path.dirname(parent):
                self.dirs.add(parent)
                parent = os.path.dirname(parent)
        self.kept = {}  # path as pytest gives it -> in the files

    def wanted(self, path):
        key = str(path)
        if key not in self.kept:
            real = _real(key)
            self.kept[key] = real in self.files or real in self.dirs or os.path.basename(real) == "__init__.py"
        return self.kept[key]

    if tuple(int(p) for p in pytest.__version__.split(".")[:1] if p.isdigit()) >= (7,):
        def pytest_ignore_collect(self, collection_path, config):
            return None if self.wanted(collection_path) else True
    else:
        def pytest_ignore_collect(self, path, config):
            return None if self.wanted(path) else True

    # First of the gate's: what a file given on the command line brings
    # from outside the batch's files is not the batch's.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        items[:] = [item for item in items if self.wanted(getattr(item, "path", None) or item.fspath)]


def _text(value, limit=MAX_TEXT):
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "\n[... truncated]"


def _listing_digest(ids):
    digest = hashlib.sha256()
    for node in ids:
        digest.update(node.encode("utf-8", "surrogateescape"))
        digest.update(b"\n")
    return digest.hexdigest()


def _crash_message(report):
    """The one line that says why: the assertion, the exception, the skip reason."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (file, line, reason)
        return _text(longrepr[2], 2048)
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return _text(crash.message, 2048)
    lines = [line for line in str(longrepr).splitlines() if line.strip()]
    return _text(lines[-1], 2048) if lines else ""


class GateProtocol:
    def __init__(self, config):
        self.config = config
        path = config.getoption("gate_events")
        # One write(2) an event, unbuffered: gate follows the run (and a hung
        # test) from this file as it grows, and a buffer would hold the last
        # start back exactly when it matters. Written as bytes, without a
        # text layer: ~2.5 us an event instead of ~4.5 (two a test).
        self.events = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path else None
        self.tests = {}  # node id -> [outcome, seconds, message, details]

    def emit(self, event):
        if self.events is not None:
            self._write(json.dumps(event, ensure_ascii=True) + "\n")

    def _write(self, line):
        data = line.encode("ascii")
        written = os.write(self.events, data)
        while written < len(data):
            data = data[written:]
            written = os.write(self.events, data)

    def pytest_unconfigure(self):
        if self.events is not None:
            os.close(self.events)
            self.events = None

    def pytest_collectreport(self, report):
        if report.failed:
            self.emit({"event": "collect-error", "id": report.nodeid, "message": _crash_message(report),
                       "details": _text(report.longreprtext)})

    # Last: the consumer's own -k/-m deselection (and other plugins') first.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        ids = [item.nodeid for item in items]
        digest = _listing_digest(ids)
        expected = config.getoption("gate_expect")
        rootdir = getattr(config, "rootpath", None) or config.rootdir
        self.emit({"event": "collected", "count": len(ids), "sha256": digest, "rootdir": str(rootdir)})
        collect_file = config.getoption("gate_collect")
        if collect_file and (not expected or expected != digest):
            with open(collect_file, "w", encoding="utf-8", errors="surrogateescape") as out:
                out.write("".join(node + "\n" for node in ids))
        select_file = config.getoption("gate_select")
        if not select_file:
            return
        with open(select_file, encoding="utf-8", errors="surrogateescape") as wanted_file:
            wanted = [line.rstrip("\n") for line in wanted_file if line.rstrip("\n")]
        by_id = {}
        for item in items:
            by_id.setdefault(item.nodeid, item)
        selected, missing, taken = [], [], set()
        for node in wanted:
            item = by_id.get(node)
            if item is None:
                missing.append(node)
            elif node not in taken:
                taken.add(node)
                selected.append(item)
        deselected = [item for item in items if item.nodeid not in taken]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = selected
        self.emit({"event": "selected", "count": len(selected), "missing": missing})

    def pytest_runtest_logstart(self, nodeid, location):
        self.tests[nodeid] = ["passed", 0.0, "", ""]
        if self.events is not None:
            self._write('{"event": "start", "id": %s}\n' % _json_string(nodeid))

    # A test's setup, call and teardown are reported in that order; the
    # teardown's report is its last, and ends it (one hook fewer a test than
    # pytest_runtest_logfinish: at 100,000 tests, hooks are what costs).
    def pytest_runtest_logreport(self, report):
        state = self.tests.get(report.nodeid)
        if state is None:
            state = self.tests[report.nodeid] = ["passed", 0.0, "", ""]
        state[1] += getattr(report, "duration", 0.0) or 0.0
        if report.outcome != "passed" and state[0] not in ("failed", "error"):  # the first failure of a test is its result
            if report.failed:
                # A failing setup or teardown is an error; a failing call (or an
                # unexpected pass of a strict xfail) a failure.
                state[0] = "failed" if report.when == "call" else "error"
                state[2] = _crash_message(report)
                state[3] = _text(report.longreprtext)
            elif report.skipped and state[0] == "passed":
                state[0] = "skipped"
                state[2] = _text(getattr(report, "wasxfail", "") or _crash_message(report), 2048)
        if report.when == "teardown":
            self._finish(report.nodeid)

    def _finish(self, nodeid):
        outcome, seconds, message, details = self.tests.pop(nodeid, None) or ("passed", 0.0, "", "")
        if self.events is None:
            return
        if not message and not details:
            self._write('{"event": "finish", "id": %s, "outcome": "%s", "seconds": %r}\n'
                        % (_json_string(nodeid), outcome, round(seconds, 6)))
            return
        event = {"event": "finish", "id": nodeid, "outcome": outcome, "seconds": round(seconds, 6)}
        if message:
            event["message"] = message
        if details:
            event["details"] = details
        self.emit(event)


def _collect_then_freeze():
    """An exit function that makes Python's own exit end sooner.

    At exit Python collects the garbage of the whole session more than once
    while it tears its modules down: ~40 of a 650 ms run of 500 trivial
    tests, most of what gate's run took longer than pytest by hand. Here
    the garbage is collected once, where Python's exit first collects it
    (after the exit functions of the conftests, plugins and tests, all
    registered after this one, which is registered when pytest loads this
    plugin), so every finalizer that would run there runs, and one that
    crashes the process still does (gate counts how the process ended).
    What is alive then is frozen: the teardown's collections skip it (exit
    ~20 ms). Only objects still alive there and held in reference cycles go
    unfinalized, which Python does not promise to finalize anyway.
    """
    gc.collect()
    if hasattr(gc, "freeze"):  # Python 3.7 and later
        gc.freeze()


def _keep_bytecode():
    """Writes this module's bytecode where the next import reads it, once.

    Python writes none where PYTHONDONTWRITEBYTECODE is set. The source's
    hash is checked at each import (not its mtime): gate rewrites this file
    whenever it differs from gate's own.
    """
    cached = globals().get("__cached__")
    if not cached or os.path.exists(cached):
        return
    try:
        import py_compile

        mode = getattr(py_compile, "PycInvalidationMode", None)
        if mode is None:
            return
        py_compile.compile(__file__, cfile=cached, doraise=True, invalidation_mode=mode.CHECKED_HASH)
    except Exception:  # a directory it cannot write: compiled at each start, as without this
        pass


_keep_bytecode()
atexit.register(_collect_then_freeze)
