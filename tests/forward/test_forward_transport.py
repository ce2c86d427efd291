"""How a batch travels to a collector (``forward/transport.py``): from the queue's files over a
kept connection for plain HTTP, through httpx where a proxy applies; against real HTTP servers
on 127.0.0.1 (``collector.running_collector``)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from lumos_studio.forward import Forwarder, parse_target
from lumos_studio.forward.spool import PROTOBUF, Spool
from lumos_studio.forward.transport import FileTransport, HttpxTransport, transport_for
from tests.forward.collector import Collector, running_collector
from tests.forward.test_forward import SPANS_PER_REQUEST, body_of, wait_for

_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                    "no_proxy", "HTTPS_PROXY", "https_proxy")


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_kept_connection_the_collector_closed_while_idle_is_opened_anew_not_failed(
        tmp_path: Path, no_proxy_settings: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path / "spool")
    with running_collector(drops_idle=True) as (url, handler):
        transport = transport_for(url)
        assert isinstance(transport, FileTransport)
        try:
            for request in range(2):
                spool.put("traces", PROTOBUF, body_of(request), SPANS_PER_REQUEST)
                batch = spool.take()
                assert batch is not None
                reply = transport.post(f"{url}/v1/traces", {"Content-Type": PROTOBUF}, batch)
                assert reply.status == 200  # the second on the first try, not "cannot reach"
                spool.done(batch)
                closed = request + 1
                wait_for(lambda: handler.closed == closed)  # noqa: B023 (closed while idle)
        finally:
            transport.close()
    assert [body for _, _, body in handler.seen] == [body_of(0), body_of(1)]


@pytest.mark.parametrize("damage", ["removed", "unreadable"])
def test_a_queued_file_removed_or_unreadable_is_counted_refused_and_the_queue_goes_on(
        tmp_path: Path, collector: tuple[str, type[Collector]], damage: str) -> None:
    url, handler = collector
    forwarder = Forwarder([parse_target(url)], tmp_path / "spool")
    forwarder.accept("traces", PROTOBUF, body_of(0), SPANS_PER_REQUEST)
    for queued in (tmp_path / "spool").rglob("*.pb"):
        queued.unlink()
        if damage == "unreadable":
            queued.symlink_to(queued.name)  # a link to itself: opening it fails (ELOOP)
    forwarder.start()
    wait_for(lambda: forwarder.statuses()[0].refused_records)
    problem = forwarder.statuses()[0].problem or ""
    assert ("gone from disk" if damage == "removed" else "could not be read") in problem
    forwarder.accept("traces", PROTOBUF, body_of(1), SPANS_PER_REQUEST)
    wait_for(forwarder.drained)
    forwarder.stop()
    status = forwarder.statuses()[0]
    assert (status.refused_records, status.sent_records) == (SPANS_PER_REQUEST, SPANS_PER_REQUEST)
    assert [body for _, _, body in handler.seen] == [body_of(1)]
    assert status.problem is None  # the send after it went well


def test_credentials_in_the_targets_url_go_as_basic_auth_never_in_its_label(
        tmp_path: Path, collector: tuple[str, type[Collector]],
        no_proxy_settings: pytest.MonkeyPatch) -> None:
    url, handler = collector
    target = parse_target(url.replace("http://", "http://team:p%40ss@"))
    assert "team" not in target.label
    forwarder = Forwarder([target], tmp_path / "spool").start()
    forwarder.accept("traces", PROTOBUF, body_of(0), SPANS_PER_REQUEST)
    wait_for(forwarder.drained)
    forwarder.stop()
    (_, headers, _), = handler.seen
    assert headers["authorization"] == "Basic " + base64.b64encode(b"team:p@ss").decode()


def test_a_proxy_from_the_environment_carries_the_forward_and_no_proxy_bypasses_it(
        tmp_path: Path, collector: tuple[str, type[Collector]],
        no_proxy_settings: pytest.MonkeyPatch) -> None:
    url, handler = collector
    with running_collector() as (proxy_url, proxy):
        no_proxy_settings.setenv("HTTP_PROXY", proxy_url)
        assert isinstance(transport_for("http://127.0.0.1:9"), HttpxTransport)
        # Nothing listens on port 9: only the proxy can have taken it.
        forwarder = Forwarder([parse_target("http://127.0.0.1:9")], tmp_path / "via").start()
        forwarder.accept("traces", PROTOBUF, body_of(0), SPANS_PER_REQUEST)
        wait_for(forwarder.drained)
        forwarder.stop()
        assert [(path, body) for path, _, body in proxy.seen] == [
            ("http://127.0.0.1:9/v1/traces", body_of(0))]

        no_proxy_settings.setenv("NO_PROXY", "127.0.0.1")
        assert isinstance(transport_for(url), FileTransport)
        forwarder = Forwarder([parse_target(url)], tmp_path / "direct").start()
        forwarder.accept("traces", PROTOBUF, body_of(1), SPANS_PER_REQUEST)
        wait_for(forwarder.drained)
        forwarder.stop()
    assert len(proxy.seen) == 1
    assert [(path, body) for path, _, body in handler.seen] == [("/v1/traces", body_of(1))]


def test_an_https_target_goes_through_httpx(no_proxy_settings: pytest.MonkeyPatch) -> None:
    transport = transport_for("https://otel.example:4318")
    assert isinstance(transport, HttpxTransport)  # TLS cannot send from a file
    transport.close()
