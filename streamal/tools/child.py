"""``streamal run`` as a child process: configured by environment, started, waited ready, scraped, stopped.

The one way the demo, the integration tests and the benchmarks start and
supervise the service (each used to have its own). Settings are given as
keywords without the ``STREAMAL_`` prefix; the service writes its log to
``log``; :meth:`ServiceProcess.start` returns once ``/readyz`` says ready, or
raises :class:`~streamal.errors.StreamalError` with the service's own last
word (its error line) if it exits or is not ready in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from streamal.errors import StreamalError
from streamal.tools.embedded import free_port

__all__ = ["ServiceProcess", "scrape", "service_error"]


def scrape(url: str, timeout: float = 2.0) -> dict[str, float]:
    """Fetch a ``/metrics`` page as ``{'name{k="v"}': value}`` (samples only)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - our own local URL
        text = resp.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def service_error(log_file: Path) -> str:
    """The service's own last word from its log: its error line, else its last line."""
    try:
        lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    errors = [line for line in lines if ": error: " in line or " ERROR " in line]
    return (errors or lines or ["(empty log)"])[-1]


class ServiceProcess:
    """One ``streamal run`` child process with its HTTP port, log and settings.

    ``base_env`` is the environment it inherits (the caller's by default);
    ``settings`` (``{"budget": "0.1"}``) are set on top as ``STREAMAL_BUDGET`` and so on.
    """

    def __init__(self, log: Path, settings: Mapping[str, str] | None = None, *,
                 base_env: Mapping[str, str] | None = None) -> None:
        settings = settings or {}
        self.log = log
        self.port = free_port()
        self.env = dict(os.environ if base_env is None else base_env)
        self.env.update({"STREAMAL_HTTP_HOST": "127.0.0.1", "STREAMAL_HTTP_PORT": str(self.port)})
        self.env.update({f"STREAMAL_{k.upper()}": v for k, v in settings.items()})
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> ServiceProcess:
        """Start the process and return at once (see :meth:`wait_ready`)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "streamal", "run"], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 60.0, every: float = 0.05) -> float:
        """Seconds until ``/readyz`` said ready; :class:`StreamalError` if the process exits or time runs out."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise StreamalError(f"the service exited with code {code} before it was ready: "
                                    f"{service_error(self.log)}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as resp:  # noqa: S310
                    if resp.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(every)
        raise StreamalError(f"the service was not ready within {timeout:g}s ({self.url}): {service_error(self.log)}")

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        """Start the process and wait until it is ready."""
        self.launch().wait_ready(timeout)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def metrics(self) -> dict[str, float]:
        """Its ``/metrics`` now (``OSError`` if it does not answer)."""
        return scrape(self.url + "/metrics")

    def metric(self, key: str) -> float:
        """One sample of its metrics, 0 when absent or when it does not answer."""
        try:
            return self.metrics().get(key, 0.0)
        except OSError:
            return 0.0

    def rss_mib(self) -> float:
        """Its resident memory, in MiB (Linux)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait (killed if it does not stop within ``timeout``); its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
