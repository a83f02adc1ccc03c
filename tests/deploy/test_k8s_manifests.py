"""CI checks of deploy/k8s: generated parts current, both overlays render, and the result is valid and sane.

Built-in kinds are validated offline against the Kubernetes OpenAPI schemas that the kubernetes-validate
package ships (pinned to K8S_VERSION). Custom resources cannot be: see CRD_NOT_VALIDATED for why, and the
structural checks below for what is checked about them instead.
"""

from __future__ import annotations

import ast
import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

import shared.contracts.topics as topics_module
from shared.contracts.topics import ALL_TOPICS, TICKETS_EVENTS, all_topics_with_dead_letters
from tools import k8s
from tools.cli import SERVICES

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")
K8S_VERSION = "1.32"  # the oldest Kubernetes we support; bump with the clusters
CRD_REASON = ("CRD schema not shipped offline: no PyPI package carries the {op} CRDs and this workplace cannot "
              "download them; structural checks in this file cover the fields Frontline relies on")
CRD_NOT_VALIDATED = {
    "Kafka": CRD_REASON.format(op="Strimzi"),
    "KafkaNodePool": CRD_REASON.format(op="Strimzi"),
    "KafkaTopic": CRD_REASON.format(op="Strimzi"),
    "KafkaUser": CRD_REASON.format(op="Strimzi"),
    "ScaledObject": CRD_REASON.format(op="KEDA"),
    "TriggerAuthentication": CRD_REASON.format(op="KEDA"),
    "MongoDBCommunity": CRD_REASON.format(op="MongoDB Community operator"),
    **{kind: CRD_REASON.format(op="OpenSearch") for kind in
       ("OpenSearchCluster", "OpensearchRole", "OpensearchUser", "OpensearchUserRoleBinding")},
}


def _kubectl() -> str | None:
    return shutil.which("kubectl") or (str(Path("/usr/bin/kubectl")) if Path("/usr/bin/kubectl").exists() else None)


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = _kubectl()
    if kubectl is None:
        pytest.skip("kubectl not installed: cannot render kustomize overlays (install kubectl >= 1.27 to run this)")
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_generated_manifests_are_current() -> None:
    assert k8s.stale() == [], "run `frontline k8s` and commit the result"
    assert k8s.cli(["--check"]) == 0


def test_overlay_validates_against_kubernetes_schemas(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = rendered
    validated, skipped = set(), set()
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            validated.add(doc["kind"])
        except kubernetes_validate.SchemaNotFoundError:
            assert doc["kind"] in CRD_NOT_VALIDATED, f"{doc['kind']}: no schema and no reason to skip it"
            skipped.add(doc["kind"])
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} invalid at {list(exc.path)}: "
                        f"{exc.message}")
    assert {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Ingress", "NetworkPolicy",
            "HorizontalPodAutoscaler", "Namespace"} <= validated
    assert skipped == set(CRD_NOT_VALIDATED), "every CRD kind is rendered (and the skip list is not stale)"


