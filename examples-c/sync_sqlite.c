/*
 * sync_sqlite: keeps a SQLite database in step with the account's calls, run
 * after run (from cron), every call exactly once, whatever kills a run.
 *
 *   sync_sqlite calls.db [--since-days N] [--lookback-min M] [--batch N] [filters]
 *
 * The first run fetches the calls that ended since --since-days days ago
 * (default: the API's default window, 7 days); every later run fetches the
 * calls that ended since the previous one (calls_pager_sync_new with the
 * state the previous run left), re-reading the last --lookback-min minutes
 * (default 60) to catch calls the service lists late, and skipping those
 * already delivered. Filters (--direction, --from-number, ...) are those of
 * export_csv, except the end_time ones: a sync always runs to now; they must
 * stay the same from run to run (another set is refused: start a new
 * database for it).
 *
 * Tables:
 *   calls  one row per call: call_uuid (primary key), typed columns (times
 *          as "YYYY-MM-DD HH:MM:SS" UTC text, numbers, direction, durations as
 *          integers, amounts as exact decimal text, hangup cause and source,
 *          STIR) and `record`, the call as the API gave it (JSON, unknown
 *          fields included).
 *   sync   one row: the sync state for the next run, the checkpoint of a run
 *          in progress, and the lower bound of the first run.
 *   runs   one row per finished run: when, calls added, calls skipped as
 *          already delivered, requests.
 *
 * Crash safety: the rows of each batch of --batch calls (default 200) are
 * written in one transaction together with the pager's checkpoint
 * (calls_pager_checkpoint: it covers exactly the calls handed out so far),
 * and the last batch together with the sync state for the next run. A crash
 * at any point (kill -9 included) rolls back the open batch and nothing else;
 * the next invocation resumes the interrupted run from its checkpoint
 * (calls_pager_resume) and then runs a fresh one, so no call is lost or
 * written twice. A call_uuid already in the table is an error (the run rolls
 * back its batch and stops): it would mean a bug, and is never hidden.
 *
 * A run holds a lock on DB.lock: a second run at the same time stops with an
 * error. Progress goes to stderr when it is a terminal; the last line on stdout is
 * "run N: added A calls (skipped S already delivered, R requests)".
 *
 * Test hook: with SYNC_SQLITE_KILL_AFTER=K in the environment, the process
 * kills itself (SIGKILL) right after inserting its K-th call, mid-batch.
 */
/* flock(2), beside POSIX: one run at a time on a database. */
#define _DEFAULT_SOURCE
#include "common.h"
#include "lock.h"

#include <signal.h>
#include <sqlite3.h>

#define SCHEMA                                                                              \
    "CREATE TABLE IF NOT EXISTS calls ("                                                    \
    " call_uuid TEXT PRIMARY KEY NOT NULL,"                                                 \
    " end_time TEXT NOT NULL,"                                                              \
    " initiation_time TEXT, answer_time TEXT,"                                              \
    " from_number TEXT, to_number TEXT, call_direction TEXT,"                               \
    " call_duration INTEGER, bill_duration INTEGER,"                                        \
    " total_rate TEXT, total_amount TEXT,"                                                  \
    " hangup_cause_code INTEGER, hangup_cause_name TEXT, hangup_source TEXT,"               \
    " stir_verification TEXT,"                                                              \
    " record TEXT NOT NULL);"                                                               \
    "CREATE INDEX IF NOT EXISTS calls_end_time ON calls(end_time);"                         \
    "CREATE TABLE IF NOT EXISTS sync ("                                                     \
    " id INTEGER PRIMARY KEY CHECK (id = 1),"                                               \
    " since TEXT, state TEXT, checkpoint TEXT, updated_at TEXT);"                           \
    "INSERT OR IGNORE INTO sync (id) VALUES (1);"                                           \
    "CREATE TABLE IF NOT EXISTS runs ("                                                     \
    " run INTEGER PRIMARY KEY AUTOINCREMENT, finished_at TEXT NOT NULL,"                    \
    " added INTEGER NOT NULL, skipped INTEGER NOT NULL, requests INTEGER NOT NULL,"         \
    " resumed INTEGER NOT NULL);"

