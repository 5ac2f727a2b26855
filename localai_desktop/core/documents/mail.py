"""E-mail: ``.eml`` (Python's ``email`` package) and Outlook ``.msg`` (``extract-msg`` where it
is installed, otherwise olefile alone: core.documents.outlook).

An e-mail becomes blocks under one heading, "Subject (date)", that start with who wrote to whom
and when, so a passage's citation and the text itself both carry them. Its attachments in
formats that can be indexed are listed as ``Attachment`` records: the indexer adds each as a
document of its own, read from memory (``attachment_bytes``), never saved to disk, and cited as
"name, in e-mail Subject (date)". An attached e-mail's own attachments follow, down to
``MAX_DEPTH`` e-mails deep; deeper ones are left out and the status says so.
"""

from __future__ import annotations

import email
import email.policy
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from localai_desktop.core.documents.blocks import TextBlock
from localai_desktop.core.documents.markup import HtmlBlocks
from localai_desktop.core.documents.records import FileStatus

# An e-mail attached to an e-mail attached to ... : past this depth attachments are left out.
MAX_DEPTH = 3
# Attachments indexed from one e-mail, at most; more are left out (and the status says so).
MAX_ATTACHMENTS = 50
# Bytes of one attachment read into memory, at most.
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
# An e-mail larger than this is not read (mailboxes exported as one file are not e-mails).
MAX_MAIL_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """An attachment to index as a document of its own."""

    member: str  # its position among the e-mail's attachments, from 1
    name: str
    label: str  # "in e-mail Subject (date)", what its citations add to its name


@dataclass(frozen=True)
class _Mail:
    subject: str
    sender: str
    recipients: str
    cc: str
    date: datetime | None
    body: str
    is_html: bool
    attachments: list[tuple[str, Any]]  # (name, a loader of its bytes)


def _unreadable(what: str, todo: str = "", *, status: FileStatus = FileStatus.FAILED) -> Exception:
    from localai_desktop.core.documents.parsers import UnreadableFileError

    return UnreadableFileError(what, todo, status=status)


def _read(path: Path, data: bytes | None) -> bytes:
    if data is not None:
        return data
    with _open(path) as handle:
        return handle.read()


def _open(path: Path) -> BinaryIO:
    from localai_desktop.core.documents.parsers import vanished_error

    try:
        if path.stat().st_size > MAX_MAIL_BYTES:
            raise _unreadable(
                "The e-mail file is too large to index (over 200 MB).",
                "Save the e-mail without its largest attachments and add that.",
                status=FileStatus.SKIPPED,
            )
        return path.open("rb")
    except FileNotFoundError:
        raise vanished_error() from None


def open_mail(path: Path, data: bytes | None) -> Any:
    """An e-mail as a ParsedFile: its headers and body as blocks, its attachments listed."""
    from localai_desktop.core.documents.parsers import ParsedFile, is_supported

    mail = _load(path, data)
    label = mail_label(mail.subject, mail.date)
    heading = label
    header_lines = [
        f"From: {mail.sender}" if mail.sender else "",
        f"To: {mail.recipients}" if mail.recipients else "",
        f"Cc: {mail.cc}" if mail.cc else "",
        f"Date: {mail.date.strftime('%d %B %Y %H:%M')}" if mail.date is not None else "",
        f"Subject: {mail.subject}" if mail.subject else "",
    ]
    blocks = [
        TextBlock("\n".join(h for h in header_lines if h).replace("\n", " · "), heading=heading)
    ]
    if mail.is_html:
        parser = HtmlBlocks()
        parser.feed(mail.body)
        parser.close()
        blocks += [TextBlock(b.text, heading=heading) for b in parser.blocks]
    else:
        blocks += [
            TextBlock(" ".join(p.split()), heading=heading)
            for p in mail.body.replace("\r\n", "\n").split("\n\n")
            if p.strip()
        ]
    parsed = ParsedFile(path, "email", None, iter(blocks), title=mail.subject or None)
    left_out = 0
    for index, (name, _loader) in enumerate(mail.attachments, 1):
        if not is_supported(Path(name)):
            continue
        if len(parsed.attachments) >= MAX_ATTACHMENTS:
            left_out += 1
            continue
        parsed.attachments.append(Attachment(str(index), name, f"in e-mail {label}"))
    parsed.attachments_left_out = left_out
    return parsed


def mail_label(subject: str, date: datetime | None) -> str:
    """ "Subject (14 March 2024)", how an e-mail is named in citations."""
    subject = subject or "(no subject)"
    if date is None:
        return subject
    return f"{subject} ({date.strftime('%d %B %Y').lstrip('0')})"


