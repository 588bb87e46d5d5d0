"""The rule engine against the kernel: the seeded differential test of
difftest.py (see there). `make test` runs four fixed seeds of 2,500
predicted operations each (bind, listen, connect: each compared with the
kernel's answer), every one in a fresh network namespace, and each must
agree on every call; `make fuzz-rules SEED=... OPS=...` runs one seed of
any length (PW_DIFF_SEED / PW_DIFF_OPS).

Luck decides nothing here:
- every run starts with a fixed prelude that makes the kernel refuse for
  each rule of the floor below, so that the floor holds for every seed;
- the kernel's own choices (the port of a port-0 bind or an autobinding
  connect, the listener an SO_REUSEPORT group hands a connection to) are
  recorded in the dump ("choices"), and PW_DIFF_REPLAY=DUMP runs the same
  seed again with those ports pinned (ip_local_port_range narrowed to the
  recorded port around each such call), so that a failure reproduces from
  its dump; a replay that meets another choice stops and says where;
- a refusal predicted because of TIME_WAIT that the kernel let through
  while a TIME_WAIT entry on a port of that call expired (possible only in
  runs longer than 60 s) is reported as a race, not counted: the kernel
  changed between the check and the call; a run under 60 s allows none.

The daemon enforces the protect rules of difftest.protect_config() on
PROTECTED_PORT of the run's namespace (owners by uid and by executable,
takeover protection with a short window): `check` must agree with the
kernel there too, and the kernel's EPERM refusals (rule protected) are
part of the floor. A hold whose deadline passes between a check and its
call is a race like an expiring TIME_WAIT entry, and so reported.

Each run's namespace has two tun devices up, pwd0 and pwd1 (this kernel
has no dummy driver), and per-run sysctls drawn from the seed
(difftest.draw_sysctls(): ip_unprivileged_port_start, ip_nonlocal_bind
for IPv4 and IPv6); the dump records them ("sysctls") and a replay sets
those of the dump.

PW_DIFF_DUMP=FILE writes the summary, every disagreement, the kernel's
choices and the whole operation log there (on failure it goes to
build/difftest-SEED.json anyway).
"""
import json
import os
import subprocess

import pytest

from difftest import (EPH_HI, EPH_LO, PRIV_PORTS, SYSCTL_NONLOCAL4, SYSCTL_NONLOCAL6,
                      SYSCTL_START, TAKEOVER_WINDOW_S, TUN_DEVICES, Run, draw_sysctls,
                      protect_config)
from pwe2e import ROOT, netns_inode

REPLAY = os.environ.get("PW_DIFF_REPLAY")
if REPLAY:
    with open(REPLAY) as _fh:
        _DUMP = json.load(_fh)
    SEEDS = (_DUMP["summary"]["seed"],)
    OPS = _DUMP["summary"]["ops"]
elif os.environ.get("PW_DIFF_SEED"):
    SEEDS = (int(os.environ["PW_DIFF_SEED"]),)
    OPS = int(os.environ.get("PW_DIFF_OPS", "5000"))
else:
    SEEDS = (20261123, 1, 2, 3)
    OPS = int(os.environ.get("PW_DIFF_OPS", "2500"))


def _write_dump(path, run, error=None):
    with open(path, "w") as fh:
        json.dump({"summary": run.summary(), "sysctls": run.sysctls, "error": error,
                   "disagreements": run.disagreements,
                   "races": run.races, "choices": run.choices, "log": run.full}, fh, indent=1)


