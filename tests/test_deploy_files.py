"""Deployment files: docker-compose.yml, deploy/k8s/, the Tiltfile and the Dockerfiles.

Validated offline with the real tools: Debian's ``docker-compose`` (``config -q``, no engine
needed) and ``kubernetes-validate --strict`` (bundled Kubernetes schemas). Each validator is also
shown to reject a broken copy, so a pass means something.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILES = {"api": ROOT / "api" / "Dockerfile", "web_ui": ROOT / "web_ui" / "Dockerfile"}
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "nodejs", "npm", "git", "curl")


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed: apt-get install docker-compose"
    return exe


def _compose(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SPML_", "STREAM_POSE_ML_"))}
    return subprocess.run(
        [_docker_compose(), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _manifests() if doc["kind"] == kind}


def _kubernetes_validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "kubernetes-validate"
    assert exe.exists(), "kubernetes-validate is not installed (pip install -e '.[dev]')"
    return subprocess.run(
        [str(exe), "--strict", *map(str, paths)], capture_output=True, text=True, timeout=300
    )


# -- docker compose -------------------------------------------------------------------------------
def test_compose_file_validates_with_docker_compose() -> None:
    done = _compose("config", "-q")
    assert done.returncode == 0, done.stderr


def test_compose_rejects_a_broken_copy(tmp_path: Path) -> None:
    text = COMPOSE.read_text().replace("    ports:\n", "    portz:\n", 1)
    (tmp_path / "docker-compose.yml").write_text(text)
    done = _compose("-f", str(tmp_path / "docker-compose.yml"), "config", "-q", cwd=tmp_path)
    assert done.returncode != 0
    assert "portz" in done.stderr


def test_compose_services_ports_volume_and_settings_from_env(tmp_path: Path) -> None:
    env = {
        "SPML_API_PORT": "6101",
        "SPML_UI_PORT": "6100",
        "SPML_MLFLOW_PORT": "6102",
        "STREAM_POSE_ML_API_TOKEN": "token-from-env",
        "STREAM_POSE_ML_CORS_ORIGINS": "https://ui.example.org",
    }
    done = _compose("config", env=env)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) >= {"api", "web_ui", "mlflow", "redis"}

    def published(service: str) -> dict[int, int]:
        out = {}
        for port in services[service]["ports"]:
            if isinstance(port, dict):
                out[int(port["target"])] = int(port["published"])
            else:
                host, container = str(port).rsplit(":", 1)
                out[int(container)] = int(host.rsplit(":", 1)[-1])
        return out

    assert published("api") == {5001: 6101}
    assert published("web_ui") == {3000: 6100}
    assert published("mlflow") == {5002: 6102}
    api_env = services["api"]["environment"]
    assert api_env["STREAM_POSE_ML_API_TOKEN"] == "token-from-env"
    assert api_env["STREAM_POSE_ML_CORS_ORIGINS"] == "https://ui.example.org"
    assert api_env["STREAM_POSE_ML_REDIS_URL"].startswith("redis://redis:")
    # one named volume holds the models of every API replica and of the MLflow service
    for service in ("api", "mlflow"):
        volumes = services[service]["volumes"]
        sources = [v["source"] if isinstance(v, dict) else v.split(":")[0] for v in volumes]
        assert any(source.endswith("models") for source in sources), volumes
    assert "models" in config["volumes"]
    dockerfiles = {
        name: services[name]["build"]["dockerfile"] for name in ("api", "web_ui", "mlflow")
    }
    assert dockerfiles == {
        "api": "api/Dockerfile",
        "web_ui": "web_ui/Dockerfile",
        "mlflow": "mlflow/Dockerfile",
    }


def test_compose_reads_dotenv_and_holds_no_secret() -> None:
    text = COMPOSE.read_text()
    assert re.search(r"STREAM_POSE_ML_API_TOKEN: \$\{STREAM_POSE_ML_API_TOKEN:-\}", text)
    done = _compose("config")
    config = yaml.safe_load(done.stdout)
    assert config["services"]["api"]["environment"]["STREAM_POSE_ML_API_TOKEN"] in ("", None)


# -- Kubernetes -----------------------------------------------------------------------------------
def test_k8s_manifests_validate_strictly() -> None:
    paths = sorted(K8S.glob("*.yaml"))
    assert len(paths) >= 6
    done = _kubernetes_validate(*paths)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in done.stdout + done.stderr


def test_k8s_validator_rejects_an_unknown_field(tmp_path: Path) -> None:
    broken = tmp_path / "api.yaml"
    broken.write_text((K8S / "api.yaml").read_text().replace("readinessProbe:", "readynessProbe:"))
    done = _kubernetes_validate(broken)
    assert done.returncode != 0


def test_k8s_deployments_have_probes_resources_and_run_unprivileged() -> None:
    deployments = _by_kind("Deployment")
    assert set(deployments) == {
        "streamposeml-api",
        "streamposeml-web-ui",
        "streamposeml-mlflow",
        "streamposeml-redis",
    }
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert deployment["spec"]["selector"]["matchLabels"].items() <= (
            deployment["spec"]["template"]["metadata"]["labels"].items()
        )
        for container in pod["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_k8s_services_select_deployments_and_name_their_ports() -> None:
    deployments = _by_kind("Deployment")
    for name, service in _by_kind("Service").items():
        selector = service["spec"]["selector"].items()
        matches = [
            d
            for d in deployments.values()
            if selector <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, name
        container_ports = {
            p["name"]
            for c in matches[0]["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports, (name, port)
    ports = {name: s["spec"]["ports"][0]["port"] for name, s in _by_kind("Service").items()}
    assert ports["streamposeml-api"] == 5001
    assert ports["streamposeml-web-ui"] == 3000
    assert ports["streamposeml-mlflow"] == 5002


def test_k8s_api_scales_with_redis_shared_models_secret_and_config() -> None:
    hpa = _by_kind("HorizontalPodAutoscaler")["streamposeml-api"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "streamposeml-api"
    assert hpa["spec"]["minReplicas"] >= 2
    api = _by_kind("Deployment")["streamposeml-api"]["spec"]["template"]["spec"]
    refs = {next(iter(ref.values()))["name"] for ref in api["containers"][0]["envFrom"]}
    config = _by_kind("ConfigMap")["streamposeml-config"]["data"]
    secret = _by_kind("Secret")["streamposeml-api"]
    assert refs == {"streamposeml-config", "streamposeml-api"}
    assert config["STREAM_POSE_ML_REDIS_URL"].startswith("redis://streamposeml-redis:")
    assert "STREAM_POSE_ML_API_TOKEN" not in config
    # the Secret's values are documented placeholders, not real secrets
    assert all("placeholder" in value for value in secret["stringData"].values())
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in api["volumes"]
        if "persistentVolumeClaim" in v
    }
    pvc = _by_kind("PersistentVolumeClaim")
    assert claims == set(pvc) == {"streamposeml-models"}
    assert "ReadWriteMany" in pvc["streamposeml-models"]["spec"]["accessModes"]


def test_k8s_ingress_uses_cookie_affinity_for_socketio() -> None:
    ingress = _by_kind("Ingress")["streamposeml"]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"]
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"streamposeml-api", "streamposeml-web-ui"}


# -- Tiltfile -------------------------------------------------------------------------------------
def _tilt_calls() -> dict[str, list[ast.Call]]:
    tree = ast.parse((ROOT / "Tiltfile").read_text(), filename="Tiltfile")
    calls: dict[str, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.setdefault(node.func.id, []).append(node)
    return calls


def _kwargs(call: ast.Call) -> dict[str, Any]:
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}


def test_tiltfile_names_existing_files_images_and_manifests() -> None:
    calls = _tilt_calls()
    assert set(calls) <= {"docker_build", "k8s_yaml", "k8s_resource"}, set(calls)
    manifest_images = {
        c["image"].rsplit(":", 1)[0]
        for d in _by_kind("Deployment").values()
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    built = set()
    for call in calls["docker_build"]:
        image, context = (ast.literal_eval(arg) for arg in call.args[:2])
        options = _kwargs(call)
        assert (ROOT / context).is_dir(), context
        assert (ROOT / context / options["dockerfile"]).is_file(), options["dockerfile"]
        for path in options.get("only", []):
            assert (ROOT / context / path).exists(), path
        assert image in manifest_images, image
        built.add(image)
    assert built == {"streamposeml/api", "streamposeml/web-ui", "streamposeml/mlflow"}
    (yaml_call,) = calls["k8s_yaml"]
    files = ast.literal_eval(yaml_call.args[0])
    assert {ROOT / f for f in files} == set(K8S.glob("*.yaml")), "every manifest is applied"
    deployments = _by_kind("Deployment")
    forwards = {}
    for call in calls["k8s_resource"]:
        name = ast.literal_eval(call.args[0])
        assert name in deployments, name
        options = _kwargs(call)
        for dep in options.get("resource_deps", []):
            assert dep in deployments, dep
        for forward in options.get("port_forwards", []):
            local, remote = map(int, forward.split(":"))
            ports = [
                p["containerPort"]
                for c in deployments[name]["spec"]["template"]["spec"]["containers"]
                for p in c["ports"]
            ]
            assert remote in ports, (name, forward)
            forwards[name] = local
    assert forwards == {
        "streamposeml-api": 5001,
        "streamposeml-web-ui": 3000,
        "streamposeml-mlflow": 5002,
    }


# -- Dockerfiles ----------------------------------------------------------------------------------
def _stages(path: Path) -> list[list[str]]:
    """Instructions (continuations joined) per build stage; ARG defaults resolved in FROM."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("ARG ") and not stages and "=" in line:
            key, value = line[4:].split("=", 1)
            args[key.strip()] = value.strip()
        if line.upper().startswith("FROM "):
            line = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), line)
            stages.append([line])
        elif stages:
            stages[-1].append(line)
    return stages


