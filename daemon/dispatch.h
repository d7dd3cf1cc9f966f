/*
 * The campaign: the scheduler that starts due issues, the outbox that
 * feeds the SMTP transport within the rate limits, the retries, and the
 * progress.  heraldd's loop calls dispatch_step after every wake-up.
 */
#ifndef HERALD_DISPATCH_H
#define HERALD_DISPATCH_H

#include <stdint.h>

struct config;
struct smtp_params;
struct store;
struct dispatch;

/* The SMTP transport's parameters from a configuration and password. */
void		 dispatch_smtp_params(const struct config *, const char *password,
		    struct smtp_params *);

/*
 * Set up with conf (borrowed until dispatch_reload replaces it) and an
 * open store: recovers messages left `sending` by a crash, seeds the rate
 * limits from the log of recent attempts.  NULL and *cause on failure.
 */
struct dispatch	*dispatch_new(const struct config *, struct store *,
		    char **cause);
void		 dispatch_free(struct dispatch *);

/*
 * Use a new configuration from now on.  In-flight messages finish on the
 * old connections; new ones go through a transport built from conf.
 */
int		 dispatch_reload(struct dispatch *, const struct config *,
		    char **cause);
/* Record the last results and release unsent claims (at exit). */
void		 dispatch_close(struct dispatch *);
/* Stop claiming work; messages in flight go on. */
void		 dispatch_stop(struct dispatch *);
/* Messages handed to SMTP and not yet finished. */
int		 dispatch_inflight(struct dispatch *);
/*
 * Wait up to timeout_ms (less when work is due) for SMTP progress or for
 * fd (the self-pipe; -1 for none) to become readable.
 */
int		 dispatch_wait(struct dispatch *, int timeout_ms, int fd);
/* Do whatever is due: results, scheduling, claiming and sending. */
int		 dispatch_step(struct dispatch *);
/* One line of progress for sd_notify STATUS=. */
const char	*dispatch_status(struct dispatch *);

#endif
