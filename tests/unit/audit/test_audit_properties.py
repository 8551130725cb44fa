"""Properties of verification over in-memory rows (pure, so thousands of cases
run in seconds): any single-byte change is detected; an untampered log passes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsgate.audit import EventType, open_log
from opsgate.audit.checkpoint import load_public_key
from opsgate.audit.verify import verify

Rows = list[tuple[int, bytes, bytes]]


@pytest.fixture(scope="module")
def sample(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, Rows, list[tuple[str, bytes]], list[str]]:
    log = open_log(tmp_path_factory.mktemp("prop") / "d")
    log.every = 10**9
    for i in range(20):
        log.append(
            EventType.EXECUTION_COMPLETED,
            actor={"type": "user", "name": f"u{i}"},
            action={"kind": "sql.execute", "input": {"query": "SELECT " + "x" * (i * 7)}},
            result={"status": "ok", "rows": i},
        )
    log.checkpoint()
    rows = [(s, bytes(b), bytes(lk)) for s, b, lk in log.store.rows()]
    cps = [("store", b) for b in log.store.checkpoint_bodies()]
    trusted = [load_public_key(str(log.key_path))]
    log_id = log.log_id
    log.close()
    return log_id, rows, cps, trusted


def _mutate(data: bytes, position: int, delta: int) -> bytes:
    buf = bytearray(data)
    buf[position % len(buf)] = (buf[position % len(buf)] + delta) % 256
    return bytes(buf)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    row=st.integers(min_value=0),
    field=st.sampled_from([1, 2]),
    pos=st.integers(min_value=0),
    delta=st.integers(1, 255),
)
def test_any_single_byte_change_in_an_entry_is_detected(
    sample, row: int, field: int, pos: int, delta: int
) -> None:  # type: ignore[no-untyped-def]
    log_id, rows, cps, trusted = sample
    tampered = list(rows)
    i = row % len(rows)
    item = list(tampered[i])
    item[field] = _mutate(item[field], pos, delta)
    tampered[i] = (item[0], item[1], item[2])
    assert not verify(log_id, tampered, cps, trusted).ok


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(which=st.integers(min_value=0), pos=st.integers(min_value=0), delta=st.integers(1, 255))
def test_any_single_byte_change_in_a_checkpoint_is_detected(
    sample, which: int, pos: int, delta: int
) -> None:  # type: ignore[no-untyped-def]
    log_id, rows, cps, trusted = sample
    source, body = cps[which % len(cps)]
    tampered = [c for c in cps if c[1] != body] + [(source, _mutate(body, pos, delta))]
    assert not verify(log_id, rows, tampered, trusted).ok


@settings(max_examples=25, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(list(EventType)),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers()
                | st.floats(allow_nan=True)
                | st.text(max_size=20),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=8,
            ),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_untampered_log_always_verifies(
    tmp_path_factory: pytest.TempPathFactory, events: list
) -> None:  # type: ignore[type-arg]
    log = open_log(tmp_path_factory.mktemp("p") / "d")
    for event, payload in events:
        log.append(
            event, action={"kind": "mcp.call", "input": {"payload": payload}}, result=payload
        )
    log.checkpoint()
    report = verify(
        log.log_id,
        log.store.rows(),
        [("s", b) for b in log.store.checkpoint_bodies()],
        [load_public_key(str(log.key_path))],
    )
    log.close()
    assert report.ok, report.summary()


def test_ten_thousand_random_mutations_all_detected(sample) -> None:  # type: ignore[no-untyped-def]
    log_id, rows, cps, trusted = sample
    rng = random.Random(8785)
    for _ in range(10_000):
        tampered = list(rows)
        i = rng.randrange(len(rows))
        field = rng.choice((1, 2))
        item = list(tampered[i])
        item[field] = _mutate(item[field], rng.randrange(1 << 16), rng.randrange(1, 256))
        tampered[i] = (item[0], item[1], item[2])
        assert not verify(log_id, tampered, (), None).ok, (i, field)
    # and no false alarm on the untouched rows
    assert verify(log_id, rows, cps, trusted).ok


def test_the_sample_is_nontrivial(sample, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, rows, cps, _ = sample
    assert len(rows) == 22 and len(cps) == 2


# --- canonical encoding: the fast path must be byte-identical to RFC 8785 ----------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_values)
def test_canonical_fast_path_is_byte_identical_to_rfc8785(value: object) -> None:
    import rfc8785

    from opsgate.audit.chain import canonical

    try:
        expected = bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, ValueError):
        return  # rfc8785 refuses it (e.g. an integer beyond 2**53); the redactor never sends one
    assert canonical(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, None, "x"]},
        {"ctl": '\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f"\\/'},
        {"\ue000": 1, "\U0001f600": 2},  # code-point and UTF-16 order differ here
        {"s": "\ud800"},  # a lone surrogate
        {"n": 2**53 - 1, "m": -(2**53 - 1)},
        {"f": 1.0, "g": 1e21, "h": 5e-324},
        {"é": "ü", "deep": [[[["x"]]]]},
    ],
)
def test_canonical_matches_rfc8785_on_the_awkward_cases(value: object) -> None:
    import rfc8785

    from opsgate.audit.chain import canonical

    try:
        expected = bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        # Only the lone surrogate, which UTF-8 cannot carry: stored as its escape
        # text, so one agent's odd string cannot fail the batch it shares.
        assert canonical(value) == rb'{"s":"\\ud800"}'
        return
    assert canonical(value) == expected
