"""emucli: starts the emulator image with docker and talks to its HTTP API."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

DEFAULT_IMAGE = "acme/emulator:latest"


class EmulatorError(Exception):
    pass


class Emulator:
    """One running emulator container, as the CLI starts it on first use."""

    def __init__(self, image=None):
        self.image = image or os.environ.get("EMULATOR_IMAGE", DEFAULT_IMAGE)
        self.container = None
        self.base_url = None

    def start(self, timeout=20.0):
        out = subprocess.run(
            ["docker", "run", "--detach", "--publish", "127.0.0.1::8080", self.image],
            check=True, capture_output=True, text=True)
        self.container = out.stdout.strip()
        port = subprocess.run(["docker", "port", self.container, "8080/tcp"],
                              check=True, capture_output=True, text=True).stdout.split()[0]
        self.base_url = "http://" + port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return self
            except (OSError, EmulatorError):
                pass
            time.sleep(0.05)
        raise EmulatorError("emulator %s did not become healthy" % self.image)

    def stop(self):
        if self.container:
            subprocess.run(["docker", "rm", "--force", self.container], capture_output=True)
            self.container = None

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, (json.loads(raw) if raw else None)

    # The CLI's commands, each one API call with the contract's expectations.
    def create_item(self, name):
        status, body = self.request("POST", "/items", {"name": name})
        if status != 201:
            raise EmulatorError("create %r: expected 201, got %d" % (name, status))
        return body

    def get_item(self, item_id):
        status, body = self.request("GET", "/items/" + item_id)
        if status == 404:
            return None
        if status != 200:
            raise EmulatorError("get %s: unexpected %d" % (item_id, status))
        return body

    def delete_item(self, item_id):
        status, _ = self.request("DELETE", "/items/" + item_id)
        return status == 204
