#!/bin/bash
# run.sh DEB - install the Debian package `make deb` built on this machine,
# check it, purge it, and check that nothing of it is left (`make
# test-package`, as root).
#
#   1. refuse to run where a package portwatch is already installed (any
#      state but not-installed), where a file the .deb ships already exists
#      (a `make install` with PREFIX=/usr), where /etc/portwatch exists, where
#      a `make install` in /usr/local would shadow the package's units, or
#      where systemd runs and a portwatchd already serves the default socket;
#   2. lintian on the .changes (the package and its -dbgsym): no error, no
#      warning that debian/portwatch.lintian-overrides does not explain;
#   3. dpkg -i; status "install ok installed"; every file of dpkg -L present;
#      the files that matter listed, nothing of a build tree (objects, BPF
#      objects) shipped; /etc/portwatch/portwatch.conf a conffile; the group
#      portwatch exists; the units enabled (the wants symlinks
#      deb-systemd-helper makes with or without systemd running), and active
#      where systemd runs; `portwatchd --check` reads the conffile,
#      `portwatchctl --help` runs;
#   4. dpkg --purge; status not-installed; none of dpkg -L's files left, no
#      /etc/portwatch, no path named *portwatch* under /etc /usr /lib /var
#      that was not there before, the group gone if the package created it
#      (kept if it was there before).
#
# A failure purges the package (trap) and exits 1; a refusal exits 2 and
# touches nothing.
set -euo pipefail

say() { echo "test-package: $*" >&2; }
fail() {
	say "FAIL: $*"
	exit 1
}
refuse() {
	say "refusing: $*"
	exit 2
}

[ $# -eq 1 ] || refuse "usage: tests/package/run.sh build/deb/portwatch_VERSION_ARCH.deb"
DEB=$1
CHANGES=${DEB%.deb}.changes
[ "$(id -u)" = 0 ] || refuse "run as root (dpkg -i, dpkg --purge)"
[ -f "$DEB" ] || refuse "no $DEB (make deb)"

# ---------------------------------------------------------------- 1. refuse
status=$(dpkg-query -W -f='${db:Status-Abbrev}' portwatch 2>/dev/null || true)
case $status in
"" | "un "*) ;;
*) refuse "a package portwatch is already on this machine (dpkg status '$status');" \
	"this test installs and purges its own: remove that one first (dpkg --purge portwatch)" ;;
esac
shipped=$(dpkg-deb --fsys-tarfile "$DEB" | tar -t | sed -e 's|^\./|/|' -e '/\/$/d')
for f in $shipped /etc/portwatch /usr/local/sbin/portwatchd \
	/usr/local/lib/systemd/system/portwatchd.service /etc/systemd/system/portwatchd.service; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		refuse "$f exists (a \`make install\`?): the package would take it over or be" \
			"shadowed by it, and its purge would remove it; \`make uninstall\` first"
	fi
done
if [ -d /run/systemd/system ] && [ -S /run/portwatch/portwatchd.sock ]; then
	refuse "a portwatchd serves /run/portwatch/portwatchd.sock: the package's" \
		"portwatchd.socket would start there; stop that daemon first"
fi

# ---------------------------------------------------------------- 2. lintian
say "lintian $CHANGES"
lintian --fail-on error,warning --info "$CHANGES" || fail "lintian (errors or warnings above)"

# What must not change: paths named after the package, and the group.
snapshot() { find /etc /usr /lib /var -xdev -name '*portwatch*' 2>/dev/null | sort; }
before=$(snapshot)
group_before=no
getent group portwatch >/dev/null && group_before=yes

