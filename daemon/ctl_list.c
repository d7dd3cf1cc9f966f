/* heraldctl list: create, ls, show and rm mailing lists. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "ctl.h"
#include "json.h"
#include "store.h"
#include "text.h"
#include "xmalloc.h"


static void
ctl_list_json(struct json *j, const char *key, const struct store_list *l)
{
	json_open(j, key, '{');
	json_str(j, "name", l->name);
	json_str(j, "title", l->title);
	json_str(j, "from", l->from_addr);
	json_str(j, "from_name", l->from_name);
	json_str(j, "reply_to", l->reply_to);
	json_str(j, "optin", l->optin);
	json_time(j, "created", l->created);
	json_open(j, "subscribers", '{');
	json_int(j, "confirmed", l->n_confirmed);
	json_int(j, "pending", l->n_pending);
	json_int(j, "unsubscribed", l->n_unsubscribed);
	json_close(j, '}');
	json_int(j, "issues", l->n_issues);
	json_close(j, '}');
}

int
ctl_list_create(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "title", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "from-name", required_argument, NULL, 'n' },
		{ "reply-to", required_argument, NULL, 'r' },
		{ "optin", required_argument, NULL, 'o' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_list	 l, *got = NULL;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	char			*from = NULL, *reply = NULL, *cause = NULL;
	int			 ch, rc;

	memset(&l, 0, sizeof(l));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			l.title = optarg;
			break;
		case 'f':
			l.from_addr = optarg;
			break;
		case 'n':
			l.from_name = optarg;
			break;
		case 'r':
			l.reply_to = optarg;
			break;
		case 'o':
			l.optin = optarg;
			break;
		default:
			if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
				return rc;
		}
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return rc;
	l.name = argv[0];
	if (l.title == NULL) {
		ctl_warnx("list create: --title is required");
		ctl_usage(cmd, stderr);
		return EX_USAGE;
	}
	if (l.optin != NULL && strcmp(l.optin, "single") != 0 &&
	    strcmp(l.optin, "double") != 0) {
		ctl_warnx("--optin %s: want single or double", l.optin);
		return EX_USAGE;
	}
	rc = EX_DATAERR;
	if (!store_list_name_valid(l.name)) {
		ctl_warnx("%s: bad list name: want lowercase letters, digits "
		    "and '-', starting with a letter or digit, at most 64",
		    l.name);
		goto done;
	}
	if (!ctl_line_ok("--title", l.title) || l.title[0] == '\0' ||
	    (l.from_name != NULL && !ctl_line_ok("--from-name", l.from_name))) {
		if (l.title[0] == '\0')
			ctl_warnx("--title: empty");
		goto done;
	}
	if (l.from_addr != NULL) {
		if (ctl_addr("--from", l.from_addr, &from) == -1)
			goto done;
		l.from_addr = from;
	}
	if (l.reply_to != NULL) {
		if (ctl_addr("--reply-to", l.reply_to, &reply) == -1)
			goto done;
		l.reply_to = reply;
	}
	if ((rc = ctl_open(ctl)) != 0)
		goto done;
	if (store_list_create(ctl->st, &l, "cli", &cause) == -1) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if ((got = store_list_get(ctl->st, l.name, &cause)) == NULL) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (ctl->json) {
		json_init(&j, &b);
		ctl_list_json(&j, NULL, got);
		ctl_json_print(&b);
	} else
		printf("created list %s (%s opt-in)\n", got->name, got->optin);
	rc = EX_OK;
done:
	store_list_free(got);
	buf_free(&b);
	free(from);
	free(reply);
	return rc;
}

int
ctl_list_ls(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_list	*v;
	struct ctl_table	 t;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	size_t			 n, i;
	char			*cause = NULL, num[4][24];
	int			 ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	if ((rc = ctl_bad_operands(cmd, argc - optind, 0, 0)) != 0)
		return rc;
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	if ((v = store_list_all(ctl->st, &n, &cause)) == NULL)
		return ctl_store_fail(ctl, cause);
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '[');
		for (i = 0; i < n; i++)
			ctl_list_json(&j, NULL, &v[i]);
		json_close(&j, ']');
		ctl_json_print(&b);
		buf_free(&b);
	} else if (n > 0) {
		ctl_table_init(&t, 7);
		ctl_table_add(&t, "NAME");
		ctl_table_add(&t, "OPTIN");
		ctl_table_add(&t, "CONFIRMED");
		ctl_table_add(&t, "PENDING");
		ctl_table_add(&t, "UNSUBSCRIBED");
		ctl_table_add(&t, "ISSUES");
		ctl_table_add(&t, "TITLE");
		for (i = 0; i < n; i++) {
			snprintf(num[0], sizeof(num[0]), "%lld",
			    (long long)v[i].n_confirmed);
			snprintf(num[1], sizeof(num[1]), "%lld",
			    (long long)v[i].n_pending);
			snprintf(num[2], sizeof(num[2]), "%lld",
			    (long long)v[i].n_unsubscribed);
			snprintf(num[3], sizeof(num[3]), "%lld",
			    (long long)v[i].n_issues);
			ctl_table_add(&t, v[i].name);
			ctl_table_add(&t, v[i].optin);
			ctl_table_add(&t, num[0]);
			ctl_table_add(&t, num[1]);
			ctl_table_add(&t, num[2]);
			ctl_table_add(&t, num[3]);
			ctl_table_add(&t, v[i].title);
		}
		ctl_table_print(&t, stdout);
		ctl_table_free(&t);
	} else
		printf("no lists\n");
	store_list_free_array(v, n);
	return EX_OK;
}

int
ctl_list_show(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_list	*l;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	char			*cause = NULL, ts[32];
	int			 ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return rc;
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	if ((l = store_list_get(ctl->st, argv[0], &cause)) == NULL)
		return ctl_store_fail(ctl, cause);
	if (ctl->json) {
		json_init(&j, &b);
		ctl_list_json(&j, NULL, l);
		ctl_json_print(&b);
		buf_free(&b);
	} else {
		printf("name:          %s\n", l->name);
		printf("title:         %s\n", l->title);
		printf("from:          %s\n", l->from_addr ? l->from_addr :
		    "(configuration default)");
		printf("from name:     %s\n", l->from_name ? l->from_name :
		    "(configuration default)");
		printf("reply-to:      %s\n", l->reply_to ? l->reply_to : "-");
		printf("opt-in:        %s\n", l->optin);
		printf("created:       %s\n", ctl_time(l->created, ts));
		printf("confirmed:     %lld\n", (long long)l->n_confirmed);
		printf("pending:       %lld\n", (long long)l->n_pending);
		printf("unsubscribed:  %lld\n", (long long)l->n_unsubscribed);
		printf("issues:        %lld\n", (long long)l->n_issues);
	}
	store_list_free(l);
	return EX_OK;
}

int
ctl_list_rm(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_list	*l;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	char			*cause = NULL;
	int			 ch, rc, force = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		if (ch == 'f')
			force = 1;
		else if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return rc;
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	/* For the message only; the removal checks again under its lock. */
	if ((l = store_list_get(ctl->st, argv[0], &cause)) == NULL)
		return ctl_store_fail(ctl, cause);
	if (store_list_remove(ctl->st, argv[0], force, "cli", &cause) == -1) {
		store_list_free(l);
		return ctl_store_fail(ctl, cause);
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_str(&j, "removed", l->name);
		json_int(&j, "subscriptions", l->n_confirmed + l->n_pending +
		    l->n_unsubscribed);
		json_int(&j, "issues", l->n_issues);
		json_close(&j, '}');
		ctl_json_print(&b);
		buf_free(&b);
	} else
		printf("removed list %s with %lld subscriptions and %lld "
		    "issues\n", l->name, (long long)(l->n_confirmed +
		    l->n_pending + l->n_unsubscribed), (long long)l->n_issues);
	store_list_free(l);
	return EX_OK;
}