def attachment_bytes(path: Path, data: bytes | None, member: str) -> bytes:
    """The bytes of attachment `member` of the e-mail at `path` (or in `data`)."""
    mail = _load(path, data)
    index = int(member) - 1
    if not 0 <= index < len(mail.attachments):
        raise _unreadable(
            "The attachment is no longer in its e-mail.", "Add the e-mail again to index it anew."
        )
    payload = mail.attachments[index][1]()
    if len(payload) > MAX_ATTACHMENT_BYTES:
        raise _unreadable(
            "The attachment is too large to index (over 100 MB).", status=FileStatus.SKIPPED
        )
    return payload


# While an indexing run lasts (``keeping_parsed_mail``), the last e-mail read from a file stays
# parsed, so that its attachments, indexed one after another right after it, do not each parse
# it again (1.6 s each for a 40 MB e-mail). In memory only; dropped when the run ends.
_kept_lock = threading.Lock()
_kept_users = 0
_kept: tuple[tuple[str, int, int], _Mail] | None = None


@contextmanager
def keeping_parsed_mail() -> Iterator[None]:
    """Inside, the e-mail read last from a file is kept parsed until another one is read."""
    global _kept_users, _kept
    with _kept_lock:
        _kept_users += 1
    try:
        yield
    finally:
        with _kept_lock:
            _kept_users -= 1
            if not _kept_users:
                _kept = None


def _load(path: Path, data: bytes | None) -> _Mail:
    global _kept
    if data is not None:
        return _parse(path, data)
    from localai_desktop.core.documents.parsers import vanished_error

    try:
        info = path.stat()
    except FileNotFoundError:
        raise vanished_error() from None
    key = (str(path), info.st_size, info.st_mtime_ns)
    with _kept_lock:
        if _kept is not None and _kept[0] == key:
            return _kept[1]
        _kept = None  # never two parsed e-mails in memory at once
    mail = _parse(path, None)
    with _kept_lock:
        if _kept_users:
            _kept = (key, mail)
    return mail


def _parse(path: Path, data: bytes | None) -> _Mail:
    if path.suffix.lower() == ".msg":
        return _load_msg(_read(path, data))
    if data is not None:
        return _load_eml(io.BytesIO(data))
    with _open(path) as handle:
        return _load_eml(handle)


# -- .eml ---------------------------------------------------------------------------------------


def _load_eml(source: BinaryIO) -> _Mail:
    try:
        # Parsed from a stream, not from bytes: message_from_bytes decodes the whole e-mail to
        # one string and reads it through a StringIO (4 bytes a character), which took 7 times
        # the e-mail's size at its peak (bench/README.md); a stream is read in small pieces.
        message = BytesParser(policy=email.policy.default).parse(source)
        assert isinstance(message, EmailMessage)
        headers = {key.lower() for key in message}
        if not headers & {"from", "to", "subject", "date", "message-id"}:
            raise _unreadable(
                "This file does not look like an e-mail (it has no sender, recipient or subject).",
                "Check that it is the file you meant to add.",
            )
        subject = _header(message, "subject")
        date = _date(message)
        body_part = message.get_body(preferencelist=("plain", "html"))
        body, is_html = "", False
        if body_part is not None:
            body = _text_of(body_part)
            is_html = body_part.get_content_subtype() == "html"
        attachments: list[tuple[str, Any]] = []
        for number, part in enumerate(message.iter_attachments(), 1):
            attachments.append(_eml_attachment(part, number))
    except RecursionError as error:
        raise _unreadable(
            "The e-mail is nested too deeply to be read (it may be damaged or built to harm).",
            "Open it in your mail program and save the message again.",
        ) from error
    except (ValueError, TypeError, LookupError, AttributeError, IndexError) as error:
        raise _unreadable(
            "The e-mail's structure is damaged and it could not be read.",
            "Open it in your mail program and save the message again.",
        ) from error
    return _Mail(
        subject=subject,
        sender=_header(message, "from"),
        recipients=_header(message, "to"),
        cc=_header(message, "cc"),
        date=date,
        body=body,
        is_html=is_html,
        attachments=attachments,
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "") or "").split())
    except (ValueError, TypeError, IndexError):  # a malformed header the policy cannot parse
        raw = message.get_all(name, failobj=[""])
        return " ".join(str(raw[0]).split()) if raw else ""


