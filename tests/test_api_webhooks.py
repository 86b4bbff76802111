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
from django_voxtral.webhooks import WebhookURLRejected, check_webhook_url, send
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


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)


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
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.bodies.append(json.loads(self.rfile.read(length)))
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


def test_send_does_not_follow_redirects(allow_private: None) -> None:
    target = Server()
    redirector = Server(status=307, location=target.url)
    try:
        assert send(redirector.url, {"request_id": "r1"}) is False
        assert redirector.bodies == [{"request_id": "r1"}]
        assert target.bodies == []
    finally:
        target.close()
        redirector.close()


def test_send_rechecks_the_url_when_sending(settings: Any) -> None:
    receiver = Server()
    try:
        settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "WEBHOOK_ALLOW_PRIVATE": False}
        assert send(receiver.url, {"request_id": "r2"}) is False
        assert receiver.bodies == []
    finally:
        receiver.close()


def test_send_gives_up_after_a_few_attempts(
    allow_private: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "BACKOFF", (0.01, 0.01))
    receiver = Server(status=500)
    try:
        assert send(receiver.url, {"request_id": "r3"}) is False
        assert len(receiver.bodies) == webhooks.ATTEMPTS
    finally:
        receiver.close()


def test_send_does_not_retry_a_client_error(allow_private: None) -> None:
    receiver = Server(status=404)
    try:
        assert send(receiver.url, {"request_id": "r4"}) is False
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()
