#!/usr/bin/env python3
"""tcp_options.py TRACE URL: checks the TCP options of the connections an
strace log (strace -f -e trace=connect,setsockopt,sendto,recvfrom,close) shows
to the server of URL (127.0.0.1:PORT): TCP_NODELAY set before anything is sent, and TCP_QUICKACK
set right before every read (gate/git/tcp_stream.h). Prints what it counted;
exits 1 naming the first connection or read that breaks the rule, or when
there was no such connection."""
import re
import sys
from urllib.parse import urlsplit

trace, port = sys.argv[1], urlsplit(sys.argv[2]).port
call = re.compile(r"^(\d+)\s+(\w+)\((\d+),(.*)$")
open_conns = {}  # (pid, fd) -> {"nodelay": bool, "quickack": bool}
connections = reads = 0
problems = []
with open(trace, encoding="utf-8", errors="replace") as log:
    for line in log:
        m = call.match(line)
        if not m:
            continue  # "<... resumed>", signals, exits
        pid, name, fd, rest = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        key = (pid, fd)
        if name == "connect":
            if f"sin_port=htons({port})" in rest and "127.0.0.1" in rest:
                open_conns[key] = {"nodelay": False, "quickack": False}
                connections += 1
            continue
        state = open_conns.get(key)
        if state is None:
            continue
        if name == "close":
            del open_conns[key]
        elif name == "setsockopt" and "TCP_NODELAY, [1]" in rest:
            state["nodelay"] = True
        elif name == "setsockopt" and "TCP_QUICKACK, [1]" in rest:
            state["quickack"] = True
        elif name == "sendto" and not state["nodelay"]:
            problems.append(f"pid {pid} fd {fd}: sent before TCP_NODELAY was set: {line.strip()[:120]}")
        elif name == "recvfrom":
            reads += 1
            if not state["quickack"]:
                problems.append(f"pid {pid} fd {fd}: read without TCP_QUICKACK right before it: {line.strip()[:120]}")
            state["quickack"] = False  # one per read: the kernel may clear it
print(f"connections to port {port}: {connections}, reads: {reads}")
if connections == 0:
    print("no connection to the port in the trace")
    sys.exit(1)
if problems:
    print("\n".join(problems[:5]))
    sys.exit(1)
