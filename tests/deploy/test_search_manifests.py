"""The search service's engine in the rendered overlays: an OpenSearch cluster on the operator, three persistent
nodes in production and one in development, reached only by the search pods, over HTTPS as a user of its own whose
password comes from a Secret and is never written into a ConfigMap or the repository.
"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.search.settings import SearchSettings
from tests.deploy.test_k8s_manifests import of_kind, render

SEARCH = "frontline-search"
CREDENTIALS = "frontline-search-opensearch"


@pytest.fixture(scope="module", params=["dev", "prod"])
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def search_config(docs: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = next(cm["data"] for n, cm in of_kind(docs, "ConfigMap").items()
                                if n.rsplit("-", 1)[0] == SEARCH)
    return data


def search_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (c,) = of_kind(docs, "Deployment")[SEARCH]["spec"]["template"]["spec"]["containers"]
    return c


def cluster(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = of_kind(docs, "OpenSearchCluster").values()
    return found


def test_the_engine_is_a_persistent_cluster_of_three_in_prod_and_one_in_dev(
        rendered: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = rendered
    spec = cluster(docs)["spec"]
    pools = spec["nodePools"]
    assert sum(p["replicas"] for p in pools) == (3 if overlay == "prod" else 1)
    assert {"cluster_manager", "data"} <= {r for p in pools for r in p["roles"]}
    for pool in pools:
        assert "pvc" in pool["persistence"] and pool["diskSize"], "an index on emptyDir is lost with its pod"
        assert pool["resources"]["requests"]["memory"] == pool["resources"]["limits"]["memory"]
    assert not spec["dashboards"]["enable"], "no Dashboards: nobody browses the index around the gateway's scope"
    assert spec["general"]["podSecurityContext"]["runAsNonRoot"] is True
    assert spec["general"]["setVMMaxMapCount"] is False, "no privileged init container in a restricted namespace"


def test_search_talks_https_to_the_clusters_own_service(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    config, spec = search_config(docs), cluster(docs)["spec"]
    assert config["SEARCH_ENGINE"] == "opensearch"
    url = urlsplit(config["SEARCH_OPENSEARCH_URL"])
    # the operator names the cluster's Service after general.serviceName and serves REST on general.httpPort
    assert (url.hostname, url.port) == (spec["general"]["serviceName"], spec["general"]["httpPort"])
    http_tls = spec["security"]["tls"]["http"]
    # the operator turns the security plugin (users, passwords) off with HTTP TLS: so https, never http
    assert url.scheme == "https" and http_tls["generate"] and http_tls.get("enabled", True)
    c = search_container(docs)
    env = {e["name"]: e for e in c["env"]}
    ca_file = env["SEARCH_OPENSEARCH_CA_FILE"]["value"]
    (mount,) = [m for m in c["volumeMounts"] if ca_file.startswith(m["mountPath"] + "/")]
    pod = of_kind(docs, "Deployment")[SEARCH]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    name = cluster(docs)["metadata"]["name"]
    assert volume["secret"]["secretName"] == f"{name}-http-cert"
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}], "the CA only, never the node's key"


def test_the_credentials_are_referenced_from_a_secret_never_inlined(
        rendered: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = rendered
    env = {e["name"]: e for e in search_container(docs)["env"]}
    for name, key in (("SEARCH_OPENSEARCH_USERNAME", "username"), ("SEARCH_OPENSEARCH_PASSWORD", "password")):
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": CREDENTIALS, "key": key}, "required, not optional"
    for cm_name, cm in of_kind(docs, "ConfigMap").items():
        assert not {"SEARCH_OPENSEARCH_USERNAME", "SEARCH_OPENSEARCH_PASSWORD"} & cm.get("data", {}).keys(), cm_name
    # the operator hashes the same Secret's password for the user the search service signs in as
    (user,) = of_kind(docs, "OpensearchUser").values()
    assert user["spec"]["passwordFrom"] == {"name": CREDENTIALS, "key": "password"}
    assert user["spec"]["opensearchCluster"]["name"] == cluster(docs)["metadata"]["name"]
    secrets = of_kind(docs, "Secret")
    if overlay == "prod":
        assert CREDENTIALS not in secrets, "production credentials are created out of band, never checked in"
    else:
        import base64

        username = base64.b64decode(secrets[CREDENTIALS]["data"]["username"]).decode()
        assert username == user["metadata"]["name"], "the pod signs in as the user the operator creates"


def test_the_search_user_may_touch_only_frontlines_indices(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    (user,) = of_kind(docs, "OpensearchUser").values()
    (binding,) = of_kind(docs, "OpensearchUserRoleBinding").values()
    assert binding["spec"]["users"] == [user["metadata"]["name"]]
    roles = of_kind(docs, "OpensearchRole")
    assert set(binding["spec"]["roles"]) == set(roles)
    perms = [perm for role in roles.values() for perm in role["spec"]["indexPermissions"]]
    patterns = {p for perm in perms for p in perm["indexPatterns"]}
    assert patterns == {"frontline-*"}
    for index in (f for f in SearchSettings.model_fields if f.startswith("opensearch_") and f.endswith("_index")):
        assert fnmatch(SearchSettings.model_fields[index].default, "frontline-*"), f"{index}: its own index is allowed"
    assert not any("all_access" in str(role["spec"]) for role in roles.values())


def test_only_the_search_pods_of_frontline_reach_the_cluster(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    name = cluster(docs)["metadata"]["name"]
    policies = [p for p in of_kind(docs, "NetworkPolicy").values()
                if p["spec"]["podSelector"].get("matchLabels", {}).get("opensearch.org/opensearch-cluster") == name]
    assert len(policies) == 1, "the OpenSearch pods are under one ingress policy of ours"
    (policy,) = policies
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    deployments = of_kind(docs, "Deployment")
    admitted: set[str] = set()
    for rule in policy["spec"]["ingress"]:
        assert rule.get("ports"), "no rule opens every port"
        for peer in rule["from"]:
            assert "ipBlock" not in peer
            ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            assert ns in (None, "opensearch-operator-system"), f"only the operator's namespace, not {ns}"
            if "podSelector" in peer and "namespaceSelector" not in peer:
                wanted = peer["podSelector"]["matchLabels"].items()
                admitted |= {d for d, dep in deployments.items()
                             if wanted <= dep["spec"]["template"]["metadata"]["labels"].items()}
    assert admitted == {SEARCH}, f"of Frontline's pods only search may reach OpenSearch, not {admitted - {SEARCH}}"
    search_rule = next(r for r in policy["spec"]["ingress"]
                       if any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
                              == "search" for p in r["from"]))
    assert search_rule["ports"] == [{"port": cluster(docs)["spec"]["general"]["httpPort"]}]
