"""`momento-http` and `python -m momento_http`, run as subprocesses against the local server."""

from __future__ import annotations

import json
import os
import pty
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO

import anyio
import anyio.to_thread
import h11
import httpx
import pytest
from anyio.abc import SocketStream
from conftest import CACHE, ROOT, local_cli, source_tree_env, unique
from raw_http import answer, raw_server

from momento_http._cli import ExitCode
from momento_http._cli._parser import build_parser
from momento_http.local import CachePermission, CacheRole, Fault, LocalServer, Settings

MODULE = (sys.executable, "-m", "momento_http")
URL_8080 = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: bytes
    stderr: str

    @property
    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stdout.decode().splitlines()]


@pytest.fixture
def cli(server: LocalServer) -> CliRunner:
    return CliRunner(server)


class CliRunner:
    """Runs `python -m momento_http COMMAND ... --base-url <the session's server>`."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.env = {**os.environ, "MOMENTO_API_KEY": server.api_key}
        for name in ("MOMENTO_ENDPOINT", "MOMENTO_BASE_URL", "MOMENTO_AUTH_TOKEN"):
            self.env.pop(name, None)

    def command(
        self, *arguments: str, base_url: str | None = None, where: str = "after"
    ) -> list[str]:
        """The command line, with `--base-url` after the command, before it, or not at all."""
        flag = ["--base-url", base_url or str(self.server.base_url)]
        placed = {"after": [*arguments, *flag], "before": [*flag, *arguments], "none": arguments}
        return [*MODULE, *placed[where]]

    def __call__(
        self,
        *arguments: str,
        stdin: bytes = b"",
        env: dict[str, str] | None = None,
        secrets: tuple[str, ...] = (),
        base_url: str | None = None,
        where: str = "after",
    ) -> Outcome:
        result = subprocess.run(
            self.command(*arguments, base_url=base_url, where=where),
            input=stdin,
            capture_output=True,
            env=self.env if env is None else env,
            timeout=60,
            check=False,
        )
        outcome = Outcome(result.returncode, result.stdout, result.stderr.decode())
        for secret in (self.server.api_key, *secrets):
            assert secret.encode() not in result.stdout
            assert secret not in outcome.stderr
        assert "Traceback" not in outcome.stderr
        return outcome


def test_set_get_delete_round_trip(cli: CliRunner) -> None:
    key = unique("cli")
    assert cli("set", CACHE, key, "hello, world").code == ExitCode.OK
    assert cli("get", CACHE, key) == Outcome(ExitCode.OK, b"hello, world", "")
    assert cli("delete", CACHE, key).code == ExitCode.OK
    miss = cli("get", CACHE, key)
    assert miss.code == ExitCode.MISS
    assert ExitCode.MISS.value == 1
    assert miss.stdout == b""
    assert f"miss: '{key}' is not in '{CACHE}'" in miss.stderr


def test_values_come_from_stdin_or_a_file_byte_for_byte(cli: CliRunner, tmp_path: Path) -> None:
    raw = bytes(range(256)) * 4
    piped, filed, dashed = unique("stdin"), unique("file"), unique("dash")
    assert cli("set", CACHE, piped, stdin=raw).code == ExitCode.OK
    (tmp_path / "value.bin").write_bytes(raw[::-1])
    assert cli("set", CACHE, filed, "--file", str(tmp_path / "value.bin")).code == ExitCode.OK
    assert cli("set", CACHE, dashed, "--file", "-", stdin=b"x\n").code == ExitCode.OK
    assert cli("get", CACHE, piped).stdout == raw
    assert cli("get", CACHE, filed).stdout == raw[::-1]
    assert cli("get", CACHE, dashed).stdout == b"x\n"


def test_the_ttl_flag_reaches_the_server(cli: CliRunner) -> None:
    key = unique("ttl")
    assert cli("set", CACHE, key, "v", "--ttl", "0").code == ExitCode.BAD_INPUT
    assert cli("set", CACHE, key, "v", "--ttl", str(10**9)).code == ExitCode.BAD_INPUT
    assert cli("set", CACHE, key, "v", "--ttl", "5").code == ExitCode.OK


def test_connection_options_go_before_or_after_the_command(cli: CliRunner) -> None:
    key = unique("before")
    assert cli("--timeout", "30", "set", CACHE, key, "early", where="before").code == 0
    assert cli("get", CACHE, key, "--timeout", "30", where="before").stdout == b"early"
    assert cli("--api-key", cli.server.api_key, "get", CACHE, key).stdout == b"early"
    # Given on both sides, the one after the command wins, as a repeated flag does.
    with LocalServer([CACHE]) as gone:
        dead = str(gone.base_url)
    late = [*MODULE, "--base-url", dead, "get", CACHE, key, "--base-url", cli.server.base_url]
    result = subprocess.run(late, capture_output=True, env=cli.env, timeout=60, check=False)
    assert (result.returncode, result.stdout) == (ExitCode.OK, b"early")


def test_momento_base_url_from_the_environment_needs_no_flag(cli: CliRunner) -> None:
    key = unique("env-url")
    env = {**cli.env, "MOMENTO_BASE_URL": str(cli.server.base_url)}
    assert cli("set", CACHE, key, "from env", env=env, where="none").code == ExitCode.OK
    assert cli("get", CACHE, key, env=env, where="none").stdout == b"from env"
    # A flag still wins over the environment.
    with LocalServer([CACHE]) as gone:
        env["MOMENTO_BASE_URL"] = str(gone.base_url)
    assert cli("get", CACHE, key, env=env, where="none").code == ExitCode.UNREACHABLE
    assert cli("get", CACHE, key, env=env).stdout == b"from env"


NO_ENDPOINT = "no endpoint: the API key names none, so give --base-url, --endpoint or --region"


@pytest.mark.parametrize(
    ("arguments", "env", "message"),
    [
        ((), {"MOMENTO_API_KEY": ""}, "no API key: give --api-key or set MOMENTO_API_KEY"),
        (("--api-key", ""), {}, "--api-key is empty"),
        ((), {"MOMENTO_API_KEY": "two words"}, "MOMENTO_API_KEY holds whitespace"),
        (("--base-url", "ftp://h"), {}, "--base-url must be an http:// or https:// URL"),
        (("--endpoint", "https://h"), {}, "give a full URL with --base-url"),
        (("--endpoint", " "), {}, "--endpoint must be a non-empty host name"),
        (("--region", "mars-north-1"), {}, "unknown --region 'mars-north-1'; known regions:"),
        ((), {}, NO_ENDPOINT),
        (("--base-url", "http://127.0.0.1:9", "--ttl", "0"), {}, "--ttl must be positive"),
    ],
)
def test_messages_name_the_flags_not_the_python_parameters(
    cli: CliRunner, arguments: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    environment = {**cli.env, **env}
    outcome = cli("set", CACHE, "k", "v", *arguments, env=environment, where="none")
    assert outcome.code == ExitCode.BAD_INPUT
    assert message in outcome.stderr
    assert not re.search(r"api_key|base_url|\w=", outcome.stderr), outcome.stderr


def test_empty_stdin_is_no_value_unless_file_dash_asks_for_it(cli: CliRunner) -> None:
    key = unique("empty")
    for stdin_kind in ("pipe", "devnull", "closed"):
        command = cli.command("set", CACHE, key)
        if stdin_kind == "closed":
            command = ["sh", "-c", 'exec "$@" <&-', "sh", *command]
        source = subprocess.DEVNULL if stdin_kind == "devnull" else None
        result = subprocess.run(
            command,
            input=b"" if source is None else None,
            stdin=source,
            capture_output=True,
            env=cli.env,
            timeout=60,
            check=False,
        )
        assert result.returncode == ExitCode.BAD_INPUT, stdin_kind
        assert b"no value:" in result.stderr
        assert b"Traceback" not in result.stderr
    assert "standard input is empty; --file - reads it even so" in cli("set", CACHE, key).stderr
    assert cli("get", CACHE, key).code == ExitCode.MISS
    published = cli("publish", CACHE, unique("topic"))
    assert published.code == ExitCode.BAD_INPUT
    assert "no message:" in published.stderr
    assert cli("set", CACHE, key, "--file", "-").code == ExitCode.OK
    assert cli("get", CACHE, key) == Outcome(ExitCode.OK, b"", "")


def test_a_terminal_on_stdin_is_not_read_for_a_value(cli: CliRunner) -> None:
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            cli.command("set", CACHE, unique("tty")),
            stdin=follower,
            capture_output=True,
            env=cli.env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == ExitCode.BAD_INPUT
    assert b"no value: give it as an argument, with --file, or on stdin" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("set", CACHE, "k", "--file", "/nonexistent/value"), "cannot read /nonexistent"),
        (("set", CACHE, "k", "v", "--file", "-"), "give the value or --file, not both"),
        (("set", CACHE, "k", "v", "--ttl", "-1"), "expected a whole number >= 0"),
        (("get", CACHE, "k", "--timeout", "0"), "expected a number of seconds > 0"),
        (("get", "", "k"), "cache"),
        (("publish", CACHE, "t", "--file", "-"), "not UTF-8 text; add --binary"),
        (("subscribe", CACHE, "t", "--sequence-number", "x"), "expected a whole number"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    cli: CliRunner, arguments: tuple[str, ...], message: str
) -> None:
    outcome = cli(*arguments, stdin=b"\xff\xfe")
    assert outcome.code == ExitCode.BAD_INPUT
    assert ExitCode.BAD_INPUT.value == 2
    assert message in outcome.stderr


def test_no_api_key_is_bad_input(cli: CliRunner) -> None:
    env = {k: v for k, v in cli.env.items() if k not in {"MOMENTO_API_KEY", "MOMENTO_AUTH_TOKEN"}}
    outcome = cli("get", CACHE, "k", env=env)
    assert outcome.code == ExitCode.BAD_INPUT
    assert "give --api-key or set MOMENTO_API_KEY" in outcome.stderr


def test_the_api_key_flag_wins_and_is_never_printed(cli: CliRunner, server: LocalServer) -> None:
    foreign = LocalServer([CACHE]).mint_api_key()
    refused = cli("get", CACHE, "k", "--api-key", foreign, secrets=(foreign,))
    assert refused.code == ExitCode.AUTH
    assert ExitCode.AUTH.value == 3
    assert "401" in refused.stderr
    reader = server.mint_api_key([CachePermission(CacheRole.READ_ONLY)])
    denied = cli("set", CACHE, "k", "v", "--api-key", reader, secrets=(reader,))
    assert denied.code == ExitCode.AUTH
    assert "403" in denied.stderr
    assert cli("get", CACHE, unique("k"), "--api-key", reader, secrets=(reader,)).code == 1


def test_a_missing_cache_exits_4(cli: CliRunner) -> None:
    outcome = cli("get", "no-such-cache", "k")
    assert outcome.code == ExitCode.NOT_FOUND
    assert ExitCode.NOT_FOUND.value == 4
    assert "Cache Not Found" in outcome.stderr


def test_server_errors_exit_5_after_the_retries(cli: CliRunner, faulty: LocalServer) -> None:
    down = Fault(status=503, message="down for tests", method="GET", cache=CACHE, count=None)
    faulty.inject_fault(down)
    outcome = cli("get", CACHE, "k")
    assert outcome.code == ExitCode.SERVER
    assert ExitCode.SERVER.value == 5
    assert "down for tests" in outcome.stderr
    assert faulty.fault_hits == {"status 503": 3}  # the default retry policy: three tries


def test_an_unreachable_server_exits_6(cli: CliRunner) -> None:
    with LocalServer([CACHE]) as gone:
        base_url = str(gone.base_url)
    outcome = cli("get", CACHE, "k", base_url=base_url)
    assert outcome.code == ExitCode.UNREACHABLE
    assert ExitCode.UNREACHABLE.value == 6
    assert "connection refused" in outcome.stderr


def publish_raw(server: LocalServer, topic: str, value: bytes | str) -> None:
    """Publish with plain httpx, so the CLI's subscribe is checked against another writer."""
    content_type = "text/plain" if isinstance(value, str) else "application/octet-stream"
    response = httpx.post(
        f"{server.base_url}/topics/{CACHE}/{topic}",
        content=value,
        headers={"authorization": server.api_key, "content-type": content_type},
    )
    response.raise_for_status()


