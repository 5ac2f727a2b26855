"""Outlook messages (.msg) made at test time: a small writer of the real file format.

Nothing can be downloaded while tests run, and no .msg file is checked in, so this writes one:
an OLE Compound File (MS-CFB, version 3: 512-byte sectors, a FAT, a directory whose siblings
form a red-black tree, a mini stream and mini FAT for streams under 4096 bytes) holding the
property streams of an e-mail as MS-OXMSG lays them out: ``__properties_version1.0`` with the
fixed-size properties (message flags, submit and delivery times) and the sizes of the
variable ones, one ``__substg1.0_IIIITTTT`` stream per string or binary property, a
``__recip_version1.0_#N`` storage per recipient, an ``__attach_version1.0_#N`` storage per
attachment (by value: file name and data), and the empty named-property storage.

tests/core/documents/test_outlook_msg.py checks that olefile and ``extract_msg.openMsg`` read
it back. Test-only code: the app reads .msg files with extract-msg and never writes one.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

# -- MS-CFB ---------------------------------------------------------------------------------

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
HEADER_DIFAT = 109  # FAT sector numbers held in the header; this writer needs no DIFAT sector

STORAGE, STREAM, ROOT = 1, 2, 5
RED, BLACK = 0, 1


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    number: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    colour: int = BLACK
    start: int = ENDOFCHAIN


def _sort_key(entry: _Entry) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names first, then by upper-cased UTF-16 code units.
    return len(entry.name.encode("utf-16-le")), entry.name.upper()


def _tree(entries: list[_Entry], depth: int, red_depth: int) -> int:
    """Siblings as a balanced binary search tree; returns the root's number.

    Splitting at the middle fills every level above the deepest one, so colouring the nodes of
    that deepest (incomplete) level red, and all others black, is a valid red-black tree.
    """
    if not entries:
        return NOSTREAM
    middle = len(entries) // 2
    node = entries[middle]
    node.colour = RED if depth == red_depth else BLACK
    node.left = _tree(entries[:middle], depth + 1, red_depth)
    node.right = _tree(entries[middle + 1 :], depth + 1, red_depth)
    return node.number


def _link(storage: _Entry) -> None:
    children = sorted(storage.children, key=_sort_key)
    full_levels = (len(children) + 1).bit_length() - 1  # levels 0 .. full_levels - 1 are full
    storage.child = _tree(children, 0, full_levels)
    for child in children:
        if child.kind == STORAGE:
            _link(child)


def _chain(fat: list[int], first: int, count: int) -> None:
    for offset in range(count):
        fat[first + offset] = first + offset + 1 if offset < count - 1 else ENDOFCHAIN


def _sectors(size: int, unit: int) -> int:
    return -(-size // unit)


def compound_file(streams: Mapping[str, bytes]) -> bytes:
    """An MS-CFB v3 file holding `streams`, named by "/"-separated paths (storages implied)."""
    root = _Entry("Root Entry", ROOT)
    storages: dict[str, _Entry] = {"": root}
    for path, data in streams.items():
        parts = path.split("/")
        parent = root
        for depth in range(len(parts) - 1):
            key = "/".join(parts[: depth + 1])
            if key not in storages:
                storages[key] = _Entry(parts[depth], STORAGE)
                parent.children.append(storages[key])
            parent = storages[key]
        parent.children.append(_Entry(parts[-1], STREAM, data))
    for entry in [root, *_walk(root)]:
        if len(entry.name) > 31:
            raise ValueError(f"an entry name longer than 31 characters: {entry.name}")
    entries = [root, *_walk(root)]
    for number, entry in enumerate(entries):
        entry.number = number
    _link(root)

    small = [e for e in entries if e.kind == STREAM and 0 < len(e.data) < MINI_CUTOFF]
    large = [e for e in entries if e.kind == STREAM and len(e.data) >= MINI_CUTOFF]
    mini_stream = bytearray()
    mini_fat: list[int] = []
    for entry in small:
        entry.start = len(mini_fat)
        count = _sectors(len(entry.data), MINI_SECTOR)
        mini_fat.extend([FREESECT] * count)
        _chain(mini_fat, entry.start, count)
        mini_stream += entry.data.ljust(count * MINI_SECTOR, b"\0")

    directory_sectors = _sectors(len(entries) * 128, SECTOR)
    mini_fat_sectors = _sectors(len(mini_fat) * 4, SECTOR)
    mini_stream_sectors = _sectors(len(mini_stream), SECTOR)
    large_sectors = sum(_sectors(len(e.data), SECTOR) for e in large)
    others = directory_sectors + mini_fat_sectors + mini_stream_sectors + large_sectors
    fat_sectors = 1
    while fat_sectors * (SECTOR // 4) < others + fat_sectors:
        fat_sectors += 1
    if fat_sectors > HEADER_DIFAT:
        raise ValueError("too large for this writer (it writes no DIFAT sectors)")

    fat = [FREESECT] * (fat_sectors * (SECTOR // 4))
    for sector in range(fat_sectors):
        fat[sector] = FATSECT
    next_sector = fat_sectors
    directory_start = next_sector
    _chain(fat, directory_start, directory_sectors)
    next_sector += directory_sectors
    mini_fat_start = next_sector if mini_fat_sectors else ENDOFCHAIN
    _chain(fat, next_sector, mini_fat_sectors)
    next_sector += mini_fat_sectors
    root.start = next_sector if mini_stream_sectors else ENDOFCHAIN
    root.data = bytes(mini_stream)
    _chain(fat, next_sector, mini_stream_sectors)
    next_sector += mini_stream_sectors
    body = bytearray()
    for entry in large:
        count = _sectors(len(entry.data), SECTOR)
        entry.start = next_sector
        _chain(fat, next_sector, count)
        body += entry.data.ljust(count * SECTOR, b"\0")
        next_sector += count

    header = bytearray()
    header += SIGNATURE + bytes(16)
    header += struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
    header += bytes(6)
    header += struct.pack(
        "<IIIIIIIII",
        0,  # directory sectors: always 0 in version 3
        fat_sectors,
        directory_start,
        0,  # transaction signature
        MINI_CUTOFF,
        mini_fat_start,
        mini_fat_sectors,
        ENDOFCHAIN,  # first DIFAT sector: none
        0,
    )
    difat = list(range(fat_sectors)) + [FREESECT] * (HEADER_DIFAT - fat_sectors)
    header += struct.pack(f"<{HEADER_DIFAT}I", *difat)
    assert len(header) == SECTOR

    directory = bytearray()
    for entry in entries:
        directory += _directory_entry(entry)
    directory = directory.ljust(directory_sectors * SECTOR, b"\0")
    # Unused directory slots: empty names, no siblings, no child.
    for slot in range(len(entries), directory_sectors * SECTOR // 128):
        struct.pack_into("<III", directory, slot * 128 + 68, NOSTREAM, NOSTREAM, NOSTREAM)

    out = bytearray(header)
    out += struct.pack(f"<{len(fat)}I", *fat)
    out += directory
    out += struct.pack(f"<{len(mini_fat)}I", *mini_fat).ljust(mini_fat_sectors * SECTOR, b"\xff")
    out += bytes(mini_stream).ljust(mini_stream_sectors * SECTOR, b"\0")
    out += body
    return bytes(out)


def _walk(storage: _Entry) -> list[_Entry]:
    found: list[_Entry] = []
    for child in storage.children:
        found.append(child)
        if child.kind == STORAGE:
            found += _walk(child)
    return found


def _directory_entry(entry: _Entry) -> bytes:
    name = (entry.name + "\0").encode("utf-16-le")
    size = len(entry.data) if entry.kind in (STREAM, ROOT) else 0
    start = entry.start if entry.kind in (STREAM, ROOT) else 0
    if entry.kind == STREAM and size == 0:
        start = ENDOFCHAIN
    raw = (
        name.ljust(64, b"\0")
        + struct.pack("<HBB", len(name), entry.kind, entry.colour)
        + struct.pack("<III", entry.left, entry.right, entry.child)
        + bytes(16)  # CLSID
        + struct.pack("<I", 0)  # state bits
        + struct.pack("<QQ", 0, 0)  # creation and modification times
        + struct.pack("<IQ", start, size)
    )
    assert len(raw) == 128
    return raw


# -- MS-OXMSG -------------------------------------------------------------------------------

PT_LONG, PT_BOOLEAN, PT_SYSTIME, PT_UNICODE, PT_BINARY = 0x0003, 0x000B, 0x0040, 0x001F, 0x0102
READABLE_WRITABLE = 0x6
STORE_UNICODE_OK = 0x00040000
MSGFLAG_READ = 0x1
ATTACH_BY_VALUE = 1
MAPI_TO = 1
PROPERTIES = "__properties_version1.0"


@dataclass(frozen=True)
class MsgAttachment:
    name: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class MsgRecipient:
    name: str
    address: str


def _filetime(moment: datetime) -> int:
    epoch = datetime(1601, 1, 1, tzinfo=timezone.utc)
    delta = moment.astimezone(timezone.utc) - epoch
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


class _PropertySet:
    """One object's properties: its property stream entries and its __substg1.0_ streams."""

    def __init__(self) -> None:
        self.entries = bytearray()
        self.streams: dict[str, bytes] = {}

    def _tag(self, prop: int, kind: int) -> int:
        return (prop << 16) | kind

    def long(self, prop: int, value: int) -> None:
        self.entries += struct.pack(
            "<IIII", self._tag(prop, PT_LONG), READABLE_WRITABLE, value & 0xFFFFFFFF, 0
        )

    def boolean(self, prop: int, value: bool) -> None:
        self.entries += struct.pack(
            "<IIII", self._tag(prop, PT_BOOLEAN), READABLE_WRITABLE, int(value), 0
        )

    def time(self, prop: int, moment: datetime) -> None:
        self.entries += struct.pack(
            "<IIQ", self._tag(prop, PT_SYSTIME), READABLE_WRITABLE, _filetime(moment)
        )

    def text(self, prop: int, value: str) -> None:
        raw = value.encode("utf-16-le")
        # MS-OXMSG 2.4.2.2: a string's size counts its terminating null; the stream has none.
        self._variable(prop, PT_UNICODE, raw, len(raw) + 2)

    def binary(self, prop: int, value: bytes) -> None:
        self._variable(prop, PT_BINARY, value, len(value))

    def _variable(self, prop: int, kind: int, raw: bytes, size: int) -> None:
        self.entries += struct.pack("<IIII", self._tag(prop, kind), READABLE_WRITABLE, size, 0)
        self.streams[f"__substg1.0_{prop:04X}{kind:04X}"] = raw


