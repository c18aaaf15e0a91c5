"""TLS for platform-api2.max.ru: the system's CAs plus the Russian Trusted (Минцифры) CA.

MAX moved the Bot API to platform-api2.max.ru, whose certificate chains to the Russian Trusted
Root CA, which certifi and most systems lack (../shared/MAX_PROTOCOL.md §1). The PEM beside this
module holds the Russian Trusted Root CA and Sub CA exactly as the maxapi package ships them
(love-apples/maxapi, MIT, maxapi/client/russiantrustedca.pem at 96c379f); the certificates are
public, published by Минцифры on gosuslugi.ru. Root SHA-256 fingerprint:
D2:6D:2D:02:31:B7:C3:9F:92:CC:73:85:12:BA:54:10:35:19:E4:40:5D:68:B5:BD:70:3E:97:88:CA:8E:CF:31.
The Sub CA is valid until 2027-03-06, the root until 2032-02-27. Nothing is downloaded at run time.
"""

from __future__ import annotations

import ssl
from pathlib import Path

RUSSIAN_TRUSTED_CA = Path(__file__).with_name("russian_trusted_ca.pem")


def ssl_context(extra_ca: Path | None = RUSSIAN_TRUSTED_CA) -> ssl.SSLContext:
    """The default verifying context (system CAs) that also trusts `extra_ca` if it exists."""
    context = ssl.create_default_context()
    if extra_ca is not None and extra_ca.is_file():
        context.load_verify_locations(cafile=str(extra_ca))
    return context


__all__ = ["RUSSIAN_TRUSTED_CA", "ssl_context"]
