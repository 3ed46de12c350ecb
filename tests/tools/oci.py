#!/usr/bin/env python3
"""Test helper: push OCI images and indexes to a registry over its HTTP API.

  oci.py push-index REGISTRY REPOSITORY TAG   -> prints the index digest
  oci.py push-image REGISTRY REPOSITORY TAG   -> prints the manifest digest

Content is random, so every push makes new digests. Anonymous access only
(copy to an authenticated registry with skopeo). Standard library only.
"""
import hashlib
import http.client
import json
import os
import sys


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    def __init__(self, host):
        self.host = host

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, timeout=30)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data

    def push_blob(self, repo, data):
        d = digest(data)
        status, headers, _ = self.request("POST", "/v2/%s/blobs/uploads/" % repo)
        assert status == 202, status
        location = headers["location"]
        if location.startswith("http"):
            location = location.split("/", 3)[3]
            location = "/" + location
        sep = "&" if "?" in location else "?"
        status, _, body = self.request("PUT", location + sep + "digest=" + d, body=data,
                                       headers={"Content-Type": "application/octet-stream"})
        assert status == 201, (status, body)
        return d

    def push_manifest(self, repo, ref, media_type, data):
        status, headers, body = self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=data,
                                             headers={"Content-Type": media_type})
        assert status == 201, (status, body)
        return headers.get("docker-content-digest")


def image(reg, repo, arch):
    layer = os.urandom(2048)
    config = json.dumps({"architecture": arch, "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
                         "config": {}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": reg.push_blob(repo, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": reg.push_blob(repo, layer), "size": len(layer)}],
    }, indent=3).encode()  # unusual indentation: a re-serialised copy would not match
    return manifest


def main():
    command, host, repo, tag = sys.argv[1:5]
    reg = Registry(host)
    if command == "push-image":
        manifest = image(reg, repo, "amd64")
        print(reg.push_manifest(repo, tag, "application/vnd.oci.image.manifest.v1+json", manifest))
    elif command == "push-index":
        entries = []
        for arch in ("amd64", "arm64"):
            manifest = image(reg, repo, arch)
            d = reg.push_manifest(repo, digest(manifest), "application/vnd.oci.image.manifest.v1+json", manifest)
            entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
                            "size": len(manifest), "platform": {"os": "linux", "architecture": arch}})
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": entries}, indent=1).encode()
        print(reg.push_manifest(repo, tag, "application/vnd.oci.image.index.v1+json", index))
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
