"""The seed's three journeys, driven through headless Chromium like a person would.

Each step is a screenshot in test-artifacts/console/<test>/, and each page a
person works on is checked by axe-core for serious or critical violations.
The outcome is then checked through the library: the engine's own decision
for the users the admin changed.
"""

from __future__ import annotations

from console_support import Served

from plainpdp.admin import DEMO_PASSWORD, Actor

NEW_PASSWORD = "blue harbor lanterns 42"


def sign_in(journey, user: str, password: str = DEMO_PASSWORD) -> None:
    journey.open("/sign-in")
    journey.fill("User id", user)
    journey.fill("Password", password)
    journey.press("Sign in")


def allowed(console: Served, user: str, action: str, section: str) -> bool:
    return console.service.is_authorized(
        f'User::"{user}"', f'Action::"{action}"', f'Section::"{section}"', {"mfa": False}
    ).allowed


def test_distributor_admin_onboards_an_employee_with_the_orders_section(journey, console):
    sign_in(journey, "dana")
    assert journey.heading == "Users of Northwind Distribution"
    journey.assert_accessible()
    journey.shot("dana's users")

    journey.press("Onboard a user")
    journey.press("Onboard")  # nothing filled in: every field says what is missing
    assert "Please correct these" in journey.text
    assert "Enter a user id" in journey.text
    assert journey.field("Full name").get_attribute("aria-invalid") == "true"
    journey.assert_accessible()
    journey.shot("the form explains what is missing")

    journey.fill("User id", "nina.berg")
    journey.fill("Full name", "Nina Berg")
    journey.fill("E-mail address", "nina@northwind-dist.example")
    journey.select("Region", "eu")
    journey.shot("onboarding form filled in")
    journey.press("Onboard")
    assert journey.heading == "Nina Berg is onboarded"
    link = journey.find("#one-time-link").text
    assert link.startswith(console.url + "/reset/")
    journey.assert_accessible()
    journey.shot("onboarded with a one-time invitation link")
    assert not allowed(console, "nina.berg", "view", "orders")

    journey.press("Give Nina Berg access")
    assert journey.heading == "Roles of Nina Berg"
    journey.assert_accessible()
    journey.check("buyer")
    journey.shot("buyer chosen")
    journey.press("Review the change")
    consequence = journey.find("#consequence").text
    assert "Nina will be able to view, create and edit Orders." in consequence
    journey.assert_accessible()
    journey.shot("the consequence before saving")
    assert not allowed(console, "nina.berg", "view", "orders")  # nothing saved yet

    journey.press("Save changes")
    assert journey.heading == "Nina Berg"
    assert "Saved: gave buyer." in journey.text
    journey.shot("saved")

    for action in ("view", "create", "edit"):
        assert allowed(console, "nina.berg", action, "orders")
    assert not allowed(console, "nina.berg", "view", "invoices")
    trail = console.service.audit(Actor("dana"), partner="northwind-dist")
    assert [(r.action, r.target, r.decision) for r in trail[:2]] == [
        ("admin:AssignRole", 'User::"nina.berg"', "allow"),
        ("admin:CreateUser", 'User::"nina.berg"', "allow"),
    ]


def test_admin_changes_access_after_a_promotion(journey, console):
    assert allowed(console, "frank", "view", "orders")
    assert not allowed(console, "frank", "edit", "orders")
    sign_in(journey, "dana")
    journey.fill("Search", "frank")
    journey.press("Show users")
    assert "1 user" in journey.find("caption").text
    journey.shot("searched for frank")
    journey.press("Frank Moreau")
    assert journey.heading == "Frank Moreau"
    journey.assert_accessible()
    journey.shot("frank's page")

    journey.press("Change roles")
    journey.check("warehouse", False)
    journey.check("buyer")
    journey.press("Review the change")
    consequence = journey.find("#consequence").text
    assert "Frank will be able to create and edit Orders." in consequence
    assert "Take away: warehouse" in journey.text
    journey.shot("promotion reviewed")
    journey.press("Save changes")
    assert "gave buyer and took away warehouse" in journey.text
    journey.shot("promotion saved")

    journey.press("What they can do")
    assert journey.heading == "What Frank Moreau can do"
    journey.find("#why-orders summary").click()
    why = journey.find("#why-orders").text
    assert "edit: allowed" in why and "northwind-buyers-orders" in why
    assert "ceiling-distributor" in why  # the ceiling that admits the partner's grant
    assert "delete: denied" in why
    journey.assert_accessible()
    journey.shot("frank's access page, why for orders")
    assert allowed(console, "frank", "edit", "orders")
    assert allowed(console, "frank", "create", "orders")
    grants = {g.uid for g in console.service.get_user(Actor("dana"), "frank").grants}
    assert grants == {'Role::"northwind-dist/buyer"'}


def test_admin_resets_a_locked_out_users_password(journey, console):
    attempts = console.service.settings.max_failed_signins
    for n in range(attempts):
        sign_in(journey, "erin", f"not my password {n}")
        assert "Sign-in failed" in journey.text
    sign_in(journey, "erin")  # the right password, but the account is locked now
    assert "Sign-in failed" in journey.text
    journey.assert_accessible()
    journey.shot("erin is locked out")

    sign_in(journey, "dana")
    journey.press("Erin Walsh")
    assert "Locked" in journey.text
    journey.shot("dana sees erin is locked")
    journey.press("Start password reset")
    assert journey.heading == "Password reset for Erin Walsh"
    link = journey.find("#one-time-link").text
    journey.assert_accessible()
    journey.shot("the one-time reset link, shown once")
    journey.press("Sign out")
    assert "You have signed out." in journey.text

    journey.driver.get(link)
    assert journey.heading == "Set a new password"
    journey.assert_accessible()
    journey.fill("New password", NEW_PASSWORD)
    journey.fill("Repeat the new password", NEW_PASSWORD)
    journey.shot("erin chooses a new password")
    journey.press("Set password")
    assert journey.heading == "Your password is set"
    journey.shot("password set")

    sign_in(journey, "erin", NEW_PASSWORD)
    assert journey.heading == "Welcome"
    assert "Signed in as Erin Walsh" in journey.find("header").text
    journey.shot("erin signed in with the new password")

    journey.press("Sign out")
    journey.driver.get(link)  # the link works once
    journey.fill("New password", "another fine passphrase")
    journey.fill("Repeat the new password", "another fine passphrase")
    journey.press("Set password")
    assert "This link does not work any more" in journey.text
    journey.shot("the link does not work twice")
    actions = [r.action for r in console.service.audit(Actor("dana"), partner="northwind-dist")]
    assert "admin:Lockout" in actions and "admin:StartPasswordReset" in actions
    assert "admin:CompletePasswordReset" in actions