@pytest.mark.parametrize("name", ["api", "web_ui"])
def test_dockerfile_pinned_multistage_nonroot_healthcheck_without_build_tools(name: str) -> None:
    stages = _stages(DOCKERFILES[name])
    assert len(stages) >= 2, "multi-stage"
    stage_names = set()
    for stage in stages:
        image = stage[0].split()[1]
        if " AS " in stage[0].upper():
            stage_names.add(stage[0].split()[-1])
        if image in stage_names:
            continue
        tag = image.partition(":")[2]
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"unpinned base {image}"
    final = stages[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert any(line.upper().startswith("HEALTHCHECK ") for line in final)
    installs = " ".join(line for line in final if "apt-get install" in line or "apk add" in line)
    for tool in BUILD_TOOLS:
        assert not re.search(rf"(^|\s){re.escape(tool)}(\s|$)", installs), f"{tool} in final stage"
    assert any(line.upper().startswith("EXPOSE ") for line in final)


def test_api_image_runs_gunicorn_on_5001_with_opencv_libraries() -> None:
    final = _stages(DOCKERFILES["api"])[-1]
    text = "\n".join(final)
    assert "libgl1" in text and "libglib2.0-0" in text
    cmd = next(line for line in final if line.upper().startswith("CMD "))
    assert "gunicorn" in cmd and "0.0.0.0:5001" in cmd and "api.wsgi:app" in cmd
    assert "/health" in next(line for line in final if line.upper().startswith("HEALTHCHECK"))
    builder = "\n".join(_stages(DOCKERFILES["api"])[0])
    assert "pip wheel" in builder


def test_web_ui_image_serves_the_build_on_3000_from_nginx() -> None:
    stages = _stages(DOCKERFILES["web_ui"])
    assert "nginx-unprivileged" in stages[-1][0]
    text = "\n".join(line for stage in stages for line in stage)
    assert "public/models" in text and "npm run build" in text
    conf = (ROOT / "web_ui" / "nginx.conf").read_text()
    assert re.search(r"listen\s+3000;", conf)
    assert "try_files $uri $uri/ /index.html;" in conf
    assert "application/wasm" in conf


def test_mlflow_dockerfile_exists_for_compose_and_tilt() -> None:
    assert (ROOT / "mlflow" / "Dockerfile").is_file(), "mlflow/Dockerfile (the MLflow service)"


def test_dockerignore_keeps_build_contexts_small() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "web_ui/node_modules", "data"} <= ignored


