"""TLS contexts built once from the settings, so a bad CA file fails before any connect."""

from __future__ import annotations

import functools
import ssl

from inspector.redis_io.settings import SettingsError, TLSSettings

__all__ = ["build_ssl_context"]


@functools.cache
def build_ssl_context(settings: TLSSettings) -> ssl.SSLContext:
    """Create the client-side SSL context for these TLS settings, once per process.

    Every client, runner and per-node connection of the process asks for it:
    caching it (the settings are frozen, hence hashable) reads the files once.
    Failures are not cached, so a fixed file is read again on the next call.

    Certificates and host names are verified unless ``insecure`` is set. With
    no ``--cacert``/``--cacertdir`` the system trust store is used, which covers
    the ACM certificates of ElastiCache's in-transit encryption.

    Args:
        settings: The TLS part of the connection settings.

    Returns:
        A ready context, shared by every connection made with these settings.

    Raises:
        SettingsError: A CA, certificate or key file cannot be loaded.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.ca_cert or settings.ca_dir:
        try:
            context.load_verify_locations(
                cafile=str(settings.ca_cert) if settings.ca_cert else None,
                capath=str(settings.ca_dir) if settings.ca_dir else None,
            )
        except (OSError, ssl.SSLError) as exc:
            what = (
                f"--cacert {settings.ca_cert}"
                if settings.ca_cert
                else f"--cacertdir {settings.ca_dir}"
            )
            raise SettingsError(f"{what}: cannot load CA certificates ({_reason(exc)})") from None
    if settings.cert and settings.key:
        try:
            context.load_cert_chain(certfile=str(settings.cert), keyfile=str(settings.key))
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(
                f"--cert {settings.cert} / --key {settings.key}: cannot load the client "
                f"certificate ({_reason(exc)})"
            ) from None
    if settings.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
