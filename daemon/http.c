/* The web endpoints of heraldd, served by libmicrohttpd. */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "archive.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "mustache.h"
#include "render.h"
#include "store.h"
#include "text.h"
#include "token.h"
#include "value.h"
#include "xmalloc.h"

/* The pages of templates/web/, each a child of layout.mustache. */
enum http_page {
	PAGE_LAYOUT,
	PAGE_ERROR,
	PAGE_UNSUBSCRIBE,
	PAGE_UNSUBSCRIBED,
	PAGE_SUBSCRIBE,
	PAGE_SUBSCRIBED,
	PAGE_CONFIRM,
	PAGE_CONFIRMED,
	PAGE_ARCHIVE,
	NPAGES
};

static const char *const http_page_names[NPAGES] = {
	"layout", "error", "unsubscribe", "unsubscribed", "subscribe",
	"subscribed", "confirm", "confirmed", "archive",
};

/* The languages of the pages; strings.conf has a group for each. */
static const char *const http_langs[] = { "en", "km" };
#define NLANGS	(sizeof(http_langs) / sizeof(http_langs[0]))

/* Routes, for the metrics' path label. */
enum http_route {
	ROUTE_OTHER, ROUTE_HEALTHZ, ROUTE_METRICS, ROUTE_U, ROUTE_S, ROUTE_C,
	ROUTE_A, ROUTE_FEED, NROUTES
};

static const char *const http_route_names[NROUTES] = {
	"other", "/healthz", "/metrics", "/u", "/s", "/c", "/a",
	"/a/feed.atom",
};

/* Status codes counted by the metrics; anything else counts as 0. */
static const unsigned http_codes[] = {
	200, 204, 301, 303, 400, 404, 405, 409, 410, 413, 429, 500, 503, 0
};
#define NCODES	(sizeof(http_codes) / sizeof(http_codes[0]))

/*
 * What a configuration gives the web side, loaded whole and swapped on
 * reload; a request holds a reference for as long as it runs.
 */
struct http_site {
	int			 refs;
	char			*base_url;
	char			*templates;	/* templates/ (issues too) */
	unsigned char		*key;
	size_t			 keylen;
	int			 token_expiry;
	size_t			 max_body;
	int			 per_ip;
	int			 per_address;
	int			 trust_proxy;
	char			*relay;		/* host of smtp.url */
	char			*from_address;
	char			*from_name;
	char			*reply_to;
	char			*domain;
	char			*bounce_domain;
	char			*postal_address;
	struct mustache_tmpl	*pages[NPAGES];
	struct value		*strings[NLANGS];	/* owned by tctx */
	/*
	 * { "t": strings[i] }: the bottom of every page's context stack,
	 * so that a request does not copy the strings.
	 */
	struct value		*tctx[NLANGS];
};

/* One client address's subscribe requests: a bucket refilled hourly. */
struct http_ipslot {
	char		ip[64];
	double		tokens;
	int64_t		last_ms;
};
#define IPSLOTS		4096

/* Archived pages kept in memory: a sent issue never changes. */
struct http_cached {
	char		*key;		/* "list/id/lang" or "list/feed" */
	char		*body;
	size_t		 len;
	char		*title;
	int64_t		 made_ms;
	int64_t		 used;
};
#define CACHESLOTS	32
#define FEED_TTL_MS	60000

struct http {
	struct MHD_Daemon	*mhd;
	int			 fd;		/* the listening socket */
	int			 wakefd;
	char			*dbpath;
	pthread_key_t		 storekey;	/* a store per thread */
	pthread_mutex_t		 lock;		/* site, ips, cache */
	struct http_site	*site;
	struct http_ipslot	*ips;
	struct http_cached	 cache[CACHESLOTS];
	int64_t			 cacheclock;
	int64_t			 started;
	unsigned long		 counts[NROUTES][NCODES];	/* atomic */
};

/* What a request carries between the calls of the access handler. */
struct http_req {
	struct buf	 body;
	int		 too_big;
	int		 route;
};

/*
 * How far below the sending loop the web threads run (nice steps): under
 * a flood of requests the CPU goes to delivery first.
 */
#define HTTP_NICE	10

/* A string value that takes s. */
static struct value *
http_vstr(char *s)
{
	return value_string_take(s, strlen(s));
}

static int64_t
http_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
http_site_free(struct http_site *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < NPAGES; i++)
		mustache_free(s->pages[i]);
	for (i = 0; i < NLANGS; i++)
		value_free(s->tctx[i] != NULL ? s->tctx[i] : s->strings[i]);
	if (s->key != NULL) {
		explicit_bzero(s->key, s->keylen);
		free(s->key);
	}
	free(s->base_url);
	free(s->templates);
	free(s->relay);
	free(s->from_address);
	free(s->from_name);
	free(s->reply_to);
	free(s->domain);
	free(s->bounce_domain);
	free(s->postal_address);
	free(s);
}

static char *
http_strdup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/*
 * The page strings: strings.conf has one group per language, each a list
 * of name = "text" settings.  A language missing a string gets English.
 */
static int
http_load_strings(struct http_site *s, const char *dir, char **cause)
{
	config_t		 cf;
	config_setting_t	*g, *e;
	char			*path;
	const char		*str;
	size_t			 i;
	int			 j, n;

	xasprintf(&path, "%s/strings.conf", dir);
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			xasprintf(cause, "%s: cannot read it", path);
		else
			xasprintf(cause, "%s:%d: %s", path,
			    config_error_line(&cf), config_error_text(&cf));
		goto fail;
	}
	for (i = 0; i < NLANGS; i++) {
		s->strings[i] = value_map();
		if ((g = config_lookup(&cf, http_langs[i])) == NULL ||
		    !config_setting_is_group(g)) {
			xasprintf(cause, "%s: no group \"%s\"", path,
			    http_langs[i]);
			goto fail;
		}
		n = config_setting_length(g);
		for (j = 0; j < n; j++) {
			e = config_setting_get_elem(g, j);
			if ((str = config_setting_get_string(e)) == NULL) {
				xasprintf(cause, "%s:%d: %s.%s is not a string",
				    path, config_setting_source_line(e),
				    http_langs[i], config_setting_name(e));
				goto fail;
			}
			value_map_set(s->strings[i], config_setting_name(e),
			    value_cstring(str));
		}
	}
	/* Fill the gaps of every other language with English. */
	g = config_lookup(&cf, http_langs[0]);
	n = config_setting_length(g);
	for (i = 1; i < NLANGS; i++)
		for (j = 0; j < n; j++) {
			e = config_setting_get_elem(g, j);
			if (value_map_get(s->strings[i],
			    config_setting_name(e)) == NULL)
				value_map_set(s->strings[i],
				    config_setting_name(e), value_cstring(
				    config_setting_get_string(e)));
		}
	for (i = 0; i < NLANGS; i++) {
		s->tctx[i] = value_map();
		value_map_set(s->tctx[i], "t", s->strings[i]);
	}
	config_destroy(&cf);
	free(path);
	return 0;
fail:
	config_destroy(&cf);
	free(path);
	return -1;
}

