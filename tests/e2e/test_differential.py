"""The rule engine against the kernel: the seeded differential test of
difftest.py (see there). `make test` runs a fixed seed for 5000 predicted
operations (bind, listen, connect: each compared with the kernel's answer);
`make fuzz-rules SEED=... OPS=...` runs the same test with PW_DIFF_SEED /
PW_DIFF_OPS. PW_DIFF_DUMP=FILE writes the summary, every disagreement and
the whole operation log there. A disagreement during which a TIME_WAIT
entry expired (possible only in runs longer than 60 s) is reported as a
race, not counted: the kernel changed between the check and the call."""
import json
import os
import subprocess

from difftest import EPH_HI, EPH_LO, Run
from pwe2e import netns_inode

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
    dump = os.environ.get("PW_DIFF_DUMP")
    if dump:
        with open(dump, "w") as fh:
            json.dump({"summary": s, "disagreements": run.disagreements, "races": run.races,
                       "log": run.full}, fh, indent=1)
    print("differential:", json.dumps(s, sort_keys=True))
    assert s["predictions"] >= OPS, s
    # a race needs a TIME_WAIT entry to expire: not before 60 s, and rare
    assert len(run.races) <= max(1, s["predictions"] // 10000), run.races
    assert not run.disagreements, "%d disagreements, first:\n%s" % (
        len(run.disagreements), json.dumps(run.disagreements[0], indent=1))
    assert s["agreement"] == 1.0
