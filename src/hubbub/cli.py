"""The command line: parse options into Settings and run. No logic lives here."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from hubbub import __version__
from hubbub.config import ConfigError, Settings

__all__ = ["main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="hubbub: a self-hostable chat server with an HTTP API.",
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        help="sqlite:///path/to/file.db or postgresql://user@host/db  (env HUBBUB_DATABASE_URL; "
        "default sqlite:///./data/hubbub.db)",
        show_default=False,
    ),
]


def _settings(**flags: Any) -> Settings:
    try:
        return Settings.load(flags, os.environ)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hubbub {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """hubbub: a self-hostable chat server with an HTTP API."""


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Interface to listen on  (env HUBBUB_HOST; default 127.0.0.1)", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="TCP port  (env HUBBUB_PORT; default 8081)", show_default=False),
    ] = None,
    database_url: DatabaseUrl = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="debug | info | warning | error  (env HUBBUB_LOG_LEVEL; default info)",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            help="console (readable) | json (one object per line)  "
            "(env HUBBUB_LOG_FORMAT; default console)",
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve /metrics on this port (same host) instead of the public port  "
            "(env HUBBUB_METRICS_PORT; default none: on the public port)",
            show_default=False,
        ),
    ] = None,
    sqlite_synchronous: Annotated[
        str | None,
        typer.Option(
            help="FULL (survives power loss) | NORMAL (faster; survives a crash)  "
            "(env HUBBUB_SQLITE_SYNCHRONOUS; default FULL)",
            show_default=False,
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            help="Cluster mode: redis://host:6379/0 carries live events between nodes "
            "(env HUBBUB_REDIS_URL; default none: one node)",
            show_default=False,
        ),
    ] = None,
    rate_limits: Annotated[
        str | None,
        typer.Option(
            help='Rate limits: "off", or "name=rate;..." to change single budgets '
            "(docs/api.md lists them)  (env HUBBUB_RATE_LIMITS; default: the defaults)",
            show_default=False,
        ),
    ] = None,
    password_hashing: Annotated[
        str | None,
        typer.Option(
            help="default | fast (cheap argon2id: tests and benchmarks only)  "
            "(env HUBBUB_PASSWORD_HASHING; default default)",
            show_default=False,
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            help="Open connections (HTTP and WebSocket) before new ones get 503  "
            "(env HUBBUB_MAX_CONNECTIONS; default 10000)",
            show_default=False,
        ),
    ] = None,
    trusted_proxies: Annotated[
        str | None,
        typer.Option(
            help="IPs/CIDRs (comma-separated) whose X-Forwarded-For is believed: your reverse "
            "proxy  (env HUBBUB_TRUSTED_PROXIES; default none)",
            show_default=False,
        ),
    ] = None,
    registration: Annotated[
        str | None,
        typer.Option(
            help="open | invite | closed: who may sign up  (env HUBBUB_REGISTRATION; default open)",
            show_default=False,
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="The server's public address, for invite and reset links  "
            "(env HUBBUB_PUBLIC_URL; default http://host:port)",
            show_default=False,
        ),
    ] = None,
    tls_cert: Annotated[
        str | None,
        typer.Option(
            help="Serve HTTPS and WSS directly: a PEM certificate (chain) file, with "
            "--tls-key  (env HUBBUB_TLS_CERT; default none: plain HTTP)",
            show_default=False,
        ),
    ] = None,
    tls_key: Annotated[
        str | None,
        typer.Option(
            help="The PEM private key of --tls-cert  (env HUBBUB_TLS_KEY)",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes serving the port, each a cluster node; more than 1 needs "
            "--redis-url  (env HUBBUB_WORKERS; default 1)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apply migrations and run the server until Ctrl-C or SIGTERM."""
    from hubbub import serving
    from hubbub.app import create_app
    from hubbub.logs import configure_logging, redact_url

    settings = _settings(
        host=host,
        port=port,
        database_url=database_url,
        log_level=log_level,
        log_format=log_format,
        metrics_port=metrics_port,
        sqlite_synchronous=sqlite_synchronous,
        redis_url=redis_url,
        password_hashing=password_hashing,
        rate_limits=rate_limits,
        max_connections=max_connections,
        trusted_proxies=trusted_proxies,
        registration=registration,
        public_url=public_url,
        tls_cert=tls_cert,
        tls_key=tls_key,
        workers=workers,
    )
    try:
        serving.check_tls(settings)
        settings.check_shared_files()
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    configure_logging(settings.log_format, settings.log_level)
    url = settings.database_url
    where = settings.sqlite_path.resolve() if settings.sqlite_path else redact_url(url)
    typer.echo(
        f"hubbub {__version__} on {settings.scheme}://{settings.host}:{settings.port}/"
        f"  data: {where}"
    )
    if settings.workers == 1:
        serving.run(create_app(settings), settings)
        return
    from hubbub import workers as worker_processes

    def ready(pids: list[int]) -> None:
        typer.echo(f"{len(pids)} workers ready (pids {', '.join(map(str, pids))})")

    code = worker_processes.run(settings, ready)
    if code:
        raise typer.Exit(code)


