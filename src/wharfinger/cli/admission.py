"""``wharfinger admission serve|install``: run the webhook, print what deploys it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wharfinger.cli.options import Http2, registry_settings

__all__ = ["register"]

admission_app = typer.Typer(
    help="The Kubernetes admission webhook: serve it, print its manifests.", no_args_is_help=True
)


@admission_app.command("serve")
def serve(
    policy: Annotated[
        list[Path] | None, typer.Option("--policy", "-p", help="Policy YAML file or folder (repeatable).")
    ] = None,
    from_cluster: Annotated[
        bool, typer.Option("--from-cluster", help="Also read policies and namespace labels from the API (in a pod).")
    ] = False,
    kubeconfig: Annotated[
        Path | None, typer.Option(help="Read policies and namespace labels through this kubeconfig.")
    ] = None,
    cluster_poll: Annotated[float, typer.Option(help="Seconds between reads of the cluster.")] = 5.0,
    facts: Annotated[
        Path | None, typer.Option(help="Static facts file instead of the registry (tests, demos).")
    ] = None,
    trust_dir: Annotated[Path | None, typer.Option(help="Keys, Notary trust store and trust policy (watched).")] = None,
    insecure_registry: Annotated[
        list[str] | None,
        typer.Option(
            "--insecure-registry",
            "--insecure",
            help="Registry host reached over plain HTTP (repeatable, explicit hosts).",
        ),
    ] = None,
    registry_ca: Annotated[
        Path | None,
        typer.Option(
            "--registry-ca", "--ca-bundle", help="Extra PEM CA bundle for registries (also $WHARFINGER_CA_BUNDLE)."
        ),
    ] = None,
    http2: Http2 = False,
    namespaces: Annotated[
        Path | None, typer.Option(help="Namespace labels: YAML {ns: {k: v}} or kubectl ns JSON.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104 -- pod IP
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8443,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM); reloaded when it changes.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    audit_log: Annotated[Path | None, typer.Option(help="Hash-chained JSONL decision log.")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Shared facts cache, e.g. redis://127.0.0.1:6379/0.")] = None,
    timeout_seconds: Annotated[float, typer.Option(help="The API server's timeoutSeconds for this webhook.")] = 10,
    budget: Annotated[
        float | None, typer.Option(help="Seconds to decide in (default 80% of the timeout - 0.5).")
    ] = None,
    success_ttl: Annotated[float, typer.Option(help="Seconds verified facts are cached.")] = 300,
    failure_ttl: Annotated[float, typer.Option(help="Seconds failures (outages) are cached.")] = 15,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Never deny; log what would have been denied.")] = False,
    mutate: Annotated[bool, typer.Option("--mutate", help="Serve /mutate: pin verified images to digests.")] = False,
    no_match: Annotated[
        str, typer.Option(help="Mode for images no policy matches: enforce, warn or audit.")
    ] = "enforce",
    reload_interval: Annotated[float, typer.Option(help="Seconds between checks for changed files.")] = 1.0,
) -> None:
    """Serve /validate (and /mutate), /healthz, /readyz and /metrics over TLS."""
    from wharfinger.admission.runtime import ServeOptions
    from wharfinger.admission.runtime import serve as run
    from wharfinger.errors import InputError
    from wharfinger.policy.document import Mode

    if not policy and not from_cluster and kubeconfig is None:
        raise InputError("no policy source", hint="pass --policy FILE, --from-cluster or --kubeconfig FILE")
    if (tls_cert is None) != (tls_key is None):
        raise InputError(
            "--tls-cert and --tls-key go together", hint="pass both, or neither for plain HTTP (local only)"
        )
    registry = registry_settings(insecure_registry, registry_ca, http2=http2)  # the flags every registry command has
    try:
        no_match_mode = Mode(no_match)
    except ValueError:
        raise InputError(f"--no-match {no_match!r} is not a mode", hint="use enforce, warn or audit") from None
    run(
        ServeOptions(
            policy_paths=tuple(policy or ()),
            from_cluster=from_cluster,
            kubeconfig=kubeconfig,
            cluster_poll_s=cluster_poll,
            facts_path=facts,
            trust_dir=trust_dir,
            plain_http_registries=registry.insecure_hosts,
            registry_ca=registry.ca_bundle,
            registry_http2=registry.http2,
            namespaces_path=namespaces,
            host=host,
            port=port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            audit_log=audit_log,
            redis_url=redis_url,
            timeout_seconds=timeout_seconds,
            budget_s=budget,
            success_ttl_s=success_ttl,
            failure_ttl_s=failure_ttl,
            dry_run=dry_run,
            mutate=mutate,
            no_match=no_match_mode,
            reload_interval_s=reload_interval,
        )
    )


@admission_app.command("install")
def install(
    namespace: Annotated[
        str, typer.Option(help="Namespace of the webhook (excluded from admission).")
    ] = "wharfinger-system",
    image: Annotated[str, typer.Option(help="Wharfinger container image.")] = "ghcr.io/wharfinger/wharfinger:latest",
    policy: Annotated[Path | None, typer.Option(help="Policy YAML to ship (default: an audit-mode baseline).")] = None,
    timeout_seconds: Annotated[int, typer.Option(help="API server timeout for the webhook (1-30).")] = 10,
    failure_policy: Annotated[
        str, typer.Option(help="API server behaviour when unreachable: Fail or Ignore.")
    ] = "Fail",
    mutate: Annotated[bool, typer.Option("--mutate", help="Also install the tag-to-digest mutating webhook.")] = False,
    cert_manager: Annotated[bool, typer.Option("--cert-manager", help="Certificates from cert-manager.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="The webhook never denies, only logs.")] = False,
    replicas: Annotated[int, typer.Option(help="Webhook replicas.")] = 2,
    crds: Annotated[bool, typer.Option(help="Include the ClusterImagePolicy/ImagePolicy CRDs.")] = True,
) -> None:
    """Print every manifest needed to run the webhook (pipe to `kubectl apply -f -`)."""
    import yaml

    from wharfinger.admission.manifests import InstallOptions, render_install
    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError

    if not 1 <= timeout_seconds <= 30:  # noqa: PLR2004 -- the API server's own bounds
        raise InputError(f"--timeout-seconds {timeout_seconds} is outside 1-30", hint="the API server accepts 1 to 30")
    if failure_policy not in {"Fail", "Ignore"}:
        raise InputError(f"--failure-policy {failure_policy!r} is not Fail or Ignore", hint="use Fail (safe) or Ignore")
    policy_yaml = ""
    if policy is not None:
        from wharfinger.admission.runtime import load_policy_paths

        load_policy_paths((policy,))  # refuse to ship a policy the webhook would refuse to load
        policy_yaml = policy.read_text(encoding="utf-8")
    objects = render_install(
        InstallOptions(
            namespace=namespace,
            image=image,
            timeout_seconds=timeout_seconds,
            failure_policy=failure_policy,
            mutate=mutate,
            cert_manager=cert_manager,
            policy_yaml=policy_yaml,
            with_crds=crds,
            dry_run=dry_run,
            replicas=replicas,
        ),
        now=SystemClock().now(),
    )
    typer.echo(yaml.safe_dump_all(objects, sort_keys=False), nl=False)


@admission_app.command("crds")
def crds_command(
    directory: Annotated[Path, typer.Argument(help="Where to write the CRD YAML files.")] = Path("deploy/crds"),
) -> None:
    """Write the ClusterImagePolicy and ImagePolicy CRDs (with their OpenAPI v3 schemas)."""
    import yaml

    from wharfinger.policy.schema import KINDS, crd_manifest

    directory.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        path = directory / f"{kind.lower()}.yaml"
        path.write_text(yaml.safe_dump(crd_manifest(kind), sort_keys=False), encoding="utf-8")
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.add_typer(admission_app, name="admission")