def test_publish_then_subscribe_from_a_stored_position(cli: CliRunner) -> None:
    topic = unique("topic")
    assert cli("publish", CACHE, topic, "first").code == ExitCode.OK
    assert cli("publish", CACHE, topic, "--file", "-", stdin="zwei ü".encode()).code == 0
    assert cli("publish", CACHE, topic, "--binary", "--file", "-", stdin=b"\x00\xff").code == 0
    outcome = cli("subscribe", CACHE, topic, "--sequence-number", "1", "--count", "3")
    assert outcome.code == ExitCode.OK
    first, second, third = outcome.lines
    page = first["sequence_page"]
    assert first == {
        "type": "item",
        "value": "first",
        "sequence_number": 1,
        "sequence_page": page,
        "publisher_id": None,
    }
    assert (second["value"], second["sequence_number"]) == ("zwei ü", 2)
    assert (third["value_base64"], third["sequence_number"]) == ("AP8=", 3)
    assert f"to resume: --sequence-number 4 --sequence-page {page}" in outcome.stderr

    publish_raw(cli.server, topic, "fourth")
    resume = ("--sequence-number", "4", "--sequence-page", str(page), "--count", "1")
    assert [line["value"] for line in cli("subscribe", CACHE, topic, *resume).lines] == ["fourth"]


