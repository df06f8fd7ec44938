#!/usr/bin/python3
"""Renders every kustomize overlay in deploy/k8s and checks the objects.

For each overlay: the four service Deployments and the migration Job exist;
every container has an image, probes, resource requests and limits and a
locked-down security context; the ports a Deployment declares, probes and
exposes are the ones its --grpc_listen/--metrics_listen args listen on; every
flag it passes (args or NIFTYSAVE_* env) is one the binary defines; Services,
HPAs, PDBs, the NetworkPolicy and the ServiceMonitor point at things that
exist; the pinner's temp volume holds --workers downloads of --max_asset_bytes
each. gRPC security: every service serves TLS with a tokens file, each file
flag names a file on a read-only Secret volume (a pod mounting the tokens
Secret passes --grpc_tokens_file), probes go to the plaintext health-only
listener (the kubelet's gRPC probes cannot speak TLS), and a service calling
another over *_addr passes the CA and a token of its own. Also checks the
Dockerfile installs the binaries the manifests run.

usage: check_manifests.py SOURCE_DIR   (exit 1 with a list of problems)
"""
import glob
import os
import re
import subprocess
import sys

import yaml

SERVICES = {"indexer": (50061, 9461), "extractor": (50062, 9462),
            "pinner": (50063, 9463), "tracker": (50064, 9464)}
DEFAULT_DRAIN_SECONDS = 20
GRPC_FLAG_FILES = ("common/grpc/grpc_server_flags.cc", "common/grpc/grpc_client_flags.cc")
# Every binary links common/service, so it has the queue-worker flags.
SERVICE_FLAG_FILES = ("common/service/service_base.cc", "common/service/queue_worker_flags.cc")


def service_flag_files(src, svc):
    """A service's own flags: in its main.cc, or its <svc>_config.cc."""
    return [f for f in (f"services/{svc}/main.cc", f"services/{svc}/{svc}_config.cc")
            if os.path.exists(os.path.join(src, f))]

# Made outside the repository, like prod's database Secret (deploy/README.md).
EXTERNAL_SECRETS = ("niftysave-grpc-tls", "niftysave-grpc-tokens")