static struct http_site *
http_site_load(const struct config *conf, char **cause)
{
	struct http_site	*s;
	char			*dir = NULL, *path = NULL, *src = NULL, *k = NULL;
	size_t			 i, len;

	s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->base_url = xstrdup(conf->http.base_url);
	s->templates = xstrdup(conf->templates);
	s->token_expiry = conf->http.token_expiry;
	s->max_body = (size_t)conf->http.max_body;
	s->per_ip = conf->http.subscribes_per_ip_per_hour;
	s->per_address = conf->http.subscribes_per_address_per_day;
	s->trust_proxy = conf->http.trust_proxy;
	if ((s->relay = config_url_host(conf->smtp.url)) == NULL)
		s->relay = xstrdup(conf->smtp.url);
	s->from_address = http_strdup(conf->sender.from_address);
	s->from_name = http_strdup(conf->sender.from_name);
	s->reply_to = http_strdup(conf->sender.reply_to);
	s->domain = http_strdup(conf->sender.message_id_domain);
	s->bounce_domain = http_strdup(conf->delivery.bounce_domain);
	s->postal_address = http_strdup(conf->sender.postal_address);
	if (config_read_secret(conf->http.secret_file, &k, cause) != 0)
		goto fail;
	s->keylen = strlen(k);
	s->key = (unsigned char *)k;

	xasprintf(&dir, "%s/web", conf->templates);
	for (i = 0; i < NPAGES; i++) {
		xasprintf(&path, "%s/%s.mustache", dir, http_page_names[i]);
		if (render_template_read(path, &src, &len, cause) != 0)
			goto fail;
		if ((s->pages[i] = mustache_parse(path, src, len,
		    cause)) == NULL)
			goto fail;
		free(src);
		src = NULL;
		free(path);
		path = NULL;
	}
	if (http_load_strings(s, dir, cause) != 0)
		goto fail;
	free(dir);
	return s;
fail:
	free(src);
	free(path);
	free(dir);
	http_site_free(s);
	return NULL;
}

static struct http_site *
http_site_get(struct http *h)
{
	struct http_site	*s;

	pthread_mutex_lock(&h->lock);
	s = h->site;
	s->refs++;
	pthread_mutex_unlock(&h->lock);
	return s;
}

static void
http_site_put(struct http *h, struct http_site *s)
{
	int	last;

	pthread_mutex_lock(&h->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (last)
		http_site_free(s);
}

static void
http_store_close(void *arg)
{
	store_close(arg);
}

/* This thread's database connection, opened on first use. */
static struct store *
http_store(struct http *h)
{
	struct store	*st;
	char		*cause = NULL;

	if ((st = pthread_getspecific(h->storekey)) != NULL)
		return st;
	if ((st = store_open(h->dbpath, &cause)) == NULL) {
		log_warnx("web: %s", cause);
		free(cause);
		return NULL;
	}
	/* Web requests read a few rows: a small page cache will do. */
	if (store_set_cache(st, 1000, &cause) != 0) {
		log_warnx("web: %s", cause);
		free(cause);
	}
	pthread_setspecific(h->storekey, st);
	return st;
}

/*
 * Once per web thread: lower its priority by HTTP_NICE.  Linux applies
 * setpriority() to the one thread whose id it is given.
 */
static void
http_thread_init(void)
{
#ifdef __linux__
	static __thread int	 done;
	pid_t			 tid;
	int			 prio;

	if (done)
		return;
	done = 1;
	tid = gettid();
	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)tid);
	if (errno != 0 || setpriority(PRIO_PROCESS, (id_t)tid,
	    prio + HTTP_NICE > 19 ? 19 : prio + HTTP_NICE) == -1)
		log_debug("web: cannot lower the priority of thread %d: %s",
		    (int)tid, strerror(errno));
#endif
}

/* Tell the dispatcher that mail was queued. */
static void
http_wake(struct http *h)
{
	char	c = 'w';

	if (h->wakefd != -1)
		(void)write(h->wakefd, &c, 1);
}

static void
http_count(struct http *h, int route, unsigned code)
{
	size_t	i;

	for (i = 0; i < NCODES - 1; i++)
		if (http_codes[i] == code)
			break;
	__atomic_fetch_add(&h->counts[route][i], 1, __ATOMIC_RELAXED);
}

/* Queue a response with the headers every answer carries. */
static enum MHD_Result
http_send(struct http *h, struct MHD_Connection *c, struct http_req *r,
    unsigned code, const char *ctype, char *body, size_t len, int cacheable,
    const char *csp)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;

	resp = MHD_create_response_from_buffer(len, body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Content-Security-Policy", csp != NULL ?
	    csp : "default-src 'none'; style-src 'unsafe-inline'; "
	    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
	    "base-uri 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cache-Control", cacheable ?
	    "public, max-age=300" : "no-store");
	/* Pages speak the reader's language. */
	if (strncmp(ctype, "text/html", 9) == 0)
		MHD_add_response_header(resp, "Vary", "Accept-Language");
	if (code == 405)
		MHD_add_response_header(resp, "Allow", r->route == ROUTE_U ||
		    r->route == ROUTE_S || r->route == ROUTE_C ?
		    "GET, HEAD, POST" : "GET, HEAD");
	if (code == 429)
		MHD_add_response_header(resp, "Retry-After", "3600");
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	http_count(h, r->route, code);
	return ret;
}

static enum MHD_Result
http_text(struct http *h, struct MHD_Connection *c, struct http_req *r,
    unsigned code, const char *text)
{
	return http_send(h, c, r, code, "text/plain; charset=utf-8",
	    xstrdup(text), strlen(text), 0, NULL);
}

/*
 * The page language: ?lang= first, then the subscriber's, then the best
 * match of Accept-Language, then English.
 */
static size_t
http_lang(struct MHD_Connection *c, const char *pref)
{
	const char	*q, *p, *e, *semi;
	double		 best = 0, w;
	size_t		 i, pick = 0, n;

	if ((q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "lang")) != NULL)
		pref = q;
	if (pref != NULL)
		for (i = 0; i < NLANGS; i++) {
			n = strlen(http_langs[i]);
			if (strncasecmp(pref, http_langs[i], n) == 0 &&
			    (pref[n] == '\0' || pref[n] == '-'))
				return i;
		}
	if ((p = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT_LANGUAGE)) == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		semi = memchr(p, ';', e - p);
		n = (semi != NULL ? semi : e) - p;
		while (n > 0 && p[n - 1] == ' ')
			n--;
		w = 1;
		if (semi != NULL && (q = strstr(semi, "q=")) != NULL && q < e)
			w = strtod(q + 2, NULL);
		for (i = 0; i < NLANGS; i++) {
			size_t l = strlen(http_langs[i]);
			if (n >= l && strncasecmp(p, http_langs[i], l) == 0 &&
			    (n == l || p[l] == '-') && w > best) {
				best = w;
				pick = i;
			}
		}
		p = e;
	}
	return pick;
}

/* A page string, or its name when strings.conf lacks it. */
static const char *
http_str(struct http_site *s, size_t lang, const char *key)
{
	const struct value	*v;

	v = value_path(s->strings[lang], key);
	return v != NULL && v->type == VALUE_STRING ? v->u.str.s : key;
}

/*
 * A map for a page: the language, the links.  The strings ("t") are not
 * in it: http_page puts the site's tctx under it on the stack.
 */
