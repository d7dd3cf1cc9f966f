/* smtp_send: drive smtp.c from the command line, one result line per message. */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "smtp.h"
#include "xmalloc.h"

struct msg {
	char	*bytes;
	size_t	 len;
};

static int quiet;
static unsigned long nsent, ndone;

static void
usage(void)
{
	fprintf(stderr, "usage: smtp_send [-Ggqv] [-c conns] [-m per-conn] "
	    "[-n count] [-s size] [-f from] [-r rcpt] [-t none|try|require]\n"
	    "\t[-u user] [-p passfile] [-C cafile] [-T resp-timeout] "
	    "[-K connect-timeout-ms] url [file ...]\n");
	exit(64);
}

static void
done(const struct smtp_result *r, void *arg)
{
	ndone++;
	if (r->outcome == SMTP_SENT)
		nsent++;
	if (quiet)
		return;
	printf("%" PRIu64 " %s %ld %d stage=%s data=%d policy=%d backoff=%d "
	    "retried=%d enhanced=%s reply=%s\n", r->id,
	    smtp_outcome_name(r->outcome), r->code, (int)r->curlcode,
	    smtp_stage_name(r->stage), r->attempted_data, r->policy,
	    r->backoff, r->retried, r->enhanced[0] ? r->enhanced : "-",
	    r->reply);
	fflush(stdout);
}

/* A canonical CRLF message of about size bytes. */
static void
generate(struct msg *m, const char *from, const char *rcpt, size_t size,
    int n)
{
	struct buf	 b = BUF_INIT;

	buf_printf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: test %d\r\n"
	    "Message-ID: <%d.smtp_send@herald.test>\r\n\r\n", from, rcpt, n, n);
	while (b.len + 2 < size)
		buf_adds(&b, ".line of filler text for the SMTP transport "
		    "test, dot first\r\n");
	m->len = b.len;
	m->bytes = buf_steal(&b);
}

static char *
readfile(const char *path, size_t *lenp)
{
	FILE		*f;
	struct buf	 b = BUF_INIT;
	char		 tmp[8192];
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		fatal("%s", path);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	if (ferror(f))
		fatal("%s", path);
	fclose(f);
	*lenp = b.len;
	return buf_steal(&b);
}

int
main(int argc, char **argv)
{
	struct smtp_params	 p;
	struct smtp		*smtp;
	struct msg		*msgs;
	struct timespec		 t0, t1;
	const char		*from = "sender@herald.test";
	const char		*rcpt = "rcpt%d@herald.test";
	char			*cause, *pass = NULL, rbuf[512];
	size_t			 size = 30000, len;
	int			 ch, count = 1, nmsgs, next = 0, i, ack = 0;
	double			 secs;

	memset(&p, 0, sizeof(p));
	p.connections = 1;
	log_init("smtp_send", 0);
	while ((ch = getopt(argc, argv, "C:c:f:GgK:m:n:p:qr:s:T:t:u:v")) != -1) {
		switch (ch) {
		case 'C':
			p.cafile = optarg;
			break;
		case 'c':
			p.connections = atoi(optarg);
			break;
		case 'f':
			from = optarg;
			break;
		case 'K':
			p.connect_timeout_ms = atol(optarg);
			break;
		case 'm':
			p.per_connection = atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'p':
			pass = readfile(optarg, &len);
			pass[strcspn(pass, "\r\n")] = '\0';
			p.password = pass;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'r':
			rcpt = optarg;
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		case 'T':
			p.response_timeout = atol(optarg);
			break;
		case 't':
			if (strcmp(optarg, "none") == 0)
				p.starttls = SMTP_STARTTLS_NONE;
			else if (strcmp(optarg, "try") == 0)
				p.starttls = SMTP_STARTTLS_TRY;
			else if (strcmp(optarg, "require") == 0)
				p.starttls = SMTP_STARTTLS_REQUIRE;
			else
				usage();
			break;
		case 'u':
			p.username = optarg;
			break;
		case 'G':	/* the gate on, nothing ever recorded */
			p.gate_dot = 1;
			break;
		case 'g':	/* the gate on, every result recorded at once */
			p.gate_dot = 1;
			ack = 1;
			break;
		case 'v':
			p.verbose = 1;
			log_setlevel(LOG_LEVEL_DEBUG);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || count < 1)
		usage();
	p.url = argv[0];
	argc--;
	argv++;

	/* Files given: send each once; else generate count messages. */
	nmsgs = argc > 0 ? argc : count;
	msgs = xcalloc(nmsgs, sizeof(*msgs));
	for (i = 0; i < nmsgs; i++) {
		snprintf(rbuf, sizeof(rbuf), rcpt, i);
		if (argc > 0)
			msgs[i].bytes = readfile(argv[i], &msgs[i].len);
		else
			generate(&msgs[i], from, rbuf, size, i);
	}

	if ((smtp = smtp_new(&p, &cause)) == NULL)
		fatalx("%s", cause);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (next < nmsgs || smtp_busy(smtp) > 0) {
		while (next < nmsgs && smtp_idle_slots(smtp) > 0) {
			snprintf(rbuf, sizeof(rbuf), rcpt, next);
			switch (smtp_submit(smtp, next, from, rbuf,
			    msgs[next].bytes, msgs[next].len, NULL)) {
			case 0:
				break;
			case -2:
				ndone++;
				printf("%d refused 0 0 reply=%s\n", next,
				    smtp_check(from, rbuf, msgs[next].bytes,
				    msgs[next].len));
				break;
			default:
				fatalx("smtp_submit failed with an idle slot");
			}
			next++;
		}
		if (smtp_perform(smtp, done, NULL) == -1)
			fatalx("smtp_perform failed");
		if (ack)
			smtp_ack(smtp);
		if (smtp_busy(smtp) > 0 && smtp_idle_slots(smtp) == 0 &&
		    smtp_poll(smtp, 1000, NULL, 0) == -1)
			fatalx("smtp_poll failed");
		else if (smtp_busy(smtp) > 0 && next >= nmsgs &&
		    smtp_poll(smtp, 1000, NULL, 0) == -1)
			fatalx("smtp_poll failed");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "smtp_send: %lu/%lu sent in %.3f s, %.1f msg/s\n",
	    nsent, ndone, secs, ndone / secs);
	smtp_free(smtp);
	for (i = 0; i < nmsgs; i++)
		free(msgs[i].bytes);
	free(msgs);
	if (pass != NULL)
		freezero_str(pass);
	return nsent == ndone ? 0 : 1;
}
