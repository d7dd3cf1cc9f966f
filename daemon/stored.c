/* A stored issue (YAML and files in the database) parsed back. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errlist.h"
#include "issue.h"
#include "render.h"
#include "store.h"
#include "stored.h"
#include "xmalloc.h"

struct stored_files {
	const struct store_file	*v;
	size_t			 n;
};

/* The issue parser's file loader: only the files stored with the issue. */
static int
stored_loader(void *arg, const char *path, unsigned char **data,
    size_t *len, char **cause)
{
	const struct stored_files	*f = arg;
	size_t				 i;

	for (i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].name, path) != 0)
			continue;
		*data = xmalloc(f->v[i].len ? f->v[i].len : 1);
		memcpy(*data, f->v[i].data, f->v[i].len);
		*len = f->v[i].len;
		return 0;
	}
	xasprintf(cause, "%s: not stored with the issue", path);
	return -1;
}

struct issue *
stored_issue_parse(const struct store_issue *si,
    const struct store_file *files, size_t nfiles, struct errlist *errs)
{
	struct issue_limits	 lim;
	struct stored_files	 sf;
	struct issue		*is;
	char			*name;

	issue_limits_default(&lim);
	xasprintf(&name, "issue %lld", (long long)si->id);
	sf.v = files;
	sf.n = nfiles;
	is = issue_parse(name, si->source, si->source_len, &lim,
	    stored_loader, &sf, errs);
	free(name);
	return is;
}

void
stored_render_list(const struct store_list *sl, struct render_list *rl)
{
	memset(rl, 0, sizeof(*rl));
	rl->id = sl->id;
	rl->name = sl->name;
	rl->title = sl->title;
	rl->from_address = sl->from_addr;
	rl->from_name = sl->from_name;
	rl->reply_to = sl->reply_to;
}
