"""The node_exporter textfile of `[metrics] textfile` (issue 15, item 3):
written atomically every interval by the real daemon, valid in the
Prometheus text format 0.0.4, and saying what `stats` says.

Validity is checked by the strict parser below, always, and also by
`promtool check metrics` when a promtool is found (PW_PROMTOOL or PATH).
Debian ships promtool only inside the `prometheus` package, whose postinst
enables and starts a Prometheus server: not a test dependency to install
on every machine that runs the suite."""
import math
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from pwe2e import PORTWATCHD, wait_until

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
# labels that would make a series per process, port, address or user
UNBOUNDED = {"pid", "port", "addr", "address", "uid", "user", "inode", "exe", "comm"}


class FormatError(AssertionError):
    pass


def _value(text, where):
    if text in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(text.replace("Inf", "inf"))
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        raise FormatError("%s: value %r is not a float" % (where, text))
    return float(text)


def _labels(text, where):
    """The inside of {...}: ((name, value), ...) in order; raises on any fault."""
    out, i = [], 0
    while i < len(text):
        m = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"").match(text, i)
        if not m:
            raise FormatError("%s: bad label at %r" % (where, text[i:]))
        name, i, val = m.group(1), m.end(), []
        while True:
            if i >= len(text):
                raise FormatError("%s: unterminated value of label %s" % (where, name))
            c = text[i]
            if c == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise FormatError("%s: bad escape \\%s in label %s" % (where, esc, name))
                val.append("\n" if esc == "n" else esc)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise FormatError("%s: raw newline in label %s" % (where, name))
            else:
                val.append(c)
                i += 1
        if name.startswith("__"):
            raise FormatError("%s: label name %s is reserved" % (where, name))
        if any(n == name for n, _ in out):
            raise FormatError("%s: label %s twice" % (where, name))
        out.append((name, "".join(val)))
        if i < len(text):
            if text[i] != ",":
                raise FormatError("%s: expected ',' after label %s" % (where, name))
            i += 1
            if i == len(text):
                break  # a trailing comma is allowed
    return tuple(out)


def parse_metrics(text):
    """Strict reading of the text format 0.0.4: every line a # HELP, # TYPE,
    other comment or sample; a valid metric name, labels and float value;
    one TYPE and one HELP per family, before its samples; a family's lines
    together; no series twice. Stricter than the format where our output
    allows: no blank lines, no timestamps, a TYPE for every family.
    Returns {family: {"type", "help", "samples": {labels: value}}}."""
    if not text.endswith("\n"):
        raise FormatError("the file does not end with a newline (cut short?)")
    fams, done, current = {}, set(), None

    def family(name, where):
        nonlocal current
        if name != current:
            if name in done or (current is not None and name in fams and name != current):
                raise FormatError("%s: lines of %s are not together" % (where, name))
            if current is not None:
                done.add(current)
            current = name
        return fams.setdefault(name, {"type": None, "help": None, "samples": {}})

    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d %r" % (n, line)
        if not line.strip():
            raise FormatError("%s: blank line" % where)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[0] == "#" and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME_RE.match(name):
                    raise FormatError("%s: bad metric name" % where)
                f = family(name, where)
                key = parts[1].lower()
                if f[key] is not None:
                    raise FormatError("%s: second %s of %s" % (where, parts[1], name))
                if f["samples"]:
                    raise FormatError("%s: %s after samples of %s" % (where, parts[1], name))
                arg = parts[3] if len(parts) == 4 else ""
                if key == "type" and arg not in TYPES:
                    raise FormatError("%s: unknown type %r" % (where, arg))
                if key == "help" and re.search(r"\\[^\\n]", arg):
                    raise FormatError("%s: bad escape in HELP" % where)
                f[key] = arg
            continue
        m = re.fullmatch(r"([^{ ]+)(?:\{(.*)\})? ([^ ]+)", line)
        if not m:
            raise FormatError("%s: not a sample (or has a timestamp)" % where)
        name, labels, value = m.group(1), _labels(m.group(2) or "", where), m.group(3)
        if not NAME_RE.match(name):
            raise FormatError("%s: bad metric name" % where)
        f = family(name, where)
        if f["type"] is None:
            raise FormatError("%s: sample before the TYPE of %s" % (where, name))
        key = tuple(sorted(labels))
        if key in f["samples"]:
            raise FormatError("%s: series twice" % where)
        v = _value(value, where)
        if f["type"] == "counter" and (math.isnan(v) or v < 0):
            raise FormatError("%s: a counter below zero" % where)
        f["samples"][key] = v
    for name, f in fams.items():
        if f["type"] is None:
            raise FormatError("%s has a HELP and no TYPE" % name)
    return fams


