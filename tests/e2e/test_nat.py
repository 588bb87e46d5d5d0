"""Issue 19, items 2, 4 (tproxy) and 6: nftables rules that take a local
listener's traffic without a bind conflict, and Port Shadow exposure.

portwatchd reads the ruleset of every namespace through libnftables and
re-reads it when the kernel notifies a change (NFNLGRP_NFTABLES), so each
test loads real rules with nft(8) into a fresh namespace and waits for the
alert; the daemon finds a namespace made by `ip netns add` within a second
(daemon/nat.h). Alerts are matched by the test's own namespace and port."""
import subprocess
import time

from pwe2e import ctl_run, netns_inode, wait_until

TICK_S = 1     # nat_tick(): namespaces followed, diversions re-matched
XT_EVERY_S = 10  # NAT_XT_EVERY ticks between two looks at the x_tables names


def nft(name, script):
    subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], input=script, text=True,
                   check=True, timeout=20)


def nft_cmd(name, *args):
    return subprocess.run(["ip", "netns", "exec", name, "nft"] + list(args), text=True,
                          check=True, timeout=20, capture_output=True).stdout


def alert_of(ino, port, kind="diversion", reason="nat_redirect"):
    return lambda a: (a["kind"], a["reason"], a["netns"], a["port"]) == (kind, reason, ino, port)


def nat_diversions(daemon, ino):
    return [d for d in daemon.ok({"cmd": "diversions"})["diversions"]
            if d["type"] == "nat_redirect" and d["netns"] == ino]


def handle_of(name, table, chain, needle):
    """The handle nft -a prints for the rule containing needle."""
    for line in nft_cmd(name, "-a", "list", "chain", "ip", table, chain).splitlines():
        if needle in line and "# handle " in line:
            return int(line.rsplit("# handle ", 1)[1])
    raise AssertionError("no rule with %r in %s %s" % (needle, table, chain))


def wait_alert(daemon, pred, ino):
    """daemon.wait_alert(pred), saying what the NAT side saw when it times out."""
    try:
        return daemon.wait_alert(pred)
    except AssertionError as e:
        raise AssertionError("%s\nnat: %s\ndiversions: %s" % (
            str(e)[:300], daemon.stats()["nat"], nat_diversions(daemon, ino))) from None


def once(daemon, pred, alert_id):
    """No second alert matching pred after some re-reads and re-matches."""
    time.sleep(TICK_S * 2.5)
    assert [a["id"] for a in daemon.alerts() if pred(a)] == [alert_id]


