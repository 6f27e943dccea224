"""berth-oci's log records and help output, side by side with runc 1.1 (issue 16).

runc logs through logrus: `--log FILE` gets every record, `--log-format text` (the default)
writes `time="..." level=debug msg="..."` lines, `--log-format json` writes
`{"level":"error","msg":"...","time":"..."}` lines; without --log the records go to stderr.
Clients read them: containerd's shim takes the last `"level":"error"` record of its --log file
(json) as the reason a command failed, runc's own bats tests grep `level=debug` and the steps its
init logs. Each test runs against berth-oci and runc (the `rt` fixture); crun 1.8 is not a
reference here: its log records are its own, not logrus's, and its help is argp's.

Where berth-oci keeps its own text on purpose (documented in docs/architecture.md, "Logs"):
errors and warnings on stderr without --log read `berth-oci: MSG` / `berth-oci: warning: MSG`
(runc: a text record), and an unknown command says why after runc's words.
"""

import json
import os
import re
import threading
from datetime import datetime

import pytest

from conftest import CMD_TIMEOUT, _selected_runtimes, describe, new_id, runtime_argv
from helpers import stop

VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^\s"]*)'
# time, level, msg; then the fields runc adds to its own debug records (func=... file=...)
TEXT_RECORD = re.compile(rf'^time="([^"]+)" level=(debug|info|warning|error) msg=({VALUE})'
                         rf'((?: [a-z]+={VALUE})*)$')
RUNC_INIT_STEPS = ("nsexec container setup", "child process in init()",
                   "init: closing the pipe to signal completion")
RUNC_EXEC_STEPS = ("nsexec container setup", "child process in init()",
                   "setns_init: about to exec")
SLEEPER = "trap 'exit 0' TERM; while true; do sleep 0.1; done"


@pytest.fixture(params=["berth-oci", "runc"])
def rt(request, workdir):
    """berth-oci and runc, the reference for what a log record looks like (crun 1.8 writes its
    own records, not logrus's, and argp's help: it is left out here, not skipped per test)."""
    if request.param == "berth-oci":
        return request.getfixturevalue("oci")
    if "runc" not in _selected_runtimes():
        pytest.skip("runc is not in BERTH_TEST_RUNTIMES")
    if runtime_argv("runc") is None:
        pytest.skip("runc is not installed")
    return workdir.runner("runc")


def prog(rt):
    return "berth-oci" if rt.name == "berth-oci" else "runc"