static struct value *
http_context(struct http_site *s, size_t lang, const char *path)
{
	struct value	*ctx;

	ctx = value_map();
	value_map_set(ctx, "lang", value_cstring(http_langs[lang]));
	value_map_set(ctx, "dir", value_cstring("ltr"));
	value_map_set(ctx, "base_url", value_cstring(s->base_url));
	if (path != NULL) {
		value_map_set(ctx, "url_en", http_vstr(xsprintf(
		    "%s%s?lang=en", s->base_url, path)));
		value_map_set(ctx, "url_km", http_vstr(xsprintf(
		    "%s%s?lang=km", s->base_url, path)));
	}
	if (s->postal_address != NULL)
		value_map_set(ctx, "postal_address",
		    value_cstring(s->postal_address));
	return ctx;
}

static const struct mustache_tmpl *
http_partial(void *arg, const char *name)
{
	struct http_site	*s = arg;
	size_t			 i;

	for (i = 0; i < NPAGES; i++)
		if (strcmp(http_page_names[i], name) == 0)
			return s->pages[i];
	return NULL;
}

/* Render page with ctx (freed) and answer with it. */
static enum MHD_Result
http_page(struct http *h, struct http_site *s, struct MHD_Connection *c,
    struct http_req *r, unsigned code, enum http_page page,
    struct value *ctx)
{
	const struct value	*stack[2], *v;
	struct buf		 b;
	char			*cause = NULL;
	size_t			 len, lang = 0, i;

	/* The strings of the page's language, under ctx. */
	if ((v = value_map_get(ctx, "lang")) != NULL &&
	    v->type == VALUE_STRING)
		for (i = 0; i < NLANGS; i++)
			if (strcmp(v->u.str.s, http_langs[i]) == 0)
				lang = i;
	buf_init(&b);
	stack[0] = s->tctx[lang];
	stack[1] = ctx;
	if (mustache_render(s->pages[page], stack, 2, 0, http_partial, s, &b,
	    &cause) != 0) {
		log_warnx("web: %s", cause);
		free(cause);
		buf_free(&b);
		value_free(ctx);
		return http_text(h, c, r, 500, "internal error\n");
	}
	value_free(ctx);
	len = b.len;
	return http_send(h, c, r, code, "text/html; charset=utf-8",
	    buf_steal(&b), len, 0, NULL);
}

/* An error page: 404, 405, 410, 413, 429, 500... in the page language. */
static enum MHD_Result
http_error(struct http *h, struct http_site *s, struct MHD_Connection *c,
    struct http_req *r, unsigned code, const char *what, size_t lang)
{
	struct value	*ctx, *msg;
	char		 key[32];

	ctx = http_context(s, lang, NULL);
	snprintf(key, sizeof(key), "error_%u", code);
	if ((msg = value_path(s->strings[lang], key)) == NULL)
		msg = value_path(s->strings[lang], "error_500");
	value_map_set(ctx, "code", value_number(code));
	if (msg != NULL)
		value_map_set(ctx, "message", value_copy(msg));
	if (what != NULL)
		value_map_set(ctx, "detail", value_cstring(what));
	return http_page(h, s, c, r, code, PAGE_ERROR, ctx);
}

/* ---- forms ---- */

static int
http_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * The value of field name in an application/x-www-form-urlencoded body,
 * decoded; NULL when absent.  Malformed escapes are kept as they are.
 */
static char *
http_form_get(const char *body, size_t len, const char *name)
{
	const char	*p = body, *end = body + len, *amp, *eq;
	size_t		 nlen = strlen(name);
	struct buf	 b;
	int		 hi, lo;

	while (p < end) {
		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		eq = memchr(p, '=', amp - p);
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			buf_init(&b);
			for (p = eq + 1; p < amp; p++) {
				if (*p == '+')
					buf_addc(&b, ' ');
				else if (*p == '%' && amp - p >= 3 &&
				    (hi = http_hexval(p[1])) >= 0 &&
				    (lo = http_hexval(p[2])) >= 0) {
					buf_addc(&b, (char)(hi * 16 + lo));
					p += 2;
				} else
					buf_addc(&b, *p);
			}
			buf_addc(&b, '\0');
			return buf_steal(&b);
		}
		p = amp + 1;
	}
	return NULL;
}

/* Trim spaces at both ends, in place. */
static char *
http_trim(char *s)
{
	size_t	n;

	if (s == NULL)
		return NULL;
	while (*s == ' ' || *s == '\t')
		memmove(s, s + 1, strlen(s));
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* ---- limits ---- */

/* The client: the peer, or behind a trusted proxy X-Forwarded-For. */
static void
http_client(struct http_site *s, struct MHD_Connection *c, char *out,
    size_t outlen)
{
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr		*sa;
	const char			*xff, *last;
	int				 loop = 0;
	size_t				 n;

	snprintf(out, outlen, "unknown");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)sa;
			inet_ntop(AF_INET, &in->sin_addr, out, outlen);
			loop = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)sa;
			inet_ntop(AF_INET6, &in6->sin6_addr, out, outlen);
			loop = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		}
	}
	if (!loop || !s->trust_proxy || (xff = MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "X-Forwarded-For")) == NULL)
		return;
	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	while (*last == ' ')
		last++;
	n = strcspn(last, " ");
	if (n > 0 && n < outlen) {
		memcpy(out, last, n);
		out[n] = '\0';
	}
}

static uint32_t
http_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * Take one subscribe request from ip's bucket, which holds per_ip and
 * refills at per_ip an hour.  0 when the bucket is empty.  The table is
 * small and fixed: a newcomer takes the slot of a full (idle) bucket.
 */
static int
http_ip_take(struct http *h, const char *ip, int per_ip)
{
	struct http_ipslot	*slot = NULL, *e;
	int64_t			 now = http_now_ms();
	uint32_t		 hv;
	size_t			 i;
	int			 ok;

	if (per_ip == 0)
		return 1;
	hv = http_hash(ip);
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < 8; i++) {
		e = &h->ips[(hv + i) % IPSLOTS];
		if (strcmp(e->ip, ip) == 0) {
			slot = e;
			break;
		}
	}
	if (slot != NULL) {
		slot->tokens += (double)(now - slot->last_ms) * per_ip /
		    3600000.0;
		if (slot->tokens > per_ip)
			slot->tokens = per_ip;
	} else {
		/* An empty slot, else one whose bucket has refilled. */
		for (i = 0; i < 8 && slot == NULL; i++) {
			e = &h->ips[(hv + i) % IPSLOTS];
			if (e->ip[0] == '\0' || e->tokens + (double)(now -
			    e->last_ms) * per_ip / 3600000.0 >= per_ip)
				slot = e;
		}
		if (slot == NULL) {
			/* Every probe busy: count against the first one. */
			slot = &h->ips[hv % IPSLOTS];
		} else {
			snprintf(slot->ip, sizeof(slot->ip), "%s", ip);
			slot->tokens = per_ip;
		}
	}
	slot->last_ms = now;
	ok = slot->tokens >= 1;
	if (ok)
		slot->tokens -= 1;
	pthread_mutex_unlock(&h->lock);
	return ok;
}

/* ---- handlers ---- */

static int
http_store_alive(struct http *h)
{
	struct store	*st;

	if ((st = http_store(h)) == NULL)
		return 0;
	return store_schema_version(st) >= 0;
}

