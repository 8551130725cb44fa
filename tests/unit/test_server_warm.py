"""The server warms the classifier up and freezes the heap before serving."""

from __future__ import annotations

import gc

from opsgate.classify import families
from opsgate.server._warm import warm_up_and_freeze


def test_warm_up_loads_every_family_and_freezes_the_heap() -> None:
    gc.unfreeze()
    try:
        warm_up_and_freeze()
        assert gc.get_freeze_count() > 10_000  # the loaded classifier, out of the collector's way
        assert set(families._LOADED) == set(families.MODULES)
    finally:
        gc.unfreeze()
