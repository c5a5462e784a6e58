"""The columnar engine in a process of its own, beside the service that asks it.

DuckDB's and regopy's native libraries cannot share a process (regopy's
``librego_shared.so`` carries snmalloc and exports ``operator new``/``delete``; once it
is loaded, the C++ runtime that DuckDB then uses binds some allocations to snmalloc and
frees them with glibc: ``munmap_chunk(): invalid pointer``; ``RTLD_DEEPBIND`` around
either import does not change it, docs/scale.md). A participant that decides policy
therefore never imports the engine: it starts this worker, which imports only
``adapters`` (no policy, no regopy), and calls named flows in it. It is the same shape
as a Spark driver beside a service, and the worker is where a driver would live.

The protocol is private to parent and child: length-prefixed pickles over the child's
stdin/stdout (a pipe only these two hold; nothing else can write to it). Calls are
serialised by a lock; a child that died is started again on the next call. A problem
raised in the child (``MeterDataNotAvailable``, ``ColumnarFileInvalid``…) is raised
again in the parent as the same class, or as :class:`ColumnarWorkerFailed` naming it.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import IO, Any

from adapters.columnar.errors import ColumnarWorkerFailed

_HEADER = struct.Struct("!Q")


def _send(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("columnar worker stream closed")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("columnar worker stream cut short")
    return pickle.loads(data)  # noqa: S301  # our own child, over a pipe only it holds


class ColumnarWorker:
    """A child process running :mod:`adapters.columnar.flows` on the configured engine.

    ``env`` is added to the child's environment (``IES_METERDATA_ENGINE``,
    ``IES_METERDATA_MEMORY``, ``IES_METERDATA_THREADS``…, read there by
    ``MeterDataSettings``)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = {**os.environ, **(env or {})}
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def _start(self) -> subprocess.Popen[bytes]:
        child = self._child
        if child is not None and child.poll() is None:
            return child
        self._child = subprocess.Popen(  # this interpreter, a fixed module
            [sys.executable, "-m", "adapters.columnar.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._env,
        )
        return self._child

    def call(self, flow: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``flows.FLOWS[flow](*args, **kwargs)`` in the worker and return its result."""
        with self._lock:
            child = self._start()
            assert child.stdin is not None
            assert child.stdout is not None
            try:
                _send(child.stdin, (flow, args, kwargs))
                ok, value = _receive(child.stdout)
            except (EOFError, BrokenPipeError, OSError) as exc:
                child.kill()
                child.wait()
                self._child = None
                raise ColumnarWorkerFailed(
                    f"the columnar worker stopped during {flow}: {exc}"
                ) from None
        if ok:
            return value
        raise value

    def close(self) -> None:
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        child.stdin.close()  # the child's loop ends at end of input
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def __enter__(self) -> ColumnarWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives a pickle round trip, else a worker failure
    that names its class and carries its message."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301  # our own bytes
    except Exception:  # any exception that does not round-trip
        return ColumnarWorkerFailed(f"{type(exc).__name__}: {exc}", cause=type(exc).__name__)
    return exc


def serve(flows: Mapping[str, Callable[..., Any]], inbound: IO[bytes], outbound: IO[bytes]) -> None:
    """The child's loop: one call in, one ``(ok, value)`` out, until end of input."""
    while True:
        try:
            flow, args, kwargs = _receive(inbound)
        except EOFError:
            return
        try:
            if flow not in flows:
                raise ColumnarWorkerFailed(f"no flow {flow!r} in the columnar worker")
            _send(outbound, (True, flows[flow](*args, **kwargs)))
        except Exception as exc:  # every failure goes back to the caller
            _send(outbound, (False, _portable(exc)))


def _main() -> None:
    # Frames go to the real stdout only; anything printed (Spark, a library) goes to
    # stderr so it cannot corrupt the stream.
    outbound = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from adapters.columnar.flows import FLOWS

    try:
        serve(FLOWS, sys.stdin.buffer, outbound)
    finally:
        from adapters.columnar.flows import close

        close()


if __name__ == "__main__":
    _main()
