"""The delegated admin's other actions, through the real server without a browser.

Personal details with their validation, deactivation and reactivation,
unlocking, and the user list's search, filters and pages; each outcome is
checked through the library (the engine's decision, the store, the audit).
"""

from __future__ import annotations

from plainpdp.admin import Actor

DANA = Actor("dana")


def erin_allowed(console) -> bool:
    return console.service.is_authorized(
        'User::"erin"', 'Action::"view"', 'Section::"orders"', {"mfa": False}).allowed


def test_editing_personal_details_validates_and_saves(client, console):
    client.sign_in("dana")
    page = client.get("/users/erin/edit")
    assert 'value="erin@northwind-dist.example"' in page.text
    bad = client.post("/users/erin/edit", {"version": "1", "display_name": "Erin Walsh",
                                          "email": "not an address", "region": "eu"},
                      csrf_from="/users/erin/edit")
    assert bad.status_code == 400
    assert "is not an e-mail address" in bad.text and 'aria-invalid="true"' in bad.text
    empty = client.post("/users/erin/edit", {"version": "1", "display_name": "",
                                            "email": "erin@example.com", "region": "eu"},
                        csrf_from="/users/erin/edit")
    assert empty.status_code == 400 and "Enter the full name." in empty.text
    good = client.post("/users/erin/edit", {"version": "1", "display_name": "Erin Walsh-Byrne",
                                           "email": "erin.byrne@northwind-dist.example",
                                           "region": "eu"},
                       csrf_from="/users/erin/edit")
    assert good.status_code == 303
    assert "Saved Erin Walsh&#39;s details." in client.get("/users/erin").text
    erin = console.service.get_user(DANA, "erin")
    assert (erin.display_name, erin.email) == ("Erin Walsh-Byrne",
                                               "erin.byrne@northwind-dist.example")
    record = console.service.audit(DANA, partner="northwind-dist")[0]
    assert record.action == "admin:UpdateUser" and record.decision == "allow"
    assert record.changes["email"] == {"before": "erin@northwind-dist.example",
                                       "after": "erin.byrne@northwind-dist.example"}


def test_deactivate_and_reactivate(client, console):
    client.sign_in("dana")
    assert client.post("/users/erin/deactivate", {"version": "1"},
                       csrf_from="/users/erin").status_code == 303
    assert not erin_allowed(console)
    page = client.get("/users/erin").text
    assert "Deactivated" in page and "Reactivate" in page
    assert client.post("/users/erin/reactivate", {"version": "2"},
                       csrf_from="/users/erin").status_code == 303
    assert erin_allowed(console)


def test_unlock_after_failed_sign_ins(client, other_client, console):
    for n in range(console.service.settings.max_failed_signins):
        other_client.post("/sign-in", {"user": "erin", "password": f"wrong {n}"},
                          csrf_from="/sign-in")
    erin = console.service.get_user(DANA, "erin")
    assert erin.locked
    client.sign_in("dana")
    assert "Unlock" in client.get("/users/erin").text
    assert client.post("/users/erin/unlock", {"version": str(erin.version)},
                       csrf_from="/users/erin").status_code == 303
    assert not console.service.get_user(DANA, "erin").locked
    other_client.sign_in("erin")  # the demo password works again


def test_user_list_search_filters_and_pages(client, console):
    for n in range(25):
        console.service.create_user(DANA, f"temp{n:02d}", partner="northwind-dist",
                                    display_name=f"Temp Worker {n:02d}",
                                    email=f"temp{n}@northwind-dist.example", region="us")
    client.sign_in("dana")
    first = client.get("/partners/northwind-dist/users").text
    assert "31 users, page 1 of 2" in first and 'rel="next"' in first
    second = client.get("/partners/northwind-dist/users?page=2").text
    assert "Temp Worker 24" in second and "/users/dana" not in second
    buyers = client.get("/partners/northwind-dist/users?role=Role%3A%3A%22northwind-dist%2Fbuyer%22").text
    assert "3 users" in buyers and "Erin Walsh" in buyers and "Temp Worker" not in buyers
    inactive = client.get("/partners/northwind-dist/users?status=inactive").text
    assert "1 user" in inactive and "Quinn Adler" in inactive
    found = client.get("/partners/northwind-dist/users?q=BRANDT").text
    assert "1 user" in found and "Fiona Brandt" in found
    assert "Alice" not in client.get("/partners/northwind-dist/users?q=alice").text


def test_onboarding_explains_a_taken_or_malformed_user_id(client, console):
    client.sign_in("dana")
    fields = {"display_name": "Nina Berg", "email": "nina@northwind-dist.example",
              "region": "eu"}
    taken = client.post("/partners/northwind-dist/users", {"user_id": "erin", **fields},
                        csrf_from="/partners/northwind-dist/users/new")
    assert taken.status_code == 400
    assert 'id="user_id-error">User id erin is taken; choose another.' in taken.text
    malformed = client.post("/partners/northwind-dist/users", {"user_id": "Nina Berg", **fields},
                            csrf_from="/partners/northwind-dist/users/new")
    assert malformed.status_code == 400
    assert "User id &#39;Nina Berg&#39; is not valid" in malformed.text
    assert 'value="Nina Berg"' in malformed.text  # what was typed stays in the form
    assert [u.id for u in console.service.list_users(DANA) if u.id.startswith("nina")] == []
