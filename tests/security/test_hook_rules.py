"""Webhook SSRF guard and script-hook path rules: every refused case, table-driven, plus controls.

The guard (``sublarr.plugins.hooks.ssrf.check_url``) must refuse non-http(s) schemes, URLs without
a host, loopback / private / link-local / multicast / unspecified / otherwise non-global
addresses in every spelling (decimal, hex, octal, short forms, IPv6, IPv4 embedded in IPv6),
names that resolve to such addresses, and cloud metadata endpoints even when allow-listed. The
allow-list lets exactly what it names through. End to end, a refused webhook never reaches the
(listening) local server, and the refusal is logged without the URL's credentials.

Script hooks (``validate_script_path``) run only executable regular files whose real path lies
inside ``hooks_dir``: traversal, absolute paths elsewhere, symlinks (file or directory) leading
out, prefix look-alikes, the folder itself, directories, missing and non-executable files are
refused, at creation and again at run time; a refused script never runs.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sublarr.plugins.hooks.scripts import ScriptRefused, run_script_hook, validate_script_path
from sublarr.plugins.hooks.ssrf import DeliveryRefused, check_url
from sublarr.plugins.hooks.webhooks import deliver_webhook
from tests.conftest import boot
from tests.webhook_rows import store_webhook

# -- webhook URLs ----------------------------------------------------------------------------------

REFUSED_URLS = [
    # (url, words one of which the refusal names)
    ("file:///etc/passwd", "scheme"), ("ftp://example.com/x", "scheme"), ("gopher://127.0.0.1:70/_x", "scheme"),
    ("javascript:alert(1)", "scheme"), ("data:text/plain,hi", "scheme"), ("ws://example.com/", "scheme"),
    ("dict://127.0.0.1:11211/", "scheme"), ("//example.com/x", "scheme"), ("example.com/x", "scheme"),
    ("http:///x", "no host"), ("http://:80/x", "no host"), ("http://example.com:99999/", "malformed"),
    # loopback, every spelling
    ("http://127.0.0.1/", "loopback"), ("http://127.1/", "loopback"), ("http://127.255.255.254:8080/", "loopback"),
    ("http://0x7f000001/", "loopback"), ("http://2130706433/", "loopback"), ("http://0177.0.0.1/", "loopback"),
    ("http://[::1]/", "loopback"), ("http://[0:0:0:0:0:0:0:1]:80/", "loopback"),
    ("http://localhost/", "loopback"), ("http://LOCALHOST./", "loopback"), ("https://localhost:8443/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "private loopback"), ("http://[2002:7f00:1::]/", "private loopback reserved"),
    # private, link-local, multicast, unspecified, other non-global ranges
    ("http://10.0.0.1/", "private"), ("http://10.255.255.255/", "private"), ("http://172.16.0.1/", "private"),
    ("http://172.31.255.255/", "private"), ("http://192.168.1.1/", "private"), ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"), ("http://169.254.1.1/", "link-local metadata"),
    ("http://[fe80::1]/", "link-local metadata"),
    ("http://224.0.0.1/", "multicast"), ("http://239.255.255.250:1900/", "multicast"), ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0/", "unspecified"), ("http://0/", "unspecified"), ("http://[::]/", "unspecified"),
    ("http://100.64.0.1/", "private routable"), ("http://192.0.2.1/", "private routable"),
    ("http://198.18.0.1/", "private routable"), ("http://240.0.0.1/", "reserved private routable"),
    ("http://255.255.255.255/", "reserved private routable"),
    # user-info and fragment tricks: the host that counts is the one after the last @
    ("http://example.com@127.0.0.1/", "loopback"), ("http://user:pw@10.0.0.1/x", "private"),
    ("http://127.0.0.1#@example.com/", "loopback"), ("http://127.0.0.1:80?@example.com/", "loopback"),
]

METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/", "http://169.254.169.254./", "http://2852039166/",
    "http://0xa9fea9fe/", "http://[::ffff:169.254.169.254]/", "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fd00:ec2::254]/", "http://100.100.100.200/", "http://168.63.129.16/", "http://169.254.170.2/v2/",
    "http://metadata.google.internal/computeMetadata/v1/", "http://Metadata.Google.Internal./", "http://metadata.goog/",
    # issue 15 item 4: these passed the guard (192.0.0.192 even with no allow-list)
    "http://192.0.0.192/opc/v2/", "http://169.254.0.23/", "http://[::a9fe:a9fe]/", "http://[fe80::a9fe:a9fe]/",
    "http://[::ffff:0:a9fe:a9fe]/", "http://[2002:a9fe:a9fe::]/", "http://[64:ff9b:1:a9fe:a9:fe00::]/",
    "http://[2001:db8:64::a9fe:a9fe]/", "http://[::5efe:a9fe:a9fe]/", "http://[::ffff:169.254.0.23]/",
]
ALLOW_EVERYTHING = ["0.0.0.0/0", "::/0", "169.254.0.0/16", "fe80::/10", "192.0.0.0/24", "*.internal", "metadata.google.internal",
                    "metadata.goog", "*.goog", "100.64.0.0/10", "168.63.0.0/16"]

ALLOWED = [  # (url, allow-list): the guard lets these through (no connection is made by check_url)
    ("http://93.184.216.34/hook", []),
    ("https://[2606:2800:220:1:248:1893:25c8:1946]/hook", []),
    ("http://127.0.0.1:8080/x", ["127.0.0.1"]),
    ("http://10.1.2.3/x", ["10.0.0.0/8"]),
    ("http://192.168.1.10:8123/api", ["192.168.1.0/24"]),
    ("http://localhost:1234/", ["localhost"]),
    ("http://[fd12::5]/", ["fd12::/16"]),
]
NOT_ALLOWED = [  # an allow-list covers what it names, nothing more
    ("http://192.168.1.1/", ["10.0.0.0/8"]), ("http://10.0.0.3/", ["10.0.0.1/32", "10.0.0.2"]), ("http://127.0.0.1/", ["localhost.example"]),
    ("http://[::1]/", ["127.0.0.1"]), ("http://127.0.0.1/", ["::1"]), ("http://172.16.0.1/", ["*.lan"]),
]


@pytest.mark.parametrize("url, words", REFUSED_URLS, ids=[u for u, _ in REFUSED_URLS])
def test_refused_webhook_urls(url, words):
    with pytest.raises(DeliveryRefused) as caught:
        check_url(url)
    message = str(caught.value)
    assert message.startswith("refused:")
    assert any(word in message for word in words.split()), message


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_endpoints_are_refused_even_when_everything_is_allow_listed(url):
    with pytest.raises(DeliveryRefused) as caught:
        check_url(url, ALLOW_EVERYTHING)
    assert "metadata" in str(caught.value)


@pytest.mark.parametrize("url, allowed", ALLOWED)
def test_allowed_targets_pass(url, allowed):
    target = check_url(url, allowed)
    assert target.addresses and target.scheme in ("http", "https")


@pytest.mark.parametrize("url, allowed", NOT_ALLOWED)
def test_allow_list_covers_only_what_it_names(url, allowed):
    with pytest.raises(DeliveryRefused):
        check_url(url, allowed)


def test_this_machines_own_name_is_refused():
    """The host's own name resolves to a loopback or private address on a server; refused like one."""
    host = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        pytest.skip(f"{host} does not resolve here")
    if all(ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        pytest.skip(f"{host} resolves to public addresses {addresses}")
    with pytest.raises(DeliveryRefused):
        check_url(f"http://{host}:8080/")


class Listener(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def listener():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    server.hits = 0
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433"])
def test_refused_delivery_never_reaches_the_local_server(host, listener, tmp_path, caplog):
    port = listener.server_address[1]
    kernel = boot(f"sqlite:///{tmp_path / 'ssrf.db'}")
    try:
        hooks = kernel.repo("hooks")
        url = f"http://admin:hunter2-pw@{host}:{port}/admin?token=tok-123"
        with pytest.raises(DeliveryRefused) as saved:  # refused when saved, with the delivery's message
            hooks.create_webhook("local", "*", url, secret="s3cret", retry_count=3)
        webhook = store_webhook(kernel, "local", "*", url, secret="s3cret", retry_count=3)  # a legacy row
        result = deliver_webhook(kernel, webhook, "config_updated", {"keys": []})
        assert str(saved.value) == result.error
        assert not result.success and result.error.startswith("refused:") and result.attempts == 0
        assert listener.hits == 0
        log = hooks.get_hook_logs(webhook_id=webhook["id"])[0]
        assert log["success"] == 0 and log["error"].startswith("refused:")
        for text in (result.error, log["error"], *(r.getMessage() for r in caplog.records)):
            assert "hunter2-pw" not in text and "tok-123" not in text
    finally:
        kernel.close()


def test_allow_listed_delivery_reaches_the_local_server(listener, tmp_path):
    """The control: the same webhook is delivered once 127.0.0.1 is allow-listed."""
    kernel = boot(f"sqlite:///{tmp_path / 'ssrf.db'}", webhook_allowed_hosts=["127.0.0.1"])
    try:
        webhook = kernel.repo("hooks").create_webhook("local", "*", f"http://127.0.0.1:{listener.server_address[1]}/h")
        assert deliver_webhook(kernel, webhook, "config_updated", {"keys": []}).success
        assert listener.hits == 1
    finally:
        kernel.close()


# -- script hooks ----------------------------------------------------------------------------------

def executable(path: Path, body: str = "exit 0") -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def layout(tmp_path) -> dict[str, Path]:
    """hooks/ with good scripts and every kind of trap; outside/ with a script that must never run."""
    hooks = tmp_path / "hooks"
    (hooks / "nested").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = tmp_path / "outside-ran"
    executable(outside / "evil.sh", f"touch {marker}")
    executable(hooks / "good.sh")
    executable(hooks / "nested" / "deep.sh")
    (hooks / "plain.sh").write_text("#!/bin/sh\nexit 0\n")  # not executable
    (hooks / "adir").mkdir()
    (hooks / "link-out.sh").symlink_to(outside / "evil.sh")
    (hooks / "link-in.sh").symlink_to(hooks / "good.sh")
    (hooks / "dir-out").symlink_to(outside, target_is_directory=True)
    (hooks / "link-dev").symlink_to("/dev/null")
    (hooks / "dangling.sh").symlink_to(tmp_path / "nowhere.sh")
    look_alike = tmp_path / "hooks-evil"
    look_alike.mkdir()
    executable(look_alike / "x.sh", f"touch {marker}")
    return {"hooks": hooks, "outside": outside, "marker": marker, "tmp": tmp_path, "look_alike": look_alike}


REFUSED_SCRIPTS = [
    # (path relative to tmp_path, or absolute with a {placeholder}; words one of which the refusal names)
    ("{outside}/evil.sh", "outside"), ("/bin/sh", "outside"), ("/etc/passwd", "outside"),
    ("../outside/evil.sh", "outside"), ("nested/../../outside/evil.sh", "outside"),
    ("{hooks}/../outside/evil.sh", "outside"), ("link-out.sh", "outside"), ("dir-out/evil.sh", "outside"),
    ("link-dev", "outside"), ("{look_alike}/x.sh", "outside"), ("../hooks-evil/x.sh", "outside"),
    ("~/evil.sh", "outside"), ("", "empty"), ("   ", "empty"), (".", "outside"), ("{hooks}", "outside"),
    ("nested/..", "outside"), ("adir", "not a regular file"), ("nested", "not a regular file"),
    ("plain.sh", "not executable"), ("missing.sh", "not found"), ("dangling.sh", "outside not found"),
]


def resolve(template: str, layout: dict[str, Path]) -> str:
    return template.format(**{k: str(v) for k, v in layout.items()})


@pytest.mark.parametrize("script, words", REFUSED_SCRIPTS, ids=[s or "(empty)" for s, _ in REFUSED_SCRIPTS])
def test_refused_script_paths(script, words, layout):
    with pytest.raises(ScriptRefused) as caught:
        validate_script_path(resolve(script, layout), layout["hooks"])
    message = str(caught.value).lower()
    assert any(word in message for word in words.split()), message
    assert not layout["marker"].exists()


@pytest.mark.parametrize("script", ["good.sh", "nested/deep.sh", "link-in.sh", "{hooks}/good.sh", "./good.sh",
                                    "nested/../good.sh"])
def test_accepted_script_paths(script, layout):
    real = validate_script_path(resolve(script, layout), layout["hooks"])
    assert real.is_relative_to(os.path.realpath(layout["hooks"]))


def test_hooks_dir_that_is_missing_refuses_everything(layout):
    with pytest.raises(ScriptRefused):
        validate_script_path("good.sh", layout["tmp"] / "no-such-folder")


@pytest.mark.parametrize("script", ["{outside}/evil.sh", "link-out.sh", "dir-out/evil.sh", "../hooks-evil/x.sh"])
def test_a_refused_hook_never_runs_and_is_logged(script, layout):
    kernel = boot(f"sqlite:///{layout['tmp'] / 'hooks.db'}", hooks_dir=str(layout["hooks"]))
    try:
        hooks = kernel.repo("hooks")
        hook = hooks.create_hook("trap", "config_updated", resolve(script, layout))
        result = run_script_hook(kernel, hook, "config_updated", {"keys": []})
        assert not result.success and result.exit_code == -1 and "refused" in result.error.lower()
        assert not layout["marker"].exists(), "the script outside hooks_dir ran"
        log = hooks.get_hook_logs(hook_id=hook["id"])[0]
        assert log["success"] == 0 and "refused" in log["error"].lower()
    finally:
        kernel.close()


def test_a_script_swapped_for_a_symlink_after_creation_is_refused_at_run_time(layout):
    kernel = boot(f"sqlite:///{layout['tmp'] / 'hooks.db'}", hooks_dir=str(layout["hooks"]))
    try:
        target = executable(layout["hooks"] / "swap.sh")
        validate_script_path(target, layout["hooks"])  # accepted when it was created
        hook = kernel.repo("hooks").create_hook("swap", "config_updated", str(target))
        target.unlink()
        target.symlink_to(layout["outside"] / "evil.sh")
        result = run_script_hook(kernel, hook, "config_updated", {"keys": []})
        assert not result.success and "refused" in result.error.lower()
        assert not layout["marker"].exists()
    finally:
        kernel.close()
