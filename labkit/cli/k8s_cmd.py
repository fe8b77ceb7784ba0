"""``labkit k8s up|status|down|env|check|ship-logs``: the embedded cluster, manifest checks, pod logs."""

from __future__ import annotations

import contextlib
import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from labkit.cli._app import app, settings_or_exit

k8s_app = typer.Typer(help="The embedded single-node Kubernetes cluster, and checks of manifests.")
app.add_typer(k8s_app, name="k8s")


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def _status_table(st: object) -> Table:
    table = Table(title="embedded Kubernetes cluster")
    for column in ("component", "pid", "healthy", "detail"):
        table.add_column(column)
    for c in st.components:  # type: ignore[attr-defined]
        mark = "[green]yes[/green]" if c.healthy else "[red]no[/red]"
        table.add_row(c.name, str(c.pid or "-"), mark, c.detail)
    return table


@k8s_app.command("up")
def up_cmd() -> None:
    """Build the binaries once (progress bar), then start etcd .. kube-proxy and wait for node Ready."""
    from labkit.k8s import cluster
    from labkit.k8s.errors import K8sError

    console = Console()
    settings = settings_or_exit(console)
    if settings.k8s_context:
        console.print(f"k8s_context = {settings.k8s_context!r}: using that live cluster; nothing to start")
        return
    try:
        st = cluster.up(settings.data_dir, say=console.print)
    except K8sError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(_status_table(st))


@k8s_app.command("status")
def status_cmd() -> None:
    """Every component's pid and health, and whether node-1 is Ready (exit 1 unless all are)."""
    from labkit.k8s import cluster

    console = Console()
    st = cluster.status(settings_or_exit(console).data_dir)
    console.print(_status_table(st))
    console.print(f"node-1 Ready: {'yes' if st.node_ready else 'no'}; KUBECONFIG={st.kubeconfig}")
    if not st.running:
        raise typer.Exit(1)


@k8s_app.command("down")
def down_cmd(
    purge: bool = typer.Option(False, "--purge", help="also delete the cluster's state (etcd data, PKI)"),
) -> None:
    """Stop every component, remove pod containers, iptables chains, mounts, the bridge; restore sysctls."""
    from labkit.k8s import cluster

    console = Console()
    done = cluster.down(settings_or_exit(console).data_dir, say=console.print, purge=purge)
    if not done:
        console.print("nothing was running")


@k8s_app.command("env")
def env_cmd() -> None:
    """Print `export KUBECONFIG=...` for the embedded cluster: eval "$(labkit k8s env)"."""
    from labkit.k8s import cluster

    settings = settings_or_exit(Console(stderr=True))
    for line in cluster.env_lines(settings.data_dir):
        typer.echo(line)


@k8s_app.command("check")
def check_cmd(
    paths: list[Path] = typer.Argument(..., help="manifest files, folders, or kustomization folders"),
    fmt: Format = typer.Option(Format.TABLE, "--format", help="table or json"),
    server: bool = typer.Option(False, "--server", help="also server-side dry-run on the configured cluster"),
) -> None:
    """Schema validation (Kubernetes 1.37, strict), policy checks and optionally a server dry-run.

    Exit 0 when nothing was found, 1 when there are findings.
    """
    from labkit.k8s.check import check_paths
    from labkit.k8s.kubectl import target

    console = Console()
    tgt = target(settings_or_exit(console)) if server else None
    findings = check_paths(paths, server=tgt)
    if fmt == Format.JSON:
        typer.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        table = Table(title=f"{len(findings)} finding(s)", show_lines=True)
        for column in ("where", "object", "rule", "problem", "why it matters"):
            table.add_column(column, overflow="fold")
        for f in findings:
            obj = f"{f.kind}/{f.name}" + (f" [{f.container}]" if f.container else "")
            table.add_row(f.where, obj, f.rule, f.message, f.explanation)
        console.print(table)
    if findings:
        raise typer.Exit(1)


@k8s_app.command("ship-logs")
def ship_logs_cmd(
    once: bool = typer.Option(False, "--once", help="ship what is there now and exit"),
    pods_dir: Path | None = typer.Option(
        None, "--pods-dir", help="kubelet's pod log root (default /var/log/pods)"
    ),
    namespace: list[str] = typer.Option([], "--namespace", "-n", help="only these namespaces (repeatable)"),
) -> None:
    """Ship the pods' log files to Loki (loki_url) with namespace/pod/container labels, as Alloy does.

    Without --once it follows the files until Ctrl-C. Positions are kept under the data dir, so
    a restart neither loses nor repeats lines. Exit 1 if a pass failed (Loki unreachable...).
    """
    from labkit.k8s.logship import LogShipError, LogShipper

    console = Console()
    shipper = LogShipper(pods_dir, settings=settings_or_exit(console), namespaces=namespace or None)
    try:
        if once:
            stats = shipper.ship_once()
            shipper.close()
        else:
            console.print(f"shipping {shipper.pods_dir} to {shipper.settings.loki_url} (Ctrl-C stops)")
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
                shipper.run_forever()
            stats = shipper.stats
    except LogShipError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"shipped {stats.shipped} line(s) from {stats.files} file(s); skipped {stats.skipped_malformed} "
        f"malformed, {stats.rejected} refused by Loki; {stats.rotations} rotation(s), "
        f"{stats.truncations} truncation(s)"
    )
    if stats.last_error:
        console.print(f"[red]error:[/red] {stats.last_error}")
        raise typer.Exit(1)


@k8s_app.command("images")
def images_cmd(
    tag: str = typer.Option(
        "labkit/prompt-reviewer:0.1.0", "--tag", "-t", help="The Prompt Reviewer's image tag."
    ),
    critic: bool = typer.Option(False, "--critic", help="Also the five Code Critic images (same version)."),
) -> None:
    """Build the agents' images once (offline) and make them available to the cluster's node."""
    from labkit.k8s.errors import K8sError
    from labkit.k8s.production import ensure_images

    console = Console()
    settings_or_exit(console)
    try:
        done = ensure_images(tag, critic=critic, progress=lambda _line: None)
    except (K8sError, RuntimeError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    for name, how in done.items():
        console.print(f"{name}: {how}")
