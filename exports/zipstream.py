"""A zip archive written as a stream of bytes, in constant memory.

`zipfile.ZipFile` keeps a ZipInfo per entry until the archive is closed, so an export of a few
hundred thousand label files would hold them all. Here every entry is written out at once (its
bytes are in hand: a label file, or one image of at most UPLOAD_MAX_BYTES) and its central
directory record goes to a temporary file on disk, streamed out at the end. Zip64 records are
added when the archive needs them (more than 65,535 entries or more than 4 GiB), so Python's
zipfile, Info-ZIP `unzip` and 7-Zip read the result.
"""

import struct
import tempfile
import time
import zlib
from collections.abc import Iterator

_UTF8 = 0x0800
_LIMIT32 = 0xFFFFFFFF
_LIMIT16 = 0xFFFF


def _dos_time(moment: float) -> tuple[int, int]:
    t = time.localtime(moment)
    year = max(t.tm_year, 1980)
    return (
        (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2),
        ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday,
    )


class ZipStream:
    """Call `entry(name, data)` for each file and send what it returns; then send `finish()`."""

    def __init__(self, *, compresslevel: int = 1):
        self._offset = 0
        self._count = 0
        self._central = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish()
        self._level = compresslevel
        self._time, self._date = _dos_time(time.time())

    def entry(self, name: str | bytes, data: bytes, *, compress: bool = True) -> bytes:
        encoded = name if isinstance(name, bytes) else name.encode("utf-8")
        crc = zlib.crc32(data)
        if compress:
            packer = zlib.compressobj(self._level, zlib.DEFLATED, -15)
            payload = packer.compress(data) + packer.flush()
            method = 8
        else:
            payload, method = data, 0
        if len(data) > _LIMIT32 or len(payload) > _LIMIT32:
            raise ValueError(f"{name} is too large for one zip entry")
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50, 20, _UTF8, method, self._time, self._date,
            crc, len(payload), len(data), len(encoded), 0,
        )  # fmt: skip
        chunk = header + encoded + payload
        self._record(encoded, method, crc, len(payload), len(data), flags=_UTF8)
        self._offset += len(chunk)
        return chunk

    def entry_stream(self, name: str, pieces: Iterator[bytes]) -> Iterator[bytes]:
        """A deflated entry of unknown length (sizes follow the data in a data descriptor)."""
        encoded = name.encode("utf-8")
        flags = _UTF8 | 0x08
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            flags,
            8,
            self._time,
            self._date,
            0,
            0,
            0,
            len(encoded),
            0,
        )
        yield header + encoded
        packer = zlib.compressobj(self._level, zlib.DEFLATED, -15)
        crc = size = written = 0
        for piece in pieces:
            crc = zlib.crc32(piece, crc)
            size += len(piece)
            out = packer.compress(piece)
            if out:
                written += len(out)
                yield out
        out = packer.flush()
        written += len(out)
        if size > _LIMIT32 or written > _LIMIT32:
            raise ValueError(f"{name} is larger than 4 GiB; export without include_images")
        descriptor = struct.pack("<IIII", 0x08074B50, crc, written, size)
        yield out + descriptor
        self._record(encoded, 8, crc, written, size, flags=flags)
        self._offset += len(header) + len(encoded) + written + len(descriptor)

    def _record(self, encoded: bytes, method: int, crc: int, csize: int, usize: int, *, flags: int):
        offset = self._offset
        extra = b""
        if offset > _LIMIT32:
            extra = struct.pack("<HHQ", 0x0001, 8, offset)
        self._central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                (3 << 8) | 45,
                45 if extra else 20,
                flags,
                method,
                self._time,
                self._date,
                crc,
                csize,
                usize,
                len(encoded),
                len(extra),
                0,
                0,
                0,
                0o100644 << 16,
                min(offset, _LIMIT32),
            )  # fmt: skip
            + encoded
            + extra
        )
        self._count += 1

    def finish(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The central directory and end records."""
        start, size = self._offset, self._central.tell()
        self._central.seek(0)
        while block := self._central.read(chunk_size):
            yield block
        self._central.close()
        end = start + size
        needs64 = self._count > _LIMIT16 or start > _LIMIT32 or size > _LIMIT32
        if needs64:
            yield struct.pack(
                "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, self._count, self._count, size, start
            )
            yield struct.pack("<IIQI", 0x07064B50, 0, end, 1)
        yield struct.pack(
            "<IHHHHIIH",
            0x06054B50, 0, 0, min(self._count, _LIMIT16), min(self._count, _LIMIT16),
            min(size, _LIMIT32), min(start, _LIMIT32), 0,
        )  # fmt: skip
