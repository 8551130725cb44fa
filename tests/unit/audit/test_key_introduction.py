"""Key introductions, pure: which keys a witness trusts from its pin through signed
introductions, and what it refuses (forged, foreign, a key with two successors)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opsgate.audit.checkpoint import key_id
from opsgate.audit.errors import AuditConfigError
from opsgate.audit.introduction import (
    KeyIntroduction,
    introduce,
    introduction_valid,
    trust_chain,
)

LOG = "log-a"


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)


def _id(key: Ed25519PrivateKey) -> str:
    return key_id(_raw(key))


def _intro(by: Ed25519PrivateKey, new: Ed25519PrivateKey, log: str = LOG) -> KeyIntroduction:
    return introduce(by, _raw(new), log=log, time="2026-12-07T00:00:00.000000Z")


K1, K2, K3, K4 = (Ed25519PrivateKey.generate() for _ in range(4))


def test_a_chain_of_introductions_is_trusted_in_any_order() -> None:
    trusted, problems = trust_chain(_id(K1), [_intro(K2, K3), _intro(K1, K2)], LOG)
    assert trusted == [_id(K1), _id(K2), _id(K3)] and problems == []


def test_the_body_round_trips_and_only_canonical_bytes_parse() -> None:
    intro = _intro(K1, K2)
    assert KeyIntroduction.parse(intro.body()) == intro and introduction_valid(intro)
    for bad in (intro.body().replace(b'","', b'", "', 1), b"{}", b'{"type":"x"}'):
        try:
            KeyIntroduction.parse(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_an_introduction_not_signed_by_a_trusted_key_is_refused() -> None:
    # K3 introduces K4: valid, but K3 is not trusted from the pin K1.
    trusted, problems = trust_chain(_id(K1), [_intro(K3, K4)], LOG)
    assert trusted == [_id(K1)]
    assert problems == [
        f"the introduction of {_id(K4)} is signed by {_id(K3)}, a key the witness does not "
        "trust — not accepted"
    ]


def test_a_forged_introduction_is_refused() -> None:
    real = _intro(K1, K2)
    # An attacker's key named as the new key under K1's name, signed by the attacker.
    forged = KeyIntroduction(real.log, real.time, real.by, real.by_public_key, _id(K3),
                             _raw(K3).hex(), _intro(K3, K1).signature)  # fmt: skip
    assert not introduction_valid(forged)
    with pytest.raises(AuditConfigError):  # a key introducing itself
        _intro(K3, K3)
    trusted, problems = trust_chain(_id(K1), [forged], LOG)
    assert trusted == [_id(K1)] and "does not verify — forged" in problems[0]


def test_an_introduction_of_another_log_is_refused() -> None:
    trusted, problems = trust_chain(_id(K1), [_intro(K1, K2, log="log-b")], LOG)
    assert trusted == [_id(K1)] and problems == [
        f"the introduction of {_id(K2)} belongs to log log-b"
    ]


def test_a_key_with_two_successors_trusts_neither() -> None:
    """A retired key that leaked cannot start a second line of keys quietly."""
    trusted, problems = trust_chain(_id(K1), [_intro(K1, K2), _intro(K1, K3)], LOG)
    assert trusted == [_id(K1)]
    assert len(problems) == 1 and "introduced 2 different keys" in problems[0]
    # The same introduction twice (recorded again later) is no conflict.
    again = introduce(K1, _raw(K2), log=LOG, time="2026-12-08T00:00:00.000000Z")
    assert trust_chain(_id(K1), [_intro(K1, K2), again], LOG) == ([_id(K1), _id(K2)], [])
