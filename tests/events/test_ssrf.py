"""The SSRF guard: which webhook URLs are refused, and connections pinned to the checked address.

Real name resolution only (``localhost``, address literals, the reserved ``.invalid`` TLD) and
real servers on 127.0.0.1; nothing is mocked.
"""

from __future__ import annotations

import http.client
import ipaddress
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from sublarr.plugins.hooks.ssrf import (
    AllowList,
    DeliveryRefused,
    Target,
    check_url,
    is_metadata_address,
    non_public_reason,
    open_connection,
)
from tests.conftest import server_missing


def refused(url: str, allowed=()) -> str:
    with pytest.raises(DeliveryRefused) as info:
        check_url(url, allowed)
    return str(info.value)


# -- schemes and URL shape ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:70/",
                                 "javascript:alert(1)", "example.com/hook", "dict://127.0.0.1:11211/"])
def test_only_http_and_https(url):
    assert "is not allowed (only http and https)" in refused(url, ["0.0.0.0/0"])


def test_url_without_host_or_with_bad_port():
    assert "names no host" in refused("http:///hook")
    assert "malformed" in refused("http://127.0.0.1:99999/")


def test_public_address_passes_and_target_keeps_path_query_and_port():
    target = check_url("https://8.8.8.8:8443/a/b?x=1&y=2")
    assert target == Target("https", "8.8.8.8", 8443, "/a/b?x=1&y=2", ("8.8.8.8",))
    assert check_url("http://8.8.8.8").path == "/" and check_url("http://8.8.8.8").port == 80
    assert target.origin == "https://8.8.8.8:8443"


def test_basic_auth_from_the_url_becomes_a_header():
    target = check_url("http://user:p%40ss@8.8.8.8/hook")
    assert target.authorization == "Basic dXNlcjpwQHNz"  # base64("user:p@ss")
    assert "p%40ss" not in target.origin and "user" not in target.origin


# -- non-public addresses ---------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one decimal number: resolved, then checked
    ("http://10.0.0.5/hook", "private"),
    ("http://192.168.1.20/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://100.64.0.1/hook", "not globally routable"),  # carrier-grade NAT
    ("http://[fc00::1]/hook", "private"),
    ("http://[::ffff:10.0.0.1]/hook", "private"),  # IPv4-mapped IPv6
    ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 carrying 127.0.0.1
    ("http://[::7f00:1]/hook", "loopback"),  # IPv4-compatible ::127.0.0.1
    ("http://[::ffff:0:a00:1]/hook", "private"),  # IPv4-translated (SIIT) 10.0.0.1
    ("http://192.0.0.100/hook", "not globally routable"),  # IETF protocol assignments (Python 3.11 calls it global)
])
def test_non_public_addresses_are_refused_unless_allow_listed(url, reason):
    message = refused(url)
    assert f"is a {reason} address" in message and "webhook_allowed_hosts" in message
    network = "::/0" if "[" in url else "0.0.0.0/0"
    assert check_url(url, [network]).addresses  # an allow-listed network lets it through


def test_allow_list_by_address():
    assert check_url("http://127.0.0.1:8080/hook", ["127.0.0.1"]).addresses == ("127.0.0.1",)
    assert check_url("http://[::1]:8080/hook", ["::1"]).addresses == ("::1",)


def test_a_name_resolving_to_loopback_is_refused():
    message = refused("http://localhost:8080/hook")
    assert message.startswith("refused: localhost resolves to ") and "loopback" in message


def test_allow_list_by_host_name_covers_every_address_it_resolves_to():
    target = check_url("http://localhost:8080/hook", ["LOCALHOST."])
    assert target.host == "localhost"
    assert all(ipaddress.ip_address(a).is_loopback for a in target.addresses)


def test_allow_list_by_cidr():
    assert check_url("http://10.1.2.3/", ["10.0.0.0/8"]).addresses == ("10.1.2.3",)
    assert "private" in refused("http://10.1.2.3/", ["192.168.0.0/16", "10.1.2.4"])


def test_allow_list_entries():
    allow = AllowList(["nas.lan", "*.home.arpa", "192.168.1.0/24", " ", "fd12::/16", "[::1]"])
    assert allow.covers_name("NAS.lan.") and not allow.covers_name("other.lan")
    assert allow.covers_name("media.home.arpa") and not allow.covers_name("home.arpa")
    assert allow.covers_address(ipaddress.ip_address("192.168.1.7"))
    assert not allow.covers_address(ipaddress.ip_address("192.168.2.7"))
    assert allow.covers_address(ipaddress.ip_address("fd12::5"))
    assert allow.covers_address(ipaddress.ip_address("::1"))


# -- cloud metadata: refused always ------------------------------------------------------------------

