/* Unit tests of smtp.c: the outcome table, reply parsing, the message check, polling. */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtp.h"

static const char msg[] = "Subject: x\r\n\r\nbody\r\n.dot\r\n";

/* SMTP-NOTES.md's outcome table, and the rows smtp.c adds. */
static void
test_classify(void **state)
{
	static const struct {
		CURLcode cc;
		long code;
		enum smtp_stage stage;
		int after_dot, reused;
		enum smtp_outcome want;
	} t[] = {
		{ CURLE_OK, 250, SMTP_STAGE_DOT, 1, 0, SMTP_SENT },
		{ CURLE_SEND_ERROR, 550, SMTP_STAGE_RCPT, 0, 0, SMTP_FAILED },
		{ CURLE_SEND_ERROR, 550, SMTP_STAGE_RCPT, 0, 1, SMTP_FAILED },
		{ CURLE_SEND_ERROR, 451, SMTP_STAGE_RCPT, 0, 0, SMTP_DEFERRED },
		{ CURLE_WEIRD_SERVER_REPLY, 554, SMTP_STAGE_DOT, 1, 0, SMTP_FAILED },
		{ CURLE_WEIRD_SERVER_REPLY, 452, SMTP_STAGE_DOT, 1, 0, SMTP_DEFERRED },
		{ CURLE_RECV_ERROR, 354, SMTP_STAGE_DOT, 0, 0, SMTP_INDOUBT },
		{ CURLE_OPERATION_TIMEDOUT, 354, SMTP_STAGE_DOT, 0, 1, SMTP_INDOUBT },
		{ CURLE_COULDNT_CONNECT, 0, SMTP_STAGE_CONNECT, 0, 0, SMTP_DEFERRED },
		{ CURLE_SEND_ERROR, 421, SMTP_STAGE_MAIL, 0, 1, SMTP_RETRY_NOW },
		{ CURLE_SEND_ERROR, 550, SMTP_STAGE_MAIL, 0, 0, SMTP_DEFERRED },
		{ CURLE_RECV_ERROR, 0, SMTP_STAGE_CONNECT, 0, 1, SMTP_RETRY_NOW },
		{ CURLE_RECV_ERROR, 0, SMTP_STAGE_CONNECT, 0, 0, SMTP_DEFERRED },
		{ CURLE_SEND_ERROR, 554, SMTP_STAGE_DATA, 0, 0, SMTP_FAILED },
		{ CURLE_SEND_ERROR, 0, SMTP_STAGE_DATA, 0, 0, SMTP_DEFERRED },
		{ CURLE_LOGIN_DENIED, 535, SMTP_STAGE_CONNECT, 0, 0, SMTP_DEFERRED },
		{ CURLE_USE_SSL_FAILED, 250, SMTP_STAGE_CONNECT, 0, 0, SMTP_DEFERRED },
		{ CURLE_PEER_FAILED_VERIFICATION, 0, SMTP_STAGE_CONNECT, 0, 0,
		    SMTP_DEFERRED },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum smtp_outcome o = smtp_classify(t[i].cc, t[i].code,
		    t[i].stage, t[i].after_dot, t[i].reused);
		if (o != t[i].want)
			fail_msg("row %zu (cc %d code %ld): got %s, want %s", i,
			    (int)t[i].cc, t[i].code, smtp_outcome_name(o),
			    smtp_outcome_name(t[i].want));
	}
}

