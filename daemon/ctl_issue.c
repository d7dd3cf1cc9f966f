/* heraldctl's issue commands: queue, and the control of queued issues. */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "issue.h"
#include "json.h"
#include "store.h"
#include "xmalloc.h"


/* "now" or an RFC 3339 time with a zone. */
static int
ctl_parse_when(const char *s, time_t *t)
{
	if (strcmp(s, "now") == 0) {
		*t = time(NULL);
		return 0;
	}
	return issue_parse_time(s, t);
}

/* The issue's files, as the daemon's loader will look them up. */
static struct store_file *
ctl_issue_files(const struct issue *is, size_t *n)
{
	struct store_file	*f;
	size_t			 i, k = 0;

	f = xcalloc(is->nimages + is->nattachments + 1, sizeof(*f));
	for (i = 0; i < is->nimages; i++, k++) {
		f[k].name = is->images[i].path;
		f[k].mime_type = (char *)is->images[i].mime;
		f[k].data = is->images[i].data;
		f[k].len = is->images[i].len;
	}
	for (i = 0; i < is->nattachments; i++, k++) {
		f[k].name = is->attachments[i].path;
		f[k].mime_type = (char *)is->attachments[i].mime;
		f[k].data = is->attachments[i].data;
		f[k].len = is->attachments[i].len;
	}
	*n = k;
	return f;
}

static int
ctl_slurp(const char *path, char **data, size_t *len)
{
	FILE		*fp;
	struct buf	 b = BUF_INIT;
	char		 chunk[65536];
	size_t		 n;

	if ((fp = fopen(path, "r")) == NULL) {
		ctl_warnx("%s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_DATAERR;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(fp)) {
		ctl_warnx("%s: %s", path, strerror(errno));
		fclose(fp);
		buf_free(&b);
		return EX_IOERR;
	}
	fclose(fp);
	*len = b.len;
	*data = buf_steal(&b);
	return 0;
}

int
ctl_queue(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "at", required_argument, NULL, 'a' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_job		 job;
	struct store_file	*files = NULL;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	const char		*list = NULL, *at = NULL;
	char			*src = NULL, *cause = NULL, *tag = NULL;
	char			 when[32];
	size_t			 len, nfiles, size;
	time_t			 send_at;
	int64_t			 id;
	int			 ch, rc;

	memset(&job, 0, sizeof(job));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			list = optarg;
			break;
		case 'a':
			at = optarg;
			break;
		default:
			if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
				return rc;
		}
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return rc;
	if (at != NULL && ctl_parse_when(at, &send_at) != 0) {
		ctl_warnx("--at %s: not \"now\" nor an RFC 3339 time with a "
		    "zone (2026-12-01T09:00:00+07:00)", at);
		return EX_USAGE;
	}
	/* Check everything, and render it, before anything is stored. */
	if ((rc = ctl_config(ctl, &job, 0)) != 0 ||
	    (rc = ctl_key(&job, 0)) != 0 ||
	    (rc = ctl_prepare(ctl, &job, argv[0], list, 1, 0,
	    time(NULL))) != 0)
		goto done;
	rc = EX_DATAERR;
	if (ctl_render_all(&job, argv[0], &size) != 0)
		goto done;
	if (at == NULL) {
		if (!job.issue->has_send_at) {
			ctl_warnx("%s: no send time: add \"send_at:\" to the "
			    "file or give --at TIME (or --at now)", argv[0]);
			rc = EX_USAGE;
			goto done;
		}
		send_at = job.issue->send_at;
	}
	if ((rc = ctl_slurp(argv[0], &src, &len)) != 0)
		goto done;
	files = ctl_issue_files(job.issue, &nfiles);
	xasprintf(&tag, "cli:%s", argv[0]);
	if (store_issue_create(ctl->st, job.list->name,
	    job.issue->langs[0].subject, job.issue->template ?
	    job.issue->template : ISSUE_DEFAULT_TEMPLATE, src, len,
	    (int64_t)send_at, files, nfiles, tag, &id, &cause) != 0) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_int(&j, "id", id);
		json_str(&j, "list", job.list->name);
		json_time(&j, "send_at", (int64_t)send_at);
		json_close(&j, '}');
		ctl_json_print(&b);
	} else
		printf("queued issue %lld for list %s at %s\n", (long long)id,
		    job.list->name, ctl_time((int64_t)send_at, when));
	rc = EX_OK;
done:
	free(src);
	free(tag);
	free(files);
	buf_free(&b);
	ctl_job_free(&job);
	return rc;
}

/* A positive issue number. */
static int
ctl_issue_id(const char *s, int64_t *id)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || end == s) {
		ctl_warnx("%s: not an issue number", s);
		return EX_USAGE;
	}
	*id = v;
	return 0;
}