static enum MHD_Result
http_healthz(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	if (!http_store_alive(h))
		return http_text(h, c, r, 503, "database not answering\n");
	return http_text(h, c, r, 200, "ok\n");
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
http_label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_addc(b, '\\');
		if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
}

static enum MHD_Result
http_metrics(struct http *h, struct http_site *s, struct MHD_Connection *c,
    struct http_req *r)
{
	struct store		*st;
	struct store_count	*v = NULL;
	struct store_mailq_counts mq;
	struct buf		 b;
	char			*cause = NULL;
	size_t			 n = 0, i, j;
	int64_t			 depth = 0;
	unsigned long		 cnt;
	size_t			 len;

	if ((st = http_store(h)) == NULL)
		return http_text(h, c, r, 503, "database not answering\n");
	buf_init(&b);
	buf_adds(&b, "# HELP herald_build_info The running version.\n"
	    "# TYPE herald_build_info gauge\n");
	buf_printf(&b, "herald_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	buf_adds(&b, "# HELP herald_start_time_seconds When heraldd "
	    "started, in Unix time.\n# TYPE herald_start_time_seconds gauge\n");
	buf_printf(&b, "herald_start_time_seconds %lld\n",
	    (long long)h->started);

	if (store_delivery_counts(st, &v, &n, &cause) != 0)
		goto fail;
	buf_adds(&b, "# HELP herald_messages Messages of each issue by "
	    "delivery state (sent, deferred, failed, pending, sending).\n"
	    "# TYPE herald_messages gauge\n");
	for (i = 0; i < n; i++) {
		buf_printf(&b, "herald_messages{issue=\"%lld\",list=\"",
		    (long long)v[i].issue);
		http_label(&b, v[i].list);
		buf_adds(&b, "\",relay=\"");
		http_label(&b, s->relay);
		buf_printf(&b, "\",state=\"%s\"} %lld\n", v[i].state,
		    (long long)v[i].n);
		if (strcmp(v[i].state, "pending") == 0 ||
		    strcmp(v[i].state, "deferred") == 0 ||
		    strcmp(v[i].state, "sending") == 0)
			depth += v[i].n;
	}
	store_counts_free(v, n);
	v = NULL;
	n = 0;
	if (store_mailq_counts(st, &mq, &cause) != 0)
		goto fail;
	buf_adds(&b, "# HELP herald_queue_depth Messages not yet sent "
	    "(pending, deferred or sending): newsletters, and confirmation "
	    "emails.\n# TYPE herald_queue_depth gauge\n");
	buf_printf(&b, "herald_queue_depth{queue=\"newsletter\"} %lld\n",
	    (long long)depth);
	buf_printf(&b, "herald_queue_depth{queue=\"confirm\"} %lld\n",
	    (long long)(mq.pending + mq.deferred + mq.sending));
	buf_adds(&b, "# HELP herald_confirmations Confirmation emails by "
	    "state.\n# TYPE herald_confirmations gauge\n");
	buf_printf(&b, "herald_confirmations{state=\"sent\"} %lld\n"
	    "herald_confirmations{state=\"deferred\"} %lld\n"
	    "herald_confirmations{state=\"failed\"} %lld\n"
	    "herald_confirmations{state=\"pending\"} %lld\n",
	    (long long)mq.sent, (long long)mq.deferred, (long long)mq.failed,
	    (long long)mq.pending);

	if (store_subscription_counts(st, &v, &n, &cause) != 0)
		goto fail;
	buf_adds(&b, "# HELP herald_subscribers Subscriptions by list and "
	    "state.\n# TYPE herald_subscribers gauge\n");
	for (i = 0; i < n; i++) {
		buf_adds(&b, "herald_subscribers{list=\"");
		http_label(&b, v[i].list);
		buf_printf(&b, "\",state=\"%s\"} %lld\n", v[i].state,
		    (long long)v[i].n);
	}
	store_counts_free(v, n);
	v = NULL;

	buf_adds(&b, "# HELP herald_http_requests_total HTTP requests by "
	    "path and status.\n# TYPE herald_http_requests_total counter\n");
	/* This request is not counted yet: it is being answered. */
	for (i = 0; i < NROUTES; i++)
		for (j = 0; j < NCODES; j++) {
			cnt = __atomic_load_n(&h->counts[i][j],
			    __ATOMIC_RELAXED);
			if (cnt == 0)
				continue;
			buf_printf(&b, "herald_http_requests_total{path=\"%s\","
			    "code=\"%u\"} %lu\n", http_route_names[i],
			    http_codes[j], cnt);
		}
	len = b.len;
	return http_send(h, c, r, 200, "text/plain; version=0.0.4; "
	    "charset=utf-8", buf_steal(&b), len, 0, NULL);
fail:
	log_warnx("web: metrics: %s", cause);
	free(cause);
	buf_free(&b);
	return http_text(h, c, r, 503, "database not answering\n");
}

/* Check token and fetch what it names; 0, or the status to answer. */
static unsigned
http_target(struct http *h, struct http_site *s, const char *token,
    int purpose, time_t max_age, struct store_target *t, struct token *tok)
{
	struct store	*st;
	char		*cause = NULL;
	int		 rc;

	memset(t, 0, sizeof(*t));
	if (strlen(token) != TOKEN_LEN)
		return 404;
	rc = token_verify(token, purpose, s->key, s->keylen, time(NULL),
	    max_age, tok);
	if (rc == TOKEN_EXPIRED) {
		/* Authentic but old: say so, and name the list. */
		if (token_verify(token, purpose, s->key, s->keylen,
		    time(NULL), 0, tok) != TOKEN_OK)
			return 404;
		rc = TOKEN_OK;
		if ((st = http_store(h)) == NULL)
			return 503;
		if (store_target_get(st, tok->subscriber, tok->list, t,
		    &cause) != 0) {
			free(cause);
			return 404;
		}
		return 410;
	}
	if (rc != TOKEN_OK)
		return 404;
	if ((st = http_store(h)) == NULL)
		return 503;
	if (store_target_get(st, tok->subscriber, tok->list, t, &cause) != 0) {
		rc = store_errkind(st) == STORE_ENOTFOUND ? 404 : 503;
		if (rc != 404)
			log_warnx("web: %s", cause);
		free(cause);
		return (unsigned)rc;
	}
	return 0;
}

static void
http_target_context(struct value *ctx, const struct store_target *t)
{
	value_map_set(ctx, "email", value_cstring(t->email));
	if (t->name != NULL)
		value_map_set(ctx, "name", value_cstring(t->name));
	value_map_set(ctx, "list_name", value_cstring(t->list_name));
	value_map_set(ctx, "list_title", value_cstring(t->list_title));
	if (t->state != NULL)
		value_map_set(ctx, t->state, value_bool(1));
}