static void
test_enhanced(void **state)
{
	char	 e[16];

	assert_true(smtp_enhanced("550 5.1.1 no such user", e, sizeof(e)));
	assert_string_equal(e, "5.1.1");
	assert_true(smtp_enhanced("554 5.7.1", e, sizeof(e)));
	assert_string_equal(e, "5.7.1");
	assert_true(smtp_enhanced("451 4.7.650 greylisted", e, sizeof(e)));
	assert_string_equal(e, "4.7.650");
	assert_false(smtp_enhanced("250 OK", e, sizeof(e)));
	assert_string_equal(e, "");
	assert_false(smtp_enhanced("550 5.1234.1 x", e, sizeof(e)));
	assert_false(smtp_enhanced("550 3.1.1 x", e, sizeof(e)));
	assert_false(smtp_enhanced("550 5.1.1x", e, sizeof(e)));
	assert_false(smtp_enhanced("550", e, sizeof(e)));
	assert_false(smtp_enhanced("550 5.1.1 x", e, 4));
}

static void
test_check(void **state)
{
	assert_null(smtp_check("a@b.example", "c@d.example", msg,
	    sizeof(msg) - 1));
	assert_null(smtp_check("", "c@d.example", msg, sizeof(msg) - 1));
	assert_non_null(smtp_check("a@b.example", "", msg, sizeof(msg) - 1));
	assert_non_null(smtp_check("a@b\r\nRCPT TO:<x@y>", "c@d", msg,
	    sizeof(msg) - 1));
	assert_non_null(smtp_check("a@b", "c@d> NOTIFY=NEVER", msg,
	    sizeof(msg) - 1));
	assert_non_null(smtp_check("a@b", "c d@e", msg, sizeof(msg) - 1));
	assert_non_null(smtp_check("a@b", "c@d", "a\nb\r\n", 5));
	assert_non_null(smtp_check("a@b", "c@d", "\nb\r\n", 4));
	assert_non_null(smtp_check("a@b", "c@d", "a\rb\r\n", 5));
	assert_non_null(smtp_check("a@b", "c@d", "ab\r", 3));
	assert_non_null(smtp_check("a@b", "c@d", "a\0b\r\n", 5));
	assert_non_null(smtp_check("a@b", "c@d", "", 0));
	assert_string_equal(smtp_check("a@b", "c@d", "a\nb\r\n", 5),
	    "message has a bare LF");
}

/*
 * The scan goes 16 bytes at a time: a long message of short and long
 * lines passes, and a stray CR, LF or NUL at any offset (either side of
 * every 16-byte boundary) is found and named.
 */
static void
test_check_long(void **state)
{
	static const struct {
		char		 c;
		const char	*why;
	} bad[] = {
		{ '\n', "message has a bare LF" },
		{ '\r', "message has a bare CR" },
		{ '\0', "message has a NUL byte" },
	};
	char	 m[300];
	size_t	 i, k, at, len = sizeof(m);

	for (i = 0, k = 0; i < len; i++, k++) {
		if (k == (i < 150 ? 7 : 40) && i + 2 <= len) {
			m[i++] = '\r';
			m[i] = '\n';
			k = 0;
		} else
			m[i] = 'a' + i % 26;
	}
	m[len - 2] = '\r';
	m[len - 1] = '\n';
	assert_null(smtp_check("a@b", "c@d", m, len));
	for (k = 0; k < 3; k++)
		for (at = 0; at < len; at++) {
			char	 saved = m[at];

			if (saved == '\r' || saved == '\n')
				continue;
			m[at] = bad[k].c;
			assert_string_equal(smtp_check("a@b", "c@d", m, len),
			    bad[k].why);
			m[at] = saved;
		}
	/* A CRLF split across a 16-byte boundary is fine. */
	memset(m, 'x', 40);
	m[15] = '\r';
	m[16] = '\n';
	m[38] = '\r';
	m[39] = '\n';
	assert_null(smtp_check("a@b", "c@d", m, 40));
	/* The last byte a CR. */
	m[39] = 'x';
	assert_string_equal(smtp_check("a@b", "c@d", m, 40),
	    "message has a bare CR");
}

