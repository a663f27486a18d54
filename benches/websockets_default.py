"""python websockets' default permessage-deflate on the benchmark's JSON
stream, side by side with `cargo bench --bench deflate`.

websockets' server default (``enable_server_permessage_deflate``) agrees
12-bit windows both ways and compresses with ``memLevel=5`` at zlib's
default level 6, with context takeover: each message is
``zlib.compressobj(6, DEFLATED, -12, 5)`` + ``Z_SYNC_FLUSH`` with the
``00 00 ff ff`` tail removed. This script compresses the same 1000 messages
(a port of ``json_stream()`` in benches/deflate.rs, checked by size and
content) that way, inflates them back, and measures the heap the
compressor and decompressor hold afterwards (tracemalloc sees zlib's
allocations through Python's allocator).

    python3 benches/websockets_default.py
"""

import hashlib
import time
import tracemalloc
import zlib

MASK = (1 << 64) - 1
TAIL = b"\x00\x00\xff\xff"


def json_stream():
    """The same messages as json_stream() in benches/deflate.rs."""
    seed = 0x2545_F491_4F6C_DD1D

    def nxt(n):
        nonlocal seed
        seed ^= (seed << 13) & MASK
        seed ^= seed >> 7
        seed ^= (seed << 17) & MASK
        return seed % n

    symbols = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "ASML"]
    venues = ["XNAS", "XNYS", "BATS", "ARCX", "IEXG"]
    out = []
    for i in range(1000):
        fills = []
        for _ in range(1 + nxt(4)):
            px = 100 + nxt(900)
            frac = nxt(10_000)
            qty = nxt(5_000)
            venue = venues[nxt(5)]
            liq = "add" if nxt(2) == 0 else "remove"
            fills.append(
                f'{{"px":{px}.{frac:04},"qty":{qty},"venue":"{venue}","liquidity":"{liq}"}}'
            )
        mm, ss, us = nxt(60), nxt(60), nxt(1_000_000)
        oid = nxt(0xFFFF_FFFF)
        sym = symbols[nxt(8)]
        side = "buy" if nxt(2) == 0 else "sell"
        status = ["partial", "filled", "new"][nxt(3)]
        out.append(
            (
                f'{{"type":"execution","seq":{1_000_000 + i},"ts":"2026-11-25T14:{mm:02}:{ss:02}.{us:06}Z",'
                f'"order_id":"ord-{oid:08x}","symbol":"{sym}","side":"{side}","status":"{status}",'
                f'"fills":[{",".join(fills)}]}}'
            ).encode()
        )
    return out


def main():
    msgs = json_stream()
    raw = sum(map(len, msgs))
    digest = hashlib.sha256(b"".join(msgs)).hexdigest()[:16]
    print(f"JSON stream: {len(msgs)} messages, {raw} bytes (sha256 {digest}), zlib {zlib.ZLIB_RUNTIME_VERSION}")
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    c = zlib.compressobj(6, zlib.DEFLATED, -12, 5)
    d = zlib.decompressobj(-12)
    t = time.perf_counter()
    payloads = []
    for m in msgs:
        data = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(TAIL)
        payloads.append(data[:-4])
    tc = time.perf_counter() - t
    t = time.perf_counter()
    for p, m in zip(payloads, msgs):
        assert d.decompress(p + TAIL) == m
    td = time.perf_counter() - t
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    wire = sum(map(len, payloads))
    # The payload list itself was allocated while tracing: take it out.
    payload_heap = sum(p.__sizeof__() for p in payloads) + payloads.__sizeof__()
    state = held - base - payload_heap
    print(
        f"python websockets default (zlib level 6, 12-bit windows, memLevel 5, context takeover): "
        f"{wire} bytes on the wire = {100 * wire / raw:.2f} % of the JSON; "
        f"compressor + decompressor hold {state} bytes ({state / 1024:.1f} KiB); "
        f"compress {tc * 1e3:.1f} ms, inflate {td * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
