#!/bin/sh
# The shipped etc/herald.conf parses with heraldd -n; a broken copy gives
# every error as FILE:LINE: message and exit 78 (EX_CONFIG).
set -u
: "${top_srcdir:?}" "${HERALDD:?}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

sample="$top_srcdir/etc/herald.conf"
out=$("$HERALDD" -n -c "$sample" 2>"$tmp/err"); rc=$?
[ "$rc" -eq 0 ] || no "sample: exit $rc, want 0: $(cat "$tmp/err")"
[ "$out" = "configuration OK" ] || no "sample: stdout '$out'"

# Every key of the table in config.c is in the sample (set or commented
# out) and has its own entry in herald.conf(5).
keys=$(sed -n 's/^[[:space:]]*\(STR\|NUM\|ENUM\)("\([a-z_.]*\)".*/\2/p' \
    "$top_srcdir/daemon/config.c")
[ "$(echo "$keys" | wc -l)" -ge 40 ] || no "found only these keys: $keys"
for key in $keys; do
	leaf=${key##*.}
	grep -Eq "^[[:space:]]*#?$leaf = " "$sample" || no "sample lacks $key"
	case $key in
	*.*.*)	entry=${key#*.} ;;	# smtp.rate.per_day: "rate.per_day"
	*.*)	entry=$leaf ;;
	*)	entry=$key ;;
	esac
	grep -q "^\.It Ic $entry " "$top_srcdir/daemon/herald.conf.5" || \
	    no "herald.conf.5 lacks an entry for $key"
done

# Uncommenting every default of the sample must still parse: the
# documented defaults are valid values.
sed -e 's/^\([[:space:]]*\)#\([a-z_]* = .*;\)$/\1\2/' \
    -e 's|"/etc/herald/smtp-password"|"pw"|' \
    -e 's|@pkgdatadir@|/usr/share/herald|' -e "s|@sysconfdir@|$tmp|" \
    "$sample" >"$tmp/all.conf"
printf 'x\n' >"$tmp/pw"; chmod 600 "$tmp/pw"
out=$("$HERALDD" -n -c "$tmp/all.conf" 2>"$tmp/err"); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "configuration OK" ] || \
    no "sample with every default set: exit $rc: $(cat "$tmp/err")"

# A broken copy: a misspelt key on line 3, a bad enum, a wrong type.
{
	printf 'sender = {\n\tfrom_address = "a@example.org";\n'
	printf '\tfrom_nmae = "x";\n};\n'
	printf 'smtp = { tls = "sometimes"; connections = "4"; };\n'
	printf 'http = { base_url = "https://example.org"; };\n'
} >"$tmp/bad.conf"
"$HERALDD" -n -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 78 ] || no "broken: exit $rc, want 78"
[ -s "$tmp/out" ] && no "broken: printed on stdout: $(cat "$tmp/out")"
cat >"$tmp/want" <<EOW
heraldd: $tmp/bad.conf:3: unknown key sender.from_nmae (did you mean sender.from_name?)
heraldd: $tmp/bad.conf:5: smtp.tls must be "auto", "none", "starttls", "implicit" or "opportunistic", not "sometimes"
heraldd: $tmp/bad.conf:5: smtp.connections must be an integer, not a string
EOW
diff -u "$tmp/want" "$tmp/err" || no "broken: messages differ"

# A syntax error names its line too.
printf 'log_level = "info";\nsmtp = { url = ; };\n' >"$tmp/syntax.conf"
"$HERALDD" -n -c "$tmp/syntax.conf" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 78 ] || no "syntax: exit $rc, want 78"
grep -q "^heraldd: $tmp/syntax.conf:2: " "$tmp/err" || \
    no "syntax: $(cat "$tmp/err")"

# Usage errors are 64; --help and -V succeed and say what they do.
"$HERALDD" -x >/dev/null 2>&1; rc=$?
[ "$rc" -eq 64 ] || no "-x: exit $rc, want 64"
"$HERALDD" --help | grep -q -- "-n " || no "--help lacks -n"
"$HERALDD" -V | grep -q "^heraldd [0-9]" || no "-V"

exit $fail