def test_redirect_to_another_uids_listener_and_its_removal(daemon, netns, actors):
    name = netns()
    ino = netns_inode(name)
    sshd = actors(uid=1234, netns=name)
    r1 = sshd.bound("s", "0.0.0.0", 2222, listen=True)
    shell = actors(uid=1235, netns=name)
    r2 = shell.bound("s", "0.0.0.0", 42391, listen=True)
    daemon.wait_inode(r1["inode"], port=2222)
    daemon.wait_inode(r2["inode"], port=42391)
    rule = "ip saddr 192.0.2.7 tcp dport 2222 redirect to :42391"
    nft(name, "table ip pwt {\n chain pre {\n type nat hook prerouting priority dstnat; "
              "policy accept;\n %s\n }\n}\n" % rule)
    handle = handle_of(name, "pwt", "pre", "redirect")

    al = wait_alert(daemon, alert_of(ino, 2222), ino)
    assert al["severity"] == "warning" and al["proto"] == "tcp", al
    h, c = al["holder"], al["contender"]
    assert (h["pid"], h["uid"], h["inode"], h["port"]) == (sshd.pid, 1234, r1["inode"], 2222), h
    assert (c["pid"], c["uid"]) == (shell.pid, 1235), c
    msg = al["message"]
    assert '"%s"' % rule in msg and "(summary)" not in msg, msg
    assert "ip pwt, chain pre, handle %d" % handle in msg, msg
    assert "port 42391, held by pid %d" % shell.pid in msg, msg

    d = nat_diversions(daemon, ino)
    assert len(d) == 1, d
    d = d[0]
    assert (d["state"], d["proto"], d["port"], d["to_port"], d["alert_id"]) == \
        ("active", "tcp", 2222, 42391, al["id"]), d
    assert d["listener"]["inode"] == r1["inode"] and d["target"]["inode"] == r2["inode"], d
    r = d["rule"]
    assert (r["family"], r["table"], r["chain"], r["handle"], r["action"], r["text"],
            r["text_exact"], r["hooks"], r["origin"]) == \
        ("ip", "pwt", "pre", handle, "redirect", rule, True, ["prerouting"], None), r
    own = daemon.ok({"cmd": "owners", "port": 2222, "netns": ino})
    assert [(x["inode"], x["to_port"], x["to_pid"]) for x in own["diverted"]] == \
        [(r1["inode"], 42391, shell.pid)], own["diverted"]
    why = daemon.ok({"cmd": "why", "port": 2222, "netns": ino})
    assert "Diverted by nftables" in why["explanation"] and rule in why["explanation"], why
    assert [x["alert_id"] for x in why["diverted"]] == [al["id"]], why["diverted"]
    st = daemon.stats()["nat"]
    assert st["diversions"] >= 1 and st["reads"] >= 1 and st["error"] is None, st
    # the same in portwatchctl's text
    out = ctl_run(daemon, "diversions").stdout
    mine = [x for x in out.splitlines() if x.startswith("nat_redirect netns %d " % ino)]
    assert len(mine) == 1 and "tcp 0.0.0.0:2222 (pid %d) -> port 42391 (pid %d" % (
        sshd.pid, shell.pid) in mine[0] and '"%s"' % rule in mine[0], out
    out = ctl_run(daemon, "owners", "2222", "--netns", str(ino)).stdout
    assert "diverted: netns %d tcp port 2222 (inode %d) -> port 42391" % (ino, r1["inode"]) \
        in out, out

    # an unrelated change is read again (notified), and raises nothing more
    reads = st["reads"]
    nft(name, "table ip other {\n chain c {\n type filter hook input priority 0;\n }\n}\n")
    wait_until(lambda: daemon.stats()["nat"]["reads"] > reads, what="a re-read on notification")
    once(daemon, alert_of(ino, 2222), al["id"])

    # removal clears it, and `diversions` says so
    nft_cmd(name, "delete", "table", "ip", "pwt")
    wait_until(lambda: [x["state"] for x in nat_diversions(daemon, ino)] == ["cleared"],
               what="the diversion to be cleared")
    d = nat_diversions(daemon, ino)[0]
    assert d["cleared_why"] == "rule removed" and d["cleared"] is not None, d
    assert "cleared" in [x for x in ctl_run(daemon, "diversions").stdout.splitlines()
                         if x.startswith("nat_redirect netns %d " % ino)][0]
    assert daemon.ok({"cmd": "owners", "port": 2222, "netns": ino})["diverted"] == []
    assert [a["id"] for a in daemon.alerts() if alert_of(ino, 2222)(a)] == [al["id"]]


def test_tproxy_rule_feeding_a_transparent_socket(daemon, netns, actors):
    name = netns()
    ino = netns_inode(name)
    web = actors(uid=1234, netns=name)
    rw = web.bound("s", "0.0.0.0", 8443, listen=True)
    other = web.bound("o", "0.0.0.0", 8444, listen=True)
    proxy = actors(netns=name)  # root: IP_TRANSPARENT needs CAP_NET_ADMIN
    proxy.socket("t")
    assert proxy.setsockopt("t", "transparent", 1)["ok"]
    rp = proxy.bind("t", "0.0.0.0", 50080)
    assert rp["ok"] and proxy.listen("t")["ok"], rp
    plain = proxy.bound("p", "0.0.0.0", 50081, listen=True)  # not transparent
    for inode, port in ((rw["inode"], 8443), (other["inode"], 8444), (rp["inode"], 50080),
                        (plain["inode"], 50081)):
        daemon.wait_inode(inode, port=port)
    nft(name, """table ip tp {
        chain pre { type filter hook prerouting priority mangle; policy accept;
            tcp dport 8443 tproxy to :50080
            tcp dport 8444 tproxy to :50081
            tcp dport 8445 tproxy to :50080
        }
    }""")

    al = wait_alert(daemon, alert_of(ino, 8443), ino)
    assert al["holder"]["inode"] == rw["inode"] and al["contender"]["pid"] == proxy.pid, al
    assert "a transparent socket" in al["message"], al["message"]
    d = nat_diversions(daemon, ino)
    # the kernel hands traffic to transparent sockets only (nf_tproxy_get_sock_v4()):
    # the rule to the plain listener on 50081 diverts nothing
    assert [(x["port"], x["to_port"], x["transparent"]) for x in d] == [(8443, 50080, True)], d
    assert d[0]["rule"]["action"] == "tproxy" and d[0]["target"]["pid"] == proxy.pid, d
    why = daemon.ok({"cmd": "why", "port": 8443, "netns": ino, "proto": "tcp"})
    assert "transparent socket there holds this port too" in why["explanation"], why
    types = sorted(x["type"] for x in why["diverted"])
    assert types == ["nat_redirect", "tproxy"], why["diverted"]
    once(daemon, alert_of(ino, 8443), al["id"])
    assert not [a for a in daemon.alerts() if alert_of(ino, 8444)(a)]
    # nothing listens on 8445: no diversion, but the transparent socket holds the port
    why = daemon.ok({"cmd": "why", "port": 8445, "netns": ino, "proto": "tcp"})
    assert [(x["type"], x["target"]["inode"]) for x in why["diverted"]] == \
        [("tproxy", rp["inode"])], why["diverted"]
    assert "to port 50080, where pid %d" % proxy.pid in why["explanation"], why["explanation"]
    # and the plain socket on 50081 holds nothing
    why = daemon.ok({"cmd": "why", "port": 8444, "netns": ino, "proto": "tcp"})
    assert why["diverted"] == [], why["diverted"]


