/* heraldctl's shared helpers: messages, options, exit codes, tables. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <uniwidth.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "errlist.h"
#include "store.h"
#include "text.h"
#include "xmalloc.h"

void
ctl_warnx(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fputs("heraldctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
ctl_usage(const struct ctl_cmd *c, FILE *fp)
{
	fprintf(fp, "usage: heraldctl %s%s%s %s\n", c->group ? c->group : "",
	    c->group ? " " : "", c->name, c->args);
}

void
ctl_help(const struct ctl_cmd *c)
{
	ctl_usage(c, stdout);
	printf("\n%s", c->help);
	printf("  --json            print one JSON document for scripts\n"
	    "  -h, --help        print this help\n");
}

int
ctl_opt_common(struct ctl *ctl, const struct ctl_cmd *c, int ch)
{
	switch (ch) {
	case 'h':
		ctl_help(c);
		return EX_OK;
	case 'J':
		ctl->json = 1;
		return -1;
	default:
		ctl_usage(c, stderr);
		return EX_USAGE;
	}
}

int
ctl_bad_operands(const struct ctl_cmd *c, int argc, int want_min,
    int want_max)
{
	if (argc < want_min)
		ctl_warnx("%s%s%s: missing operand", c->group ? c->group : "",
		    c->group ? " " : "", c->name);
	else if (argc > want_max)
		ctl_warnx("%s%s%s: too many operands", c->group ? c->group : "",
		    c->group ? " " : "", c->name);
	else
		return 0;
	ctl_usage(c, stderr);
	return EX_USAGE;
}

/*
 * The database: -d, else $HERALD_DB, else the configuration's
 * "database" (from -c FILE, or from the default file when it exists),
 * else the built-in default.  The configuration is read only when it is
 * needed, and any error in it stops heraldctl (78), as it would stop
 * heraldd.
 */
static int
ctl_database(struct ctl *ctl)
{
	struct config	*cf;
	struct errlist	 errs = ERRLIST_INIT;
	const char	*env, *conf = ctl->conf;

	if (ctl->dbopt != NULL) {
		ctl->dbpath = ctl->dbopt;
		return 0;
	}
	if ((env = getenv("HERALD_DB")) != NULL && env[0] != '\0') {
		ctl->dbpath = env;
		return 0;
	}
	if (conf == NULL && access(config_default_path(), F_OK) == 0)
		conf = config_default_path();
	if (conf != NULL) {
		if ((cf = config_load(conf, &errs)) == NULL) {
			if (errlist_count(&errs) == 0)
				ctl_warnx("%s: cannot read the configuration",
				    conf);
			errlist_print(&errs, stderr, "heraldctl");
			errlist_free(&errs);
			return EX_CONFIG;
		}
		errlist_free(&errs);
	} else
		cf = config_defaults();
	ctl->dbowned = xstrdup(cf->database);
	ctl->dbpath = ctl->dbowned;
	config_free(cf);
	return 0;
}

int
ctl_open(struct ctl *ctl)
{
	char	*cause = NULL;
	int	 rc;

	if (ctl->st != NULL)
		return 0;
	if (ctl->dbpath == NULL && (rc = ctl_database(ctl)) != 0)
		return rc;
	if ((ctl->st = store_open(ctl->dbpath, &cause)) != NULL)
		return 0;
	ctl_warnx("%s", cause);
	free(cause);
	switch (store_open_errkind()) {
	case STORE_EBUSY:
		return EX_TEMPFAIL;
	case STORE_EVERSION:
	case STORE_EOPEN:
		return EX_UNAVAILABLE;
	default:
		return EX_SOFTWARE;
	}
}

int
ctl_store_fail(struct ctl *ctl, char *cause)
{
	int	code;

	if (cause != NULL)
		ctl_warnx("%s", cause);
	free(cause);
	switch (store_errkind(ctl->st)) {
	case STORE_ENOTFOUND:
	case STORE_EEXIST:
	case STORE_EINVAL:
	case STORE_EREFUSED:
		code = EX_DATAERR;
		break;
	case STORE_EBUSY:
		code = EX_TEMPFAIL;
		break;
	case STORE_EVERSION:
	case STORE_EOPEN:
		code = EX_UNAVAILABLE;
		break;
	default:
		code = EX_SOFTWARE;
	}
	return code;
}

int
ctl_line_ok(const char *what, const char *s)
{
	const char	*why;

	if (text_check_line(s, strlen(s), &why) == -1) {
		ctl_warnx("%s: %s", what, why);
		return 0;
	}
	return 1;
}

int
ctl_lang_ok(const char *lang)
{
	const char	*why;

	if (text_check_lang(lang, &why) == -1) {
		ctl_warnx("--lang %s: %s", lang, why);
		return 0;
	}
	return 1;
}

int
ctl_addr(const char *what, const char *addr, char **norm)
{
	const char	*why;

	if (addr_check(addr, norm, &why) == -1) {
		ctl_warnx("%s %s: %s", what, addr, why);
		return -1;
	}
	return 0;
}

const char *
ctl_time(int64_t t, char *s)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		strcpy(s, "-");
	else
		strftime(s, 32, "%Y-%m-%d %H:%MZ", &tm);
	return s;
}

void
ctl_table_init(struct ctl_table *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
}

void
ctl_table_add(struct ctl_table *t, const char *s)
{
	char	*c, *p;

	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = xreallocarray(t->cells, t->cap, sizeof(*t->cells));
	}
	c = xstrdup(s != NULL && *s != '\0' ? s : "-");
	/* One cell, one line: show line breaks and tabs as spaces. */
	for (p = c; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	t->cells[t->ncells++] = c;
}

static size_t
ctl_width(const char *s)
{
	int	w;

	w = u8_strwidth((const uint8_t *)s, "UTF-8");
	return w < 0 ? strlen(s) : (size_t)w;
}

void
ctl_table_print(struct ctl_table *t, FILE *fp)
{
	size_t	*w, i, c, pad;

	w = xcalloc(t->ncols, sizeof(*w));
	for (i = 0; i < t->ncells; i++) {
		c = i % t->ncols;
		if (ctl_width(t->cells[i]) > w[c])
			w[c] = ctl_width(t->cells[i]);
	}
	for (i = 0; i < t->ncells; i++) {
		c = i % t->ncols;
		fputs(t->cells[i], fp);
		if (c == t->ncols - 1) {
			fputc('\n', fp);
			continue;
		}
		for (pad = ctl_width(t->cells[i]); pad < w[c] + 2; pad++)
			fputc(' ', fp);
	}
	free(w);
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t	i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

void
ctl_json_print(struct buf *b)
{
	buf_addc(b, '\n');
	fwrite(b->data, 1, b->len, stdout);
}