INSTALLED=no
cleanup() {
	local rc=$?
	if [ "$INSTALLED" = yes ]; then
		say "cleaning up: dpkg --purge portwatch"
		dpkg --purge portwatch >/dev/null || say "dpkg --purge portwatch failed: see dpkg -l portwatch"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 3. install
say "dpkg -i $DEB"
INSTALLED=yes
dpkg -i "$DEB" || fail "dpkg -i"
status=$(dpkg-query -W -f='${Status}' portwatch)
[ "$status" = "install ok installed" ] || fail "status after dpkg -i: '$status'"

listed=$(dpkg -L portwatch)
files=""
for f in $listed; do
	[ -e "$f" ] || fail "dpkg -L lists $f, which is not there"
	[ -d "$f" ] || files="$files $f"
done
for f in /usr/sbin/portwatchd /usr/bin/portwatchctl \
	/lib/systemd/system/portwatchd.service /lib/systemd/system/portwatchd.socket \
	/usr/lib/sysusers.d/portwatch.conf /etc/portwatch/portwatch.conf \
	/usr/share/man/man8/portwatchd.8.gz /usr/share/man/man1/portwatchctl.1.gz \
	/usr/share/man/man5/portwatch.conf.5.gz \
	/usr/share/doc/portwatch/copyright /usr/share/doc/portwatch/changelog.gz \
	/usr/share/doc/portwatch/examples/portwatch.conf.example \
	/usr/share/doc/portwatch/examples/rsyslog-portwatch.conf; do
	grep -qxF "$f" <<<"$listed" || fail "the package lacks $f"
done
[ -x /usr/sbin/portwatchd ] && [ -x /usr/bin/portwatchctl ] || fail "binaries not executable"
if tr ' ' '\n' <<<"$files" | grep -E '\.(o|a|d)$|/build/|\.skel\.h$|\.example$' |
	grep -v '^/usr/share/doc/'; then
	fail "build-tree files in the package (above)"
fi
dpkg-query -W -f='${Conffiles}\n' portwatch | grep -q '^ /etc/portwatch/portwatch.conf ' ||
	fail "/etc/portwatch/portwatch.conf is not a conffile"
grep -qx 'ExecStart=/usr/sbin/portwatchd' /lib/systemd/system/portwatchd.service ||
	fail "portwatchd.service does not start /usr/sbin/portwatchd"
getent group portwatch >/dev/null || fail "no group portwatch after postinst"
for l in /etc/systemd/system/sockets.target.wants/portwatchd.socket \
	/etc/systemd/system/multi-user.target.wants/portwatchd.service; do
	[ -L "$l" ] || fail "not enabled: no $l"
done
if [ -d /run/systemd/system ]; then
	systemctl is-active --quiet portwatchd.socket || fail "portwatchd.socket is not active"
fi

check=$(/usr/sbin/portwatchd --check) || fail "portwatchd --check exited $?"
grep -qx '# configuration file: /etc/portwatch/portwatch.conf' <<<"$check" ||
	fail "portwatchd --check did not read the conffile: $(head -1 <<<"$check")"
grep -qx 'group = portwatch' <<<"$check" || fail "portwatchd --check: no 'group = portwatch'"
/usr/bin/portwatchctl --help | grep -q '^SYNOPSIS' || fail "portwatchctl --help"

# ---------------------------------------------------------------- 4. purge
say "dpkg --purge portwatch"
dpkg --purge portwatch || fail "dpkg --purge"
INSTALLED=no
status=$(dpkg-query -W -f='${db:Status-Abbrev}' portwatch 2>/dev/null || true)
case $status in
"" | "un "*) ;;
*) fail "dpkg status after purge: '$status'" ;;
esac
for f in $files /etc/portwatch; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after purge"
done
after=$(snapshot)
if [ "$after" != "$before" ]; then
	diff <(echo "$before") <(echo "$after") >&2 || true
	fail "paths named *portwatch* differ from before the install (above: > left, < lost)"
fi
if [ "$group_before" = yes ]; then
	getent group portwatch >/dev/null || fail "purge removed a group portwatch it did not create"
else
	! getent group portwatch >/dev/null || fail "the group portwatch is left after purge"
fi

say "ok: $(wc -w <<<"$files") files installed, checked and purged; lintian clean"
