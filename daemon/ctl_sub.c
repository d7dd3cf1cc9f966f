/* heraldctl sub: add, rm, ls and show subscribers of a list. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "json.h"
#include "store.h"
#include "text.h"
#include "xmalloc.h"


/* Parse KEY=VALUE into a (borrowed) attribute; -1 after a message. */
static int
ctl_attr_parse(char *arg, struct store_attr *a)
{
	const char	*why;
	char		*eq;

	if ((eq = strchr(arg, '=')) == NULL || eq == arg) {
		ctl_warnx("--attr %s: want KEY=VALUE", arg);
		return -1;
	}
	*eq = '\0';
	a->key = arg;
	a->val = eq + 1;
	if (text_check_line(a->key, strlen(a->key), &why) == -1) {
		ctl_warnx("--attr %s: %s", a->key, why);
		return -1;
	}
	/* These are columns of their own in CSV files. */
	if (strcasecmp(a->key, "email") == 0 ||
	    strcasecmp(a->key, "name") == 0 ||
	    strcasecmp(a->key, "lang") == 0) {
		ctl_warnx("--attr %s: reserved, use --%s", a->key,
		    strcasecmp(a->key, "email") == 0 ? "(the operand)" :
		    a->key);
		return -1;
	}
	/* Values may span lines (addresses), but must be UTF-8. */
	if (!text_utf8_valid(a->val, strlen(a->val))) {
		ctl_warnx("--attr %s: value is not valid UTF-8", a->key);
		return -1;
	}
	return 0;
}

static void
ctl_attrs_json(struct json *j, const struct store_subscriber *r)
{
	size_t	i;

	json_open(j, "attrs", '{');
	for (i = 0; i < r->nattrs; i++)
		json_str(j, r->attrs[i].key, r->attrs[i].val);
	json_close(j, '}');
}

/*
 * sub add --confirm: the subscription is pending and heraldd emails a
 * confirmation link, as for a subscription from the web form, within
 * the configuration's http.subscribes_per_address_per_day.
 */
static int
ctl_sub_add_confirm(struct ctl *ctl, const char *list, const char *email,
    const char *name, const char *lang)
{
	static const char *const outcomes[] = {
		[STORE_SUBSCRIBE_CONFIRMED] = "confirmed",
		[STORE_SUBSCRIBE_QUEUED] = "queued",
		[STORE_SUBSCRIBE_LIMITED] = "limited",
		[STORE_SUBSCRIBE_ALREADY] = "already",
	};
	struct ctl_job	 job;
	struct buf	 b = BUF_INIT;
	struct json	 j;
	char		*cause = NULL;
	int		 rc, out;

	memset(&job, 0, sizeof(job));
	if ((rc = ctl_config(ctl, &job, 1)) != 0)
		goto done;
	if ((rc = ctl_open(ctl)) != 0)
		goto done;
	if (store_web_subscribe(ctl->st, list, email, name, lang, "cli",
	    (int64_t)time(NULL), job.conf->http.subscribes_per_address_per_day,
	    &out, &cause) == -1) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	rc = EX_OK;
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_str(&j, "list", list);
		json_str(&j, "email", email);
		json_str(&j, "outcome", outcomes[out]);
		json_str(&j, "state", out == STORE_SUBSCRIBE_QUEUED ||
		    out == STORE_SUBSCRIBE_LIMITED ? "pending" : "confirmed");
		json_close(&j, '}');
		ctl_json_print(&b);
	} else if (out == STORE_SUBSCRIBE_QUEUED)
		printf("%s is pending on %s; heraldd will email a "
		    "confirmation link\n", email, list);
	else if (out == STORE_SUBSCRIBE_LIMITED) {
		ctl_warnx("%s is pending on %s, but no confirmation was "
		    "sent: %d already went to this address in the last 24 "
		    "hours (http.subscribes_per_address_per_day)", email, list,
		    job.conf->http.subscribes_per_address_per_day);
		rc = EX_TEMPFAIL;
	} else if (out == STORE_SUBSCRIBE_ALREADY)
		printf("%s is already subscribed to %s; nothing sent\n",
		    email, list);
	else
		printf("subscribed %s to %s (the list is single opt-in: no "
		    "confirmation needed)\n", email, list);
done:
	ctl_job_free(&job);
	buf_free(&b);
	return rc;
}

