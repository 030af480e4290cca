#!/usr/bin/python3
"""Checks of deploy/ that need no container runtime and no cluster.

  validate_deploy.py manifests --repo DIR --factlogd BIN --factlog BIN
      Every YAML file parses and has the structure the setup relies on
      (compose: named volume, health check, cli one-off service; Kubernetes:
      one replica, a volume claim template, probes, a locked-down security
      context); every factlogd flag the Dockerfile, compose file, unit and
      StatefulSet pass exists in `factlogd --help`; the files the Dockerfile
      copies exist and are not excluded by .dockerignore; the runtime package
      list covers the libraries the built binaries load; the systemd unit
      passes `systemd-analyze verify` and scores well in
      `systemd-analyze security`; `kubectl kustomize` renders the manifests.

  validate_deploy.py smoke --repo DIR --factlogd BIN --factlog BIN
      Runs what the deploy files would run, with their paths moved into a
      temporary directory: deploy/dev-secrets.sh; factlogd with the image's
      ENTRYPOINT + CMD; the image's HEALTHCHECK; the compose cli service's
      environment against it; factlogd with the unit's ExecStart (under
      strace when it works here, checking every system call against the
      unit's SystemCallFilter and every socket against
      RestrictAddressFamilies), reloading tokens with SIGHUP and stopping
      with SIGTERM.

Parts that need a tool this machine lacks (systemd-analyze, kubectl, dpkg,
strace, docker compose) print "SKIP: ..." and are left out; under CI
(CI=true) such a part fails instead, naming the tool, so that a check
cannot pass there by not running.
"""

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

try:
    import yaml
except ImportError:
    # scripts/install-deps installs it: its absence is a broken setup.
    print("FAIL: python3-yaml is missing (scripts/install-deps installs it)")
    sys.exit(1)

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL: " + message)
    return condition


UNDER_CI = os.environ.get("CI") == "true"


# Tools that no Debian 12 package provides at a version these checks can
# use: docker compose v2 (Debian's docker-compose 1.29 rejects the Compose
# spec's top-level `name`) and kubectl >= 1.21 (Debian's 1.20 kustomize has
# no `labels`). Their parts run where the machine has them.
NOT_IN_DEBIAN = {"docker compose", "kubectl"}


def skip(tool, message):
    """A part that cannot run for want of `tool`: left out. Under CI a
    failure when scripts/install-deps installs the tool, so that a check
    cannot pass there by not running; for a tool Debian does not package,
    said as NOT RUN."""
    if UNDER_CI and tool not in NOT_IN_DEBIAN:
        check(False, f"{tool} is missing and CI=true (scripts/install-deps installs it): {message}")
    elif UNDER_CI:
        print(f"NOT RUN: {message} ({tool}: not in Debian 12's packages)")
    else:
        print("SKIP: " + message)


def run(argv, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.STDOUT)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 120)
    return subprocess.run(argv, **kwargs)


def have(tool):
    return shutil.which(tool) is not None


# ---- Dockerfile -------------------------------------------------------------


def dockerfile_instructions(path):
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    instructions, pending = [], ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending and line.lstrip().startswith("#"):
                continue  # comments inside a continued instruction
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            pending += line
            keyword, _, rest = pending.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
            pending = ""
    return instructions


def exec_form(arguments):
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def dockerignore_patterns(repo):
    patterns = []
    with open(os.path.join(repo, ".dockerignore")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.rstrip("/"))
    return patterns