/* /u/TOKEN: GET shows a button, POST unsubscribes (RFC 8058 too). */
static enum MHD_Result
http_unsubscribe(struct http *h, struct http_site *s,
    struct MHD_Connection *c, struct http_req *r, const char *token,
    const char *path, int post)
{
	struct store_target	 t;
	struct token		 tok;
	struct value		*ctx;
	struct store		*st;
	const char		*source;
	char			*cause = NULL, *form;
	unsigned		 code;
	size_t			 lang;
	int			 changed = 0;
	enum MHD_Result		 ret;

	if ((code = http_target(h, s, token, TOKEN_UNSUBSCRIBE, 0, &t,
	    &tok)) != 0) {
		store_target_free(&t);
		return http_error(h, s, c, r, code, NULL, http_lang(c, NULL));
	}
	lang = http_lang(c, t.lang);
	if (post) {
		form = http_form_get(r->body.data, r->body.len,
		    "List-Unsubscribe");
		source = form != NULL && strcmp(form, "One-Click") == 0 ?
		    "one-click" : "web";
		free(form);
		st = http_store(h);
		if (st == NULL || store_web_unsubscribe(st, t.subscriber,
		    t.list, source, time(NULL), &changed, &cause) != 0) {
			log_warnx("web: unsubscribe %s from %s: %s", t.email,
			    t.list_name, cause != NULL ? cause : "no database");
			free(cause);
			store_target_free(&t);
			return http_error(h, s, c, r, 503, NULL, lang);
		}
		if (changed)
			log_info("web: %s unsubscribed from %s (%s)", t.email,
			    t.list_name, source);
		free(t.state);
		t.state = xstrdup("unsubscribed");
	}
	ctx = http_context(s, lang, path);
	http_target_context(ctx, &t);
	value_map_set(ctx, "action", http_vstr(xsprintf("%s%s",
	    s->base_url, path)));
	value_map_set(ctx, "subscribe_url", http_vstr(xsprintf(
	    "%s/s/%s", s->base_url, t.list_name)));
	store_target_free(&t);
	ret = http_page(h, s, c, r, 200, post ? PAGE_UNSUBSCRIBED :
	    PAGE_UNSUBSCRIBE, ctx);
	return ret;
}

/* /c/TOKEN: GET shows a button, POST confirms. */
static enum MHD_Result
http_confirm(struct http *h, struct http_site *s, struct MHD_Connection *c,
    struct http_req *r, const char *token, const char *path, int post)
{
	struct store_target	 t;
	struct token		 tok;
	struct value		*ctx;
	struct store		*st;
	char			*cause = NULL;
	unsigned		 code;
	size_t			 lang;
	int			 changed = 0, refused = 0;

	code = http_target(h, s, token, TOKEN_CONFIRM, s->token_expiry, &t,
	    &tok);
	if (code != 0 && code != 410) {
		store_target_free(&t);
		return http_error(h, s, c, r, code, NULL, http_lang(c, NULL));
	}
	lang = http_lang(c, t.lang);
	if (code == 410) {
		ctx = http_context(s, lang, NULL);
		value_map_set(ctx, "code", value_number(410));
		value_map_set(ctx, "message", value_cstring(http_str(s, lang,
		    "error_410")));
		value_map_set(ctx, "subscribe_url", http_vstr(xsprintf(
		    "%s/s/%s", s->base_url, t.list_name)));
		store_target_free(&t);
		return http_page(h, s, c, r, 410, PAGE_ERROR, ctx);
	}
	if (post) {
		st = http_store(h);
		if (st == NULL || store_web_confirm(st, t.subscriber, t.list,
		    "web", time(NULL), &changed, &cause) != 0) {
			if (st != NULL &&
			    store_errkind(st) == STORE_EREFUSED)
				refused = 1;
			else {
				log_warnx("web: confirm %s on %s: %s", t.email,
				    t.list_name, cause != NULL ? cause :
				    "no database");
				free(cause);
				store_target_free(&t);
				return http_error(h, s, c, r, 503, NULL, lang);
			}
			free(cause);
		}
		if (changed)
			log_info("web: %s confirmed on %s", t.email,
			    t.list_name);
	}
	ctx = http_context(s, lang, path);
	http_target_context(ctx, &t);
	value_map_set(ctx, "action", http_vstr(xsprintf("%s%s",
	    s->base_url, path)));
	value_map_set(ctx, "subscribe_url", http_vstr(xsprintf(
	    "%s/s/%s", s->base_url, t.list_name)));
	value_map_set(ctx, "archive_url", http_vstr(xsprintf(
	    "%s/a/%s/", s->base_url, t.list_name)));
	if (refused)
		value_map_set(ctx, "refused", value_bool(1));
	store_target_free(&t);
	return http_page(h, s, c, r, refused ? 409 : 200, post ?
	    PAGE_CONFIRMED : PAGE_CONFIRM, ctx);
}

/* The subscribe form, with what was typed and what was wrong. */
static enum MHD_Result
http_subscribe_form(struct http *h, struct http_site *s,
    struct MHD_Connection *c, struct http_req *r, const struct store_list *l,
    const char *path, size_t lang, unsigned code, const char *email,
    const char *name, const char *error)
{
	struct value	*ctx;

	ctx = http_context(s, lang, path);
	value_map_set(ctx, "list_name", value_cstring(l->name));
	value_map_set(ctx, "list_title", value_cstring(l->title));
	value_map_set(ctx, "action", http_vstr(xsprintf("%s%s",
	    s->base_url, path)));
	value_map_set(ctx, "archive_url", http_vstr(xsprintf(
	    "%s/a/%s/", s->base_url, l->name)));
	value_map_set(ctx, lang == 1 ? "lang_km" : "lang_en", value_bool(1));
	if (email != NULL)
		value_map_set(ctx, "email", value_cstring(email));
	if (name != NULL)
		value_map_set(ctx, "name", value_cstring(name));
	if (error != NULL)
		value_map_set(ctx, "error", value_cstring(error));
	return http_page(h, s, c, r, code, PAGE_SUBSCRIBE, ctx);
}

/* /s/LIST: GET is the form; POST subscribes with double opt-in. */
static enum MHD_Result
http_subscribe(struct http *h, struct http_site *s, struct MHD_Connection *c,
    struct http_req *r, const char *list, const char *path, int post)
{
	struct store		*st;
	struct store_list	*l;
	struct value		*ctx;
	char			*cause = NULL, *email = NULL, *name = NULL;
	char			*flang = NULL, *trap = NULL, *norm = NULL;
	char			 why[ADDR_WHY_MAX], ip[64];
	char			*msg = NULL;
	const char		*plang = NULL;
	size_t			 lang;
	int			 outcome = -1;
	enum MHD_Result		 ret;

	if (!store_list_name_valid(list))
		return http_error(h, s, c, r, 404, NULL, http_lang(c, NULL));
	if ((st = http_store(h)) == NULL)
		return http_error(h, s, c, r, 503, NULL, http_lang(c, NULL));
	if ((l = store_list_find(st, list, &cause)) == NULL) {
		free(cause);
		return http_error(h, s, c, r, store_errkind(st) ==
		    STORE_ENOTFOUND ? 404 : 503, NULL, http_lang(c, NULL));
	}
	if (post) {
		flang = http_trim(http_form_get(r->body.data, r->body.len,
		    "lang"));
		if (flang != NULL && *flang != '\0')
			plang = flang;
	}
	lang = http_lang(c, plang);
	if (!post) {
		ret = http_subscribe_form(h, s, c, r, l, path, lang, 200, NULL,
		    NULL, NULL);
		goto done;
	}

