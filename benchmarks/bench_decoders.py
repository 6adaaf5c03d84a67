"""Decoder speed: typical session values and adversarial inputs (no server needed)."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from inspector.core.decoders import decode_value
from inspector.sample_app.store import sample_session_json
from tests.spring_layouts import jvm_fixture


def per_call(run: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeat):
            run()
        samples.append((time.perf_counter() - started) / repeat)
    return min(samples)


def main() -> None:
    cases: list[tuple[str, bytes, int]] = [
        ("JDK Long (fixed-bytes fast path)", jvm_fixture("creation_time"), 20_000),
        ("JDK SampleSession (212 B)", jvm_fixture("sample_session"), 5_000),
        ("JDK SecurityContextImpl", jvm_fixture("security_context"), 2_000),
        ("JDK HashMap", jvm_fixture("hash_map"), 5_000),
        ("JDK 70 KB string", jvm_fixture("string_long"), 500),
        ("Jackson SampleSession", sample_session_json("c95883d5424d", 1552129074569), 20_000),
        ("plain JSON number", b"1552128921707", 50_000),
    ]
    # Adversarial: a claimed 2^62-byte string, and many objects sharing a
    # 64-level class hierarchy (linear work expected).
    magic = b"\xac\xed\x00\x05"

    def utf(text: str) -> bytes:
        return struct.pack(">H", len(text)) + text.encode()

    chain = (
        b"".join(
            b"\x72" + utf(f"C{level}") + struct.pack(">qbH", 1, 2, 0) + b"\x78"
            for level in range(63)
        )
        + b"\x72"
        + utf("C63")
        + struct.pack(">qbH", 1, 2, 0)
        + b"\x78\x70"
    )
    count = 50_000
    array_desc = b"\x72" + utf("[Ljava.lang.Object;") + struct.pack(">qbH", 1, 2, 0) + b"\x78\x70"
    handle = struct.pack(">i", 0x7E0000 + 2)
    deep = magic + b"\x75" + array_desc + struct.pack(">i", count) + b"\x73" + chain
    deep += (b"\x73\x71" + handle) * (count - 1)
    cases.append(
        ("hostile: 2^62-byte string claim", magic + b"\x7c" + struct.pack(">q", 1 << 62), 5_000)
    )
    cases.append(
        (f"hostile: {count} objects x 64-level hierarchy ({len(deep) // 1024} KB)", deep, 3)
    )
    for name, data, repeat in cases:
        seconds = per_call(lambda: decode_value(data), repeat)  # noqa: B023 - called at once
        print(f"{name:<58} {seconds * 1e6:10.1f} µs")


if __name__ == "__main__":
    main()
