"""Issue 13: an idle daemon does not wake up, and still misses nothing.

The daemon drains the ring buffer on a timer only while events keep
coming; once the ring is empty it tells the BPF side it is asleep and
blocks with no timer but the housekeeping tick (every 2 s while idle).
The first event
after that wakes it (bpf/portwatch.bpf.c, event_submit(); portwatchd.c,
ring_settle()).

Wake-ups are the daemon's voluntary context switches (/proc/PID/status),
counted over windows in which it handled no event (the daemon watches the
whole host: other programs' binds wake it, rightly). Alerts are read from a
`subscribe` stream and nothing else is asked of the daemon meanwhile:
requests drain the ring before they are served, so polling with requests
would fetch a stranded event and hide it. Here a stranded event is an
alert that never comes (the periodic reconciliation is off)."""
import random
import time

import pytest

WINDOW_S = 3
# housekeeping every 2 s while idle (PW_IDLE_TICK_S; the first tick after
# the last event is 1 s), plus slack for the window's edges; before issue
# 13 the 5 ms flush timer made ~600 in such a window
MAX_WAKEUPS = WINDOW_S + 2
NO_FOLD = "[alerts]\nfold_window = 0\n"


def voluntary_switches(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches in /proc/%d/status" % pid)


def events_handled(daemon):
    return sum(daemon.stats()["events"].values())


def quiet_wakeups(daemon, tries=6):
    """Wake-ups over the first WINDOW_S window with no event handled, or None."""
    for _ in range(tries):
        ev = events_handled(daemon)
        n0 = voluntary_switches(daemon.pid)
        time.sleep(WINDOW_S)
        n1 = voluntary_switches(daemon.pid)
        if events_handled(daemon) == ev:
            return n1 - n0
    return None


def next_alert(sub, inode):
    """The alert about contender inode from the subscribe stream."""
    while True:
        msg = sub.recv()
        a = msg.get("alert")
        if a and a["contender"]["inode"] == inode:
            return a


def test_idle_daemon_sleeps(daemon):
    n = quiet_wakeups(daemon)
    if n is None:
        pytest.skip("no window of %d s without socket events on this host" % WINDOW_S)
    assert n <= MAX_WAKEUPS, "%d wake-ups in %d s with no event" % (n, WINDOW_S)


def test_alert_wakes_an_idle_daemon(daemon_factory, actors, port):
    """The event itself wakes the daemon. Were it left in the ring, the next
    housekeeping tick (1 s) would find it: the median delay over the rounds
    tells the two apart with a wide margin (the bound is a quarter of that
    period; a wake-up takes well under a millisecond)."""
    daemon = daemon_factory(config=NO_FOLD)
    holder = actors(uid=1920)
    thief = actors(uid=1921)
    holder.bound("w", "0.0.0.0", port, type="udp", reuseaddr=True)
    sub = daemon.connect()
    assert sub.request({"cmd": "subscribe"})["ok"]
    delays = []
    for i in range(12):
        time.sleep(0.1)  # the daemon's timer finds the ring empty: asleep
        t = time.monotonic()
        r = thief.bound("t%d" % i, "127.0.0.1", port, type="udp", reuseaddr=True)
        a = next_alert(sub, r["inode"])
        delays.append(time.monotonic() - t)
        assert (a["kind"], a["reason"]) == ("hijack_attempt", "shadow_wildcard")
        thief.close("t%d" % i)
    delays.sort()
    assert delays[len(delays) // 2] < 0.25, "bind -> alert delays: %s" % delays
    sub.close()


def test_no_event_stranded_across_sleep_and_wake(daemon_factory, actors, port):
    """Hijack binds at random spacings around the drain period (1 ms): some
    land while the daemon drains on its timer, some just as it goes to
    sleep, some after. Every alert must come without any request."""
    daemon = daemon_factory(config=NO_FOLD)
    holder = actors(uid=1922)
    thief = actors(uid=1923)
    holder.bound("w", "0.0.0.0", port, type="udp", reuseaddr=True)
    sub = daemon.connect()
    assert sub.request({"cmd": "subscribe"})["ok"]
    rng = random.Random(13)
    for i in range(60):
        time.sleep(rng.choice((0, 0.0005, 0.001, 0.002, 0.005, 0.02)))
        r = thief.bound("t%d" % i, "127.0.0.1", port, type="udp", reuseaddr=True)
        next_alert(sub, r["inode"])
        thief.close("t%d" % i)
    sub.close()
