"""``wharfinger audit verify|report``: check the decision log's hash chain; monthly compliance report."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

audit_app = typer.Typer(
    help="The webhook's hash-chained decision log: verify it, report from it.", no_args_is_help=True
)


@audit_app.command("verify")
def verify(
    log: Annotated[Path, typer.Argument(help="The JSONL audit log (--audit-log of the webhook).")],
    head: Annotated[str | None, typer.Option(help="The last hash the webhook reported: detects a cut tail.")] = None,
) -> None:
    """Detect any edit, deletion or reordering of entries (exit 1 when the chain is broken)."""
    from wharfinger.admission.audit import read_entries, verify_chain
    from wharfinger.cli.exitcodes import ExitCode

    count, problems = verify_chain(read_entries(log), expected_head=head)
    if problems:
        for problem in problems:
            typer.echo(f"{log}:{problem}")
        typer.echo(f"BROKEN: {len(problems)} problem(s) in {count} entries", err=True)
        raise typer.Exit(ExitCode.DENIED)
    typer.echo(f"intact: {count} entries, chain verified")


@audit_app.command("report")
def report(
    log: Annotated[Path, typer.Argument(help="The JSONL audit log.")],
    output: Annotated[list[str] | None, typer.Option("-o", "--output", help="table or json[=FILE].")] = None,
) -> None:
    """Per month, namespace and owner label: denied attempts, admissions only thanks to audit/warn or break-glass."""
    from rich.console import Console
    from rich.table import Table

    from wharfinger.admission.audit import read_entries, summarise
    from wharfinger.cli.output import parse_outputs, write_outputs

    rows = summarise(read_entries(log))
    targets = parse_outputs(output, allowed=("table", "json"), default="table")

    def render(fmt: str) -> str:
        if fmt == "json":
            return json.dumps(
                [
                    {
                        "month": r.month,
                        "namespace": r.namespace,
                        "owner": r.owner,
                        "denied": r.denied,
                        "admittedByAudit": r.admitted_by_audit,
                        "admittedByWarn": r.admitted_by_warn,
                        "admittedByBreakGlass": r.admitted_by_break_glass,
                        "admitted": r.admitted,
                        "failedOpen": r.failed_open,
                    }
                    for r in rows
                ],
                indent=2,
            )
        table = Table("month", "namespace", "owner", "denied", "audit-only", "warn-only", "break-glass", "admitted")
        for r in rows:
            table.add_row(
                r.month,
                r.namespace,
                r.owner or "-",
                str(r.denied),
                str(r.admitted_by_audit),
                str(r.admitted_by_warn),
                str(r.admitted_by_break_glass),
                str(r.admitted),
            )
        buffer = io.StringIO()
        Console(width=140, file=buffer).print(table)
        return buffer.getvalue()

    write_outputs(targets, render)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
