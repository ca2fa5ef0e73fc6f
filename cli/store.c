/*
 * The bots' key/value storage in SQLite (store.h): one table of (bot,
 * key, value), marked as ours by its application_id and versioned by its
 * user_version, written in WAL mode with synchronous=FULL so that a put
 * that returned 0 survives a crash. Calls are synchronous on the event
 * loop's thread: they are rare (a registration), and each is one short
 * transaction.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "error.h"
#include "store.h"

/* PRAGMA application_id of an xmppbots database: "xbts". */
#define APP_ID 2019718259
/* PRAGMA user_version of the table layout below. */
#define SCHEMA 1
/* How long a write waits for another process's lock on the file. */
#define BUSY_MS 5000

#define STR(x) #x
#define XSTR(x) STR(x)
#define APP_ID_SQL XSTR(APP_ID)
#define SCHEMA_SQL XSTR(SCHEMA)

/* The whole layout, created in one transaction. */
static const char create_sql[] =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS kv ("
    " bot TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (bot, key)) WITHOUT ROWID;"
    "PRAGMA application_id = " APP_ID_SQL ";"
    "PRAGMA user_version = " SCHEMA_SQL ";"
    "COMMIT;";

struct store {
    sqlite3 *db;
    sqlite3_stmt *load, *put, *del;
    char *path;
    char err[512];
};

/* SQLite's result code as an XB_E* code. */
static int code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return XB_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return XB_ETIMEOUT; /* the busy timeout passed */
    case SQLITE_FULL:
        return XB_ELIMIT;
    case SQLITE_TOOBIG:
        return XB_ETOOBIG;
    default:
        return XB_EIO; /* read-only, I/O error, corrupt, ... */
    }
}

/* Keeps the database's last message for store_error(); returns the code
 * for rc. */
static int fail(struct store *s, int rc)
{
    snprintf(s->err, sizeof s->err, "%s: %s", s->path, sqlite3_errmsg(s->db));
    return code_of(rc);
}

const char *store_error(const struct store *s)
{
    return s->err;
}

/* One statement with no parameters that returns at most a row: its
 * first column as an integer into *out (if out), else nothing. */
static int run_int(struct store *s, const char *sql, long long *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out)
        *out = sqlite3_column_int64(st, 0);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

/* WAL, so that a reader never blocks the writer; every commit synced. */
static int set_journal(struct store *s, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    const unsigned char *mode;
    int rc =
        sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        mode = sqlite3_column_text(st, 0);
        if (!mode || strcmp((const char *)mode, "wal")) {
            snprintf(err, errlen, "database %s cannot use a WAL journal",
                     s->path);
            sqlite3_finalize(st);
            return -1;
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", s->path,
                 sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

/* Creates the table in an empty file, or checks that the file holds ours
 * in a layout this program reads. */
static int check_schema(struct store *s, char *err, size_t errlen)
{
    long long app = 0, version = 0, objects = 0;
    int rc = run_int(s, "PRAGMA application_id", &app);

    if (rc == SQLITE_OK)
        rc = run_int(s, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = run_int(s, "SELECT count(*) FROM sqlite_master", &objects);
    if (rc == SQLITE_OK && app == 0 && objects == 0)
        rc = sqlite3_exec(s->db, create_sql, NULL, NULL, NULL);
    else if (rc == SQLITE_OK && app != APP_ID) {
        snprintf(err, errlen,
                 "database %s belongs to another program (it is not an "
                 "xmppbots database)",
                 s->path);
        return -1;
    } else if (rc == SQLITE_OK && version != SCHEMA) {
        snprintf(err, errlen,
                 "database %s has schema version %lld, which this xmppbots "
                 "does not read (it reads %d)%s",
                 s->path, version, SCHEMA,
                 version > SCHEMA ? ": it was written by a newer xmppbots"
                                  : "");
        return -1;
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", s->path,
                 sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                              NULL);
}

/* Everything after the file is open. 0, or -1 with err written. */
static int setup(struct store *s, char *err, size_t errlen)
{
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_MS);
    /* The file is data, not code: no triggers or views from it run
     * functions, and no statement may corrupt it. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        snprintf(err, errlen, "database %s is read-only", s->path);
        return -1;
    }
    if (set_journal(s, err, errlen) || check_schema(s, err, errlen))
        return -1;
    if (prepare(s, "SELECT key, value FROM kv WHERE bot = ?1", &s->load) ||
        prepare(s,
                "INSERT OR REPLACE INTO kv (bot, key, value) "
                "VALUES (?1, ?2, ?3)",
                &s->put) ||
        prepare(s, "DELETE FROM kv WHERE bot = ?1 AND key = ?2", &s->del)) {
        snprintf(err, errlen, "cannot use database %s: %s", s->path,
                 sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
    struct store *s = calloc(1, sizeof *s);
    int rc;

    if (!s || !(s->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    rc = sqlite3_open_v2(
        path, &s->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        store_close(s);
        return NULL;
    }
    if (setup(s, err, errlen)) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->load);
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/* Binds the namespace as parameter 1 of st. */
static int bind_ns(sqlite3_stmt *st, const char *ns, size_t ns_len)
{
    if (ns_len > INT_MAX)
        return SQLITE_TOOBIG;
    return sqlite3_bind_text(st, 1, ns, (int)ns_len, SQLITE_STATIC);
}

int store_load(struct store *s, const char *ns, size_t ns_len,
               int (*add)(void *ctx, const char *key, const char *value),
               void *ctx)
{
    sqlite3_stmt *st = s->load;
    const unsigned char *key, *value;
    int rc = bind_ns(st, ns, ns_len), res = 0;

    s->err[0] = '\0';
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        key = sqlite3_column_text(st, 0);
        value = sqlite3_column_text(st, 1);
        if (!key || !value) { /* neither is NULL: no memory for the text */
            rc = SQLITE_NOMEM;
            break;
        }
        if ((res = add(ctx, (const char *)key, (const char *)value)))
            break;
        rc = SQLITE_OK;
    }
    if (!res && rc != SQLITE_DONE)
        res = fail(s, rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return res;
}

/* Runs a write statement whose parameters are bound: autocommit makes it
 * its own transaction, synced before step returns. */
static int write_one(struct store *s, sqlite3_stmt *st, int rc)
{
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : fail(s, rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int store_put(struct store *s, const char *ns, size_t ns_len, const char *key,
              const char *value)
{
    sqlite3_stmt *st = s->put;
    int rc = bind_ns(st, ns, ns_len);

    s->err[0] = '\0';
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    return write_one(s, st, rc);
}

int store_del(struct store *s, const char *ns, size_t ns_len, const char *key)
{
    sqlite3_stmt *st = s->del;
    int rc = bind_ns(st, ns, ns_len);

    s->err[0] = '\0';
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    return write_one(s, st, rc);
}
