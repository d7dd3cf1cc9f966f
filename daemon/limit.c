/* Sliding-window rate limits and exponential retry backoff. */
#include "autoconf.h"

#include <string.h>

#include "limit.h"

static const int64_t limit_widths[LIMIT_WINDOWS] = {
	1000, 60 * 1000, 3600 * 1000, 86400 * 1000
};

void
limit_init(struct limits *l, uint64_t sec, uint64_t min, uint64_t hour,
    uint64_t day)
{
	memset(l, 0, sizeof(*l));
	limit_update(l, sec, min, hour, day);
}

void
limit_update(struct limits *l, uint64_t sec, uint64_t min, uint64_t hour,
    uint64_t day)
{
	uint64_t	max[LIMIT_WINDOWS] = { sec, min, hour, day };
	int		i;

	for (i = 0; i < LIMIT_WINDOWS; i++) {
		l->w[i].max = max[i];
		l->w[i].width_ms = max[i] ? limit_widths[i] : 0;
	}
}

static int64_t
limit_slot_of(const struct limit_window *w, int64_t ms)
{
	int64_t	bw = w->width_ms / LIMIT_SLOTS;

	return ms >= 0 ? ms / bw : (ms - bw + 1) / bw;
}

/* Move the window forward to the slot of now, clearing buckets passed. */
static void
limit_advance(struct limit_window *w, int64_t now_ms)
{
	int64_t	s = limit_slot_of(w, now_ms), k;

	if (s <= w->slot)
		return;
	if (s - w->slot > LIMIT_SLOTS)
		memset(w->count, 0, sizeof(w->count));
	else
		for (k = w->slot + 1; k <= s; k++)
			w->count[k % (LIMIT_SLOTS + 1)] = 0;
	w->slot = s;
}

static uint64_t
limit_sum(const struct limit_window *w)
{
	uint64_t	sum = 0;
	int		i;

	for (i = 0; i <= LIMIT_SLOTS; i++)
		sum += w->count[i];
	return sum;
}

int
limit_take(struct limits *l, int64_t now_ms)
{
	int	i;

	for (i = 0; i < LIMIT_WINDOWS; i++) {
		if (l->w[i].width_ms == 0)
			continue;
		limit_advance(&l->w[i], now_ms);
		if (limit_sum(&l->w[i]) >= l->w[i].max)
			return 0;
	}
	for (i = 0; i < LIMIT_WINDOWS; i++)
		if (l->w[i].width_ms != 0)
			l->w[i].count[l->w[i].slot % (LIMIT_SLOTS + 1)]++;
	return 1;
}

void
limit_record(struct limits *l, int64_t at_ms)
{
	struct limit_window	*w;
	int64_t			 s;
	int			 i;

	for (i = 0; i < LIMIT_WINDOWS; i++) {
		w = &l->w[i];
		if (w->width_ms == 0)
			continue;
		s = limit_slot_of(w, at_ms);
		if (s > w->slot)
			limit_advance(w, at_ms);
		else if (w->slot - s > LIMIT_SLOTS)
			continue;	/* older than the window */
		w->count[s % (LIMIT_SLOTS + 1)]++;
	}
}

int64_t
limit_next(struct limits *l, int64_t now_ms)
{
	struct limit_window	*w;
	int64_t			 next = now_ms, t, s, bw;
	uint64_t		 sum;
	int			 i;

	for (i = 0; i < LIMIT_WINDOWS; i++) {
		w = &l->w[i];
		if (w->width_ms == 0)
			continue;
		limit_advance(w, now_ms);
		sum = limit_sum(w);
		if (sum < w->max)
			continue;
		/* Buckets drop out oldest first; find when enough have. */
		bw = w->width_ms / LIMIT_SLOTS;
		for (s = w->slot - LIMIT_SLOTS; s <= w->slot; s++) {
			sum -= w->count[s % (LIMIT_SLOTS + 1)];
			if (sum < w->max)
				break;
		}
		/* Bucket s leaves the counted span when slot s+LIMIT_SLOTS+1 begins. */
		t = (s + LIMIT_SLOTS + 1) * bw;
		if (t > next)
			next = t;
	}
	return next;
}

int64_t
limit_backoff(int64_t initial, int64_t max, unsigned attempt)
{
	int64_t	d = initial;

	if (attempt == 0)
		attempt = 1;
	while (--attempt > 0 && d < max)
		d *= 2;
	return d < max ? d : max;
}