static void
test_new_errors(void **state)
{
	struct smtp_params	 p;
	char			*cause = NULL;

	memset(&p, 0, sizeof(p));
	p.url = "http://127.0.0.1/";
	p.connections = 1;
	assert_null(smtp_new(&p, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "http://127.0.0.1/"));
	free(cause);
	p.url = "smtp://127.0.0.1:1";
	p.connections = 0;
	assert_null(smtp_new(&p, &cause));
	assert_non_null(cause);
	free(cause);
}

/* A listening socket that never accepts: transfers stay busy. */
static int
silent_server(char *url, size_t len)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(url, len, "smtp://127.0.0.1:%d", ntohs(sin.sin_port));
	return fd;
}

/* A transport of n connections to a silent server; *lfd its socket. */
static struct smtp *
silent_transport(int n, int *lfd)
{
	struct smtp_params	 p;
	struct smtp		*smtp;
	char			 url[64], *cause = NULL;

	*lfd = silent_server(url, sizeof(url));
	memset(&p, 0, sizeof(p));
	p.url = url;
	p.connections = n;
	p.response_timeout = 30;
	smtp = smtp_new(&p, &cause);
	assert_non_null(smtp);
	return smtp;
}

static double
now(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static void
nodone(const struct smtp_result *r, void *arg)
{
	fail_msg("unexpected result for id %llu", (unsigned long long)r->id);
}

static void
test_busy_poll_wakeup(void **state)
{
	struct smtp		*smtp;
	struct curl_waitfd	 w;
	int			 i, lfd, pfd[2];
	double			 t0;

	smtp = silent_transport(2, &lfd);
	/* Two connections, each with a message sending and one waiting. */
	assert_int_equal(smtp_idle_slots(smtp), 4);
	assert_int_equal(smtp_submit(smtp, 1, "a@b", "c@d", "a\nb", 3, NULL),
	    -2);
	for (i = 1; i <= 4; i++)
		assert_int_equal(smtp_submit(smtp, i, "a@b", "c@d", msg,
		    sizeof(msg) - 1, NULL), 0);
	assert_int_equal(smtp_submit(smtp, 5, "a@b", "c@d", msg,
	    sizeof(msg) - 1, NULL), -1);
	assert_int_equal(smtp_idle_slots(smtp), 0);
	assert_int_equal(smtp_perform(smtp, nodone, NULL), 4);

	/* The caller's fd (a self-pipe) ends the wait at once. */
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "x", 1), 1);
	w.fd = pfd[0];
	w.events = CURL_WAIT_POLLIN;
	w.revents = 0;
	t0 = now();
	assert_int_equal(smtp_poll(smtp, 5000, &w, 1), 0);
	assert_true(now() - t0 < 2.0);
	assert_true(w.revents & CURL_WAIT_POLLIN);

	/* So does smtp_wakeup, from a signal handler's point of view. */
	w.fd = pfd[1];			/* never readable */
	w.events = CURL_WAIT_POLLIN;
	assert_int_equal(smtp_wakeup(smtp), 0);
	t0 = now();
	assert_int_equal(smtp_poll(smtp, 5000, &w, 1), 0);
	assert_true(now() - t0 < 2.0);
	assert_int_equal(smtp_perform(smtp, nodone, NULL), 4);

	smtp_free(smtp);		/* with transfers in flight */
	close(pfd[0]);
	close(pfd[1]);
	close(lfd);
}

/* Build functions: one fails, one makes a bare LF, one a good message. */
static int	nbuilt;

static int
build_fail(void *arg, struct buf *out, struct smtp_scratch *sc, char **cause)
{
	__atomic_add_fetch(&nbuilt, 1, __ATOMIC_SEQ_CST);
	*cause = strdup("template broke");
	return -1;
}

static int
build_bare_lf(void *arg, struct buf *out, struct smtp_scratch *sc,
    char **cause)
{
	__atomic_add_fetch(&nbuilt, 1, __ATOMIC_SEQ_CST);
	buf_adds(out, "Subject: x\r\n\r\nline\nsmuggled\r\n");
	return 0;
}

