#!/bin/bash
# run.sh KERNEL... - boot Debian 12's own kernels in qemu and run portwatchd's
# checks (tests/kernels/guest.sh) inside. KERNEL is 6.1 or 6.12. See README.md.
#
# For each kernel: the newest linux-image-...-cloud-amd64-unsigned package is
# downloaded into build/kernels/ (once) and extracted there (never installed),
# an initramfs is built from busybox-static, build/portwatchd,
# build/portwatchctl, their shared libraries, sockop (sockop.c) and guest.sh,
# and qemu boots it under TCG with a hard timeout. The serial console goes to
# build/kernels/KERNEL.log. Prints "KERNEL: N passed, M failed" per kernel
# and "N passed, M failed" at the end; exits 1 if anything failed or a kernel
# did not finish, 2 on bad usage.
#
# Environment: PW_KTEST_TIMEOUT (seconds qemu may run, default 300),
# PW_KTEST_SMP (guest cpus, default 2), PW_KTEST_MEM (MiB, default 1024),
# PW_KTEST_BIN (directory of the portwatchd and portwatchctl to test,
# default build/).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/build/kernels
TIMEOUT=${PW_KTEST_TIMEOUT:-300}
SMP=${PW_KTEST_SMP:-2}
MEM=${PW_KTEST_MEM:-1024}
BIN=$(cd "${PW_KTEST_BIN:-$ROOT/build}" && pwd)

# Kernel options the guest needs built in. The diag ones may be modules:
# they are then loaded with insmod in the guest (module name after the colon).
REQUIRED_Y=(SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP DEVTMPFS BINFMT_ELF
	BINFMT_SCRIPT PROC_FS SYSFS TMPFS UNIX INET IPV6 NET_NS CGROUPS CGROUP_BPF
	BPF_SYSCALL BPF_EVENTS DEBUG_INFO_BTF TRACING FTRACE_SYSCALLS)
MODULE_OPTS=(INET_DIAG:inet_diag INET_TCP_DIAG:tcp_diag INET_UDP_DIAG:udp_diag
	INET_RAW_DIAG:raw_diag PACKET_DIAG:af_packet_diag)

QEMU_PID=
TMPD=
cleanup() {
	if [ -n "$QEMU_PID" ]; then
		kill "$QEMU_PID" 2>/dev/null || true # the timeout(1) wrapper: it passes it on to qemu
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	[ -z "$TMPD" ] || rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "run.sh: $*" >&2; }
die() {
	say "$*"
	exit 2
}

[ $# -ge 1 ] || die "usage: tests/kernels/run.sh KERNEL... (KERNEL: 6.1 or 6.12)"
for k in "$@"; do
	case $k in
	6.1 | 6.12) ;;
	*) die "unknown kernel '$k': expected 6.1 or 6.12" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "run as root (apt-get, mknod)"
for b in portwatchd portwatchctl; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make all' first"
done
mkdir -p "$OUT"
TMPD=$(mktemp -d "$OUT/tmp.XXXXXX")

# ---- host tools -----------------------------------------------------------
missing=()
for p in qemu-system-x86 busybox-static cpio; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# the project's one package list is the Makefile's DEPS_PKGS
[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: run 'make deps' first"
BUSYBOX=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n 1)
[ -x "$BUSYBOX" ] || die "busybox-static is installed but its busybox binary was not found"

# ---- sockop ---------------------------------------------------------------
SOCKOP=$OUT/sockop
if gcc -std=c11 -O2 -Wall -Wextra -static -o "$SOCKOP" "$HERE/sockop.c" 2>"$TMPD/cc.log"; then
	SOCKOP_STATIC=1
else
	say "static link of sockop failed ($(tail -n 1 "$TMPD/cc.log")): linking it dynamically"
	gcc -std=c11 -O2 -Wall -Wextra -o "$SOCKOP" "$HERE/sockop.c"
	SOCKOP_STATIC=0
