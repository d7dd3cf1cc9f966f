#!/bin/sh
# etc/heraldd.service passes `systemd-analyze verify`, and keeps the
# promises heraldd(8) makes: Type=notify, a reload by SIGHUP, sandboxing.
set -u
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: systemd-analyze not installed (apt-get install systemd)"; exit 77; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

unit="$tmp/heraldd.service"
sed -e "s|@sbindir@|$top_builddir|g" -e "s|@sysconfdir@|$tmp|g" \
    "$top_srcdir/etc/heraldd.service.in" > "$unit"

fail=0
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