@app.command()
def migrate(
    database_url: DatabaseUrl = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Apply nothing: list the migrations that would run and whether they allow a "
            "rolling restart. Exit 0: up to date; 1: migrations pending; 2: the database "
            "cannot be read or a newer hubbub migrated it.",
        ),
    ] = False,
) -> None:
    """Apply pending database migrations and exit."""
    from hubbub.app import open_store

    settings = _settings(database_url=database_url)
    if check:
        _migrate_check(settings)
        return

    async def run() -> list[int]:
        store = await open_store(settings)
        try:
            return await store.migrate()
        finally:
            await store.close()

    applied = asyncio.run(run())
    typer.echo(f"applied migrations: {applied}" if applied else "schema is up to date")


def _migrate_check(settings: Settings) -> None:
    from hubbub.upgrades import DatabaseUnreachable, migration_plan

    try:
        plan = asyncio.run(migration_plan(settings))
    except DatabaseUnreachable as exc:
        typer.echo(f"cannot read the database: {exc}", err=True)
        raise typer.Exit(2) from exc
    if plan.unknown:
        typer.echo(
            f"the database has migrations this hubbub ({__version__}) does not know: "
            f"{list(plan.unknown)}. A newer release migrated it: run that release (there is "
            "no going back but restoring a backup).",
            err=True,
        )
        raise typer.Exit(2)
    if not plan.pending:
        typer.echo("schema is up to date: nothing would run")
        return
    if not plan.exists:
        typer.echo(f"no database yet at {settings.sqlite_path}: every migration would run")
    typer.echo(f"{len(plan.pending)} migration(s) would run:")
    for m in plan.pending:
        typer.echo(f"  {m.version:04d} {m.name}{'  (rolling)' if m.rolling else ''}")
    if plan.allows_rolling_restart:
        typer.echo("rolling restart: yes (nodes of the previous release may keep serving)")
    else:
        stopping = [f"{m.version:04d}" for m in plan.pending if not m.rolling]
        typer.echo(
            f"rolling restart: no ({', '.join(stopping)} need every node of the previous "
            "release stopped before they run; docs/deploy.md, Upgrading)"
        )
    raise typer.Exit(1)


@app.command()
def doctor(
    database_url: DatabaseUrl = None,
    redis_url: Annotated[
        str | None,
        typer.Option(help="(env HUBBUB_REDIS_URL; default none: one node)", show_default=False),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: ok, problems, warnings, checks.")
    ] = False,
    disk_free_min_mb: Annotated[
        int,
        typer.Option(help="Report a problem below this much free space (MiB) for SQLite."),
    ] = 1024,
) -> None:
    """Check the settings (the same HUBBUB_* as serve) and what they point at: the database
    and its migrations, Redis, links, trusted proxies, TLS files, disk space, open-file
    limit. Says what is wrong and how to fix it; exit code 1 if anything is."""
    import json

    from hubbub.doctor import Context, diagnose

    settings = _settings(database_url=database_url, redis_url=redis_url)
    report = asyncio.run(diagnose(Context(settings, disk_free_min_mb=disk_free_min_mb)))
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        width = max(len(f.check) for f in report.findings)
        for f in report.findings:
            label = {"ok": "ok", "warning": "WARNING", "problem": "PROBLEM"}[f.status]
            typer.echo(f"{label:<8} {f.check:<{width}}  {f.message}")
            if f.fix:
                typer.echo(f"{'':<8} {'':<{width}}  fix: {f.fix}")
        verdict = (
            "no problems"
            if report.is_ok
            else f"{report.problems} problem{'s' if report.problems != 1 else ''}"
        )
        if report.warnings:
            verdict += f", {report.warnings} warning{'s' if report.warnings != 1 else ''}"
        typer.echo(f"\nhubbub doctor: {verdict}")
    if not report.is_ok:
        raise typer.Exit(1)