def test_subscribe_reports_a_gap_as_a_discontinuity(cli: CliRunner) -> None:
    topic = unique("gap")
    publish_raw(cli.server, topic, "only")
    stale = ("--sequence-number", "1", "--sequence-page", "7", "--count", "1")
    outcome = cli("subscribe", CACHE, topic, *stale)
    assert outcome.code == ExitCode.OK, outcome.stderr
    # A page that is not the topic's: the CLI shows the jump, then the message.
    jump, item = outcome.lines
    assert jump["type"] == "discontinuity"
    assert jump["new_sequence_page"] == item["sequence_page"] != 7
    assert item["value"] == "only"


def test_subscribe_says_when_its_start_was_lost(cli: CliRunner) -> None:
    topic = unique("lost-start")
    cli.server.inject_fault(Fault(503, method="GET", topic=topic, count=1))
    try:
        with subprocess.Popen(
            cli.command("subscribe", CACHE, topic, "--count", "1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli.env,
        ) as process:
            # The first poll got the 503; this is its retry, held by the server.
            cli.server.wait_for_subscribers_sync(CACHE, topic, timeout=10)
            publish_raw(cli.server, topic, "first")
            stdout, stderr = process.communicate(timeout=30)
    finally:
        cli.server.clear_faults()
    assert process.returncode == ExitCode.OK, stderr
    lost, item = [json.loads(line) for line in stdout.decode().splitlines()]
    assert lost["type"] == "discontinuity"
    assert lost["unknown_start"] is True
    assert lost["last_sequence_number"] == 0
    assert lost["new_sequence_number"] == item["sequence_number"] == 1
    assert item["value"] == "first"


def test_a_subscription_that_received_nothing_gives_no_position(cli: CliRunner) -> None:
    topic = unique("quiet")
    with subprocess.Popen(
        cli.command("subscribe", CACHE, topic), stderr=subprocess.PIPE, env=cli.env
    ) as process:
        assert process.stderr is not None
        cli.server.wait_for_subscribers_sync(CACHE, topic)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == ExitCode.OK
        stderr = process.stderr.read().decode()
    assert "to resume: no position yet (nothing was received)" in stderr
    assert "to start from the next message published" in stderr
    assert "--sequence-number 0" not in stderr
    assert "Traceback" not in stderr


def test_ctrl_c_ends_a_subscription_cleanly_and_says_where_to_resume(cli: CliRunner) -> None:
    topic = unique("ctrl-c")
    for value in ("a", "b"):
        publish_raw(cli.server, topic, value)
    command = cli.command("subscribe", CACHE, topic, "--sequence-number", "1")
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        lines = [json.loads(process.stdout.readline()) for _ in range(2)]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == ExitCode.OK
        stderr = process.stderr.read().decode()
    assert [line["value"] for line in lines] == ["a", "b"]
    assert "to resume: --sequence-number 3 --sequence-page" in stderr
    assert "Traceback" not in stderr


def test_a_reader_that_goes_away_ends_the_output_quietly(cli: CliRunner) -> None:
    topic = unique("pipe")
    for _ in range(40):  # 160 KB of lines: more than a pipe holds
        publish_raw(cli.server, topic, "x" * 4096)
    command = cli.command("subscribe", CACHE, topic, "--sequence-number", "1", "--count", "40")
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert json.loads(process.stdout.readline())["sequence_number"] == 1
        process.stdout.close()
        assert process.wait(timeout=10) == ExitCode.OK
        assert "Traceback" not in process.stderr.read().decode()


# Escaped in JSON, a lone surrogate is valid; no UTF-8 can hold it.
SURROGATES = (
    b'{"items": [{"item": {"topic_sequence_number": 1, "sequence_page": 7,'
    b' "publisher_id": "id \\udc00", "value": {"text": "lone \\ud800 surrogate"}}}]}'
)


async def test_subscribe_prints_a_text_holding_a_lone_surrogate(cli: CliRunner) -> None:
    async def surrogates(_: int, connection: h11.Connection, stream: SocketStream) -> None:
        await answer(connection, stream, body=SURROGATES)

    command = ("subscribe", "cache", "topic", "--sequence-number", "1", "--count", "1")
    async with raw_server(surrogates) as (url, _):
        # In a thread: the raw server answers on this event loop meanwhile.
        ran = await anyio.to_thread.run_sync(lambda: cli(*command, base_url=url))
    assert ran.code == ExitCode.OK, ran.stderr
    (line,) = ran.stdout.decode().splitlines()
    assert "\\ud800" in line  # escaped as it came, the rest of the line left as UTF-8
    printed = json.loads(line)
    assert (printed["value"], printed["publisher_id"]) == ("lone \ud800 surrogate", "id \udc00")
    assert "to resume: --sequence-number 2 --sequence-page 7" in ran.stderr


def test_the_console_script_is_the_same_program(server: LocalServer) -> None:
    script = shutil.which("momento-http", path=str(Path(sys.executable).parent))
    assert script is not None, "the momento-http console script is not installed"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    for command in ("get", "set", "delete", "publish", "subscribe", "local"):
        assert command in result.stdout
    assert "1 miss (get), 2 bad input, 3 key refused" in result.stdout


def test_the_local_subcommand_serves_until_ctrl_c() -> None:
    arguments = ("--cache", "from-cli", "--token", "t0ken")
    with local_cli(*arguments, command=(*MODULE, "local")) as (base_url, banner):
        assert banner[1] == "caches: from-cli"
        response = httpx.get(
            f"{base_url}/cache/from-cli", params={"key": "k"}, headers={"authorization": "t0ken"}
        )
        assert response.status_code == 404


def test_the_local_subcommand_refuses_bad_flags() -> None:
    result = subprocess.run(
        [*MODULE, "local", "--bogus"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "momento-http local: error: unrecognized arguments: --bogus" in result.stderr
    early = [*MODULE, "--timeout", "3", "local", "--port", "0"]
    result = subprocess.run(early, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "the connection options are not the local server's" in result.stderr


def help_entries(text: str) -> dict[str, str]:
    """Each option of an argparse `--help`, with its description (one line of it per line)."""
    entries: dict[str, str] = {}
    flags = ""
    for line in text.splitlines():
        if line.startswith("  -"):  # an option: its flags, then its help after 2+ spaces
            flags, _, about = line.strip().partition("  ")
            entries[flags] = about.strip()
        elif line.startswith("    ") and flags:  # the help went on, or began, below the flags
            entries[flags] = f"{entries[flags]} {line.strip()}".strip()
        else:
            flags = ""
    return entries


@pytest.mark.parametrize("command", ["", "get", "set", "delete", "publish", "subscribe"])
def test_the_command_line_page_names_every_option(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"] if command else ["--help"])
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    options = {
        flag
        for flags in help_entries(capsys.readouterr().out)
        for flag in re.findall(r"--[a-z-]+", flags)
    }
    assert "--timeout" in options
    unnamed = {flag for flag in options if not re.search(rf"(?<![\w-]){flag}(?![\w-])", page)}
    assert not unnamed, f"docs/cli.md does not name {sorted(unnamed)}"


def test_the_local_help_describes_every_option_with_its_default() -> None:
    result = subprocess.run(
        [*MODULE, "local", "--help"],
        env={**os.environ, "COLUMNS": "200"},  # one line per description
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    entries = help_entries(result.stdout)
    undescribed = [flags for flags, about in entries.items() if not about]
    assert not undescribed, f"no help for {undescribed}"
    assert entries["--host HOST"].endswith("(default: 127.0.0.1)")
    assert entries["--port PORT"].endswith("(default: 8080)")
    for field in fields(Settings):
        flag = "--" + field.name.replace("_", "-")
        (about,) = [about for flags, about in entries.items() if re.match(rf"{flag}[ ,]", flags)]
        assert re.search(r"\w.* \(default: [^)]+\)$", about), f"{flag}: {about!r}"
    assert entries["--extra-fields, --no-extra-fields"].endswith("(default: off)")
    assert entries["--header-faults, --no-header-faults"].endswith("(default: on)")
    assert "(default: 5242880, 5 MiB)" in entries["--max-item-bytes BYTES"]


def test_the_local_subcommand_without_its_extra_says_how_to_install_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-S", "-m", "momento_http", "local", "--port", "0"],
        cwd=tmp_path,
        env=source_tree_env(tmp_path, without=frozenset({"uvicorn"})),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == ExitCode.BAD_INPUT
    assert result.stderr == (
        "momento-http local: needs the local extra (uvicorn is missing): from a clone, "
        "pip install './momento-http[local]'; or from git, "
        "pip install 'momento-http[local] @ git+<the repository URL>'\n"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install './momento-http[local]'" in readme  # the install it points to
    assert 'pip install "momento-http[local] @ git+https://github.com/OWNER/REPO"' in readme


# A token a shell would take apart if it were not quoted (the client accepts it as it is).
AWKWARD_TOKEN = "it's-$HOME;`x`|\"&*"
FROM_ENV = """
import anyio
from momento_http import MomentoClient

async def main():
    async with MomentoClient.from_env() as client:
        print((await client.get("shell-cache", "k")).decode())

anyio.run(main)
"""


def read_lines(stream: IO[str], count: int) -> list[str]:
    """Read lines from a child's output; fail, rather than hang, if they never come."""
    lines: queue.Queue[str] = queue.Queue()

    def reader() -> None:
        for _ in range(count):
            lines.put(stream.readline().rstrip("\n"))

    threading.Thread(target=reader, daemon=True).start()
    return [lines.get(timeout=30) for _ in range(count)]


def test_the_local_subcommand_prints_exports_for_another_shell(tmp_path: Path) -> None:
    command = [*MODULE, "local", "--port", "0", "--cache", "shell-cache", "--token", AWKWARD_TOKEN]
    (tmp_path / "from_env.py").write_text(FROM_ENV, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTO_")}
    clean["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), clean["PATH"]])
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            lines = read_lines(process.stdout, 6)
            pasted = "\n".join(lines[3:])  # what a user copies into another shell
            then = 'momento-http set shell-cache k "from a shell" && momento-http get shell-cache k'
            script = f"{pasted}\n{then} && echo && {shlex.quote(sys.executable)} from_env.py"
            shell = subprocess.run(
                ["sh", "-c", script],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env=clean,
                timeout=60,
                check=False,
            )
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0
    assert lines[0].startswith("Momento local server at http://127.0.0.1:")
    assert lines[3].startswith("# ")
    assert lines[4].startswith("export MOMENTO_API_KEY=")
    assert lines[5].startswith("export MOMENTO_BASE_URL=")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.splitlines() == ["from a shell", "from a shell"]
    # The README and the command line's page show these lines as printed, on port 8080.
    base_url = lines[0].rsplit(" ", 1)[1]
    shown = pasted.replace(shlex.quote(AWKWARD_TOKEN), "...").replace(base_url, URL_8080)
    for page in (ROOT / "README.md", ROOT / "docs" / "cli.md"):
        assert f"```sh\n{shown}\n```" in page.read_text(encoding="utf-8"), page.name
