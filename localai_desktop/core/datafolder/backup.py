"""Export all conversations and settings to one JSON file, and merge such a file back in.

The file is plain UTF-8 JSON, readable by people and other programs:
    {"format": "localai-desktop-backup", "format_version": 1, "app_version": ..., "exported_at":
     ..., "settings": {...}, "conversations": [{title, system_prompt, model_sha256, settings,
     created_at, updated_at, messages: [{role, content, status, error, provenance,
     created_at, updated_at, parent, current, attachments?}]}]}
Models are referred to by the SHA-256 of their file (ids differ between computers).

Every version of an edited or regenerated message is kept (format version 2): the messages of a
conversation are listed oldest first, each with `parent`, the 1-based place in that list of the
message it follows (0: it is the first; null: the one before it, as in version 1 files, which
had no versions and still import), and `current`, whether it is the version shown. A question
with attached files lists them in `attachments` ([{name, kind, text, pages, whole}], the text
the model was given; a long file's passages are not in the file: the next turn of its
conversation indexes them again from that text, see core/chat/conversation_files.py).

Importing merges: a conversation is recognised by its creation time and its messages, so
importing the same file twice, or a backup of conversations that are still here, adds nothing;
a conversation that went on after the backup gets only its new messages. The whole file is
checked before anything is written, and written in one transaction: a damaged file changes
nothing and is refused with a message saying what is wrong with it. The file is read in
bounded memory, one conversation at a time (backup_reader.py), once to check it and once to
import it; a hostile file (gigabytes, deep nesting, a named pipe) is refused plainly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from localai_desktop import __version__
from localai_desktop.core.audit.entries import BACKUP_EXPORTED, BACKUP_IMPORTED, sha256_bytes
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat import versions
from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.child_process import child_env, module_command
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.datafolder.age_child import WRONG_PASSPHRASE_EXIT, pack_input
from localai_desktop.core.datafolder.backup_reader import (
    MAX_BACKUP_BYTES,
    BackupFileError,
    BackupReader,
)
from localai_desktop.core.datafolder.settings import (
    AppSettings,
    AppSettingsStore,
    check_hub_endpoint,
)
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import (
    ConversationRow,
    MessageAttachmentRow,
    MessageRow,
    ModelRow,
)

log = logging.getLogger(__name__)

BACKUP_FORMAT = "localai-desktop-backup"
BACKUP_FORMAT_VERSION = 2  # 2: every version of a message, with `parent` and `current`
ROLES = ("system", "user", "assistant")
# Never written to nor restored from a file: a backup must not switch on writing messages into
# log files, nor say whether this folder's welcome guide was shown, nor carry the local
# server's access token (a secret: a backup is often copied elsewhere, and a restored token
# would let whoever holds the file use this computer's server), nor switch that server on, open
# it to the network or start keeping its requests as conversations (this computer's choices).
_SETTINGS_NOT_IMPORTED = (
    "debug_logging",
    "welcome_done",
    "server_token",
    "server_enabled",
    "server_allow_network",
    "server_save_conversations",
)
_MAX_PROBLEMS_SHOWN = 3


class BackupError(LocalAIError):
    """A backup file that cannot be read or imported."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    conversations: int
    messages: int
    bytes_written: int
    encrypted: bool = False


@dataclass(frozen=True)
class ImportReport:
    conversations_added: int
    conversations_extended: int  # went on after the backup: only new messages were added
    conversations_already_here: int
    messages_added: int
    settings_restored: bool

    def summary(self) -> str:
        added = self.conversations_added
        parts = [f"{added} {'conversation' if added == 1 else 'conversations'} added"]
        if self.conversations_extended:
            parts.append(f"{self.conversations_extended} brought up to date")
        if self.conversations_already_here:
            parts.append(f"{self.conversations_already_here} already here")
        messages = self.messages_added
        text = ", ".join(parts) + f" ({messages} {'message' if messages == 1 else 'messages'})."
        if self.settings_restored:
            text += " Settings restored."
        return text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- export ---------------------------------------------------------------------------------


