"""``plainpdp admin``: delegated partner administration from the command line.

    plainpdp admin seed --demo                 # a store with demo admins
    export PLAINPDP_TOKEN=$(plainpdp admin signin dana)   # asks for the password
    plainpdp admin users list
    plainpdp admin users create nina --partner northwind-dist --name "Nina Berg" \\
        --email nina@example.com --region eu
    plainpdp admin roles assign nina 'Role::"northwind-dist/buyer"'

The acting user comes from a session token (``--token`` or
``$PLAINPDP_TOKEN``), never from a flag naming a user. Passwords and reset
tokens are never arguments: they are read from the terminal (without echo)
or, when stdin is not a terminal, one per line from stdin. Every command
is authorized by the engine and audited like the library call it wraps.
Exit codes: 0 done, 1 refused (denied, not signed in, stale version, rate
limited), 2 bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..admin import (
    DEMO_PASSWORD,
    AdminService,
    AuthenticationError,
    ConflictError,
    PermissionDenied,
    RateLimited,
    seed_demo_passwords,
)
from ..admin.errors import InvalidInput
from ..admin.model import Actor, Change
from ..admin.store import STORE_ENV, default_store_path
from .render import print_error

TOKEN_ENV = "PLAINPDP_TOKEN"
EXIT_REFUSED = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "admin",
        help="partner administration: users, roles, passwords, access reports, audit",
        description="Delegated partner administration over the admin store. Sign in first "
        f"(`plainpdp admin signin USER`), then pass the token with --token or ${TOKEN_ENV}. "
        "Exit 0 done, 1 refused (denied, not signed in, stale version), 2 bad input.",
    )
    p.add_argument("--store", metavar="PATH",
                   help=f"the SQLite store (default: ${STORE_ENV} or {default_store_path()})")
    p.add_argument("--policies", default="policies", metavar="DIR",
                   help="policy directory; its entities.json seeds a new store "
                   "(default: policies)")
    p.add_argument("--token", help=f"session token (default: ${TOKEN_ENV})")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    cmds = p.add_subparsers(dest="admin_command", metavar="COMMAND")
    cmds.required = True

    c = cmds.add_parser("signin", help="sign in; prints the session token (password asked)")
    c.add_argument("user")
    c.set_defaults(run=_run(_signin, auth=False))
    c = cmds.add_parser("signout", help="end the session")
    c.set_defaults(run=_run(_signout))
    c = cmds.add_parser("whoami", help="the signed-in user's account")
    c.set_defaults(run=_run(lambda a, actor, args: a.get_user(actor, actor.user)))
    c = cmds.add_parser("seed", help="create the store from DIR/entities.json (bootstrap)")
    c.add_argument("--demo", action="store_true",
                   help=f"also give the demo admins the password {DEMO_PASSWORD!r}")
    c.set_defaults(run=_run(_seed, auth=False))

    _partners(cmds.add_parser("partners", help="partners (platform admins)"))
    _users(cmds.add_parser("users", help="users of a partner"))
    _roles(cmds.add_parser("roles", help="roles and groups, and who holds them"))
    _password(cmds.add_parser("password", help="set or change a password"))
    _reset(cmds.add_parser("reset", help="password reset with a one-time token"))
    _access(cmds.add_parser("access", help="access reports and recertification"))
    _policies(cmds.add_parser("policies", help="partner-scope policies stored for a partner"))
    c = cmds.add_parser("audit", help="the partner's audit log, newest first")
    c.add_argument("--partner", help="default: your own")
    c.add_argument("--limit", type=int, default=50)
    c.set_defaults(run=_run(lambda a, actor, args: a.audit(actor, partner=args.partner,
                                                             limit=args.limit)))
    _services(cmds.add_parser("services", help="service credentials (platform admins)"))


# ------------------------------------------------------------------ sub-commands


def _sub(p: argparse.ArgumentParser) -> argparse._SubParsersAction:
    s = p.add_subparsers(dest="what", metavar="ACTION")
    s.required = True
    return s


def _partners(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("list")
    c.set_defaults(run=_run(lambda a, actor, args: a.list_partners(actor)))
    c = s.add_parser("show")
    c.add_argument("partner")
    c.set_defaults(run=_run(lambda a, actor, args: a.get_partner(actor, args.partner)))
    c = s.add_parser("create")
    c.add_argument("partner")
    c.add_argument("--name", required=True)
    c.add_argument("--kind", required=True, help="supplier | distributor | agency | broker")
    c.add_argument("--tier", required=True, help="gold | silver | bronze")
    c.set_defaults(run=_run(lambda a, actor, args: a.create_partner(
        actor, args.partner, name=args.name, kind=args.kind, tier=args.tier)))
    c = s.add_parser("update")
    c.add_argument("partner")
    c.add_argument("--name")
    c.add_argument("--kind")
    c.add_argument("--tier")
    _version_arg(c)
    c.set_defaults(run=_run(lambda a, actor, args: a.update_partner(
        actor, args.partner, version=_partner_version(a, actor, args), name=args.name,
        kind=args.kind, tier=args.tier)))
    for name, method in (("suspend", "suspend_partner"), ("reactivate", "reactivate_partner")):
        c = s.add_parser(name)
        c.add_argument("partner")
        _version_arg(c)
        c.set_defaults(run=_run(lambda a, actor, args, m=method: getattr(a, m)(
            actor, args.partner, version=_partner_version(a, actor, args))))


def _users(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("list")
    c.add_argument("--partner", help="default: your own")
    c.set_defaults(run=_run(lambda a, actor, args: a.list_users(actor, args.partner)))
    c = s.add_parser("show")
    c.add_argument("user")
    c.set_defaults(run=_run(lambda a, actor, args: a.get_user(actor, args.user)))
    c = s.add_parser("create")
    c.add_argument("user")
    c.add_argument("--partner", help="default: your own")
    c.add_argument("--name", required=True, help="display name")
    c.add_argument("--email", required=True)
    c.add_argument("--region", required=True, help="eu | us | apac")
    c.add_argument("--invite", action="store_true",
                   help="print a one-time token with which the user sets a first password")
    c.set_defaults(run=_run(lambda a, actor, args: a.create_user(
        actor, args.user, partner=args.partner or _own_partner(a, actor),
        display_name=args.name, email=args.email, region=args.region, invite=args.invite)))
    c = s.add_parser("update")
    c.add_argument("user")
    c.add_argument("--name", help="display name")
    c.add_argument("--email")
    c.add_argument("--region")
    _version_arg(c)
    c.set_defaults(run=_run(lambda a, actor, args: a.update_user(
        actor, args.user, version=_user_version(a, actor, args), display_name=args.name,
        email=args.email, region=args.region)))
    for name, method in (("deactivate", "deactivate_user"), ("reactivate", "reactivate_user"),
                         ("unlock", "unlock_user")):
        c = s.add_parser(name)
        c.add_argument("user")
        _version_arg(c)
        c.set_defaults(run=_run(lambda a, actor, args, m=method: getattr(a, m)(
            actor, args.user, version=_user_version(a, actor, args))))


def _roles(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("list")
    c.add_argument("--partner", help="default: your own")
    c.set_defaults(run=_run(lambda a, actor, args: a.list_roles(actor, args.partner)))
    c = s.add_parser("create")
    c.add_argument("name")
    c.add_argument("--partner", help="default: your own")
    c.add_argument("--group", action="store_true", help="a group rather than a role")
    c.set_defaults(run=_run(lambda a, actor, args: a.create_role(
        actor, args.partner or _own_partner(a, actor), args.name,
        kind="Group" if args.group else "Role")))
    c = s.add_parser("assign")
    c.add_argument("user")
    c.add_argument("role", help='e.g. Role::"northwind-dist/buyer"')
    c.add_argument("--until", type=_when, metavar="ISO-8601",
                   help="the role lapses by itself then, e.g. 2030-01-31T18:00+00:00")
    _version_arg(c)
    c.set_defaults(run=_run(lambda a, actor, args: a.assign_role(
        actor, args.user, args.role, version=_user_version(a, actor, args),
        expires_at=args.until)))
    c = s.add_parser("revoke")
    c.add_argument("user")
    c.add_argument("role")
    _version_arg(c)
    c.set_defaults(run=_run(lambda a, actor, args: a.revoke_role(
        actor, args.user, args.role, version=_user_version(a, actor, args))))


def _password(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("change", help="your own password (current and new are asked)")
    c.set_defaults(run=_run(lambda a, actor, args: a.change_password(
        actor, _secret("current password: "), _new_password())))
    c = s.add_parser("set", help="set a user's password (asked)")
    c.add_argument("user")
    _version_arg(c)
    c.set_defaults(run=_run(lambda a, actor, args: a.set_password(
        actor, args.user, _new_password(), version=_user_version(a, actor, args))))


def _reset(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("start", help="issue a one-time reset token to hand to the user")
    c.add_argument("user")
    c.set_defaults(run=_run(lambda a, actor, args: a.start_password_reset(actor, args.user)))
    c = s.add_parser("complete", help="set a new password with a reset token (both asked)")
    c.set_defaults(run=_run(lambda a, actor, args: a.complete_password_reset(
        _secret("reset token: "), _new_password()), auth=False))


def _access(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("user", help="what a user can do")
    c.add_argument("user")
    c.set_defaults(run=_run(lambda a, actor, args: a.access_report(actor, args.user)))
    c = s.add_parser("resource", help="who of a partner can act on a resource")
    c.add_argument("resource", help='e.g. Section::"orders"')
    c.add_argument("--partner", help="default: your own")
    c.set_defaults(run=_run(lambda a, actor, args: a.who_can(actor, args.resource,
                                                             partner=args.partner)))
    c = s.add_parser("recert", help="every user's grants and access, to confirm or revoke")
    c.add_argument("--partner", help="default: your own")
    c.set_defaults(run=_run(lambda a, actor, args: a.recertification_report(actor,
                                                                            args.partner)))
    c = s.add_parser("confirm", help="confirm a user's current grants (recertification)")
    c.add_argument("user")
    _version_arg(c)
    c.set_defaults(run=_run(lambda a, actor, args: a.confirm_access(
        actor, args.user, version=_user_version(a, actor, args))))


def _policies(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("list")
    c.add_argument("--partner", help="default: your own")
    c.set_defaults(run=_run(lambda a, actor, args: a.list_partner_policies(
        actor, partner=args.partner)))
    c = s.add_parser("get")
    c.add_argument("name")
    c.add_argument("--partner", help="default: your own")
    c.set_defaults(run=_run(lambda a, actor, args: a.get_partner_policy(
        actor, args.name, partner=args.partner)))
    c = s.add_parser("put", help="store (validated and compiled first) a policy file")
    c.add_argument("name")
    c.add_argument("file", help='a .cedar file, or "-" for stdin')
    c.add_argument("--partner", help="default: your own")
    c.add_argument("--version", type=int, metavar="N",
                   help="the document version you read (default: the current one; 0 = new)")
    c.set_defaults(run=_run(_put_policy))
    c = s.add_parser("delete")
    c.add_argument("name")
    c.add_argument("--partner", help="default: your own")
    c.add_argument("--version", type=int, required=True, metavar="N")
    c.set_defaults(run=_run(lambda a, actor, args: a.delete_partner_policy(
        actor, args.name, version=args.version, partner=args.partner)))


def _services(p: argparse.ArgumentParser) -> None:
    s = _sub(p)
    c = s.add_parser("create", help="prints the service token once")
    c.add_argument("service")
    c.add_argument("--partner", help="a partner's own service (default: a platform service)")
    c.add_argument("--name", default="")
    c.set_defaults(run=_run(lambda a, actor, args: a.create_service(
        actor, args.service, partner=args.partner, name=args.name)))
    c = s.add_parser("revoke")
    c.add_argument("service")
    c.set_defaults(run=_run(lambda a, actor, args: a.revoke_service(actor, args.service)))


# ------------------------------------------------------------------ running


def _run(work: Callable[[AdminService, Actor | None, argparse.Namespace], Any], *,
         auth: bool = True) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        admin = AdminService.open(args.store, args.policies, watch=False)
        try:
            actor = None
            if auth:
                token = args.token or os.environ.get(TOKEN_ENV, "")
                if not token:
                    raise AuthenticationError(
                        f"not signed in: run `plainpdp admin signin USER` and pass the token "
                        f"with --token or ${TOKEN_ENV}")
                actor = admin.authenticate(token)
            result = work(admin, actor, args)
        except (PermissionDenied, AuthenticationError, ConflictError, RateLimited) as err:
            print_error(err)
            return EXIT_REFUSED
        finally:
            admin.close()
        _print(result, args.json)
        return 0

    return run


def _signin(admin: AdminService, _actor: Any, args: argparse.Namespace) -> str:
    session = admin.sign_in(args.user, _secret(f"password for {args.user}: "), source="cli")
    print(f"signed in as {session.user} until {session.expires_at:%Y-%m-%d %H:%M} UTC; "
          f"export {TOKEN_ENV}=<the token below>", file=sys.stderr)
    return session.token


def _signout(admin: AdminService, _actor: Any, args: argparse.Namespace) -> str:
    admin.sign_out(args.token or os.environ.get(TOKEN_ENV, ""))
    return "signed out"


def _seed(admin: AdminService, _actor: Any, args: argparse.Namespace) -> str:
    out = f"store {admin.store.location} at version {admin.version}"
    if args.demo:
        users = seed_demo_passwords(admin.store, admin.settings, now=admin.clock())
        out += f"\ndemo password {DEMO_PASSWORD!r} for: {', '.join(users)} (never in production)"
    return out


def _put_policy(admin: AdminService, actor: Actor, args: argparse.Namespace) -> Change:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read {args.file}: {err}") from None
    version = args.version
    if version is None:
        docs = {d.name: d for d in admin.list_partner_policies(actor, partner=args.partner)}
        version = docs[args.name].version if args.name in docs else 0
    return admin.put_partner_policy(actor, args.name, text, partner=args.partner,
                                    version=version)


def _version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", type=int, metavar="N",
                   help="the record version you read (default: the current one, read now)")


def _user_version(admin: AdminService, actor: Actor, args: argparse.Namespace) -> int:
    return args.version if args.version is not None else admin.get_user(actor, args.user).version


def _partner_version(admin: AdminService, actor: Actor, args: argparse.Namespace) -> int:
    if args.version is not None:
        return args.version
    return admin.get_partner(actor, args.partner).version


def _own_partner(admin: AdminService, actor: Actor) -> str:
    partner = admin.engine.partners.partner_of(actor.uid)
    if partner is None:
        raise InvalidInput("name the partner with --partner (you are platform staff)")
    return partner


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add e.g. +00:00")
    return value


def _secret(prompt: str) -> str:
    """From the terminal without echo, else one line of stdin; never from an argument."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput(f"expected a line on stdin for the {prompt.rstrip(': ')}")
    return line.rstrip("\r\n")