def test_parser_rejects_what_the_format_does():
    good = "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\\\"\\n\\\\\"} 1\n"
    assert parse_metrics(good)["a_total"]["samples"] == {(("k", 'v"\n\\'),): 1.0}
    bad = [
        "a 1\n",                                                   # no TYPE
        "# TYPE a gauge\na 1",                                     # no final newline
        "# TYPE a gauge\na 1\na 2\n",                              # series twice
        "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",                  # label twice
        "# TYPE a gauge\na{x=\"\\t\"} 1\n",                        # bad escape
        "# TYPE a gauge\na{x=\"1} 1\n",                            # unterminated
        "# TYPE a gauge\na one\n",                                 # not a float
        "# TYPE 1a gauge\n",                                       # bad name
        "# TYPE a gauges\n",                                       # bad type
        "# TYPE a gauge\n# TYPE a gauge\n",                        # TYPE twice
        "# TYPE a gauge\na 1\n# TYPE a gauge\n",                   # TYPE after samples
        "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n",              # a's lines apart
        "# TYPE a counter\na -1\n",                                # negative counter
        "# TYPE a gauge\n\na 1\n",                                 # blank line
        "# TYPE a gauge\na{__x=\"1\"} 1\n",                        # reserved label
    ]
    for text in bad:
        with pytest.raises(FormatError):
            parse_metrics(text)


def promtool():
    return os.environ.get("PW_PROMTOOL") or shutil.which("promtool")


def check_file(path):
    """Parse and validate path; also through promtool when there is one."""
    with open(path) as fh:
        text = fh.read()
    fams = parse_metrics(text)
    tool = promtool()
    if tool:
        r = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, "promtool check metrics:\n%s%s" % (r.stdout, r.stderr)
    for name, f in fams.items():
        assert name.startswith("portwatch_"), name
        assert f["help"], "%s has no HELP" % name
        assert (f["type"] == "counter") == name.endswith("_total"), name
        for labels in f["samples"]:
            assert not UNBOUNDED & {k for k, _ in labels}, (name, labels)
    return fams


def one(fams, name, **labels):
    return fams[name]["samples"][tuple(sorted(labels.items()))]


def wait_rewritten(path, ino, timeout=5.0):
    """Wait until path is a new file (rename(2) of a fresh one); its st_ino."""
    def new():
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return st.st_ino if st.st_ino != ino else None
    return wait_until(new, timeout, interval=0.02, what="%s to be written again" % path)


def compare(fams, s):
    """What the file says against a `stats` answer; returns the differences."""
    diff = []

    def eq(what, a, b):
        if a != b:
            diff.append("%s: file %r, stats %r" % (what, a, b))
    for t, n in s["events"].items():
        eq("events " + t, one(fams, "portwatch_events_total", type=t), n)
    eq("dropped", one(fams, "portwatch_events_dropped_total"), s["dropped"])
    eq("filtered", one(fams, "portwatch_events_filtered_total"), s["filtered"])
    alerts = fams["portwatch_alerts_total"]["samples"]
    eq("alerts", sum(alerts.values()), s["alerts"])
    for kind, n in s["alerts_by_kind"].items():
        eq("alerts of kind " + kind,
           sum(v for k, v in alerts.items() if dict(k)["kind"] == kind), n)
    eq("alerts folded", one(fams, "portwatch_alerts_folded_total"), s["alerts_folded"])
    eq("conflicts", one(fams, "portwatch_conflicts_total"), s["conflicts"])
    eq("table size", sum(fams["portwatch_sockets"]["samples"].values()), s["table_size"])
    eq("netns", one(fams, "portwatch_netns"), s["netns"])
    eq("reconciliations", one(fams, "portwatch_reconciliations_total"), s["reconciliations"])
    eq("reconcile seconds", one(fams, "portwatch_reconcile_seconds"),
       s["last_reconcile_ms"] / 1000)
    return diff