class Checker:
    def __init__(self, src):
        self.src = src
        self.problems = []
        self.checks = 0

    def expect(self, ok, where, what):
        self.checks += 1
        if not ok:
            self.problems.append(f"{where}: {what}")
        return ok

    def flags_of(self, source_files):
        names = set()
        for f in source_files:
            text = open(os.path.join(self.src, f)).read()
            names |= set(re.findall(r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)", text))
        return names


QUANTITY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                  "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity_bytes(q):
    m = re.fullmatch(r"(\d+)([kMGT]i?)?", str(q))
    return int(m.group(1)) * QUANTITY_UNITS[m.group(2) or ""] if m else None


def flag_default(src, svc, flag):
    """A service's default for an int flag: its ABSL_FLAG in <svc>_config.cc
    (e.g. `256 << 20`), or for the queue-worker flags the value main.cc
    passes to SetQueueWorkerDefaults (`.workers = 4`)."""
    config = open(os.path.join(src, f"services/{svc}/{svc}_config.cc")).read()
    m = re.search(r"ABSL_FLAG\(\s*[\w:]+\s*,\s*" + flag + r"\s*,\s*([\d\s<]+),", config)
    if m is None:
        main = open(os.path.join(src, f"services/{svc}/main.cc")).read()
        m = re.search(r"\." + flag + r"\s*=\s*([\d\s<]+)[,}]", main)
    parts = [int(p) for p in m.group(1).split("<<")]
    return parts[0] << parts[1] if len(parts) == 2 else parts[0]


def check_pinner_tmp(c, pod, flags, env, where, chk):
    """Each pinner worker streams one asset of up to --max_asset_bytes into
    --tmp_dir: the volume there must hold all of them at once, or downloads
    fail (or the kubelet evicts the pod) exactly when assets are large."""
    def value(flag):
        if flag in flags:
            return int(flags[flag])
        if "NIFTYSAVE_" + flag.upper() in env:
            return int(env["NIFTYSAVE_" + flag.upper()])
        return flag_default(chk.src, "pinner", flag)
    need = value("workers") * value("max_asset_bytes")
    tmp = flags.get("tmp_dir") or env.get("NIFTYSAVE_TMP_DIR") or \
        env.get("TMPDIR") or "/tmp"
    mounts = [m for m in c.get("volumeMounts", [])
              if tmp == m["mountPath"] or tmp.startswith(m["mountPath"].rstrip("/") + "/")]
    if not chk.expect(mounts, where, f"no volume mounted at the temp dir {tmp}"):
        return
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    size = quantity_bytes(vols.get(mount["name"], {}).get("emptyDir", {}).get("sizeLimit"))
    chk.expect(size is not None and size >= need, where,
               f"temp volume {mount['name']} sizeLimit {size} < --workers x "
               f"--max_asset_bytes = {need}")


def check_grpc_security(c, pod, flags, where, chk):
    """TLS and tokens on, their files on read-only Secret volumes; returns
    the port the probes must ask (the health-only listener's)."""
    mounts = {m["mountPath"].rstrip("/"): m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}

    def secret_of(path):
        for mount_path, m in mounts.items():
            if path.startswith(mount_path + "/"):
                v = volumes.get(m["name"], {})
                if chk.expect(m.get("readOnly"), where, f"{mount_path} is not mounted read-only"):
                    return v.get("secret", {})
        return None

    for f in ("grpc_tls_cert", "grpc_tls_key", "grpc_tls_client_ca", "grpc_tokens_file"):
        chk.expect(f in flags, where, f"no --{f}: gRPC must be TLS with caller tokens")
    for f, path in flags.items():
        if f.startswith("grpc_") and f != "grpc_listen" and f != "grpc_health_listen":
            secret = secret_of(path)
            if chk.expect(secret, where, f"--{f}={path} is on no Secret volume"):
                chk.expect(secret.get("secretName") in EXTERNAL_SECRETS, where,
                           f"--{f}: Secret {secret.get('secretName')} is not one of {EXTERNAL_SECRETS}")
                items = [i["path"] for i in secret.get("items", [])]
                chk.expect(not items or os.path.basename(path) in items, where,
                           f"--{f}={path}: the volume does not project {os.path.basename(path)}")
    for m in c.get("volumeMounts", []):
        v = volumes.get(m["name"], {})
        if v.get("secret", {}).get("secretName") == "niftysave-grpc-tokens":
            chk.expect(flags.get("grpc_tokens_file", "").startswith(m["mountPath"].rstrip("/") + "/"),
                       where, "mounts the tokens Secret but passes no --grpc_tokens_file from it")
    if any(f.endswith("_addr") for f in flags):
        for f in ("grpc_tls_ca", "grpc_client_token_file"):
            chk.expect(f in flags, where, f"calls another service without --{f}")
    m = re.fullmatch(r"0\.0\.0\.0:(\d+)", flags.get("grpc_health_listen", ""))
    if chk.expect(m, where, "no --grpc_health_listen=0.0.0.0:PORT for the probes"):
        declared = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        chk.expect(declared.get("grpc-health") == int(m.group(1)), where,
                   f"containerPort 'grpc-health' != --grpc_health_listen")
        return int(m.group(1))
    return None


def render(overlay):
    out = subprocess.run(["kubectl", "kustomize", overlay], check=True,
                         capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def parse_args(args):
    flags = {}
    for a in args:
        m = re.fullmatch(r"--(\w+)=(.*)", a)
        if m:
            flags[m.group(1)] = m.group(2)
    return flags


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_container_hardening(c, pod_spec, where, chk):
    pod_sc = pod_spec.get("securityContext", {})
    sc = c.get("securityContext", {})
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    chk.expect(non_root is True, where, "runAsNonRoot is not true")
    chk.expect(user is not None and user != 0, where, f"runAsUser {user}")
    chk.expect(sc.get("readOnlyRootFilesystem") is True, where,
               "readOnlyRootFilesystem is not true")
    chk.expect(sc.get("allowPrivilegeEscalation") is False, where,
               "allowPrivilegeEscalation is not false")
    chk.expect("ALL" in sc.get("capabilities", {}).get("drop", []), where,
               "capabilities do not drop ALL")
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            chk.expect(r in res.get(kind, {}), where, f"no {kind}.{r}")
    chk.expect(bool(c.get("image")), where, "no image")


def check_overlay(overlay, chk):
    name = os.path.basename(overlay)
    objs = render(overlay)
    chk.expect(objs, name, "renders nothing")
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    workloads = dict(deployments)
    workloads.update(by_kind.get("StatefulSet", {}))
    common_flags = chk.flags_of([*SERVICE_FLAG_FILES, *GRPC_FLAG_FILES])
    all_flags = chk.flags_of([*SERVICE_FLAG_FILES, "cli/main.cc", *GRPC_FLAG_FILES,
                              "common/ipfs/backend_flags.cc",
                              "common/fetch/fetch_flags.cc"] +
                             [f for s in SERVICES for f in service_flag_files(chk.src, s)])

    # ConfigMap keys are NIFTYSAVE_<FLAG>: each must be some binary's flag.
    for cm in configmaps.values():
        for key in cm.get("data", {}):
            if key.startswith("NIFTYSAVE_"):
                chk.expect(key[len("NIFTYSAVE_"):].lower() in all_flags,
                           f"{name}/ConfigMap/{cm['metadata']['name']}",
                           f"{key} is no binary's flag")

    def check_env(c, where):
        for ef in c.get("envFrom", []):
            ref = ef.get("configMapRef", {}).get("name")
            if ref:
                chk.expect(ref in configmaps, where, f"ConfigMap {ref} not rendered")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if not ref:
                continue
            if ref["name"] in secrets:
                data = secrets[ref["name"]].get("data", {})
                data.update(secrets[ref["name"]].get("stringData", {}))
                chk.expect(ref["key"] in data, where,
                           f"Secret {ref['name']} has no key {ref['key']}")
            else:
                # prod: the database Secret is created outside the repo.
                chk.expect(ref["name"].startswith("niftysave-db"), where,
                           f"Secret {ref['name']} not rendered")

    for svc, (grpc_port, metrics_port) in SERVICES.items():
        dname = f"niftysave-{svc}"
        where = f"{name}/Deployment/{dname}"
        if not chk.expect(dname in deployments, where, "missing"):
            continue
        pod = deployments[dname]["spec"]["template"]["spec"]
        containers = pod["containers"]
        chk.expect(len(containers) == 1, where, "expected one container")
        c = containers[0]
        check_container_hardening(c, pod, where, chk)
        chk.expect(c.get("command") == [f"/usr/local/bin/niftysave-{svc}"], where,
                   f"command {c.get('command')}")
        flags = parse_args(c.get("args", []))
        # The pinner and the tracker share the pin backend flags.
        sources = service_flag_files(chk.src, svc)
        if svc in ("pinner", "tracker"):
            sources.append("common/ipfs/backend_flags.cc")
        if svc in ("extractor", "pinner"):
            sources.append("common/fetch/fetch_flags.cc")
        defined = common_flags | chk.flags_of(sources)
        for f in flags:
            chk.expect(f in defined, where, f"--{f} is not a flag of niftysave-{svc}")
        for listen_flag, port_name, default in (("grpc_listen", "grpc", grpc_port),
                                                ("metrics_listen", "metrics", metrics_port)):
            listen = flags.get(listen_flag, "")
            m = re.fullmatch(r"0\.0\.0\.0:(\d+)", listen)
            if not chk.expect(m, where, f"--{listen_flag}={listen} is not 0.0.0.0:PORT"):
                continue
            port = int(m.group(1))
            chk.expect(port == default, where, f"--{listen_flag} port {port} != {default}")
            declared = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            chk.expect(declared.get(port_name) == port, where,
                       f"containerPort '{port_name}' {declared.get(port_name)} != {port}")
        probe_port = check_grpc_security(c, pod, flags, where, chk)
        # Liveness and start-up ask for the "liveness" health name, SERVING
        # while the process answers at all; readiness asks for the server
        # ("" = NOT_SERVING while waiting for Postgres). So a pod that waits
        # out a database outage is taken out of rotation, not restarted.
        for probe, service in (("startupProbe", "liveness"),
                               ("livenessProbe", "liveness"),
                               ("readinessProbe", None)):
            p = c.get(probe)
            if chk.expect(p, where, f"no {probe}"):
                chk.expect(p.get("grpc", {}).get("port") == probe_port, where,
                           f"{probe} is not a gRPC probe on {probe_port}")
                chk.expect(p.get("grpc", {}).get("service") == service, where,
                           f"{probe} asks for health name {p.get('grpc', {}).get('service')!r},"
                           f" not {service!r}")
        drain = int(flags.get("drain_seconds", DEFAULT_DRAIN_SECONDS))
        grace = pod.get("terminationGracePeriodSeconds", 30)
        chk.expect(grace > drain, where,
                   f"terminationGracePeriodSeconds {grace} <= --drain_seconds {drain}")
        check_env(c, where)
        if svc == "pinner":
            env = {}
            for ef in c.get("envFrom", []):
                ref = ef.get("configMapRef", {}).get("name")
                env.update(configmaps.get(ref, {}).get("data", {}))
            env.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
            check_pinner_tmp(c, pod, flags, env, where, chk)
        # Addresses of the next stage: dns:///<Service>:<port> of a rendered Service.
        for f, value in flags.items():
            if not f.endswith("_addr"):
                continue
            m = re.fullmatch(r"(?:dns:///)?([\w-]+):(\d+)", value)
            if chk.expect(m, where, f"--{f}={value} is not dns:///SERVICE:PORT"):
                target = services.get(m.group(1))
                chk.expect(target and int(m.group(2)) in
                           [p["port"] for p in target["spec"]["ports"]], where,
                           f"--{f}={value}: no such Service port")
        s = services.get(dname)
        if chk.expect(s, f"{name}/Service/{dname}", "missing"):
            chk.expect(s["spec"].get("clusterIP") == "None", f"{name}/Service/{dname}",
                       "not headless (clients need every pod IP for round robin)")
            chk.expect({p["port"] for p in s["spec"]["ports"]} == {grpc_port, metrics_port},
                       f"{name}/Service/{dname}", "ports are not the gRPC and metrics ports")

    # Every workload container (including dev's Postgres and IPFS) has an
    # image and resources.
    for wname, w in workloads.items():
        for c in w["spec"]["template"]["spec"]["containers"]:
            where = f"{name}/{w['kind']}/{wname}/{c['name']}"
            chk.expect(bool(c.get("image")), where, "no image")
            chk.expect("cpu" in c.get("resources", {}).get("limits", {}) and
                       "memory" in c.get("resources", {}).get("limits", {}), where, "no limits")
            chk.expect(c.get("readinessProbe"), where, "no readinessProbe")

    # Services select an existing workload and target its ports.
    for sname, s in services.items():
        where = f"{name}/Service/{sname}"
        selected = [w for w in workloads.values() if labels_match(
            s["spec"].get("selector", {}), w["spec"]["template"]["metadata"].get("labels", {}))]
        if not chk.expect(len(selected) == 1, where, f"selects {len(selected)} workloads"):
            continue
        ports = [p for c in selected[0]["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])]
        for p in s["spec"]["ports"]:
            t = p.get("targetPort", p["port"])
            chk.expect(any(t in (q.get("name"), q["containerPort"]) for q in ports), where,
                       f"targetPort {t} is no container port")

    # The migration Job.
    job = by_kind.get("Job", {}).get("niftysave-migrate")
    if chk.expect(job, f"{name}/Job/niftysave-migrate", "missing"):
        pod = job["spec"]["template"]["spec"]
        c = pod["containers"][0]
        where = f"{name}/Job/niftysave-migrate"
        chk.expect(c.get("command", []) + c.get("args", []) ==
                   ["/usr/local/bin/niftysave", "migrate"], where, "does not run `niftysave migrate`")
        check_container_hardening(c, pod, where, chk)
        check_env(c, where)
        chk.expect(any(e["name"] == "NIFTYSAVE_DATABASE_URL" for e in c.get("env", [])),
                   where, "no NIFTYSAVE_DATABASE_URL")

    # Autoscaling, disruption budgets, network policy, monitoring.
    hpas = by_kind.get("HorizontalPodAutoscaler", {})
    for svc in ("extractor", "pinner"):
        h = hpas.get(f"niftysave-{svc}")
        if chk.expect(h, f"{name}/HPA/niftysave-{svc}", "missing"):
            chk.expect(h["spec"]["scaleTargetRef"]["name"] in deployments,
                       f"{name}/HPA/niftysave-{svc}", "targets no Deployment")
            # prod also scales on queue depth, through prometheus-adapter
            # rules that must name the gauge the service exports.
            if name == "prod":
                external = [m["external"]["metric"]["name"] for m in h["spec"]["metrics"]
                            if m.get("type") == "External"]
                chk.expect(external == [f"niftysave_{svc}_queue_ready"],
                           f"{name}/HPA/niftysave-{svc}", f"queue-depth metric is {external}")
                rules = by_kind.get("ConfigMap", {}).get("niftysave-adapter-rules")
                if chk.expect(rules, f"{name}/ConfigMap/niftysave-adapter-rules", "missing"):
                    cfg = yaml.safe_load(rules["data"]["config.yaml"])
                    rule = cfg["externalRules"][0]
                    gauge = f"niftysave_{svc}_queue_items"
                    named = re.sub(rule["name"]["matches"].replace("${1}", r"\1"),
                                   rule["name"]["as"].replace("${1}", r"\1"), gauge)
                    chk.expect(re.fullmatch(rule["name"]["matches"], gauge)
                               and named == f"niftysave_{svc}_queue_ready",
                               f"{name}/ConfigMap/niftysave-adapter-rules",
                               f"no rule for niftysave_{svc}_queue_items")
    pdbs = by_kind.get("PodDisruptionBudget", {}).values()
    for dname, d in deployments.items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        chk.expect(any(labels_match(p["spec"]["selector"]["matchLabels"], labels) for p in pdbs),
                   f"{name}/Deployment/{dname}", "no PodDisruptionBudget")
    policies = by_kind.get("NetworkPolicy", {}).values()
    if chk.expect(policies, name, "no NetworkPolicy"):
        allowed = {p.get("port") for pol in policies
                   for rule in pol["spec"].get("ingress", []) for p in rule.get("ports", [])}
        for svc, ports in SERVICES.items():
            for port in ports:
                chk.expect(port in allowed, f"{name}/NetworkPolicy",
                           f"port {port} ({svc}) not allowed in")
    monitors = by_kind.get("ServiceMonitor", {}).values()
    if chk.expect(monitors, name, "no ServiceMonitor"):
        for m in monitors:
            chk.expect(m["apiVersion"] == "monitoring.coreos.com/v1", name, "ServiceMonitor apiVersion")
            sel = m["spec"]["selector"]["matchLabels"]
            targets = [s for s in services.values() if labels_match(sel, s["metadata"].get("labels", {}))]
            chk.expect({s["metadata"]["name"] for s in targets} ==
                       {f"niftysave-{svc}" for svc in SERVICES}, f"{name}/ServiceMonitor",
                       f"selects {[s['metadata']['name'] for s in targets]}")
            for e in m["spec"]["endpoints"]:
                for s in targets:
                    chk.expect(e["port"] in [p.get("name") for p in s["spec"]["ports"]],
                               f"{name}/ServiceMonitor", f"{s['metadata']['name']} has no port {e['port']}")


def check_dockerfile(src, chk):
    path = os.path.join(src, "deploy/docker/Dockerfile")
    text = open(path).read()
    stages = re.split(r"(?m)^FROM ", text)[1:]
    chk.expect(len(stages) >= 2, "Dockerfile", "not multi-stage")
    chk.expect(all(s.startswith("debian:12") for s in stages), "Dockerfile", "not on debian:12")
    final = stages[-1]
    users = re.findall(r"(?m)^USER\s+(\S+)", final)
    chk.expect(users and users[-1].split(":")[0] not in ("root", "0"), "Dockerfile",
               "final stage does not switch to a non-root user")
    for b in [f"niftysave-{s}" for s in SERVICES] + ["niftysave"]:
        chk.expect(re.search(rf"/out/{b}\b", final) and "/usr/local/bin/" in final, "Dockerfile",
                   f"{b} not copied to /usr/local/bin")
    # Every -dev package setup.sh installs for the build is in the builder.
    setup = open(os.path.join(src, "scripts/setup.sh")).read()
    # (libFuzzer's runtime is for the test run's fuzzing only.)
    for pkg in re.findall(r"\b(lib[\w+.-]+-dev)\b", setup):
        if pkg.startswith("libclang-rt-"):
            continue
        chk.expect(pkg in stages[0], "Dockerfile", f"builder lacks {pkg} (scripts/setup.sh has it)")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    chk = Checker(src)
    overlays = sorted(glob.glob(os.path.join(src, "deploy/k8s/overlays/*")))
    chk.expect(len(overlays) >= 2, "deploy/k8s/overlays", "expected dev and prod")
    for overlay in overlays:
        check_overlay(overlay, chk)
    check_dockerfile(src, chk)
    for p in chk.problems:
        print("FAIL", p)
    print(f"{len(overlays)} overlays, {chk.checks} checks, {len(chk.problems)} problems")
    return 1 if chk.problems else 0


if __name__ == "__main__":
    sys.exit(main())