@app.command("new-deployment-id")
def new_deployment_id(database_url: DatabaseUrl = None) -> None:
    """Invalidate every client cursor (clients refetch state). Run after restoring a backup,
    with the servers stopped."""
    from hubbub.app import open_store

    settings = _settings(database_url=database_url)

    async def run() -> str:
        store = await open_store(settings)
        try:
            await store.migrate()
            return await store.rotate_deployment_id()
        finally:
            await store.close()

    typer.echo(f"new deployment id: {asyncio.run(run())}")


PG_BACKUP_RECIPE = """\
PostgreSQL: back up with pg_dump, while the servers run:
  pg_dump --format=custom --file=hubbub.dump "$HUBBUB_DATABASE_URL"
restore into an empty database, with the servers stopped:
  pg_restore --no-owner --dbname="$HUBBUB_DATABASE_URL" hubbub.dump
  hubbub new-deployment-id --database-url "$HUBBUB_DATABASE_URL"
(docs/deploy.md, "Backups")"""


def files_backup_dir(path: Path) -> Path:
    """Where `hubbub backup PATH` puts the files: PATH.files/ beside it."""
    return path.with_name(path.name + ".files")


def _copy_files(settings: Settings, source: Path | None, dest: Path | None) -> int | None:
    """Copy stored files: from the settings' storage to the directory `dest`, or from the
    directory `source` into the settings' storage. None when the settings keep files
    elsewhere than a local directory and nothing is asked of them (S3 keeps its own)."""
    from hubbub.app import open_file_storage
    from hubbub.blobs.local import LocalStorage
    from hubbub.blobs.transfer import copy_objects

    storage = open_file_storage(settings)
    if source is None and not isinstance(storage, LocalStorage):
        return None
    if source is not None:
        return asyncio.run(copy_objects(LocalStorage(source), storage))
    assert dest is not None
    return asyncio.run(copy_objects(storage, LocalStorage(dest)))


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="The file to write (must not exist)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Copy the SQLite database to PATH while the server runs (a consistent snapshot), and
    check the copy; files in a local directory go to PATH.files/. For PostgreSQL, prints the
    pg_dump recipe."""
    from hubbub.store.backup import BackupError, backup_sqlite

    settings = _settings(database_url=database_url)
    if settings.sqlite_path is None:
        typer.echo(PG_BACKUP_RECIPE, err=True)
        raise typer.Exit(2)
    shown = [-1]

    def progress(done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent != shown[0]:
            shown[0] = percent
            typer.echo(f"\rbackup: {percent:3d}% of {total / 1e6:.1f} MB", nl=False, err=True)

    try:
        size = backup_sqlite(settings.sqlite_path, path, progress)
    except BackupError as exc:
        typer.echo(f"\nbackup: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo("", err=True)
    typer.echo(f"backed up {size} bytes to {path} (integrity check: ok)")
    # After the database: a file the copy names is in storage (files are written before
    # their rows), so the backup's rows all find their files.
    files = _copy_files(settings, None, files_backup_dir(path))
    if files is not None:
        typer.echo(f"backed up {files} files to {files_backup_dir(path)}")


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="A file made by `hubbub backup`")],
    database_url: DatabaseUrl = None,
) -> None:
    """Replace the SQLite database with a backup, with every server stopped; the deployment
    gets a new id, so clients start over instead of resuming into a rewound log."""
    from hubbub.app import open_store
    from hubbub.store.backup import BackupError, exclusive, replace_database

    settings = _settings(database_url=database_url)
    if settings.sqlite_path is None:
        typer.echo(PG_BACKUP_RECIPE, err=True)
        raise typer.Exit(2)
    database = settings.sqlite_path

    async def renew() -> tuple[list[int], str]:
        store = await open_store(settings)
        try:
            return await store.migrate(), await store.rotate_deployment_id()
        finally:
            await store.close()

    try:
        with exclusive(database):
            replace_database(path, database)
    except BackupError as exc:
        typer.echo(f"restore: {exc}", err=True)
        raise typer.Exit(1) from exc
    applied, deployment = asyncio.run(renew())
    if applied:
        typer.echo(f"applied migrations: {applied}")
    if files_backup_dir(path).is_dir():
        files = _copy_files(settings, files_backup_dir(path), None)
        typer.echo(f"restored {files} files from {files_backup_dir(path)}")
    typer.echo(f"restored {path} to {database}; new deployment id: {deployment}")


@app.command("copy-data")
def copy_data(
    source: Annotated[
        str, typer.Option("--from", help="The database to copy, e.g. sqlite:///./data/hubbub.db")
    ],
    dest: Annotated[
        str,
        typer.Option(
            "--to",
            help="An empty database to copy into, e.g. "
            "postgresql://hubbub@db/hubbub (migrated first)",
        ),
    ],
    files_from: Annotated[
        str | None,
        typer.Option(
            "--files-from",
            help="Where the source keeps its files (default: beside a SQLite source, else "
            "HUBBUB_FILES_URL)",
        ),
    ] = None,
    files_to: Annotated[
        str | None,
        typer.Option(
            "--files-to",
            help="Where the destination keeps them: a directory or s3://bucket/prefix "
            "(default: HUBBUB_FILES_URL, else beside a SQLite destination)",
        ),
    ] = None,
) -> None:
    """Copy a whole deployment (accounts, rooms, messages, reactions, read state, idempotency
    keys, events and cursors) into an empty database. Stop the servers first."""
    from hubbub.app import open_store
    from hubbub.store.copy import CopyError, copy_database

    from_settings = _settings(database_url=source, files_url=files_from)
    if files_from is None and from_settings.sqlite_path is not None:
        from_settings = from_settings.replace(files_url="")  # beside the source database
    to_settings = _settings(database_url=dest, files_url=files_to)

    async def run() -> dict[str, int]:
        src, dst = await open_store(from_settings), await open_store(to_settings)
        try:
            return await copy_database(src, dst)
        finally:
            await src.close()
            await dst.close()

    try:
        counts = asyncio.run(run())
    except CopyError as exc:
        typer.echo(f"copy-data: {exc}", err=True)
        raise typer.Exit(1) from exc
    for table, count in counts.items():
        typer.echo(f"{table:>18}: {count} rows")
    files = asyncio.run(_copy_storage(from_settings, to_settings))
    typer.echo(f"{'files':>18}: {files} copied")
    typer.echo("copied and verified")


async def _copy_storage(source: Settings, dest: Settings) -> int:
    """Every stored file of `source`'s storage into `dest`'s (none when they are the same)."""
    from hubbub.app import open_file_storage
    from hubbub.blobs.transfer import copy_objects

    if (source.files_dir, source.files_url) == (dest.files_dir, dest.files_url):
        return 0
    return await copy_objects(open_file_storage(source), open_file_storage(dest))


admin = typer.Typer(help="Server administration from the command line (on the database).")
app.add_typer(admin, name="admin")

PublicUrl = Annotated[
    str | None,
    typer.Option(
        help="The address people reach the server at, for the links printed "
        "(env HUBBUB_PUBLIC_URL)",
        show_default=False,
    ),
]


def _admin_run(settings: Settings, job: Any) -> Any:
    """Run `job(services)` against the database; a domain error is printed, exit code 1."""
    from hubbub.app import command_services
    from hubbub.errors import DomainError

    async def run() -> Any:
        async with command_services(settings) as services:
            return await job(services)

    try:
        return asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"{exc.code}: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


@admin.command("promote")
def admin_promote(username: str, database_url: DatabaseUrl = None) -> None:
    """Make USERNAME a server admin."""
    settings = _settings(database_url=database_url)
    _admin_run(settings, lambda svc: svc.admin.update_user(None, username, admin=True))
    typer.echo(f"{username} is a server admin")


@admin.command("demote")
def admin_demote(username: str, database_url: DatabaseUrl = None) -> None:
    """Make USERNAME an ordinary account (the last active admin stays)."""
    settings = _settings(database_url=database_url)
    _admin_run(settings, lambda svc: svc.admin.update_user(None, username, admin=False))
    typer.echo(f"{username} is no longer a server admin")


@admin.command("create-user")
def admin_create_user(
    username: str,
    display_name: Annotated[str | None, typer.Option(help="Defaults to the username")] = None,
    database_url: DatabaseUrl = None,
    public_url: PublicUrl = None,
) -> None:
    """Make an account and print the one-time link (24 h) that sets its password."""
    settings = _settings(database_url=database_url, public_url=public_url)
    _, link = _admin_run(settings, lambda svc: svc.admin.create_user(None, username, display_name))
    typer.echo(f"created {username}; set its password within 24 hours at:\n{link.url}")


@admin.command("create-invite")
def admin_create_invite(
    uses: Annotated[int, typer.Option(help="How many people may sign up with it")] = 1,
    hours: Annotated[int, typer.Option(help="Hours until it expires")] = 168,
    database_url: DatabaseUrl = None,
    public_url: PublicUrl = None,
) -> None:
    """Make an invite and print its link."""
    from hubbub.services.invites import invite_url

    settings = _settings(database_url=database_url, public_url=public_url)
    invite = _admin_run(settings, lambda svc: svc.invites.create(None, uses, hours))
    typer.echo(invite_url(settings, invite.code))


@admin.command("reset-link")
def admin_reset_link(
    username: str, database_url: DatabaseUrl = None, public_url: PublicUrl = None
) -> None:
    """Print a one-time link (24 h) that sets USERNAME's password: how the owner of an account
    made without one (by `import-slack`, or `admin create-user`) claims it."""
    settings = _settings(database_url=database_url, public_url=public_url)
    link = _admin_run(settings, lambda svc: svc.admin.password_reset(None, username))
    typer.echo(f"{username} can set a password within 24 hours at:\n{link.url}")


@app.command("import-slack")
def import_slack(
    export: Annotated[
        Path, typer.Argument(help="A Slack workspace export: the ZIP file Slack gives you")
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Read the whole export and print what it holds; write nothing."
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a Slack export: users (accounts without passwords: `hubbub admin reset-link`),
    channels, private channels, DMs, messages with threads, reactions, edits and files.
    Running it again adds nothing. docs/integrations.md, "Slack import"."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from hubbub.services.slackexport import ExportUnreadable
    from hubbub.services.slackimport import SlackImportService

    settings = _settings(database_url=database_url)
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("daily files"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def progress(done: int, total: int, conversation: str) -> None:
            bar.update(task, completed=done, total=total, description=f"#{conversation[:24]}")

        async def job(services: Any) -> Any:
            return await services.slack_import.run(export, progress)

        try:
            if dry_run:  # no database: nothing is opened, migrated or written
                summary = asyncio.run(SlackImportService.count(export, progress))
            else:
                summary = _admin_run(settings, job)
        except ExportUnreadable as exc:
            typer.echo(f"import-slack: {exc}", err=True)
            raise typer.Exit(1) from exc
    _print_summary(summary, dry_run)


def _print_summary(summary: Any, dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    title = "the export holds (dry run: nothing written)" if dry_run else "imported"
    table = Table(title=title, show_header=False)
    for label, value in (
        ("accounts", summary.users),
        ("bot accounts", summary.bots),
        ("rooms", summary.rooms),
        ("DMs", summary.dms),
        ("memberships", summary.memberships),
        ("messages", summary.messages),
        ("  of them thread replies", summary.replies),
        ("reactions", summary.reactions),
        ("files attached", summary.files_attached),
        ("files linked (not in the export)", summary.files_linked),
        ("already imported by an earlier run", summary.already),
    ):
        table.add_row(label, str(value))
    for reason, count in sorted(summary.skipped.items()):
        table.add_row(f"skipped: {reason}", str(count))
    Console().print(table)


def main() -> None:
    app()