	email = http_trim(http_form_get(r->body.data, r->body.len, "email"));
	name = http_trim(http_form_get(r->body.data, r->body.len, "name"));
	trap = http_form_get(r->body.data, r->body.len, "website");
	if (name != NULL && *name == '\0') {
		free(name);
		name = NULL;
	}
	if (email == NULL || *email == '\0') {
		ret = http_subscribe_form(h, s, c, r, l, path, lang, 400,
		    NULL, name, http_str(s, lang, "subscribe_no_email"));
		goto done;
	}
	if (addr_check_r(email, &norm, why, sizeof(why)) != 0) {
		xasprintf(&msg, "%s: %s", http_str(s, lang,
		    "subscribe_bad_email"), why);
		ret = http_subscribe_form(h, s, c, r, l, path, lang, 400,
		    email, name, msg);
		goto done;
	}
	if (name != NULL && (text_check_line_r(name, strlen(name), why,
	    sizeof(why)) != 0 || strlen(name) > 200)) {
		xasprintf(&msg, "%s", http_str(s, lang, "subscribe_bad_name"));
		ret = http_subscribe_form(h, s, c, r, l, path, lang, 400,
		    email, NULL, msg);
		goto done;
	}
	http_client(s, c, ip, sizeof(ip));
	if (trap != NULL && *trap != '\0') {
		/* The hidden field only a robot fills: pretend, send nothing. */
		log_info("web: subscribe to %s from %s: robot trap filled; "
		    "ignored", l->name, ip);
	} else if (!http_ip_take(h, ip, s->per_ip)) {
		log_notice("web: subscribe to %s from %s: more than %d an "
		    "hour; refused", l->name, ip, s->per_ip);
		ret = http_error(h, s, c, r, 429, NULL, lang);
		goto done;
	} else if (store_web_subscribe(st, l->name, norm, name,
	    http_langs[lang], "web", time(NULL), s->per_address, &outcome,
	    &cause) != 0) {
		log_warnx("web: subscribe %s to %s: %s", norm, l->name, cause);
		ret = http_error(h, s, c, r, 503, NULL, lang);
		goto done;
	}
	switch (outcome) {
	case STORE_SUBSCRIBE_QUEUED:
		log_info("web: %s asked to join %s from %s; confirmation "
		    "queued", norm, l->name, ip);
		http_wake(h);
		break;
	case STORE_SUBSCRIBE_LIMITED:
		log_notice("web: %s asked to join %s from %s; no more "
		    "confirmations to it today", norm, l->name, ip);
		break;
	case STORE_SUBSCRIBE_CONFIRMED:
		log_info("web: %s joined %s (single opt-in) from %s", norm,
		    l->name, ip);
		break;
	default:
		break;
	}
	/* The same answer whether or not the address was known. */
	ctx = http_context(s, lang, NULL);
	value_map_set(ctx, "list_name", value_cstring(l->name));
	value_map_set(ctx, "list_title", value_cstring(l->title));
	value_map_set(ctx, "email", value_cstring(norm));
	value_map_set(ctx, "archive_url", http_vstr(xsprintf(
	    "%s/a/%s/", s->base_url, l->name)));
	if (strcmp(l->optin, "single") == 0)
		value_map_set(ctx, "single", value_bool(1));
	ret = http_page(h, s, c, r, 200, PAGE_SUBSCRIBED, ctx);
done:
	free(msg);
	free(norm);
	free(email);
	free(name);
	free(flang);
	free(trap);
	free(cause);
	store_list_free(l);
	return ret;
}

/* ---- the archive ---- */

/* A cached body under key, copied; NULL when none (or too old). */
static char *
http_cache_get(struct http *h, const char *key, size_t *len, char **title,
    int64_t ttl_ms)
{
	struct http_cached	*e;
	char			*body = NULL;
	size_t			 i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < CACHESLOTS; i++) {
		e = &h->cache[i];
		if (e->key == NULL || strcmp(e->key, key) != 0)
			continue;
		if (ttl_ms > 0 && http_now_ms() - e->made_ms > ttl_ms)
			break;
		body = xmalloc(e->len + 1);
		memcpy(body, e->body, e->len + 1);
		*len = e->len;
		if (title != NULL)
			*title = http_strdup(e->title);
		e->used = ++h->cacheclock;
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return body;
}

/* Keep a copy of body under key, in place of the least recently used. */
static void
http_cache_put(struct http *h, const char *key, const char *body, size_t len,
    const char *title)
{
	struct http_cached	*e, *old = &h->cache[0];
	size_t			 i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < CACHESLOTS; i++) {
		e = &h->cache[i];
		if (e->key != NULL && strcmp(e->key, key) == 0) {
			old = e;
			break;
		}
		if (e->used < old->used)
			old = e;
	}
	free(old->key);
	free(old->body);
	free(old->title);
	old->key = xstrdup(key);
	old->body = xmalloc(len + 1);
	memcpy(old->body, body, len);
	old->body[len] = '\0';
	old->len = len;
	old->title = http_strdup(title);
	old->made_ms = http_now_ms();
	old->used = ++h->cacheclock;
	pthread_mutex_unlock(&h->lock);
}

static void
http_render_env(struct http_site *s, struct render_env *env)
{
	memset(env, 0, sizeof(*env));
	env->templates = s->templates;
	env->base_url = s->base_url;
	env->from_address = s->from_address;
	env->from_name = s->from_name;
	env->reply_to = s->reply_to;
	env->domain = s->domain;
	env->bounce_domain = s->bounce_domain;
	env->postal_address = s->postal_address;
	env->key = s->key;
	env->keylen = s->keylen;
}

/* The archive's CSP: the issue's own inline styles and images. */
#define ARCHIVE_CSP	"default-src 'none'; style-src 'unsafe-inline'; " \
	"img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'"

/* /a/LIST/: the sent issues, newest first. */
static enum MHD_Result
http_archive_index(struct http *h, struct http_site *s,
    struct MHD_Connection *c, struct http_req *r, const char *list,
    const char *path)
{
	struct store		*st;
	struct store_list	*l;
	struct archive_entry	*v = NULL;
	struct value		*ctx, *items, *it;
	char			*cause = NULL, date[32];
	size_t			 n = 0, i, lang = http_lang(c, NULL);
	time_t			 t;
	struct tm		 tm;

	if (!store_list_name_valid(list))
		return http_error(h, s, c, r, 404, NULL, lang);
	if ((st = http_store(h)) == NULL)
		return http_error(h, s, c, r, 503, NULL, lang);
	if ((l = store_list_find(st, list, &cause)) == NULL) {
		free(cause);
		return http_error(h, s, c, r, store_errkind(st) ==
		    STORE_ENOTFOUND ? 404 : 503, NULL, lang);
	}
	if (archive_entries(st, list, http_langs[lang], &v, &n, &cause) != 0) {
		log_warnx("web: archive of %s: %s", list, cause);
		free(cause);
		store_list_free(l);
		return http_error(h, s, c, r, 503, NULL, lang);
	}
	ctx = http_context(s, lang, path);
	value_map_set(ctx, "list_name", value_cstring(l->name));
	value_map_set(ctx, "list_title", value_cstring(l->title));
	value_map_set(ctx, "subscribe_url", http_vstr(xsprintf(
	    "%s/s/%s", s->base_url, l->name)));
	value_map_set(ctx, "feed_url", http_vstr(xsprintf(
	    "%s/a/%s/feed.atom", s->base_url, l->name)));
	items = value_list();
	for (i = 0; i < n; i++) {
		it = value_map();
		value_map_set(it, "url", http_vstr(xsprintf(
		    "%s/a/%s/%lld", s->base_url, l->name,
		    (long long)v[i].id)));
		value_map_set(it, "subject", value_cstring(v[i].subject));
		if (v[i].preheader != NULL)
			value_map_set(it, "preheader",
			    value_cstring(v[i].preheader));
		t = (time_t)v[i].date;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		value_map_set(it, "date", value_cstring(date));
		value_list_push(items, it);
	}
	value_map_set(ctx, "issues", items);
	if (n > 0)
		value_map_set(ctx, "any", value_bool(1));
	archive_entries_free(v, n);
	store_list_free(l);
	return http_page(h, s, c, r, 200, PAGE_ARCHIVE, ctx);
}

