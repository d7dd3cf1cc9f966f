#!/bin/sh
# etc/heraldd.service passes `systemd-analyze verify`, the unit the build
# installs carries the configured paths, and the unit keeps the promises
# heraldd(8) makes: Type=notify, a reload by SIGHUP, sandboxing.
set -u
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: systemd-analyze not installed (apt-get install systemd)"; exit 77; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# The unit as shipped, for /usr/sbin and /etc, pointed at this build.
unit="$tmp/heraldd.service"
sed -e "s|/usr/sbin/heraldd|$top_builddir/heraldd|g" \
    -e "s|/etc/herald/|$tmp/herald/|g" \
    "$top_srcdir/etc/heraldd.service" > "$unit"

fail=0
# The unit make install puts in place: the configured paths.
built="$top_builddir/daemon/heraldd.service"
for want in "ExecStart=${herald_sbindir:?}/heraldd -c ${herald_sysconfdir:?}/herald/herald.conf" \
    "ExecStartPre=$herald_sbindir/heraldd -n -c $herald_sysconfdir/herald/herald.conf"; do
	grep -qxF "$want" "$built" ||
	    { echo "FAIL: $built lacks '$want'"; fail=1; }
done
if grep -n '@[a-z_]*@' "$built"; then
	echo "FAIL: $built keeps a placeholder"; fail=1
fi
if ! out=$(systemd-analyze verify --man=no "$unit" 2>&1); then
	echo "FAIL: systemd-analyze verify:"; echo "$out"; fail=1
elif [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify warns:"; echo "$out"; fail=1
fi
for want in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'StateDirectory=herald' 'ProtectSystem=strict' 'ProtectHome=yes' \
    'PrivateTmp=yes' 'NoNewPrivileges=yes' \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    'SystemCallFilter=@system-service' 'User=herald'; do
	grep -qxF "$want" "$unit" || { echo "FAIL: unit lacks '$want'"; fail=1; }
done
[ $fail -eq 0 ] && echo "PASS: heraldd.service verifies"
exit $fail