def dockerignored(path, patterns):
    """Whether .dockerignore excludes `path` (relative, '/'-separated): a
    pattern matching the path or one of its parent directories. Enough for
    the patterns used here (no '!' exceptions)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(
                prefix.split("/")[-1], pattern[3:]
            ):
                return True
    return False


def factlogd_flags(factlogd):
    help_text = run([factlogd, "--help"]).stdout
    return set(re.findall(r"(?m)^\s+(--[a-z][a-z0-9-]*)", help_text))


def check_flags(argv, flags, where):
    for arg in argv:
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            check(name in flags, f"{where}: factlogd has no flag {name}")


def image_command(repo):
    """The image's ENTRYPOINT + CMD and the final stage's instructions."""
    instructions = dockerfile_instructions(os.path.join(repo, "deploy/Dockerfile"))
    stages, current = [], None
    for keyword, arguments in instructions:
        if keyword == "FROM":
            current = {"from": arguments, "items": []}
            stages.append(current)
        elif current is not None:
            current["items"].append((keyword, arguments))
    final = dict()
    for keyword, arguments in stages[-1]["items"]:
        final.setdefault(keyword, []).append(arguments)
    entrypoint = exec_form(final["ENTRYPOINT"][-1])
    cmd = exec_form(final["CMD"][-1]) if "CMD" in final else []
    return stages, final, entrypoint, cmd


def check_dockerfile(repo, flags):
    print("== deploy/Dockerfile")
    stages, final, entrypoint, cmd = image_command(repo)
    check(len(stages) >= 2, "Dockerfile is not multi-stage")
    for stage in stages:
        check(
            stage["from"].split()[0].startswith("debian:bookworm"),
            f"stage FROM {stage['from']} is not Debian 12 (bookworm)",
        )
    build_runs = " ".join(a for k, a in stages[0]["items"] if k == "RUN")
    for script in ("scripts/install-deps", "scripts/build"):
        check(script in build_runs, f"build stage does not run {script}")
    check(
        "deploy/runtime-deps.sh --check" in build_runs,
        "build stage does not check the runtime package list",
    )
    user = final.get("USER", ["root"])[-1].split(":")[0]
    check(
        user.isdigit() and int(user) != 0,
        f"runtime USER {user} is not a numeric non-root uid",
    )
    check(
        "/var/lib/factlog" in " ".join(final.get("VOLUME", [])),
        "no VOLUME /var/lib/factlog",
    )
    check("50051" in " ".join(final.get("EXPOSE", [])), "port 50051 not EXPOSEd")
    healthcheck = " ".join(final.get("HEALTHCHECK", []))
    check("factlog health" in healthcheck, "HEALTHCHECK does not run factlog health")
    check(entrypoint[:1] == ["factlogd"], "ENTRYPOINT does not start factlogd")
    check(
        "--insecure" not in entrypoint + cmd,
        "the image's default command is --insecure",
    )
    check_flags(entrypoint + cmd, flags, "Dockerfile ENTRYPOINT/CMD")

    patterns = dockerignore_patterns(repo)
    for stage in stages:
        for keyword, arguments in stage["items"]:
            if keyword not in ("COPY", "ADD"):
                continue
            words = shlex.split(arguments)
            if any(w.startswith("--from") for w in words):
                continue
            sources = [w for w in words if not w.startswith("--")][:-1]
            for source in sources:
                if source == ".":
                    continue
                check(
                    os.path.exists(os.path.join(repo, source)),
                    f"Dockerfile copies {source}, which does not exist",
                )
                check(
                    not dockerignored(source, patterns),
                    f"Dockerfile copies {source}, which .dockerignore excludes",
                )
    # What the build needs reaches the context; host builds, data, secrets
    # and git history do not.
    needed = ["CMakeLists.txt", "scripts/install-deps", "scripts/build"]
    needed += [
        d
        for d in sorted(os.listdir(repo))
        if os.path.isfile(os.path.join(repo, d, "CMakeLists.txt"))
    ]
    for path in needed:
        check(not dockerignored(path, patterns), f".dockerignore excludes {path}")
    for path in [".git", "build", "build-deploy", "build-asan", "data", "deploy/secrets"]:
        check(dockerignored(path, patterns), f".dockerignore lets {path} in")


def check_runtime_packages(repo, binaries):
    print("== deploy/runtime-packages.txt")
    listed = []
    with open(os.path.join(repo, "deploy/runtime-packages.txt")) as f:
        for line in f:
            listed += line.split("#", 1)[0].split()
    check(listed, "runtime-packages.txt lists no package")
    if have("apt-cache") or have("dpkg-query"):
        for package in listed:
            known = False
            if have("dpkg-query"):
                known = run(["dpkg-query", "-W", package]).returncode == 0
            if not known and have("apt-cache"):
                shown = run(["apt-cache", "show", "--no-all-versions", package])
                known = shown.returncode == 0 and "Package:" in shown.stdout
            check(known, f"Debian knows no package {package}")
    else:
        skip("apt-cache/dpkg-query", "no apt-cache or dpkg-query: package names not looked up")
    if have("dpkg") and have("ldd"):
        result = run(
            [os.path.join(repo, "deploy/runtime-deps.sh"), "--check",
             os.path.join(repo, "deploy/runtime-packages.txt")] + binaries
        )
        print(result.stdout.strip())
        check(result.returncode == 0, "runtime-packages.txt misses packages")
        # The check itself notices a missing package.
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as short:
            short.write("\n".join(p for p in listed if p != "libgrpc++1.51"))
            short.flush()
            result = run(
                [os.path.join(repo, "deploy/runtime-deps.sh"), "--check",
                 short.name] + binaries
            )
            check(
                result.returncode == 1 and "lacks libgrpc++1.51" in result.stdout,
                "runtime-deps.sh --check misses a dropped package: " + result.stdout,
            )
    else:
        skip("dpkg/ldd", "no dpkg/ldd: runtime libraries not matched to packages")


# ---- compose ----------------------------------------------------------------


def volume_parts(mount):
    """SOURCE, TARGET[, MODE] of a short-syntax compose volume; ${VAR:-x}
    in it stays one piece."""
    return re.sub(r"\$\{[^}]*\}", "${VAR}", str(mount)).split(":")


def check_compose(repo, flags):
    print("== deploy/compose.yaml")
    path = os.path.join(repo, "deploy/compose.yaml")
    with open(path) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    server = services.get("factlogd")
    cli = services.get("cli")
    if not check(server and cli, "compose needs services factlogd and cli"):
        return
    named = set((compose.get("volumes") or {}).keys())
    mounts = [volume_parts(v) for v in server.get("volumes", [])]
    data = [m for m in mounts if m[1:2] == ["/var/lib/factlog"]]
    check(
        data and data[0][0] in named,
        "factlogd's /var/lib/factlog is not a named volume",
    )
    check(
        any(m[1:2] == ["/etc/factlog"] for m in mounts),
        "factlogd gets nothing at /etc/factlog",
    )
    test = server.get("healthcheck", {}).get("test", [])
    check("factlog" in test and "health" in test, "factlogd health check")
    build = server.get("build", {})
    dockerfile = os.path.normpath(
        os.path.join(repo, "deploy", build.get("context", "."), build.get("dockerfile", ""))
    )
    check(os.path.isfile(dockerfile), f"compose builds from missing {dockerfile}")
    command = server.get("command", [])
    check(isinstance(command, list) and command, "factlogd command is not a list")
    check_flags(command, flags, "compose factlogd command")
    check("--insecure" not in command, "compose runs factlogd --insecure")
    check(
        any(str(p).endswith(":50051") for p in server.get("ports", [])),
        "compose does not publish port 50051",
    )
    check("cli" in cli.get("profiles", []), "cli is not in a profile of its own")
    check(cli.get("entrypoint") == ["factlog"], "cli entrypoint is not factlog")
    env = cli.get("environment", {})
    check(env.get("FACTLOG_SERVER") == "factlogd:50051", "cli FACTLOG_SERVER")
    check(
        env.get("FACTLOG_TLS_CA") and env.get("FACTLOG_TOKEN_FILE"),
        "cli gets no CA or token",
    )
    condition = cli.get("depends_on", {}).get("factlogd", {}).get("condition")
    check(condition == "service_healthy", "cli does not wait for a healthy factlogd")
    for mount in cli.get("volumes", []):
        source = volume_parts(mount)[0]
        if source.startswith("./"):
            check(
                os.path.exists(os.path.join(repo, "deploy", source)),
                f"cli mounts missing {source}",
            )
    if have("docker") and run(["docker", "compose", "version"]).returncode == 0:
        with tempfile.TemporaryDirectory() as secrets:
            for sub in ("server", "client"):
                os.mkdir(os.path.join(secrets, sub))
            result = run(
                ["docker", "compose", "-f", path, "config", "-q"],
                env=dict(os.environ, FACTLOG_SECRETS=secrets),
            )
            check(result.returncode == 0, "docker compose config: " + result.stdout)
    else:
        skip("docker compose", "no docker compose: compose file checked by structure only")


# ---- Kubernetes -------------------------------------------------------------


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def etc_factlog_files(strings):
    return {
        s[len("/etc/factlog/"):]
        for s in strings
        if isinstance(s, str) and s.startswith("/etc/factlog/")
    }


def check_k8s(repo, flags):
    print("== deploy/k8s")
    k8s = os.path.join(repo, "deploy/k8s")
    documents = {}
    for name in sorted(os.listdir(k8s)):
        if name.endswith((".yaml", ".yml")):
            documents[name] = load_all(os.path.join(k8s, name))
    kustomization = documents.pop("kustomization.yaml", [{}])[0]
    resources = kustomization.get("resources", [])
    for resource in resources:
        check(resource in documents, f"kustomization lists missing {resource}")
    objects = [d for name in resources for d in documents.get(name, [])]
    by_kind = {}
    for obj in objects:
        check("apiVersion" in obj and "kind" in obj, f"object without kind: {obj}")
        by_kind.setdefault(obj.get("kind"), []).append(obj)

    statefulsets = by_kind.get("StatefulSet", [])
    if not check(len(statefulsets) == 1, "exactly one StatefulSet"):
        return
    sts = statefulsets[0]["spec"]
    check(sts.get("replicas") == 1, "StatefulSet replicas is not 1")
    templates = sts.get("volumeClaimTemplates", [])
    check(templates, "StatefulSet has no volumeClaimTemplates")
    pod = sts["template"]["spec"]
    container = pod["containers"][0]
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    check(
        mounts.get("/var/lib/factlog") in {t["metadata"]["name"] for t in templates},
        "/var/lib/factlog is not on the volume claim template",
    )
    for probe in ("readinessProbe", "livenessProbe"):
        spec = container.get(probe, {})
        check(
            "grpc" in spec or spec.get("exec", {}).get("command", [])[:2]
            == ["factlog", "health"],
            f"{probe} is neither grpc nor factlog health",
        )
    resources_spec = container.get("resources", {})
    check(
        resources_spec.get("requests", {}).get("cpu")
        and resources_spec.get("requests", {}).get("memory"),
        "container has no cpu/memory requests",
    )
    check(resources_spec.get("limits", {}).get("memory"), "container has no memory limit")
    security = container.get("securityContext", {})
    check(security.get("readOnlyRootFilesystem") is True, "root filesystem writable")
    check(security.get("allowPrivilegeEscalation") is False, "privilege escalation")
    check(security.get("capabilities", {}).get("drop") == ["ALL"], "capabilities kept")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot")
    args = container.get("args", [])
    check_flags(args, flags, "StatefulSet args")
    check("--insecure" not in args, "StatefulSet runs factlogd --insecure")
    _, _, _, image_cmd = image_command(repo)
    check(args == image_cmd, "StatefulSet args differ from the image's CMD")

    # The Secret example holds every /etc/factlog file the pod reads, and is
    # the Secret the pod mounts there.
    secret = load_all(os.path.join(k8s, "secret.example.yaml"))[0]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    secret_volume = volumes.get(mounts.get("/etc/factlog"), {}).get("secret", {})
    check(
        secret_volume.get("secretName") == secret["metadata"]["name"],
        "the pod does not mount the example Secret at /etc/factlog",
    )
    env_values = [e.get("value") for e in container.get("env", [])]
    needed = etc_factlog_files(args + env_values)
    check(
        needed <= set(secret.get("stringData", {})),
        f"secret.example.yaml lacks {needed - set(secret.get('stringData', {}))}",
    )
    check(
        secret["metadata"].get("namespace") == kustomization.get("namespace"),
        "example Secret is not in the kustomization's namespace",
    )

    if not have("kubectl"):
        skip("kubectl", "no kubectl: kustomization not rendered")
        return
    result = run(["kubectl", "kustomize", k8s], stderr=subprocess.PIPE)
    if not check(result.returncode == 0, "kubectl kustomize: " + result.stderr):
        return
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    sts = next(d for d in rendered if d["kind"] == "StatefulSet")
    labels = sts["spec"]["template"]["metadata"].get("labels", {})
    selector = sts["spec"]["selector"]["matchLabels"]
    check(
        selector and all(labels.get(k) == v for k, v in selector.items()),
        "rendered StatefulSet selector does not match its pods",
    )
    services = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "Service"}
    for name, service in services.items():
        sel = service["spec"].get("selector", {})
        check(
            sel and all(labels.get(k) == v for k, v in sel.items()),
            f"rendered Service {name} selects no factlogd pod",
        )
    governing = services.get(sts["spec"]["serviceName"])
    check(
        governing and governing["spec"].get("clusterIP") == "None",
        "StatefulSet serviceName is not a headless Service",
    )
    check(
        all(d["metadata"].get("namespace") in (None, kustomization.get("namespace"))
            for d in rendered),
        "rendered objects in different namespaces",
    )
    print(f"kubectl kustomize: {len(rendered)} objects")


# ---- systemd ----------------------------------------------------------------


def unit_settings(path):
    """{key: [values]} of a unit file, continuation lines joined."""
    settings, pending = {}, ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip()[0] in "#;["):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            key, _, value = (pending + line).partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
            pending = ""
    return settings


def check_unit(repo, flags, factlogd):
    print("== deploy/systemd/factlogd.service")
    path = os.path.join(repo, "deploy/systemd/factlogd.service")
    settings = unit_settings(path)
    required = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "StateDirectory": "factlog",
        "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes",
        "RestrictNamespaces": "yes",
        "Restart": "on-failure",
    }
    for key, value in required.items():
        check(value in settings.get(key, []), f"unit lacks {key}={value}")
    check(settings.get("User") or settings.get("DynamicUser"), "unit runs as root")
    check(
        any("@system-service" in v for v in settings.get("SystemCallFilter", [])),
        "unit has no SystemCallFilter=@system-service",
    )
    check(
        any("HUP" in v for v in settings.get("ExecReload", [])),
        "ExecReload does not send SIGHUP",
    )
    exec_start = shlex.split(settings["ExecStart"][0])
    check(exec_start[0].endswith("/factlogd"), "ExecStart is not factlogd")
    check_flags(exec_start, flags, "unit ExecStart")

    if not have("systemd-analyze"):
        skip("systemd-analyze", "no systemd-analyze: unit not verified")
        return
    with tempfile.TemporaryDirectory() as tmp:
        # verify insists that ExecStart's binary exists: use the built one.
        unit = os.path.join(tmp, "factlogd.service")
        with open(path) as f:
            text = f.read()
        with open(unit, "w") as f:
            f.write(text.replace(exec_start[0], os.path.abspath(factlogd)))
        result = run(["systemd-analyze", "verify", unit])
        check(
            result.returncode == 0 and not result.stdout.strip(),
            "systemd-analyze verify: " + result.stdout,
        )
        print("systemd-analyze verify: clean")
        result = run(["systemd-analyze", "security", "--offline=yes", unit])
        match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
        if match:
            exposure = float(match.group(1))
            print(f"systemd-analyze security: exposure {exposure}")
            check(exposure <= 2.0, f"unit exposure {exposure} > 2.0")
        else:
            skip("systemd-analyze security --offline",
                 "systemd-analyze security --offline unsupported here")


def check_demo_references(repo):
    """deploy/demo/: every file the README and the seed files name exists in
    the repository, and none points outside it."""
    demo = os.path.join(repo, "deploy", "demo")
    for name in sorted(os.listdir(demo)):
        path = os.path.join(demo, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for outside in ("/work/", "workspace", "DESIGN"):
            check(outside not in text, f"deploy/demo/{name} refers to {outside!r}, "
                  "which is not in the repository")
        for ref in re.findall(r"(?:deploy/demo/|docs/)[A-Za-z0-9._/-]+", text):
            ref = ref.rstrip(".")
            check(os.path.exists(os.path.join(repo, ref)),
                  f"deploy/demo/{name} names {ref}, which does not exist")
        for ref in re.findall(r"`([A-Za-z0-9_-]+\.jsonl)`", text):
            check(os.path.exists(os.path.join(demo, ref)),
                  f"deploy/demo/{name} names {ref}, which is not in deploy/demo")
    print("deploy/demo references: every one exists")


def manifests(args):
    check_demo_references(args.repo)
    flags = factlogd_flags(args.factlogd)
    check(len(flags) > 10, "could not read factlogd --help")
    check_dockerfile(args.repo, flags)
    check_runtime_packages(args.repo, [args.factlogd, args.factlog])
    check_compose(args.repo, flags)
    check_k8s(args.repo, flags)
    check_unit(args.repo, flags, args.factlogd)


# ---- smoke ------------------------------------------------------------------


class Server:
    """A factlogd child; address() is what it printed on start."""

    def __init__(self, argv, env=None):
        print("$ " + " ".join(shlex.quote(a) for a in argv))
        self.argv0 = argv[0]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines = []
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()
        self.started.wait(60)

    def _drain(self):
        for line in self.process.stdout:
            self.lines.append(line)
            if "listening on" in line:
                self.started.set()
        self.started.set()

    def port(self):
        for line in self.lines:
            match = re.search(r"listening on \S*:(\d+)", line)
            if match:
                return match.group(1)
        raise RuntimeError("factlogd did not start:\n" + "".join(self.lines))

    def output(self):
        return "".join(self.lines)

    def signal(self, number):
        """Sends `number` to factlogd: the child itself, or under strace
        (which does not pass signals on) strace's child."""
        pid = self.process.pid
        if os.path.basename(self.argv0) == "strace":
            for entry in os.listdir("/proc"):
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[1]) == self.process.pid:
                    pid = int(entry)
                    break
        os.kill(pid, number)

    def stop(self):
        self.signal(signal.SIGTERM)
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.thread.join(10)
        return code


