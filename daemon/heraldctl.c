/* heraldctl: the coordinator's command-line tool; dispatch only. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

static const struct ctl_cmd ctl_cmds[] = {
	{ "list", "create", "NAME --title TITLE [--from ADDR] "
	    "[--from-name NAME] [--reply-to ADDR] [--optin single|double]",
	    "Create a list.  NAME is a slug: lowercase letters, digits and '-',\n"
	    "starting with a letter or digit, at most 64 characters.\n\n"
	    "  --title TITLE     the list's title (required)\n"
	    "  --from ADDR       From address (default: the configuration's)\n"
	    "  --from-name NAME  From display name\n"
	    "  --reply-to ADDR   Reply-To address\n"
	    "  --optin MODE      single or double (default double) for web\n"
	    "                    subscriptions\n",
	    ctl_list_create },
	{ "list", "ls", "",
	    "List the lists with their subscriber counts by state.\n\n",
	    ctl_list_ls },
	{ "list", "show", "NAME",
	    "Show one list: its settings and subscriber counts by state.\n\n",
	    ctl_list_show },
	{ "list", "rm", "NAME [--force]",
	    "Remove a list and its subscriptions.  Refused while the list has\n"
	    "issues; --force removes its issues and their deliveries too.\n"
	    "Subscribers and the event journal are kept.\n\n"
	    "  --force           remove even when the list has issues\n",
	    ctl_list_rm },
	{ "sub", "add", "LIST EMAIL [--name NAME] [--lang TAG] "
	    "[--attr KEY=VALUE ...] [--confirm]",
	    "Subscribe EMAIL to LIST, confirmed at once (the coordinator vouches\n"
	    "for it; recorded with source \"cli\").  A known subscriber is\n"
	    "updated: --name and --lang replace, --attr adds or replaces one\n"
	    "attribute.  Someone who unsubscribed is subscribed again.\n\n"
	    "With --confirm, double opt-in as from the web form: on a double\n"
	    "opt-in list the subscription is pending and heraldd emails a\n"
	    "confirmation link, ahead of newsletters; --name and --lang only\n"
	    "fill what is unknown.  At most http.subscribes_per_address_per_day\n"
	    "confirmations go to one address a day: past that it stays pending,\n"
	    "nothing is sent and the exit code is 75.  Nothing is sent to\n"
	    "someone already confirmed; a single opt-in list confirms at once.\n\n"
	    "  --name NAME       display name (one line)\n"
	    "  --lang TAG        language tag, such as en or km\n"
	    "  --attr KEY=VALUE  an attribute for templates (repeatable)\n"
	    "  --confirm         ask the subscriber to confirm by email\n",
	    ctl_sub_add },
	{ "sub", "rm", "LIST EMAIL",
	    "Unsubscribe EMAIL from LIST.  The subscription is kept, marked\n"
	    "unsubscribed, as the record of consent and of its withdrawal.\n\n",
	    ctl_sub_rm },
	{ "sub", "ls", "LIST [--state STATE]",
	    "List the subscribers of LIST, by address.\n\n"
	    "  --state STATE     pending, confirmed, unsubscribed or all\n"
	    "                    (default all)\n",
	    ctl_sub_ls },
	{ "sub", "show", "EMAIL",
	    "Show a subscriber with every subscription.\n\n",
	    ctl_sub_show },
	{ NULL, "import", "LIST FILE.csv [--skip-invalid]",
	    "Import subscribers from a CSV file (header row with an email\n"
	    "column; name, lang and any other column as attributes) in one\n"
	    "transaction.  Known subscribers are updated, never duplicated;\n"
	    "someone who unsubscribed stays unsubscribed.  Any bad row stops\n"
	    "the import: every bad row is reported and nothing is imported.\n"
	    "FILE \"-\" reads standard input.\n\n"
	    "  --skip-invalid    import the good rows, report the bad ones\n",
	    ctl_import },
	{ NULL, "export", "LIST [FILE.csv] [--state STATE]",
	    "Export subscribers as CSV: email, name, lang, then every attribute\n"
	    "in name order.  To standard output without FILE; a FILE is written\n"
	    "aside and renamed into place, readable by its owner only.\n\n"
	    "  --state STATE     which subscriptions (default confirmed; or all)\n",
	    ctl_export },
	{ NULL, "validate", "ISSUE.yaml",
	    "Check an issue file completely: the YAML, every reserved key, the\n"
	    "files it names, and its rendering in every language for a sample\n"
	    "subscriber.  Prints every error as FILE:LINE:COL: message, or \"ok\"\n"
	    "with a summary (list, subject, languages, size).  Needs no\n"
	    "database; without a configuration, example sender and links are\n"
	    "used.\n\n",
	    ctl_validate },
	{ NULL, "render", "ISSUE.yaml [--to EMAIL [--name NAME] [--lang TAG]] "
	    "[-o FILE.eml] [--html FILE] [--text FILE]",
	    "Render an issue for one recipient and write the whole message (to\n"
	    "standard output by default), or only its HTML or text body.\n\n"
	    "  --to EMAIL        the recipient (default reader@example.org)\n"
	    "  --name NAME       the recipient's name\n"
	    "  --lang TAG        the recipient's language (picks the variant)\n"
	    "  -o FILE.eml       write the message to FILE (\"-\": stdout)\n"
	    "  --html FILE       write the HTML body to FILE\n"
	    "  --text FILE       write the plain-text body to FILE\n",
	    ctl_render },
	{ NULL, "queue", "ISSUE.yaml [--list LIST] [--at TIME]",
	    "Check an issue file as validate does, then store it, with every\n"
	    "file it names, to be sent to LIST at TIME.  From then on the\n"
	    "issue is self-contained: editing the files changes nothing.\n"
	    "Prints the issue's number.\n\n"
	    "  --list LIST       the list (default: the file's \"list:\")\n"
	    "  --at TIME         \"now\" or RFC 3339 with a zone, such as\n"
	    "                    2026-12-01T09:00:00+07:00 (default: the\n"
	    "                    file's \"send_at:\")\n",
	    ctl_queue },
	{ NULL, "issues", "[--list LIST]",
	    "List the issues, newest first, with their state and progress.\n\n"
	    "  --list LIST       only this list's issues\n",
	    ctl_issues },
	{ NULL, "status", "ID",
	    "Show one issue: state, schedule, messages by delivery state, the\n"
	    "rate over the last minute and the estimated finish.\n\n",
	    ctl_status },
	{ NULL, "wait", "ID [--timeout DURATION]",
	    "Wait until the issue is neither queued nor sending, and print its\n"
	    "state.  Exits 0 when it was sent, 1 when it was paused or\n"
	    "cancelled, 75 when DURATION passed first.\n\n"
	    "  --timeout DURATION  give up after this long (such as 90s, 15m,\n"
	    "                    2h; default: wait as long as it takes)\n",
	    ctl_wait },
	{ NULL, "pause", "ID",
	    "Pause a queued or sending issue; heraldd stops within a second\n"
	    "(messages in flight finish).\n\n",
	    ctl_issue_state },
	{ NULL, "resume", "ID",
	    "Resume a paused issue where it stopped.\n\n",
	    ctl_issue_state },
	{ NULL, "cancel", "ID",
	    "Cancel a queued, sending or paused issue for good; what was not\n"
	    "sent is not sent.\n\n",
	    ctl_issue_state },
	{ NULL, "retry", "ID",
	    "Send the failed messages of an issue again (after a relay problem\n"
	    "was fixed, say).\n\n",
	    ctl_retry },
	{ NULL, "send-test", "ISSUE.yaml --to EMAIL [--to EMAIL ...]",
	    "Render an issue and send it now, through the configured relay, to\n"
	    "the given addresses only, outside any list, with \"[TEST]\" before\n"
	    "the subject.  Prints the outcome for each address; exits 75 when\n"
	    "any was not sent.\n\n"
	    "  --to EMAIL        a recipient (repeatable)\n",
	    ctl_send_test },
	{ NULL, "inbound", "RECIPIENT",
	    "Take one email on standard input, sent to RECIPIENT, as an MTA's\n"
	    "pipe transport delivers it (Postfix: argv=heraldctl inbound\n"
	    "${recipient}).  unsubscribe+TOKEN@BOUNCE_DOMAIN, the mailto of\n"
	    "every List-Unsubscribe header, unsubscribes (source \"mailto\");\n"
	    "bounces+TOKEN@BOUNCE_DOMAIN, the VERP return path, records a bounce\n"
	    "when the message is a failure report with a 5.x.x Status (source\n"
	    "\"dsn\").  Exits 0 when done, 67 for an unknown or forged address\n"
	    "(the MTA bounces it), 75 when the database is busy (it retries).\n\n",
	    ctl_inbound },
};
#define CTL_NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static void
ctl_main_usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: heraldctl [-c FILE] [-d DATABASE] [--json] "
	    "COMMAND [ARGS]\n       heraldctl help [COMMAND]\n"
	    "       heraldctl -V\n\ncommands:\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fprintf(fp, "  %s%s%s %s\n", ctl_cmds[i].group ?
		    ctl_cmds[i].group : "", ctl_cmds[i].group ? " " : "",
		    ctl_cmds[i].name, ctl_cmds[i].args);
	fprintf(fp, "\nglobal options:\n"
	    "  -c FILE           configuration file (default %s)\n"
	    "  -d DATABASE       database file (overrides HERALD_DB and the\n"
	    "                    configuration)\n"
	    "  --json            print one JSON document for scripts\n"
	    "  -h, --help        print this help\n"
	    "  -V, --version     print the version\n"
	    "\"heraldctl COMMAND --help\" describes one command.\n",
	    config_default_path());
}

/* The command named by argv[0] (and argv[1] for a group), or NULL. */
static const struct ctl_cmd *
ctl_find(int argc, char **argv, int *used)
{
	size_t	i;

	for (i = 0; i < CTL_NCMDS; i++) {
		if (ctl_cmds[i].group == NULL) {
			if (strcmp(argv[0], ctl_cmds[i].name) == 0) {
				*used = 1;
				return &ctl_cmds[i];
			}
		} else if (strcmp(argv[0], ctl_cmds[i].group) == 0 &&
		    argc > 1 && strcmp(argv[1], ctl_cmds[i].name) == 0) {
			*used = 2;
			return &ctl_cmds[i];
		}
	}
	return NULL;
}

