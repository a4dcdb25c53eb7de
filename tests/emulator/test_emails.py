"""RFC 5322 email validation (with RFC 6531 internationalised addresses) and case-insensitive matching."""

from __future__ import annotations

import pytest

from airflow_provider_cio.testing.workspace.values import is_valid_email

from .conftest import person

VALID = [
    "jane@example.com",
    "jane.doe+tag@mail.example.co.uk",
    "!#$%&'*+-/=?^_`{|}~@example.com",
    '"jane doe"@example.com',
    '"jane\\"quoted\\"doe"@example.com',
    '"a@b"@example.com',
    "user@[192.0.2.1]",
    "user@[IPv6:2001:db8::1]",
    "root@localhost",
    "jöran@bücher.example",
    "用户@例子.广告",
    "Δοκιμή@παράδειγμα.δοκιμή",
    "JANE@EXAMPLE.COM",
]
INVALID = [
    "",
    "plainaddress",
    "@example.com",
    "jane@",
    "jane@@example.com",
    "jane..doe@example.com",
    ".jane@example.com",
    "jane.@example.com",
    "jane doe@example.com",
    "jane@exa mple.com",
    "jane@example..com",
    "jane@.example.com",
    'ja"ne@example.com',
    '"unterminated@example.com',
    "jane@[192.0.2.1",
    "(comment)jane@example.com",
    "jane@example.com.",
    "jane\n@example.com",
    "jane(at)example.com",
]


@pytest.mark.parametrize("address", VALID)
def test_valid_addresses_are_accepted_over_http(workspace, track, address):
    response = track.batch(person({"email": address}), person({"id": "x"}, {"email": address}))
    assert (response.status_code, response.json()) == (200, {})
    assert workspace.person(email=address)["email"] == address


@pytest.mark.parametrize("address", [a for a in INVALID if a])
def test_invalid_addresses_are_item_errors(workspace, track, address):
    response = track.batch(person({"id": "1"}, {"email": address}), person({"email": address}))
    assert response.status_code == 207
    assert [(e["batch_index"], e["reason"], e["field"]) for e in response.json()["errors"]] == [
        (0, "invalid", "attributes.email"),
        (1, "invalid", "identifiers.email"),
    ]
    assert workspace.people() == []


def test_empty_email_identifier_is_invalid_and_empty_email_attribute_sets_nothing(workspace, track):
    response = track.batch(person({"id": "1"}, {"email": ""}), person({"email": ""}))
    assert [(e["batch_index"], e["reason"], e["field"]) for e in response.json()["errors"]] == [
        (1, "invalid", "identifiers.email"),
    ]
    assert workspace.person(id="1")["email"] is None


@pytest.mark.parametrize("address", VALID)
def test_validator_accepts(address):
    assert is_valid_email(address)


@pytest.mark.parametrize("address", INVALID)
def test_validator_refuses(address):
    assert not is_valid_email(address)


def test_non_string_email_is_invalid(track):
    response = track.batch(person({"id": "1"}, {"email": 42}), person({"email": 42}))
    assert [(e["reason"], e["field"]) for e in response.json()["errors"]] == [
        ("invalid", "attributes.email"),
        ("invalid", "identifiers.email"),
    ]


def test_emails_match_case_insensitively(workspace, track):
    track.batch(person({"email": "Jane@Example.com"}, {"plan": "free"}))
    track.batch(person({"email": "jane@example.COM"}, {"plan": "pro"}))
    [jane] = workspace.people()
    assert jane["email"] == "Jane@Example.com"
    assert jane["attributes"] == {"plan": "pro"}
    response = track.batch(person({"id": "7"}, {"email": "JANE@example.com"}))
    assert response.status_code == 200
    assert len(workspace.people()) == 1
    assert workspace.people()[0]["id"] == "7"
    assert workspace.activities() == []
