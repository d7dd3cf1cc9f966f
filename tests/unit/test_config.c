/* Unit tests of config.c: every kind of error with its line, defaults, secrets. */
#include "autoconf.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "errlist.h"
#include "log.h"
#include "xmalloc.h"

static char	*tmpdir;
static char	*conf_path;

#define MINIMAL \
	"sender = { from_address = \"bulletin@example.org\"; };\n" \
	"http = { base_url = \"https://lists.example.org/\"; };\n"

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*fp;

	unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Write text as the configuration file and load it. */
static struct config *
load(const char *text, struct errlist *errs)
{
	write_file(conf_path, text, 0644);
	return config_load(conf_path, errs);
}

/* The message "CONF:line: msg", with CONF the test's file. */
static char *
at(int line, const char *msg)
{
	return xsprintf("%s:%d: %s", conf_path, line, msg);
}

/* Load text, expect it to fail with exactly the messages given. */
static void
expect_errors(const char *text, ...)
{
	struct errlist	 errs = ERRLIST_INIT;
	struct config	*conf;
	va_list		 ap;
	const char	*msg;
	char		*want;
	size_t		 n = 0;
	int		 line;

	conf = load(text, &errs);
	if (conf != NULL || errs.n == 0)
		fail_msg("expected errors, the file loaded");
	va_start(ap, text);
	while ((line = va_arg(ap, int)) != 0) {
		msg = va_arg(ap, const char *);
		want = at(line, msg);
		if (n >= errs.n)
			fail_msg("missing error: %s", want);
		assert_string_equal(errs.msgs[n], want);
		free(want);
		n++;
	}
	va_end(ap);
	if (n != errs.n)
		fail_msg("unexpected error: %s", errs.msgs[n]);
	errlist_free(&errs);
}

static struct config *
load_ok(const char *text)
{
	struct errlist	 errs = ERRLIST_INIT;
	struct config	*conf;

	conf = load(text, &errs);
	if (conf == NULL)
		fail_msg("did not load: %s", errs.n ? errs.msgs[0] : "?");
	assert_int_equal(errs.n, 0);
	return conf;
}