def export_backup(
    db: Database,
    settings_store: AppSettingsStore,
    path: Path,
    *,
    audit: AuditTrail | None = None,
    passphrase: str | None = None,
) -> ExportReport:
    """Write every conversation (with its messages) and the settings to `path`, atomically;
    with an audit trail, record the export (the file's sha256 and what it holds). With a
    passphrase the file is encrypted in the age format (`age -d FILE` opens it too)."""
    store = ConversationStore(db)
    with db.session() as session:
        sha_by_model = {row.id: row.sha256 for row in session.scalars(select(ModelRow))}
    conversations = []
    messages = 0
    for summary in reversed(store.list()):  # oldest first: the file reads like a history
        conversation = store.get(summary.id)
        data = conversation.to_json(with_messages=False)
        data.pop("id")
        data["model_sha256"] = sha_by_model.get(data.pop("model_id"))
        with db.session() as session:
            data["messages"] = _every_version(session, summary.id)
        messages += len(data["messages"])
        conversations.append(data)
    settings = settings_store.load().to_dict()
    for key in _SETTINGS_NOT_IMPORTED:
        settings.pop(key, None)
    document = {
        "format": BACKUP_FORMAT,
        "format_version": BACKUP_FORMAT_VERSION,
        "app_version": __version__,
        "exported_at": utcnow().isoformat(),
        "settings": settings,
        "conversations": conversations,
    }
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    encoded = text.encode("utf-8")
    if passphrase is not None:
        encoded = encrypt_export(encoded, passphrase)
    _write_atomically(Path(path), encoded)
    log.info("Exported %s conversations to %s", len(conversations), path)
    if audit is not None:
        audit.record(
            BACKUP_EXPORTED,
            file_sha256=sha256_bytes(encoded),
            conversations=len(conversations),
            messages=messages,
            bytes=len(encoded),
            encrypted=passphrase is not None,
        )
    return ExportReport(
        Path(path), len(conversations), messages, len(encoded), encrypted=passphrase is not None
    )


def _every_version(session: Any, conversation_id: int) -> list[dict[str, Any]]:
    """Every message of a conversation, each version included, oldest first, with the place
    in this list of the message it follows (`parent`) and whether it is shown (`current`)."""
    rows = list(
        session.scalars(
            select(MessageRow)
            .where(MessageRow.conversation_id == conversation_id)
            .order_by(MessageRow.id)
        )
    )
    parents = versions.effective_parents(rows)
    place = {row.id: number for number, row in enumerate(rows, start=1)}
    attached: dict[int, list[dict[str, Any]]] = {}
    for file in session.scalars(
        select(MessageAttachmentRow)
        .where(MessageAttachmentRow.message_id.in_(list(place)))
        .order_by(MessageAttachmentRow.id)
    ):
        attached.setdefault(file.message_id, []).append(
            {
                "name": file.name,
                "kind": file.kind,
                "text": file.text,
                "pages": file.pages,
                "whole": bool(file.whole),
            }
        )
    messages = []
    for row in rows:
        stored = json.loads(row.provenance or "{}")
        parent = parents[row.id]
        messages.append(
            {
                "role": row.role,
                "content": row.content,
                "status": row.status,
                "error": row.error,
                "provenance": Provenance.from_dict(
                    stored if isinstance(stored, dict) else {}
                ).to_dict(),
                "created_at": row.created_at.isoformat(),
                "updated_at": row.updated_at.isoformat(),
                "parent": 0 if parent == versions.ROOT else place.get(parent),
                "current": bool(row.current),
                **({"attachments": attached[row.id]} if row.id in attached else {}),
            }
        )
    return messages


# -- encrypted exports (age) ----------------------------------------------------------------

AGE_HEADER = b"age-encryption.org/v1"
AGE_CHILD_MODULE = "localai_desktop.core.datafolder.age_child"