def test_docker_like_chain_is_reported_at_lower_severity(daemon, netns, actors):
    name = netns()
    ino = netns_inode(name)
    app = actors(uid=1234, netns=name)
    ra = app.bound("s", "0.0.0.0", 8080, listen=True)
    daemon.wait_inode(ra["inode"], port=8080)
    # the "container": a namespace of its own with 172.17.0.2 (on a tun device) and a
    # wildcard listener on 8000
    ctr = netns()
    for cmd in (["tuntap", "add", "t0", "mode", "tun"], ["addr", "add", "172.17.0.2/16", "dev", "t0"],
                ["link", "set", "t0", "up"]):
        subprocess.run(["ip", "-n", ctr] + cmd, check=True, timeout=10)
    web = actors(uid=1236, netns=ctr)
    rw = web.bound("s", "0.0.0.0", 8000, listen=True)
    daemon.wait_inode(rw["inode"], port=8000)
    nft(name, """table ip nat {
        chain PREROUTING { type nat hook prerouting priority dstnat; policy accept;
            fib daddr type local jump DOCKER
        }
        chain DOCKER {
            iifname != "docker0" tcp dport 8080 dnat to 172.17.0.2:8000
        }
    }""")
    al = wait_alert(daemon, alert_of(ino, 8080), ino)
    assert al["severity"] == "notice", al
    assert (al["contender"]["pid"], al["contender"]["uid"]) == (web.pid, 1236), al["contender"]
    assert "docker" in al["message"], al["message"]
    assert "172.17.0.2:8000, held by pid %d" % web.pid in al["message"], al["message"]
    assert "network namespace %d" % netns_inode(ctr) in al["message"], al["message"]
    d = nat_diversions(daemon, ino)
    assert len(d) == 1 and d[0]["rule"]["origin"] == "docker", d
    assert (d[0]["target"]["inode"], d[0]["target"]["netns"]) == (rw["inode"], netns_inode(ctr)), d
    assert d[0]["rule"]["chain"] == "DOCKER" and d[0]["rule"]["to_addr"] == "172.17.0.2", d
    once(daemon, alert_of(ino, 8080), al["id"])


def test_masquerade_without_mitigation_is_an_exposure(daemon, netns, actors):
    name = netns()
    ino = netns_inode(name)
    svc = actors(uid=1234, netns=name)
    ru = svc.bound("u", "0.0.0.0", 1405, type="udp")
    rt = svc.bound("t", "0.0.0.0", 2022, listen=True)
    daemon.wait_inode(ru["inode"], port=1405)
    daemon.wait_inode(rt["inode"], port=2022)
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
                   check=True, timeout=10)
    # tcp 2022 is protected (the self-test's packet filter), udp 1405 is not
    nft(name, """table ip nat {
        chain postrouting { type nat hook postrouting priority srcnat; policy accept;
            oifname "lo" masquerade
        }
    }
    table ip filter {
        chain forward { type filter hook forward priority 0; policy accept;
            tcp sport 2022 drop
        }
    }""")
    pred = alert_of(ino, 1405, "exposure", "port_shadow")
    al = wait_alert(daemon, pred, ino)
    assert al["severity"] == "notice" and al["proto"] == "udp", al
    msg = al["message"]
    assert "CVE-2021-3773" in msg and "1405/udp" in msg and "2022/tcp" not in msg, msg
    assert "ip nat postrouting handle" in msg, msg
    # a change that leaves the exposure as it was: no second advisory
    reads = daemon.stats()["nat"]["reads"]
    nft(name, "table ip other {\n chain c {\n type filter hook input priority 0;\n }\n}\n")
    wait_until(lambda: daemon.stats()["nat"]["reads"] > reads, what="a re-read on notification")
    once(daemon, pred, al["id"])
    # mitigated the way nft_nat.sh's test_port_shadow_notrack does: no advisory then
    nft(name, "table ip raw {\n chain pre {\n type filter hook prerouting priority raw;\n"
              " udp dport 1405 notrack\n }\n}\n")
    nft_cmd(name, "delete", "table", "ip", "other")
    time.sleep(TICK_S * 2)
    assert [a["id"] for a in daemon.alerts() if a["kind"] == "exposure" and a["netns"] == ino] \
        == [al["id"]]


