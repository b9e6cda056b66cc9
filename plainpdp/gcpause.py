"""Bulk builds without the cyclic garbage collector walking them.

Loading policies, compiling them and loading entities each allocate
hundreds of thousands of long-lived objects (AST nodes, spans, leaves,
uids) and no garbage cycles. Left alone, the collector scans them young,
then again every time the heap has grown by a quarter: at 100k policies
those full collections cost as much as the build itself. :func:`paused_gc`
holds the collector off while building and, once the build succeeded,
files what it built straight into the oldest generation, where it is
scanned only at the next full collection that happens anyway.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector off while building many long-lived objects.

    Nothing is lost: the collector is enabled again on the way out (also on
    an error), and whatever was built is still collected by later full
    collections. Nested or with the collector already off, it does nothing.
    On success the surviving young objects are promoted to the oldest
    generation (``gc.freeze()`` then ``gc.unfreeze()``, both constant time),
    so they neither crowd the young collections nor count toward triggering
    a full one; skipped when the application froze objects itself, so its
    frozen ones stay frozen.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
        _promote()
    finally:
        gc.enable()


def _promote() -> None:
    """Move every tracked object into the oldest generation (documented behaviour
    of ``unfreeze``), unless the application has objects frozen."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