def encrypt_export(data: bytes, passphrase: str) -> bytes:
    """The age format with a passphrase (scrypt), so the standard `age` tool opens it too."""
    code, result, said = _run_age("encrypt", data, passphrase)
    if code != 0:
        log.error("Encrypting an export failed (exit code %s): %s", code, said)
        raise BackupError(
            "The export could not be encrypted, so it was not written.",
            "Try again; if it keeps failing, the log file says more.",
        )
    return result


def _run_age(action: str, data: bytes, passphrase: str) -> tuple[int, bytes, str]:
    """age in a child process (see age_child: pyrage would hold the app's GIL for seconds)."""
    try:
        done = subprocess.run(
            module_command(AGE_CHILD_MODULE, action),
            input=pack_input(passphrase, data),
            capture_output=True,
            env=child_env(),
            check=False,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except OSError as error:
        raise BackupError(
            f"The encryption helper could not be started ({error}).",
            "Try again; if it keeps failing, reinstall the app.",
        ) from None
    return done.returncode, done.stdout, done.stderr.decode("utf-8", errors="replace").strip()


def is_encrypted_export(path: Path) -> bool:
    try:
        if not stat.S_ISREG(Path(path).stat().st_mode):
            return False  # a named pipe would block the read; read_backup refuses it plainly
        with open(path, "rb") as f:
            return f.read(len(AGE_HEADER)) == AGE_HEADER
    except OSError:
        return False


def decrypt_export(path: Path, passphrase: str) -> bytes:
    """The plaintext of an encrypted export, in memory; BackupError for a wrong passphrase."""
    try:
        sealed = Path(path).read_bytes()
    except OSError as error:
        raise BackupError(f"{Path(path).name} could not be read ({error}).") from error
    if len(sealed) > MAX_BACKUP_BYTES:
        raise BackupError(f"{Path(path).name} is larger than any backup the app reads.")
    code, result, said = _run_age("decrypt", sealed, passphrase)
    if code == WRONG_PASSPHRASE_EXIT:
        raise BackupError(
            f"{Path(path).name} is encrypted, and that passphrase does not open it.",
            "Use the passphrase of the workspace it was exported from. Nothing was changed.",
        )
    if code != 0:
        log.error("Decrypting %s failed (exit code %s): %s", Path(path).name, code, said)
        raise BackupError(
            f"{Path(path).name} could not be decrypted: it is damaged or not an export of "
            "this app.",
            "Nothing was changed.",
        )
    return result


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        write_atomically(path, data, temp_prefix=".backup-")
    except OSError as error:
        raise StorageError(
            f"The backup could not be written to {path} ({error.strerror or error}).",
            "Choose another folder, or free some disk space. Nothing was changed.",
        ) from error


# -- import ---------------------------------------------------------------------------------


def read_backup(path: Path, *, data_bytes: bytes | None = None) -> dict[str, Any]:
    """The checked backup: its top-level keys, with "conversations" read from the file again,
    one at a time, whenever it is walked; BackupError with the first problems otherwise."""
    path = Path(path)
    todo = "Choose a file made with “Export conversations and settings”. Nothing was changed."
    data: dict[str, Any] = {}
    problems: list[str] = []
    count = 0
    try:
        reader = BackupReader(path, data=data_bytes)
        for kind, item in reader.events():
            if kind == "key":
                data[item[0]] = item[1]
                _refuse_other_files(path, data, todo)  # at once: not read to the end first
            elif kind == "list":
                data["conversations"] = []
            else:
                count += 1
                problems += _conversation_problems(count, item)[: _MAX_PROBLEMS_SHOWN + 1]
                del problems[_MAX_PROBLEMS_SHOWN + 1 :]  # enough to say "and more"
    except FileNotFoundError as error:
        raise BackupError(f"There is no file {path}.", todo) from error
    except OSError as error:
        raise BackupError(f"{path} could not be read ({error.strerror or error}).", todo) from error
    except BackupFileError as error:
        raise BackupError(f"{path.name} is not a backup of this app: {error.why}.", todo) from error
    _refuse_other_files(path, data, todo, complete=True)
    problems = _header_problems(data) + problems
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS_SHOWN])
        more = " (and more)" if len(problems) > _MAX_PROBLEMS_SHOWN else ""
        raise BackupError(f"{path.name} is damaged: {shown}{more}.", "Nothing was changed.")
    if isinstance(data.get("conversations"), list):
        data["conversations"] = _Conversations(reader, count, todo)
    return data


