"""The rule engine against the kernel: the seeded differential test of
difftest.py (see there). `make test` runs a fixed seed for 5000 predicted
operations (bind, listen, connect: each compared with the kernel's answer);
`make fuzz-rules SEED=... OPS=...` runs the same test with PW_DIFF_SEED /
PW_DIFF_OPS. PW_DIFF_DUMP=FILE writes the summary, every disagreement and
the whole operation log there (on failure it goes to build/difftest-SEED.json
anyway). Kernel-chosen ports (port 0, autobind) feed back into the run, so
a seed describes a run but does not replay it exactly. A refusal predicted
because of TIME_WAIT that the kernel let through while a TIME_WAIT entry on
a port of that call expired (possible only in runs longer than 60 s) is
reported as a race, not counted: the kernel changed between the check and
the call; a run under 60 s allows none."""
import json
import os
import subprocess

from difftest import EPH_HI, EPH_LO, Run
from pwe2e import ROOT, netns_inode

SEED = int(os.environ.get("PW_DIFF_SEED", "20261123"))
OPS = int(os.environ.get("PW_DIFF_OPS", "5000"))


def test_differential_kernel_agreement(daemon, netns):
    name = netns()
    # a narrow ephemeral range with a reserved port: port-0 binds and
    # autobinding connects compete for it and use it up. An even number of
    # ports: with an odd one the kernel's TCP walks try one of the edge
    # ports at random (the engine says "uncertain" then; test_rules.c)
    for setting in ("net.ipv4.tcp_tw_reuse=0",
                    "net.ipv4.ip_local_port_range=%d %d" % (EPH_LO, EPH_HI),
                    "net.ipv4.ip_local_reserved_ports=%d" % (EPH_LO + 4)):
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", setting], check=True,
                       timeout=10)
    run = Run(daemon, name, netns_inode(name), SEED, OPS)
    try:
        run.run()
    finally:
        run.close_all()
    s = run.summary()
    problems = []
    if s["predictions"] < OPS:
        problems.append("only %d predictions" % s["predictions"])
    # a race needs a TIME_WAIT entry to expire: none in a run under 60 s, rare after
    allowed = 0 if s["seconds"] < 60 else s["predictions"] // 10000
    if len(run.races) > allowed:
        problems.append("%d races allowed, %d seen: %s" % (allowed, len(run.races),
                                                           json.dumps(run.races[:5])))
    if run.disagreements:
        problems.append("%d disagreements, first:\n%s" % (
            len(run.disagreements), json.dumps(run.disagreements[0], indent=1)))
    # the run must have met what the rules are about, not only easy cases:
    # each call succeeded and failed somewhere, and the kernel refused for
    # each of these reasons at least once (a generator change that loses one
    # fails here instead of passing on fewer cases)
    for op in ("bind", "listen", "connect"):
        if not s["predicted"].get(op):
            problems.append("no %s was predicted" % op)
    # (four_tuple is left out of the floor: kernel-chosen ports make it 2 to 14
    # a run, which could be 0; test_conflicts.py has a four_tuple case of its own)
    for rule in ("time_wait", "listener", "wildcard_listener", "reuseport_uid",
                 "no_reuseaddr", "ephemeral_exhausted"):
        if not s["kernel_refusals_by_rule"].get(rule):
            problems.append("the kernel never refused for rule %s" % rule)
    dump = os.environ.get("PW_DIFF_DUMP")
    if problems and not dump:
        dump = os.path.join(ROOT, "build", "difftest-%d.json" % SEED)
    if dump:
        with open(dump, "w") as fh:
            json.dump({"summary": s, "disagreements": run.disagreements, "races": run.races,
                       "log": run.full}, fh, indent=1)
    print("differential:", json.dumps(s, sort_keys=True))
    assert not problems, "\n".join(problems) + "\n(whole run in %s)" % dump
    assert s["agreement"] == 1.0
