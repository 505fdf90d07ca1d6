"""The SSRF guard of outgoing webhooks: which URLs may be reached, and a connection pinned to them.

The legacy layer only checked that a webhook URL started with ``http(s)://``, so any configured
webhook could reach loopback services, the LAN or the cloud metadata endpoint. The rules here:

- ``http`` and ``https`` only;
- the host is resolved ONCE per delivery (``socket.getaddrinfo``) and every resolved address is
  checked; the connection then goes to one of those checked addresses, never through a second
  lookup, so a DNS answer that changes between check and connect (rebinding) cannot slip past;
- loopback, private, link-local, multicast, reserved, unspecified and otherwise not globally
  routable addresses (CGNAT, documentation ranges, ...) are refused unless the host name or
  the address is covered by the ``webhook_allowed_hosts`` setting (host names, ``*.suffix``
  wildcards, addresses or CIDRs). Self-hosted users need LAN targets, so the allow-list
  exists, but it is explicit (GitLab and Gitea do the same);
- cloud metadata endpoints are refused ALWAYS, allow-listed or not: they hand out credentials.

IPv6 forms that carry an IPv4 address (``::ffff:a.b.c.d``, 6to4, NAT64, Teredo) are checked for
the embedded address too: ``64:ff9b::a9fe:a9fe`` reaches 169.254.169.254 through a NAT64 gateway.

Redirects are never followed (``http.client`` does not), so a public URL cannot bounce a
delivery to an internal one. Proxy variables (``HTTP_PROXY``...) are ignored for the same reason.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Refused even when allow-listed: instance metadata services hand out cloud credentials.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog"})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "169.254.170.2",  # AWS ECS task credentials
    "168.63.129.16",  # Azure WireServer
))

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the low 32 bits are IPv4
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DeliveryRefused(Exception):
    """The guard refused a target. The message is the clear error that ends up in ``hook_log``."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: where to connect (``addresses``) and what to say (``host``, ``path``)."""

    scheme: str
    host: str  # the name from the URL: Host header, TLS SNI and certificate check use it
    port: int
    path: str  # path and query, what goes on the request line
    addresses: tuple[str, ...]  # the checked addresses, in resolver order
    authorization: str | None = None  # "Basic ..." when the URL carries user:password

    @property
    def origin(self) -> str:
        """``scheme://host:port`` for messages: no user info, no path (webhook paths often hold tokens)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class AllowList:
    """The ``webhook_allowed_hosts`` entries: networks (``192.168.1.0/24``, ``10.0.0.5``), exact host
    names (``nas.lan``) and suffix wildcards (``*.lan`` matches ``nas.lan``, not ``lan``)."""

    def __init__(self, entries: Iterable[str] = ()):
        self.networks: list[IPNetwork] = []
        self.names: set[str] = set()
        self.suffixes: list[str] = []
        for raw in entries:
            entry = str(raw).strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = _normal_host(entry)
            if name.startswith("*."):
                self.suffixes.append(name[1:])  # keep the dot: "*.lan" -> ".lan"
            else:
                self.names.add(name)

    def covers_name(self, host: str) -> bool:
        host = _normal_host(host)
        return host in self.names or any(host.endswith(suffix) for suffix in self.suffixes)

    def covers_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def _normal_host(host: str) -> str:
    """Lower case, no trailing dot: ``Metadata.Google.Internal.`` is the metadata host too."""
    return host.strip().lower().rstrip(".")


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address plus any IPv4 address an IPv6 form carries (mapped, 6to4, NAT64, Teredo client)."""
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.teredo is not None:
            found.append(address.teredo[1])
    return found


def non_public_reason(address: IPAddress) -> str | None:
    """Why an address is not a public internet address ("loopback", ...), or None when it is."""
    for candidate in _embedded(address):
        for reason, flag in (("unspecified", candidate.is_unspecified), ("loopback", candidate.is_loopback),
                             ("link-local", candidate.is_link_local), ("multicast", candidate.is_multicast),
                             ("private", candidate.is_private), ("reserved", candidate.is_reserved),
                             ("not globally routable", not candidate.is_global)):
            if flag:
                return reason
    return None