static int
build_good(void *arg, struct buf *out, struct smtp_scratch *sc, char **cause)
{
	__atomic_add_fetch(&nbuilt, 1, __ATOMIC_SEQ_CST);
	buf_add(out, msg, sizeof(msg) - 1);
	return 0;
}

struct seen {
	int	n;
	int	refused;
	char	reply[SMTP_REPLY_MAX];
};

static void
count_done(const struct smtp_result *r, void *arg)
{
	struct seen	*s = arg;

	s->n++;
	if (r->outcome == SMTP_REFUSED)
		s->refused++;
	snprintf(s->reply, sizeof(s->reply), "%s", r->reply);
}

/*
 * A message its build function cannot make, or makes with a bare LF, is
 * reported SMTP_REFUSED with the reason and never sent; the loop is woken
 * for every result (a lost wake-up would leave smtp_poll asleep for its
 * whole timeout); smtp_prebuild makes a queued message once, not twice.
 */
static void
test_build(void **state)
{
	struct smtp		*smtp;
	struct smtp_scratch	 sc;
	struct seen		 seen;
	int			 lfd, round, k, want;
	double			 t0, worst = 0, t;

	smtp = silent_transport(4, &lfd);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(smtp_submit_build(smtp, 1, "a@b", "c@d", build_fail,
	    NULL), 0);
	while (seen.n < 1) {
		assert_int_equal(smtp_poll(smtp, 5000, NULL, 0), 0);
		smtp_perform(smtp, count_done, &seen);
	}
	assert_int_equal(seen.refused, 1);
	assert_string_equal(seen.reply, "template broke");
	assert_int_equal(smtp_submit_build(smtp, 2, "a@b", "c@d",
	    build_bare_lf, NULL), 0);
	while (seen.n < 2) {
		assert_int_equal(smtp_poll(smtp, 5000, NULL, 0), 0);
		smtp_perform(smtp, count_done, &seen);
	}
	assert_int_equal(seen.refused, 2);
	assert_string_equal(seen.reply, "message has a bare LF");

	/* Many quick results: every one wakes the loop at once. */
	for (round = 0; round < 300; round++) {
		want = seen.n;
		for (k = 0; smtp_idle_slots(smtp) > 0; k++) {
			assert_int_equal(smtp_submit_build(smtp, 10 + k, "a@b",
			    "c@d", build_fail, NULL), 0);
			want++;
		}
		while (seen.n < want) {
			t0 = now();
			assert_int_equal(smtp_poll(smtp, 5000, NULL, 0), 0);
			if ((t = now() - t0) > worst)
				worst = t;
			smtp_perform(smtp, count_done, &seen);
		}
	}
	assert_int_equal(seen.refused, seen.n);
	assert_true(worst < 2.0);
	assert_int_equal(smtp_busy(smtp), 0);

	/*
	 * Good messages to a server that never answers: the caller makes
	 * what the threads have not made yet, and nothing is made twice.
	 */
	memset(&sc, 0, sizeof(sc));
	nbuilt = 0;
	for (k = 0; k < 8; k++)
		assert_int_equal(smtp_submit_build(smtp, 100 + k, "a@b", "c@d",
		    build_good, NULL), 0);
	while (smtp_prebuild(smtp, &sc, 8) > 0)
		continue;
	t0 = now();
	while (__atomic_load_n(&nbuilt, __ATOMIC_SEQ_CST) < 8 &&
	    now() - t0 < 5)
		usleep(1000);
	usleep(100000);
	assert_int_equal(__atomic_load_n(&nbuilt, __ATOMIC_SEQ_CST), 8);
	assert_int_equal(smtp_prebuild(smtp, &sc, 8), 0);
	assert_int_equal(smtp_perform(smtp, nodone, NULL), 8);

	smtp_free(smtp);		/* with transfers in flight */
	buf_free(&sc.a);
	buf_free(&sc.b);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_enhanced),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_long),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_busy_poll_wakeup),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
