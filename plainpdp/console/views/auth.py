"""Signing in and out, the start page, and completing a password reset."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from ...admin import AuthenticationError, PasswordPolicyError, RateLimited
from ..web import Call, page

SIGN_IN_FAILED = (
    "Sign-in failed: the user id or password is wrong, or the account is locked or "
    "deactivated. Your partner's admin can unlock the account or send you a link to set a "
    "new password."
)
RESET_LINK_INVALID = (
    "This link does not work any more: it was already used, it has expired, or a newer link "
    "replaced it. Ask your partner's admin for a new one."
)


@page(signed_in=False)
def sign_in_form(call: Call) -> Response:
    console = call.console
    if call.me is not None:
        return console.redirect("/")
    notice = "You have signed out." if call.request.query_params.get("signed_out") else None
    return _sign_in_page(call, notice=notice)


def _sign_in_page(call: Call, *, error: str | None = None, notice: str | None = None,
                  status: int = 200) -> Response:
    console = call.console
    return console.render(call, "signin.html", status=status, title="Sign in", error=error,
                          notice=notice, user=call.field("user"),
                          max_failed=console.service.settings.max_failed_signins)


@page(signed_in=False)
def sign_in(call: Call) -> Response:
    console = call.console
    user, password = call.field("user"), call.form.get("password") if call.form else None
    if not user or not isinstance(password, str) or not password:
        return _sign_in_page(call, error="Enter your user id and your password.", status=400)
    client = call.request.client
    try:
        session = console.service.sign_in(user, password, source=client.host if client else "")
    except AuthenticationError:
        return _sign_in_page(call, error=SIGN_IN_FAILED, status=401)
    except RateLimited as err:
        return _sign_in_page(call, error=f"Too many sign-in attempts. Try again in "
                                         f"{err.retry_after:.0f} seconds.", status=429)
    console.remember_session(session.token, session.user)
    response = console.redirect("/")
    console.cookies.set(response, console.cookies.session, session.token)
    return response


@page()
def sign_out(call: Call) -> Response:
    console = call.console
    console.service.sign_out(call.token)
    response = console.redirect("/sign-in", signed_out=1)
    console.cookies.clear(response, console.cookies.session)
    return response


@page()
def home(call: Call) -> Response:
    console = call.console
    nav = console.nav(call)
    if nav:
        return console.redirect(nav[0]["href"])
    return console.render(call, "home.html", title="Welcome")


@page(signed_in=False)
def reset_form(call: Call) -> Response:
    return _reset_page(call, call.request.path_params["token"])


def _reset_page(call: Call, token: str, *, error: str | None = None,
                status: int = 200) -> Response:
    console = call.console
    return console.render(call, "reset.html", status=status, title="Set a new password",
                          token=token, error=error,
                          min_length=console.service.settings.password_min_length)


@page(signed_in=False)
def reset(call: Call) -> Response:
    console = call.console
    token = call.field("token")
    password = call.form.get("password") if call.form else None
    repeat = call.form.get("repeat") if call.form else None
    if not isinstance(password, str) or not password:
        return _reset_page(call, token, error="Enter a new password.", status=400)
    if password != repeat:
        return _reset_page(call, token, error="The two passwords are not the same.",
                           status=400)
    try:
        console.service.complete_password_reset(token, password)
    except AuthenticationError:
        return _reset_page(call, token, error=RESET_LINK_INVALID, status=400)
    except PasswordPolicyError as err:
        return _reset_page(call, token, error=f"Choose another password: {err.message}.",
                           status=400)
    return console.render(call, "reset_done.html", title="Your password is set")


ROUTES = [
    Route("/", home),
    Route("/sign-in", sign_in_form, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/reset/{token}", reset_form, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
]