/*
 * The arguments of a command that takes one issue number and the common
 * options: -1 with *id set and the database open, or an exit code to
 * stop with (0 after --help).
 */
static int
ctl_issue_args(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv, int64_t *id)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	int	ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0 ||
	    (rc = ctl_issue_id(argv[0], id)) != 0 ||
	    (rc = ctl_open(ctl)) != 0)
		return rc;
	return -1;
}

static void
ctl_issue_json(struct json *j, const struct store_issue *si, int64_t now)
{
	int64_t	open = si->n_pending + si->n_sending + si->n_deferred;

	json_int(j, "id", si->id);
	json_str(j, "list", si->list);
	json_str(j, "subject", si->subject);
	json_str(j, "template", si->template);
	json_str(j, "state", si->state);
	json_str(j, "note", si->note);
	json_time(j, "send_at", si->send_at);
	json_time(j, "created", si->created);
	json_time(j, "started", si->started);
	json_time(j, "finished", si->finished);
	json_open(j, "deliveries", '{');
	json_int(j, "pending", si->n_pending);
	json_int(j, "sending", si->n_sending);
	json_int(j, "sent", si->n_sent);
	json_int(j, "deferred", si->n_deferred);
	json_int(j, "failed", si->n_failed);
	json_int(j, "skipped", si->n_skipped);
	json_close(j, '}');
	json_int(j, "rate_per_minute", si->sent_last_minute);
	if (strcmp(si->state, "sending") == 0 && si->sent_last_minute > 0)
		json_time(j, "estimated_finish",
		    now + open * 60 / si->sent_last_minute);
	else
		json_time(j, "estimated_finish", 0);
}

int
ctl_issues(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_issue	*v;
	struct ctl_table	 t;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	const char		*list = NULL;
	char			*cause = NULL, tm[32], cnt[64];
	size_t			 n, i;
	int			 ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'l')
			list = optarg;
		else if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	}
	argc -= optind;
	if ((rc = ctl_bad_operands(cmd, argc, 0, 0)) != 0)
		return rc;
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	if ((v = store_issue_all(ctl->st, list, &n, &cause)) == NULL &&
	    cause != NULL)
		return ctl_store_fail(ctl, cause);
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '[');
		for (i = 0; i < n; i++) {
			json_open(&j, NULL, '{');
			ctl_issue_json(&j, &v[i], time(NULL));
			json_close(&j, '}');
		}
		json_close(&j, ']');
		ctl_json_print(&b);
		buf_free(&b);
	} else {
		ctl_table_init(&t, 6);
		ctl_table_add(&t, "ID");
		ctl_table_add(&t, "LIST");
		ctl_table_add(&t, "STATE");
		ctl_table_add(&t, "SEND AT");
		ctl_table_add(&t, "SENT/TOTAL");
		ctl_table_add(&t, "SUBJECT");
		for (i = 0; i < n; i++) {
			snprintf(cnt, sizeof(cnt), "%lld", (long long)v[i].id);
			ctl_table_add(&t, cnt);
			ctl_table_add(&t, v[i].list);
			ctl_table_add(&t, v[i].state);
			ctl_table_add(&t, ctl_time(v[i].send_at, tm));
			snprintf(cnt, sizeof(cnt), "%lld/%lld",
			    (long long)v[i].n_sent, (long long)(v[i].n_pending +
			    v[i].n_sending + v[i].n_sent + v[i].n_deferred +
			    v[i].n_failed + v[i].n_skipped));
			ctl_table_add(&t, cnt);
			ctl_table_add(&t, v[i].subject);
		}
		ctl_table_print(&t, stdout);
		ctl_table_free(&t);
	}
	store_issue_free_array(v, n);
	return EX_OK;
}

int
ctl_status(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct store_issue	*si;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	char			*cause = NULL, tm[32];
	int64_t			 id, open, now = time(NULL);
	int			 rc;

	if ((rc = ctl_issue_args(ctl, cmd, argc, argv, &id)) != -1)
		return rc;
	if ((si = store_issue_get(ctl->st, id, &cause)) == NULL)
		return ctl_store_fail(ctl, cause);
	open = si->n_pending + si->n_sending + si->n_deferred;
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		ctl_issue_json(&j, si, now);
		json_close(&j, '}');
		ctl_json_print(&b);
		buf_free(&b);
	} else {
		printf("issue:     %lld\n", (long long)si->id);
		printf("list:      %s\n", si->list);
		printf("subject:   %s\n", si->subject);
		printf("state:     %s%s%s%s\n", si->state, si->note ? " (" : "",
		    si->note ? si->note : "", si->note ? ")" : "");
		printf("send at:   %s\n", ctl_time(si->send_at, tm));
		printf("started:   %s\n", ctl_time(si->started, tm));
		printf("finished:  %s\n", ctl_time(si->finished, tm));
		printf("sent:      %lld\n", (long long)si->n_sent);
		printf("pending:   %lld\n", (long long)si->n_pending);
		printf("sending:   %lld\n", (long long)si->n_sending);
		printf("deferred:  %lld\n", (long long)si->n_deferred);
		printf("failed:    %lld\n", (long long)si->n_failed);
		printf("skipped:   %lld\n", (long long)si->n_skipped);
		printf("rate:      %lld per minute\n",
		    (long long)si->sent_last_minute);
		if (strcmp(si->state, "sending") == 0 &&
		    si->sent_last_minute > 0)
			printf("finish:    about %s\n", ctl_time(now +
			    open * 60 / si->sent_last_minute, tm));
		else
			printf("finish:    -\n");
	}
	store_issue_free(si);
	return EX_OK;
}