/* Typed columns from the record's JSON, by SQLite's own JSON functions:
 * amounts are JSON strings, so they stay exact text. */
#define INSERT_CALL                                                                         \
    "INSERT INTO calls (call_uuid, end_time, initiation_time, answer_time, from_number,"    \
    " to_number, call_direction, call_duration, bill_duration, total_rate, total_amount,"   \
    " hangup_cause_code, hangup_cause_name, hangup_source, stir_verification, record)"      \
    " SELECT r->>'$.call_uuid', r->>'$.end_time', r->>'$.initiation_time',"                \
    " r->>'$.answer_time', r->>'$.from_number', r->>'$.to_number', r->>'$.call_direction'," \
    " r->>'$.call_duration', r->>'$.bill_duration', r->>'$.total_rate',"                    \
    " r->>'$.total_amount', r->>'$.hangup_cause_code', r->>'$.hangup_cause_name',"          \
    " r->>'$.hangup_source', r->>'$.stir_verification', r FROM (SELECT json(?1) AS r)"

struct options {
    const char *db;
    unsigned long long since_days; /* 0: the API's default window */
    unsigned long long lookback_min; /* 0: the library's default (60) */
    unsigned long long batch;
};

struct run_counts {
    unsigned long long added, skipped, requests;
};

static sqlite3 *db;
static unsigned long long kill_after, inserted_total;

static int db_fail(const char *what)
{
    fprintf(stderr, "error: sqlite: %s: %s\n", what, sqlite3_errmsg(db));
    return -1;
}

static int exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "error: sqlite: %s: %s\n", sql, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* The text of sync.<column>, malloc'd, or NULL when NULL (or on error: *bad). */
static char *sync_column(const char *column, int *bad)
{
    char sql[96];
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    int rc;
    snprintf(sql, sizeof sql, "SELECT %s FROM sync WHERE id = 1", column);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        *bad = db_fail("read the sync row");
        return NULL;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        /* Never read an error as "no state": that would sync from the start. */
        *bad = db_fail("read the sync row");
    } else if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        out = malloc(n + 1);
        if (out == NULL) {
            *bad = -1;
        } else {
            memcpy(out, t, n);
            out[n] = '\0';
        }
    }
    sqlite3_finalize(st);
    return out;
}

/* UPDATE sync SET <column> = text (NULL for SQL NULL). */
static int set_sync(const char *column, const char *text)
{
    char sql[128];
    sqlite3_stmt *st = NULL;
    int rc;
    snprintf(sql, sizeof sql, "UPDATE sync SET %s = ?1, updated_at = datetime('now') WHERE id = 1", column);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail("prepare the sync update");
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 1);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail("update the sync row");
}

static int insert_call(sqlite3_stmt *ins, const char *json, size_t len)
{
    int rc;
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, json, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(ins);
    if (rc != SQLITE_DONE) {
        if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY)
            fprintf(stderr, "error: a call delivered twice (a bug: please report it): %.200s\n", json);
        return db_fail("insert a call");
    }
    inserted_total++;
    if (kill_after && inserted_total == kill_after)
        raise(SIGKILL); /* test hook: a crash in the middle of a batch */
    return 0;
}

/* Saves the pager's checkpoint in the open transaction and commits it. */
static int commit_batch(calls_pager *p)
{
    char *cp = NULL;
    calls_result rc = calls_pager_checkpoint(p, &cp, NULL);
    if (rc != CALLS_RESULT_OK) {
        report("calls_pager_checkpoint", rc);
        return -1;
    }
    rc = set_sync("checkpoint", cp) == 0 ? CALLS_RESULT_OK : CALLS_RESULT_INVALID_ARGUMENT;
    calls_string_free(cp);
    if (rc != CALLS_RESULT_OK || exec("COMMIT") != 0 || exec("BEGIN IMMEDIATE") != 0)
        return -1;
    return 0;
}

