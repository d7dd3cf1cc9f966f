/*
 * Benchmark: render the spotlight sample into complete message bytes for
 * N generated subscribers (each with their own name, language and links),
 * discarding the bytes.  Prints messages per second of CPU time on one
 * core, wall time, and peak RSS.  Run by tests/bench/render.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "buf.h"
#include "errlist.h"
#include "issue.h"
#include "render.h"

static double
cpu_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
wall_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	static const char *const first[] = { "Sok", "Dara", "Chenda", "Maria",
	    "សុខ", "ចាន់", "Vichet", "Amelia" };
	static const char *const last[] = { "Chan", "Heng", "Smith", "ដារ៉ា",
	    "Meas", "Nguyen", "Hart" };
	struct errlist		 errs = ERRLIST_INIT;
	struct issue_limits	 lim;
	struct issue		*is;
	struct render_issue	*r;
	struct render_env	 env;
	struct render_list	 rl;
	struct render_rcpt	 rc;
	struct render_attr	 attr;
	struct rusage		 ru;
	struct buf		 out = BUF_INIT;
	char			 email[64], name[128], city[32], *cause = NULL;
	const char		*key = "benchmark key, not a secret";
	double			 c0, w0, c1, w1;
	long			 i, n;
	size_t			 bytes = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: render_bench SAMPLE.yaml TEMPLATES N\n");
		return 64;
	}
	n = atol(argv[3]);
	issue_limits_default(&lim);
	if ((is = issue_parse_file(argv[1], &lim, &errs)) == NULL) {
		errlist_print(&errs, stderr, "render_bench");
		return 65;
	}
	memset(&env, 0, sizeof(env));
	env.templates = argv[2];
	env.base_url = "https://lists.r2p.example";
	env.from_address = "bulletin@r2p.example";
	env.from_name = "Spotlight on R2P";
	env.domain = "r2p.example";
	env.bounce_domain = "r2p.example";
	env.postal_address = "Friends of R2P\nPhnom Penh, Cambodia";
	env.key = (const unsigned char *)key;
	env.keylen = strlen(key);
	memset(&rl, 0, sizeof(rl));
	rl.id = 1;
	rl.name = "spotlight";
	rl.title = "Spotlight on R2P";
	if ((r = render_compile(is, 7, time(NULL), &rl, &env,
	    &cause)) == NULL) {
		fprintf(stderr, "render_bench: %s\n", cause);
		return 65;
	}
	c0 = cpu_seconds();
	w0 = wall_seconds();
	for (i = 0; i < n; i++) {
		snprintf(email, sizeof(email), "reader%ld@example.org", i);
		snprintf(name, sizeof(name), "%s %s %ld", first[i % 8],
		    last[i % 7], i);
		snprintf(city, sizeof(city), "City %ld", i % 100);
		attr.key = "city";
		attr.val = city;
		memset(&rc, 0, sizeof(rc));
		rc.id = i + 1;
		rc.email = email;
		rc.name = name;
		rc.lang = i % 3 == 0 ? "km" : "en";
		rc.attrs = &attr;
		rc.nattrs = 1;
		if (render_message(r, &rc, time(NULL), &out, &cause) != 0) {
			fprintf(stderr, "render_bench: %s\n", cause);
			return 1;
		}
		bytes += out.len;
	}
	c1 = cpu_seconds();
	w1 = wall_seconds();
	getrusage(RUSAGE_SELF, &ru);
	printf("subscribers=%ld cpu_s=%.3f wall_s=%.3f msgs_per_cpu_s=%.0f "
	    "msgs_per_wall_s=%.0f avg_bytes=%zu peak_rss_kib=%ld\n", n,
	    c1 - c0, w1 - w0, n / (c1 - c0), n / (w1 - w0),
	    n ? bytes / (size_t)n : 0, ru.ru_maxrss);
	render_free(r);
	issue_free(is);
	buf_free(&out);
	return 0;
}
