#!/usr/bin/env python3
"""Test helper: a Bearer token realm for a real docker-registry.

  token_server.py KEY.pem USER PASSWORD ISSUER TOKENS_LOG PORT_FILE

Serves GET /token?service=S&scope=repository:NAME:pull,push (scope may repeat)
to clients sending Basic USER:PASSWORD, answering a JWT signed with KEY.pem
(RS256, via the openssl command) that grants every action asked for. The
registry trusts it through `auth.token.rootcertbundle` (the key's
certificate); the JWT's `kid` is that key's libtrust ID. Wrong or missing
credentials get 401. Every token issued is appended to TOKENS_LOG, so tests
can check it never appears in gate's output. Standard library only.
"""
import base64
import hashlib
import http.server
import json
import os
import socketserver
import subprocess
import sys
import time
import urllib.parse

KEY, USER, PASSWORD, ISSUER, TOKENS_LOG, PORT_FILE = sys.argv[1:7]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_kid(key_path):
    der = subprocess.run(["openssl", "pkey", "-in", key_path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


KID = libtrust_kid(KEY)


def sign(message):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY], input=message,
                          check=True, capture_output=True).stdout


def make_token(service, scopes):
    now = int(time.time())
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3:
            continue
        # repository names may hold "host:port"? never in a scope's name part, but be lenient
        kind, actions = parts[0], parts[-1]
        name = ":".join(parts[1:-1])
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    header = {"typ": "JWT", "alg": "RS256", "kid": KID}
    claims = {"iss": ISSUER, "sub": USER, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": b64url(os.urandom(12)), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return signing_input + "." + b64url(sign(signing_input.encode()))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        if url.path != "/token" or auth != expected:
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        token = make_token(query.get("service", [""])[0], query.get("scope", []))
        with open(TOKENS_LOG, "a") as f:
            f.write(token + "\n")
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