def _refuse_other_files(
    path: Path, data: dict[str, Any], todo: str, *, complete: bool = False
) -> None:
    if (complete or "format" in data) and data.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{path.name} is not a backup of LocalAI Desktop.", todo)
    if complete or "format_version" in data:
        version = data.get("format_version")
        if not isinstance(version, int) or version > BACKUP_FORMAT_VERSION:
            raise BackupError(
                f"{path.name} was made by a newer version of LocalAI Desktop.",
                "Update the app, then import it again. Nothing was changed.",
            )


class _Conversations:
    """The conversations of a checked backup, read from the file again at each walk."""

    def __init__(self, reader: BackupReader, count: int, todo: str) -> None:
        self._reader = reader
        self._count = count
        self._todo = todo

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        name = self._reader.path.name
        seen = 0
        try:
            for kind, item in self._reader.events():
                if kind != "conversation":
                    continue
                seen += 1
                # Checked again: the file may have been replaced since it was checked.
                if seen > self._count or _conversation_problems(seen, item):
                    raise BackupError(f"{name} changed while it was being imported.", self._todo)
                yield item
        except (OSError, BackupFileError) as error:
            raise BackupError(f"{name} could not be read again.", self._todo) from error
        if seen != self._count:
            raise BackupError(f"{name} changed while it was being imported.", self._todo)


def backup_problems(data: dict[str, Any]) -> list[str]:
    """Everything wrong with a parsed backup, as short phrases; [] when it can be imported."""
    problems = _header_problems(data)
    conversations = data.get("conversations")
    if isinstance(conversations, list):
        for index, conversation in enumerate(conversations, start=1):
            problems += _conversation_problems(index, conversation)
    return problems


def _header_problems(data: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(data.get("settings", {}), dict):
        problems.append("'settings' is not an object")
    if not isinstance(data.get("conversations"), list):
        problems.append("'conversations' is not a list")
    return problems


def _conversation_problems(index: int, conversation: object) -> list[str]:
    where = f"conversation {index}"
    if not isinstance(conversation, dict):
        return [f"{where} is not an object"]
    problems = [f"{where}: {p}" for p in _record_problems(conversation, _CONVERSATION)]
    messages = conversation.get("messages")
    if not isinstance(messages, list):
        return [*problems, f"{where}: 'messages' is not a list"]
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            problems.append(f"{where}, message {number} is not an object")
            continue
        found = _record_problems(message, _MESSAGE)
        if message.get("role") not in ROLES:
            found.append(f"'role' must be one of {', '.join(ROLES)}")
        if message.get("status") not in tuple(MessageStatus):
            found.append(f"'status' must be one of {', '.join(MessageStatus)}")
        parent = message.get("parent")
        if parent is not None and (
            not isinstance(parent, int) or isinstance(parent, bool) or not 0 <= parent < number
        ):
            found.append("'parent' must be the number of an earlier message, or 0")
        if not isinstance(message.get("current", True), bool):
            found.append("'current' must be true or false")
        found += _attachment_problems(message.get("attachments", []))
        problems += [f"{where}, message {number}: {p}" for p in found]
    return problems


def _attachment_problems(attachments: object) -> list[str]:
    if not isinstance(attachments, list):
        return ["'attachments' must be a list"]
    found: list[str] = []
    for number, attachment in enumerate(attachments, start=1):
        if not isinstance(attachment, dict):
            found.append(f"attached file {number} is not an object")
            continue
        found += [f"attached file {number}: {p}" for p in _record_problems(attachment, _ATTACHED)]
        if isinstance(attachment.get("pages"), bool):
            found.append(f"attached file {number}: 'pages' must be a number")
    return found


_ATTACHED: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "kind": (str,),
    "text": (str,),
    "pages": (int,),
    "whole": (bool,),
}
_CONVERSATION: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "system_prompt": (str,),
    "settings": (dict,),
    "created_at": (str,),
    "updated_at": (str,),
    "model_sha256": (str, type(None)),
}
_MESSAGE: dict[str, tuple[type, ...]] = {
    "role": (str,),
    "content": (str,),
    "status": (str,),
    "error": (str, type(None)),
    "provenance": (dict,),
    "created_at": (str,),
    "updated_at": (str,),
}


