"""The accounts' SQL."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from services.engagement.community.models import PAGE_SIZE
from services.engagement.community.store import _like
from shared.auth import Grant
from shared.db import DbConnection

Db = DbConnection | asyncpg.Pool


async def insert_account(
    conn: Db, account_id: UUID, email: str, display_name: str, password_hash: str, *, is_demo: bool = False
) -> bool:
    """False when the address has an account already (nothing changes then)."""
    done: str = await conn.execute(
        """INSERT INTO accounts (id, email, display_name, password_hash, is_demo)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        account_id,
        email,
        display_name,
        password_hash,
        is_demo,
    )
    return done.endswith(" 1")


async def grant(conn: Db, account_id: UUID, grants: Sequence[Grant]) -> int:
    """How many of the roles were new (one held already changes nothing)."""
    done: str = await conn.execute(
        """INSERT INTO account_roles (account_id, role, scope)
           SELECT $1, * FROM unnest($2::text[], $3::uuid[]) ON CONFLICT DO NOTHING""",
        account_id,
        [g.role.value for g in grants],
        [g.scope for g in grants],
    )
    return int(done.rsplit(" ", 1)[1])


async def set_password(conn: Db, email: str, password_hash: str) -> UUID | None:
    account_id: UUID | None = await conn.fetchval(
        "UPDATE accounts SET password_hash = $2 WHERE lower(email) = lower($1) RETURNING id",
        email,
        password_hash,
    )
    return account_id


async def find_for_login(conn: Db, email: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, password_hash, disabled FROM accounts WHERE lower(email) = lower($1)", email
    )
    return row


async def account(conn: Db, account_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT a.id, a.email, a.display_name, a.disabled,
                  coalesce(array_agg(r.role || coalesce(':' || r.scope, '') ORDER BY r.role, r.scope)
                           FILTER (WHERE r.role IS NOT NULL), '{}') AS roles
           FROM accounts a LEFT JOIN account_roles r ON r.account_id = a.id
           WHERE a.id = $1 GROUP BY a.id""",
        account_id,
    )
    return row


# An admin's list: searched by a case-blind substring of the address or the name, a page at a
# time with the total; each role with the organisation's name or the CoP's topic it is held over.
_SUMMARY = """SELECT a.id, a.email, a.display_name, a.disabled, count(*) OVER () AS total,
                     coalesce(held.roles, '{}') AS roles, coalesce(held.names, '{}') AS names
              FROM accounts a LEFT JOIN LATERAL (
                  SELECT array_agg(r.role || coalesce(':' || r.scope, '') ORDER BY r.role, r.scope) AS roles,
                         array_agg(coalesce(o.name, c.topic, '') ORDER BY r.role, r.scope) AS names
                  FROM account_roles r
                  LEFT JOIN organisations o ON r.role = 'organizer' AND o.id = r.scope
                  LEFT JOIN cops c ON r.role = 'cop_lead' AND c.id = r.scope
                  WHERE r.account_id = a.id) held ON true"""


async def account_summaries(conn: Db, search: str, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""{_SUMMARY} WHERE a.email ILIKE $1 OR a.display_name ILIKE $1
            ORDER BY lower(a.email), a.id OFFSET $2 LIMIT $3""",
        _like(search),
        offset,
        PAGE_SIZE,
    )


async def account_summary(conn: Db, account_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_SUMMARY} WHERE a.id = $1", account_id)
    return row


async def scopes(conn: Db) -> list[asyncpg.Record]:
    """What a role can be held over, for a form's list: every organisation, then every CoP. A
    coalition has tens of them, not thousands."""
    return await conn.fetch(
        """SELECT * FROM (SELECT 'organizer' AS role, id, name FROM organisations
                         UNION ALL SELECT 'cop_lead', id, topic FROM cops) scoped
           ORDER BY role DESC, lower(name), id"""
    )


async def scope_exists(conn: Db, grant: Grant) -> bool:
    """Whether the organisation (organizer) or CoP (lead) a role names exists; admin needs none."""
    if grant.scope is None:
        return True
    found: bool = await conn.fetchval(
        """SELECT CASE $1 WHEN 'organizer' THEN EXISTS (SELECT FROM organisations WHERE id = $2)
                          ELSE EXISTS (SELECT FROM cops WHERE id = $2) END""",
        grant.role.value,
        grant.scope,
    )
    return found


async def revoke(conn: Db, account_id: UUID, grant: Grant) -> bool:
    """False when the account does not hold the role (or there is no such account)."""
    done: str = await conn.execute(
        "DELETE FROM account_roles WHERE account_id = $1 AND role = $2 AND scope IS NOT DISTINCT FROM $3",
        account_id,
        grant.role.value,
        grant.scope,
    )
    return done != "DELETE 0"


async def set_disabled(conn: Db, account_id: UUID, disabled: bool) -> bool | None:
    """Whether the account was disabled before; None when there is no such account."""
    was: bool | None = await conn.fetchval(
        """UPDATE accounts a SET disabled = $2
           FROM (SELECT id, disabled FROM accounts WHERE id = $1 FOR UPDATE) old
           WHERE a.id = old.id RETURNING old.disabled""",
        account_id,
        disabled,
    )
    return was


