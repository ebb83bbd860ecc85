"""``tenantdb-sqlc-gen``: the sqlc process plugin (``format: json``).

sqlc runs it as ``tenantdb-sqlc-gen /plugin.CodegenService/Generate`` with the
GenerateRequest (protobuf-JSON) on stdin and reads ``{"files": [{"name", "contents"}]}``
(contents base64) from stdout. Problems are printed to stderr, each naming the query and
file, and the exit status is 1, which fails ``sqlc generate``.

The child environment holds only ``SQLC_VERSION`` and the variables sqlc.yaml lists under
the plugin's ``env:``. When ``TENANTDB_CODEGEN_DUMP`` is one of them and set (``python -m
tenantdb.codegen.run`` does this), the files are also written below that directory, with
a manifest, so the runner can remove stale files and ``--check`` can compare without
touching the output folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec

from tenantdb.codegen._build import CodegenError, build
from tenantdb.codegen._emit import emit
from tenantdb.codegen._options import OptionsError, parse_options
from tenantdb.codegen._request import GenerateRequest

__all__ = ("ManifestEntry", "generate", "main")

DUMP_ENV = "TENANTDB_CODEGEN_DUMP"
_RUFF_TIMEOUT_S = 120


class _File(msgspec.Struct, frozen=True):
    name: str
    contents: bytes


class _Response(msgspec.Struct, frozen=True):
    files: list[_File]


class ManifestEntry(msgspec.Struct, frozen=True):
    out: str
    files: list[str]


def generate(request: bytes) -> dict[str, str]:
    """GenerateRequest JSON -> formatted files (name relative to ``out`` -> source)."""
    req = msgspec.json.decode(request, type=GenerateRequest)
    opts = parse_options(req.plugin_options)
    if not opts.package:
        out = req.settings.codegen.out if req.settings.codegen else ""
        opts = msgspec.structs.replace(opts, package=Path(out).name or "generated")
    files = emit(build(req, opts))
    return _format(files)


def _ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError:
        raise CodegenError("ruff is not installed: pip install 'tenantdb[codegen]'") from None
    return str(find_ruff_bin())


def _format(files: dict[str, str]) -> dict[str, str]:
    """Sort imports and format with the pinned ruff, isolated from any project config."""
    ruff = _ruff()
    common = ["--isolated", "--line-length", "100", "--target-version", "py311", "--quiet"]
    with tempfile.TemporaryDirectory(prefix="tenantdb-codegen-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        for cmd in (
            [ruff, "check", "--fix", "--select", "I,F401,RUF022", "--config",
             "lint.isort.known-first-party=['tenantdb']", *common, tmp],
            [ruff, "format", *common, tmp],
        ):  # fmt: skip
            proc = subprocess.run(  # noqa: S603 - the pinned ruff binary, fixed arguments
                cmd,
                capture_output=True,
                text=True,
                check=False,
                timeout=_RUFF_TIMEOUT_S,
                cwd=tmp,  # import sorting must not depend on what lies next to sqlc.yaml
            )
            if proc.returncode != 0:
                raise CodegenError(
                    f"ruff failed on the generated code:\n{proc.stdout}{proc.stderr}"
                )
        return {name: (Path(tmp) / name).read_text() for name in files}


def _dump(req_out: str, files: dict[str, str]) -> None:
    root = os.environ.get(DUMP_ENV)
    if not root:
        return
    target = Path(root) / "files" / req_out
    target.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (target / name).write_text(text)
    entry = msgspec.json.encode(ManifestEntry(out=req_out, files=sorted(files)))
    with (Path(root) / "manifest.jsonl").open("ab") as fh:
        fh.write(entry + b"\n")


def main() -> None:
    """Console entry point sqlc calls (the argument is the gRPC method name)."""
    raw = sys.stdin.buffer.read()
    try:
        files = generate(raw)
        out = msgspec.json.decode(raw, type=GenerateRequest).settings.codegen
        _dump(out.out if out else "", files)
    except (CodegenError, OptionsError) as exc:
        sys.stderr.write(f"tenantdb-sqlc-gen: {exc}\n")
        sys.exit(1)
    except msgspec.DecodeError as exc:
        sys.stderr.write(f"tenantdb-sqlc-gen: cannot decode sqlc's GenerateRequest: {exc}\n")
        sys.exit(1)
    response = _Response(
        files=[_File(name=n, contents=t.encode()) for n, t in sorted(files.items())]
    )
    sys.stdout.buffer.write(msgspec.json.encode(response))
    sys.stdout.buffer.flush()
