#!/usr/bin/env python3
"""Prints, one per line, the forms in which a secret can leak: in clear,
percent-encoded, and the secret-only part of its base64 at each of the three
alignments it can have inside a longer encoded text ("user:secret" in an
Authorization header or docker's config.json).

usage: secret_forms.py SECRET [PREFIX...]   (PREFIX: texts the secret may follow
before encoding, such as "gate-bot:"; their full base64 is printed too)"""
import base64
import sys
import urllib.parse

secret = sys.argv[1]
forms = {secret, urllib.parse.quote(secret, safe="")}
for offset in range(3):
    encoded = base64.b64encode(b"\0" * offset + secret.encode()).decode()
    skip = 0 if offset == 0 else offset + 1
    whole = (offset + len(secret.encode())) * 8 // 6
    forms.add(encoded[skip:whole])
for prefix in sys.argv[2:]:
    forms.add(base64.b64encode((prefix + secret).encode()).decode().rstrip("="))
for form in sorted(forms):
    print(form)
