"""The Dockerfile cannot be built here (no container runtime): check it keeps to the README's
install and run commands, copies only what exists, and has what the issue asks for."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_dockerfile_installs_and_runs_like_the_readme() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    install = re.search(r"pip install --require-hashes -r requirements\.lock", readme)
    assert install is not None and install.group(0) in dockerfile
    assert "pip install --no-deps ." in readme and "pip install --no-deps ." in dockerfile
    assert 'CMD ["python", "-m", "bot"]' in dockerfile and "python -m bot" in readme
    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER bot$", dockerfile, re.M)  # not root
    assert "/healthz" in dockerfile and "HEALTHCHECK" in dockerfile
    assert 'VOLUME ["/app/data"]' in dockerfile and "HTTP_HOST=0.0.0.0" in dockerfile
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert (ROOT / source).exists(), source


def test_compose_uses_the_image_volume_and_health_port() -> None:
    compose = (ROOT / "compose.yaml").read_text()
    assert "build: ." in compose and "env_file: .env" in compose
    assert "bot-data:/app/data" in compose
    assert "127.0.0.1:8080:8080" in compose
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "data", ".git"} <= set(ignored)  # no secrets or state in the image
