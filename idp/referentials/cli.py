"""``idp referentials import finess|rpps FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import click

# Malformed lines printed one by one; the count of the others is given.
SHOWN_REJECTS = 100


@click.group()
def referentials() -> None:
    """Reference data: the public FINESS and RPPS extracts."""


@referentials.group("import")
def import_() -> None:
    """Import (upsert) an extract; re-importing the same file changes nothing."""


def _report(summary) -> None:
    for number, reason in summary.rejected[:SHOWN_REJECTS]:
        click.echo(f"line {number}: {reason} (skipped)", err=True)
    if len(summary.rejected) > SHOWN_REJECTS:
        click.echo(f"... and {len(summary.rejected) - SHOWN_REJECTS} more malformed lines",
                   err=True)
    rate = summary.lines / summary.seconds if summary.seconds else 0
    click.echo(f"{summary.lines} lines read in {summary.seconds:.1f} s ({rate:,.0f} lines/s)")
    for table, count in summary.upserted.items():
        created = summary.created.get(table, 0)
        click.echo(f"  {table}: {count} upserted ({created} new, {count - created} updated)")
    if summary.ignored:
        click.echo(f"  {summary.ignored} lines of other kinds ignored (geolocalisation)")
    if summary.rejected:
        raise click.ClickException(f"{len(summary.rejected)} malformed lines skipped "
                                   "(listed above); the other lines were imported")


def _report_json(summary) -> None:
    click.echo(json.dumps({
        "lines": summary.lines, "seconds": round(summary.seconds, 3),
        "upserted": summary.upserted, "created": summary.created, "ignored": summary.ignored,
        "rejected": [{"line": number, "reason": reason} for number, reason in summary.rejected],
    }, ensure_ascii=False))
    if summary.rejected:
        raise SystemExit(1)


def _command(kind: str):
    @import_.command(kind)
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--progress/--no-progress", default=True, show_default=True,
                  help="Progress bar with rate and ETA on stderr.")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print the summary as JSON (exit status 1 when lines were skipped).")
    def command(path: Path, progress: bool, as_json: bool) -> None:
        from idp.cli import migrated_app
        from idp.referentials import importer

        run = importer.import_finess if kind == "finess" else importer.import_rpps
        with migrated_app() as app:
            try:
                summary = run(path, check_key=app.config["IDP_SETTINGS"].finess_check_key,
                              show_progress=progress)
            except importer.ImportAborted as exc:
                raise click.ClickException(f"{exc}; nothing imported") from None
        (_report_json if as_json else _report)(summary)

    command.__doc__ = f"Import a {kind.upper()} extract."
    return command


_command("finess")
_command("rpps")
