"""Webhook URL checks (no way into the site's own network) and delivery (no redirects, re-checked).

Real sockets on 127.0.0.1 for delivery; DNS is replaced only where a public name is needed.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from django_voxtral import webhooks
from django_voxtral.webhooks import WebhookURLRejected, check_webhook_url, deliver
from tests.django_settings import TONES_ARE_SPEECH


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.8.9.10:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[ff02::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://2130706433/hook",
    ],
)
def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(WebhookURLRejected, match=r"resolves to \S+ \(.+ address\)"):
        check_webhook_url(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("http:///nohost", "no host"),
        ("https://user:pw@93.184.216.34/x", "user name or password"),
        ("http://93.184.216.34:99999/x", "not a valid URL"),
        ("", "empty"),
        ("http://no-such-host.invalid/x", "cannot be resolved"),
    ],
)
def test_malformed_urls_are_refused(url: str, words: str) -> None:
    with pytest.raises(WebhookURLRejected, match=words):
        check_webhook_url(url, allow_private=False)


def test_public_addresses_pass() -> None:
    resolved = check_webhook_url("https://93.184.216.34/hooks/abc?x=1", allow_private=False)
    assert resolved.port == 443 and [str(a) for a in resolved.addresses] == ["93.184.216.34"]
    v6 = check_webhook_url("http://[2606:4700::1111]:8080/h", allow_private=False)
    assert v6.port == 8080


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Replaces DNS for these names (address literals still resolve); returns the names asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        host = host.decode() if isinstance(host, bytes) else str(host)
        asked.append(host)
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            pass
        else:
            return real(host, port, *args, **kwargs)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    return asked


def test_every_resolved_address_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(
        monkeypatch,
        {
            "hooks.example.com": ["93.184.216.34", "2606:4700::1111"],
            "sneaky.example.com": ["93.184.216.34", "10.0.0.5"],
            "mapped.example.com": ["::ffff:192.168.0.1"],
        },
    )
    assert len(check_webhook_url("https://hooks.example.com/x", allow_private=False).addresses) == 2
    with pytest.raises(WebhookURLRejected, match=re.escape("10.0.0.5 (private address)")):
        check_webhook_url("https://sneaky.example.com/x", allow_private=False)
    with pytest.raises(WebhookURLRejected, match="private"):
        check_webhook_url("https://mapped.example.com/x", allow_private=False)


def test_setting_allows_private_addresses(settings: Any) -> None:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "WEBHOOK_ALLOW_PRIVATE": True}
    assert check_webhook_url("http://127.0.0.1:8000/h").host == "127.0.0.1"
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "WEBHOOK_ALLOW_PRIVATE": False}
    with pytest.raises(WebhookURLRejected):
        check_webhook_url("http://127.0.0.1:8000/h")


def test_pinned_request_keeps_name_for_host_header_and_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    resolved = check_webhook_url("https://hooks.example.com:8443/a/b?t=1", allow_private=False)
    url, headers, extensions = webhooks._pinned_request(resolved)
    assert url == "https://93.184.216.34:8443/a/b?t=1"
    assert headers == {"Host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}


class Server:
    def __init__(self, status: int = 200, location: str = "") -> None:
        self.bodies: list[dict[str, Any]] = []
        self.hosts: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.bodies.append(json.loads(self.rfile.read(length)))
                server.hosts.append(str(self.headers.get("Host")))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def allow_private(settings: Any) -> Iterator[None]:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "WEBHOOK_ALLOW_PRIVATE": True}
    yield


def test_a_redirect_is_not_followed(allow_private: None) -> None:
    target = Server()
    redirector = Server(status=307, location=target.url)
    try:
        delivery = deliver(redirector.url, {"request_id": "r1"})
        assert delivery.outcome == "gave_up" and "redirect" in delivery.detail
        assert redirector.bodies == [{"request_id": "r1"}]
        assert target.bodies == []
    finally:
        target.close()
        redirector.close()


def test_the_url_is_checked_again_when_sending(settings: Any) -> None:
    receiver = Server()
    try:
        settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "WEBHOOK_ALLOW_PRIVATE": False}
        delivery = deliver(receiver.url, {"request_id": "r2"})
        assert delivery.outcome == "gave_up" and "loopback address" in delivery.detail
        assert receiver.bodies == []
    finally:
        receiver.close()


def test_a_server_error_is_worth_a_retry(allow_private: None) -> None:
    receiver = Server(status=503)
    try:
        delivery = deliver(receiver.url, {"request_id": "r3"})
        assert (delivery.outcome, delivery.status_code) == ("retry", 503)
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()


def test_a_client_error_is_not_retried(allow_private: None) -> None:
    receiver = Server(status=404)
    try:
        delivery = deliver(receiver.url, {"request_id": "r4"})
        assert (delivery.outcome, delivery.status_code) == ("gave_up", 404)
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()


def test_an_international_host_name_is_sent_as_punycode(
    allow_private: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = fake_dns(monkeypatch, {"xn--bcher-kva.example": ["127.0.0.1"]})
    receiver = Server()
    port = receiver.httpd.server_address[1]
    try:
        resolved = check_webhook_url(f"http://Bücher.example:{port}/h?q=1")
        assert resolved.host == "xn--bcher-kva.example"
        assert resolved.url == f"http://xn--bcher-kva.example:{port}/h?q=1"
        assert deliver(f"http://bücher.example:{port}/h", {"request_id": "r5"}).outcome == (
            "delivered"
        )
        assert receiver.hosts == [f"xn--bcher-kva.example:{port}"]
        assert "bücher.example" not in asked and "xn--bcher-kva.example" in asked
    finally:
        receiver.close()


def test_an_invalid_international_host_name_is_refused() -> None:
    with pytest.raises(WebhookURLRejected, match="not a valid international domain name"):
        check_webhook_url("http://a‍bé.example/h", allow_private=False)