def parse_time(stamp):
    """logrus stamps records with Go's time.RFC3339 (local time, "Z" at offset 0)."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", stamp), stamp
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def text_records(text, exact_keys=False):
    """The text records of a log, each checked against logrus's layout: [(level, msg)] (msg
    as written, quoted or not). runc adds fields to its own debug records; berth-oci writes
    time, level and msg only."""
    out = []
    for line in text.splitlines():
        m = TEXT_RECORD.match(line)
        assert m, f"not a logrus text record: {line!r}"
        assert not (exact_keys and m.group(4)), f"fields beyond time, level, msg: {line!r}"
        parse_time(m.group(1))
        out.append((m.group(2), m.group(3)))
    return out


def json_records(text, exact_keys):
    """The json records of a log: every line one object with level, msg and time (runc adds
    `file` and `func` to its own debug records; berth-oci writes exactly those three)."""
    out = []
    for line in text.splitlines():
        rec = json.loads(line)
        assert {"level", "msg", "time"} <= rec.keys(), line
        if exact_keys:
            assert rec.keys() == {"level", "msg", "time"}, line
        parse_time(rec["time"])
        out.append(rec)
    return out


def last_runtime_error(path):
    """What containerd's shim does (pkg/process/utils.go getLastRuntimeError): decode the json
    records one by one and keep the msg of the last one whose level is error."""
    msg = ""
    dec = json.JSONDecoder()
    text = path.read_text()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return msg
        rec, pos = dec.raw_decode(text, pos)
        if rec.get("level") == "error":
            msg = rec.get("msg", "").strip()


def start_sleeper(rt, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    p = rt.run(bundle, cid, detach=True)
    assert p.returncode == 0, describe(p)
    rt.wait_status(cid, "running")


# --------------------------------------------------------------------------
# --debug, --log, --log-format


def test_debug_records_on_stderr(rt, bundle):
    """runc's debug.bats "global --debug": stderr holds level=debug records, the init's among
    them."""
    bundle.process["args"] = ["echo", "hello"]
    p = rt.run(bundle, new_id(), global_args=["--debug"])
    assert p.returncode == 0 and p.stdout == "hello\n", describe(p)
    debug = [line for line in p.stderr.splitlines() if " level=debug " in line]
    assert debug, describe(p)
    records = text_records("\n".join(debug), exact_keys=rt.name == "berth-oci")
    for step in RUNC_INIT_STEPS:
        assert any(step in msg for _, msg in records), f"{step!r} missing\n{p.stderr}"


@pytest.mark.parametrize("fmt", [None, "text"])
def test_debug_to_log_file_text(rt, bundle, workdir, fmt):
    """debug.bats "global --debug to --log [--log-format text]": nothing on stderr, every line
    of the file a logrus text record, the init's steps included."""
    log = workdir.path / "log.out"
    bundle.process["args"] = ["echo", "hello"]
    extra = ["--log-format", fmt] if fmt else []
    p = rt.run(bundle, new_id(), global_args=["--log", log, *extra, "--debug"])
    assert p.returncode == 0 and p.stdout == "hello\n", describe(p)
    assert "level=debug" not in p.stderr, describe(p)
    records = text_records(log.read_text(), exact_keys=rt.name == "berth-oci")
    assert any(level == "debug" for level, _ in records), log.read_text()
    for step in RUNC_INIT_STEPS:
        assert any(step in msg for _, msg in records), f"{step!r} missing\n{log.read_text()}"


def test_debug_to_log_file_json(rt, bundle, workdir):
    """debug.bats "global --debug to --log --log-format 'json'"."""
    log = workdir.path / "log.out"
    bundle.process["args"] = ["echo", "hello"]
    p = rt.run(bundle, new_id(), global_args=["--log", log, "--log-format", "json", "--debug"])
    assert p.returncode == 0 and p.stdout == "hello\n", describe(p)
    assert p.stderr == "", describe(p)
    records = json_records(log.read_text(), exact_keys=rt.name == "berth-oci")
    assert '"level":"debug"' in log.read_text()
    for step in RUNC_INIT_STEPS:
        assert any(step in r["msg"] for r in records), f"{step!r} missing\n{log.read_text()}"


def test_berth_trace_is_the_debug_records_content(oci, bundle, workdir):
    """berth-oci's µs trace stays: it is the msg of its debug records."""
    log = workdir.path / "log.json"
    bundle.process["args"] = ["true"]
    p = oci.run(bundle, new_id(), global_args=["--log", log, "--log-format", "json", "--debug"])
    assert p.returncode == 0, describe(p)
    msgs = [r["msg"] for r in json_records(log.read_text(), exact_keys=True)]
    assert any(re.match(r"^ *\d+ µs  clone3\(", m) for m in msgs), msgs
    assert any(re.match(r"^ *\d+ µs  pivot_root ", m) for m in msgs), msgs  # the init's side


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_quiet_success_writes_no_record(rt, bundle, workdir, fmt):
    log = workdir.path / "log.out"
    bundle.process["args"] = ["true"]
    p = rt.run(bundle, new_id(), global_args=["--log", log, "--log-format", fmt])
    assert p.returncode == 0 and p.stderr == "", describe(p)
    assert log.read_text() == ""