def substitute(values, mapping):
    out = []
    for value in values:
        for old, new in mapping.items():
            value = value.replace(old, new)
        out.append(value)
    return out


def cli_ok(argv, env, what):
    result = run(argv, env=env)
    check(result.returncode == 0, f"{what}: exit {result.returncode}: {result.stdout}")
    return result.stdout


def image_smoke(repo, factlogd, factlog, secrets, work):
    """factlogd as the image starts it, the image's health check, and the
    compose cli service's environment."""
    print("== the image's command line, health check and the compose cli")
    _, final, entrypoint, cmd = image_command(repo)
    var = os.path.join(work, "var-lib-factlog")
    os.mkdir(var)
    mapping = {
        "0.0.0.0:50051": "0.0.0.0:0",  # a non-loopback address, as in the image
        "0.0.0.0:9464": "0.0.0.0:0",  # the metrics port, likewise
        "/var/lib/factlog": var,
        "/etc/factlog": os.path.join(secrets, "server"),
    }
    argv = substitute(entrypoint + cmd, mapping)
    argv[0] = factlogd
    server = Server(argv)
    try:
        port = server.port()
        bin_dir = os.path.dirname(os.path.abspath(factlog))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACTLOG_")}
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env["FACTLOG_SERVER"] = "localhost:" + port

        # HEALTHCHECK [OPTIONS] CMD command: run as Docker would (sh -c).
        healthcheck = final["HEALTHCHECK"][-1]
        command = healthcheck[healthcheck.index("CMD ") + 4:]
        command = substitute([command], {"/etc/factlog": mapping["/etc/factlog"]})[0]
        result = run(["/bin/sh", "-c", command], env=env)
        check(
            result.returncode == 0 and result.stdout.strip() == "SERVING",
            f"image HEALTHCHECK: exit {result.returncode}: {result.stdout}",
        )
        print("image HEALTHCHECK: " + result.stdout.strip())

        with open(os.path.join(repo, "deploy/compose.yaml")) as f:
            compose = yaml.safe_load(f)
        client_dir = os.path.join(secrets, "client")
        cli_env = dict(env)
        for key, value in compose["services"]["cli"]["environment"].items():
            cli_env[key] = value.replace("/etc/factlog", client_dir)
        cli_env["FACTLOG_SERVER"] = "localhost:" + port  # not factlogd:50051
        demo = os.path.join(repo, "deploy/demo/seed-2014-05-19.jsonl")
        print(cli_ok([factlog, "import", demo], cli_env, "cli import").strip())
        listing = cli_ok([factlog, "claim", "list"], cli_env, "cli claim list")
        check("CONTRADICTED" in listing, "demo claims missing: " + listing)
        # The image serves Prometheus metrics, and they show the import.
        match = re.search(r"metrics on http://\S*:(\d+)/metrics", server.output())
        if check(match, "the image's factlogd serves no metrics"):
            url = f"http://127.0.0.1:{match.group(1)}/metrics"
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read().decode()
            appended = re.search(r"^factlog_appends_total (\d+)$", body, re.M)
            check(
                appended and int(appended.group(1)) > 0,
                "metrics do not show the import: " + body[:300],
            )
            print(f"image metrics: factlog_appends_total {appended.group(1) if appended else '?'}")
        # The token is what lets the cli in: without it, refused.
        no_token = dict(cli_env)
        del no_token["FACTLOG_TOKEN_FILE"]
        result = run([factlog, "claim", "list"], env=no_token)
        check(
            result.returncode == 1 and "UNAUTHENTICATED" in result.stdout,
            "a call without the token was not refused: " + result.stdout,
        )
        # compose's factlogd health check, with its environment.
        health_env = dict(env)
        for key, value in compose["services"]["factlogd"]["environment"].items():
            health_env[key] = value.replace("/etc/factlog", mapping["/etc/factlog"])
        test = compose["services"]["factlogd"]["healthcheck"]["test"]
        check(test[0] == "CMD", "compose health check is not exec form")
        cli_ok(test[1:], health_env, "compose factlogd health check")
        # The StatefulSet's probe, with the container's environment.
        with open(os.path.join(repo, "deploy/k8s/statefulset.yaml")) as f:
            sts = yaml.safe_load(f)
        container = sts["spec"]["template"]["spec"]["containers"][0]
        probe_env = dict(env)
        for item in container.get("env", []):
            probe_env[item["name"]] = item["value"].replace(
                "/etc/factlog", mapping["/etc/factlog"]
            )
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            cli_ok(command, probe_env, "StatefulSet " + probe)
        check(
            os.path.isdir(os.path.join(var, "data")),
            "factlogd did not keep its data in /var/lib/factlog/data",
        )
    finally:
        code = server.stop()
    check(code == 0, f"factlogd (image command) exit {code}:\n{server.output()}")


