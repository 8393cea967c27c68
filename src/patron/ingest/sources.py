"""Sources and their write keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select

from patron.ingest.models import Source

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Channel(StrEnum):
    ESHOP = "eshop"
    POS = "pos"
    APP = "app"
    WEB = "web"
    CRM = "crm"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    name: str
    channel: Channel
    default_region: str | None
    write_key_hint: str


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source just created, with its write key: the only time the key is seen."""

    source: SourceInfo
    write_key: str


class SourceExistsError(ValueError):
    """A source of that name exists already."""


def hash_write_key(write_key: str) -> str:
    # Write keys are long random tokens, so a fast hash is enough to keep them safe at rest
    # and lets the tracking API find a source with one indexed look-up.
    return hashlib.sha256(write_key.encode()).hexdigest()


def _info(source: Source) -> SourceInfo:
    return SourceInfo(
        id=source.id,
        name=source.name,
        channel=Channel(source.channel),
        default_region=source.default_region,
        write_key_hint=source.write_key_hint,
    )


def create_source(
    session: Session, name: str, channel: Channel, *, default_region: str | None = None
) -> NewSource:
    """Create a source and its write key. Raises SourceExistsError if the name is taken."""
    name = name.strip()
    if not name:
        msg = "a source needs a name"
        raise ValueError(msg)
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        msg = f"a source named {name!r} exists already"
        raise SourceExistsError(msg)
    write_key = secrets.token_urlsafe(24)
    source = Source(
        name=name,
        channel=channel.value,
        write_key_hash=hash_write_key(write_key),
        write_key_hint=write_key[:6],
        default_region=default_region.upper() if default_region else None,
    )
    session.add(source)
    session.flush()
    return NewSource(source=_info(source), write_key=write_key)


def ensure_source(session: Session, name: str, channel: Channel) -> SourceInfo:
    """The source called ``name``, created (without showing its key) if it is missing."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is not None:
        return _info(source)
    return create_source(session, name, channel).source


def rotate_write_key(session: Session, name: str) -> NewSource:
    """Give the source a new write key (the old one stops working); raises LookupError."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        msg = f"no source named {name!r}"
        raise LookupError(msg)
    write_key = secrets.token_urlsafe(24)
    source.write_key_hash = hash_write_key(write_key)
    source.write_key_hint = write_key[:6]
    session.flush()
    return NewSource(source=_info(source), write_key=write_key)


def source_by_name(session: Session, name: str) -> SourceInfo | None:
    source = session.scalar(select(Source).where(Source.name == name))
    return None if source is None else _info(source)


def source_by_write_key(session: Session, write_key: str) -> SourceInfo | None:
    source = session.scalar(
        select(Source).where(Source.write_key_hash == hash_write_key(write_key))
    )
    return None if source is None else _info(source)


def list_sources(session: Session) -> list[SourceInfo]:
    return [_info(source) for source in session.scalars(select(Source).order_by(Source.id))]
