/*
 * heraldctl's commands.  heraldctl.c parses the global options and
 * dispatches; the ctl_*.c files do the work of each command group
 * through the store and print for people (aligned columns) or for
 * scripts (--json, one JSON document).  Every command returns a
 * sysexits.h code.
 */
#ifndef HERALD_CTL_H
#define HERALD_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct store;
struct ctl;

/* The options every command takes, for its getopt_long table. */
#define COMMON_OPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "json", no_argument, NULL, 'J' }

struct ctl_cmd {
	const char	*group;		/* "list", "sub", or NULL */
	const char	*name;
	const char	*args;		/* operands and options, for usage */
	const char	*help;		/* what it does and its options */
	int		(*fn)(struct ctl *, const struct ctl_cmd *, int, char **);
};

struct ctl {
	const char	*conf;		/* -c */
	const char	*dbopt;		/* -d */
	const char	*dbpath;	/* chosen by ctl_open() */
	char		*dbowned;	/* dbpath when allocated */
	int		 json;
	struct store	*st;
};

/* Print "heraldctl: message" on stderr. */
void	ctl_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Usage line of cmd on fp. */
void	ctl_usage(const struct ctl_cmd *, FILE *);
/* Full help of cmd on stdout. */
void	ctl_help(const struct ctl_cmd *);
/*
 * Handle an option every command has (-h/--help, --json) or an unknown
 * one: returns an exit code to stop with, or -1 to go on.
 */
int	ctl_opt_common(struct ctl *, const struct ctl_cmd *, int ch);
/* Too few or too many operands: usage on stderr, 64. */
int	ctl_bad_operands(const struct ctl_cmd *, int argc, int want_min,
	    int want_max);
/*
 * Find the database (-d, HERALD_DB, the configuration, the default) and
 * open it, once; 0 or an exit code after a message.
 */
int	ctl_open(struct ctl *);
/* Exit code for the store's last failure, after printing cause. */
int	ctl_store_fail(struct ctl *, char *cause);
/* Refuse a value with CR, LF or other controls (it may reach a header),
 * or a bad language tag: 1 when fine, else 0 after a message. */
int	ctl_line_ok(const char *what, const char *s);
int	ctl_lang_ok(const char *lang);
/* Check and normalize an address given on the command line. */
int	ctl_addr(const char *what, const char *addr, char **norm);
/* A Unix time as "2026-11-27 21:44Z" (or "-"), into s[32]. */
const char *ctl_time(int64_t, char *s);

/* Aligned text columns, display width aware (Khmer, CJK). */
struct ctl_table {
	size_t	  ncols;
	char	**cells;	/* row-major */
	size_t	  ncells;
	size_t	  cap;
};
void	ctl_table_init(struct ctl_table *, size_t ncols);
void	ctl_table_add(struct ctl_table *, const char *);	/* NULL: "-" */
void	ctl_table_print(struct ctl_table *, FILE *);
void	ctl_table_free(struct ctl_table *);

/* Print a JSON document held in a buffer, with a newline. */
struct buf;
void	ctl_json_print(struct buf *);

int	ctl_list_create(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_list_ls(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_list_show(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_list_rm(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_sub_add(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_sub_rm(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_sub_ls(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_sub_show(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_import(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_export(struct ctl *, const struct ctl_cmd *, int, char **);
/* An issue file made ready to render (ctl_render.c). */
struct config;
struct issue;
struct render_issue;
struct store_list;
struct ctl_job {
	struct config		*conf;
	struct issue		*issue;
	struct render_issue	*render;
	struct store_list	*list;		/* from the database, or NULL */
	unsigned char		*key;
	size_t			 keylen;
	int			 placeholder;	/* no configuration: examples */
};
int	ctl_config(struct ctl *, struct ctl_job *, int placeholder);
int	ctl_key(struct ctl_job *, int need);
int	ctl_prepare(struct ctl *, struct ctl_job *, const char *path,
	    const char *list, int use_db, int64_t issue_id, time_t date);
int	ctl_render_all(struct ctl_job *, const char *path, size_t *maxsize);
int	ctl_write_file(const char *path, const char *data, size_t len);
time_t	ctl_now(void);
void	ctl_job_free(struct ctl_job *);

int	ctl_validate(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_render(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_queue(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_issues(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_status(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_wait(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_issue_state(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_retry(struct ctl *, const struct ctl_cmd *, int, char **);
int	ctl_send_test(struct ctl *, const struct ctl_cmd *, int, char **);
/* Mail to unsubscribe+TOKEN@ and bounces+TOKEN@ (ctl_inbound.c). */
int	ctl_inbound(struct ctl *, const struct ctl_cmd *, int, char **);

#endif