def syscall_sets(settings):
    """The system calls a unit's SystemCallFilter lines allow."""

    def expand(name, seen):
        result = run(["systemd-analyze", "syscall-filter", name])
        calls = set()
        for line in result.stdout.splitlines()[1:]:
            item = line.split("#", 1)[0].strip()
            if not item:
                continue
            if item.startswith("@"):
                if item not in seen:
                    seen.add(item)
                    calls |= expand(item, seen)
            else:
                calls.add(item)
        return calls

    allowed = None
    for value in settings.get("SystemCallFilter", []):
        deny = value.startswith("~")
        names = value.lstrip("~").split()
        calls = set()
        for name in names:
            calls |= expand(name, set()) if name.startswith("@") else {name}
        if deny:
            allowed = (allowed or set()) - calls
        else:
            allowed = (allowed or set()) | calls
    return allowed


def strace_works():
    if not have("strace"):
        return False
    return run(["strace", "-f", "-qq", "-o", os.devnull, "true"]).returncode == 0


def unit_smoke(repo, factlogd, factlog, secrets, work):
    """factlogd as the unit's ExecStart starts it, traced."""
    print("== the systemd unit's command line (SIGHUP, SIGTERM, system calls)")
    path = os.path.join(repo, "deploy/systemd/factlogd.service")
    settings = unit_settings(path)
    state = os.path.join(work, "var-lib")
    os.makedirs(os.path.join(state, "factlog"))
    server_dir = os.path.join(secrets, "server")
    mapping = {
        "${FACTLOGD_LISTEN}": "0.0.0.0:0",  # as the unit's default
        "%S": state,
        "%d": server_dir,  # LoadCredential= copies these files there
        "/etc/factlog/": server_dir + "/",
    }
    exec_start = [a for a in shlex.split(settings["ExecStart"][0]) if a != "$FACTLOGD_OPTS"]
    argv = substitute(exec_start, mapping)
    argv[0] = factlogd
    # Metrics as factlogd.env's FACTLOGD_OPTS example turns them on, so that
    # the metrics listener's system calls are checked against the filter too.
    argv += ["--metrics-listen", "127.0.0.1:0"]
    for credential in settings.get("LoadCredential", []):
        name, _, source = credential.partition(":")
        check(
            os.path.basename(source) == name
            and os.path.exists(os.path.join(server_dir, name)),
            f"LoadCredential {credential}: dev-secrets.sh makes no {name}",
        )

    trace = os.path.join(work, "strace.txt")
    traced = strace_works() and have("systemd-analyze")
    if traced:
        argv = ["strace", "-f", "-qq", "-o", trace] + argv
    else:
        skip("strace/systemd-analyze",
             "no working strace or systemd-analyze: system calls not checked")
    server = Server(argv)
    try:
        port = server.port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACTLOG_")}
        env.update(
            FACTLOG_SERVER="localhost:" + port,
            FACTLOG_TLS_CA=os.path.join(secrets, "client/ca.pem"),
            FACTLOG_TOKEN_FILE=os.path.join(secrets, "client/token"),
        )
        cli_ok([factlog, "health"], env, "health")
        demo = os.path.join(repo, "deploy/demo/seed-2014-05-19.jsonl")
        cli_ok([factlog, "import", demo], env, "import")
        cli_ok([factlog, "claim", "list"], env, "claim list")
        cli_ok([factlog, "admin", "stats"], env, "admin stats")
        match = re.search(r"metrics on (http://\S+/metrics)", server.output())
        if check(match, "factlogd with --metrics-listen serves no metrics"):
            with urllib.request.urlopen(match.group(1), timeout=10) as response:
                check(
                    b"factlog_appends_total" in response.read(),
                    "the unit's factlogd metrics lack factlog_appends_total",
                )
        # Where deploy/README.md puts backups: factlogd's default backup
        # directory, `backups` next to the data dir.
        cli_ok([factlog, "admin", "backup", "backup-smoke"], env, "admin backup")
        watch = subprocess.Popen(
            [factlog, "watch", "--from", "0"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(2)
        watch.send_signal(signal.SIGTERM)
        check(watch.wait(30) == 0, "watch did not end cleanly")
        server.signal(signal.SIGHUP)
        deadline = time.time() + 20
        while "SIGHUP: reloaded" not in server.output() and time.time() < deadline:
            time.sleep(0.1)
        check("SIGHUP: reloaded" in server.output(), "SIGHUP did not reload tokens")
        cli_ok([factlog, "claim", "list"], env, "claim list after SIGHUP")
    finally:
        # strace exits with factlogd's status.
        code = server.stop()
    check(code == 0, f"factlogd (unit command) exit {code}:\n{server.output()}")
    check(
        os.path.isdir(os.path.join(state, "factlog/data")),
        "the unit's factlogd did not write %S/factlog/data",
    )
    # The restore deploy/README.md describes: into a new dir, then swap.
    result = run([factlogd, "--restore-from", os.path.join(state, "factlog/backups/backup-smoke"),
                  "--data-dir", os.path.join(state, "factlog/data.restored")])
    check(result.returncode == 0, "restore from the backup: " + result.stdout)
    if not traced:
        return

    with open(trace) as f:
        lines = f.readlines()
    used = set()
    for line in lines:
        match = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
        if match:
            used.add(match.group(1))
    used.discard("execve")  # strace's exec of factlogd; in @system-service too
    allowed = syscall_sets(settings)
    outside = sorted(used - allowed)
    check(not outside, f"system calls outside SystemCallFilter: {outside}")
    print(f"{len(used)} distinct system calls, all within SystemCallFilter")
    families = set(re.findall(r"socket\((AF_[A-Z0-9]+)", "".join(lines)))
    allowed_families = set(" ".join(settings.get("RestrictAddressFamilies", [])).split())
    check(
        families <= allowed_families,
        f"socket families {families - allowed_families} outside RestrictAddressFamilies",
    )
    print(f"socket families {sorted(families)} within RestrictAddressFamilies")
    if "yes" in settings.get("MemoryDenyWriteExecute", []):
        wx = [l for l in lines if re.search(r"PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE", l)]
        check(not wx, f"writable+executable mappings under MemoryDenyWriteExecute: {wx[:3]}")
    if "pid" in settings.get("ProcSubset", []):
        proc = [l for l in lines if re.search(r'"/proc/(?!self|thread-self|\d)', l)]
        check(not proc, f"non-process /proc files read under ProcSubset=pid: {proc[:3]}")


def smoke(args):
    with tempfile.TemporaryDirectory(prefix="factlog-deploy-") as work:
        secrets = os.path.join(work, "secrets")
        env = dict(os.environ, FACTLOGD=os.path.abspath(args.factlogd))
        result = run([os.path.join(args.repo, "deploy/dev-secrets.sh"), secrets], env=env)
        print(result.stdout.strip())
        if not check(result.returncode == 0, "dev-secrets.sh failed"):
            return
        for name in ("server/server.pem", "server/server.key", "server/tokens",
                     "server/ca.pem", "client/ca.pem", "client/token"):
            check(os.path.isfile(os.path.join(secrets, name)), f"dev-secrets: no {name}")
        check(os.stat(secrets).st_mode & 0o077 == 0, "dev-secrets directory is not private")
        image_smoke(args.repo, args.factlogd, args.factlog, secrets, work)
        unit_smoke(args.repo, args.factlogd, args.factlog, secrets, work)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["manifests", "smoke"])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--factlogd", required=True)
    parser.add_argument("--factlog", required=True)
    args = parser.parse_args()
    args.repo = os.path.abspath(args.repo)
    {"manifests": manifests, "smoke": smoke}[args.mode](args)
    if FAILURES:
        print(f"\n{len(FAILURES)} check(s) failed")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
