"""The other main pages in Chromium: accessible, usable by keyboard, and working.

A delegated admin's recertification and audit trail, a refusal, and a
platform admin's partners, ceilings and every partner's audit trail; each
page is checked by axe-core and saved as a screenshot.
"""

from __future__ import annotations

from selenium.webdriver.common.keys import Keys
from test_journeys import sign_in

from plainpdp.admin import Actor


def test_sign_in_page_is_keyboard_friendly(journey):
    journey.open("/sign-in")
    journey.assert_accessible()
    body = journey.find("body")
    body.send_keys(Keys.TAB)
    active = journey.driver.switch_to.active_element
    assert active.text == "Skip to main content"
    assert active.rect["y"] >= 0  # the skip link shows itself when focused
    journey.shot("the skip link has focus")
    active.send_keys(Keys.ENTER)
    assert journey.driver.switch_to.active_element.get_attribute("id") == "main"
    outline = journey.driver.execute_script(
        "const e = document.getElementById('user'); e.focus();"
        "return getComputedStyle(e).outlineStyle;")
    assert outline == "solid"  # visible focus on form fields


def test_recertification_audit_and_a_refusal(journey, console):
    sign_in(journey, "dana")
    journey.press("Recertification")
    assert journey.heading == "Recertify access at Northwind Distribution"
    journey.assert_accessible()
    journey.shot("recertification report")
    journey.click("button[aria-label=\"Confirm access of Erin Walsh\"]")
    assert "Confirmed Erin Walsh's access." in journey.text
    erin = console.service.get_user(Actor("dana"), "erin")
    assert all(g.certified_by == "dana" for g in erin.grants)
    journey.click("button[aria-label=\"Take away contractor from Gus Lindqvist\"]")
    assert "Took contractor away from Gus Lindqvist." in journey.text
    journey.shot("confirmed and revoked")
    gus = console.service.get_user(Actor("dana"), "gus")
    assert [g.uid for g in gus.grants] == ['Role::"northwind-dist/buyer"']

    journey.press("Audit trail")
    assert journey.heading == "Audit trail of Northwind Distribution"
    assert "admin:ConfirmAccess" in journey.text and "admin:RevokeRole" in journey.text
    journey.assert_accessible()
    journey.shot("audit trail")

    journey.open("/users/bob")  # another partner's user, by editing the URL
    assert journey.heading == "Not allowed"
    assert "You may not view this user" in journey.text
    assert "Bob" not in journey.text and "acme" not in journey.text
    journey.assert_accessible()
    journey.shot("refused with a plain explanation")


def test_platform_admin_runs_partners_and_their_ceilings(journey, console):
    sign_in(journey, "pat")
    assert journey.heading == "Partners"
    journey.assert_accessible()
    journey.shot("partners")
    journey.fill("Partner id", "blue-harbor")
    journey.fill("Name", "Blue Harbor Trading")
    journey.select("Kind", "distributor")
    journey.select("Tier", "bronze")
    journey.press("Create partner")
    assert journey.heading == "Blue Harbor Trading"
    ceilings = journey.find("table").text
    assert "Orders view, create and edit" in ceilings and "ceiling-distributor" in ceilings
    assert "Claims nothing" in ceilings
    journey.assert_accessible()
    journey.shot("the new partner and its ceilings")

    journey.select("Kind", "broker")
    journey.press("Save kind and tier")
    assert "Claims view, create and edit" in journey.find("table").text
    journey.shot("a broker's ceilings")

    journey.open("/partners/northwind-dist")
    journey.press("Suspend partner")
    assert "Suspended" in journey.text
    assert not console.service.is_authorized(
        'User::"erin"', 'Action::"view"', 'Section::"orders"', {"mfa": False}).allowed
    journey.shot("northwind suspended")
    journey.press("Reactivate partner")
    assert console.service.is_authorized(
        'User::"erin"', 'Action::"view"', 'Section::"orders"', {"mfa": False}).allowed

    journey.press("Audit trail")
    assert journey.heading == "Audit trail of every partner"
    text = journey.text
    assert "admin:CreatePartner" in text and "admin:SuspendPartner" in text
    journey.assert_accessible()
    journey.shot("every partner's audit trail")


def test_a_user_with_nothing_to_administer(journey):
    sign_in(journey, "erin")
    assert journey.heading == "Welcome"
    assert [a.text for a in journey.find_all("nav a")] == []
    journey.assert_accessible()
    journey.shot("nothing to administer")
