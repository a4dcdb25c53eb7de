"""The sync's email check (``sync/records/emails.py``): its fast, possessive form accepts exactly the addresses of the
plain RFC 5322 ``addr-spec`` expression, one address or a column of them. Which addresses are valid is
tested with the workspace's rules in ``tests/emulator/test_emails.py``."""

from __future__ import annotations

import random
import re

from airflow_provider_cio.sync.records.emails import addr_spec_pattern, all_valid_emails, is_valid_email

PLAIN = re.compile(addr_spec_pattern(""))
PIECES = ["a", "ab", ".", "@", '"', "\\", "[", "]", " ", "\n", "é", "x@y", '"q"', "[1]", "a.b", "-", "+"]


def test_the_fast_check_accepts_exactly_the_addresses_of_the_plain_expression() -> None:
    rng = random.Random(11)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 10))) for _ in range(60_000)]

    valid = [text for text in texts if PLAIN.fullmatch(text)]

    assert [text for text in texts if is_valid_email(text)] == valid
    assert len(valid) > 500, "the texts must hold valid addresses, of every form"
    assert {'"q"@[1]', "a.b@x@y"} & set(valid) == {'"q"@[1]'}
    mostly_valid = [rng.choice(valid) if rng.random() < 0.97 else rng.choice(texts) for _ in range(6_000)]
    for size in (1, 2, 7):
        columns = [mostly_valid[start : start + size] for start in range(0, 6_000, size)]
        expected = [all(PLAIN.fullmatch(text) for text in column) for column in columns]
        assert [all_valid_emails(column) for column in columns] == expected
        assert True in expected and False in expected