def test_debug_exec_records(rt, bundle, workdir):
    """exec.bats "runc --debug exec" and "runc --debug --log exec": the exec child's steps."""
    cid = new_id()
    start_sleeper(rt, bundle, cid)
    try:
        p = rt.cmd("exec", cid, "true", global_args=["--debug"])
        assert p.returncode == 0, describe(p)
        assert "level=debug" in p.stderr, describe(p)
        for step in RUNC_EXEC_STEPS:
            assert step in p.stderr, f"{step!r} missing\n{p.stderr}"
        log = workdir.path / "exec.log"
        p = rt.cmd("exec", cid, "true", global_args=["--debug", "--log", log])
        assert p.returncode == 0 and "level=debug" not in p.stderr, describe(p)
        records = text_records(log.read_text())
        for step in RUNC_EXEC_STEPS:
            assert any(step in msg for _, msg in records), f"{step!r} missing\n{log.read_text()}"
    finally:
        stop(rt, cid)


# --------------------------------------------------------------------------
# a failing command's error


def failing_bundle(bundle):
    bundle.process["args"] = ["/no/such/program"]
    return bundle


def test_failed_create_error_is_the_last_json_record(rt, bundle, workdir):
    """containerd's shim reports the msg of the last error record of its --log file."""
    log = workdir.path / "log.json"
    cid = new_id()
    p = rt.create(failing_bundle(bundle), cid, global_args=["--log", log, "--log-format", "json"])
    assert p.returncode == 1, describe(p)
    lines = log.read_text().splitlines()
    records = json_records(log.read_text(), exact_keys=rt.name == "berth-oci")
    assert records and records[-1]["level"] == "error", lines
    msg = last_runtime_error(log)
    assert msg == records[-1]["msg"].strip() and "/no/such/program" in msg, lines
    # the log is elsewhere: the error is also printed on stderr, plain
    assert msg in p.stderr and "level=" not in p.stderr, describe(p)
    if rt.name == "berth-oci":
        # the project's rule: the error names what failed, the value, and the errno text
        assert "No such file or directory" in msg, msg
        assert p.stderr == f"berth-oci: {msg}\n", describe(p)


def test_failed_create_error_last_after_debug_records(rt, bundle, workdir):
    log = workdir.path / "log.json"
    p = rt.create(failing_bundle(bundle), new_id(),
                  global_args=["--debug", "--log", log, "--log-format", "json"])
    assert p.returncode == 1, describe(p)
    records = json_records(log.read_text(), exact_keys=rt.name == "berth-oci")
    assert len(records) > 5 and records[-1]["level"] == "error", records[-5:]
    assert [r for r in records if r["level"] == "error"] == records[-1:], records
    assert "/no/such/program" in last_runtime_error(log)


def test_failed_create_error_as_text_record(rt, bundle, workdir):
    log = workdir.path / "log.txt"
    p = rt.create(failing_bundle(bundle), new_id(), global_args=["--log", log])
    assert p.returncode == 1, describe(p)
    records = text_records(log.read_text())
    assert len(records) == 1 and records[0][0] == "error", log.read_text()
    assert "/no/such/program" in records[0][1]


def test_json_error_on_stderr_without_log(rt, bundle):
    p = rt.create(failing_bundle(bundle), new_id(), global_args=["--log-format", "json"])
    assert p.returncode == 1, describe(p)
    records = json_records(p.stderr, exact_keys=rt.name == "berth-oci")
    assert len(records) == 1 and records[0]["level"] == "error", describe(p)
    assert "/no/such/program" in records[0]["msg"]


def test_text_error_on_stderr_without_log(rt, bundle):
    """runc prints a text record; berth-oci its own line (people read it, no client parses it)."""
    p = rt.create(failing_bundle(bundle), new_id())
    assert p.returncode == 1, describe(p)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "/no/such/program" in lines[0], describe(p)
    if rt.name == "berth-oci":
        assert lines[0].startswith("berth-oci: ") and "No such file or directory" in lines[0]
    else:
        assert text_records(p.stderr)[0][0] == "error"


