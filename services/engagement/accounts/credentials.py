"""Passwords (argon2id) and session ids. Hashing takes tens of milliseconds by design: it runs
in a thread, never on the event loop."""

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's second recommended argon2id profile (64 MiB, 3 passes).
_HASHER = PasswordHasher()
# Verified against when the address has no account, so both cases take the same time.
_NOBODY = _HASHER.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash or _NOBODY, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_hash(session_id: str) -> bytes:
    """What is stored and looked up: a leaked table names no usable session."""
    return hashlib.sha256(session_id.encode()).digest()