static int
setup(void **state)
{
	char	tmpl[] = "/tmp/herald-test-config.XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	tmpdir = xstrdup(tmpl);
	conf_path = xsprintf("%s/herald.conf", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd = xsprintf("rm -rf '%s'", tmpdir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(conf_path);
	free(tmpdir);
	return 0;
}

static void
test_defaults_applied(void **state)
{
	struct config	*conf = load_ok(MINIMAL);

	assert_string_equal(conf->path, conf_path);
	assert_string_equal(conf->database, "/var/lib/herald/herald.db");
	assert_string_equal(conf->templates, PKGDATADIR "/templates");
	assert_int_equal(conf->log_level, LOG_LEVEL_INFO);
	assert_string_equal(conf->sender.from_address, "bulletin@example.org");
	assert_null(conf->sender.from_name);
	assert_null(conf->sender.reply_to);
	assert_string_equal(conf->sender.message_id_domain, "example.org");
	assert_null(conf->sender.postal_address);
	assert_string_equal(conf->smtp.url, "smtp://127.0.0.1:25");
	assert_null(conf->smtp.username);
	assert_null(conf->smtp.password_file);
	assert_int_equal(conf->smtp.tls, CONFIG_TLS_NONE);	/* loopback */
	assert_null(conf->smtp.ca_file);
	assert_int_equal(conf->smtp.connections, 4);
	assert_int_equal(conf->smtp.messages_per_connection, 100);
	assert_int_equal(conf->smtp.rate_per_second, 0);
	assert_int_equal(conf->smtp.rate_per_minute, 0);
	assert_int_equal(conf->smtp.rate_per_hour, 0);
	assert_int_equal(conf->smtp.rate_per_day, 0);
	assert_int_equal(conf->smtp.connect_timeout, 30);
	assert_int_equal(conf->smtp.response_timeout, 600);
	assert_int_equal(conf->smtp.low_speed_limit, 1);
	assert_int_equal(conf->smtp.low_speed_time, 60);
	assert_string_equal(conf->http.listen, "127.0.0.1:8025");
	assert_string_equal(conf->http.listen_host, "127.0.0.1");
	assert_int_equal(conf->http.listen_port, 8025);
	assert_string_equal(conf->http.base_url, "https://lists.example.org");
	assert_string_equal(conf->http.secret_file, SYSCONFDIR "/herald/secret");
	assert_int_equal(conf->http.token_expiry, 7 * 86400);
	assert_int_equal(conf->http.max_body, 16384);
	assert_int_equal(conf->http.subscribes_per_ip_per_hour, 20);
	assert_int_equal(conf->http.subscribes_per_address_per_day, 3);
	assert_int_equal(conf->http.max_connections, 64);
	assert_int_equal(conf->http.connection_timeout, 30);
	assert_int_equal(conf->delivery.max_age, 4 * 86400);
	assert_int_equal(conf->delivery.backoff_initial, 300);
	assert_int_equal(conf->delivery.backoff_max, 4 * 3600);
	assert_int_equal(conf->delivery.pause_after_policy_failures, 10);
	assert_int_equal(conf->delivery.shutdown_grace, 30);
	assert_int_equal(conf->delivery.batch_size, 100);
	assert_int_equal(conf->delivery.verp, 0);
	assert_string_equal(conf->delivery.bounce_domain, "example.org");
	config_free(conf);
}

static void
test_config_defaults(void **state)
{
	struct config	*conf = config_defaults();

	assert_null(conf->path);
	assert_null(conf->sender.from_address);
	assert_null(conf->http.base_url);
	assert_string_equal(conf->database, "/var/lib/herald/herald.db");
	assert_int_equal(conf->smtp.connections, 4);
	assert_int_equal(conf->smtp.tls, CONFIG_TLS_NONE);
	assert_int_equal(conf->http.listen_port, 8025);
	config_free(conf);
	assert_string_equal(config_default_path(),
	    SYSCONFDIR "/herald/herald.conf");
}

static void
test_values_set(void **state)
{
	struct config	*conf;
	char		*pw = xsprintf("%s/pw", tmpdir);

	write_file(pw, "hunter2\n", 0600);
	conf = load_ok("database = \"state/herald.db\";\n"
	    "log_level = \"debug\";\n"
	    "sender = { from_address = \"a@example.org\";\n"
	    "  from_name = \"Spotlight on R2P\"; reply_to = \"ed@example.org\";\n"
	    "  postal_address = \"Friends of R2P\\nPhnom Penh\"; };\n"
	    "smtp = { url = \"smtp://mail.example.org:587\"; username = \"u\";\n"
	    "  password_file = \"/nonexistent/pw\"; connections = 8;\n"
	    "  rate = { per_second = 5; per_day = 10000; };\n"
	    "  timeout = { connect = \"2m\"; response = 90;\n"
	    "    low_speed_limit = \"1k\"; low_speed_time = \"0\"; }; };\n"
	    "http = { base_url = \"http://127.0.0.1:8025/h//\";\n"
	    "  listen = \"[::1]:9000\"; token_expiry = \"2w\";\n"
	    "  max_body = \"1M\"; };\n"
	    "delivery = { verp = true; bounce_domain = \"b.example.org\";\n"
	    "  max_age = \"1d\"; backoff_initial = 60; backoff_max = \"1h\"; };\n");
	free(pw);
	pw = xsprintf("%s/state/herald.db", tmpdir);
	assert_string_equal(conf->database, pw);
	assert_int_equal(conf->log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(conf->sender.from_name, "Spotlight on R2P");
	assert_string_equal(conf->sender.reply_to, "ed@example.org");
	assert_string_equal(conf->sender.postal_address,
	    "Friends of R2P\nPhnom Penh");
	assert_string_equal(conf->smtp.username, "u");
	assert_string_equal(conf->smtp.password_file, "/nonexistent/pw");
	assert_int_equal(conf->smtp.tls, CONFIG_TLS_STARTTLS);
	assert_int_equal(conf->smtp.connections, 8);
	assert_int_equal(conf->smtp.rate_per_second, 5);
	assert_int_equal(conf->smtp.rate_per_day, 10000);
	assert_int_equal(conf->smtp.connect_timeout, 120);
	assert_int_equal(conf->smtp.response_timeout, 90);
	assert_int_equal(conf->smtp.low_speed_limit, 1024);
	assert_int_equal(conf->smtp.low_speed_time, 0);
	assert_string_equal(conf->http.base_url, "http://127.0.0.1:8025/h");
	assert_string_equal(conf->http.listen_host, "::1");
	assert_int_equal(conf->http.listen_port, 9000);
	assert_int_equal(conf->http.token_expiry, 14 * 86400);
	assert_int_equal(conf->http.max_body, 1048576);
	assert_int_equal(conf->http.connection_timeout, 30);
	assert_int_equal(conf->delivery.verp, 1);
	assert_string_equal(conf->delivery.bounce_domain, "b.example.org");
	assert_int_equal(conf->delivery.max_age, 86400);
	assert_int_equal(conf->delivery.backoff_initial, 60);
	assert_int_equal(conf->delivery.backoff_max, 3600);
	config_free(conf);
	free(pw);
}

static void
test_syntax_error(void **state)
{
	struct errlist	 errs = ERRLIST_INIT;

	assert_null(load(MINIMAL "log_level = \"info\";\nsmtp = { url = ; };\n",
	    &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msgs[0], ":4: "));
	assert_int_equal(strncmp(errs.msgs[0], conf_path, strlen(conf_path)),
	    0);
	errlist_free(&errs);
}

static void
test_not_a_file(void **state)
{
	struct errlist	 errs = ERRLIST_INIT;
	char		*want = xsprintf("%s: not a regular file", tmpdir);

	assert_null(config_load(tmpdir, &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0], want);
	errlist_free(&errs);
	free(want);
}

static void
test_include(void **state)
{
	struct errlist	 errs = ERRLIST_INIT;
	char		*inc = xsprintf("%s/smtp.conf", tmpdir);

	/* An error in an included file names that file and its line. */
	write_file(inc, "\nsmtp = { tls = \"never\"; };\n", 0644);
	assert_null(load(MINIMAL "@include \"smtp.conf\"\n", &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msgs[0], "smtp.conf:2: smtp.tls must be"));
	errlist_free(&errs);
	free(inc);
}

static void
test_missing_file(void **state)
{
	struct errlist	 errs = ERRLIST_INIT;
	char		*path = xsprintf("%s/none.conf", tmpdir);
	char		*want = xsprintf("%s: No such file or directory", path);

	assert_null(config_load(path, &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0], want);
	errlist_free(&errs);
	free(path);
	free(want);
}

static void
test_unknown_key(void **state)
{
	expect_errors(MINIMAL
	    "smtp = {\n"
	    "  conections = 3;\n"		/* 4: a sibling near miss */
	    "  rate = { per_mintue = 3; };\n"	/* 5: inside a subgroup */
	    "  frobnicate = 1;\n"		/* 6: nothing close */
	    "};\n"
	    "connections = 5;\n"		/* 8: the wrong group */
	    "smpt = { url = \"x\"; };\n",	/* 9: a group misspelt */
	    4, "unknown key smtp.conections (did you mean smtp.connections?)",
	    5, "unknown key smtp.rate.per_mintue (did you mean "
	    "smtp.rate.per_minute?)",
	    6, "unknown key smtp.frobnicate",
	    8, "unknown key connections (did you mean smtp.connections?)",
	    9, "unknown group smpt (did you mean smtp?)",
	    0);
}

static void
test_wrong_type(void **state)
{
	expect_errors(MINIMAL
	    "smtp = {\n"
	    "  connections = \"4\";\n"
	    "  url = 25;\n"
	    "  rate = 5;\n"
	    "};\n"
	    "delivery = { verp = 1; max_age = 1.5; };\n"
	    "templates = [\"a\"];\n",
	    4, "smtp.connections must be an integer, not a string",
	    5, "smtp.url must be a string, not an integer",
	    6, "smtp.rate must be a group (smtp.rate = { ... };), not an "
	    "integer",
	    8, "delivery.verp must be a boolean (true or false), not an "
	    "integer",
	    8, "delivery.max_age must be a duration (seconds, or a string "
	    "such as \"15m\"), not a decimal number",
	    9, "templates must be a string, not an array",
	    0);
}

static void
test_out_of_range(void **state)
{
	expect_errors("sender = { from_address = \"a@b.org\"; };\n"
	    "http = { base_url = \"https://b.org\"; };\n"
	    "smtp = { connections = 0; messages_per_connection = -1;\n"
	    "  timeout = { response = \"2h\"; connect = \"5x\"; }; };\n"
	    "delivery = { max_age = 60; batch_size = \"32M\"; };\n",
	    3, "smtp.connections must be from 1 to 100, not 0",
	    3, "smtp.messages_per_connection must be from 0 to 1000000, "
	    "not -1",
	    4, "smtp.timeout.response must be from 1s to 1h, not 2h",
	    4, "smtp.timeout.connect \"5x\" is not a duration (seconds, or "
	    "a string such as \"15m\")",
	    5, "delivery.max_age must be from 1h to 30d, not 1m",
	    5, "delivery.batch_size must be an integer, not a string",
	    0);
}

static void
test_big_integer(void **state)
{
	/* libconfig 1.5 wraps it to 1215752191 without a word. */
	expect_errors(MINIMAL
	    "smtp = { connections = 99999999999; };\n"
	    "delivery = { batch_size = 10L; max_age = 99999999999L; };\n",
	    3, "smtp.connections must be from 1 to 100, not 99999999999",
	    4, "delivery.max_age must be from 1h to 30d, not 99999999999s",
	    0);
}

static void
test_bad_enum(void **state)
{
	expect_errors(MINIMAL
	    "smtp = { tls = \"sometimes\"; };\n"
	    "log_level = \"loud\";\n",
	    3, "smtp.tls must be \"auto\", \"none\", \"starttls\", "
	    "\"implicit\" or \"opportunistic\", not \"sometimes\"",
	    4, "log_level must be \"error\", \"warning\", \"notice\", "
	    "\"info\" or \"debug\", not \"loud\"",
	    0);
}

static void
test_missing_required(void **state)
{
	/* The line of the enclosing group when there is one, else 1. */
	expect_errors("log_level = \"info\";\n"
	    "sender = {\n"
	    "  from_name = \"x\";\n"
	    "};\n",
	    1, "http.base_url is required",
	    2, "sender.from_address is required",
	    0);
}

static void
test_several_errors(void **state)
{
	/* Every error at once, in line order, the file refused. */
	expect_errors("sender = {\n"
	    "  from_address = \"no-at-sign\";\n"
	    "};\n"
	    "smtp = { tls = \"maybe\"; connections = 1000; };\n"
	    "http = {\n"
	    "  base_url = \"ftp://x\";\n"
	    "  listen = \"127.0.0.1\";\n"
	    "  secret_fil = \"s\";\n"
	    "};\n"
	    "delivery = { backoff_initial = \"2h\"; backoff_max = \"1h\"; };\n",
	    2, "sender.from_address \"no-at-sign\" is not an address: "
	    "no @",
	    4, "smtp.tls must be \"auto\", \"none\", \"starttls\", "
	    "\"implicit\" or \"opportunistic\", not \"maybe\"",
	    4, "smtp.connections must be from 1 to 100, not 1000",
	    6, "http.base_url \"ftp://x\" must start with https:// (or "
	    "http://)",
	    7, "http.listen \"127.0.0.1\" needs a port: \"ADDRESS:PORT\"",
	    8, "unknown key http.secret_fil (did you mean "
	    "http.secret_file?)",
	    10, "delivery.backoff_initial (7200s) is longer than "
	    "delivery.backoff_max (3600s)",
	    0);
}

static void
test_strings_checked(void **state)
{
	expect_errors("sender = { from_address = \"a@example.org\";\n"
	    "  from_name = \"Evil\\nBcc: x@y\";\n"
	    "  reply_to = \"\"; };\n"
	    "smtp = { url = \"smtp://u:p@mail.example.org\"; };\n",
	    1, "http.base_url is required",
	    2, "sender.from_name holds a control character (a newline?)",
	    3, "sender.reply_to must not be empty (comment it out to use "
	    "the default)",
	    4, "smtp.url \"smtp://u:p@mail.example.org\" must not hold "
	    "credentials: use smtp.username and smtp.password_file",
	    0);
}

static void
test_tls(void **state)
{
	struct config	*conf;

	conf = load_ok(MINIMAL "smtp = { url = \"smtps://mail.example.org\"; };\n");
	assert_int_equal(conf->smtp.tls, CONFIG_TLS_IMPLICIT);
	config_free(conf);
	conf = load_ok(MINIMAL "smtp = { url = \"smtp://[::1]:2525\"; };\n");
	assert_int_equal(conf->smtp.tls, CONFIG_TLS_NONE);
	config_free(conf);
	conf = load_ok(MINIMAL "smtp = { tls = \"starttls\"; };\n");
	assert_int_equal(conf->smtp.tls, CONFIG_TLS_STARTTLS);
	config_free(conf);

	expect_errors(MINIMAL
	    "smtp = { url = \"smtp://mail.example.org\";\n"
	    "  tls = \"implicit\"; };\n",
	    4, "smtp.tls = \"implicit\" needs an smtps:// url, not "
	    "smtp://mail.example.org",
	    0);
	expect_errors(MINIMAL
	    "smtp = { url = \"smtp://mail.example.org\"; tls = \"none\";\n"
	    "  username = \"u\"; password_file = \"/nonexistent\"; };\n",
	    3, "smtp.tls = \"none\" could send the SMTP password in clear "
	    "text to mail.example.org: use \"starttls\" or an smtps:// url",
	    0);
	conf = load_ok(MINIMAL "smtp = { tls = \"opportunistic\"; };\n");
	assert_int_equal(conf->smtp.tls, CONFIG_TLS_OPPORTUNISTIC);
	config_free(conf);
	expect_errors(MINIMAL
	    "smtp = { url = \"smtp://mail.example.org\";\n"
	    "  tls = \"opportunistic\";\n"
	    "  username = \"u\"; password_file = \"/nonexistent\"; };\n",
	    4, "smtp.tls = \"opportunistic\" could send the SMTP password in "
	    "clear text to mail.example.org: use \"starttls\" or an smtps:// "
	    "url", 0);
}

static void
test_secret_mode_in_config(void **state)
{
	char	*s = xsprintf("%s/secret", tmpdir), *msg;
	struct errlist errs = ERRLIST_INIT;
	struct config *conf;

	write_file(s, "key\n", 0644);
	assert_null(conf = load("sender = { from_address = \"a@b.org\"; };\n"
	    "http = { base_url = \"https://b.org\";\n"
	    "  secret_file = \"secret\"; };\n", &errs));
	assert_int_equal(errs.n, 1);
	msg = at(3, "");
	assert_int_equal(strncmp(errs.msgs[0], msg, strlen(msg)), 0);
	assert_non_null(strstr(errs.msgs[0], "chmod 600"));
	assert_non_null(strstr(errs.msgs[0], "readable by group and others"));
	free(msg);
	errlist_free(&errs);

	/* 0600 is accepted; the relative path is resolved. */
	assert_int_equal(chmod(s, 0600), 0);
	conf = load_ok("sender = { from_address = \"a@b.org\"; };\n"
	    "http = { base_url = \"https://b.org\";\n"
	    "  secret_file = \"secret\"; };\n");
	assert_string_equal(conf->http.secret_file, s);
	config_free(conf);

	/* A missing secret file is not an error for config_load. */
	conf = load_ok("sender = { from_address = \"a@b.org\"; };\n"
	    "http = { base_url = \"https://b.org\";\n"
	    "  secret_file = \"not-there\"; };\n");
	config_free(conf);
	free(s);
}

static void
test_read_secret(void **state)
{
	char	*s = xsprintf("%s/secret", tmpdir), *out, *cause;

	write_file(s, "hunter2\n", 0644);
	assert_int_equal(config_read_secret(s, &out, &cause), -1);
	assert_null(out);
	assert_non_null(strstr(cause, "chmod 600"));
	assert_non_null(strstr(cause, "mode 0644"));
	free(cause);

	write_file(s, "hunter2\n", 0620);
	assert_int_equal(config_read_secret(s, &out, &cause), -1);
	assert_non_null(strstr(cause, "writable by group"));
	free(cause);

	write_file(s, "hunter2\n", 0600);
	assert_int_equal(config_read_secret(s, &out, &cause), 0);
	assert_string_equal(out, "hunter2");
	freezero_str(out);

	/* Only one newline is stripped. */
	write_file(s, "two\n\n", 0600);
	assert_int_equal(config_read_secret(s, &out, &cause), 0);
	assert_string_equal(out, "two\n");
	freezero_str(out);

	write_file(s, "\n", 0600);
	assert_int_equal(config_read_secret(s, &out, &cause), -1);
	assert_non_null(strstr(cause, "is empty"));
	free(cause);

	assert_int_equal(config_read_secret(tmpdir, &out, &cause), -1);
	assert_non_null(strstr(cause, "not a regular file"));
	free(cause);

	unlink(s);
	assert_int_equal(config_read_secret(s, &out, &cause), -1);
	assert_non_null(strstr(cause, "No such file"));
	free(cause);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_applied),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_values_set),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_big_integer),
		cmocka_unit_test(test_bad_enum),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_strings_checked),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_secret_mode_in_config),
		cmocka_unit_test(test_read_secret),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