# The quoting of a record is runc's byte for byte: the same bundle path, with quotes, a
# backslash, HTML characters, control characters, DEL, a tab, a printable and a non-printing
# rune and an invalid byte, escaped as logrus (text, Go's %q) and encoding/json (json) escape it.
ODD_PATH = b'/nonexist/a"b\\c<d>&e\x01\x7f\t\xc2\xb5\xff\xe2\x80\xa8\xc2\xa0z'
ODD_ESCAPED = re.compile(rb"/nonexist/.*?z")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_record_escaping_as_runc(oci, workdir, fmt):
    if runtime_argv("runc") is None:
        pytest.skip("runc is not installed")
    runc = workdir.runner("runc")
    path = os.fsdecode(ODD_PATH)
    escaped = {}
    for r in (oci, runc):
        log = workdir.path / f"{r.name}.{fmt}"
        p = r.cmd("create", "--bundle", path, new_id(),
                  global_args=["--log", log, "--log-format", fmt])
        assert p.returncode == 1, describe(p)
        raw = log.read_bytes()
        assert raw.count(b"\n") == 1 and raw.endswith(b"\n"), raw
        m = ODD_ESCAPED.search(raw)
        assert m, raw
        escaped[r.name] = m.group(0)
    assert escaped["berth-oci"] == escaped["runc"], escaped


# --------------------------------------------------------------------------
# where the log goes: a fifo, /dev/stderr


def test_log_to_a_fifo(rt, bundle, workdir):
    """A reader that stops at the first EOF gets every record: berth-oci re-executes itself
    from a sealed binary before it clones, and keeps the fifo open across that execve (a close
    and a reopen would end the reader, and the reopen then block for ever)."""
    fifo = workdir.path / "log.fifo"
    os.mkfifo(fifo)
    got = []

    def read():
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    bundle.process["args"] = ["echo", "hello"]
    p = rt.run(bundle, new_id(), global_args=["--debug", "--log", fifo, "--log-format", "json"])
    reader.join(CMD_TIMEOUT)
    assert p.returncode == 0 and p.stdout == "hello\n", describe(p)
    assert got, "the reader saw no EOF"
    records = json_records(got[0].decode(), exact_keys=rt.name == "berth-oci")
    for step in RUNC_INIT_STEPS:
        assert any(step in r["msg"] for r in records), f"{step!r} missing\n{got[0][:2000]}"


def test_log_to_dev_stderr(rt, bundle):
    """--log /dev/stderr: the records on stderr, the init's among them, in the log's format."""
    bundle.process["args"] = ["echo", "hello"]
    p = rt.run(bundle, new_id(), global_args=["--debug", "--log", "/dev/stderr"])
    assert p.returncode == 0 and p.stdout == "hello\n", describe(p)
    records = text_records(p.stderr)
    for step in RUNC_INIT_STEPS:
        assert any(step in msg for _, msg in records), f"{step!r} missing\n{p.stderr}"


# --------------------------------------------------------------------------
# help, unknown commands, --version


@pytest.mark.parametrize("argv", [["help", "foo"], ["foo"], ["foo", "-h"], ["h", "foo"]])
def test_no_help_topic(rt, argv):
    """help.bats "runc foo -h": "No help topic for 'foo'", exit status 3, nothing on stdout."""
    p = rt.cmd(*argv)
    assert p.returncode == 3 and p.stdout == "", describe(p)
    assert "No help topic for 'foo'" in p.stderr, describe(p)
    assert len(p.stderr.splitlines()) == 1, describe(p)


def test_no_help_topic_json(rt):
    p = rt.cmd("help", "foo", global_args=["--log-format", "json"])
    assert p.returncode == 3, describe(p)
    records = json_records(p.stderr, exact_keys=True)
    assert len(records) == 1 and records[0]["level"] == "error", describe(p)
    assert records[0]["msg"].strip() == "No help topic for 'foo'", records


