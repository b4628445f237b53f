"""``crashsvc apps|users|tokens``: administration from the command line."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from crashsvc.api.serializers import app_json, iso
from crashsvc.auth import hash_password, hash_token, new_api_token, new_ingest_key
from crashsvc.cli.context import cli_session, emit, json_option
from crashsvc.models import ApiToken, App, Membership, User
from crashsvc.models.apps import ROLES
from crashsvc.models.base import utcnow
from crashsvc.models.users import SCOPES


def _app_by_ref(session, ref: str) -> App:
    app = session.get(App, int(ref)) if ref.isdigit() else None
    app = app or session.scalars(select(App).where(App.name == ref)).first()
    if app is None:
        raise click.ClickException(f"no app {ref!r}")
    return app


@click.group()
def apps() -> None:
    """Apps that send reports: create, list, rotate keys, change retention."""


@apps.command("create")
@click.argument("name")
@click.option("--retention-days", type=click.IntRange(min=1), help="Keep reports this many days.")
@click.option("--rate-limit", type=click.IntRange(min=0), help="Reports per minute (0: unlimited).")
@json_option
def apps_create(name: str, retention_days: int | None, rate_limit: int | None, as_json: bool) -> None:
    """Create an app and print its ingest key and DSN."""
    with cli_session() as (settings, session):
        if session.scalars(select(App).where(App.name == name)).first():
            raise click.ClickException(f"an app named {name!r} exists")
        app = App(
            name=name,
            ingest_key=new_ingest_key(),
            retention_days=retention_days,
            rate_limit_per_minute=rate_limit,
        )
        session.add(app)
        session.flush()
        data = app_json(app, settings.public_url, include_key=True)
    emit(as_json, data, f"app {data['id']} {name}\n  ingest key: {data['ingest_key']}\n  DSN: {data['dsn']}")


@apps.command("list")
@json_option
def apps_list(as_json: bool) -> None:
    """List apps with their keys and DSNs."""
    with cli_session() as (settings, session):
        rows = [
            app_json(app, settings.public_url, include_key=True)
            for app in session.scalars(select(App).order_by(App.id))
        ]
    emit(
        as_json,
        {"apps": rows},
        "\n".join(f"{row['id']}\t{row['name']}\t{row['dsn']}" for row in rows) or "no apps",
    )


@apps.command("rotate-key")
@click.argument("app")
@json_option
def apps_rotate_key(app: str, as_json: bool) -> None:
    """Give an app a new ingest key; the old one stops working within seconds."""
    with cli_session() as (settings, session):
        row = _app_by_ref(session, app)
        row.ingest_key = new_ingest_key()
        session.flush()
        data = app_json(row, settings.public_url, include_key=True)
    emit(as_json, data, f"new ingest key: {data['ingest_key']}\nDSN: {data['dsn']}")


@apps.command("update")
@click.argument("app")
@click.option("--retention-days", type=click.IntRange(min=1))
@click.option("--rate-limit", type=click.IntRange(min=0))
@click.option("--name")
@json_option
def apps_update(
    app: str, retention_days: int | None, rate_limit: int | None, name: str | None, as_json: bool
) -> None:
    """Change an app's name, retention or rate limit."""
    with cli_session() as (settings, session):
        row = _app_by_ref(session, app)
        if retention_days is not None:
            row.retention_days = retention_days
        if rate_limit is not None:
            row.rate_limit_per_minute = rate_limit
        if name:
            row.name = name
        session.flush()
        data = app_json(row, settings.public_url)
    emit(as_json, data, f"updated app {data['id']}")


@apps.command("add-member")
@click.argument("app")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
def apps_add_member(app: str, email: str, role: str) -> None:
    """Give a user a role in an app (viewer, developer, admin)."""
    with cli_session() as (_settings, session):
        row = _app_by_ref(session, app)
        user = session.scalars(select(User).where(User.email == email.lower())).first()
        if user is None:
            raise click.ClickException(f"no user {email!r}")
        membership = session.get(Membership, (user.id, row.id)) or Membership(user_id=user.id, app_id=row.id)
        membership.role = role
        session.add(membership)
    click.echo(f"{email} is {role} of {row.name}")


@click.group()
def users() -> None:
    """People who sign in to the web UI and own API tokens."""


@users.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Administrator of every app.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
def users_create(email: str, admin: bool, password_stdin: bool, as_json: bool) -> None:
    """Create a user (password hashed with argon2)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    with cli_session() as (_settings, session):
        if session.scalars(select(User).where(User.email == email.lower())).first():
            raise click.ClickException(f"a user {email!r} exists")
        user = User(email=email.lower(), password_hash=hash_password(password), is_admin=admin)
        session.add(user)
        session.flush()
        data = {"id": user.id, "email": user.email, "is_admin": user.is_admin}
    emit(as_json, data, f"user {data['id']} {data['email']}{' (admin)' if admin else ''}")


@users.command("list")
@json_option
def users_list(as_json: bool) -> None:
    """List users."""
    with cli_session() as (_settings, session):
        rows = [
            {"id": u.id, "email": u.email, "is_admin": u.is_admin}
            for u in session.scalars(select(User).order_by(User.id))
        ]
    emit(as_json, {"users": rows}, "\n".join(f"{r['id']}\t{r['email']}" for r in rows) or "no users")


@click.group()
def tokens() -> None:
    """API tokens (Authorization: Bearer …), stored hashed."""


@tokens.command("create")
@click.option("--user", "email", required=True)
@click.option("--scopes", default="read", show_default=True, help="Comma-separated: read,write,symbols.")
@click.option("--name", default="", help="What the token is for.")
@json_option
def tokens_create(email: str, scopes: str, name: str, as_json: bool) -> None:
    """Create a token; it is shown once."""
    wanted = sorted({scope.strip() for scope in scopes.split(",") if scope.strip()})
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown or not wanted:
        raise click.ClickException(f"scopes must be among {', '.join(SCOPES)}")
    token = new_api_token()
    with cli_session() as (_settings, session):
        user = session.scalars(select(User).where(User.email == email.lower())).first()
        if user is None:
            raise click.ClickException(f"no user {email!r}")
        row = ApiToken(
            user_id=user.id,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:12],
            scopes=",".join(wanted),
        )
        session.add(row)
        session.flush()
        data = {"id": row.id, "token": token, "scopes": wanted, "user": user.email}
    emit(as_json, data, f"token {data['id']}: {token}\n(shown once; scopes: {','.join(wanted)})")


@tokens.command("list")
@click.option("--user", "email")
@json_option
def tokens_list(email: str | None, as_json: bool) -> None:
    """List tokens (prefixes only)."""
    with cli_session() as (_settings, session):
        query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
        if email:
            query = query.where(User.email == email.lower())
        rows = [
            {
                "id": t.id,
                "prefix": t.prefix,
                "user": e,
                "scopes": t.scopes.split(","),
                "name": t.name,
                "created_at": iso(t.created_at),
                "revoked": t.revoked_at is not None,
            }
            for t, e in session.execute(query)
        ]
    emit(
        as_json,
        {"tokens": rows},
        "\n".join(
            f"{r['id']}\t{r['prefix']}…\t{r['user']}\t{','.join(r['scopes'])}"
            f"{'  (revoked)' if r['revoked'] else ''}"
            for r in rows
        )
        or "no tokens",
    )


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id; it stops working at once."""
    with cli_session() as (_settings, session):
        row = session.get(ApiToken, token_id)
        if row is None:
            raise click.ClickException(f"no token {token_id}")
        row.revoked_at = row.revoked_at or utcnow()
    click.echo(f"token {token_id} revoked")
