/* heraldctl inbound: mail to unsubscribe+TOKEN@ and bounces+TOKEN@. */
#include "autoconf.h"

#include <ctype.h>
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
#include "store.h"
#include "text.h"
#include "token.h"
#include "xmalloc.h"

/* Read at most this much of a message: reports say what matters early. */
#define INBOUND_MAX	(1024 * 1024)

/*
 * The first "Status: X.Y.Z" of a delivery status report (RFC 3464) in
 * msg, into status; its Diagnostic-Code (one line) into diag.  0 when
 * there is a status.
 */
static int
ctl_inbound_status(const char *msg, char *status, size_t slen, char *diag,
    size_t dlen)
{
	const char	*p = msg, *e, *v;
	size_t		 n;

	status[0] = diag[0] = '\0';
	while (*p != '\0') {
		e = strchr(p, '\n');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (status[0] == '\0' && n > 7 &&
		    strncasecmp(p, "Status:", 7) == 0) {
			for (v = p + 7; v < p + n && isspace((unsigned char)*v);
			    v++)
				;
			if (v + 5 <= p + n && strchr("245", *v) != NULL &&
			    v[1] == '.') {
				n -= (size_t)(v - p);
				while (n > 0 && isspace((unsigned char)v[n - 1]))
					n--;
				snprintf(status, slen, "%.*s", (int)n, v);
			}
		} else if (diag[0] == '\0' && n > 16 &&
		    strncasecmp(p, "Diagnostic-Code:", 16) == 0) {
			for (v = p + 16; v < p + n && isspace((unsigned char)*v);
			    v++)
				;
			snprintf(diag, dlen, "%.*s", (int)(n - (size_t)(v - p)),
			    v);
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return status[0] != '\0' ? 0 : -1;
}

/* Keep what goes to the journal to printable ASCII. */
static void
ctl_inbound_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

int
ctl_inbound(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_job	 job;
	struct token	 tk;
	struct buf	 msg = BUF_INIT;
	char		 tok[TOKEN_LEN + 1], chunk[8192], status[32], diag[200];
	char		*cause = NULL, *detail = NULL;
	const char	*domain;
	size_t		 n;
	int		 ch, rc, unsub, changed;

	memset(&job, 0, sizeof(job));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = ctl_opt_common(ctl, cmd, ch)) != -1)
			goto done;
	argc -= optind;
	argv += optind;
	if ((rc = ctl_bad_operands(cmd, argc, 1, 1)) != 0)
		goto done;
	/* Take the whole message, so that the MTA sees it delivered. */
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (msg.len < INBOUND_MAX)
			buf_add(&msg, chunk, n);
	if ((rc = ctl_config(ctl, &job, 0)) != 0)
		goto done;
	if ((rc = ctl_key(&job, 1)) != 0)
		goto done;
	domain = job.conf->delivery.bounce_domain;
	if (token_verp_parse(argv[0], "unsubscribe", tok, sizeof(tok)) == 0 &&
	    strcasecmp(strrchr(argv[0], '@') + 1, domain) == 0)
		unsub = 1;
	else if (token_verp_parse(argv[0], "bounces", tok,
	    sizeof(tok)) == 0 && strcasecmp(strrchr(argv[0], '@') + 1,
	    domain) == 0)
		unsub = 0;
	else {
		ctl_warnx("%s: no such recipient here (want unsubscribe+TOKEN@%s"
		    " or bounces+TOKEN@%s)", argv[0], domain, domain);
		rc = EX_NOUSER;
		goto done;
	}
	if (token_verify(tok, unsub ? TOKEN_UNSUBSCRIBE : TOKEN_BOUNCE,
	    job.key, job.keylen, time(NULL), 0, &tk) != TOKEN_OK) {
		ctl_warnx("%s: unknown or forged token", argv[0]);
		rc = EX_NOUSER;
		goto done;
	}
	if ((rc = ctl_open(ctl)) != 0) {
		rc = EX_TEMPFAIL;	/* the MTA keeps it and tries again */
		goto done;
	}
	if (unsub) {
		if (store_web_unsubscribe(ctl->st, tk.subscriber, tk.list,
		    "mailto", time(NULL), &changed, &cause) == -1)
			goto fail;
		if (!ctl->json)
			printf("%s\n", changed ? "unsubscribed" :
			    "already unsubscribed");
		else
			printf("{\"action\": \"unsubscribe\", \"changed\": %s}\n",
			    changed ? "true" : "false");
		rc = EX_OK;
		goto done;
	}
	/* Only a permanent failure counts; delays and receipts do not. */
	buf_addc(&msg, '\0');
	if (ctl_inbound_status(msg.data, status, sizeof(status), diag,
	    sizeof(diag)) != 0 || status[0] != '5') {
		if (!ctl->json)
			printf("not a permanent failure report (status %s): "
			    "nothing recorded\n", status[0] ? status : "none");
		else
			printf("{\"action\": \"none\", \"status\": \"%s\"}\n",
			    status);
		rc = EX_OK;
		goto done;
	}
	ctl_inbound_clean(diag);
	xasprintf(&detail, "%s%s%s", status, diag[0] ? " " : "", diag);
	if (store_web_bounce(ctl->st, tk.subscriber, tk.list, "dsn", detail,
	    time(NULL), &cause) == -1)
		goto fail;
	if (!ctl->json)
		printf("bounce recorded: %s\n", detail);
	else
		printf("{\"action\": \"bounce\", \"status\": \"%s\"}\n", status);
	rc = EX_OK;
	goto done;
fail:
	ctl_warnx("%s: %s", argv[0], cause);
	rc = store_errkind(ctl->st) == STORE_ENOTFOUND ? EX_NOUSER :
	    EX_TEMPFAIL;
	free(cause);
done:
	ctl_job_free(&job);
	buf_free(&msg);
	free(detail);
	return rc;
}
