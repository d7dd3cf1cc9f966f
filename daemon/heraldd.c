/* heraldd: the herald dispatcher daemon. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dispatch.h"
#include "errlist.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "store.h"
#include "xmalloc.h"

/* SQLite page cache of each database connection, in KiB. */
#define HERALDD_CACHE_KIB	2000

/* The self-pipe: signal handlers write a byte, the loop reads it. */
static int			sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t	got_hup, got_term;

static void
heraldd_signal(int sig)
{
	int	saved = errno;
	char	c = (char)sig;

	if (sig == SIGHUP)
		got_hup = 1;
	else {
		/* A second SIGTERM (or SIGINT) exits at once. */
		if (got_term)
			_exit(1);
		got_term = 1;
	}
	(void)write(sigpipe[1], &c, 1);
	errno = saved;
}

static void
heraldd_signals(void)
{
	struct sigaction	sa;
	int			i;

	if (pipe(sigpipe) == -1)
		fatal("pipe");
	for (i = 0; i < 2; i++) {
		fcntl(sigpipe[i], F_SETFL, fcntl(sigpipe[i], F_GETFL) |
		    O_NONBLOCK);
		fcntl(sigpipe[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = heraldd_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static int64_t
heraldd_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * SIGHUP: read the configuration into a fresh struct and use it only if
 * it is valid; otherwise keep the old one and log every error.
 */
static struct config *
heraldd_reload(const char *path, struct config *conf, struct dispatch *d,
    struct http *h, int debug)
{
	struct errlist	 errs = ERRLIST_INIT;
	struct config	*nconf;
	char		*cause = NULL;
	size_t		 i;

	notify_reloading();
	log_info("reloading %s", path);
	if ((nconf = config_load(path, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			log_warnx("%s", errs.msgs[i]);
		log_warnx("configuration not reloaded: %zu error%s; the "
		    "old one stays", errlist_count(&errs),
		    errlist_count(&errs) == 1 ? "" : "s");
		errlist_free(&errs);
		notify_ready();
		return conf;
	}
	if (strcmp(nconf->database, conf->database) != 0)
		log_warnx("database changed to %s: that takes a restart; "
		    "still using %s", nconf->database, conf->database);
	if (strcmp(nconf->http.listen, conf->http.listen) != 0)
		log_warnx("http.listen changed to %s: that takes a restart; "
		    "still on %s", nconf->http.listen, conf->http.listen);
	if (http_reload(h, nconf, &cause) != 0) {
		log_warnx("configuration not reloaded: %s; the old one stays",
		    cause);
		free(cause);
		config_free(nconf);
		notify_ready();
		return conf;
	}
	if (dispatch_reload(d, nconf, &cause) != 0) {
		log_warnx("configuration not reloaded: %s; the old one stays",
		    cause);
		free(cause);
		/* The web side goes back to the old one too. */
		if (http_reload(h, conf, &cause) != 0) {
			log_warnx("web: %s", cause);
			free(cause);
		}
		config_free(nconf);
		notify_ready();
		return conf;
	}
	free(nconf->database);
	nconf->database = xstrdup(conf->database);
	config_free(conf);
	log_setlevel(debug ? LOG_LEVEL_DEBUG : nconf->log_level);
	log_info("configuration reloaded");
	notify_ready();
	return nconf;
}

/*
 * Sending a newsletter is batch work, and heraldd asks the kernel to treat
 * it so (SCHED_BATCH) before it starts a thread; the threads inherit it.
 * A batch thread that wakes up does not preempt the one running: the loop
 * woken by a result no longer cuts into a connection's thread, nor the
 * relay on the same host, half way through a message.  Measured on 2
 * cores at 4 connections against smtp-sink: about 9 % more messages a
 * second, with the same CPU time.  Under systemd the unit sets it
 * (CPUSchedulingPolicy=batch), as its system call filter refuses the
 * call; a policy other than the default (chrt, the unit) is left as is.
 */
static void
heraldd_batch(void)
{
	struct sched_param	sp;
	int			policy;

	if ((policy = sched_getscheduler(0)) != SCHED_OTHER) {
		log_debug("scheduling: policy %d kept", policy);
		return;
	}
	memset(&sp, 0, sizeof(sp));
	if (sched_setscheduler(0, SCHED_BATCH, &sp) == -1)
		log_debug("scheduling: cannot use SCHED_BATCH: %s",
		    strerror(errno));
}

/* The one loop: wait, act on signals, dispatch, report. */
static int
heraldd_run(const char *path, struct config *conf, int debug)
{
	struct store	*st;
	struct dispatch	*d;
	struct http	*h;
	char		*cause = NULL, buf[64];
	int64_t		 now, deadline = 0, next_status = 0, next_dog = 0;
	int64_t		 wait_ms;
	uint64_t	 dog_usec;
	int		 stopping = 0, failed;

	heraldd_signals();
	heraldd_batch();
	if ((st = store_open(conf->database, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return EX_UNAVAILABLE;
	}
	/* A small page cache: memory stays flat as lists grow. */
	if (store_set_cache(st, HERALDD_CACHE_KIB, &cause) != 0) {
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
	}
	if ((d = dispatch_new(conf, st, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		store_close(st);
		return EX_CONFIG;
	}
	if ((h = http_start(conf, sigpipe[1], &failed, &cause)) == NULL &&
	    failed) {
		log_warnx("%s", cause);
		free(cause);
		dispatch_close(d);
		dispatch_free(d);
		store_close(st);
		return EX_CONFIG;
	}
	dog_usec = notify_watchdog_usec();
	log_info("heraldd %s started: database %s, relay %s",
	    PACKAGE_VERSION, conf->database, conf->smtp.url);
	notify_ready();

	for (;;) {
		/* Wake in time for the watchdog, whatever its period. */
		wait_ms = 1000;
		if (dog_usec > 0) {
			now = heraldd_now_ms();
			wait_ms = next_dog > now ? next_dog - now : 0;
			if (wait_ms > 1000)
				wait_ms = 1000;
		}
		dispatch_wait(d, (int)wait_ms, sigpipe[0]);
		while (read(sigpipe[0], buf, sizeof(buf)) > 0)
			;
		now = heraldd_now_ms();
		if (got_term && !stopping) {
			stopping = 1;
			deadline = now + (int64_t)conf->delivery.shutdown_grace *
			    1000;
			notify_stopping();
			log_info("stopping: %d messages in flight, waiting up "
			    "to %d s", dispatch_inflight(d),
			    conf->delivery.shutdown_grace);
			dispatch_stop(d);
		}
		if (got_hup && !stopping) {
			got_hup = 0;
			conf = heraldd_reload(path, conf, d, h, debug);
		}
		dispatch_step(d);
		if (stopping && (dispatch_inflight(d) == 0 || now >= deadline))
			break;
		if (now >= next_status) {
			notify_status("%s", dispatch_status(d));
			next_status = now + 1000;
		}
		if (dog_usec > 0 && now >= next_dog) {
			notify_watchdog();
			next_dog = now + (int64_t)(dog_usec / 2000);
		}
	}
	if (dispatch_inflight(d) > 0)
		log_warnx("stopped with %d messages in flight; they will be "
		    "sent again at the next start", dispatch_inflight(d));
	http_stop(h);
	dispatch_close(d);
	dispatch_free(d);
	store_close(st);
	config_free(conf);
	log_info("stopped");
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: heraldd [-dnV] [-c file] [-h | --help]\n"
	    "Send the issues queued with heraldctl, on schedule, through the\n"
	    "SMTP relay of the configuration, and serve the web endpoints\n"
	    "(unsubscribe, subscribe, confirm, archive, /healthz, /metrics) on\n"
	    "http.listen.  Runs in the foreground and logs to stderr (with\n"
	    "journald priorities under systemd).\n"
	    "  -c file  read this configuration file (default %s)\n"
	    "  -d       log debug messages (overrides log_level)\n"
	    "  -n       check the configuration, print \"configuration OK\""
	    " and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h, --help  print this help and exit\n"
	    "Signals: HUP reloads the configuration; TERM or INT stops after\n"
	    "the messages in flight (a second one stops at once).\n"
	    "Exit status: 0 success, 64 usage error, 69 database unavailable,"
	    "\n78 configuration error.\n"
	    "See heraldd(8) and herald.conf(5).\n",
	    config_default_path());
}

/*
 * A secret file that does not exist is fine for config_load, so that a
 * sample can be checked anywhere; say so on -n, without failing.
 */
static void
note_missing_secret(const char *key, const char *path)
{
	if (path != NULL && access(path, F_OK) == -1 && errno == ENOENT)
		fprintf(stderr, "heraldd: note: %s %s does not exist yet; "
		    "heraldd needs it to run\n", key, path);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct errlist	 errs = ERRLIST_INIT;
	struct config	*conf;
	const char	*path = config_default_path();
	int		 ch, debug = 0, check = 0;

	log_init("heraldd", -1);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:dnVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("heraldd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "heraldd: -%c needs an argument\n",
			    optopt);
			usage(stderr);
			return EX_USAGE;
		default:
			if (optopt != 0)
				fprintf(stderr, "heraldd: unknown option -%c\n",
				    optopt);
			else
				fprintf(stderr, "heraldd: unknown option %s\n",
				    argv[optind - 1]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "heraldd: unexpected argument: %s\n",
		    argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}

	if ((conf = config_load(path, &errs)) == NULL) {
		errlist_print(&errs, stderr, "heraldd");
		errlist_free(&errs);
		return EX_CONFIG;
	}
	log_setlevel(debug ? LOG_LEVEL_DEBUG : conf->log_level);
	if (check) {
		note_missing_secret("http.secret_file", conf->http.secret_file);
		note_missing_secret("smtp.password_file",
		    conf->smtp.password_file);
		printf("configuration OK\n");
		config_free(conf);
		return 0;
	}

	return heraldd_run(path, conf, debug);
}