def test_validator_rejects_a_broken_deployment() -> None:
    """Guards the check above: the offline schemas really are consulted."""
    dep = k8s.deployment("tickets", 8002)
    kubernetes_validate.validate(dep, K8S_VERSION, strict=True)
    broken = copy.deepcopy(dep)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight-thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    unknown = copy.deepcopy(dep)
    unknown["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, K8S_VERSION, strict=True)


def test_every_service_runs_hardened_with_probes_config_and_secrets(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = rendered
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    pdbs = of_kind(docs, "PodDisruptionBudget")
    configmaps = {name.rsplit("-", 1)[0]: cm for name, cm in of_kind(docs, "ConfigMap").items()}
    assert configmaps["frontline-common"]["data"]["KAFKA_IDEMPOTENCE"] == "true"
    assert configmaps["frontline-common"]["data"]["KAFKA_BOOTSTRAP_SERVERS"] == k8s.BOOTSTRAP
    mongo = next(iter(of_kind(docs, "MongoDBCommunity").values()))
    uri_secret = mongo["spec"]["users"][0]["connectionStringSecretName"]
    for svc, port in SERVICES.items():
        name = f"frontline-{svc}"
        dep = deployments[name]
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert c["args"] == [svc]  # the image runs python -m shared.runtime.run <service>
        assert c["ports"][0]["containerPort"] == port
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
        assert sc["allowPrivilegeEscalation"] is False
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
        assert any(v["name"] == "tmp" and "emptyDir" in v for v in pod["volumes"])
        env = {e["name"]: e for e in c["env"]}
        if svc in k8s.GATEWAY_CLIENTS:  # tests/deploy/test_console_manifests.py: no desk credentials at all
            assert not {"MONGODB_URI", "KAFKA_SASL_PASSWORD"} & env.keys()
        else:
            assert env["MONGODB_URI"]["valueFrom"]["secretKeyRef"]["name"] == uri_secret
            assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == k8s.user_name(svc)
        refs = [next(iter(e.values()))["name"] for e in c["envFrom"]]
        own = next(r for r in refs if r.startswith(f"frontline-{svc}-") and not r.endswith("-secrets"))
        assert configmaps[f"frontline-{svc}"]["metadata"]["name"] == own
        assert configmaps[f"frontline-{svc}"]["data"][f"{svc.upper()}_HTTP_PORT"] == str(port)
        assert any(r.startswith("frontline-common") for r in refs)
        assert services[name]["spec"]["ports"][0]["port"] == port
        assert services[name]["spec"]["selector"].items() <= pod_labels(dep).items()
        assert pdbs[name]["spec"]["selector"]["matchLabels"].items() <= pod_labels(dep).items()
        if overlay == "dev":
            assert dep["spec"]["replicas"] == 1
        else:
            assert ":" in c["image"] and not c["image"].endswith(":latest")


def pod_labels(dep: dict[str, Any]) -> dict[str, str]:
    return dep["spec"]["template"]["metadata"]["labels"]


def test_only_gateway_intake_feedback_and_console_take_outside_traffic(
        rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    (ingress,) = of_kind(docs, "Ingress").values()
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"frontline-gateway", "frontline-intake", "frontline-feedback", "frontline-console"}
    policies = of_kind(docs, "NetworkPolicy")
    from_outside: set[str] = set()
    for pol in policies.values():
        for rule in pol["spec"]["ingress"]:
            for peer in rule["from"]:
                assert "ipBlock" not in peer
                ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                if ns == "ingress-nginx":
                    sel = pol["spec"]["podSelector"]["matchExpressions"]
                    from_outside |= set(next(e["values"] for e in sel if e["key"] == "app.kubernetes.io/component"))
    assert from_outside == set(k8s.HTTP_FACING) == {"gateway", "intake", "feedback", "console"}
    selected = policies["frontline-default-deny"]["spec"]["podSelector"]["matchLabels"]
    for dep in of_kind(docs, "Deployment").values():
        assert selected.items() <= pod_labels(dep).items(), "every service pod is under the default-deny policy"


def test_autoscaling(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = rendered
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    assert sorted(h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()) == ["frontline-console",
                                                                                   "frontline-gateway"]
    assert all(hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu" for hpa in hpas.values())
    scaled = of_kind(docs, "ScaledObject")
    assert {so["spec"]["scaleTargetRef"]["name"] for so in scaled.values()} == {
        f"frontline-{s}" for s in ("intake", "tickets", "routing", "notify", "feedback")}
    for so in scaled.values():
        svc = so["spec"]["scaleTargetRef"]["name"].removeprefix("frontline-")
        lag = [(t["metadata"]["topic"], t["metadata"]["consumerGroup"]) for t in so["spec"]["triggers"]
               if t["type"] == "kafka"]
        assert lag == [(spec.name, group) for spec, group in k8s.CONSUMER_GROUPS[svc]]
        assert all(t["metadata"]["bootstrapServers"] == k8s.BOOTSTRAP for t in so["spec"]["triggers"]
                   if t["type"] == "kafka")
        partitions = max(spec.partitions for spec, _ in k8s.CONSUMER_GROUPS[svc])
        assert 1 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"] <= partitions
    sla = of_kind(docs, "Deployment")["frontline-sla"]
    assert 1 <= sla["spec"]["replicas"] <= TICKETS_EVENTS.partitions, "SLA replicas bounded by the partitions"
    assert "frontline-sla" not in scaled and "frontline-sla" not in hpas


def test_kafka_cluster_topics_and_users(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = rendered
    (kafka,) = of_kind(docs, "Kafka").values()
    assert kafka["metadata"]["name"] == k8s.CLUSTER
    assert kafka["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    assert "zookeeper" not in kafka["spec"] and kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    plain = next(x for x in kafka["spec"]["kafka"]["listeners"] if x["port"] == 9092)
    assert plain["authentication"]["type"] == "scram-sha-512"
    pools = of_kind(docs, "KafkaNodePool")
    assert {r for p in pools.values() for r in p["spec"]["roles"]} == {"controller", "broker"}
    cluster_docs = [*pools.values(), *of_kind(docs, "KafkaTopic").values(), *of_kind(docs, "KafkaUser").values()]
    assert all(d["metadata"]["labels"]["strimzi.io/cluster"] == k8s.CLUSTER for d in cluster_docs)

    rendered_topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(docs, "KafkaTopic").values()}
    assert set(rendered_topics) == {t.name for t in all_topics_with_dead_letters()}
    for t in all_topics_with_dead_letters():
        spec = rendered_topics[t.name]
        assert spec["partitions"] == t.partitions and spec["config"]["retention.ms"] == t.retention_ms
        assert spec["replicas"] == (1 if overlay == "dev" else 3)
        assert spec["config"]["min.insync.replicas"] < spec["replicas"] or spec["replicas"] == 1

    users = of_kind(docs, "KafkaUser")
    for user in users.values():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        for acl in user["spec"]["authorization"]["acls"]:
            assert acl["resource"]["type"] in ("topic", "group")
            assert set(acl["operations"]) <= {"Read", "Write", "Describe"}

    def allowed(user: str, kind: str, name: str) -> set[str]:
        return {op for acl in users[user]["spec"]["authorization"]["acls"]
                if acl["resource"]["type"] == kind and acl["resource"]["name"] == name for op in acl["operations"]}

    assert not {k8s.user_name(svc) for svc in k8s.GATEWAY_CLIENTS} & users.keys()
    for t in all_topics_with_dead_letters():
        for svc in (s for s in SERVICES if s not in k8s.GATEWAY_CLIENTS):
            ops = allowed(k8s.user_name(svc), "topic", t.name)
            assert "Describe" in ops
            assert ("Write" in ops) == (svc in t.producers), (svc, t.name)
            assert ("Read" in ops) == (svc in t.consumers), (svc, t.name)
    for svc, groups in k8s.CONSUMER_GROUPS.items():
        for _, group in groups:
            assert allowed(k8s.user_name(svc), "group", group) == {"Read"}
    assert allowed("frontline-external", "topic", "inbound.messages") == {"Describe", "Write"}
    for t in ALL_TOPICS:
        assert "Read" in allowed("frontline-operators", "topic", t.dead_letter.name)
        assert "Write" in allowed("frontline-operators", "topic", t.name)


def test_mongodb_replica_set(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = rendered
    (mongo,) = of_kind(docs, "MongoDBCommunity").values()
    assert mongo["spec"]["type"] == "ReplicaSet"
    assert mongo["spec"]["members"] == (1 if overlay == "dev" else 3)
    user = mongo["spec"]["users"][0]
    assert {"name": "readWrite", "db": "frontline"} in user["roles"]
    assert user["passwordSecretRef"]["name"] == "frontline-mongodb-password"
    secrets = of_kind(docs, "Secret")
    assert ("frontline-mongodb-password" in secrets) == (overlay == "dev"), "prod secrets are created out of band"


def _code_groups(svc: str) -> set[tuple[str, str]] | None:
    """(topic, group) pairs a service's code consumes with, or None when the service has no code yet."""
    pkg = ROOT / "services" / svc
    files = sorted(pkg.glob("*.py")) if pkg.is_dir() else []
    if not files:
        return None
    found: set[tuple[str, str]] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            fname = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if fname != "Consumer" or len(node.args) < 3:
                continue
            spec, group = node.args[1], node.args[2]
            if isinstance(spec, ast.Name) and isinstance(group, ast.Constant) and isinstance(group.value, str):
                found.add((getattr(topics_module, spec.id).name, group.value))
    if svc == "sla" and (pkg / "settings.py").exists():
        from services.sla.settings import SlaSettings

        found.add((TICKETS_EVENTS.name, SlaSettings.model_fields["consumer_group"].default))
    return found or None


@pytest.mark.parametrize("svc", list(SERVICES))
def test_consumer_groups_match_the_services_code(svc: str) -> None:
    """KEDA triggers, ACLs and AsyncAPI use k8s.CONSUMER_GROUPS; it must name the groups the code joins."""
    found = _code_groups(svc)
    if svc in k8s.GATEWAY_CLIENTS:
        assert found is None and svc not in k8s.CONSUMER_GROUPS, f"{svc} reaches the desk only through the gateway"
        return
    table = {(spec.name, group) for spec, group in k8s.CONSUMER_GROUPS[svc]}
    if found is None:
        if svc == "gateway":
            assert table == set()
            return
        pytest.skip(f"services/{svc} has no consumer yet: {sorted(table)} is an assumption (docs/operations.md)")
    assert found == table, f"update CONSUMER_GROUPS in tools/k8s.py for {svc}, then run `frontline k8s`"


def _containers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    pods = [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in docs
            if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")]
    return [(name, c) for name, pod in pods for c in [*pod.get("initContainers", []), *pod["containers"]]]


def _service_configmaps(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {name.rsplit("-", 1)[0]: cm.get("data", {}) for name, cm in of_kind(docs, "ConfigMap").items()}


def test_prod_overlay_runs_production_and_every_secret_it_names_is_required() -> None:
    """A missing Secret must stop the pod, never start it on the development keys (issue 16, item 7)."""
    docs = render("prod")
    common = _service_configmaps(docs)["frontline-common"]
    assert common["FRONTLINE_ENVIRONMENT"] == "production"
    assert "FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK" not in common
    for name, c in _containers(docs):
        for src in c.get("envFrom", []):
            assert "optional" not in src.get("secretRef", {}), f"{name}: optional Secret {src['secretRef']['name']}"
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            assert ref is None or "optional" not in ref, f"{name}: optional Secret key {e['name']}"
        env = {e["name"]: e for e in c.get("env", [])}
        assert env.get("FRONTLINE_ENVIRONMENT", {}).get("value", "production") == "production", name
        if name.removeprefix("frontline-") in k8s.GATEWAY_CLIENTS:
            assert "FRONTLINE_SERVICE_TOKEN" not in env, f"{name} calls only the gateway's public API"
            continue
        token = env["FRONTLINE_SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert token["name"] == k8s.SERVICE_TOKEN_SECRET and "optional" not in token
    deployments = of_kind(docs, "Deployment")
    for svc in SERVICES:
        (c,) = deployments[f"frontline-{svc}"]["spec"]["template"]["spec"]["containers"]
        assert {"secretRef": {"name": f"frontline-{svc}-secrets"}} in c["envFrom"], f"{svc} keys come from a Secret"
    assert not of_kind(docs, "Secret").keys() & {f"frontline-{s}-secrets" for s in SERVICES}, \
        "production keys are created out of band, never checked in"


def test_every_container_is_read_only_unprivileged_and_non_root(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    containers = _containers(docs)
    assert {name for name, _ in containers} >= {f"frontline-{svc}" for svc in SERVICES}
    for name, c in containers:
        sc = c.get("securityContext", {})
        assert sc.get("readOnlyRootFilesystem") is True, name
        assert sc.get("allowPrivilegeEscalation") is False, name
        assert sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc["capabilities"].get("add"), name
        assert sc.get("runAsNonRoot") is True and sc.get("runAsUser", k8s.UID) != 0, name


def test_services_bind_all_interfaces_and_metrics_stay_off_the_public_path(
        rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    configmaps = _service_configmaps(docs)
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    for svc, port in SERVICES.items():
        data = configmaps[f"frontline-{svc}"]
        assert data[f"{svc.upper()}_HTTP_HOST"] == "0.0.0.0"
        assert data[f"{svc.upper()}_METRICS_PORT"] == str(k8s.METRICS_PORT) != str(port)
        pod = deployments[f"frontline-{svc}"]["spec"]["template"]
        (c,) = pod["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"http": port, "metrics": k8s.METRICS_PORT}
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(k8s.METRICS_PORT)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert c[probe]["httpGet"]["port"] == "http"
    for svc in services.values():
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] == "http" and p["port"] != k8s.METRICS_PORT, svc["metadata"]["name"]
    (ingress,) = of_kind(docs, "Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["port"] == {"name": "http"}
    policies = of_kind(docs, "NetworkPolicy")
    public = [p for rule in policies["frontline-allow-public"]["spec"]["ingress"] for p in rule["ports"]]
    assert public == [{"port": "http"}], "the ingress controller reaches the public port only"
    scrape = [p for rule in policies["frontline-allow-prometheus"]["spec"]["ingress"] for p in rule["ports"]]
    assert scrape == [{"port": "metrics"}]
