#!/usr/bin/env python3
"""Test helper: an HTTP proxy in front of a real registry that injects faults.

  fault_proxy.py UPSTREAM_HOST:PORT RULES.json LOG.jsonl PORT_FILE

Forwards every request to the upstream registry (keeping the Host header, so
Location headers point back at the proxy). Before each request it reads
RULES.json (a list; missing or empty = no faults). A rule:
  {"method": "PUT", "path": "regex", "fault": F, "times": N, "after": A, "retry_after": S}
matches a request by method and a regex search on the path, for its first N
matches (default: all) once A matches (default 0) have passed untouched. Faults, for what a real registry cannot be made to do:
  "500", "503", "404"  answer that status without forwarding
  "429"            answer 429 with Retry-After: S (default 1)
  "reset"          forward, then send half of the answer and reset the connection
  "stall"          read the request, then never answer
  "wrong-digest"   forward, but replace Docker-Content-Digest with another digest
  "refuse-mount"   forward a cross-repository mount as a plain upload start, as
                   a registry does when it refuses the mount (202 + session)
  "freeze"         the registry freezes for S seconds ("seconds"), as under
                   SIGSTOP: this request and every one arriving meanwhile are
                   held, then reach the registry in arrival order, whether or
                   not their client has given up waiting (the writes land late).
                   With "late_by": L, the freezing request itself reaches the
                   registry L seconds after the others (a resumed server
                   serves connections in any order)
A rule {"fault": "honour-if-match"} (no method or path) makes the proxy a
registry that honours conditional manifest writes, as the OCI distribution
spec's open proposal describes and docker-registry does not: a manifest PUT
with If-Match: "DIGEST" (or If-None-Match: *) whose tag points elsewhere (or
exists) is answered 412 Precondition Failed, checked when the PUT reaches
the registry (after any freeze).
Every request is logged to LOG.jsonl: method, path, status or fault, bytes.
The chosen port is written to PORT_FILE. Standard library only.
"""
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import struct
import sys
import threading
import time

UPSTREAM, RULES, LOG, PORT_FILE = sys.argv[1:5]
lock = threading.Lock()
state = {"mtime": None, "rules": [], "counts": [], "seen": []}
# The freeze: until when, and the queue of held requests (arrival order).
freeze = {"until": 0.0, "turn": 0, "next": 0}
freeze_cond = threading.Condition()


def hold_if_frozen(start_freeze_seconds=None, late_by=0):
    """Waits out a freeze; held requests then pass one at a time, in order."""
    with freeze_cond:
        if start_freeze_seconds is not None:
            freeze["until"] = max(freeze["until"], time.time() + start_freeze_seconds)
            if late_by:
                until = freeze["until"] + late_by
                while time.time() < until:
                    freeze_cond.wait(0.05)
                return None
        if time.time() >= freeze["until"] and freeze["turn"] == freeze["next"]:
            return None
        ticket = freeze["next"]
        freeze["next"] += 1
        while time.time() < freeze["until"] or freeze["turn"] != ticket:
            freeze_cond.wait(0.05)
        return ticket


def release_turn(ticket):
    if ticket is None:
        return
    with freeze_cond:
        freeze["turn"] += 1
        freeze_cond.notify_all()
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


def current_rules():
    try:
        mtime = os.stat(RULES).st_mtime_ns
    except FileNotFoundError:
        mtime = None
    if mtime != state["mtime"]:
        state["mtime"] = mtime
        rules = []
        if mtime is not None:
            with open(RULES) as f:
                text = f.read().strip()
                rules = json.loads(text) if text else []
        state["rules"] = rules
        state["counts"] = [0] * len(rules)
        state["seen"] = [0] * len(rules)
    return state["rules"]


