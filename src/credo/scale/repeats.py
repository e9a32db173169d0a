"""The values that occur more than once among hundreds of millions of 64-bit hashes, in place.

:func:`credo.scale.events.replayed_copies` holds a hash of every event's ``(partner_id, event_id)``
(8 bytes an event, 2 GB for 254 M events) and needs the repeated ones. Sorting them was measured at
1.8 s on one machine and 20 s on another (numpy sorts 64-bit integers with SIMD only on some CPUs),
and the core it ran on left the other idle. Here the hashes are partitioned in place by their top
bits (one counting pass, then each value moved once into its partition), and each partition, small
enough for the cache, goes through an open-addressing set: linear work, no second buffer, the same
few seconds on any x86 core.
"""

from __future__ import annotations

import numpy as np

from credo.model.kernel import compiled as native

#: Partitions by the top bits: 254 M hashes make partitions of about 124 K (a 2 MB set each).
PARTITION_BITS = 11


@native
def _partition(values, bits):  # pragma: no cover - compiled
    """Reorder ``values`` in place so that each partition (its top ``bits``) is contiguous; the
    partitions' start offsets (one more than there are partitions, the last the length)."""
    parts = 1 << bits
    shift = np.uint64(64 - bits)
    counts = np.zeros(parts, dtype=np.int64)
    for i in range(values.shape[0]):
        counts[values[i] >> shift] += 1
    starts = np.zeros(parts + 1, dtype=np.int64)
    for p in range(parts):
        starts[p + 1] = starts[p] + counts[p]
    heads = starts[:parts].copy()
    for p in range(parts):
        end = starts[p + 1]
        while heads[p] < end:
            value = values[heads[p]]
            home = np.int64(value >> shift)
            while home != p:  # carry the value to its partition, picking up the one it displaces
                displaced = values[heads[home]]
                values[heads[home]] = value
                heads[home] += 1
                value = displaced
                home = np.int64(value >> shift)
            values[heads[p]] = value
            heads[p] += 1
    return starts


@native
def _repeated_in_partitions(values, starts):  # pragma: no cover - compiled
    """Each value that occurs more than once within its partition, once."""
    largest = 0
    for p in range(starts.shape[0] - 1):
        largest = max(largest, starts[p + 1] - starts[p])
    size = 1
    while size < 2 * largest + 2:
        size *= 2
    mask = np.uint64(size - 1)
    keys = np.zeros(size, dtype=np.uint64)
    seen = np.zeros(size, dtype=np.uint8)  # 0 empty, 1 once, 2 repeated (already reported)
    out = np.empty(0, dtype=np.uint64)
    found = 0
    for p in range(starts.shape[0] - 1):
        used = np.empty(starts[p + 1] - starts[p], dtype=np.int64)
        n_used = 0
        for i in range(starts[p], starts[p + 1]):
            value = values[i]
            slot = (value * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20) & mask
            while seen[slot] and keys[slot] != value:
                slot = (slot + np.uint64(1)) & mask
            if seen[slot] == 0:
                keys[slot] = value
                seen[slot] = 1
                used[n_used] = slot
                n_used += 1
            elif seen[slot] == 1:
                seen[slot] = 2
                if found == out.shape[0]:
                    grown = np.empty(max(16, 2 * found), dtype=np.uint64)
                    grown[:found] = out[:found]
                    out = grown
                out[found] = value
                found += 1
        for k in range(n_used):  # clear only the slots this partition used
            seen[used[k]] = 0
    return out[:found]


def repeated_values(values: np.ndarray) -> np.ndarray:
    """The distinct values of a ``uint64`` array that occur in it more than once, sorted. ``values`` is
    reordered in place."""
    if values.dtype != np.uint64:
        raise TypeError(f"expected uint64 values, not {values.dtype}")
    if not len(values):
        return np.zeros(0, dtype=np.uint64)
    starts = _partition(values, PARTITION_BITS)
    return np.sort(_repeated_in_partitions(values, starts))


__all__ = ["PARTITION_BITS", "repeated_values"]