def is_metadata_address(address: IPAddress) -> bool:
    return any(candidate in METADATA_ADDRESSES for candidate in _embedded(address))


def _parse_address(text: str) -> IPAddress:
    # getaddrinfo may return "fe80::1%eth0"; the scope does not change what the address is.
    return ipaddress.ip_address(text.split("%", 1)[0])


def check_url(url: str, allowed_hosts: Iterable[str] = ()) -> Target:
    """Parse and check a webhook URL, resolving its host once; raise :class:`DeliveryRefused`.

    The returned :class:`Target` lists the addresses that passed; connect only to those
    (:func:`open_connection`).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DeliveryRefused(f"refused: the URL is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise DeliveryRefused(f"refused: scheme {scheme or '(none)'!r} is not allowed (only http and https)")
    if not parts.hostname:
        raise DeliveryRefused("refused: the URL names no host")
    host = _normal_host(parts.hostname)
    port = port or _DEFAULT_PORTS[scheme]
    if host in METADATA_HOSTS:
        raise DeliveryRefused(f"refused: {host} is a cloud metadata endpoint (always blocked)")

    allow = AllowList(allowed_hosts)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryRefused(f"refused: cannot resolve host {host!r} ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))  # unique, resolver order kept
    if not addresses:
        raise DeliveryRefused(f"refused: host {host!r} resolves to no address")

    name_allowed = allow.covers_name(host)
    for text in addresses:
        address = _parse_address(text)
        shown = host if host == text else f"{host} resolves to {text}, which"
        if is_metadata_address(address):
            raise DeliveryRefused(f"refused: {shown} is a cloud metadata address (always blocked)")
        reason = non_public_reason(address)
        if reason and not (name_allowed or allow.covers_address(address)):
            raise DeliveryRefused(f"refused: {shown} is a {reason} address; add the host or its network "
                                  f"to webhook_allowed_hosts to allow it")

    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return Target(scheme, host, port, path, tuple(addresses), authorization)


# -- connecting to the checked addresses -----------------------------------------------------------

class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to already checked addresses; the Host header still names the host.

    ``connect()`` replaces the one DNS lookup ``http.client`` would do with :attr:`addresses`
    (set by :func:`open_connection`), tried in order like ``socket.create_connection`` tries
    its lookup results.
    """

    addresses: tuple[str, ...] = ()

    def connect(self) -> None:
        error: OSError | None = None
        for address in self.addresses:
            try:
                self.sock = socket.create_connection((address, self.port), self.timeout, self.source_address)
            except OSError as exc:
                error = exc
                continue
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not every platform has TCP_NODELAY; it is only an optimisation
                pass
            return
        raise error if error is not None else OSError("no checked address to connect to")


class PinnedHTTPSConnection(http.client.HTTPSConnection, PinnedHTTPConnection):
    """HTTPS over :class:`PinnedHTTPConnection`. In this MRO ``HTTPSConnection.connect`` calls
    ``super().connect()``, the pinned TCP connect, then wraps the socket with
    ``server_hostname=self.host``: SNI and the certificate check use the host name, not the address."""


def open_connection(target: Target, timeout: float,
                    context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    """A (not yet connected) connection to ``target``'s checked addresses.

    HTTPS verifies certificates with the system store (``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
    point OpenSSL elsewhere, e.g. at a LAN CA) unless ``context`` says otherwise.
    """
    connection: PinnedHTTPConnection
    if target.scheme == "https":
        connection = PinnedHTTPSConnection(target.host, target.port, timeout=timeout,
                                           context=context or ssl.create_default_context())
    else:
        connection = PinnedHTTPConnection(target.host, target.port, timeout=timeout)
    connection.addresses = target.addresses
    return connection
