/* libFuzzer target: arbitrary bytes as an issue, every file refused. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errlist.h"
#include "issue.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_refuse(void *arg, const char *path, unsigned char **data, size_t *len,
    char **cause)
{
	*data = NULL;
	*len = 0;
	*cause = xstrdup("files are refused while fuzzing");
	return -1;
}

/* Every message is "fuzz.yaml:LINE:COL: text", LINE and COL from 1. */
static void
fuzz_check_format(const char *m)
{
	char		*end;
	unsigned long	 line, col;

	if (strncmp(m, "fuzz.yaml:", 10) != 0)
		abort();
	line = strtoul(m + 10, &end, 10);
	if (line == 0 || *end != ':')
		abort();
	col = strtoul(end + 1, &end, 10);
	if (col == 0 || strncmp(end, ": ", 2) != 0 || end[2] == '\0')
		abort();
}

static void
fuzz_one(const uint8_t *data, size_t size, const struct issue_limits *lim)
{
	struct errlist	 e = ERRLIST_INIT;
	struct issue	*is;
	size_t		 i;

	is = issue_parse("fuzz.yaml", (const char *)data, size, lim,
	    fuzz_refuse, NULL, &e);
	/* Either an issue or at least one error, never both. */
	if ((is == NULL) == (errlist_count(&e) == 0))
		abort();
	for (i = 0; i < e.n; i++)
		fuzz_check_format(e.msgs[i]);
	if (is != NULL)
		(void)issue_lang_pick(is, "km-KH");
	issue_free(is);
	errlist_free(&e);
}

/* Once with the default limits, once with tight ones to reach them. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct issue_limits	lim;

	fuzz_one(data, size, NULL);
	issue_limits_default(&lim);
	lim.max_depth = 6;
	lim.max_nodes = 300;
	lim.max_alias_nodes = 50;
	lim.max_scalar = 64;
	lim.max_line = 20;
	fuzz_one(data, size, &lim);
	return 0;
}
