/*
 * A queued issue back from the store: its stored YAML and files parsed
 * again into a struct issue, and its list described for render_compile.
 * Shared by the campaign (dispatch.c) and the web archive (archive.c).
 */
#ifndef HERALD_STORED_H
#define HERALD_STORED_H

#include <stddef.h>

struct errlist;
struct issue;
struct render_list;
struct store_file;
struct store_issue;
struct store_list;

/*
 * Parse si's source (from store_issue_load) with its stored files as the
 * only files it may name; errors go to errs as "issue N:LINE:COL: ...".
 * NULL when it no longer parses.
 */
struct issue	*stored_issue_parse(const struct store_issue *si,
		    const struct store_file *files, size_t nfiles,
		    struct errlist *errs);
/* Fill rl from sl; rl points into sl, which must outlive it. */
void		 stored_render_list(const struct store_list *sl,
		    struct render_list *rl);

#endif
