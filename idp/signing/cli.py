"""``idp keys``: list, rotate, retire, remove and import signing keys."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from idp.signing.material import ALGORITHMS, DEFAULT_ALG, KeyMaterialError
from idp.signing.service import RotationRefused
from idp.signing.stores import KeyStoreError

ALG = click.Choice(ALGORITHMS)


def _run(operation, as_json: bool) -> None:
    """Run an operation on the app's key service inside an app context, and print its result."""
    from idp.cli import _app

    app = _app()
    with app.app_context():
        try:
            result = operation(app.extensions["idp"].keys)
        except (RotationRefused, KeyStoreError, KeyMaterialError) as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif isinstance(result, list):
        _print_table(result)
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")


def _when(epoch: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def _print_table(rows: list[dict]) -> None:
    click.echo(f"{'kid':<18} {'alg':<6} {'state':<8} {'created':<20} {'activated':<20} "
               f"{'retired':<20} {'removable after'}")
    for r in rows:
        click.echo(f"{r['kid']:<18} {r['alg']:<6} {r['state']:<8} {_when(r['created_at']):<20} "
                   f"{_when(r['activated_at']):<20} {_when(r['retired_at']):<20} "
                   f"{_when(r['remove_after'])}")


@click.group()
def keys() -> None:
    """Signing keys (see the README's administration section)."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_keys(as_json: bool) -> None:
    """Every key with its state and dates."""
    _run(lambda service: service.listing(), as_json)


@keys.command()
@click.option("--alg", type=ALG, default=DEFAULT_ALG, show_default=True)
@click.option("--force", is_flag=True, help="Promote a next key published for less than the "
              "JWKS cache lifetime (relying parties may fail to validate tokens).")
@click.option("--json", "as_json", is_flag=True)
def rotate(alg: str, force: bool, as_json: bool) -> None:
    """Promote next → current, current → retired, and publish a new next key."""
    _run(lambda service: service.rotate(alg, force=force), as_json)


@keys.command()
@click.argument("kid")
@click.option("--json", "as_json", is_flag=True)
def retire(kid: str, as_json: bool) -> None:
    """Retire a key now (e.g. compromised); a current key is replaced by the next one."""
    _run(lambda service: service.retire(kid), as_json)


@keys.command()
@click.argument("kid")
@click.option("--force", is_flag=True, help="Remove even if tokens it signed may still be valid.")
@click.option("--json", "as_json", is_flag=True)
def remove(kid: str, force: bool, as_json: bool) -> None:
    """Delete a retired key once no token it signed can still be valid."""
    _run(lambda service: service.remove(kid, force=force), as_json)


@keys.command()
@click.option("--alg", type=ALG, required=True)
@click.option("--json", "as_json", is_flag=True)
def add(alg: str, as_json: bool) -> None:
    """Publish a next key for an algorithm (then rotate it in to start signing with it)."""
    _run(lambda service: service.add_next(alg), as_json)


@keys.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--alg", type=ALG, default=DEFAULT_ALG, show_default=True)
@click.option("--kid", help="Keep the key id it had elsewhere (default: from its thumbprint).")
@click.option("--json", "as_json", is_flag=True)
def import_key(path: Path, alg: str, kid: str | None, as_json: bool) -> None:
    """Import a private key (PEM or JWK) as the next key of an algorithm."""
    data = path.read_bytes()
    _run(lambda service: service.import_key(data, alg, kid), as_json)
