/* heraldd: the herald dispatcher daemon. */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "errlist.h"
#include "log.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: heraldd [-dnV] [-c file] [-h | --help]\n"
	    "  -c file  read this configuration file (default %s)\n"
	    "  -d       log debug messages (overrides log_level)\n"
	    "  -n       check the configuration, print \"configuration OK\""
	    " and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h, --help  print this help and exit\n"
	    "Exit status: 0 success, 64 usage error, 78 configuration"
	    " error.\n"
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

	fprintf(stderr, "heraldd: the dispatcher is not built yet\n");
	config_free(conf);
	return 1;
}