def test_no_help_topic_to_log_file(rt, workdir):
    log = workdir.path / "log.json"
    p = rt.cmd("help", "foo", global_args=["--log", log, "--log-format", "json"])
    assert p.returncode == 3, describe(p)
    assert last_runtime_error(log) == "No help topic for 'foo'"


RUNC_COMMANDS = ("checkpoint", "create", "delete", "events", "exec", "kill", "list", "pause",
                 "ps", "restore", "resume", "run", "spec", "start", "state", "update", "features")


@pytest.mark.parametrize("form", ["--help", "-h", "help", "h"])
@pytest.mark.parametrize("cmd", RUNC_COMMANDS)
def test_command_help_layout(rt, cmd, form):
    """help.bats "runc command -h": NAME on the first line, "PROG CMD - ..." on the second;
    then USAGE, and OPTIONS last, ending in urfave/cli's indented empty line; stdout, exit 0."""
    p = rt.cmd(form, cmd) if form in ("help", "h") else rt.cmd(cmd, form)
    assert p.returncode == 0 and p.stderr == "", describe(p)
    lines = p.stdout.split("\n")
    assert lines[0] == "NAME:", describe(p)
    assert lines[1].startswith(f"   {prog(rt)} {cmd} - "), describe(p)
    sections = [line[:-1] for line in lines if re.fullmatch(r"[A-Z]+:", line)]
    assert sections[:2] == ["NAME", "USAGE"], sections
    assert lines[lines.index("USAGE:") + 1].startswith(f"   {prog(rt)} {cmd}"), describe(p)
    if "OPTIONS" in sections:
        assert sections[-1] == "OPTIONS", sections
        assert p.stdout.endswith("\n   \n"), repr(p.stdout[-80:])


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["help"], ["h"], []])
def test_main_help(rt, argv):
    """help.bats "runc -h": NAME, "PROG - Open Container Initiative runtime"; every runc
    command and global flag listed, in runc's order."""
    p = rt.cmd(*argv)
    assert p.returncode == 0 and p.stderr == "", describe(p)
    lines = p.stdout.splitlines()
    assert lines[0] == "NAME:"
    assert lines[1] == f"   {prog(rt)} - Open Container Initiative runtime"
    listed = p.stdout.split("COMMANDS:\n")[1].split("\n\n")[0]
    commands = re.findall(r"^   ([a-z]+)", listed, re.M)
    assert commands == [*RUNC_COMMANDS, "help"], commands
    flags = re.findall(r"^   (--[a-z-]+)", p.stdout.split("GLOBAL OPTIONS:\n")[1], re.M)
    assert flags == ["--debug", "--log", "--log-format", "--root", "--criu", "--systemd-cgroup",
                     "--rootless", "--help", "--version"], flags


def parse_runtime_version(text):
    """docker's daemon/info_unix.go parseRuntimeVersion: (runtime, version, commit)."""
    runtime = version = commit = ""
    for line in text.strip().split("\n"):
        if "version" in line:
            parts = line.split("version")
            runtime, version = parts[0].strip(), parts[-1].strip()
        elif line.startswith("commit:"):
            commit = line[len("commit:"):].strip()
    return runtime, version, commit


@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version(rt, flag):
    """version.bats: "PROG version X.Y.Z", "commit:", "spec: X.Y.Z" on the first three lines;
    docker's parser finds the runtime, its version and its commit."""
    p = rt.cmd(flag)
    assert p.returncode == 0 and p.stderr == "", describe(p)
    lines = p.stdout.splitlines()
    assert re.match(rf"{prog(rt)} version \d+\.\d+\.\d+", lines[0]), lines
    assert re.match(r"commit: \S+$", lines[1]), lines
    assert re.match(r"spec: \d+\.\d+\.\d+", lines[2]), lines
    runtime, version, commit = parse_runtime_version(p.stdout)
    assert runtime == prog(rt) and version and commit, (runtime, version, commit)