# -- keypoint extraction on Dask (docs/cluster.md) ------------------------------------------------
DASK_K8S = K8S / "dask"
DASK_DOCKERFILE = ROOT / "deploy" / "dask" / "Dockerfile"


def _dask_manifests(kind: str) -> dict[str, dict[str, Any]]:
    docs = []
    for path in sorted(DASK_K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_dask_manifests_validate_strictly_and_a_broken_one_fails(tmp_path: Path) -> None:
    paths = sorted(DASK_K8S.glob("*.yaml"))
    assert {p.name for p in paths} == {"scheduler.yaml", "workers.yaml", "extract-job.yaml"}
    done = _kubernetes_validate(*paths)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "workers.yaml"
    broken.write_text(
        (DASK_K8S / "workers.yaml").read_text().replace("livenessProbe:", "lifeProbe:")
    )
    assert _kubernetes_validate(broken).returncode != 0


def test_dask_workers_reach_the_scheduler_share_a_volume_and_are_sized() -> None:
    deployments = _dask_manifests("Deployment")
    assert set(deployments) == {"streamposeml-dask-scheduler", "streamposeml-dask-worker"}
    service = _dask_manifests("Service")["streamposeml-dask-scheduler"]
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"comm": 8786, "http": 8787}
    scheduler_labels = deployments["streamposeml-dask-scheduler"]["spec"]["template"]["metadata"]
    assert service["spec"]["selector"].items() <= scheduler_labels["labels"].items()
    address = "tcp://streamposeml-dask-scheduler:8786"
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["image"].startswith("streamposeml/extract:")
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    worker = deployments["streamposeml-dask-worker"]["spec"]["template"]["spec"]
    args = worker["containers"][0]["args"]
    assert args[:3] == ["dask", "worker", address]
    assert args[args.index("--nthreads") + 1] == "1"  # MediaPipe keeps one core busy per task
    assert worker["containers"][0]["resources"]["requests"]["cpu"] == "1"
    job = _dask_manifests("Job")["streamposeml-extract"]["spec"]["template"]["spec"]
    job_args = job["containers"][0]["args"]
    assert job_args[:2] == ["stream-pose-ml", "extract"]
    assert job_args[job_args.index("--scheduler") + 1] == address
    claims = {
        name: {
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["volumes"]
            if "persistentVolumeClaim" in v
        }
        for name, pod in (("worker", worker), ("job", job))
    }
    assert claims == {"worker": {"streamposeml-extraction"}, "job": {"streamposeml-extraction"}}
    pvc = _dask_manifests("PersistentVolumeClaim")["streamposeml-extraction"]
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]


