#!/bin/sh
# heraldctl list: create, ls, show, rm; exit codes, JSON, refusals.
. "${top_srcdir:-.}/tests/cli/lib.sh"

run 0 "$H" list create spotlight --title "Spotlight on R2P" \
    --from News@R2P.Example --from-name "Friends of R2P" --optin single
out_has "created list spotlight"
run 0 "$H" --json list create km-news --title "ព្រឹត្តិបត្រ R2P"
json_ok
json_eq 'd["name"]' km-news
json_eq 'd["optin"]' double
json_eq 'd["title"]' "ព្រឹត្តិបត្រ R2P"

# Refusals: duplicate, bad names, missing title, bad values.
run 65 "$H" list create spotlight --title Again && err_has "exists"
run 65 "$H" list create Spotlight --title X && err_has "bad list name"
run 65 "$H" list create --title X -- -x
run 65 "$H" list create "$(printf 'a%.0s' $(seq 65))" --title X
run 0 "$H" list create "$(printf 'a%.0s' $(seq 64))" --title X
run 64 "$H" list create nope && err_has "--title is required"
run 64 "$H" list create nope --title X --optin triple
run 65 "$H" list create nope --title "$(printf 'two\nlines')"
run 65 "$H" list create nope --title X --from not-an-address
run 64 "$H" list create
run 64 "$H" list create a b --title X

# ls, in text and JSON.
run 0 "$H" list ls
out_has "NAME"
out_has "spotlight"
out_has "ព្រឹត្តិបត្រ R2P"
run 0 "$H" list ls --json
json_ok
json_eq 'len(d)' 3
json_eq '[l["name"] for l in d][1:]' "['km-news', 'spotlight']"

# show, with counts by state.
"$H" sub add spotlight a@example.org >/dev/null
"$H" sub add spotlight b@example.org >/dev/null
"$H" sub rm spotlight b@example.org >/dev/null
run 0 "$H" list show spotlight
out_has "from:          News@r2p.example"
out_has "confirmed:     1"
out_has "unsubscribed:  1"
run 0 "$H" --json list show spotlight
json_ok
json_eq 'd["subscribers"]["confirmed"]' 1
json_eq 'd["subscribers"]["unsubscribed"]' 1
json_eq 'd["from"]' News@r2p.example
json_eq 'd["from_name"]' "Friends of R2P"
run 65 "$H" list show nosuch && err_has "no such list"

# rm refused while the list has an issue: nothing changes.
sql "INSERT INTO issues (list_id, subject, source, template, send_at,
    created) SELECT id, 'Issue 1', 'subject: x', 'bulletin', 0, 0
    FROM lists WHERE name = 'spotlight'"
dump "$T/before"
run 65 "$H" list rm spotlight && err_has "--force"
dump "$T/after"
cmp -s "$T/before" "$T/after" || fail "a refused list rm changed the database"
run 0 "$H" --json list rm spotlight --force
json_ok
json_eq 'd["issues"]' 1
json_eq 'd["subscriptions"]' 2
run 65 "$H" list show spotlight
run 65 "$H" list rm spotlight
# The subscriber outlives the list.
run 0 "$H" sub show a@example.org
run 0 "$H" list rm km-news
out_has "removed list km-news"
finish