ALLOW_EVERYTHING = ["0.0.0.0/0", "::/0", "169.254.169.254", "169.254.0.0/16", "fe80::/10", "192.0.0.0/24", "metadata.google.internal", "metadata.goog",
                    "fd00:ec2::254", "100.100.100.200"]


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://2852039166/",  # 169.254.169.254 as one decimal number
    # issue 15 item 4: these passed
    "http://192.0.0.192/",  # Oracle Cloud metadata
    "http://169.254.0.23/",  # anywhere in 169.254.0.0/16
    "http://169.254.10.10/",
    "http://[::a9fe:a9fe]/",  # IPv4-compatible
    "http://[fe80::a9fe:a9fe]/",  # link-local carrying it
    "http://[fe80::1]/",  # all of fe80::/10, the IPv6 link-local range
    "http://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated
    "http://[2002:a9fe:a9fe::]/",  # 6to4
    "http://[64:ff9b:1:a9fe:a9:fe00::]/",  # NAT64 local-use prefix, /48 layout
    "http://[2001:db8:64::a9fe:a9fe]/",  # an operator's own NAT64 /96 prefix
    "http://[::5efe:a9fe:a9fe]/",  # ISATAP
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo, client 169.254.169.254 (obfuscated)
])
def test_metadata_addresses_are_refused_even_when_allow_listed(url):
    assert "cloud metadata address (always blocked)" in refused(url, ALLOW_EVERYTHING)


@pytest.mark.parametrize("host", ["metadata.google.internal", "Metadata.Google.Internal.", "metadata.goog"])
def test_metadata_host_names_are_refused_before_any_lookup(host):
    assert "cloud metadata endpoint (always blocked)" in refused(f"http://{host}/computeMetadata/v1/",
                                                                 ALLOW_EVERYTHING)


def test_address_classification():
    assert non_public_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert non_public_reason(ipaddress.ip_address("2606:4700:4700::1111")) is None
    assert non_public_reason(ipaddress.ip_address("::1")) == "loopback"
    assert is_metadata_address(ipaddress.ip_address("169.254.169.254"))
    assert is_metadata_address(ipaddress.ip_address("169.254.169.253"))  # all of 169.254.0.0/16
    assert not is_metadata_address(ipaddress.ip_address("169.253.169.254"))
    assert not is_metadata_address(ipaddress.ip_address("2606:4700:4700::1111"))
    assert non_public_reason(ipaddress.ip_address("192.0.0.192")) == "not globally routable"


def test_unresolvable_host_is_refused_without_retry():
    assert "cannot resolve host 'no-such-host.invalid'" in refused("http://no-such-host.invalid/hook", ["*.invalid"])


# -- the pinned connection ----------------------------------------------------------------------------

class _EchoHost(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = (self.headers.get("Host") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(server: HTTPServer):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


def test_connection_goes_to_the_checked_address_without_a_second_lookup():
    """The host name never resolves (.invalid); the request still reaches the checked address and
    carries the name in its Host header: the connection used the address the guard checked."""
    server = HTTPServer(("127.0.0.1", 0), _EchoHost)
    thread = _serve(server)
    try:
        port = server.server_address[1]
        target = Target("http", "webhooks.invalid", port, "/hook", ("127.0.0.1",))
        connection = open_connection(target, timeout=5)
        try:
            connection.request("POST", target.path, body=b"{}")
            response = connection.getresponse()
            assert response.status == 200
            assert response.read() == f"webhooks.invalid:{port}".encode()
        finally:
            connection.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_connection_tries_the_next_checked_address_when_one_refuses():
    server = HTTPServer(("127.0.0.1", 0), _EchoHost)
    thread = _serve(server)
    try:
        port = server.server_address[1]
        # The server listens on IPv4 only: ::1 refuses (or is unreachable without IPv6), 127.0.0.1 answers.
        target = Target("http", "multi.invalid", port, "/", ("::1", "127.0.0.1"))
        connection = open_connection(target, timeout=5)
        try:
            connection.request("POST", "/", body=b"")
            assert connection.getresponse().status == 200
        finally:
            connection.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def tls_certificate(tmp_path_factory):
    """A self-signed certificate for the name ``sublarr.test`` (openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        server_missing("openssl", "not on PATH (needed to make a test certificate)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=sublarr.test",
                    "-addext", "subjectAltName=DNS:sublarr.test"], check=True, capture_output=True)
    return cert, key


def test_https_uses_the_host_name_for_sni_and_the_certificate_check(tls_certificate):
    cert, key = tls_certificate
    server = HTTPServer(("127.0.0.1", 0), _EchoHost)
    seen_sni: list[str | None] = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda sock, name, ctx: seen_sni.append(name)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = _serve(server)
    client_context = ssl.create_default_context(cafile=str(cert))
    try:
        port = server.server_address[1]
        good = Target("https", "sublarr.test", port, "/hook", ("127.0.0.1",))
        connection = open_connection(good, timeout=5, context=client_context)
        try:
            connection.request("POST", "/hook", body=b"{}")
            assert connection.getresponse().status == 200
        finally:
            connection.close()
        assert seen_sni == ["sublarr.test"]

        # Same address, another name: the certificate does not match the name, so it is refused.
        wrong = Target("https", "other.test", port, "/hook", ("127.0.0.1",))
        connection = open_connection(wrong, timeout=5, context=client_context)
        try:
            with pytest.raises(ssl.SSLCertVerificationError):
                connection.request("POST", "/hook", body=b"{}")
        finally:
            connection.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_pinned_connection_reports_refusal_of_every_address():
    from tests.events.conftest import closed_port

    target = Target("http", "closed.invalid", closed_port(), "/", ("127.0.0.1",))
    connection = open_connection(target, timeout=2)
    with pytest.raises(ConnectionRefusedError):
        connection.request("POST", "/", body=b"")
    connection.close()
    assert isinstance(connection, http.client.HTTPConnection)
