"""The run's reports: terminal (rich), JUnit XML for a vendor's CI, JSON, Markdown, HTML.

Every format has one row per checklist item with its verdict, the spec clause and the
evidence (request, response, digest), so a failure can be argued from the report alone.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sandbox.conformance.model import Outcome, Report, Status

MARKS = {
    Status.PASS: "[green]pass[/green]",
    Status.FAIL: "[red]FAIL[/red]",
    Status.SKIP: "[yellow]skip[/yellow]",
    Status.ERROR: "[red]error[/red]",
}


def progress_line(outcome: Outcome, index: int, total: int) -> str:
    return (f"[{index}/{total}] {MARKS[outcome.status]} {outcome.item.id} "
            f"[dim]({outcome.seconds:.2f} s)[/dim] {outcome.detail[:110]}")  # fmt: skip


def terminal_table(report: Report) -> Table:
    table = Table(title=f"IES conformance: {report.subscriber_id} as {report.role} "
                  f"({report.target}) in {report.seconds:.1f} s")  # fmt: skip
    table.add_column("item")
    table.add_column("clause")
    table.add_column("result", justify="center")
    table.add_column("detail")
    for outcome in report.outcomes:
        table.add_row(outcome.item.id, outcome.item.clause, MARKS[outcome.status],
                      outcome.detail[:300])  # fmt: skip
    return table


def summary(report: Report) -> str:
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in Status)
    verdict = "CONFORMS" if report.passed else "DOES NOT CONFORM"
    return f"{verdict}: {counts} of {len(report.outcomes)} applicable items"


def print_report(report: Report, console: Console) -> None:
    console.print(terminal_table(report))
    console.print(summary(report))


def junit_xml(report: Report) -> bytes:
    suite = ET.Element(
        "testsuite",
        name=f"ies-conformance.{report.role}",
        tests=str(len(report.outcomes)),
        failures=str(report.count(Status.FAIL)),
        errors=str(report.count(Status.ERROR)),
        skipped=str(report.count(Status.SKIP)),
        time=f"{report.seconds:.3f}",
        timestamp=report.started_at,
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("target", report.target), ("subscriberId", report.subscriber_id),
                        ("role", report.role)):  # fmt: skip
        ET.SubElement(properties, "property", name=name, value=value)
    for outcome in report.outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"ies.{report.role}",
                             name=f"{outcome.item.id}: {outcome.item.title}",
                             time=f"{outcome.seconds:.3f}")  # fmt: skip
        if outcome.status is Status.FAIL:
            failure = ET.SubElement(case, "failure", message=outcome.detail[:500],
                                    type=outcome.item.clause)  # fmt: skip
            failure.text = _evidence_text(outcome)
        elif outcome.status is Status.ERROR:
            error = ET.SubElement(case, "error", message=outcome.detail[:500],
                                  type=outcome.item.clause)  # fmt: skip
            error.text = _evidence_text(outcome)
        elif outcome.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=outcome.detail[:500])
        out = ET.SubElement(case, "system-out")
        out.text = f"clause: {outcome.item.clause}\n{outcome.detail}\n{_evidence_text(outcome)}"
    return bytes(ET.tostring(suite, encoding="utf-8", xml_declaration=True))


def _evidence_text(outcome: Outcome) -> str:
    parts = []
    for e in outcome.evidence:
        parts.append(f"--- {e.label}\n{e.request}\n>>> {e.response}\ndigest: {e.digest}")
    return "\n".join(parts)


def markdown(report: Report) -> str:
    lines = [
        f"# IES conformance report: {report.subscriber_id} as {report.role}",
        "",
        f"Target `{report.target}`, run at {report.started_at}, {report.seconds:.1f} s. "
        f"Kit: {', '.join(f'{k} `{v}`' for k, v in report.kit.items())}.",
        "",
        f"**{summary(report)}**",
        "",
        "| item | title | clause | result | detail |",
        "| --- | --- | --- | --- | --- |",
    ]
    for o in report.outcomes:
        detail = o.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{o.item.id}` | {o.item.title} | {o.item.clause} | "
                     f"**{o.status.value}** | {detail} |")  # fmt: skip
    lines += ["", "## Evidence", ""]
    for o in report.outcomes:
        if not o.evidence:
            continue
        lines += [f"### `{o.item.id}` ({o.status.value})", ""]
        for e in o.evidence:
            lines += [f"**{e.label}**" + (f" (digest `{e.digest}`)" if e.digest else ""), "",
                      "```", e.request, "---", e.response, "```", ""]  # fmt: skip
    return "\n".join(lines) + "\n"


def html_report(report: Report) -> str:
    rows = []
    for o in report.outcomes:
        evidence = "".join(
            f"<details><summary>{html.escape(e.label)}</summary><p>digest: "
            f"<code>{html.escape(e.digest)}</code></p><pre>{html.escape(e.request)}</pre>"
            f"<pre>{html.escape(e.response)}</pre></details>"
            for e in o.evidence
        )
        rows.append(
            f"<tr class='{o.status.value}'><td><code>{html.escape(o.item.id)}</code></td>"
            f"<td>{html.escape(o.item.title)}</td><td>{html.escape(o.item.clause)}</td>"
            f"<td>{o.status.value}</td><td>{html.escape(o.detail)}{evidence}</td></tr>"
        )
    title = html.escape(f"IES conformance: {report.subscriber_id} as {report.role}")
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{vertical-align:top;padding:.3em;"
        "border-bottom:1px solid #ddd}pre{white-space:pre-wrap;max-width:70em}"
        ".pass td:nth-child(4){color:green}.fail td:nth-child(4),.error td:nth-child(4)"
        "{color:#b00;font-weight:bold}.skip td:nth-child(4){color:#a60}</style></head><body>"
        f"<h1>{title}</h1><p>Target <code>{html.escape(report.target)}</code>, "
        f"{html.escape(report.started_at)}, {report.seconds:.1f} s.</p>"
        f"<p><strong>{html.escape(summary(report))}</strong></p><table><tr><th>item</th>"
        "<th>title</th><th>clause</th><th>result</th><th>detail and evidence</th></tr>"
        + "".join(rows)
        + "</table></body></html>\n"
    )


def write_reports(report: Report, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"conformance-{report.role}"
    paths = {
        "junit": out_dir / f"{stem}.xml",
        "json": out_dir / f"{stem}.json",
        "markdown": out_dir / f"{stem}.md",
        "html": out_dir / f"{stem}.html",
    }
    paths["junit"].write_bytes(junit_xml(report))
    paths["json"].write_text(json.dumps(report.to_dict(), indent=1))
    paths["markdown"].write_text(markdown(report))
    paths["html"].write_text(html_report(report))
    return paths