@pytest.mark.parametrize("seed", SEEDS)
def test_differential_kernel_agreement(daemon_factory, netns, other_exe, seed):
    name = netns()
    daemon = daemon_factory(config=protect_config(name, other_exe))
    for dev in TUN_DEVICES:
        subprocess.run(["ip", "-n", name, "tuntap", "add", "dev", dev, "mode", "tun"],
                       check=True, timeout=10)
        subprocess.run(["ip", "-n", name, "link", "set", dev, "up"], check=True, timeout=10)
    # the run's own sysctls: from the seed, or those of the replayed dump
    sysctls = _DUMP["sysctls"] if REPLAY else draw_sysctls(seed)
    # a narrow ephemeral range with a reserved port: port-0 binds and
    # autobinding connects compete for it and use it up. An even number of
    # ports: with an odd one the kernel's TCP walks try one of the edge
    # ports at random (the engine says "uncertain" then; test_rules.c)
    for setting in ("net.ipv4.tcp_tw_reuse=0",
                    "net.ipv4.ip_local_port_range=%d %d" % (EPH_LO, EPH_HI),
                    "net.ipv4.ip_local_reserved_ports=%d" % (EPH_LO + 4),
                    *("%s=%s" % kv for kv in sorted(sysctls.items()))):
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", setting], check=True,
                       timeout=10)
    run = Run(daemon, name, netns_inode(name), seed, OPS,
              replay=_DUMP["choices"] if REPLAY else None, sysctls=sysctls,
              alt_exe=other_exe)
    default_dump = os.path.join(ROOT, "build", "difftest-%d.json" % seed)
    try:
        run.run()
    except AssertionError as e:  # a Diverged replay, or a driver that went wrong
        run.elapsed = 0.0
        _write_dump(os.environ.get("PW_DIFF_DUMP") or default_dump, run, error=str(e))
        raise AssertionError("%s\n(the run so far in %s)" % (
            e, os.environ.get("PW_DIFF_DUMP") or default_dump)) from e
    finally:
        run.close_all()
    s = run.summary()
    problems = []
    if s["predictions"] < OPS:
        problems.append("only %d predictions" % s["predictions"])
    # a race needs a TIME_WAIT entry to expire: none in a run under 60 s, rare
    # after; or a hold to end (TAKEOVER_WINDOW_S), which the prelude's does
    # in every run: rare too
    allowed = (0 if s["seconds"] < 60 else s["predictions"] // 10000) + \
        (0 if s["seconds"] < TAKEOVER_WINDOW_S else 1 + s["predictions"] // 2000)
    if len(run.races) > allowed:
        problems.append("%d races allowed, %d seen: %s" % (allowed, len(run.races),
                                                           json.dumps(run.races[:5])))
    if run.disagreements:
        problems.append("%d disagreements, first:\n%s" % (
            len(run.disagreements), json.dumps(run.disagreements[0], indent=1)))
    # the run must have met what the rules are about, not only easy cases:
    # each call succeeded and failed somewhere, and the kernel refused for
    # each of these reasons at least once (the prelude sees to that; a
    # driver or daemon change that loses one fails here)
    for op in ("bind", "listen", "connect"):
        if not s["predicted"].get(op):
            problems.append("no %s was predicted" % op)
    # (four_tuple is left out of the floor: kernel-chosen ports make it 2 to 14
    # a run, which could be 0; test_conflicts.py has a four_tuple case of its own)
    floor = {rule: 1 for rule in ("time_wait", "listener", "wildcard_listener",
                                  "reuseport_uid", "no_reuseaddr", "ephemeral_exhausted",
                                  "protected")}
    # the checks before any conflict, as often as the draws make them
    # likely by far (tens of times a run; the prelude makes each at least
    # once), where the run's sysctls leave them possible at all
    modest = max(1, OPS // 500)
    floor.update(multicast_stream=modest, needs_device=modest)
    if not (sysctls[SYSCTL_NONLOCAL4] and sysctls[SYSCTL_NONLOCAL6]):
        floor["no_local_address"] = modest
    if min(PRIV_PORTS) < sysctls[SYSCTL_START]:
        floor["privileged_port"] = modest
    for rule, least in sorted(floor.items()):
        seen = s["kernel_refusals_by_rule"].get(rule, 0)
        if seen < least:
            problems.append("the kernel refused for rule %s %d times, fewer than %d" % (
                rule, seen, least))
    dump = os.environ.get("PW_DIFF_DUMP")
    if problems and not dump:
        dump = default_dump
    if dump:
        _write_dump(dump, run)
    print("differential:", json.dumps(dict(s, sysctls=sysctls), sort_keys=True))
    assert not problems, "\n".join(problems) + "\n(whole run in %s)" % dump
    assert s["agreement"] == 1.0