int
ctl_sub_add(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "lang", required_argument, NULL, 'l' },
		{ "attr", required_argument, NULL, 'a' },
		{ "confirm", no_argument, NULL, 'C' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_attr	*attrs = NULL;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	size_t			 nattrs = 0, k;
	const char		*name = NULL, *lang = NULL, *was;
	char			*email = NULL, *lnorm = NULL, *cause = NULL;
	int			 ch, rc, confirm = 0;

	optind = 0;
	attrs = xcalloc(argc, sizeof(*attrs));
	rc = EX_DATAERR;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'l':
			lang = optarg;
			break;
		case 'C':
			confirm = 1;
			break;
		case 'a':
			if (ctl_attr_parse(optarg, &attrs[nattrs]) == -1)
				goto done;
			/* The same key twice: the last one wins. */
			for (k = 0; k < nattrs; k++)
				if (strcmp(attrs[k].key, attrs[nattrs].key)
				    == 0)
					break;
			if (k < nattrs)
				attrs[k].val = attrs[nattrs].val;
			else
				nattrs++;
			break;
		default:
			if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
				goto done;
			rc = EX_DATAERR;
		}
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 2, 2)) != 0)
		goto done;
	rc = EX_DATAERR;
	if (name != NULL && !ctl_line_ok("--name", name))
		goto done;
	if (name != NULL && name[0] == '\0')
		name = NULL;
	if (lang != NULL) {
		if (!ctl_lang_ok(lang))
			goto done;
		lnorm = text_lang_normalize(lang);
	}
	if (ctl_addr("address", argv[1], &email) == -1)
		goto done;
	if (confirm) {
		if (nattrs > 0) {
			ctl_warnx("--attr cannot be used with --confirm");
			rc = EX_USAGE;
			goto done;
		}
		rc = ctl_sub_add_confirm(ctl, argv[0], email, name, lnorm);
		goto done;
	}
	if ((rc = ctl_open(ctl)) != 0)
		goto done;
	if (store_sub_add(ctl->st, argv[0], email, name, lnorm, attrs, nattrs,
	    "cli", &was, &cause) == -1) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_str(&j, "list", argv[0]);
		json_str(&j, "email", email);
		json_str(&j, "was", was);
		json_str(&j, "state", "confirmed");
		json_close(&j, '}');
		ctl_json_print(&b);
	} else if (strcmp(was, "confirmed") == 0)
		printf("%s was already subscribed to %s; details updated\n",
		    email, argv[0]);
	else if (strcmp(was, "unsubscribed") == 0)
		printf("resubscribed %s to %s\n", email, argv[0]);
	else if (strcmp(was, "pending") == 0)
		printf("confirmed %s on %s\n", email, argv[0]);
	else
		printf("subscribed %s to %s\n", email, argv[0]);
	rc = EX_OK;
done:
	free(attrs);	/* keys and values point into argv */
	free(email);
	free(lnorm);
	buf_free(&b);
	return rc;
}

int
ctl_sub_rm(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct buf	 b = BUF_INIT;
	struct json	 j;
	const char	*was;
	char		*email = NULL, *cause = NULL;
	int		 ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 2, 2)) != 0)
		return rc;
	if (ctl_addr("address", argv[1], &email) == -1)
		return EX_DATAERR;
	if ((rc = ctl_open(ctl)) != 0)
		goto done;
	if (store_sub_remove(ctl->st, argv[0], email, "cli", &was, &cause)
	    == -1) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_str(&j, "list", argv[0]);
		json_str(&j, "email", email);
		json_str(&j, "was", was);
		json_str(&j, "state", "unsubscribed");
		json_close(&j, '}');
		ctl_json_print(&b);
	} else if (strcmp(was, "unsubscribed") == 0)
		printf("%s was already unsubscribed from %s\n", email,
		    argv[0]);
	else
		printf("unsubscribed %s from %s\n", email, argv[0]);
	rc = EX_OK;
done:
	free(email);
	buf_free(&b);
	return rc;
}

struct ctl_sub_walk {
	struct ctl_table	 t;
	struct json		 j;
	int			 json;
	size_t			 n;
};

static int
ctl_sub_ls_one(void *arg, const struct store_subscriber *r)
{
	struct ctl_sub_walk	*w = arg;
	char			 ts[32];

	w->n++;
	if (w->json) {
		json_open(&w->j, NULL, '{');
		json_str(&w->j, "email", r->email);
		json_str(&w->j, "name", r->name);
		json_str(&w->j, "lang", r->lang);
		json_str(&w->j, "state", r->sub_state);
		json_time(&w->j, "since", r->sub_updated);
		json_str(&w->j, "subscriber_state", r->state);
		ctl_attrs_json(&w->j, r);
		json_close(&w->j, '}');
		return 0;
	}
	ctl_table_add(&w->t, r->email);
	ctl_table_add(&w->t, r->sub_state);
	ctl_table_add(&w->t, ctl_time(r->sub_updated, ts));
	ctl_table_add(&w->t, r->lang);
	ctl_table_add(&w->t, r->name);
	return 0;
}

