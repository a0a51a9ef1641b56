"""The explorer's server under load: a burst of clients, slow clients, bounded work."""

from __future__ import annotations

import copy
import http.client
import json
import shutil
import socket
import threading
import time
from typing import Any, Iterator

import pytest

from reasoner.law.scenario import parse_scenario
from reasoner.web.explorer import Explorer
from reasoner.web.formdata import scenario_document
from reasoner.web.server import ExplorerServer

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz 'dot'")

SCENARIO = """\
scenario: burst
regime: ifr
entities:
  nvidia_us: {located_in: US, headquartered_in: US}
  sg_a: {located_in: SG, headquartered_in: SG}
items:
  h100: {eccn: 3A090.a, tpp_per_unit: 15832, datacenter: true, designer: approved}
transactions:
  - {id: tx1, type: export, date: 2025-06-16, exporter: nvidia_us, from: US, to: SG,
     ultimate_consignee: sg_a, item: h100, quantity: 10, end_use: inference}
"""
CLIENTS = 50


@pytest.fixture()
def server() -> Iterator[ExplorerServer]:
    document = scenario_document(parse_scenario(SCENARIO, "burst.yaml"))
    srv = ExplorerServer(("127.0.0.1", 0), Explorer(document, "burst.yaml"), client_seconds=2.0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


def _post(port: int, payload: dict[str, Any]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=240)
    try:
        conn.request("POST", "/api/decide", json.dumps(payload).encode(),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_fifty_concurrent_clients_are_all_answered(server: ExplorerServer) -> None:
    document = server.explorer.document
    results: list[tuple[int, Any] | BaseException] = [RuntimeError("no answer")] * CLIENTS
    barrier = threading.Barrier(CLIENTS)

    def client(k: int) -> None:
        doc = copy.deepcopy(document)
        doc["transactions"][0]["quantity"] = k + 1  # a state of its own
        try:
            barrier.wait(timeout=30)
            results[k] = _post(server.server_port, {"document": doc})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[k] = exc

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    failed = [r for r in results if not isinstance(r, tuple) or r[0] != 200]
    assert not failed, failed[:3]
    states = {r[1]["state"] for r in results if isinstance(r, tuple)}
    assert len(states) == CLIENTS
    for state in states:  # every state of the burst is still there
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        conn.request("GET", f"/api/proof?state={state}&tx=tx1&format=json")
        assert conn.getresponse().status == 200
        conn.close()


def test_a_stalled_client_is_dropped(server: ExplorerServer) -> None:
    sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=30)
    try:
        start = time.monotonic()
        sock.sendall(b"POST /api/decide HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        assert sock.recv(1024) == b""  # closed by the server, without an answer
        assert time.monotonic() - start < 20
    finally:
        sock.close()


def test_a_request_body_dripped_slowly_is_dropped(server: ExplorerServer) -> None:
    sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=30)
    try:
        start = time.monotonic()
        sock.sendall(b"POST /api/decide HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        with pytest.raises(OSError):  # reset or broken pipe once the server gives up
            for _ in range(100):
                sock.sendall(b" ")
                time.sleep(0.5)
        assert time.monotonic() - start < 20
    finally:
        sock.close()


def test_one_requests_work_is_bounded(server: ExplorerServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from reasoner.web import server as server_module

    monkeypatch.setitem(server_module.REQUEST_LIMITS, "facts", 50)
    doc = copy.deepcopy(server.explorer.document)
    doc["transactions"][0]["quantity"] = 999
    status, body = _post(server.server_port, {"document": doc})
    assert status == 400 and body["error"].startswith("evaluation stopped after 50 derived facts")
    monkeypatch.setitem(server_module.REQUEST_LIMITS, "facts", 2_000_000)
    assert _post(server.server_port, {"document": doc})[0] == 200  # the server goes on
