#!/bin/sh
# heraldctl sub: add, rm, ls, show; address normal form, IDN, states.
. "${top_srcdir:-.}/tests/cli/lib.sh"

"$H" list create news --title News >/dev/null || fail "list create"
"$H" list create other --title Other >/dev/null || fail "list create"

run 0 "$H" sub add news Sok@Example.ORG --name "សុខ ចាន់" --lang km \
    --attr city="Phnom Penh" --attr 'org=Friends, "R2P"'
out_has "subscribed Sok@example.org to news"
# The domain is case-insensitive: the same subscriber, updated.  The local
# part is kept as given (RFC 5321): sok@ would be someone else.
run 0 "$H" --json sub add news Sok@EXAMPLE.org --attr city=Siem\ Reap
json_ok
json_eq 'd["was"]' confirmed
json_eq 'd["email"]' Sok@example.org
# An internationalized domain is kept in Unicode.
run 0 "$H" sub add news user@ព្រឹត្តិបត្រ.example --lang EN
out_has "user@ព្រឹត្តិបត្រ.example"
run 0 "$H" sub add other Sok@example.org

# Refusals, each with its reason.
run 65 "$H" sub add news "not an address" && err_has "address not an address"
run 65 "$H" sub add news a@localhost
run 65 "$H" sub add news a@example.org --name "$(printf 'x\ny')"
run 65 "$H" sub add news a@example.org --lang "not a tag"
run 65 "$H" sub add news a@example.org --attr novalue
run 65 "$H" sub add news a@example.org --attr email=x
run 65 "$H" sub add nosuch a@example.org && err_has "no such list"
run 64 "$H" sub add news
run 64 "$H" sub add news a@example.org --bogus

# show: every subscription, attributes, JSON.
run 0 "$H" sub show Sok@example.org
out_has "Sok@example.org"
out_has "attr:     city=Siem Reap"
out_has 'attr:     org=Friends, "R2P"'
run 0 "$H" --json sub show Sok@Example.Org
json_ok
json_eq 'd["name"]' "សុខ ចាន់"
json_eq 'd["attrs"]["org"]' 'Friends, "R2P"'
json_eq '[(s["list"], s["state"], s["source"]) for s in d["subscriptions"]]' \
    "[('news', 'confirmed', 'cli'), ('other', 'confirmed', 'cli')]"
run 65 "$H" sub show nobody@example.org && err_has "no such subscriber"

# rm keeps the record: the subscription is marked unsubscribed.
run 0 "$H" sub rm news Sok@example.org
out_has "unsubscribed Sok@example.org from news"
run 0 "$H" sub rm news Sok@example.org
out_has "already unsubscribed"
run 65 "$H" sub rm news nobody@example.org
run 65 "$H" sub rm other user@ព្រឹត្តិបត្រ.example && err_has "not subscribed"
run 0 "$H" --json sub show Sok@example.org
json_eq '[s["state"] for s in d["subscriptions"]]' \
    "['unsubscribed', 'confirmed']"

# ls by state.
run 0 "$H" sub ls news
out_has "EMAIL"
out_has "unsubscribed"
run 0 "$H" --json sub ls news --state confirmed
json_ok
json_eq '[s["email"] for s in d]' "['user@ព្រឹត្តិបត្រ.example']"
json_eq 'd[0]["lang"]' en
run 0 "$H" sub ls news --state unsubscribed --json
json_eq 'len(d)' 1
run 0 "$H" sub ls news --state pending
out_has "no pending subscribers"
run 64 "$H" sub ls news --state gone
run 65 "$H" sub ls nosuch

# Adding again resubscribes: the coordinator vouches.
run 0 "$H" sub add news Sok@example.org
out_has "resubscribed"

# The journal has every change, with its source.
ev=$("$PY" -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
print(" ".join(k for (k,) in c.execute("SELECT kind FROM events WHERE email = ? ORDER BY id", ("Sok@example.org",))))' "$HERALD_DB")
[ "$ev" = "subscribe update subscribe unsubscribe subscribe" ] ||
    fail "events are '$ev'"
finish
