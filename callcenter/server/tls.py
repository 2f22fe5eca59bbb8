"""TLS for ``callcenter serve`` when it faces browsers itself (docs/deploy.md, "HTTPS").

Browsers open microphones and cameras only in a secure context (HTTPS, or localhost), so a server
that customers reach directly must speak TLS; behind a reverse proxy the proxy does, and this
stays off. The defaults follow Mozilla's "intermediate" profile: TLS 1.2 and 1.3 only, forward
secret AEAD ciphers for 1.2 (1.3's suites are all of that kind), no compression, no tickets
(session tickets would need their keys rotated, which a process that runs for months does not).
"""

from __future__ import annotations

import ssl
from pathlib import Path

# Mozilla intermediate (2024), TLS 1.2 part: ECDHE key exchange, AES-GCM or ChaCha20-Poly1305.
TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
])


class TlsError(Exception):
    """The certificate or key cannot be used; the message says which and why, in one line."""


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side context for the certificate chain in ``cert`` (leaf first, then
    intermediates, PEM) and its private key in ``key``."""
    for what, path in (("certificate", cert), ("key", key)):
        if not path.is_file():
            raise TlsError(f"the TLS {what} {path} does not exist")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_TICKET
    try:
        context.load_cert_chain(str(cert), str(key))
    except ssl.SSLError as exc:
        raise TlsError(f"the TLS certificate {cert} and key {key} cannot be used: "
                       f"{exc.reason or exc}") from None
    except OSError as exc:
        raise TlsError(f"cannot read the TLS certificate or key: {exc}") from None
    return context
