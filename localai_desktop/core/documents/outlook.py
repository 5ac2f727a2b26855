"""Outlook messages (.msg) read with olefile alone, for where extract-msg is not installed.

extract-msg (GPL-3.0) reads .msg files most completely, but its licence keeps it out of the
packaged app (MIT), where lawyers and clinicians most need their e-mails read. This module reads
what indexing needs through olefile (BSD), the well-kept reader of the OLE Compound File that
holds a message: MS-OXMSG lays each property out as a stream ``__substg1.0_IIIITTTT`` (id,
type) or as an entry of ``__properties_version1.0``; recipients and attachments are storages
of their own. Read: subject, plain or HTML body, sender, To and Cc, the time it was sent, and
attachments stored by value (file name and bytes). Not read: a body kept only as compressed
RTF, and attached Outlook messages (both are left out; extract-msg reads them where installed).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

PT_LONG = 0x0003
PT_SYSTIME = 0x0040
PT_STRING8 = 0x001E
PT_UNICODE = 0x001F
PT_BINARY = 0x0102

PROPERTIES = "__properties_version1.0"
# The fixed part of __properties_version1.0 before its 16-byte entries (MS-OXMSG 2.4.1).
TOP_HEADER, CHILD_HEADER = 32, 8
RECIPIENT_TO, RECIPIENT_CC = 1, 2
SUBMIT_TIME, DELIVERY_TIME = 0x0039, 0x0E06
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class OutlookMessage:
    subject: str
    sender: str
    to: str
    cc: str
    sent: datetime | None
    body: str
    is_html: bool
    attachments: list[tuple[str, bytes]]  # (file name, bytes)


class NotAnOutlookMessage(ValueError):
    """The bytes are not an OLE Compound File, or not one holding a message."""


def read_outlook_message(raw: bytes) -> OutlookMessage:
    """The parts of an Outlook message that indexing uses; NotAnOutlookMessage otherwise."""
    import olefile

    if not olefile.isOleFile(io.BytesIO(raw)):
        raise NotAnOutlookMessage("not an OLE compound file")
    try:
        ole = olefile.OleFileIO(io.BytesIO(raw))
    except (OSError, ValueError, struct.error) as error:
        raise NotAnOutlookMessage(str(error)) from error
    try:
        if not ole.exists(PROPERTIES):
            raise NotAnOutlookMessage("no message properties")
        fixed = _fixed_properties(_stream(ole, [PROPERTIES]), TOP_HEADER)
        body = _text(ole, [], 0x1000)
        is_html = False
        if not body.strip():
            html = _binary(ole, [], 0x1013)
            if html:
                body, is_html = html.decode("utf-8", errors="replace"), True
        sent_at = fixed.get((SUBMIT_TIME, PT_SYSTIME)) or fixed.get((DELIVERY_TIME, PT_SYSTIME))
        to, cc = _recipients(ole)
        return OutlookMessage(
            subject=_text(ole, [], 0x0037),
            sender=_person(_text(ole, [], 0x0C1A), _sender_address(ole)),
            to=to or _text(ole, [], 0x0E04),
            cc=cc or _text(ole, [], 0x0E03),
            sent=_filetime(sent_at) if sent_at else None,
            body=body,
            is_html=is_html,
            attachments=_attachments(ole),
        )
    except (OSError, struct.error) as error:
        raise NotAnOutlookMessage(str(error)) from error
    finally:
        ole.close()


def _stream(ole: Any, path: list[str]) -> bytes:
    data: bytes = ole.openstream(path).read()
    return data


def _text(ole: Any, folder: list[str], prop: int) -> str:
    for kind, encoding in ((PT_UNICODE, "utf-16-le"), (PT_STRING8, "cp1252")):
        path = [*folder, f"__substg1.0_{prop:04X}{kind:04X}"]
        if ole.exists("/".join(path)):
            return _stream(ole, path).decode(encoding, errors="replace").rstrip("\0")
    return ""


def _binary(ole: Any, folder: list[str], prop: int) -> bytes:
    path = [*folder, f"__substg1.0_{prop:04X}{PT_BINARY:04X}"]
    return _stream(ole, path) if ole.exists("/".join(path)) else b""


def _fixed_properties(data: bytes, header: int) -> dict[tuple[int, int], int]:
    """(property id, type) -> the 8-byte value of each fixed-size property entry."""
    found: dict[tuple[int, int], int] = {}
    for offset in range(header, len(data) - 15, 16):
        tag, _flags, value = struct.unpack_from("<IIQ", data, offset)
        found[(tag >> 16, tag & 0xFFFF)] = value
    return found


def _filetime(value: int) -> datetime | None:
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def _person(name: str, address: str) -> str:
    name, address = " ".join(name.split()), " ".join(address.split())
    if name and address and name != address:
        return f"{name} <{address}>"
    return name or address


def _sender_address(ole: Any) -> str:
    for prop in (0x5D01, 0x0C1F, 0x0065):  # SMTP address, e-mail address, sent-representing
        address = _text(ole, [], prop)
        if "@" in address:
            return address
    return ""


def _storages(ole: Any, prefix: str) -> list[str]:
    names = {entry[0] for entry in ole.listdir(streams=True, storages=True) if len(entry) > 1}
    return sorted(name for name in names if name.startswith(prefix))


def _recipients(ole: Any) -> tuple[str, str]:
    to: list[str] = []
    cc: list[str] = []
    for folder in _storages(ole, "__recip_version1.0_#"):
        fixed = _fixed_properties(_stream(ole, [folder, PROPERTIES]), CHILD_HEADER)
        kind = fixed.get((0x0C15, PT_LONG), RECIPIENT_TO) & 0xFFFFFFFF
        address = _text(ole, [folder], 0x39FE) or _text(ole, [folder], 0x3003)
        person = _person(_text(ole, [folder], 0x3001), address)
        if person:
            (cc if kind == RECIPIENT_CC else to).append(person)
    return "; ".join(to), "; ".join(cc)


def _attachments(ole: Any) -> list[tuple[str, bytes]]:
    found = []
    for number, folder in enumerate(_storages(ole, "__attach_version1.0_#"), start=1):
        data = _binary(ole, [folder], 0x3701)
        if not data:
            continue  # an attached message or an OLE object: not read here
        name = (
            _text(ole, [folder], 0x3707)
            or _text(ole, [folder], 0x3704)
            or _text(ole, [folder], 0x3001)
            or f"attachment {number}"
        )
        found.append((name, data))
    return found