/* /a/LIST/ID: one sent issue, rendered for nobody in particular. */
static enum MHD_Result
http_archive_issue(struct http *h, struct http_site *s,
    struct MHD_Connection *c, struct http_req *r, const char *list,
    int64_t id)
{
	struct render_env	 env;
	struct store		*st;
	struct buf		 b;
	char			*cause = NULL, *key, *prefix, *body, *subject = NULL;
	size_t			 lang = http_lang(c, NULL), len;
	int			 rc;

	xasprintf(&key, "%s/%lld/%s", list, (long long)id, http_langs[lang]);
	if ((body = http_cache_get(h, key, &len, NULL, 0)) != NULL) {
		free(key);
		return http_send(h, c, r, 200, "text/html; charset=utf-8",
		    body, len, 1, ARCHIVE_CSP);
	}
	if ((st = http_store(h)) == NULL) {
		free(key);
		return http_error(h, s, c, r, 503, NULL, lang);
	}
	http_render_env(s, &env);
	xasprintf(&prefix, "%s/a/%s/%lld/", s->base_url, list, (long long)id);
	buf_init(&b);
	if ((rc = archive_issue_html(st, &env, list, id, http_langs[lang],
	    prefix, &b, &subject, &cause)) != 0) {
		if (rc != ARCHIVE_ENOTFOUND)
			log_warnx("web: archive %s/%lld: %s", list,
			    (long long)id, cause);
		free(cause);
		free(prefix);
		free(key);
		buf_free(&b);
		return http_error(h, s, c, r, rc == ARCHIVE_ENOTFOUND ? 404 :
		    500, NULL, lang);
	}
	http_cache_put(h, key, b.data, b.len, subject);
	free(subject);
	free(prefix);
	free(key);
	len = b.len;
	return http_send(h, c, r, 200, "text/html; charset=utf-8",
	    buf_steal(&b), len, 1, ARCHIVE_CSP);
}

/* /a/LIST/ID/NAME: an image of an archived issue. */
static enum MHD_Result
http_archive_image(struct http *h, struct http_site *s,
    struct MHD_Connection *c, struct http_req *r, const char *list,
    int64_t id, const char *name)
{
	struct store	*st;
	unsigned char	*data = NULL;
	char		*ctype = NULL, *cause = NULL, *type;
	size_t		 len = 0;
	enum MHD_Result	 ret;
	int		 rc;

	if ((st = http_store(h)) == NULL)
		return http_error(h, s, c, r, 503, NULL, 0);
	if ((rc = archive_issue_image(st, list, id, name, &data, &len, &ctype,
	    &cause)) != 0) {
		if (rc != ARCHIVE_ENOTFOUND)
			log_warnx("web: archive %s/%lld/%s: %s", list,
			    (long long)id, name, cause);
		free(cause);
		return http_error(h, s, c, r, rc == ARCHIVE_ENOTFOUND ? 404 :
		    500, NULL, http_lang(c, NULL));
	}
	type = ctype;
	ret = http_send(h, c, r, 200, type, (char *)data, len, 1, NULL);
	free(ctype);
	return ret;
}

/* /a/LIST/feed.atom */
static enum MHD_Result
http_archive_feed(struct http *h, struct http_site *s,
    struct MHD_Connection *c, struct http_req *r, const char *list)
{
	struct render_env	 env;
	struct store		*st;
	struct buf		 b;
	char			*cause = NULL, *key, *body;
	size_t			 len;
	int			 rc;

	if (!store_list_name_valid(list))
		return http_error(h, s, c, r, 404, NULL, 0);
	xasprintf(&key, "%s/feed.atom", list);
	if ((body = http_cache_get(h, key, &len, NULL, FEED_TTL_MS)) != NULL) {
		free(key);
		return http_send(h, c, r, 200, "application/atom+xml; "
		    "charset=utf-8", body, len, 1, NULL);
	}
	if ((st = http_store(h)) == NULL) {
		free(key);
		return http_error(h, s, c, r, 503, NULL, 0);
	}
	http_render_env(s, &env);
	buf_init(&b);
	if ((rc = archive_feed(st, &env, list, 20, &b, &cause)) != 0) {
		if (rc != ARCHIVE_ENOTFOUND)
			log_warnx("web: feed of %s: %s", list, cause);
		free(cause);
		free(key);
		buf_free(&b);
		return http_error(h, s, c, r, rc == ARCHIVE_ENOTFOUND ? 404 :
		    500, NULL, http_lang(c, NULL));
	}
	http_cache_put(h, key, b.data, b.len, NULL);
	free(key);
	len = b.len;
	return http_send(h, c, r, 200, "application/atom+xml; charset=utf-8",
	    buf_steal(&b), len, 1, NULL);
}

