#!/bin/sh
# heraldctl finds its database: -d, then HERALD_DB, then the database of
# the configuration (-c FILE); a bad configuration stops it with 78.
. "${top_srcdir:-.}/tests/cli/lib.sh"
unset HERALD_DB

mkdir "$T/etc"
cat >"$T/etc/herald.conf" <<'CONF'
database = "from-conf.db";
sender = { from_address = "bulletin@example.org"; };
http = { base_url = "https://news.example.org"; };
CONF

# The relative path is taken from the configuration's folder.
run 0 "$H" -c "$T/etc/herald.conf" list create viaconf --title T
[ -f "$T/etc/from-conf.db" ] || fail "the configured database was not used"
run 0 "$H" -c "$T/etc/herald.conf" --json list ls
json_eq '[l["name"] for l in d]' "['viaconf']"

# HERALD_DB and -d win over the configuration, -d over HERALD_DB.
HERALD_DB="$T/env.db" run 0 "$H" -c "$T/etc/herald.conf" list create viaenv \
    --title T
[ -f "$T/env.db" ] || fail "HERALD_DB was not used"
HERALD_DB="$T/env.db" run 0 "$H" -d "$T/opt.db" -c "$T/etc/herald.conf" \
    list create viaopt --title T
[ -f "$T/opt.db" ] || fail "-d was not used"
HERALD_DB="$T/env.db" run 0 "$H" --json list ls
json_eq '[l["name"] for l in d]' "['viaenv']"

# A bad or missing configuration: 78, with the place of the error.
printf 'database = 12;\nsender = { from_address = "a@example.org"; };\nhttp = { base_url = "https://x.example"; };\n' \
    >"$T/etc/bad.conf"
run 78 "$H" -c "$T/etc/bad.conf" list ls && err_has "bad.conf:1"
run 78 "$H" -c "$T/etc/missing.conf" list ls && err_has "missing.conf"
# Help needs neither.
run 0 "$H" -c "$T/etc/missing.conf" list ls --help
finish
