/* Test driver: print the archive's feed, a page, the entries or an image. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "render.h"
#include "store.h"

static void
usage(void)
{
	fprintf(stderr, "usage: archive_dump -t TEMPLATES -b BASE_URL DB "
	    "feed LIST [MAX]\n"
	    "       archive_dump ... DB page LIST ID [LANG [IMG_PREFIX]]\n"
	    "       archive_dump ... DB entries LIST [LANG]\n"
	    "       archive_dump ... DB image LIST ID NAME\n"
	    "exit 0 done, 3 not found (404), 1 other failure\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	struct render_env	 env;
	struct store		*st;
	struct archive_entry	*v;
	struct buf		 out = BUF_INIT;
	unsigned char		*data;
	char			*cause = NULL, *subject = NULL, *ctype;
	const char		*cmd;
	size_t			 n, i, len;
	int			 ch, rv = 0;

	memset(&env, 0, sizeof(env));
	env.domain = "example.org";
	env.from_address = "news@example.org";
	env.from_name = "Friends of R2P";
	env.key = (const unsigned char *)"test key, not secret";
	env.keylen = strlen((const char *)env.key);
	while ((ch = getopt(argc, argv, "b:t:")) != -1) {
		switch (ch) {
		case 'b':
			env.base_url = optarg;
			break;
		case 't':
			env.templates = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || env.templates == NULL || env.base_url == NULL)
		usage();
	if ((st = store_open(argv[0], &cause)) == NULL) {
		fprintf(stderr, "archive_dump: %s\n", cause);
		return 1;
	}
	cmd = argv[1];
	if (strcmp(cmd, "feed") == 0) {
		rv = archive_feed(st, &env, argv[2],
		    argc > 3 ? strtoul(argv[3], NULL, 10) : 20, &out, &cause);
		if (rv == 0)
			fwrite(out.data, 1, out.len, stdout);
	} else if (strcmp(cmd, "page") == 0 && argc >= 4) {
		rv = archive_issue_html(st, &env, argv[2],
		    strtoll(argv[3], NULL, 10), argc > 4 ? argv[4] : NULL,
		    argc > 5 ? argv[5] : "", &out, &subject, &cause);
		if (rv == 0) {
			fprintf(stderr, "subject: %s\n", subject);
			fwrite(out.data, 1, out.len, stdout);
		}
	} else if (strcmp(cmd, "entries") == 0) {
		rv = archive_entries(st, argv[2], argc > 3 ? argv[3] : NULL,
		    &v, &n, &cause);
		for (i = 0; rv == 0 && i < n; i++)
			printf("%lld\t%lld\t%s\t%s\t%s\n", (long long)v[i].id,
			    (long long)v[i].date, v[i].lang ? v[i].lang : "",
			    v[i].subject,
			    v[i].preheader ? v[i].preheader : "");
		if (rv == 0)
			archive_entries_free(v, n);
	} else if (strcmp(cmd, "image") == 0 && argc >= 5) {
		rv = archive_issue_image(st, argv[2],
		    strtoll(argv[3], NULL, 10), argv[4], &data, &len, &ctype,
		    &cause);
		if (rv == 0) {
			fprintf(stderr, "type: %s\n", ctype);
			fwrite(data, 1, len, stdout);
			free(data);
			free(ctype);
		}
	} else
		usage();
	store_close(st);
	buf_free(&out);
	free(subject);
	if (rv != 0) {
		fprintf(stderr, "archive_dump: %s\n", cause);
		free(cause);
		return rv == ARCHIVE_ENOTFOUND ? 3 : 1;
	}
	return 0;
}