def _record_problems(record: dict[str, Any], schema: dict[str, tuple[type, ...]]) -> list[str]:
    problems = []
    for key, kinds in schema.items():
        if key not in record or not isinstance(record[key], kinds):
            problems.append(f"'{key}' is missing or has the wrong type")
        elif key.endswith("_at") and _parse_time(record[key]) is None:
            problems.append(f"'{key}' is not a date and time")
    return problems


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:  # stored as naive UTC, like the app's own timestamps
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _message_key(message: dict[str, Any]) -> tuple[str, str, datetime | None]:
    return (message["role"], message["content"], _parse_time(message["created_at"]))


def import_backup(
    db: Database,
    settings_store: AppSettingsStore,
    path: Path,
    *,
    restore_settings: bool = True,
    audit: AuditTrail | None = None,
    passphrase: str | None = None,
) -> ImportReport:
    """Merge a backup file into this data folder (see the module docstring); with an audit
    trail, record the import (the file's sha256 and what it added) with the merge itself."""
    plaintext = None
    if is_encrypted_export(Path(path)):
        if passphrase is None:
            raise BackupError(
                f"{Path(path).name} is encrypted.",
                "Give the passphrase of the workspace it was exported from.",
            )
        plaintext = decrypt_export(Path(path), passphrase)
    data = read_backup(path, data_bytes=plaintext)
    restored: AppSettings | None = None
    if restore_settings and data.get("settings"):
        saved = {k: v for k, v in data["settings"].items() if k not in _SETTINGS_NOT_IMPORTED}
        current = settings_store.load()
        restored = AppSettings.from_dict({**current.to_dict(), **saved})
        restored = replace(restored, debug_logging=current.debug_logging)
        try:
            check_hub_endpoint(restored.hub_endpoint)
        except LocalAIError as error:
            raise BackupError(
                f"{Path(path).name} is damaged: its Hugging Face address is not usable "
                f"({error.what})",
                "Nothing was changed.",
            ) from error
    # Hashed before the write transaction, which should hold the database for no longer.
    file_sha256 = _file_sha256(Path(path)) if audit is not None else None
    added = extended = already = messages_added = 0
    with db.session() as session:
        model_by_sha = {row.sha256: row.id for row in session.scalars(select(ModelRow))}
        for conversation in data["conversations"]:
            session.flush()
            session.expunge_all()  # one conversation's rows in memory at a time
            created = _parse_time(conversation["created_at"])
            keys = [_message_key(m) for m in conversation["messages"]]
            candidates = list(
                session.scalars(
                    select(ConversationRow).where(ConversationRow.created_at == created)
                )
            )
            local = [{_row_key(m) for m in row.messages} for row in candidates]
            if any(set(keys) <= here for here in local):
                already += 1
                continue
            target = next(
                (row for row, here in zip(candidates, local, strict=True) if here <= set(keys)),
                None,
            )
            if target is None:
                target = _new_conversation(conversation, model_by_sha)
                session.add(target)
                session.flush()
                present: dict[tuple[str, str, datetime | None], int] = {}
                added += 1
            else:
                present = {_row_key(m): m.id for m in target.messages}
                extended += 1
            # Place in the file -> the message here (a row not yet flushed has no id).
            here_by_place: dict[int, int | MessageRow] = {}
            with_files: list[tuple[MessageRow, list[dict[str, Any]]]] = []
            for place, (message, key) in enumerate(
                zip(conversation["messages"], keys, strict=True), start=1
            ):
                if key in present:
                    here_by_place[place] = present[key]
                    continue
                row = _new_message(target.id, message)
                row.parent_id = _parent_here(session, message.get("parent"), place, here_by_place)
                row.current = message.get("current", True)
                session.add(row)
                if message.get("attachments"):
                    with_files.append((row, message["attachments"]))
                here_by_place[place] = row
                messages_added += 1
            session.flush()
            for row, files in with_files:  # now that the new messages have their ids
                session.add_all(_new_attachment(row.id, file) for file in files)
            for place, key in enumerate(keys, start=1):
                here = here_by_place[place]
                present[key] = here if isinstance(here, int) else here.id
            updated = _parse_time(conversation["updated_at"])
            if updated is not None and updated > target.updated_at:
                target.updated_at = updated
        if audit is not None:
            audit.append(
                session,
                BACKUP_IMPORTED,
                facts={
                    "file_sha256": file_sha256,
                    "conversations_added": added,
                    "conversations_extended": extended,
                    "conversations_already_here": already,
                    "messages_added": messages_added,
                    "settings_restored": restored is not None,
                },
            )
    if restored is not None:
        settings_store.save(restored)
    log.info("Imported a backup: %s added, %s extended, %s already here", added, extended, already)
    return ImportReport(added, extended, already, messages_added, restored is not None)