int
ctl_sub_ls(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_sub_walk	 w;
	struct buf		 b = BUF_INIT;
	const char		*state = NULL;
	char			*cause = NULL;
	int			 ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		if (ch == 's')
			state = optarg;
		else if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	}
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return rc;
	if (state != NULL && strcmp(state, "all") == 0)
		state = NULL;
	if (state != NULL && !store_sub_state_valid(state)) {
		ctl_warnx("--state %s: want pending, confirmed, unsubscribed "
		    "or all", state);
		return EX_USAGE;
	}
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	memset(&w, 0, sizeof(w));
	w.json = ctl->json;
	json_init(&w.j, &b);
	ctl_table_init(&w.t, 5);
	if (w.json)
		json_open(&w.j, NULL, '[');
	else {
		ctl_table_add(&w.t, "EMAIL");
		ctl_table_add(&w.t, "STATE");
		ctl_table_add(&w.t, "SINCE");
		ctl_table_add(&w.t, "LANG");
		ctl_table_add(&w.t, "NAME");
	}
	if (store_sub_list(ctl->st, argv[0], state, ctl_sub_ls_one, &w,
	    &cause) == -1) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (w.json) {
		json_close(&w.j, ']');
		ctl_json_print(&b);
	} else if (w.n > 0)
		ctl_table_print(&w.t, stdout);
	else
		printf("no %s subscribers on %s\n", state ? state : "",
		    argv[0]);
	rc = EX_OK;
done:
	ctl_table_free(&w.t);
	buf_free(&b);
	return rc;
}

int
ctl_sub_show(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct store_subscriber	*r = NULL;
	struct ctl_table	 t;
	struct buf		 b = BUF_INIT;
	struct json		 j;
	size_t			 i;
	char			*email = NULL, *cause = NULL, ts[32];
	int			 ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return rc;
	if (ctl_addr("address", argv[0], &email) == -1)
		return EX_DATAERR;
	if ((rc = ctl_open(ctl)) != 0)
		goto done;
	if ((r = store_sub_get(ctl->st, email, &cause)) == NULL) {
		rc = ctl_store_fail(ctl, cause);
		goto done;
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_str(&j, "email", r->email);
		json_str(&j, "name", r->name);
		json_str(&j, "lang", r->lang);
		json_str(&j, "state", r->state);
		json_time(&j, "created", r->created);
		json_time(&j, "updated", r->updated);
		ctl_attrs_json(&j, r);
		json_open(&j, "subscriptions", '[');
		for (i = 0; i < r->nsubs; i++) {
			json_open(&j, NULL, '{');
			json_str(&j, "list", r->subs[i].list);
			json_str(&j, "state", r->subs[i].state);
			json_str(&j, "source", r->subs[i].source);
			json_time(&j, "created", r->subs[i].created);
			json_time(&j, "updated", r->subs[i].updated);
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_close(&j, '}');
		ctl_json_print(&b);
	} else {
		printf("email:    %s\n", r->email);
		printf("name:     %s\n", r->name ? r->name : "-");
		printf("lang:     %s\n", r->lang ? r->lang : "-");
		printf("state:    %s\n", r->state);
		printf("created:  %s\n", ctl_time(r->created, ts));
		printf("updated:  %s\n", ctl_time(r->updated, ts));
		for (i = 0; i < r->nattrs; i++)
			printf("attr:     %s=%s\n", r->attrs[i].key,
			    r->attrs[i].val);
		if (r->nsubs > 0) {
			printf("\n");
			ctl_table_init(&t, 4);
			ctl_table_add(&t, "LIST");
			ctl_table_add(&t, "STATE");
			ctl_table_add(&t, "SINCE");
			ctl_table_add(&t, "SOURCE");
			for (i = 0; i < r->nsubs; i++) {
				ctl_table_add(&t, r->subs[i].list);
				ctl_table_add(&t, r->subs[i].state);
				ctl_table_add(&t, ctl_time(r->subs[i].updated,
				    ts));
				ctl_table_add(&t, r->subs[i].source);
			}
			ctl_table_print(&t, stdout);
			ctl_table_free(&t);
		}
	}
	rc = EX_OK;
done:
	store_subscriber_free(r);
	free(email);
	buf_free(&b);
	return rc;
}
