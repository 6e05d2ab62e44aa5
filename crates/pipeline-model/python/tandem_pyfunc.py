"""MLflow's ``python_function`` flavor for a tandem model.

MLflow puts the model's ``code/`` directory on ``sys.path``, imports this
module and calls ``_load_pyfunc(<model directory>)``. The model itself runs
in Rust: a ``<executable> models worker -m <model directory>`` child process,
started at load and kept for the model's lifetime, answers one frame per
prediction on its stdin/stdout. The frames are documented in tandem's
``tandem_pipeline_model::worker`` module and in docs/mlflow-compatibility.md;
in short: a header ``b"TNDW", version, kind, section count`` and
length-prefixed sections, the input going as an Arrow IPC stream plus the
params as JSON.

The executable is the one the model embeds (``flavors.tandem.executable``),
run only once its SHA-256 matches the one recorded in ``MLmodel``; a model
saved without one runs the binary named by ``TANDEM_EXECUTABLE``. Models
store it zstd-compressed (``executable.compression``): it is checked against
the compressed file's recorded SHA-256, decompressed (never past its recorded
size) into a fresh private directory (``tempfile.mkdtemp``: mode 0700, a name
no one can predict), checked again and run from there; the directory goes
with the model. Decompressing needs Python 3.14's ``compression.zstd`` or the
``zstandard`` package, which the model's requirements list.

Every file of the model this loader opens is found with the path rules
tandem's own loader applies (``tandem_io::paths``): a path recorded in
``MLmodel`` must be relative, without ``..``, backslashes, drive prefixes or
URLs, and once every symlink on the way is resolved it must still lie inside
the model directory.

This file is written into every model tandem saves; edit it in tandem's
sources (crates/pipeline-model/python/), not in a model.
"""

import hashlib
import json
import os
import platform
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import weakref

import pandas as pd
import pyarrow as pa
import yaml
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, ErrorCode

MAGIC = b"TNDW"
PROTOCOL_VERSION = 1
EXECUTABLE_VARIABLE = "TANDEM_EXECUTABLE"

# magic, version, kind, section count; each section is a u64 length + bytes.
_HEADER = struct.Struct("<4sBBH")
_LENGTH = struct.Struct("<Q")
_SECTIONS = {b"R": 1, b"T": 1, b"J": 1, b"E": 1}
# How long a worker whose stdin closed may take to exit before it is killed.
_STOP_TIMEOUT = 10


def _load_pyfunc(path):
    """MLflow's loader entry point: the model in directory ``path``."""
    return TandemModel(path)


class TandemModel:
    """A tandem model behind a worker process; safe to share between threads."""

    def __init__(self, model_dir):
        self._dir = os.path.abspath(model_dir)
        executable = _executable(self._dir, self)
        self._command = [executable, "models", "worker", "-m", self._dir]
        # MLflow's server may predict from several threads; the worker
        # answers one frame at a time.
        self._lock = threading.Lock()
        # Started at load, so a model that cannot run fails to load.
        self._worker = _Worker(self._command)

    def predict(self, model_input, params=None):
        """Predictions for ``model_input`` (a DataFrame or anything pandas
        makes one of): a DataFrame for several output columns, a list for
        one, the JSON value tandem writes otherwise."""
        request = _request(model_input, params)
        with self._lock:
            try:
                kind, payload = self._worker.call(request)
            except _WorkerGone:
                # One restart: a worker killed from outside (OOM killer,
                # signal) should not take the model down for good.
                self._worker.stop()
                self._worker = _Worker(self._command)
                try:
                    kind, payload = self._worker.call(request)
                except _WorkerGone as gone:
                    raise MlflowException(str(gone), error_code=INTERNAL_ERROR) from None
        return _answer(kind, payload)


class _WorkerGone(Exception):
    """The worker stopped answering (it exited or closed its pipes)."""


