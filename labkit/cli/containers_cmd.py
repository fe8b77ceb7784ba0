"""``labkit containers ...``: the Docker stage's tools from a shell (the same functions notebooks call)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labkit.cli._app import app

__all__ = ["containers_app"]

containers_app = typer.Typer(
    name="containers",
    help="Docker stage: engine status, offline base image, build, lint, inspect, secret scan, cleanup.",
    no_args_is_help=True,
)
app.add_typer(containers_app, name="containers")
_console = Console()


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    _console.print(f"[red]error:[/red] {escape(str(exc))}")
    return typer.Exit(code)


@containers_app.command("status")
def status_command() -> None:
    """Is there an engine, which compose runs, is the offline base image cached."""
    from labkit.containers import ContainerError, apt_source, engine_status, offline_tag

    ok, detail, fix = engine_status()
    if not ok:
        _console.print(f"[red]no engine:[/red] {escape(detail)}\n[yellow]fix:[/yellow] {escape(fix)}")
        raise typer.Exit(1)
    _console.print(f"[green]engine:[/green] {escape(detail)}")
    try:
        from labkit.containers import client

        tag = offline_tag(apt_source().suite)
        present = bool(client().images.list(name=tag.split(":")[0]))
        _console.print(f"offline base image {tag}: {'cached' if present else 'not built yet'}")
    except ContainerError as exc:
        _console.print(f"offline base image: {escape(str(exc))}")


@containers_app.command("base-image")
def base_image_command(
    image: str = typer.Option("python:3.11-slim", help="The base image Dockerfiles name in BASE_IMAGE."),
    rebuild: bool = typer.Option(False, help="Debootstrap again even if the offline image is cached."),
    no_pull: bool = typer.Option(False, "--no-pull", help="Do not try the registry first."),
) -> None:
    """Make IMAGE usable: present, pulled, or built offline with debootstrap and cached."""
    from labkit.containers import ContainerError, build_offline_base, ensure_base_image

    try:
        base = build_offline_base() if rebuild else ensure_base_image(image, allow_pull=not no_pull)
    except (ContainerError, ValueError) as exc:
        raise _fail(exc) from None
    _console.print(
        f"[green]{escape(base.requested)}[/green] -> {escape(base.ref)} ({base.source}, "
        f"python {base.python_version or '?'}, {base.seconds:.0f} s)"
    )
    for warning in base.warnings:
        _console.print(f"[yellow]warning:[/yellow] {escape(warning)}")


@containers_app.command("wheelhouse")
def wheelhouse_command(
    context: Path = typer.Argument(..., help="Folder with requirements.txt; wheels go to <context>/wheels."),
    python: str | None = typer.Option(None, help="Interpreter version of the image, e.g. 3.11."),
) -> None:
    """Build the wheelhouse a Dockerfile installs from with --no-index."""
    from labkit.containers import ContainerError, build_wheelhouse

    try:
        house = build_wheelhouse(context / "requirements.txt", context / "wheels", python_version=python)
    except (ContainerError, ValueError) as exc:
        raise _fail(exc) from None
    _console.print(f"{len(house.wheels)} wheels in {house.path} ({'cached' if house.cached else 'built'})")


@containers_app.command("build")
def build_command(
    context: Path = typer.Argument(..., help="Build context folder."),
    tag: str = typer.Option(..., "--tag", "-t", help="Image name[:tag]."),
    file: str = typer.Option("Dockerfile", "--file", "-f", help="Dockerfile, relative to the context."),
    build_arg: list[str] = typer.Option([], "--build-arg", help="KEY=VALUE, repeatable."),
) -> None:
    """Build an image (offline base image and wheelhouse as needed), streaming the build log."""
    from labkit.containers import ContainerError, build_image

    args: dict[str, str] = {}
    for item in build_arg:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise _fail(ValueError(f"--build-arg must be KEY=VALUE, got {item!r}"), 2)
        args[key] = value
    try:
        result = build_image(context, tag=tag, dockerfile=file, build_args=args)
    except (ContainerError, ValueError) as exc:
        raise _fail(exc) from None
    _console.print(
        f"[green]built {escape(result.tag)}[/green]: {result.size_mb:.1f} MB in {result.seconds:.1f} s"
    )


@containers_app.command("lint")
def lint_command(
    dockerfile: Path = typer.Argument(..., help="The Dockerfile to lint."),
    strict: bool = typer.Option(False, help="Exit 1 on any finding, not only on errors."),
) -> None:
    """hadolint, with every finding explained in plain words."""
    from labkit.containers import ContainerError, lint_dockerfile

    try:
        findings = lint_dockerfile(dockerfile)
    except ContainerError as exc:
        raise _fail(exc) from None
    if not findings:
        _console.print(f"[green]{escape(str(dockerfile))}: no findings[/green]")
        return
    table = Table(title=f"hadolint: {dockerfile}")
    for column in ("line", "code", "level", "what it means"):
        table.add_column(column)
    for f in findings:
        table.add_row(str(f.line), f.code, f.level, escape(f.explanation))
    _console.print(table)
    if strict or any(f.level == "error" for f in findings):
        raise typer.Exit(1)


@containers_app.command("inspect")
def inspect_command(image: str = typer.Argument(..., help="Image reference.")) -> None:
    """Size, layers and history of an image."""
    from labkit.containers import ContainerError, inspect_image

    try:
        report = inspect_image(image)
    except ContainerError as exc:
        raise _fail(exc) from None
    _console.print(
        f"{escape(image)}: {report.size_mb:.1f} MB, {report.layer_count} layers, user {escape(report.user)}"
    )
    table = Table(title="history (newest first)")
    table.add_column("step")
    table.add_column("size", justify="right")
    for step in report.history:
        table.add_row(escape(step.created_by[:100]), f"{step.size_bytes / 1e6:.2f} MB")
    _console.print(table)


@containers_app.command("scan")
def scan_command(
    image: str = typer.Argument(..., help="Image reference."),
    history_only: bool = typer.Option(False, help="Skip the files; scan history, env and labels."),
) -> None:
    """Look for API keys and private keys in an image's history and files. Exit 1 when any is found."""
    from labkit.containers import ContainerError, scan_image

    try:
        report = scan_image(image, scan_files=not history_only)
    except ContainerError as exc:
        raise _fail(exc) from None
    if report.clean:
        _console.print(
            f"[green]no secrets found[/green] in {escape(image)} "
            f"({report.layers_scanned} layers, {report.files_scanned} files)"
        )
        return
    table = Table(title=f"possible secrets in {image}")
    for column in ("kind", "where", "value (redacted)", "note"):
        table.add_column(column)
    for f in report.findings:
        table.add_row(f.kind, escape(f.where), escape(f.excerpt), escape(f.note))
    _console.print(table)
    raise typer.Exit(1)


@containers_app.command("clean")
def clean_command(
    base_images: bool = typer.Option(
        False, "--base-images", help="Also remove the cached offline base images."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
) -> None:
    """Remove every container, network, volume and image labkit created (label org.labkit.managed=true)."""
    from labkit.containers import ContainerError, clean

    try:
        report = clean(base_images=base_images, dry_run=dry_run)
    except ContainerError as exc:
        raise _fail(exc) from None
    verb = "would remove" if dry_run else "removed"
    for kind in ("containers", "networks", "volumes", "images"):
        names = getattr(report, kind)
        _console.print(f"{verb} {len(names)} {kind}" + (f": {escape(', '.join(names))}" if names else ""))
    for error in report.errors:
        _console.print(f"[red]could not remove[/red] {escape(error)}")
    if report.errors:
        raise typer.Exit(1)
