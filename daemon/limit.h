/*
 * Rate limits and retry backoff, in one place.
 *
 * A limit allows at most `max` events in any window of `width_ms`.  Each
 * window is kept as LIMIT_SLOTS buckets; the count used is that of the
 * last LIMIT_SLOTS + 1 buckets, which span at least one full window, so
 * the limit is never exceeded (at the price of a rate up to 1/LIMIT_SLOTS
 * lower than the maximum).  Pure: time is passed in, nothing is read.
 */
#ifndef HERALD_LIMIT_H
#define HERALD_LIMIT_H

#include <stdint.h>

#define LIMIT_SLOTS	20
#define LIMIT_WINDOWS	4	/* per second, minute, hour, day */

struct limit_window {
	int64_t		width_ms;	/* 0: this window is unlimited */
	uint64_t	max;
	int64_t		slot;		/* index of the newest bucket */
	uint64_t	count[LIMIT_SLOTS + 1];
};

struct limits {
	struct limit_window	w[LIMIT_WINDOWS];
};

/* Set up limits per second, minute, hour and day (0: unlimited). */
void	 limit_init(struct limits *, uint64_t per_second,
	    uint64_t per_minute, uint64_t per_hour, uint64_t per_day);
/* Change the maxima, keeping what was counted (after a reload). */
void	 limit_update(struct limits *, uint64_t per_second,
	    uint64_t per_minute, uint64_t per_hour, uint64_t per_day);
/* 1 and the event counted when one more is allowed at now_ms, else 0. */
int	 limit_take(struct limits *, int64_t now_ms);
/* Count an event that happened at at_ms (to seed from history). */
void	 limit_record(struct limits *, int64_t at_ms);
/* The earliest time at or after now_ms when limit_take may succeed. */
int64_t	 limit_next(struct limits *, int64_t now_ms);

/*
 * The delay before retry number `attempt` (1 for the first retry):
 * initial * 2^(attempt-1), capped at max, all in seconds.
 */
int64_t	 limit_backoff(int64_t initial, int64_t max, unsigned attempt);

#endif
