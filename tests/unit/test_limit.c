/* Unit tests for the rate limits and backoff in limit.c. */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "limit.h"

/* Count the events in [t - width, t]: brute force, the oracle. */
static uint64_t
count_window(const int64_t *ev, size_t n, int64_t end, int64_t width)
{
	uint64_t	c = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		if (ev[i] > end - width && ev[i] <= end)
			c++;
	return c;
}

static void
test_burst_then_refuse(void **state)
{
	struct limits	l;
	int		i;

	limit_init(&l, 10, 0, 0, 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(limit_take(&l, 1000000), 1);
	assert_int_equal(limit_take(&l, 1000000), 0);
	assert_int_equal(limit_take(&l, 1000999), 0);
	/* The whole burst has aged out after one window and one bucket. */
	assert_int_equal(limit_take(&l, 1000000 + 1050), 1);
}

static void
test_unlimited(void **state)
{
	struct limits	l;
	int		i;

	limit_init(&l, 0, 0, 0, 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(limit_take(&l, 5000), 1);
	assert_true(limit_next(&l, 5000) == 5000);
}

/* Whatever the pattern of attempts, no window ever holds more than max. */
static void
test_never_exceeded(void **state)
{
	static int64_t	ev[200000];
	struct limits	l;
	size_t		n = 0, i;
	int64_t		t = 1700000000000LL;
	uint64_t	persec = 37, permin = 1200;

	srandom(42);
	limit_init(&l, persec, permin, 0, 0);
	while (n < 3000) {
		t += random() % 23;
		if (limit_take(&l, t))
			ev[n++] = t;
	}
	for (i = 0; i < n; i++) {
		assert_true(count_window(ev, n, ev[i], 1000) <= persec);
		assert_true(count_window(ev, n, ev[i], 60000) <= permin);
	}
	/* And it does not starve: over the run the rate is near the limit. */
	assert_true((double)n / ((t - 1700000000000LL) / 60000.0) >
	    permin * 0.9);
}

static void
test_next_is_when_allowed(void **state)
{
	struct limits	l;
	int64_t		now = 2000000, next;
	int		i;

	limit_init(&l, 5, 0, 0, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(limit_take(&l, now + i * 10), 1);
	next = limit_next(&l, now + 100);
	assert_true(next > now + 100);
	assert_int_equal(limit_take(&l, next - 1), 0);
	assert_int_equal(limit_take(&l, next), 1);
}

/* History recorded at start-up counts as if it had just been taken. */
static void
test_record_seeds_window(void **state)
{
	struct limits	l;
	int		i;

	limit_init(&l, 0, 0, 100, 0);
	for (i = 0; i < 100; i++)
		limit_record(&l, 3600000LL * 50 + i * 1000);
	assert_int_equal(limit_take(&l, 3600000LL * 50 + 1800000), 0);
	/* Something older than the window does not count. */
	limit_init(&l, 0, 0, 100, 0);
	limit_take(&l, 3600000LL * 60);
	for (i = 0; i < 100; i++)
		limit_record(&l, 3600000LL * 50 + i);
	assert_int_equal(limit_take(&l, 3600000LL * 60 + 1), 1);
}

static void
test_update_keeps_counts(void **state)
{
	struct limits	l;
	int		i;

	limit_init(&l, 10, 0, 0, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(limit_take(&l, 9000), 1);
	limit_update(&l, 5, 0, 0, 0);
	assert_int_equal(limit_take(&l, 9001), 0);
}

static void
test_backoff(void **state)
{
	assert_int_equal(limit_backoff(60, 3600, 1), 60);
	assert_int_equal(limit_backoff(60, 3600, 2), 120);
	assert_int_equal(limit_backoff(60, 3600, 3), 240);
	assert_int_equal(limit_backoff(60, 3600, 7), 3600);
	assert_int_equal(limit_backoff(60, 3600, 1000), 3600);
	assert_int_equal(limit_backoff(1, 10, 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refuse),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_never_exceeded),
		cmocka_unit_test(test_next_is_when_allowed),
		cmocka_unit_test(test_record_seeds_window),
		cmocka_unit_test(test_update_keeps_counts),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
