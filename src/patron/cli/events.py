"""``patron events``: messages that failed validation, and their replay after a fix."""

from __future__ import annotations

import json
from pathlib import Path  # noqa: TC003 - Typer reads the annotations at run time
from typing import TYPE_CHECKING, Any

import typer

from patron import ingest
from patron.cli.context import load_settings, session_scope

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Failed events: list them, replay them after a fix.", no_args_is_help=True)


def _source_id(session: Session, name: str | None) -> int | None:
    if name is None:
        return None
    source = ingest.source_by_name(session, name)
    if source is None:
        typer.echo(f"error: no source named {name!r}", err=True)
        raise typer.Exit(1)
    return source.id


@app.command()
def failed(
    source: str | None = typer.Option(None, help="Only this source's failed events."),
    status: str = typer.Option("failed", help="failed, replayed, discarded or all."),
    limit: int = typer.Option(100, min=1, max=1000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print them as JSON, payloads included."),
) -> None:
    """List messages of batches that failed validation, with the reason."""
    settings = load_settings()
    with session_scope(settings) as session:
        source_id = _source_id(session, source)
        try:
            found = ingest.list_failed_events(
                session,
                status=None if status == "all" else status,
                source_id=source_id,
                limit=limit,
            )
        except ValueError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from error
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": f.id,
                        "source_id": f.source_id,
                        "message_id": f.message_id,
                        "reason": f.reason,
                        "status": f.status,
                        "received_at": ingest.isoformat(f.received_at),
                        "event_id": f.event_id,
                        "payload": f.payload,
                    }
                    for f in found
                ]
            )
        )
        return
    if not found:
        typer.echo("no failed events")
        return
    for f in found:
        typer.echo(
            f"{f.id:>6}  {ingest.isoformat(f.received_at)}  {f.status:<9} "
            f"{f.message_id or '-'}  {f.reason}"
        )


@app.command()
def replay(
    ids: list[int] = typer.Argument(
        None, help="Ids of failed events (see `patron events failed`)."
    ),
    replay_all: bool = typer.Option(False, "--all", help="Replay every failed event."),
    source: str | None = typer.Option(None, help="With --all: only this source's."),
    payload: Path | None = typer.Option(
        None, help="A JSON file with the corrected message (one id only).", exists=True
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcomes as JSON."),
) -> None:
    """Validate failed events again (optionally corrected) and store the valid ones."""
    if bool(ids) == replay_all:
        typer.echo("error: give failed-event ids or --all", err=True)
        raise typer.Exit(2)
    corrected: Any = None
    if payload is not None:
        try:
            corrected = json.loads(payload.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            typer.echo(f"error: {payload}: not a JSON file: {error}", err=True)
            raise typer.Exit(2) from error
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            outcomes = ingest.replay_failed_events(
                session,
                None if replay_all else ids,
                corrected_payload=corrected,
                source_id=_source_id(session, source),
            )
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": o.failed_event_id,
                        "status": o.status,
                        "reason": o.reason,
                        "event_id": o.event_id,
                    }
                    for o in outcomes
                ]
            )
        )
    else:
        for o in outcomes:
            detail = f"event {o.event_id}" if o.status == "replayed" else o.reason
            typer.echo(f"{o.failed_event_id:>6}  {o.status:<16} {detail}")
        replayed = sum(o.status == "replayed" for o in outcomes)
        typer.echo(f"{replayed} of {len(outcomes)} replayed")
    if any(o.status != "replayed" for o in outcomes):
        raise typer.Exit(1)
