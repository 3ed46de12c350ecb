"""Integration tests of emucli against the emulator image it starts."""
import re


def test_health(emulator):
    status, body = emulator.request("GET", "/health")
    assert status == 200
    assert body == {"status": "ok"}


def test_create_item_returns_201(emulator):
    item = emulator.create_item("alpha")
    assert item["name"] == "alpha"


def test_item_ids_keep_their_prefix(emulator):
    status, body = emulator.request("POST", "/items", {"name": "beta"})
    assert status in (200, 201)
    assert re.fullmatch(r"item-\d+", body["id"]), "item id %r lost its 'item-' prefix" % body["id"]


def test_get_created_item(emulator):
    status, body = emulator.request("POST", "/items", {"name": "gamma"})
    assert emulator.get_item(body["id"])["name"] == "gamma"


def test_unknown_item_is_404(emulator):
    assert emulator.get_item("item-999999") is None


def test_delete_item(emulator):
    status, body = emulator.request("POST", "/items", {"name": "delta"})
    assert emulator.delete_item(body["id"])
    assert emulator.get_item(body["id"]) is None
