/*
 * The CLI's storage for bots (--db FILE): key/value pairs of text in one
 * SQLite table, one namespace per bot (its bare JID), behind the bot
 * host's store hooks. Every put and delete is its own transaction, durable
 * when it returns (WAL, synchronous=FULL); every statement is prepared
 * once with bound parameters.
 */
#ifndef XB_CLI_STORE_H
#define XB_CLI_STORE_H

#include <stddef.h>

struct store;

/*
 * Opens the database at path, creating it (and its table) if it does not
 * exist. NULL on failure, with one line saying why in err (not a
 * database, read-only, written by a newer xmppbots, another program's
 * database, an SQLite error). Close with store_close().
 */
struct store *store_open(const char *path, char *err, size_t errlen);

/* Closes the database. NULL is allowed. */
void store_close(struct store *s);

/*
 * Calls add(ctx, key, value) for every pair of namespace ns (ns_len
 * bytes, not NUL-terminated; key and value borrowed for the call), and
 * stops at add's first error, which it returns. 0, add's error, or an
 * XB_E* code for a database error (see store_error()).
 */
int store_load(struct store *s, const char *ns, size_t ns_len,
               int (*add)(void *ctx, const char *key, const char *value),
               void *ctx);

/* Inserts or replaces key in namespace ns: 0 once it is on disk, or an
 * XB_E* code (nothing changed; see store_error()). */
int store_put(struct store *s, const char *ns, size_t ns_len, const char *key,
              const char *value);

/* Deletes key from namespace ns (a missing key is not an error): 0 once
 * that is on disk, or an XB_E* code (see store_error()). */
int store_del(struct store *s, const char *ns, size_t ns_len, const char *key);

/* The database file and what went wrong in the last call, for one log
 * line ("x.db: database is locked"); "" if the database did not fail
 * (store_load returning add's error). Borrowed until the next call. */
const char *store_error(const struct store *s);

#endif
