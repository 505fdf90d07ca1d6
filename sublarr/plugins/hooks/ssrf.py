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

Every IPv6 form that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
``::a.b.c.d``, IPv4-translated, 6to4, NAT64, Teredo, ISATAP, a link-local ``fe80::a.b.c.d``) is
checked as the embedded address too: ``64:ff9b::a9fe:a9fe`` reaches 169.254.169.254 through a NAT64
gateway. The whole link-local range 169.254.0.0/16 (and fe80::/10) counts as cloud metadata, and
the IANA special-purpose ranges (192.0.0.0/24, ...) are non-public whatever the Python release says.

:func:`check_url` runs when a webhook is created or its URL changed (the same refusal, the same
message; a host name that does not resolve at that moment is accepted there and checked again at
delivery) and again before every delivery.

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
    "192.0.0.192",  # Oracle Cloud Infrastructure (IMDS, alternative address)
))
# Whole ranges refused even when allow-listed: every link-local address (169.254.0.0/16 holds the
# metadata services of most clouds, and others, e.g. 169.254.0.23, on some; fe80::/10 is its IPv6
# counterpart and can carry one in its low 32 bits, fe80::a9fe:a9fe) and AWS's IPv6 IMDS prefix.
METADATA_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::/32"))

# IANA special-purpose ranges that are not globally reachable. Python's ``is_global`` depends on the
# Python release (3.11.7 calls 192.0.0.192 global); this table makes the guard the same everywhere.
SPECIAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24",
    "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32",
    "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the low 32 bits are IPv4
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefix, any RFC 6052 length
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (but :: and ::1 are themselves)
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d (RFC 2765)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DeliveryRefused(ValueError):
    """The guard refused a target. The message is the clear error that ends up in ``hook_log``;
    ``create_webhook``/``update_webhook`` raise it as it is (a ``ValueError``)."""


class HostUnresolved(DeliveryRefused):
    """The host name did not resolve: refused at delivery, accepted when a webhook is saved (DNS may
    be down for a moment, and the delivery checks the answer it gets then)."""


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


def _rfc6052(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address an RFC 6052 IPv4-embedded IPv6 address carries for a prefix of that length
    (bits 64..71, the "u" octet, never hold address bits)."""
    octets = address.packed
    positions = {32: (4, 5, 6, 7), 40: (5, 6, 7, 9), 48: (6, 7, 9, 10), 56: (7, 9, 10, 11),
                 64: (9, 10, 11, 12), 96: (12, 13, 14, 15)}[prefix_length]
    return ipaddress.IPv4Address(bytes(octets[i] for i in positions))


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address plus every IPv4 address an IPv6 form carries: IPv4-mapped, IPv4-compatible,
    IPv4-translated, 6to4, Teredo (server and client), NAT64 (well-known and local-use prefixes),
    ISATAP, and the low 32 bits of a link-local address (``fe80::a9fe:a9fe``). Each one is checked
    as if it were the address itself."""
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if (address in _IPV4_COMPATIBLE and int(address) > 1) or address in _IPV4_TRANSLATED or address in _NAT64:
            found.append(low32)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64_LOCAL:
            found.extend(_rfc6052(address, length) for length in (48, 56, 64, 96))
        if (int(address) >> 32) & 0xFDFFFFFF == 0x5EFE:  # ISATAP interface id ::0[2]00:5efe:a.b.c.d
            found.append(low32)
        if address in METADATA_NETWORKS[1]:  # link-local
            found.append(low32)
    return list(dict.fromkeys(found))


def non_public_reason(address: IPAddress) -> str | None:
    """Why an address is not a public internet address ("loopback", ...), or None when it is.
    An IPv6 form that embeds an IPv4 address is judged by the embedded address too."""
    found = _embedded(address)
    for candidate in [*found[1:], found[0]]:  # the embedded address says more: "::7f00:1" is loopback
        reason = _own_non_public_reason(candidate)
        if reason:
            return reason
    return None


def _own_non_public_reason(candidate: IPAddress) -> str | None:
    for reason, flag in (("unspecified", candidate.is_unspecified), ("loopback", candidate.is_loopback),
                         ("link-local", candidate.is_link_local), ("multicast", candidate.is_multicast),
                         ("private", candidate.is_private), ("reserved", candidate.is_reserved),
                         ("not globally routable", not candidate.is_global
                          or any(candidate in net for net in SPECIAL_NETWORKS if net.version == candidate.version))):
        if flag:
            return reason
    return None


def is_metadata_address(address: IPAddress) -> bool:
    """A cloud metadata address or range (always refused), in any IPv6 form that embeds it. The
    low 32 bits of any IPv6 address that equal a metadata address count as well: an operator's
    own NAT64 prefix (RFC 6052 ``/96``) reaches it."""
    candidates = _embedded(address)
    if isinstance(address, ipaddress.IPv6Address):
        low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if low32 in METADATA_ADDRESSES:
            return True
    return any(candidate in METADATA_ADDRESSES
               or any(candidate in net for net in METADATA_NETWORKS if net.version == candidate.version)
               for candidate in candidates)


def _embedded_allowed(address: IPAddress, allow: AllowList) -> bool:
    """An IPv6 form that carries IPv4 addresses is judged as those addresses: allowed when the
    allow-list covers every non-public one (``::ffff:10.1.2.3`` with ``10.0.0.0/8``)."""
    embedded = _embedded(address)[1:]
    return bool(embedded) and all(allow.covers_address(c) for c in embedded if _own_non_public_reason(c))


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
        raise HostUnresolved(f"refused: cannot resolve host {host!r} ({exc})") from None
    # unique, resolver order kept; an AF_INET/AF_INET6 sockaddr starts with the address as text
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise HostUnresolved(f"refused: host {host!r} resolves to no address")

    name_allowed = allow.covers_name(host)
    for text in addresses:
        address = _parse_address(text)
        shown = host if host == text else f"{host} resolves to {text}, which"
        if is_metadata_address(address):
            raise DeliveryRefused(f"refused: {shown} is a cloud metadata address (always blocked)")
        reason = non_public_reason(address)
        if reason and not (name_allowed or allow.covers_address(address) or _embedded_allowed(address, allow)):
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
                self.sock = socket.create_connection((address, self.port), self.timeout,
                                                     self.source_address)  # type: ignore[attr-defined]  # set by HTTPConnection.__init__, missing from typeshed
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