def match(method, path):
    with lock:
        rules = current_rules()
        for i, rule in enumerate(rules):
            if rule.get("fault") == "honour-if-match":
                continue
            if rule.get("method", method) != method or not re.search(rule.get("path", ""), path):
                continue
            state["seen"][i] += 1
            if state["seen"][i] <= rule.get("after", 0):
                continue
            times = rule.get("times")
            if times is not None and state["counts"][i] >= times:
                continue
            state["counts"][i] += 1
            return rule
    return None


def log(entry):
    with lock:
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        rule = match(self.command, self.path)
        fault = rule["fault"] if rule else None
        entry = {"method": self.command, "path": self.path, "sent": len(body), "fault": fault}
        if fault in ("500", "503", "404"):
            self.reply(int(fault), {"Content-Type": "application/json"},
                       b'{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}')
            entry["status"] = int(fault)
            log(entry)
            return
        if fault == "429":
            self.reply(429, {"Retry-After": str(rule.get("retry_after", 1)), "Content-Type": "application/json"},
                       b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected"}]}')
            entry["status"] = 429
            log(entry)
            return
        if fault == "stall":
            log(entry)
            time.sleep(rule.get("seconds", 600))
            self.close_connection = True
            return
        ticket = hold_if_frozen(rule.get("seconds", 5) if fault == "freeze" else None,
                                rule.get("late_by", 0) if fault == "freeze" else 0)
        try:
            self.forward(body, fault, entry)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up while the registry was frozen: the request landed anyway
        finally:
            release_turn(ticket)

    def precondition_fails(self):
        """With honour-if-match: does this manifest PUT's If-Match or If-None-Match fail?"""
        with lock:
            honour = any(r.get("fault") == "honour-if-match" for r in current_rules())
        if not honour or self.command != "PUT" or "/manifests/" not in self.path:
            return False
        if_match, if_none = self.headers.get("If-Match"), self.headers.get("If-None-Match")
        if not if_match and not if_none:
            return False
        conn = http.client.HTTPConnection(UPSTREAM, timeout=120)
        accept = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                            "application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json"])
        headers = {"Accept": accept}
        if self.headers.get("Authorization"):
            headers["Authorization"] = self.headers["Authorization"]
        conn.request("HEAD", self.path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        current = resp.getheader("Docker-Content-Digest") if resp.status == 200 else None
        if if_none == "*":
            return current is not None
        return current is None or '"%s"' % current != if_match.strip()

    def forward(self, body, fault, entry):
        if self.precondition_fails():
            self.reply(412, {"Content-Type": "application/json"},
                       b'{"errors":[{"code":"PRECONDITION_FAILED","message":"the tag moved"}]}')
            entry["status"] = 412
            log(entry)
            return
        path = self.path
        if fault == "refuse-mount":
            path = re.sub(r"[?&](mount|from)=[^&]*", "", path)
            path = path if "?" in path or "&" not in path else path.replace("&", "?", 1)
        conn = http.client.HTTPConnection(UPSTREAM, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn.request(self.command, path, body=body if (body or self.command in ("PUT", "POST", "PATCH")) else None,
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        out = {k: v for k, v in resp.getheaders() if k.lower() not in HOP and k.lower() != "content-length"}
        if fault == "wrong-digest" and any(k.lower() == "docker-content-digest" for k in out):
            for k in list(out):
                if k.lower() == "docker-content-digest":
                    out[k] = "sha256:" + "e" * 64
        entry.update(status=resp.status, received=len(data))
        log(entry)
        if fault == "reset":
            head = "HTTP/1.1 %d %s\r\n" % (resp.status, resp.reason)
            for k, v in out.items():
                head += "%s: %s\r\n" % (k, v)
            head += "Content-Length: %d\r\n\r\n" % max(len(data), 64)
            self.wfile.write(head.encode() + data[: len(data) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.reply(resp.status, out, data, head_only=self.command == "HEAD",
                   length=int(resp.getheader("Content-Length") or len(data)))

    def reply(self, status, headers, data, head_only=False, length=None):
        self.send_response_only(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length if length is not None else len(data)))
        self.end_headers()
        if not head_only:
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