class _Worker:
    def __init__(self, command):
        self._command = command
        # stderr is inherited: the worker's logs and errors show where
        # MLflow's own do.
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._finalizer = weakref.finalize(self, _stop, self._process)
        try:
            kind, sections = self._receive()
        except _WorkerGone as gone:
            raise MlflowException(
                f"The tandem model could not start: {gone}", error_code=INTERNAL_ERROR
            ) from None
        if kind != b"R":
            raise MlflowException(f"The tandem worker sent {kind!r} before it was ready")
        self.info = json.loads(sections[0])

    def call(self, sections):
        """Sends a predict frame; returns the answer's kind and section."""
        frame = [_HEADER.pack(MAGIC, PROTOCOL_VERSION, ord("P"), len(sections))]
        for section in sections:
            frame += [_LENGTH.pack(len(section)), section]
        try:
            self._process.stdin.write(b"".join(frame))
            self._process.stdin.flush()
        except OSError:
            raise _WorkerGone(self._exit_status()) from None
        kind, answer = self._receive()
        return kind, answer[0]

    def _receive(self):
        header = self._read(_HEADER.size)
        magic, version, kind, count = _HEADER.unpack(header)
        kind = bytes([kind])
        if magic != MAGIC:
            raise MlflowException(
                f"{self._command[0]} did not answer with a tandem frame (read {magic!r}); "
                "is it a tandem project binary?"
            )
        if version != PROTOCOL_VERSION:
            raise MlflowException(
                f"{self._command[0]} speaks worker protocol version {version}, this loader "
                f"speaks version {PROTOCOL_VERSION}: the executable and the model's code/ come "
                "from different tandem releases; save the model again with one tandem"
            )
        if _SECTIONS.get(kind) != count:
            raise MlflowException(f"malformed {kind!r} frame with {count} section(s)")
        sections = []
        for _ in range(count):
            (length,) = _LENGTH.unpack(self._read(_LENGTH.size))
            sections.append(self._read(length))
        return kind, sections

    def _read(self, size):
        data = self._process.stdout.read(size)
        if len(data) != size:
            raise _WorkerGone(self._exit_status())
        return data

    def _exit_status(self):
        try:
            code = self._process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = "unknown (still running)"
        return (
            f"the worker `{' '.join(self._command)}` stopped (exit status {code}); "
            "its error is on stderr above"
        )

    def stop(self):
        self._finalizer()