async def end_sessions(conn: Db, account_id: UUID) -> None:
    """Every session of the account (its index makes this one lookup)."""
    await conn.execute("DELETE FROM sessions WHERE account_id = $1", account_id)


async def lock_admins(conn: Db) -> None:
    """Until the transaction ends, no other one removes an admin's role or disables an account
    alongside this one: two admins taking admin from each other at once would otherwise both
    succeed and leave the platform without one."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('engagement.accounts.admins'))")


async def is_enabled_admin(conn: Db, account_id: UUID) -> bool:
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT FROM accounts a JOIN account_roles r ON r.account_id = a.id
                          WHERE a.id = $1 AND NOT a.disabled AND r.role = 'admin')""",
        account_id,
    )
    return found


async def start_session(
    conn: Db, id_hash: bytes, account_id: UUID, lifetime: timedelta, replaced: bytes | None
) -> None:
    """A new session; the one the browser had (``replaced``), if any, ends: ids rotate at sign-in."""
    await conn.execute(
        """WITH ended AS (DELETE FROM sessions WHERE id_hash = $4)
           INSERT INTO sessions (id_hash, account_id, expires_at) VALUES ($1, $2, clock_timestamp() + $3)""",
        id_hash,
        account_id,
        lifetime,
        replaced,
    )


async def end_session(conn: Db, id_hash: bytes) -> None:
    await conn.execute("DELETE FROM sessions WHERE id_hash = $1", id_hash)


async def session_account(
    conn: Db, id_hash: bytes, idle: timedelta, touch_after: timedelta
) -> asyncpg.Record | None:
    """The account and roles of a live session (unexpired, used within ``idle``, its account not
    disabled); None otherwise. One lookup by primary key; ``last_seen_at`` is written only when
    older than ``touch_after``, so most requests write nothing."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """WITH live AS (
               SELECT s.account_id, s.last_seen_at FROM sessions s JOIN accounts a ON a.id = s.account_id
               WHERE s.id_hash = $1 AND s.expires_at > clock_timestamp()
                 AND s.last_seen_at > clock_timestamp() - $2::interval AND NOT a.disabled),
           touched AS (
               UPDATE sessions SET last_seen_at = clock_timestamp()
               WHERE id_hash = $1
                 AND EXISTS (SELECT FROM live WHERE last_seen_at < clock_timestamp() - $3::interval))
           SELECT live.account_id,
                  coalesce(array_agg(r.role || coalesce(':' || r.scope, ''))
                           FILTER (WHERE r.role IS NOT NULL), '{}') AS roles
           FROM live LEFT JOIN account_roles r ON r.account_id = live.account_id
           GROUP BY live.account_id""",
        id_hash,
        idle,
        touch_after,
    )
    return row


async def count_login_attempt(conn: Db, keys: Sequence[str], window_s: int) -> list[asyncpg.Record]:
    """Count one sign-in attempt under each key in the current fixed window; per key, the
    attempts so far and the whole seconds until the window ends."""
    return await conn.fetch(
        """INSERT INTO login_attempts AS a (key, window_start, attempts)
           SELECT k, to_timestamp(floor(extract(epoch FROM clock_timestamp()) / $2::int) * $2::int), 1
           FROM unnest($1::text[]) AS k
           ON CONFLICT (key, window_start) DO UPDATE SET attempts = a.attempts + 1
           RETURNING key, attempts,
                     greatest(1, ceil(extract(epoch FROM a.window_start + make_interval(secs => $2::int)
                                                         - clock_timestamp())))::int AS seconds_left""",
        list(keys),
        window_s,
    )


async def forget(conn: Db, window_s: int) -> None:
    """Drop ended sign-in windows and expired sessions."""
    await conn.execute(
        "DELETE FROM login_attempts WHERE window_start < clock_timestamp() - make_interval(secs => $1::int)",
        window_s,
    )
    await conn.execute("DELETE FROM sessions WHERE expires_at < clock_timestamp()")


async def record_action(
    conn: Db,
    account_id: UUID,
    roles: Sequence[str],
    action: str,
    target: str,
    service: str,
    request_id: str,
    at: datetime | None = None,
) -> None:
    """An audit entry; ``at`` is now unless given (another service's write, told by event)."""
    await conn.execute(
        """INSERT INTO audit_log (account_id, roles, action, target, service, request_id, at)
           VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, clock_timestamp()))""",
        account_id,
        list(roles),
        action,
        target,
        service,
        request_id,
        at,
    )


async def audit_entries(conn: Db, limit: int) -> list[asyncpg.Record]:
    """The latest entries by when the write was made: another service's arrive by event, a
    little after it (or much after, when they waited in its outbox)."""
    return await conn.fetch(
        """SELECT id, at, account_id, roles, action, target, service, request_id
           FROM audit_log ORDER BY at DESC, id DESC LIMIT $1""",
        limit,
    )