fi

# ---- kernel packages ------------------------------------------------------
# The newest downloadable package for kernel $1: "NAME VERSION", or nothing.
newest_package() {
	local re n cand
	case $1 in
	6.1) re='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' ;;
	6.12) re='^linux-image-6\.12\.[0-9]+[^ ]*-cloud-amd64-unsigned$' ;;
	esac
	for n in $(apt-cache search --names-only "$re" | awk '{ print $1 }' | sort -V -r); do
		cand=$(apt-cache policy "$n" | awk '/Candidate:/ { print $2 }')
		if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
			echo "$n $cand"
			return 0
		fi
	done
}

# The .deb for kernel $1 in $OUT, downloaded unless there already.
kernel_deb() {
	local k=$1 name ver pat deb
	read -r name ver < <(newest_package "$k") || true
	if [ -n "${name:-}" ]; then
		deb=$(ls "$OUT/${name}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
		if [ -z "$deb" ]; then
			say "$k: downloading $name $ver"
			(cd "$OUT" && apt-get download -q "$name=$ver" >"$TMPD/download.log" 2>&1) || {
				cat "$TMPD/download.log" >&2
				return 1
			}
			deb=$(ls "$OUT/${name}_"*.deb | sort -V | tail -n 1)
		fi
	else
		# No package lists (apt-get update not run)? Use the newest cached one.
		case $k in
		6.1) pat='linux-image-6.1.0-*-cloud-amd64-unsigned_*.deb' ;;
		6.12) pat='linux-image-6.12.*-cloud-amd64-unsigned_*.deb' ;;
		esac
		# shellcheck disable=SC2086 # $pat is a glob
		deb=$(cd "$OUT" && ls $pat 2>/dev/null | sort -V | tail -n 1 || true)
		[ -n "$deb" ] || {
			say "$k: apt-cache finds no linux-image package for it and none is cached"
			return 1
		}
		deb=$OUT/$deb
		say "$k: apt-cache finds no package: using the cached $(basename "$deb")"
	fi
	echo "$deb"
}

# Config value of option $2 (without CONFIG_) in config file $1: y, m or "".
config_of() { sed -n "s/^CONFIG_$2=//p" "$1"; }

# Append module $1 and, first, the modules it depends on (read from its
# .modinfo "depends=") to $MODS (load order), uncompressed into $2.
add_module() {
	local m=$1 dst=$2 f dep
	case " $MODS " in *" $m "*) return 0 ;; esac
	f=$(find "$MODDIR" \( -name "$m.ko*" -o -name "${m//_/-}.ko*" \) | head -n 1)
	[ -n "$f" ] || {
		say "module $m not found under $MODDIR"
		return 1
	}
	case $f in
	*.ko.xz) xz -dc "$f" >"$dst/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$dst/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$dst/$m.ko" ;;
	*) cp "$f" "$dst/$m.ko" ;;
	esac
	for dep in $(strings -a "$dst/$m.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_module "$dep" "$dst"
	done
	MODS="$MODS $m"
}

# Copy file $1 into the tree $2 at the same path, following symlinks.
copy_in() {
	mkdir -p "$2$(dirname "$1")"
	cp -L "$1" "$2$1"
}

# Copy every shared library ldd lists for binary $1, and the loader, into $2.
copy_libs() {
	local lib
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		[ -e "$2$lib" ] || copy_in "$lib" "$2"
	done
}

