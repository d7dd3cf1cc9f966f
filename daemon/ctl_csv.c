/* heraldctl import and export: subscriber CSV files in and out of a list. */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "errlist.h"
#include "json.h"
#include "store.h"
#include "subcsv.h"
#include "xmalloc.h"


int
ctl_import(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "skip-invalid", no_argument, NULL, 's' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_import_stats	 st;
	struct store_list		*l = NULL;
	struct subcsv			 csv;
	struct errlist			 errs = ERRLIST_INIT;
	struct buf			 b = BUF_INIT;
	struct json			 j;
	const char			*file, *name;
	char				*cause = NULL, *source = NULL;
	FILE				*fp = NULL;
	int				 ch, rc, skip = 0, rd;

	memset(&csv, 0, sizeof(csv));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 's')
			skip = 1;
		else if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 2, 2)) != 0)
		return rc;
	file = argv[1];
	if (strcmp(file, "-") == 0) {
		fp = stdin;
		name = "stdin";
	} else {
		if ((fp = fopen(file, "r")) == NULL) {
			ctl_warnx("%s: %s", file, strerror(errno));
			return EX_NOINPUT;
		}
		name = file;
	}
	if ((rc = ctl_open(ctl)) != 0)
		goto done;
	/* An unknown list is found before the file is read. */
	if ((l = store_list_get(ctl->st, argv[0], &cause)) == NULL) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	rd = subcsv_read(fp, name, &csv, &errs);
	errlist_print(&errs, stderr, "heraldctl");
	if (rd == -1) {
		ctl_warnx("%s: nothing imported", name);
		rc = EX_DATAERR;
		goto done;
	}
	if (csv.nbad > 0 && !skip) {
		ctl_warnx("%s: %zu bad row%s; nothing imported (with "
		    "--skip-invalid the good rows are imported)", name,
		    csv.nbad, csv.nbad == 1 ? "" : "s");
		rc = EX_DATAERR;
		goto done;
	}
	source = xsprintf("import:%s", name);
	if (store_import(ctl->st, l->name, csv.rows, csv.nrows, source, &st,
	    &cause) == -1) {
		rc = ctl_store_fail(ctl, cause);
		ctl_warnx("%s: nothing imported", name);
		goto done;
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_str(&j, "list", l->name);
		json_str(&j, "file", name);
		json_int(&j, "rows", (int64_t)csv.nrows);
		json_int(&j, "added", (int64_t)st.added);
		json_int(&j, "updated", (int64_t)st.updated);
		json_int(&j, "confirmed", (int64_t)st.resubscribed);
		json_int(&j, "kept_unsubscribed", (int64_t)st.kept);
		json_int(&j, "skipped", (int64_t)csv.nbad);
		json_int(&j, "merged_duplicates", (int64_t)csv.ndup);
		json_close(&j, '}');
		ctl_json_print(&b);
	} else {
		printf("imported %zu subscriber%s into %s: %zu added, "
		    "%zu updated, %zu confirmed, %zu kept unsubscribed\n",
		    csv.nrows, csv.nrows == 1 ? "" : "s", l->name, st.added,
		    st.updated, st.resubscribed, st.kept);
		if (csv.ndup > 0)
			printf("merged %zu duplicate row%s\n", csv.ndup,
			    csv.ndup == 1 ? "" : "s");
		if (csv.nbad > 0)
			printf("skipped %zu invalid row%s\n", csv.nbad,
			    csv.nbad == 1 ? "" : "s");
	}
	rc = EX_OK;
done:
	if (fp != NULL && fp != stdin)
		fclose(fp);
	subcsv_free(&csv);
	errlist_free(&errs);
	store_list_free(l);
	buf_free(&b);
	free(source);
	return rc;
}

struct ctl_export {
	FILE		 *fp;
	char		**keys;
	size_t		  nkeys;
	const char	**fields;
	size_t		  n;
};