def test_compose_dask_profile_is_off_by_default_and_shares_one_folder() -> None:
    done = _compose("config")
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    for name in ("dask-scheduler", "dask-worker", "extract"):
        assert services[name]["profiles"], f"{name} must not start with a plain `up`"
    for name in ("api", "web_ui", "mlflow", "redis"):
        assert "profiles" not in services[name]
    assert services["dask-scheduler"]["build"]["dockerfile"] == "deploy/dask/Dockerfile"
    worker = services["dask-worker"]["command"]
    assert worker[:3] == ["dask", "worker", "tcp://dask-scheduler:8786"]
    assert "tcp://dask-scheduler:8786" in services["extract"]["entrypoint"]
    mounts = {
        name: [
            v["target"] if isinstance(v, dict) else v.split(":")[1]
            for v in services[name]["volumes"]
        ]
        for name in ("dask-worker", "extract")
    }
    assert mounts == {"dask-worker": ["/work"], "extract": ["/work"]}


def test_dask_dockerfile_pinned_multistage_nonroot_with_the_dask_extra() -> None:
    stages = _stages(DASK_DOCKERFILE)
    assert len(stages) == 2
    assert re.search(r"python:\d+\.\d+\.\d+-slim", stages[0][0])
    final = stages[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert any(line.upper().startswith("HEALTHCHECK ") for line in final)
    installs = " ".join(line for line in final if "apt-get install" in line)
    for tool in BUILD_TOOLS:
        assert not re.search(rf"(^|\s){re.escape(tool)}(\s|$)", installs), tool
    text = "\n".join(line for stage in stages for line in stage)
    assert '".[dask]"' in text and '"stream_pose_ml[dask]"' in text
    assert "dask = [" in (ROOT / "pyproject.toml").read_text()