/* A decimal issue id of at most 18 digits, else -1. */
static int64_t
http_id(const char *s, size_t n)
{
	int64_t	v = 0;
	size_t	i;

	if (n == 0 || n > 18 || s[0] == '0')
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* A redirect to the same path with a slash: /a/LIST -> /a/LIST/. */
static enum MHD_Result
http_redirect(struct http *h, struct http_site *s, struct MHD_Connection *c,
    struct http_req *r, const char *path)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			*to;

	xasprintf(&to, "%s%s/", s->base_url, path);
	resp = MHD_create_response_from_buffer(0, (void *)"",
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Location", to);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	ret = MHD_queue_response(c, 301, resp);
	MHD_destroy_response(resp);
	http_count(h, r->route, 301);
	free(to);
	return ret;
}

/* Every path of the table in DESIGN.md "Links and tokens". */
static enum MHD_Result
http_route(struct http *h, struct http_site *s, struct MHD_Connection *c,
    const char *url, const char *method, struct http_req *r)
{
	const char	*rest, *slash, *slash2;
	char		*list = NULL, *name;
	int		 get, post;
	int64_t		 id;
	enum MHD_Result	 ret;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	post = strcmp(method, "POST") == 0;

	if (strcmp(url, "/healthz") == 0) {
		r->route = ROUTE_HEALTHZ;
		return get ? http_healthz(h, c, r) :
		    http_error(h, s, c, r, 405, NULL, 0);
	}
	if (strcmp(url, "/metrics") == 0) {
		r->route = ROUTE_METRICS;
		return get ? http_metrics(h, s, c, r) :
		    http_error(h, s, c, r, 405, NULL, 0);
	}
	if (strncmp(url, "/u/", 3) == 0 || strncmp(url, "/c/", 3) == 0 ||
	    strncmp(url, "/s/", 3) == 0) {
		r->route = url[1] == 'u' ? ROUTE_U : url[1] == 'c' ? ROUTE_C :
		    ROUTE_S;
		rest = url + 3;
		if (*rest == '\0' || strchr(rest, '/') != NULL) {
			r->route = ROUTE_OTHER;
			return http_error(h, s, c, r, 404, NULL,
			    http_lang(c, NULL));
		}
		if (!get && !post)
			return http_error(h, s, c, r, 405, NULL,
			    http_lang(c, NULL));
		if (r->too_big)
			return http_error(h, s, c, r, 413, NULL,
			    http_lang(c, NULL));
		if (r->route == ROUTE_U)
			return http_unsubscribe(h, s, c, r, rest, url, post);
		if (r->route == ROUTE_C)
			return http_confirm(h, s, c, r, rest, url, post);
		return http_subscribe(h, s, c, r, rest, url, post);
	}
	if (strncmp(url, "/a/", 3) == 0 && url[3] != '\0') {
		r->route = ROUTE_A;
		rest = url + 3;
		if ((slash = strchr(rest, '/')) == NULL) {
			if (!get)
				return http_error(h, s, c, r, 405, NULL, 0);
			return http_redirect(h, s, c, r, url);
		}
		list = xstrndup(rest, slash - rest);
		rest = slash + 1;
		if (!get) {
			ret = http_error(h, s, c, r, 405, NULL,
			    http_lang(c, NULL));
		} else if (*rest == '\0') {
			ret = http_archive_index(h, s, c, r, list, url);
		} else if (strcmp(rest, "feed.atom") == 0) {
			r->route = ROUTE_FEED;
			ret = http_archive_feed(h, s, c, r, list);
		} else if ((slash2 = strchr(rest, '/')) == NULL) {
			if ((id = http_id(rest, strlen(rest))) < 0)
				ret = http_error(h, s, c, r, 404, NULL,
				    http_lang(c, NULL));
			else
				ret = http_archive_issue(h, s, c, r, list, id);
		} else {
			id = http_id(rest, slash2 - rest);
			name = (char *)slash2 + 1;
			if (id < 0 || *name == '\0' || strchr(name, '/') !=
			    NULL || !store_list_name_valid(list))
				ret = http_error(h, s, c, r, 404, NULL,
				    http_lang(c, NULL));
			else
				ret = http_archive_image(h, s, c, r, list, id,
				    name);
		}
		free(list);
		return ret;
	}
	r->route = ROUTE_OTHER;
	/* Browsers ask for it on every site: no icon, and no error. */
	if (strcmp(url, "/favicon.ico") == 0 && get)
		return http_send(h, c, r, 204, "image/x-icon", xstrdup(""), 0,
		    1, NULL);
	return http_error(h, s, c, r, 404, NULL, http_lang(c, NULL));
}

/*
 * libmicrohttpd calls this first with the headers, then with each piece
 * of the body, then once more with none: the request is then answered.
 */
static enum MHD_Result
http_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **ptr)
{
	struct http		*h = cls;
	struct http_site	*s;
	struct http_req		*r = *ptr;
	const char		*cl;
	enum MHD_Result		 ret;
	unsigned long long	 n;

	(void)version;
	http_thread_init();
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		buf_init(&r->body);
		*ptr = r;
		if ((cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH)) != NULL) {
			s = http_site_get(h);
			n = strtoull(cl, NULL, 10);
			if (n > s->max_body) {
				/* Answer now; the body is never read. */
				r->too_big = 1;
				r->route = ROUTE_OTHER;
				ret = http_error(h, s, c, r, 413, NULL, 0);
				http_site_put(h, s);
				return ret;
			}
			http_site_put(h, s);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		s = http_site_get(h);
		if (r->body.len + *upload_size > s->max_body)
			r->too_big = 1;
		else if (!r->too_big)
			buf_add(&r->body, upload, *upload_size);
		http_site_put(h, s);
		*upload_size = 0;
		return MHD_YES;
	}
	s = http_site_get(h);
	ret = http_route(h, s, c, url, method, r);
	http_site_put(h, s);
	return ret;
}

static void
http_completed(void *cls, struct MHD_Connection *c, void **ptr,
    enum MHD_RequestTerminationCode toe)
{
	struct http_req	*r = *ptr;

	(void)cls;
	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	buf_free(&r->body);
	free(r);
	*ptr = NULL;
}

static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	msg[512];
	size_t	n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("web: %s", msg);
}

/* A listening socket on host:port, with a clear message on failure. */
static int
http_listen(const char *host, int port, char **cause)
{
	struct addrinfo	 hints, *res = NULL;
	char		 portstr[16];
	int		 fd = -1, on = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		xasprintf(cause, "http.listen %s: %s", host, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1) {
		xasprintf(cause, "cannot listen on %s port %d: %s", host, port,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

struct http *
http_start(const struct config *conf, int wakefd, int *failed, char **cause)
{
	struct http	*h;
	unsigned int	 flags;

	*failed = 0;
	if (conf->http.listen_host == NULL)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->fd = -1;
	h->wakefd = wakefd;
	h->started = time(NULL);
	h->dbpath = xstrdup(conf->database);
	h->ips = xcalloc(IPSLOTS, sizeof(*h->ips));
	pthread_mutex_init(&h->lock, NULL);
	if (pthread_key_create(&h->storekey, http_store_close) != 0) {
		xasprintf(cause, "pthread_key_create failed");
		goto fail;
	}
	if ((h->site = http_site_load(conf, cause)) == NULL)
		goto fail;
	if ((h->fd = http_listen(conf->http.listen_host,
	    conf->http.listen_port, cause)) == -1)
		goto fail;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG;
	/* One thread: the polling thread serves; more: a pool. */
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_access, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
	    MHD_OPTION_LISTEN_SOCKET, h->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, conf->http.threads > 1 ?
	    (unsigned int)conf->http.threads : 0u,
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)conf->http.max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)conf->http.connection_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		xasprintf(cause, "cannot start the web server on %s",
		    conf->http.listen);
		goto fail;
	}
	log_info("web: listening on %s (%d threads), links under %s",
	    conf->http.listen, conf->http.threads, conf->http.base_url);
	return h;
fail:
	*failed = 1;
	if (h->fd != -1)
		close(h->fd);
	http_site_free(h->site);
	free(h->ips);
	free(h->dbpath);
	free(h);
	return NULL;
}

int
http_reload(struct http *h, const struct config *conf, char **cause)
{
	struct http_site	*s, *old;

	if (h == NULL)
		return 0;
	if ((s = http_site_load(conf, cause)) == NULL)
		return -1;
	pthread_mutex_lock(&h->lock);
	old = h->site;
	h->site = s;
	pthread_mutex_unlock(&h->lock);
	http_site_put(h, old);
	return 0;
}

void
http_stop(struct http *h)
{
	size_t	i;

	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd);
	close(h->fd);
	http_site_put(h, h->site);
	for (i = 0; i < CACHESLOTS; i++) {
		free(h->cache[i].key);
		free(h->cache[i].body);
		free(h->cache[i].title);
	}
	pthread_key_delete(h->storekey);
	pthread_mutex_destroy(&h->lock);
	free(h->ips);
	free(h->dbpath);
	free(h);
}
