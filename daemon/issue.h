/*
 * The newsletter issue file (YAML, herald-issue(5)): bytes to a validated
 * in-memory issue.  Every problem is reported into a struct errlist as
 * "FILE:LINE:COL: message" (1-based line and column, the column counted
 * in characters); nothing is returned unless the file is entirely good.
 * Pure apart from the file loader, which the caller supplies.
 */
#ifndef HERALD_ISSUE_H
#define HERALD_ISSUE_H

#include <stddef.h>
#include <time.h>

struct errlist;
struct value;

/* Bounds against hostile files; issue_limits_default() fills them in. */
struct issue_limits {
	size_t	max_file;	/* bytes of YAML, checked before parsing */
	size_t	max_depth;	/* nesting of maps and lists */
	size_t	max_nodes;	/* nodes in the tree, aliases expanded */
	size_t	max_alias_nodes; /* nodes that aliases may add, in all */
	size_t	max_scalar;	/* bytes in one scalar */
	size_t	max_line;	/* bytes in a subject, preheader, from name */
	size_t	max_files;	/* bytes of images and attachments, in all */
};

#define ISSUE_MAX_FILE		(8 * 1024 * 1024)
#define ISSUE_MAX_DEPTH		32
#define ISSUE_MAX_NODES		100000
#define ISSUE_MAX_ALIAS_NODES	10000
#define ISSUE_MAX_SCALAR	(1024 * 1024)
#define ISSUE_MAX_LINE		500
#define ISSUE_MAX_FILES		(20 * 1024 * 1024)

#define ISSUE_DEFAULT_TEMPLATE	"spotlight"

/* One language variant: its subject and the data merged for it. */
struct issue_lang {
	char		*tag;		/* "en", "km"; NULL without languages */
	char		*subject;
	char		*preheader;	/* NULL when none */
	struct value	*data;		/* a map: top-level data + variant */
};

/* An inline image (cid set) or an attachment (cid NULL). */
struct issue_file {
	char		*cid;		/* "img1.1a2b3c4d@herald", no "cid:" */
	char		*path;		/* as written in the issue */
	char		*name;		/* file name shown to the reader */
	const char	*mime;		/* static string */
	unsigned char	*data;
	size_t		 len;
};

struct issue {
	char			*list;		/* NULL: give it elsewhere */
	char			*template;
	time_t			 send_at;
	int			 has_send_at;
	char			*from_name;	/* NULL: the list's sender */
	char			*from_address;	/* NULL: the list's sender */
	struct issue_lang	*langs;		/* langs[0] is the default */
	size_t			 nlangs;
	struct issue_file	*images;
	size_t			 nimages;
	struct issue_file	*attachments;
	size_t			 nattachments;
	size_t			 total_size;	/* YAML + every file, bytes */
};

/*
 * Load a file named by an issue (an image, an attachment).  Returns 0
 * with *data (allocated, caller frees) and *len, or -1 with *cause
 * allocated.
 */
typedef int (*issue_load_fn)(void *arg, const char *path,
    unsigned char **data, size_t *len, char **cause);

void	issue_limits_default(struct issue_limits *);
/*
 * The default loader: arg is the directory (a const char *) that a
 * relative path starts from; NULL means the current directory.  Only
 * regular files, at most ISSUE_LOAD_MAX bytes each.
 */
#define ISSUE_LOAD_MAX		(64 * 1024 * 1024)
int	issue_load_fs(void *arg, const char *path, unsigned char **data,
	    size_t *len, char **cause);
/*
 * Parse and check an issue.  name is the file name used in messages;
 * limits may be NULL for the defaults; load may be NULL to refuse every
 * file.  Returns NULL when anything was added to errs.
 */
struct issue	*issue_parse(const char *name, const char *src, size_t len,
		    const struct issue_limits *, issue_load_fn load, void *arg,
		    struct errlist *errs);
/* Read a file and parse it, loading files relative to its directory. */
struct issue	*issue_parse_file(const char *path,
		    const struct issue_limits *, struct errlist *errs);
void		 issue_free(struct issue *);
/*
 * The variant for a reader's language: the exact tag (ignoring case),
 * then the same primary subtag ("km-KH" gets "km", "km" gets "km-KH"),
 * else the first.  lang may be NULL.
 */
const struct issue_lang *issue_lang_pick(const struct issue *,
		    const char *lang);
/* The MIME type for a file name, by its extension. */
const char	*issue_mime_type(const char *name);
/* Parse an RFC 3339 time with a zone; 0 or -1. */
int		 issue_parse_time(const char *, time_t *);

#endif