def _new_password() -> str:
    first = _secret("new password: ")
    if sys.stdin.isatty() and getpass.getpass("again: ") != first:
        raise InvalidInput("the two passwords differ")
    return first


# ------------------------------------------------------------------ output


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _print(result: Any, as_json: bool) -> None:
    if result is None:
        return
    if isinstance(result, str):
        print(result)
        return
    data = _plain(result)
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    if isinstance(result, Change):
        print(f"done: {result.target} (store version {result.version}, "
              f"record version {result.record_version}, audit #{result.audit_id})")
        if result.token:
            print(f"one-time token (hand it to the user; it is shown once): {result.token}")
        return
    for item in data if isinstance(data, list) else [data]:
        print(_line(item))


def _line(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if "grants" in item:  # a user
        grants = ", ".join(g["uid"] + (f" until {g['expires_at']}" if g["expires_at"] else "")
                           for g in item["grants"]) or "-"
        state = "active" if item["active"] else "INACTIVE"
        if item["locked"]:
            state += ", LOCKED"
        return (f"{item['id']:<12} {item['partner'] or '(platform)':<18} {state:<10} "
                f"v{item['version']:<3} {item['display_name']} <{item['email']}>  {grants}")
    if "kind" in item and "tier" in item:  # a partner
        state = "SUSPENDED" if item["suspended"] else "active"
        return f"{item['id']:<18} {item['kind']:<12} {item['tier']:<7} {state:<10} " \
               f"v{item['version']:<3} {item['name']}"
    if "outcome" in item:  # an audit record
        return (f"#{item['id']:<5} {item['at'][:19]} {item['actor'] or '-':<10} "
                f"{item['action']:<26} {item['target']:<30} {item['decision']}/"
                f"{item['outcome']}  {json.dumps(item['changes'], sort_keys=True)}")
    if "entries" in item:  # an access report
        return "\n".join([f"{item['subject']} (store version {item['version']}):"]
                         + [f"  {e['principal']} {e['action']} {e['resource']}  "
                            f"[{', '.join(e['reasons'])}]" for e in item["entries"]])
    if "items" in item:  # a recertification report
        out = [f"recertification for {item['partner']} (store version {item['version']}):"]
        for it in item["items"]:
            out.append("  " + _line(it["user"]))
            out += [f"      {e['action']} {e['resource']}" for e in it["access"]]
        return "\n".join(out)
    if "text" in item and "policy_ids" in item:  # a policy document
        return f"# {item['partner']}/{item['name']} v{item['version']} " \
               f"({', '.join(item['policy_ids'])})\n{item['text']}"
    return json.dumps(item, sort_keys=True)