def _parent_here(
    session: Any, parent: int | None, place: int, here_by_place: dict[int, int | MessageRow]
) -> int | None:
    """The id here of the message that the one at `place` follows. None (the one before it
    by id) for a version 1 file, and for the common case of a message following one added just
    before it, so that a long history is written without a round trip per message."""
    if parent is None:
        return None
    if parent == 0:
        return versions.ROOT
    here = here_by_place.get(parent)
    if here is None:
        return None
    if isinstance(here, int):
        return here
    if parent == place - 1:
        return None  # just added: it is the one before this by id
    if here.id is None:
        session.flush()
    return here.id


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:  # in pieces: a backup can be gigabytes
            while block := handle.read(1024**2):
                digest.update(block)
    except OSError:
        return None  # read moments ago; gone now: the import itself is still recorded
    return digest.hexdigest()


def _row_key(row: MessageRow) -> tuple[str, str, datetime | None]:
    return (row.role, row.content, row.created_at)


def _new_conversation(data: dict[str, Any], model_by_sha: dict[str, int]) -> ConversationRow:
    return ConversationRow(
        title=data["title"],
        system_prompt=data["system_prompt"],
        model_id=model_by_sha.get(data["model_sha256"] or ""),
        settings=json.dumps(data["settings"]),
        created_at=_parse_time(data["created_at"]),
        updated_at=_parse_time(data["updated_at"]),
    )


def _new_attachment(message_id: int, data: dict[str, Any]) -> MessageAttachmentRow:
    return MessageAttachmentRow(
        message_id=message_id,
        name=data["name"],
        kind=data["kind"],
        text=data["text"],
        pages=data["pages"],
        whole=data["whole"],
        created_at=utcnow(),
    )


def _new_message(conversation_id: int, data: dict[str, Any]) -> MessageRow:
    return MessageRow(
        conversation_id=conversation_id,
        role=data["role"],
        content=data["content"],
        status=data["status"],
        error=data["error"],
        provenance=json.dumps(data["provenance"]),
        created_at=_parse_time(data["created_at"]),
        updated_at=_parse_time(data["updated_at"]),
    )
