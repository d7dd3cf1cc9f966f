/* heraldctl's preview commands: validate, render and send-test. */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "dispatch.h"
#include "errlist.h"
#include "issue.h"
#include "json.h"
#include "render.h"
#include "smtp.h"
#include "store.h"
#include "text.h"
#include "xmalloc.h"


/* The sample recipient of validate and of render without --to. */
#define CTL_SAMPLE_EMAIL	"reader@example.org"
#define CTL_SAMPLE_NAME		"Sample Reader"


/*
 * The time to render at: now, or SOURCE_DATE_EPOCH when set, so that a
 * preview can be made byte for byte the same again.
 */
time_t
ctl_now(void)
{
	const char	*e = getenv("SOURCE_DATE_EPOCH");
	char		*end;
	long long	 v;

	if (e != NULL && *e != '\0') {
		v = strtoll(e, &end, 10);
		if (*end == '\0' && v >= 0)
			return (time_t)v;
	}
	return time(NULL);
}

/* HERALD_TEMPLATES names another templates folder (a source tree's). */
static void
ctl_templates_env(struct config *conf)
{
	const char	*t = getenv("HERALD_TEMPLATES");

	if (t != NULL && t[0] != '\0') {
		free(conf->templates);
		conf->templates = xstrdup(t);
	}
}

/*
 * The configuration, for commands that render: from -c, else the
 * default file if it exists.  Without one, `placeholder` commands
 * (validate, render) use the defaults with example sender and links;
 * the others refuse.
 */
int
ctl_config(struct ctl *ctl, struct ctl_job *job, int placeholder)
{
	struct errlist	 errs = ERRLIST_INIT;
	const char	*path = ctl->conf;

	if (path == NULL && access(config_default_path(), F_OK) == 0)
		path = config_default_path();
	if (path == NULL) {
		if (!placeholder) {
			ctl_warnx("no configuration: %s does not exist; give "
			    "one with -c FILE", config_default_path());
			return EX_CONFIG;
		}
		job->conf = config_defaults();
		job->placeholder = 1;
		free(job->conf->sender.from_address);
		job->conf->sender.from_address = xstrdup("bulletin@example.org");
		free(job->conf->sender.message_id_domain);
		job->conf->sender.message_id_domain = xstrdup("example.org");
		free(job->conf->delivery.bounce_domain);
		job->conf->delivery.bounce_domain = xstrdup("example.org");
		free(job->conf->http.base_url);
		job->conf->http.base_url = xstrdup("https://lists.example.org");
		ctl_templates_env(job->conf);
		return 0;
	}
	if ((job->conf = config_load(path, &errs)) == NULL) {
		if (errlist_count(&errs) == 0)
			ctl_warnx("%s: cannot read the configuration", path);
		errlist_print(&errs, stderr, "heraldctl");
		errlist_free(&errs);
		return EX_CONFIG;
	}
	ctl_templates_env(job->conf);
	return 0;
}

/* The key that signs links: the secret file, or a throwaway one. */
int
ctl_key(struct ctl_job *job, int need)
{
	char	*k = NULL, *cause = NULL;

	if (!job->placeholder &&
	    config_read_secret(job->conf->http.secret_file, &k, &cause) == 0) {
		job->key = (unsigned char *)k;
		job->keylen = strlen(k);
		return 0;
	}
	if (need) {
		ctl_warnx("%s", cause != NULL ? cause :
		    "no secret file to sign links with");
		free(cause);
		return EX_CONFIG;
	}
	free(cause);
	job->key = (unsigned char *)xstrdup("herald preview key, not secret");
	job->keylen = strlen((char *)job->key);
	return 0;
}

void
ctl_job_free(struct ctl_job *job)
{
	render_free(job->render);
	issue_free(job->issue);
	store_list_free(job->list);
	if (job->key != NULL)
		explicit_bzero(job->key, job->keylen);
	free(job->key);
	config_free(job->conf);
}

/*
 * Parse and check an issue file and prepare it for list (the issue's
 * own list when NULL).  The list is looked up in the database when
 * use_db; a preview without a database uses the list's name as title.
 */
