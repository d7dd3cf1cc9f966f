#!/bin/sh
# heraldctl import and export: all or nothing, --skip-invalid, a lossless
# round trip (Khmer, commas, quotes, line breaks), files written aside.
. "${top_srcdir:-.}/tests/cli/lib.sh"

"$H" list create news --title News >/dev/null || fail "list create"
"$H" list create copy --title Copy >/dev/null || fail "list create"

# A file the Python csv module writes: quoting as RFC 4180 wants it.
"$PY" - "$T/good.csv" <<'PYEOF'
import csv, sys
rows = [
    ["email", "name", "lang", "org", "address"],
    ["sok@example.org", "សុខ ចាន់", "km", "Friends of R2P", "#12, St. 178\nPhnom Penh"],
    ["maria@example.net", "María \"Mia\" López", "es", "R2P, Asia-Pacific", ""],
    ["dara@ព្រឹត្តិបត្រ.example", "ដារ៉ា", "", "", "line one\r\nline two"],
    ["john@example.com", "", "en", "says \"hi\", then leaves", "a,b,c"],
]
with open(sys.argv[1], "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerows(rows)
PYEOF

run 0 "$H" import news "$T/good.csv"
out_has "imported 4 subscribers into news: 4 added"
run 0 "$H" export news "$T/out1.csv"
out_has "exported 4 subscribers of news to $T/out1.csv"
ls "$T" | grep -q 'out1.csv.' && fail "the temporary export file was left"
run 0 "$H" export news
cmp -s "$T/out" "$T/out1.csv" || fail "export to stdout and to a file differ"

# The export holds exactly what went in (attributes in name order).
"$PY" - "$T/good.csv" "$T/out1.csv" <<'PYEOF' || fail "round trip lost data"
import csv, sys
def load(p):
    with open(p, newline="", encoding="utf-8") as f:
        r = list(csv.DictReader(f))
    return {row["email"]: {k: v for k, v in row.items() if v} for row in r}
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    print("in: ", a, "\nout:", b, file=sys.stderr)
    sys.exit(1)
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    header = next(csv.reader(f))
if header != ["email", "name", "lang", "address", "org"]:
    print("header", header, file=sys.stderr)
    sys.exit(1)
PYEOF

# JSON carries the same text, control characters escaped.
run 0 "$H" --json sub show dara@ព្រឹត្តិបត្រ.example
json_ok
json_eq 'repr(d["attrs"]["address"])' "'line one\\r\\nline two'"
json_eq 'd["name"]' "ដារ៉ា"

# import -> export -> import -> export is stable, byte for byte.
run 0 "$H" import copy "$T/out1.csv"
run 0 "$H" export copy "$T/out2.csv"
cmp -s "$T/out1.csv" "$T/out2.csv" || fail "second round trip differs"

# Importing again updates, never duplicates.
run 0 "$H" --json import news "$T/good.csv"
json_ok
json_eq 'd["added"]' 0
json_eq 'd["updated"]' 4
n=$("$PY" -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM subscribers").fetchone()[0])' "$HERALD_DB")
[ "$n" = 4 ] || fail "$n subscribers after importing twice, want 4"

# Someone who left stays out, whatever an old spreadsheet says.
"$H" sub rm news sok@example.org >/dev/null
run 0 "$H" import news "$T/good.csv"
out_has "1 kept unsubscribed"
run 0 "$H" --json sub ls news --state unsubscribed
json_eq '[s["email"] for s in d]' "['sok@example.org']"
run 0 "$H" export news
grep -q sok@example.org "$T/out" && fail "export lists an unsubscribed address"

# Bad rows: every one reported with its line; nothing imported at all.
printf 'email,name\nnew1@example.org,One\nbroken,Two\nnew2@example.org,Three\nx@y,Four\nnew3@example.org,"bad\001name"\n' \
    >"$T/bad.csv"
dump "$T/before"
run 65 "$H" import news "$T/bad.csv"
err_has "heraldctl: $T/bad.csv:3: "
err_has "heraldctl: $T/bad.csv:5: "
err_has "heraldctl: $T/bad.csv:6: "
err_has "3 bad rows; nothing imported"
grep -q ':2: \|:4: ' "$T/err" && fail "good rows reported as bad"
dump "$T/after"
cmp -s "$T/before" "$T/after" || fail "a failed import changed the database"

# --skip-invalid: the good rows go in, the rest are reported and counted.
run 0 "$H" import news "$T/bad.csv" --skip-invalid
err_has "$T/bad.csv:3: "
out_has "imported 2 subscribers"
out_has "skipped 3 invalid rows"
run 0 "$H" --json list show news
json_eq 'd["subscribers"]["confirmed"]' 5

# The journal names the file.
n=$("$PY" -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM events WHERE kind = ? AND source = ?", ("import", "import:" + sys.argv[2])).fetchone()[0])' "$HERALD_DB" "$T/bad.csv")
[ "$n" = 2 ] || fail "$n import events for bad.csv, want 2"

# No such file, no such list, no email column, standard input.
run 66 "$H" import news "$T/missing.csv" && err_has "$T/missing.csv"
run 65 "$H" import nosuch "$T/good.csv" && err_has "no such list"
printf 'name\nx\n' >"$T/noemail.csv"
run 65 "$H" import news "$T/noemail.csv"
printf 'email\nstdin@example.org\n' | "$H" import news - >"$T/out" 2>"$T/err" ||
    fail "import from stdin failed: $(cat "$T/err")"
run 0 "$H" --json sub show stdin@example.org
json_eq 'd["subscriptions"][0]["source"]' "import:stdin"

# Export: empty list, states, unwritable place.
run 0 "$H" list create empty --title Empty
run 0 "$H" export empty
[ "$(cat "$T/out")" = "$(printf 'email,name,lang\r')" ] ||
    fail "empty export is '$(cat "$T/out")'"
run 0 "$H" export news --state all
out_has "sok@example.org"
run 0 "$H" --json export news "$T/out3.csv"
json_ok
json_eq 'd["exported"]' 6
run 64 "$H" export news --state gone
run 73 "$H" export news "$T/no/such/dir/x.csv"
run 65 "$H" export nosuch
finish