/*
 * wait: until the issue is neither queued nor sending.  It asks for the
 * state alone (one row, no counts) every CTL_WAIT_MS, so that a script
 * or a benchmark waiting on a send takes next to nothing from it.
 */
#define CTL_WAIT_MS	20

int
ctl_wait(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct timespec	 ts, pause = { 0, CTL_WAIT_MS * 1000000L };
	struct buf	 b = BUF_INIT;
	struct json	 j;
	char		*state = NULL, *note = NULL, *cause = NULL;
	long long	 timeout = -1;
	int64_t		 id, start_ms, now_ms;
	int		 ch, rc, timed_out = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 't') {
			if ((timeout = config_parse_duration(optarg)) < 0) {
				ctl_warnx("--timeout %s: not a duration (such "
				    "as 90s, 15m, 2h)", optarg);
				return EX_USAGE;
			}
		} else if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0 ||
	    (rc = ctl_issue_id(argv[0], &id)) != 0 ||
	    (rc = ctl_open(ctl)) != 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (;;) {
		free(state);
		free(note);
		if (store_issue_peek(ctl->st, id, &state, &note, &cause) != 0)
			return ctl_store_fail(ctl, cause);
		if (strcmp(state, "queued") != 0 &&
		    strcmp(state, "sending") != 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (timeout >= 0 && now_ms - start_ms >= timeout * 1000) {
			timed_out = 1;
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_int(&j, "id", id);
		json_str(&j, "state", state);
		json_str(&j, "note", note);
		json_bool(&j, "timed_out", timed_out);
		json_close(&j, '}');
		ctl_json_print(&b);
		buf_free(&b);
	} else if (timed_out)
		ctl_warnx("issue %lld is still %s after %lld s",
		    (long long)id, state, timeout);
	else
		printf("issue %lld is %s%s%s%s\n", (long long)id, state,
		    note != NULL ? " (" : "", note != NULL ? note : "",
		    note != NULL ? ")" : "");
	rc = timed_out ? EX_TEMPFAIL : strcmp(state, "sent") == 0 ? EX_OK : 1;
	free(state);
	free(note);
	return rc;
}

/* cancel, pause, resume: one state change each. */
int
ctl_issue_state(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	struct store_issue	*si;
	const char		*from, *to;
	char			*cause = NULL;
	int64_t			 id;
	int			 rc;

	if ((rc = ctl_issue_args(ctl, cmd, argc, argv, &id)) != -1)
		return rc;
	if (strcmp(cmd->name, "cancel") == 0) {
		from = "queued,sending,paused";
		to = "cancelled";
	} else if (strcmp(cmd->name, "pause") == 0) {
		from = "queued,sending";
		to = "paused";
	} else {
		/* A paused issue goes back to where it was. */
		if ((si = store_issue_get(ctl->st, id, &cause)) == NULL)
			return ctl_store_fail(ctl, cause);
		from = "paused";
		to = si->started ? "sending" : "queued";
		store_issue_free(si);
	}
	if (store_issue_transition(ctl->st, id, from, to, NULL, "cli",
	    &cause) != 0)
		return ctl_store_fail(ctl, cause);
	if (!ctl->json)
		printf("issue %lld is %s\n", (long long)id, to);
	else
		printf("{\"id\": %lld, \"state\": \"%s\"}\n", (long long)id,
		    to);
	return EX_OK;
}

int
ctl_retry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	char	*cause = NULL;
	int64_t	 id, n;
	int	 rc;

	if ((rc = ctl_issue_args(ctl, cmd, argc, argv, &id)) != -1)
		return rc;
	if (store_issue_retry(ctl->st, id, time(NULL), &n, &cause) != 0)
		return ctl_store_fail(ctl, cause);
	if (!ctl->json)
		printf("issue %lld: %lld failed message%s queued again\n",
		    (long long)id, (long long)n, n == 1 ? "" : "s");
	else
		printf("{\"id\": %lld, \"retried\": %lld}\n", (long long)id,
		    (long long)n);
	return EX_OK;
}