int
ctl_prepare(struct ctl *ctl, struct ctl_job *job, const char *path,
    const char *listname, int use_db, int64_t issue_id, time_t date)
{
	struct errlist		 errs = ERRLIST_INIT;
	struct issue_limits	 lim;
	struct render_env	 env;
	struct render_list	 rl;
	char			*cause = NULL;
	int			 rc;

	issue_limits_default(&lim);
	if (access(path, R_OK) == -1) {
		ctl_warnx("%s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_DATAERR;
	}
	if ((job->issue = issue_parse_file(path, &lim, &errs)) == NULL) {
		errlist_print(&errs, stderr, "heraldctl");
		errlist_free(&errs);
		return EX_DATAERR;
	}
	errlist_free(&errs);
	if (listname == NULL)
		listname = job->issue->list;
	if (listname == NULL) {
		ctl_warnx("%s: no list: add \"list:\" to the file or give "
		    "--list", path);
		return EX_DATAERR;
	}
	if (!store_list_name_valid(listname)) {
		ctl_warnx("%s: \"%s\" is not a list name", path, listname);
		return EX_DATAERR;
	}
	memset(&rl, 0, sizeof(rl));
	rl.name = listname;
	rl.title = listname;
	if (use_db) {
		if ((rc = ctl_open(ctl)) != 0)
			return rc;
		if ((job->list = store_list_get(ctl->st, listname,
		    &cause)) == NULL)
			return ctl_store_fail(ctl, cause);
		rl.id = job->list->id;
		rl.title = job->list->title;
		rl.from_address = job->list->from_addr;
		rl.from_name = job->list->from_name;
		rl.reply_to = job->list->reply_to;
	}
	memset(&env, 0, sizeof(env));
	env.templates = job->conf->templates;
	env.base_url = job->conf->http.base_url;
	env.from_address = job->conf->sender.from_address;
	env.from_name = job->conf->sender.from_name;
	env.reply_to = job->conf->sender.reply_to;
	env.domain = job->conf->sender.message_id_domain;
	env.bounce_domain = job->conf->delivery.bounce_domain;
	env.postal_address = job->conf->sender.postal_address;
	env.key = job->key;
	env.keylen = job->keylen;
	job->render = render_compile(job->issue, issue_id, date, &rl, &env,
	    &cause);
	if (job->render == NULL) {
		ctl_warnx("%s: %s", path, cause);
		free(cause);
		return EX_DATAERR;
	}
	return 0;
}

/* Render the message for every language, as the daemon would. */
int
ctl_render_all(struct ctl_job *job, const char *path, size_t *maxsize)
{
	struct render_rcpt	 rc;
	struct buf		 out = BUF_INIT;
	char			*cause = NULL;
	size_t			 i;
	int			 rv = 0;

	*maxsize = 0;
	for (i = 0; i < job->issue->nlangs; i++) {
		memset(&rc, 0, sizeof(rc));
		rc.email = CTL_SAMPLE_EMAIL;
		rc.name = CTL_SAMPLE_NAME;
		rc.lang = job->issue->langs[i].tag;
		if (render_message(job->render, &rc, ctl_now(), &out,
		    &cause) != 0) {
			ctl_warnx("%s: %s%s%s", path, rc.lang ? rc.lang : "",
			    rc.lang ? ": " : "", cause);
			free(cause);
			cause = NULL;
			rv = -1;
			continue;
		}
		if (out.len > *maxsize)
			*maxsize = out.len;
	}
	buf_free(&out);
	return rv;
}

static void
ctl_lang_list(const struct issue *is, struct buf *b)
{
	size_t	i;

	for (i = 0; i < is->nlangs; i++)
		buf_printf(b, "%s%s", i ? "," : "",
		    is->langs[i].tag ? is->langs[i].tag : "default");
}

int
ctl_validate(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct ctl_job	 job;
	struct buf	 b = BUF_INIT;
	struct json	 j;
	size_t		 size;
	int		 ch, rc;

	memset(&job, 0, sizeof(job));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			return rc;
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return rc;
	if ((rc = ctl_config(ctl, &job, 1)) != 0 ||
	    (rc = ctl_key(&job, 0)) != 0 ||
	    (rc = ctl_prepare(ctl, &job, argv[0], NULL, 0, 0,
	    ctl_now())) != 0)
		goto done;
	if (ctl_render_all(&job, argv[0], &size) != 0) {
		rc = EX_DATAERR;
		goto done;
	}
	if (ctl->json) {
		json_init(&j, &b);
		json_open(&j, NULL, '{');
		json_bool(&j, "ok", 1);
		json_str(&j, "list", job.issue->list);
		json_str(&j, "subject", job.issue->langs[0].subject);
		json_open(&j, "languages", '[');
		for (size_t i = 0; i < job.issue->nlangs; i++)
			json_str(&j, NULL, job.issue->langs[i].tag ?
			    job.issue->langs[i].tag : "default");
		json_close(&j, ']');
		json_int(&j, "images", (int64_t)job.issue->nimages);
		json_int(&j, "attachments", (int64_t)job.issue->nattachments);
		json_int(&j, "size", (int64_t)size);
		json_close(&j, '}');
		ctl_json_print(&b);
	} else {
		buf_printf(&b, "ok: list %s, subject \"%s\", languages ",
		    job.issue->list ? job.issue->list : "(none)",
		    job.issue->langs[0].subject);
		ctl_lang_list(job.issue, &b);
		buf_printf(&b, ", %zu image%s, %zu attachment%s, %zu bytes\n",
		    job.issue->nimages, job.issue->nimages == 1 ? "" : "s",
		    job.issue->nattachments,
		    job.issue->nattachments == 1 ? "" : "s", size);
		fputs(buf_cstr(&b), stdout);
	}
	rc = EX_OK;
done:
	buf_free(&b);
	ctl_job_free(&job);
	return rc;
}

int
ctl_write_file(const char *path, const char *data, size_t len)
{
	FILE	*fp;

	if (strcmp(path, "-") == 0)
		fp = stdout;
	else if ((fp = fopen(path, "w")) == NULL) {
		ctl_warnx("%s: %s", path, strerror(errno));
		return EX_CANTCREAT;
	}
	if (fwrite(data, 1, len, fp) != len || fflush(fp) != 0) {
		ctl_warnx("%s: %s", path, strerror(errno));
		if (fp != stdout)
			fclose(fp);
		return EX_IOERR;
	}
	if (fp != stdout && fclose(fp) != 0) {
		ctl_warnx("%s: %s", path, strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

int
ctl_render(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "lang", required_argument, NULL, 'l' },
		{ "html", required_argument, NULL, 'H' },
		{ "text", required_argument, NULL, 'T' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_job		 job;
	struct render_rcpt	 rc;
	struct buf		 msg = BUF_INIT, html = BUF_INIT, text = BUF_INIT;
	const char		*to = NULL, *name = NULL, *lang = NULL;
	const char		*out = NULL, *hpath = NULL, *tpath = NULL;
	char			*email = NULL, *cause = NULL;
	int			 ch, r;

	memset(&job, 0, sizeof(job));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			to = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'l':
			lang = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'H':
			hpath = optarg;
			break;
		case 'T':
			tpath = optarg;
			break;
		default:
			if ((r = ctl_opt_common(ctl, cmd, ch)) != -1)
				return r;
		}
	}
	argc -= optind;
	argv += optind;
	if ((r = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		return r;
	r = EX_DATAERR;
	if ((name != NULL && !ctl_line_ok("--name", name)) ||
	    (lang != NULL && !ctl_lang_ok(lang)))
		goto done;
	if (to != NULL && ctl_addr("--to", to, &email) != 0)
		goto done;
	if ((r = ctl_config(ctl, &job, 1)) != 0 ||
	    (r = ctl_key(&job, 0)) != 0 ||
	    (r = ctl_prepare(ctl, &job, argv[0], NULL, 0, 0,
	    ctl_now())) != 0)
		goto done;
	memset(&rc, 0, sizeof(rc));
	rc.email = email != NULL ? email : CTL_SAMPLE_EMAIL;
	rc.name = name != NULL ? name : (to == NULL ? CTL_SAMPLE_NAME : NULL);
	rc.lang = lang;
	r = EX_DATAERR;
	if (hpath != NULL || tpath != NULL) {
		if (render_bodies(job.render, &rc, hpath ? &html : NULL,
		    tpath ? &text : NULL, &cause) != 0) {
			ctl_warnx("%s: %s", argv[0], cause);
			goto done;
		}
		if (hpath != NULL &&
		    (r = ctl_write_file(hpath, html.data, html.len)) != 0)
			goto done;
		if (tpath != NULL &&
		    (r = ctl_write_file(tpath, text.data, text.len)) != 0)
			goto done;
	}
	if (out != NULL || (hpath == NULL && tpath == NULL)) {
		if (render_message(job.render, &rc, ctl_now(), &msg,
		    &cause) != 0) {
			ctl_warnx("%s: %s", argv[0], cause);
			goto done;
		}
		if ((r = ctl_write_file(out != NULL ? out : "-", msg.data,
		    msg.len)) != 0)
			goto done;
	}
	r = EX_OK;
done:
	free(cause);
	free(email);
	buf_free(&msg);
	buf_free(&html);
	buf_free(&text);
	ctl_job_free(&job);
	return r;
}

struct ctl_sent {
	int	 n, ok;
	char	**to;
};

static void
ctl_sent_one(const struct smtp_result *r, void *arg)
{
	struct ctl_sent	*s = arg;
	const char	*to = s->to[r->id];

	s->n++;
	if (r->outcome == SMTP_SENT) {
		s->ok++;
		printf("%s: sent (%ld %s)\n", to, r->code, r->reply);
	} else
		printf("%s: %s at %s (%ld %s%s%s)\n", to,
		    smtp_outcome_name(r->outcome), smtp_stage_name(r->stage),
		    r->code, r->reply, r->curlcode ? "; " : "",
		    r->curlcode ? curl_easy_strerror(r->curlcode) : "");
}

int
ctl_send_test(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_job		 job;
	struct smtp_params	 p;
	struct smtp		*smtp = NULL;
	struct render_rcpt	 rc;
	struct ctl_sent		 sent;
	struct buf		 msg = BUF_INIT;
	char			**to, *cause = NULL, *password = NULL, *rcpt;
	const char		*why;
	int			 ch, r, nto = 0, i, next = 0;

	memset(&job, 0, sizeof(job));
	memset(&sent, 0, sizeof(sent));
	to = xcalloc(argc + 1, sizeof(*to));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 't') {
			if (ctl_addr("--to", optarg, &to[nto]) != 0) {
				r = EX_DATAERR;
				goto done;
			}
			nto++;
		} else if ((r = ctl_opt_common(ctl, cmd, ch)) != -1)
			goto done;
	}
	argc -= optind;
	argv += optind;
	if ((r = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		goto done;
	if (nto == 0) {
		ctl_warnx("send-test: give at least one --to EMAIL");
		ctl_usage(cmd, stderr);
		r = EX_USAGE;
		goto done;
	}
	if ((r = ctl_config(ctl, &job, 0)) != 0 ||
	    (r = ctl_key(&job, 1)) != 0 ||
	    (r = ctl_prepare(ctl, &job, argv[0], NULL, 0, 0,
	    ctl_now())) != 0)
		goto done;
	if (job.conf->smtp.password_file != NULL &&
	    config_read_secret(job.conf->smtp.password_file, &password,
	    &cause) != 0) {
		ctl_warnx("%s", cause);
		r = EX_CONFIG;
		goto done;
	}
	dispatch_smtp_params(job.conf, password, &p);
	p.connections = 1;
	if ((smtp = smtp_new(&p, &cause)) == NULL) {
		ctl_warnx("%s", cause);
		r = EX_SOFTWARE;
		goto done;
	}
	sent.to = to;
	/* One at a time, over one connection. */
	while (sent.n < nto) {
		if (next < nto && smtp_idle_slots(smtp) > 0) {
			memset(&rc, 0, sizeof(rc));
			rc.email = to[next];
			rc.subject_prefix = "[TEST] ";
			if (render_message(job.render, &rc, ctl_now(), &msg,
			    &cause) != 0) {
				ctl_warnx("%s: %s", argv[0], cause);
				r = EX_DATAERR;
				goto done;
			}
			if (addr_to_ascii(to[next], &rcpt, &why) != 0) {
				ctl_warnx("%s: %s", to[next], why);
				r = EX_DATAERR;
				goto done;
			}
			smtp_submit(smtp, (uint64_t)next,
			    render_from_address(job.render), rcpt, msg.data,
			    msg.len, NULL);
			free(rcpt);
			next++;
		}
		smtp_poll(smtp, 1000, NULL, 0);
		if (smtp_perform(smtp, ctl_sent_one, &sent) < 0) {
			ctl_warnx("smtp: the transfer failed");
			r = EX_SOFTWARE;
			goto done;
		}
	}
	r = sent.ok == nto ? EX_OK : EX_TEMPFAIL;
done:
	if (smtp != NULL)
		smtp_free(smtp);
	freezero_str(password);
	free(cause);
	for (i = 0; i < nto; i++)
		free(to[i]);
	free(to);
	buf_free(&msg);
	ctl_job_free(&job);
	return r;
}
