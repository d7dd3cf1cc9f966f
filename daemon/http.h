/*
 * The web endpoints of heraldd: unsubscribe (with RFC 8058 one-click),
 * subscribe with double opt-in, confirm, the archive and its Atom feed,
 * /healthz and /metrics.  libmicrohttpd serves them from threads of its
 * own, each with its own database connection, so that the sending loop
 * never waits for a web client.
 */
#ifndef HERALD_HTTP_H
#define HERALD_HTTP_H

struct config;
struct http;

/*
 * Listen where conf says (http.listen; NULL and no error when it is
 * "none").  wakefd (may be -1) gets a byte whenever a request queued mail
 * for the dispatcher.  On failure NULL and *cause.
 */
struct http	*http_start(const struct config *, int wakefd, int *failed,
		    char **cause);
/*
 * Use a new configuration (templates, strings, key, limits) from the next
 * request on; requests being served finish with the old one.  -1 and
 * *cause when it cannot be loaded: the old one stays.
 */
int		 http_reload(struct http *, const struct config *,
		    char **cause);
/* Stop listening, finish the requests being served, free everything. */
void		 http_stop(struct http *);

#endif