static int
ctl_export_one(void *arg, const struct store_subscriber *r)
{
	struct ctl_export	*x = arg;
	size_t			 k, a = 0;
	int			 c;

	x->fields[0] = r->email;
	x->fields[1] = r->name != NULL ? r->name : "";
	x->fields[2] = r->lang != NULL ? r->lang : "";
	/* Both sorted by key: one merge walk. */
	for (k = 0; k < x->nkeys; k++) {
		x->fields[3 + k] = "";
		while (a < r->nattrs &&
		    (c = strcmp(r->attrs[a].key, x->keys[k])) <= 0) {
			if (c == 0)
				x->fields[3 + k] = r->attrs[a].val;
			a++;
		}
	}
	subcsv_write_record(x->fp, x->fields, 3 + x->nkeys);
	x->n++;
	return ferror(x->fp) ? -1 : 0;
}

int
ctl_export(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_export	 x;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	const char		*state = "confirmed", *file = NULL;
	char			*cause = NULL, *tmp = NULL;
	size_t			 i;
	int			 ch, rc, fd;

	memset(&x, 0, sizeof(x));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		if (ch == 's')
			state = optarg;
		else if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 2)) != 0)
		return rc;
	if (strcmp(state, "all") == 0)
		state = NULL;
	else if (!store_sub_state_valid(state)) {
		ctl_warnx("--state %s: want pending, confirmed, unsubscribed "
		    "or all", state);
		return EX_USAGE;
	}
	if (argc == 2 && strcmp(argv[1], "-") != 0)
		file = argv[1];
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	if (store_sub_attr_keys(ctl->st, argv[0], state, &x.keys, &x.nkeys,
	    &cause) == -1) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (file == NULL)
		x.fp = stdout;
	else {
		/* Readers never see half a file: write aside, then rename. */
		tmp = xsprintf("%s.XXXXXX", file);
		if ((fd = mkstemp(tmp)) == -1) {
			ctl_warnx("%s: %s", tmp, strerror(errno));
			free(tmp);
			tmp = NULL;
			rc = EX_CANTCREAT;
			goto done;
		}
		if ((x.fp = fdopen(fd, "w")) == NULL) {
			ctl_warnx("%s: %s", tmp, strerror(errno));
			close(fd);
			rc = EX_CANTCREAT;
			goto done;
		}
	}
	x.fields = xcalloc(3 + x.nkeys, sizeof(*x.fields));
	x.fields[0] = "email";
	x.fields[1] = "name";
	x.fields[2] = "lang";
	for (i = 0; i < x.nkeys; i++)
		x.fields[3 + i] = x.keys[i];
	subcsv_write_record(x.fp, x.fields, 3 + x.nkeys);
	if (store_sub_list(ctl->st, argv[0], state, ctl_export_one, &x,
	    &cause) == -1) {
		if (cause == NULL) {
			ctl_warnx("%s: %s", file ? tmp : "stdout",
			    strerror(errno));
			rc = EX_IOERR;
		} else
			rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (fflush(x.fp) == EOF || ferror(x.fp) ||
	    (file != NULL && fsync(fileno(x.fp)) == -1)) {
		ctl_warnx("%s: %s", file ? tmp : "stdout", strerror(errno));
		rc = EX_IOERR;
		goto done;
	}
	if (file != NULL) {
		if (fclose(x.fp) == EOF) {
			x.fp = NULL;
			ctl_warnx("%s: %s", tmp, strerror(errno));
			rc = EX_IOERR;
			goto done;
		}
		x.fp = NULL;
		if (rename(tmp, file) == -1) {
			ctl_warnx("%s: %s", file, strerror(errno));
			rc = EX_CANTCREAT;
			goto done;
		}
		free(tmp);
		tmp = NULL;
		if (ctl->json) {
			json_init(&j, &b);
			json_open(&j, NULL, '{');
			json_str(&j, "list", argv[0]);
			json_str(&j, "file", file);
			json_int(&j, "exported", (int64_t)x.n);
			json_close(&j, '}');
			ctl_json_print(&b);
		} else
			printf("exported %zu subscriber%s of %s to %s\n", x.n,
			    x.n == 1 ? "" : "s", argv[0], file);
	}
	rc = EX_OK;
done:
	if (x.fp != NULL && x.fp != stdout)
		fclose(x.fp);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	for (i = 0; i < x.nkeys; i++)
		free(x.keys[i]);
	free(x.keys);
	free(x.fields);
	buf_free(&b);
	return rc;
}
