"""Passwords as salted scrypt hashes, random tokens stored hashed, the password policy."""

from __future__ import annotations

import hashlib

import pytest
from admin_support import POLICIES, dump, rows

from plainpdp.admin import Actor, AdminService, AdminSettings, PasswordPolicyError, ScryptParams
from plainpdp.admin.credentials import (
    check_password_policy,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)

PASSWORD = "correct horse battery staple"


def test_the_stated_scrypt_parameters_are_the_defaults():
    p = ScryptParams()
    assert (p.n, p.r, p.p, p.salt_bytes, p.key_bytes) == (2**14, 8, 1, 16, 32)


def test_a_hash_is_scrypt_with_a_fresh_salt():
    params = ScryptParams()
    one, two = hash_password(PASSWORD, params), hash_password(PASSWORD, params)
    assert one.salt != two.salt and one.hash != two.hash
    assert len(one.salt) == 16 and len(one.hash) == 32
    expected = hashlib.scrypt(PASSWORD.encode(), salt=one.salt, n=2**14, r=8, p=1,
                              maxmem=64 * 1024 * 1024, dklen=32)
    assert one.hash == expected
    assert verify_password(PASSWORD, one)
    assert not verify_password(PASSWORD + " ", one)


def test_the_store_keeps_hash_salt_and_parameters_only(store_path):
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        admin.set_password(Actor("dana"), "erin", PASSWORD, version=1)
    (digest, salt, n, r, p), = rows(
        store_path, "SELECT hash, salt, n, r, p FROM credentials WHERE user_id = 'erin'")
    assert (n, r, p) == (2**14, 8, 1) and len(salt) == 16
    assert digest == hashlib.scrypt(PASSWORD.encode(), salt=salt, n=n, r=r, p=p,
                                    maxmem=64 * 1024 * 1024, dklen=32)
    assert PASSWORD not in dump(store_path)


def test_hashes_made_with_other_parameters_still_verify(store_path):
    weaker = AdminSettings(scrypt=ScryptParams(n=2**12))
    with AdminService.open(store_path, POLICIES, watch=False, settings=weaker) as admin:
        admin.set_password(Actor("dana"), "erin", PASSWORD, version=1)
    assert rows(store_path, "SELECT n FROM credentials WHERE user_id = 'erin'") == [(2**12,)]
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        assert admin.sign_in("erin", PASSWORD).user == "erin"


def test_tokens_are_random_and_only_their_hash_is_stored(store_path):
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        reset = admin.start_password_reset(Actor("dana"), "erin").token
        session = admin.sign_in("dana", "plainpdp demo only!").token
    text = dump(store_path)
    assert reset not in text and session not in text
    assert token_hash(reset) in text and token_hash(session) in text


@pytest.mark.parametrize("password, problem", [
    ("short", "too short"),
    ("x" * 300, "too long"),
    ("my name is erin, ok?", "user id"),
    ("ERIN-ERIN-ERIN-ERIN", "user id"),
    ("aaaaaaaaaaaaaaaa", "too few"),
])
def test_the_password_policy_refuses(password, problem):
    with pytest.raises(PasswordPolicyError, match=problem):
        check_password_policy(password, "erin", AdminSettings())


def test_the_password_policy_accepts_a_passphrase():
    check_password_policy(PASSWORD, "erin", AdminSettings())
