"""Demo data for the README's run command: the spec example's calling system (MY_SYSTEM), info
field 216, campaign 123 ("Demo", callCode 123, on the lab's agent queue), a few call tasks whose
numbers' last digits pick the lab far end's behaviour (asterisk_conf/lab/README.md), and an API
token kept in .demo-token.

Idempotent: a second run changes nothing and reuses the token while it is still valid.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from dialerd.config import Settings
from dialerd.domain import Role
from dialerd.store import admin
from dialerd.store.pool import connect
from dialerd.store.sqlfiles import q
from dialerd.users import service as users
from dialerd.users.tokens import create_token, hash_token

TOKEN_FILE = Path(__file__).resolve().parents[1] / ".demo-token"
CONSOLE_FILE = Path(__file__).resolve().parents[1] / ".demo-console"
DEMO_CAMPAIGN = 123
# name -> number; the last digit picks the far end: 0-3 answer, 4 hangs up, 5 busy, 9 machine
DEMO_TASKS = {
    "Ada (answers)": "+4930123400",
    "Ben (answers)": "+4930123401",
    "Cem (answers)": "+4930123402",
    "Dora (answers, hangs up)": "+4930123404",
    "Emil (busy)": "+4930123405",
    "Fay (machine)": "+4930123409",
}


async def main() -> None:
    settings = Settings()
    conn = await connect(settings.require_database_url())
    try:
        await admin.add_calling_system(conn, "MY_SYSTEM")
        await admin.define_info_field(conn, 216, "City")
        await conn.execute(q("insert_demo_campaign"))
        await conn.execute(
            q("insert_demo_call_tasks"),
            DEMO_CAMPAIGN,
            list(DEMO_TASKS),
            list(DEMO_TASKS.values()),
        )
        token = TOKEN_FILE.read_text().strip() if TOKEN_FILE.exists() else ""
        if not token or await admin.client_of_token(conn, hash_token(token)) is None:
            token = await create_token(conn, 1)
            TOKEN_FILE.write_text(token + "\n")
        password = CONSOLE_FILE.read_text().strip() if CONSOLE_FILE.exists() else ""
        if not password or await users.check_password(conn, "admin", password) is None:
            password = secrets.token_urlsafe(12)
            try:
                await users.add_user(
                    conn, 1, "admin", password, Role.ADMIN, "Demo admin", installation_admin=True
                )
            except users.UserError:  # there from an earlier run, its password lost: a new one
                await users.change_password(conn, "admin", password)
            CONSOLE_FILE.write_text(password + "\n")
    finally:
        await conn.close()
    base = f"http://{settings.http_host}:{settings.http_port}"
    print(f"demo: campaign 123 'Demo', systemCode MY_SYSTEM, info field 216; token in {TOKEN_FILE}")
    print(f"demo: the console is {base}/console/ (login admin, password in {CONSOLE_FILE})")
    print(f"demo: {len(DEMO_TASKS)} call tasks in campaign 123, dialled once the lab is up")
    print(f'demo: curl -H "Authorization: Bearer $(cat .demo-token)" {base}/dialler/contacts')
    print(
        f'demo: curl -H "Authorization: Bearer $(cat .demo-token)" '
        f'"{base}/dialler/contacts/contact/history?userData=..."  (or .../contact/<ID>/history)'
    )


if __name__ == "__main__":
    asyncio.run(main())
