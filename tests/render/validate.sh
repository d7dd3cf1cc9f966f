#!/bin/sh
# heraldctl validate and render on good and hostile issue files: each bad
# file gives its error as FILE:LINE:COL, exit 65, and writes no output.
set -u
. "$top_srcdir/tests/render/lib.sh"

check_bad() {	# file, expected error text (a fixed string)
	f="$top_srcdir/tests/issues/$1"
	rm -f "$tmp/out.eml"
	$HERALDCTL render "$f" -o "$tmp/out.eml" >"$tmp/stdout" 2>"$tmp/err"
	rc=$?
	expect_rc 65 "$rc" "render $1"
	grep -qF -- "$2" "$tmp/err" || fail "$1: no '$2' in: $(cat "$tmp/err")"
	grep -qE "^heraldctl: [^:]*$1:[0-9]+:[0-9]+: " "$tmp/err" ||
	    fail "$1: errors lack FILE:LINE:COL: $(cat "$tmp/err")"
	[ ! -e "$tmp/out.eml" ] || fail "$1: output written despite errors"
	[ ! -s "$tmp/stdout" ] || fail "$1: something on stdout"
	$HERALDCTL validate "$f" >/dev/null 2>&1
	expect_rc 65 $? "validate $1"
}

check_bad syntax.yaml "syntax error"
check_bad alias-bomb.yaml "alias expansion exceeds"
check_bad control-subject.yaml "subject"
check_bad invalid-utf8.yaml "UTF-8"
check_bad missing-attachment.yaml "no-such-file.pdf"
check_bad misspelled.yaml "did you mean"
check_bad deep.yaml "deep"

# Several errors in one file: all of them, not only the first.
$HERALDCTL validate "$top_srcdir/tests/issues/many-errors.yaml" 2>"$tmp/err"
n=$(grep -c '^heraldctl: .*:[0-9]*:[0-9]*: ' "$tmp/err")
[ "$n" -ge 3 ] || fail "many-errors.yaml: only $n errors reported"

# A 2,000-character subject is refused; in a body it is fine, encoded.
long=$(head -c 2000 /dev/zero | tr '\0' 'x')
printf 'list: spotlight\nsubject: "%s"\ntitle: t\nbody: ok\n' "$long" \
    > "$tmp/longsubj.yaml"
$HERALDCTL validate "$tmp/longsubj.yaml" 2>"$tmp/err"
expect_rc 65 $? "2,000-character subject"
grep -q "longsubj.yaml:2:" "$tmp/err" || fail "long subject: $(cat "$tmp/err")"

printf 'list: spotlight\nsubject: Long lines\ntitle: t\nintro: !md |\n  %s\n\n  .\n\n  end\n' \
    "$long" > "$tmp/longbody.yaml"
$HERALDCTL render "$tmp/longbody.yaml" -o "$tmp/longbody.eml" 2>"$tmp/err"
expect_rc 0 $? "2,000-character body line: $(cat "$tmp/err")"
awk 'length($0) > 999 { bad = 1 } END { exit bad }' "$tmp/longbody.eml" ||
    fail "a line over 998 octets in the message"
if grep -qxF '.' "$tmp/longbody.eml" || grep -qxF "$(printf '.\r')" \
    "$tmp/longbody.eml"; then
	fail "a line holding only '.' reached the message bytes"
fi
/usr/bin/python3 - "$tmp/longbody.eml" "$long" <<'PY' || fail "long body did not decode intact"
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
text = m.get_body(('plain',)).get_content().replace('\r\n', '\n')
assert sys.argv[2] in text.replace('\n', ''), "the long line is not in the text"
assert '\n.\n' in text, "the lone dot line is missing"
PY

# The good files pass, with their summary.
out=$($HERALDCTL validate "$top_srcdir/tests/issues/good.yaml")
expect_rc 0 $? "validate good.yaml"
case $out in ok:*"languages en,km"*) ;; *) fail "good.yaml: $out" ;; esac
out=$($HERALDCTL validate "$top_srcdir/templates/spotlight/sample.yaml")
expect_rc 0 $? "validate sample.yaml"
$HERALDCTL --json validate "$top_srcdir/templates/spotlight/sample.yaml" |
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and d["languages"]==["en","km"], d' ||
    fail "validate --json"

# render writes the bodies alone when asked.
$HERALDCTL render "$top_srcdir/templates/spotlight/sample.yaml" \
    --html "$tmp/b.html" --text "$tmp/b.txt" || fail "render --html --text"
grep -q '<html' "$tmp/b.html" || fail "no HTML body"
grep -q 'Svay Rieng' "$tmp/b.txt" || fail "no text body"
grep -q '<' "$tmp/b.txt" && grep -q '<td' "$tmp/b.txt" && fail "HTML in the text body"

finish