/*
 * One run: resumed from `checkpoint` when not NULL, else a sync from
 * `state` (NULL for the first). Returns 0 when it walked to the end and
 * committed the state for the next run.
 */
static int one_run(const calls_client *c, const calls_query *q, const char *state, const char *checkpoint,
                   const struct options *o, struct run_counts *counts)
{
    calls_pager *p = NULL;
    sqlite3_stmt *ins = NULL;
    calls_result rc;
    char *json = NULL, *next_state = NULL, *stats = NULL;
    size_t len = 0;
    unsigned long long in_batch = 0;
    int ok = -1, shown = 0;

    memset(counts, 0, sizeof *counts);
    if (checkpoint)
        rc = calls_pager_resume(c, q, checkpoint, &p);
    else
        rc = calls_pager_sync_new(c, q, state, (uint32_t)(o->lookback_min * 60), &p);
    if (rc != CALLS_RESULT_OK) {
        report(checkpoint ? "calls_pager_resume" : "calls_pager_sync_new", rc);
        return -1;
    }
    shown = progress_to_stderr(p);
    if (sqlite3_prepare_v2(db, INSERT_CALL, -1, &ins, NULL) != SQLITE_OK) {
        db_fail("prepare the insert");
        goto out;
    }
    if (exec("BEGIN IMMEDIATE") != 0)
        goto out;
    while ((rc = calls_pager_next(p, &json, &len)) == CALLS_RESULT_OK) {
        int bad = insert_call(ins, json, len);
        calls_string_free(json);
        json = NULL;
        if (bad)
            goto rollback;
        counts->added++;
        if (++in_batch == o->batch) {
            in_batch = 0;
            if (commit_batch(p) != 0)
                goto rollback;
        }
    }
    if (rc != CALLS_RESULT_DONE) {
        report("calls_pager_next", rc);
        /* The rows of this batch are not covered by the saved checkpoint. */
        goto rollback;
    }
    if ((rc = calls_pager_sync_state(p, &next_state, NULL)) != CALLS_RESULT_OK) {
        report("calls_pager_sync_state", rc);
        goto rollback;
    }
    if (calls_pager_stats(p, &stats, NULL) == CALLS_RESULT_OK) {
        counts->skipped = stat_u64(stats, "already_delivered");
        counts->requests = stat_u64(stats, "requests");
    }
    {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT INTO runs (finished_at, added, skipped, requests, resumed)"
                 " VALUES (datetime('now'), %llu, %llu, %llu, %d)",
                 counts->added, counts->skipped, counts->requests, checkpoint != NULL);
        if (set_sync("state", next_state) != 0 || set_sync("checkpoint", NULL) != 0 || exec(sql) != 0)
            goto rollback;
    }
    if (exec("COMMIT") != 0)
        goto rollback;
    ok = 0;
    goto out;
rollback:
    exec("ROLLBACK");
out:
    progress_done(shown);
    calls_string_free(next_state);
    calls_string_free(stats);
    sqlite3_finalize(ins);
    calls_pager_free(p);
    return ok;
}

static void usage(void)
{
    fprintf(stderr, "usage: sync_sqlite DB [--since-days N] [--lookback-min M] [--batch N] [filters]\n%s",
            FILTER_FLAGS_HELP);
}

