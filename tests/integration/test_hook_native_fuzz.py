"""A short run of the native client's fuzzer (``make fuzz`` runs 1,000): generated
and adversarial inputs, every agent, against a working, absent, killed and broken
service — every run a well-formed answer, never a signal."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from fuzz_native import fuzz


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_native_client_fuzz() -> None:
    tally, bad = fuzz(runs=40, seed=13)
    assert sum(tally.values()) == 40
    assert not bad, "\n".join(bad)
