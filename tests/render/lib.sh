# Shared by the render tests: a temporary folder, the source tree's
# templates, and small assertions.
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
HERALD_TEMPLATES="$top_srcdir/templates"
export HERALD_TEMPLATES
unset HERALD_DB
fail() { echo "FAIL: $*"; failed=1; }
expect_rc() {	# want, got, what
	[ "$1" = "$2" ] || fail "$3: exit $2, wanted $1"
}
finish() {
	[ $failed -eq 0 ] && echo "PASS"
	exit $failed
}