@pytest.fixture
def metrics_dir():
    d = tempfile.mkdtemp(prefix="pwt-metrics-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_metrics_file_matches_stats(daemon_factory, actors, port, metrics_dir):
    path = os.path.join(metrics_dir, "portwatch.prom")
    d = daemon_factory(config="[metrics]\ntextfile = %s\ninterval = 1\n" % path)
    # written when ready, not one interval later; 0644 under any umask
    ino = wait_rewritten(path, None, timeout=3)
    assert os.stat(path).st_mode & 0o7777 == 0o644
    check_file(path)

    # sockets of both protocols and an alert: udp_share across uids is critical
    a, b = actors(uid=1234), actors(uid=1235)
    a.bound("l", "127.0.0.1", port, listen=True)
    a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    d.sync()
    b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    d.wait_alert(lambda x: x["port"] == port and x["reason"] == "udp_share")
    d.sync()

    # every interval, a new file; nothing else left in the directory
    ino = wait_rewritten(path, ino, timeout=3)
    assert sorted(os.listdir(metrics_dir)) == ["portwatch.prom"]

    # Counters against `stats`: stats, a fresh write, stats again; where both
    # answers agree the write between them must say the same exactly (other
    # programs on the host may bind meanwhile: then try again).
    last = None
    for _ in range(20):
        s1 = d.stats()
        ino = wait_rewritten(path, ino, timeout=3)
        fams = check_file(path)
        s2 = d.stats()
        last = compare(fams, s2)
        if not compare(fams, s1) and not last:
            break
    else:
        pytest.fail("the file never matched stats: %s" % last)

    assert one(fams, "portwatch_alerts_total", kind="hijack_attempt", reason="udp_share",
               severity="critical") >= 1
    assert one(fams, "portwatch_sockets", proto="tcp", state="LISTEN") >= 1
    assert one(fams, "portwatch_sockets", proto="udp", state="BOUND") >= 2
    assert fams["portwatch_sockets"]["type"] == "gauge"
    assert one(fams, "portwatch_metrics_write_errors_total") == 0
    version = subprocess.run([PORTWATCHD, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    assert one(fams, "portwatch_build_info", version=version, kernel=os.uname().release,
               fd_to_socket=s2["kernel"]["fd_to_socket"]) == 1

    # once more at exit, with the final counts
    assert d.stop() == 0
    wait_rewritten(path, ino, timeout=1)
    check_file(path)
    assert sorted(os.listdir(metrics_dir)) == ["portwatch.prom"]


def test_write_errors_are_logged_once_and_counted(daemon_factory, metrics_dir):
    sub = os.path.join(metrics_dir, "later")
    path = os.path.join(sub, "portwatch.prom")
    d = daemon_factory(config="[metrics]\ntextfile = %s\ninterval = 1\n" % path)
    # the write at start and two ticks fail the same way: one line
    wait_until(lambda: d.log().count("metrics: cannot") >= 1, 3, what="the first failure")
    time.sleep(2.5)
    lines = [x for x in d.log().splitlines() if "metrics: cannot" in x]
    assert len(lines) == 1, lines
    assert path in lines[0] and "No such file or directory" in lines[0], lines[0]
    os.mkdir(sub)
    wait_rewritten(path, None, timeout=3)
    fams = check_file(path)
    assert one(fams, "portwatch_metrics_write_errors_total") >= 3
    wait_until(lambda: "written again, after" in d.log(), 2, what="the recovery line")