def test_iptables_legacy_tables_are_named_not_visible(daemon, netns, actors):
    name = netns()
    ino = netns_inode(name)
    # a service in it: the daemon follows the namespaces its sockets are in
    svc = actors(uid=1234, netns=name)
    daemon.wait_inode(svc.bound("s", "0.0.0.0", 5009, type="udp")["inode"], port=5009)
    subprocess.run(["ip", "netns", "exec", name, "iptables-legacy", "-t", "nat", "-A",
                    "PREROUTING", "-p", "tcp", "--dport", "9", "-j", "REDIRECT",
                    "--to-ports", "10"], check=True, timeout=20)

    def hidden():
        return [x["tables"] for x in daemon.stats()["nat"]["not_visible"] if x["netns"] == ino]

    wait_until(lambda: hidden() == ["ip:nat"], timeout=XT_EVERY_S + 5,
               what="the legacy nat table to be named in stats")


def test_a_range_rule_over_many_listeners(daemon, netns, actors):
    """One rule over twelve listeners: twelve diversions (their alerts fold, as
    any storm of one owner pair does), all cleared with the rule."""
    name = netns()
    ino = netns_inode(name)
    svc = actors(uid=1234, netns=name)
    inodes = [svc.bound("s%d" % p, "0.0.0.0", p, listen=True)["inode"] for p in range(3000, 3012)]
    for i, p in zip(inodes, range(3000, 3012)):
        daemon.wait_inode(i, port=p)
    nft(name, "table ip r {\n chain out {\n type nat hook output priority -100;\n"
              " tcp dport 3000-3011 redirect to :4000\n }\n}\n")
    wait_until(lambda: len(nat_diversions(daemon, ino)) == 12, what="twelve diversions")
    d = nat_diversions(daemon, ino)
    assert sorted(x["port"] for x in d) == list(range(3000, 3012)), d
    assert {x["rule"]["hooks"][0] for x in d} == {"output"} and all(x["target"] is None for x in d)
    nft_cmd(name, "delete", "table", "ip", "r")
    wait_until(lambda: [x["state"] for x in nat_diversions(daemon, ino)] == ["cleared"] * 12,
               what="twelve cleared diversions")


def test_bpfdoor_iptables_redirect(daemon, netns, actors):
    """BPFDoor's own command, through iptables-nft: the rule is an xt target
    in the nftables ruleset, its destination read from the rule's text."""
    name = netns()
    ino = netns_inode(name)
    sshd = actors(uid=1234, netns=name)
    r1 = sshd.bound("s", "0.0.0.0", 2222, listen=True)
    shell = actors(uid=1235, netns=name)
    r2 = shell.bound("s", "0.0.0.0", 42391, listen=True)
    daemon.wait_inode(r1["inode"], port=2222)
    daemon.wait_inode(r2["inode"], port=42391)
    subprocess.run(["ip", "netns", "exec", name, "iptables-nft", "-t", "nat", "-A", "PREROUTING",
                    "-s", "192.0.2.7", "-p", "tcp", "--dport", "2222", "-j", "REDIRECT",
                    "--to-ports", "42391"], check=True, timeout=20)
    al = wait_alert(daemon, alert_of(ino, 2222), ino)
    assert al["severity"] == "warning" and al["contender"]["pid"] == shell.pid, al
    assert "redirect to :42391" in al["message"] and "ip nat, chain PREROUTING" in al["message"]
    d = nat_diversions(daemon, ino)
    assert [(x["to_port"], x["target"]["inode"], x["rule"]["action"]) for x in d] == \
        [(42391, r2["inode"], "redirect")], d
    once(daemon, alert_of(ino, 2222), al["id"])