# Prepare kernel $1: writes $OUT/$1.vmlinuz and $OUT/$1.initrd.gz.
prepare() {
	local k=$1 deb pkg cfg opt val pair tree vmlinuz
	deb=$(kernel_deb "$k")
	pkg=$OUT/$k.pkg
	if [ "$(cat "$pkg/.from" 2>/dev/null)" != "$(basename "$deb")" ]; then
		say "$k: extracting $(basename "$deb")"
		rm -rf "$pkg"
		mkdir -p "$pkg"
		dpkg-deb -x "$deb" "$pkg"
		basename "$deb" >"$pkg/.from"
	fi
	vmlinuz=$(ls "$pkg"/boot/vmlinuz-* | head -n 1)
	cfg=$(ls "$pkg"/boot/config-* | head -n 1)
	MODDIR=$(ls -d "$pkg"/lib/modules/* | head -n 1)
	ln -sf "$vmlinuz" "$OUT/$k.vmlinuz"
	basename "$deb" >"$OUT/$k.package"

	# What the guest needs from the kernel's configuration.
	: >"$OUT/$k.config-notes"
	for opt in "${REQUIRED_Y[@]}"; do
		val=$(config_of "$cfg" "$opt")
		[ "$val" = y ] || echo "CONFIG_$opt=${val:-unset} (needed built in)" >>"$OUT/$k.config-notes"
	done
	tree=$TMPD/$k.root
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,modules}
	MODS=
	for pair in "${MODULE_OPTS[@]}"; do
		opt=${pair%%:*}
		val=$(config_of "$cfg" "$opt")
		case $val in
		y) ;;
		m) add_module "${pair#*:}" "$tree/modules" ;;
		*) echo "CONFIG_$opt=${val:-unset}: no ${pair#*:}" >>"$OUT/$k.config-notes" ;;
		esac
	done
	echo "$MODS" | tr ' ' '\n' | sed '/^$/d' >"$tree/modules/order"
	if [ -s "$OUT/$k.config-notes" ]; then
		say "$k: the kernel's configuration lacks:"
		sed 's/^/    /' "$OUT/$k.config-notes" >&2
	fi
	[ -z "$MODS" ] || say "$k: modules for the guest:$MODS"

	# The initramfs.
	cp "$BUSYBOX" "$tree/bin/busybox"
	local applet
	for applet in $("$BUSYBOX" --list-full); do
		[ -e "$tree/$applet" ] || ln -s /bin/busybox "$tree/$applet"
	done
	cp "$BIN/portwatchd" "$BIN/portwatchctl" "$SOCKOP" "$tree/bin/"
	copy_libs "$BIN/portwatchd" "$tree"
	copy_libs "$BIN/portwatchctl" "$tree"
	[ "$SOCKOP_STATIC" = 1 ] || copy_libs "$SOCKOP" "$tree"
	install -m 0755 "$HERE/guest.sh" "$tree/guest.sh"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'u1000:x:1000:1000::/:/bin/false' \
		'u1001:x:1001:1001::/:/bin/false' >"$tree/etc/passwd"
	printf '%s\n' 'root:x:0:' 'u1000:x:1000:' 'u1001:x:1001:' 'portwatch:x:999:' >"$tree/etc/group"
	mknod -m 600 "$tree/dev/console" c 5 1
	mknod -m 666 "$tree/dev/null" c 1 3
	cat >"$tree/init" <<'EOF'
#!/bin/sh
# initramfs /init of tests/kernels/run.sh: mount, load modules, run guest.sh, power off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo # the firmware's last line has no newline
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tracefs tracefs /sys/kernel/tracing || echo "init: cannot mount tracefs"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "init: cannot mount cgroup2"
mount -t bpf bpf /sys/fs/bpf || echo "init: cannot mount bpffs"
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in $(cat /modules/order); do
	insmod "/modules/$m.ko" || echo "init: insmod $m failed"
done
ip link set lo up || echo "init: cannot bring lo up"
echo "init: $(uname -r): running guest.sh"
sh /guest.sh
rc=$?
if [ -s /run/result ]; then
	echo "KTEST-RESULT: $(cat /run/result)"
else
	echo "KTEST-RESULT: none (guest.sh exited $rc without a result)"
fi
poweroff -f
EOF
	chmod 0755 "$tree/init"
	(cd "$tree" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$OUT/$k.initrd.gz"
	rm -rf "$tree"
}

# Boot kernel $1; serial console into $OUT/$1.log (into $1.log.part while it
# runs: an interrupted run leaves that). Returns qemu's (or timeout's) status.
boot() {
	local k=$1 raw=$OUT/$1.log.part rc=0
	say "$k: booting $(cat "$OUT/$k.package") (timeout ${TIMEOUT} s)"
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m "$MEM" -smp "$SMP" -nographic \
		-no-reboot -nic none -kernel "$OUT/$k.vmlinuz" -initrd "$OUT/$k.initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet" </dev/null >"$raw" 2>&1 &
	QEMU_PID=$!
	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	{
		echo "# run.sh: kernel $k, package $(cat "$OUT/$k.package"), binaries $BIN, qemu status $rc"
		# without carriage returns and the firmware's terminal escapes
		tr -d '\r' <"$raw" | sed -E 's/\x1b(\[[0-9;?]*[A-Za-z]|c)//g'
	} >"$OUT/$k.log"
	rm -f "$raw"
	return "$rc"
}

total_pass=0
total_fail=0
status=0
for k in "$@"; do
	t0=$(date +%s)
	rm -f "$OUT/$k.log" "$OUT/$k.log.part" "$OUT/$k.log.first"
	set +e
	(
		set -euo pipefail
		prepare "$k"
	)
	prc=$?
	set -e
	np=0
	nf=0
	why=
	if [ "$prc" != 0 ]; then
		nf=1
		why="could not prepare the kernel or its initramfs (status $prc; messages above)"
	else
		qrc=0
		boot "$k" || qrc=$?
		log=$OUT/$k.log
		# A guest kernel that panics before our init's first line is the
		# emulator's doing, not portwatch's: with 2 vCPUs on multi-threaded
		# TCG a vCPU now and then runs a stale translation of code the
		# kernel's text_poke_bp() patched at boot ("Oops: int3" in early
		# boot, then a panic). That boot proves nothing either way: boot
		# once more, and say so. A panic once our init ran is a result.
		if grep -a -q 'Kernel panic' "$log" && ! grep -a -q '^guest: kernel ' "$log"; then
			say "$k: the guest kernel panicked before its init ran ($(grep -a -m 1 -o 'Oops: [^[]*' "$log" || echo 'no oops line')): booting once more"
			mv "$log" "$log.first"
			qrc=0
			boot "$k" || qrc=$?
		fi
		res=$(grep -a -E '^KTEST-RESULT: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
		if [ -n "$res" ]; then
			np=$(echo "$res" | sed -E 's/^KTEST-RESULT: ([0-9]+) passed.*/\1/')
			nf=$(echo "$res" | sed -E 's/.* ([0-9]+) failed$/\1/')
		else
			# Did not finish: what it did say counts, plus one failure for that.
			np=$(grep -a -c '^PASS ' "$log" || true)
			nf=$(($(grep -a -c '^FAIL ' "$log" || true) + 1))
			if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
				why="timed out after $TIMEOUT s"
			elif grep -a -q 'Kernel panic' "$log"; then
				why="kernel panic: $(grep -a -m 1 'Kernel panic' "$log")"
			elif grep -a -q '^KTEST-RESULT:' "$log"; then
				why="$(grep -a '^KTEST-RESULT:' "$log" | tail -n 1)"
			else
				why="no result from the guest (qemu status $qrc)"
			fi
			why="$why; see build/kernels/$k.log"
		fi
	fi
	[ -z "$why" ] || echo "$k did not finish: $why"
	echo "$k: $np passed, $nf failed"
	say "$k: took $(($(date +%s) - t0)) s"
	total_pass=$((total_pass + np))
	total_fail=$((total_fail + nf))
	[ "$nf" = 0 ] || status=1
done
echo "$total_pass passed, $total_fail failed"
exit "$status"