def msg_bytes(
    *,
    subject: str,
    body: str,
    sender: MsgRecipient,
    to: Sequence[MsgRecipient],
    sent: datetime,
    attachments: Sequence[MsgAttachment] = (),
) -> bytes:
    """An Outlook e-mail (IPM.Note, Unicode strings) as the bytes of a .msg file."""
    streams: dict[str, bytes] = {
        "__nameid_version1.0/__substg1.0_00020102": b"",
        "__nameid_version1.0/__substg1.0_00030102": b"",
        "__nameid_version1.0/__substg1.0_00040102": b"",
    }
    message = _PropertySet()
    message.text(0x001A, "IPM.Note")
    message.text(0x0037, subject)
    message.text(0x1000, body)
    message.text(0x0C1A, sender.name)  # PidTagSenderName
    message.text(0x0C1E, "SMTP")  # PidTagSenderAddressType
    message.text(0x0C1F, sender.address)  # PidTagSenderEmailAddress
    message.text(0x5D01, sender.address)  # PidTagSenderSmtpAddress
    message.text(0x0042, sender.name)  # PidTagSentRepresentingName
    message.text(0x0E04, "; ".join(r.name for r in to))  # PidTagDisplayTo
    message.time(0x0039, sent)  # PidTagClientSubmitTime
    message.time(0x0E06, sent)  # PidTagMessageDeliveryTime
    message.long(0x0E07, MSGFLAG_READ)  # PidTagMessageFlags: sent (no "unsent" flag)
    message.long(0x340D, STORE_UNICODE_OK)  # PidTagStoreSupportMask
    message.boolean(0x0E1B, bool(attachments))  # PidTagHasAttachments
    streams.update(message.streams)
    # MS-OXMSG 2.4.1.1: the top level's header: reserved, next recipient and attachment ids,
    # recipient and attachment counts, reserved.
    header = struct.pack(
        "<8sIIII8s", bytes(8), len(to), len(attachments), len(to), len(attachments), bytes(8)
    )
    streams[PROPERTIES] = header + bytes(message.entries)

    for number, recipient in enumerate(to):
        folder = f"__recip_version1.0_#{number:08X}"
        props = _PropertySet()
        props.long(0x0C15, MAPI_TO)  # PidTagRecipientType
        props.long(0x3000, number)  # PidTagRowid
        props.long(0x0FFE, 6)  # PidTagObjectType: a mail user
        props.text(0x3001, recipient.name)  # PidTagDisplayName
        props.text(0x3002, "SMTP")  # PidTagAddressType
        props.text(0x3003, recipient.address)  # PidTagEmailAddress
        props.text(0x39FE, recipient.address)  # PidTagSmtpAddress
        streams[f"{folder}/{PROPERTIES}"] = bytes(8) + bytes(props.entries)
        streams.update({f"{folder}/{name}": raw for name, raw in props.streams.items()})

    for number, attachment in enumerate(attachments):
        folder = f"__attach_version1.0_#{number:08X}"
        props = _PropertySet()
        props.long(0x3705, ATTACH_BY_VALUE)  # PidTagAttachMethod
        props.long(0x0E21, number)  # PidTagAttachNumber
        props.long(0x0E20, len(attachment.data))  # PidTagAttachSize
        props.long(0x0FFE, 7)  # PidTagObjectType: an attachment
        props.long(0x370B, 0xFFFFFFFF)  # PidTagRenderingPosition: not drawn in the body
        props.text(0x3001, attachment.name)  # PidTagDisplayName
        props.text(0x3707, attachment.name)  # PidTagAttachLongFilename
        props.text(0x3704, attachment.name[:12])  # PidTagAttachFilename (8.3-ish)
        props.text(0x370E, attachment.mime)  # PidTagAttachMimeTag
        props.binary(0x3701, attachment.data)  # PidTagAttachDataBinary
        streams[f"{folder}/{PROPERTIES}"] = bytes(8) + bytes(props.entries)
        streams.update({f"{folder}/{name}": raw for name, raw in props.streams.items()})
    return compound_file(streams)


def write_msg(path: Path, **fields: object) -> Path:
    """`msg_bytes(**fields)` written to `path`."""
    path.write_bytes(msg_bytes(**fields))  # type: ignore[arg-type]
    return path
