/* libFuzzer target: parse arbitrary bytes as an issue, with every file refused. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist	 e = ERRLIST_INIT;
	struct issue	*is;

	is = issue_parse("fuzz.yaml", (const char *)data, size, NULL,
	    fuzz_refuse, NULL, &e);
	/* Either an issue or at least one error, never both. */
	if ((is == NULL) == (errlist_count(&e) == 0))
		abort();
	if (is != NULL)
		(void)issue_lang_pick(is, "km-KH");
	issue_free(is);
	errlist_free(&e);
	return 0;
}
