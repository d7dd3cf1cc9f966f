#!/bin/sh
# heraldctl --help everywhere, help, usage errors, version.
. "${top_srcdir:-.}/tests/cli/lib.sh"

for cmd in "list create" "list ls" "list show" "list rm" "sub add" "sub rm" \
    "sub ls" "sub show" "import" "export"; do
	# shellcheck disable=SC2086
	run 0 "$H" $cmd --help && out_has "usage: heraldctl $cmd"
	run 0 "$H" $cmd -h && out_has "usage: heraldctl $cmd"
	run 0 "$H" help $cmd && out_has "usage: heraldctl $cmd"
	out_has "--json"
	[ -s "$T/err" ] && fail "$cmd --help wrote to stderr"
done
# --help needs no database, even a broken one.
HERALD_DB=/nonexistent/dir/x.db run 0 "$H" sub add --help

run 0 "$H" --help && out_has "commands:"
run 0 "$H" help && out_has "list create"
run 0 "$H" help sub && out_has "usage: heraldctl sub rm"
run 0 "$H" -V && out_has "heraldctl "
run 0 "$H" --version

run 64 "$H"
run 64 "$H" nosuch && err_has "nosuch: no such command"
run 64 "$H" sub && err_has "which command"
run 64 "$H" sub frobnicate && err_has "no such command"
run 64 "$H" help frobnicate
run 64 "$H" --bogus
run 64 "$H" list ls extra && err_has "too many operands"
run 64 "$H" sub rm news && err_has "missing operand"

# Database trouble: cannot open (69), newer schema (69), busy (75).
HERALD_DB=/nonexistent/dir/x.db run 69 "$H" list ls
"$H" list create news --title News >/dev/null
"$PY" -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 999")' \
    "$T/newer.db"
HERALD_DB="$T/newer.db" run 69 "$H" list ls && err_has "newer"

# Another process holds the write lock past busy_timeout (5 s): 75.
"$PY" -c 'import sqlite3,sys,time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(30)' "$HERALD_DB" "$T/locked" &
locker=$!
trap 'kill $locker 2>/dev/null; rm -rf "$T"' EXIT
i=0
while [ ! -e "$T/locked" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
run 75 "$H" list create other --title Other && err_has "locked"
kill $locker 2>/dev/null
wait $locker 2>/dev/null
run 0 "$H" list create other --title Other
finish
