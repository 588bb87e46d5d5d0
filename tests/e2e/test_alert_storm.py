"""Issue 17: an alert storm folds and loses nothing. One uid rebinding
127.0.0.1:P under another uid's UDP wildcard in a loop raises one alert per
bind; the first goes out at once, the repeats within [alerts] fold_window
leave as one summary alert carrying their count and ports. In a real
rsyslogd's output the records' counts add up to what `stats` counted."""
import re
import time

from pwe2e import wait_until

BINDS = 300


def test_hijack_loop_folds_into_a_few_records(daemon_factory, rsyslog, actors, port):
    d = daemon_factory(config="[alerts]\nfold_window = 3\n")
    holder = actors(uid=1951)
    thief = actors(uid=1952)
    r = holder.bound("w", "0.0.0.0", port, type="udp", reuseaddr=True)
    d.wait_inode(r["inode"], port=port)
    base = d.stats()
    t0 = time.monotonic()
    for i in range(BINDS):
        assert thief.bound("t", "127.0.0.1", port, type="udp", reuseaddr=True)["ok"]
        assert thief.close("t")["ok"]
    d.sync()
    wait_until(lambda: d.stats()["alerts"] - base["alerts"] >= BINDS, what="%d alerts" % BINDS)
    # past the window, the summary is out
    time.sleep(max(0.0, 3.5 - (time.monotonic() - t0)))
    wait_until(lambda: d.stats()["alerts_folded"] - base["alerts_folded"] >= 1,
               what="some alerts folded")
    # stats count every alert on the host (others' too): at least ours
    st = d.stats()
    assert st["alerts"] - base["alerts"] >= BINDS, st

    def records():
        return [l for l in rsyslog.lines_of(d) if "reason=shadow_wildcard" in l and
                " local=127.0.0.1:%d " % port in l]

    def total(lines):
        return sum(int(m.group(1)) if (m := re.search(r" folded=(\d+) ", l)) else 1
                   for l in lines)

    wait_until(lambda: total(records()) == BINDS, timeout=15,
               what="syslog records adding up to %d" % BINDS)
    lines = records()
    assert len(lines) <= 6, "%d records for one storm:\n%s" % (len(lines), "\n".join(lines))
    folded = sum(int(m.group(1)) for l in lines if (m := re.search(r" folded=(\d+) ", l)))
    assert folded >= 1
    # the same in `alerts`: the alerts about the port, summaries with their count,
    # add up to the binds, and the summaries to what syslog said was folded
    mine = [a for a in d.alerts() if a["port"] == port and a["reason"] == "shadow_wildcard"]
    summaries = [a for a in mine if a.get("folded")]
    assert sum(a["folded"]["count"] if a.get("folded") else 1 for a in mine) == BINDS, mine
    assert summaries and sum(a["folded"]["count"] for a in summaries) == folded, summaries
    assert summaries[0]["folded"]["ports"] == [port]
