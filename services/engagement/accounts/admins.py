"""The first admin (the CLI) and the demo's admin."""

import uuid

from pydantic import TypeAdapter

from services.engagement.accounts import store
from services.engagement.accounts.credentials import hash_password
from services.engagement.accounts.models import NewAccount
from shared.auth import Grant, Role
from shared.db import DbConnection

ADMIN = Grant(role=Role.ADMIN)
_NEW = TypeAdapter(NewAccount)


def admin_account(email: str, display_name: str, password: str) -> NewAccount:
    """The account, checked by the API's rules (pydantic's ValidationError names what is wrong)."""
    return _NEW.validate_python(
        {"email": email, "display_name": display_name, "password": password, "roles": [ADMIN]}
    )


async def create_admin(conn: DbConnection, account: NewAccount, *, is_demo: bool = False) -> uuid.UUID | None:
    """The new admin's id; None when the address has an account already (nothing changes)."""
    account_id = uuid.uuid4()
    password_hash = await hash_password(account.password)
    async with conn.transaction():
        if not await store.insert_account(
            conn, account_id, account.email, account.display_name, password_hash, is_demo=is_demo
        ):
            return None
        await store.grant(conn, account_id, [ADMIN])
    return account_id


async def reset_demo_admin(conn: DbConnection, account: NewAccount) -> None:
    """The demo admin with this run's password: created the first time, its password replaced after."""
    if await create_admin(conn, account, is_demo=True) is None:
        await store.set_password(conn, account.email, await hash_password(account.password))