def _stop(process):
    """Closes the worker's stdin (its signal to exit) and reaps it."""
    try:
        process.stdin.close()
        process.wait(timeout=_STOP_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


def _request(model_input, params):
    frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    params = json.dumps(params or {}, default=_plain).encode()
    return [params, sink.getvalue().to_pybytes()]


def _plain(value):
    """numpy values (MLflow's params schema makes some) as JSON-able ones."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"parameter value {value!r} of type {type(value).__name__} is not JSON")


def _answer(kind, payload):
    """The worker's answer in the shape MLflow's serializer writes as tandem
    does: a one-column table as a plain list, several columns as records."""
    if kind == b"T":
        table = pa.ipc.open_stream(payload).read_all()
        if table.num_columns == 1:
            return table.column(0).to_pylist()
        return table.to_pandas()
    if kind == b"J":
        return json.loads(payload)
    if kind == b"E":
        error = json.loads(payload)
        try:
            code = ErrorCode.Value(error.get("error_code"))
        except (TypeError, ValueError):
            code = INTERNAL_ERROR
        raise MlflowException(error.get("message"), error_code=code)
    raise MlflowException(f"The tandem worker answered a {kind!r} frame", INTERNAL_ERROR)


def _inside(model_dir, relative):
    """``model_dir/relative``, refused unless it follows tandem's path rules:
    relative, no ``..``, backslash, drive prefix, NUL or URL, and inside the
    model once symlinks are resolved."""
    parts = [p for p in str(relative).split("/") if p not in ("", ".")]
    unsafe = (
        not parts
        or str(relative).startswith("/")
        or any(c in str(relative) for c in ("\\", "\0", "://"))
        or ".." in parts
        or (len(parts[0]) >= 2 and parts[0][1] == ":")
    )
    root = os.path.realpath(model_dir)
    path = os.path.realpath(os.path.join(root, *parts)) if parts else root
    if unsafe or not path.startswith(root + os.sep):
        raise MlflowException(
            f"The model's file {relative!r} must be a relative path inside the model directory"
        )
    return path


def _executable(model_dir, owner):
    """The model's verified embedded executable, else $TANDEM_EXECUTABLE.
    A directory it is unpacked into is removed when ``owner`` is collected."""
    with open(_inside(model_dir, "MLmodel")) as f:
        flavor = (yaml.safe_load(f).get("flavors") or {}).get("tandem") or {}
    embedded = flavor.get("executable")
    if embedded:
        return _verified(model_dir, embedded, owner)
    named = os.environ.get(EXECUTABLE_VARIABLE)
    if named:
        return named
    raise MlflowException(
        f"This tandem model carries no executable, and {EXECUTABLE_VARIABLE} is not set. "
        f"Set {EXECUTABLE_VARIABLE} to the binary of {flavor.get('package_name')} "
        f"{flavor.get('package_version')} (the binary that registers the model's functions), "
        "or save the model again without --no-executable.",
        error_code=INTERNAL_ERROR,
    )


def _verified(model_dir, embedded, owner):
    """The embedded file, refused unless it is inside the model, built for
    this platform and has the recorded bytes; a compressed one unpacked
    into a private directory, an uncompressed one made executable (artifact
    downloads drop the mode bits), or copied where it can be."""
    path = _inside(model_dir, embedded["path"])
    target = embedded.get("target", "")
    if not _runs_here(target):
        raise MlflowException(
            f"The model's executable was built for {target}, and this machine is "
            f"{platform.machine()} {sys.platform}: build the model's package for this platform "
            f"and save the model again, or set {EXECUTABLE_VARIABLE} on a model saved with "
            "--no-executable"
        )
    compression = embedded.get("compression")
    if compression:
        _check_file(path, compression["sha256"], compression["size"])
        if compression.get("format") != "zstd":
            raise MlflowException(
                f"The model's executable is compressed with {compression.get('format')!r}; "
                "this loader reads zstd only"
            )
        private = tempfile.mkdtemp(prefix="tandem-executable-")
        weakref.finalize(owner, shutil.rmtree, private, True)
        name = os.path.basename(path)
        unpacked = os.path.join(private, name[: -len(".zst")] if name.endswith(".zst") else name)
        _unzstd(path, unpacked, embedded["size"])
        _check_file(unpacked, embedded["sha256"], embedded["size"])
        os.chmod(unpacked, 0o700)
        return unpacked
    _check_file(path, embedded["sha256"], embedded["size"])
    mode = os.stat(path).st_mode
    runnable = mode | stat.S_IXUSR | ((mode & 0o444) >> 2)
    try:
        if runnable != mode:
            os.chmod(path, runnable)
        return path
    except OSError:
        private = tempfile.mkdtemp(prefix="tandem-executable-")
        weakref.finalize(owner, shutil.rmtree, private, True)
        copy = os.path.join(private, os.path.basename(path))
        shutil.copyfile(path, copy)
        _check_file(copy, embedded["sha256"], embedded["size"])
        os.chmod(copy, 0o700)
        return copy


def _check_file(path, sha256, size):
    """Refuses ``path`` unless it has ``size`` bytes with SHA-256 ``sha256``."""
    digest, found = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            found += len(block)
    if digest.hexdigest() != sha256 or found != size:
        raise MlflowException(
            f"Refusing to run {path}: its SHA-256 is {digest.hexdigest()} ({found} bytes), the "
            f"model records {sha256} ({size} bytes). The file was altered or truncated; "
            "download or save the model again."
        )


def _unzstd(source, destination, size):
    """Decompresses the zstd file ``source`` to ``destination``, refusing
    more than ``size`` bytes (a hostile frame may expand without bound)."""
    try:
        from compression import zstd  # Python 3.14+

        def reader(f):
            return zstd.ZstdFile(f)
    except ImportError:
        try:
            import zstandard
        except ImportError:
            raise MlflowException(
                "The model's executable is zstd-compressed: install the zstandard package "
                "(it is in the model's requirements.txt)",
                error_code=INTERNAL_ERROR,
            ) from None

        def reader(f):
            return zstandard.ZstdDecompressor().stream_reader(f)

    written = 0
    with open(source, "rb") as f, reader(f) as stream, open(destination, "xb") as out:
        for block in iter(lambda: stream.read(1 << 20), b""):
            written += len(block)
            if written > size:
                raise MlflowException(
                    f"Refusing {source}: it decompresses to more than the {size} bytes the "
                    "model records"
                )
            out.write(block)


def _runs_here(target):
    """Whether a Rust target triple names this machine's CPU and OS."""
    parts = target.split("-")
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    systems = {"linux": "linux", "darwin": "darwin", "win32": "windows"}
    system = next((v for k, v in systems.items() if sys.platform.startswith(k)), sys.platform)
    return parts[0] == machine and system in parts