int main(int argc, char **argv)
{
    struct options o = {NULL, 0, 0, 200};
    calls_client_builder *b = NULL;
    calls_client *c = NULL;
    calls_query *q = NULL;
    calls_result rc;
    char *since = NULL, *state = NULL, *checkpoint = NULL;
    struct run_counts counts;
    int i, bad = 0, status = 1, lock = -1;
    const char *k = getenv("SYNC_SQLITE_KILL_AFTER");

    if (k && *k)
        kill_after = strtoull(k, NULL, 10);
    if ((rc = calls_query_new(&q)) != CALLS_RESULT_OK) {
        report("calls_query_new", rc);
        return 1;
    }
    for (i = 1; i < argc; i++) {
        int missing = 0, f;
        const char *v;
        if ((v = flag_value(argc, argv, &i, "--since-days", &missing)) != NULL) {
            if (parse_count("--since-days", v, &o.since_days) != 0 || o.since_days > 90)
                goto bad_usage;
        } else if ((v = flag_value(argc, argv, &i, "--lookback-min", &missing)) != NULL) {
            if (parse_count("--lookback-min", v, &o.lookback_min) != 0 || o.lookback_min > 60 * 24 * 30)
                goto bad_usage;
        } else if ((v = flag_value(argc, argv, &i, "--batch", &missing)) != NULL) {
            if (parse_count("--batch", v, &o.batch) != 0 || o.batch == 0)
                goto bad_usage;
        } else if (missing) {
            fprintf(stderr, "error: %s needs a value\n", argv[i]);
            goto bad_usage;
        } else if (strncmp(argv[i], "--end-time", 10) == 0 || strncmp(argv[i], "--days", 6) == 0) {
            fprintf(stderr, "error: %s: a sync runs from where the last run ended up to now; "
                            "use --since-days for the first run\n", argv[i]);
            goto bad_usage;
        } else if ((f = apply_filter_flag(q, argc, argv, &i, &rc)) != 0) {
            if (f < 0)
                goto done;
        } else if (argv[i][0] == '-' || o.db != NULL) {
            fprintf(stderr, "error: unexpected argument `%s`\n", argv[i]);
            goto bad_usage;
        } else {
            o.db = argv[i];
        }
    }
    if (o.db == NULL)
        goto bad_usage;
    if ((lock = lock_run(o.db, "sync_sqlite")) < 0)
        goto done;

    if (sqlite3_open_v2(o.db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        db_fail(o.db);
        goto done;
    }
    /* Another run at the same time waits for this one's write lock (then fails). */
    sqlite3_busy_timeout(db, 10000);
    if (exec("PRAGMA synchronous = FULL") != 0 || exec(SCHEMA) != 0)
        goto done;
    since = sync_column("since", &bad);
    state = sync_column("state", &bad);
    checkpoint = sync_column("checkpoint", &bad);
    if (bad)
        goto done;
    /* The first run's lower bound stays the query's for good: a checkpoint
     * holds its query, and a sync state its filters. */
    if (since == NULL && o.since_days > 0) {
        char when[32];
        time_t t = time(NULL) - (time_t)(o.since_days * 86400ULL);
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm) == 0)
            goto done;
        if (set_sync("since", when) != 0 || (since = sync_column("since", &bad)) == NULL)
            goto done;
    }
    if (since && (rc = calls_query_set(q, "end_time__gte", since)) != CALLS_RESULT_OK) {
        report("end_time__gte", rc);
        goto done;
    }

    if ((rc = calls_client_builder_from_env(&b)) != CALLS_RESULT_OK) {
        report("calls_client_builder_from_env", rc);
        goto done;
    }
    if ((rc = calls_client_builder_build(b, &c)) != CALLS_RESULT_OK) {
        report("calls_client_builder_build", rc);
        goto done;
    }
    if (checkpoint) {
        /* The last run was interrupted: finish it first. */
        fprintf(stderr, "resuming the interrupted run from its checkpoint\n");
        if (one_run(c, q, NULL, checkpoint, &o, &counts) != 0)
            goto done;
        printf("resumed run: added %llu calls (skipped %llu already delivered, %llu requests)\n",
               counts.added, counts.skipped, counts.requests);
        free(state);
        state = sync_column("state", &bad);
        if (bad)
            goto done;
    }
    if (one_run(c, q, state, NULL, &o, &counts) != 0)
        goto done;
    printf("run %lld: added %llu calls (skipped %llu already delivered, %llu requests)\n",
           (long long)sqlite3_last_insert_rowid(db), counts.added, counts.skipped, counts.requests);
    status = 0;
    goto done;
bad_usage:
    usage();
    status = 2;
done:
    free(since);
    free(state);
    free(checkpoint);
    calls_client_free(c);
    calls_query_free(q);
    sqlite3_close(db);
    if (lock >= 0)
        close(lock);
    return status;
}