def _date(message: EmailMessage) -> datetime | None:
    try:
        value = message.get("date")
        stamp = getattr(value, "datetime", None)
        return stamp if isinstance(stamp, datetime) else None
    except (ValueError, TypeError, IndexError):
        return None


def _text_of(part: Any) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else ""


def _eml_attachment(part: Any, number: int) -> tuple[str, Any]:
    name = part.get_filename() or ""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner_message = inner[0] if isinstance(inner, list) and inner else inner
        if not name:
            subject = ""
            if isinstance(inner_message, email.message.Message):
                subject = " ".join(str(inner_message.get("subject", "") or "").split())
            name = f"{subject or f'attached e-mail {number}'}.eml"

        def load_message() -> bytes:
            if isinstance(inner_message, email.message.Message):
                return inner_message.as_bytes(policy=email.policy.default)
            return b""

        return _safe_name(name, number), load_message

    def load() -> bytes:
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""

    return _safe_name(name, number), load


def _safe_name(name: str, number: int) -> str:
    # Only the last part of a name, with no separators: it names a passage, never a path.
    cleaned = " ".join(PurePath(name.replace("\\", "/")).name.split())
    return cleaned or f"attachment {number}"


# -- .msg ---------------------------------------------------------------------------------------


def _load_msg(raw: bytes) -> _Mail:
    try:
        import extract_msg
        import olefile
    except ImportError:
        # The packaged app (and an install without the 'outlook' extra): olefile alone.
        return _load_msg_with_olefile(raw)

    if not olefile.isOleFile(io.BytesIO(raw)):
        raise _unreadable(
            "This file is not an Outlook message (.msg), or it is damaged.",
            "Open it in Outlook and save it again with 'Save As', then add the new copy.",
        )
    try:
        message = extract_msg.openMsg(raw, strict=False, delayAttachments=False)
    except Exception as error:  # the library raises many kinds for a damaged OLE file
        raise _unreadable(
            "The Outlook message (.msg) is damaged and could not be read.",
            "Open it in Outlook and save it again with 'Save As', then add the new copy.",
        ) from error
    try:
        body = getattr(message, "body", None) or ""
        is_html = False
        if not body.strip():
            html = getattr(message, "htmlBody", None)
            if html:
                body, is_html = html.decode("utf-8", errors="replace"), True
        attachments: list[tuple[str, Any]] = []
        for number, attachment in enumerate(getattr(message, "attachments", []) or [], 1):
            attachments.append(_msg_attachment(attachment, number))
        date = getattr(message, "date", None)
        return _Mail(
            subject=" ".join(str(getattr(message, "subject", "") or "").split()),
            sender=" ".join(str(getattr(message, "sender", "") or "").split()),
            recipients=" ".join(str(getattr(message, "to", "") or "").split()),
            cc=" ".join(str(getattr(message, "cc", "") or "").split()),
            date=date if isinstance(date, datetime) else None,
            body=body,
            is_html=is_html,
            attachments=attachments,
        )
    finally:
        message.close()


def _load_msg_with_olefile(raw: bytes) -> _Mail:
    from localai_desktop.core.documents.outlook import NotAnOutlookMessage, read_outlook_message

    try:
        message = read_outlook_message(raw)
    except NotAnOutlookMessage as error:
        raise _unreadable(
            "This file is not an Outlook message (.msg), or it is damaged.",
            "Open it in Outlook and save it again with 'Save As', then add the new copy.",
        ) from error
    attachments: list[tuple[str, Any]] = []
    for number, (name, data) in enumerate(message.attachments, 1):
        attachments.append((_safe_name(name, number), lambda data=data: data))
    return _Mail(
        subject=" ".join(message.subject.split()),
        sender=message.sender,
        recipients=message.to,
        cc=message.cc,
        date=message.sent,
        body=message.body,
        is_html=message.is_html,
        attachments=attachments,
    )


def _msg_attachment(attachment: Any, number: int) -> tuple[str, Any]:
    data = attachment.data
    if isinstance(data, bytes) or data is None:
        payload = data or b""
        name = str(getattr(attachment, "name", "") or "")
        return _safe_name(name, number), lambda: payload
    # An attached Outlook message: its bytes rebuilt by the library, read as a .msg.
    name = str(getattr(attachment, "name", "") or f"attached e-mail {number}")
    if not name.lower().endswith(".msg"):
        name += ".msg"
    try:
        payload = data.exportBytes()
    except Exception:  # an embedded message the library cannot rebuild: left out
        payload = b""
    return _safe_name(name, number), lambda: payload