/* "heraldctl help [COMMAND...]" and "heraldctl GROUP" alone. */
static int
ctl_group_help(const char *group, FILE *fp)
{
	size_t	i;
	int	found = 0;

	for (i = 0; i < CTL_NCMDS; i++) {
		if (ctl_cmds[i].group != NULL &&
		    strcmp(ctl_cmds[i].group, group) == 0) {
			ctl_usage(&ctl_cmds[i], fp);
			found = 1;
		}
	}
	return found;
}

static int
ctl_help_cmd(int argc, char **argv)
{
	const struct ctl_cmd	*c;
	int			 used;

	if (argc == 0) {
		ctl_main_usage(stdout);
		return EX_OK;
	}
	if ((c = ctl_find(argc, argv, &used)) != NULL) {
		ctl_help(c);
		return EX_OK;
	}
	if (argc == 1 && ctl_group_help(argv[0], stdout))
		return EX_OK;
	ctl_warnx("help: no such command: %s", argv[0]);
	return EX_USAGE;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'J' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct ctl_cmd	*c;
	struct ctl		 ctl;
	char			*label;
	int			 ch, rc, used;

	log_init("heraldctl", 0);
	memset(&ctl, 0, sizeof(ctl));
	while ((ch = getopt_long(argc, argv, "+c:d:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.conf = optarg;
			break;
		case 'd':
			ctl.dbopt = optarg;
			break;
		case 'J':
			ctl.json = 1;
			break;
		case 'h':
			ctl_main_usage(stdout);
			return EX_OK;
		case 'V':
			printf("heraldctl %s\n", PACKAGE_VERSION);
			return EX_OK;
		default:
			ctl_main_usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		ctl_main_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return ctl_help_cmd(argc - 1, argv + 1);
	if ((c = ctl_find(argc, argv, &used)) == NULL) {
		if (argc >= 1 && ctl_group_help(argv[0], stderr)) {
			if (argc == 1)
				ctl_warnx("%s: which command?", argv[0]);
			else
				ctl_warnx("%s %s: no such command", argv[0],
				    argv[1]);
		} else {
			ctl_warnx("%s: no such command", argv[0]);
			ctl_main_usage(stderr);
		}
		return EX_USAGE;
	}
	/* getopt's own messages then name the command. */
	label = used == 2 ? xsprintf("heraldctl %s %s", argv[0], argv[1]) :
	    xsprintf("heraldctl %s", argv[0]);
	argv += used - 1;
	argc -= used - 1;
	argv[0] = label;
	rc = c->fn(&ctl, c, argc, argv);
	store_close(ctl.st);
	free(label);
	free(ctl.dbowned);
	return rc;
}
