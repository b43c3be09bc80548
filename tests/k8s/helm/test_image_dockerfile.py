"""The project image's Dockerfile agrees with the packaging and with what the charts assume.

No container engine runs here, so the image is never built in tests; these checks read the Dockerfile and
.dockerignore against pyproject.toml and the chart, which is where they drift in practice: a new package not
copied in, a build context that drops it, or a uid the pods' securityContext does not match.
"""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.k8s.helm.chart_support import REPO, STACK

DOCKERFILE = (REPO / "Dockerfile").read_text()
IGNORE = (REPO / ".dockerignore").read_text().splitlines()


def test_every_packaged_folder_is_copied_and_in_the_build_context() -> None:
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE, flags=re.MULTILINE))
    assert copied == set(packages["packages"])
    for name in (*packages["packages"], "pyproject.toml", "constraints.txt", "README.md"):
        assert f"!{name}/" in IGNORE or f"!{name}" in IGNORE, name
    rules = [line for line in IGNORE if line and not line.startswith("#")]
    assert rules[0] == "*"  # everything not re-included stays out (.venv, .tipsml, .git, tests)


def test_installs_with_the_pinned_constraints_on_python_311_slim() -> None:
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE, flags=re.MULTILINE)
    installs = re.findall(r"uv pip install [^\n]*", DOCKERFILE)
    assert len(installs) == 2 and all("-c constraints.txt" in line for line in installs)
    assert "libgomp1" in DOCKERFILE  # LightGBM's OpenMP runtime


def test_runs_as_the_non_root_uid_the_chart_expects() -> None:
    (user,) = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.MULTILINE)
    uid, gid = (int(part) for part in user.split(":"))
    assert uid != 0 and gid != 0
    values = yaml.safe_load((STACK / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == uid
    assert values["podSecurityContext"]["runAsGroup"] == gid
    assert DOCKERFILE.rstrip().endswith('CMD ["tipsml", "--help"]')
