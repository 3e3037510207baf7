/*
 * export_csv: every call matching the filters as CSV (RFC 4180: a header row,
 * CRLF line ends, fields with , " CR or LF quoted, quotes doubled), or with
 * --format ndjson as one JSON object per line (every field the service sent),
 * streamed one call at a time through calls_pager_next_call, each field read
 * with calls_call_get (no JSON parser); resumable after a crash (CSV).
 *
 *   export_csv --days 60 --checkpoint calls.ckpt > calls.csv
 *   # ... killed part-way; then, with the same filters:
 *   export_csv --days 60 --resume calls.csv --checkpoint calls.ckpt
 *
 * With --checkpoint CKPT, after every call written (and flushed) the pager's
 * checkpoint (calls_pager_checkpoint) is saved to CKPT: written to CKPT.tmp,
 * then renamed over CKPT, so CKPT is always whole and never ahead of the CSV.
 * CKPT is three lines of text:
 *
 *   export_csv checkpoint 1
 *   started <Unix time the export started; --days counts back from it>
 *   <the opaque checkpoint of calls_pager_checkpoint>
 *
 * --resume FILE appends to FILE itself (stdout is not used): it cuts off a
 * partial last record (the process died mid-write), reads the call_uuid of
 * every row, continues from CKPT (calls_pager_resume) when it exists or starts
 * over when it does not, and writes only the calls whose call_uuid is not in
 * FILE yet. A resumed export yields exactly the calls the interrupted one
 * would have: the checkpoint keeps the pinned upper bound of the time range,
 * and --days counts back from the saved start time, not from now.
 *
 * --sync STATE OUT.csv appends to OUT.csv the calls that ended since the
 * last run (calls_pager_sync_new with the state in STATE; the first run,
 * without STATE, from --since-days N days ago or the API's default window),
 * re-reading the last --lookback-min minutes (default 60) for calls listed
 * late and skipping those earlier runs delivered. Crash safety, end to end:
 * the rows are appended and flushed, OUT.csv is fsync'ed, then STATE is
 * replaced atomically (STATE.tmp written and fsync'ed, renamed over STATE,
 * the directory fsync'ed). STATE records the size OUT.csv had then; a run
 * killed at any point leaves rows after that size that no state covers: the
 * next run cuts a partial last line, reads the call_uuid of those rows, runs
 * from the same state and skips them, so every call is in OUT.csv once.
 * STATE is three lines: "export_csv sync 1", "csv_bytes N", the sync state.
 * A run holds a lock on STATE.lock: a second run at the same time (cron
 * overlapping a long run) stops with an error instead of appending too.
 * Test hook: EXPORT_CSV_KILL_AFTER=K kills the process (SIGKILL) after its
 * K-th row is flushed, =state after STATE.tmp is written, before the rename.
 *
 * Progress goes to stderr when it is a terminal. The number of rows written
 * (and, with --resume or --sync, of calls skipped as already in the file)
 * goes to stderr at the end.
 */
/* flock(2), beside POSIX: the lock of a sync series. */
#define _DEFAULT_SOURCE
#include "common.h"
#include "lock.h"

#include <fcntl.h>
#include <signal.h>

static const char *const COLUMNS[] = {
    "call_uuid",         "end_time",           "initiation_time",    "answer_time",
    "from_number",       "to_number",          "call_direction",     "call_duration",
    "bill_duration",     "billed_duration",    "hangup_cause_code",  "hangup_cause_name",
    "hangup_source",     "total_rate",         "total_amount",       "trunk_domain",
    "from_country",      "to_country",         "transport_protocol", "srtp",
    "secure_trunking",   "secure_trunking_rate", "stir_verification", "attestation_indicator",
};
#define NCOLUMNS (sizeof COLUMNS / sizeof COLUMNS[0])

/* The first line of a checkpoint file. */
#define CKPT_MAGIC "export_csv checkpoint 1"
/* Checkpoint files larger than this are refused (real ones are < 1 KiB). */
#define CKPT_MAX_BYTES (1024 * 1024)
/* The longest call_uuid accepted in a file being resumed. */
#define UUID_MAX 127

struct options {
    unsigned long long max_items; /* 0 = no cap */
    const char *checkpoint;       /* --checkpoint CKPT, or NULL */
    const char *resume;           /* --resume FILE, or NULL */
    int ndjson;                   /* --format ndjson */
    const char *sync_state;       /* --sync STATE OUT.csv */
    const char *sync_out;
    unsigned long long lookback_min; /* --lookback-min (0: the library's default) */
    unsigned long long since_days;   /* --since-days, for a first sync */
};

/* The first line of a sync state file. */
#define SYNC_MAGIC "export_csv sync 1"


/* One field, RFC 4180: quoted when it holds , " CR or LF, quotes doubled. */
static void csv_field(FILE *f, const char *s, size_t n)
{
    size_t i;
    int quote = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n') {
            quote = 1;
            break;
        }
    }
    if (!quote) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: export_csv [filters] [--max N] [--format csv|ndjson] [--checkpoint CKPT] > calls.csv\n"
            "       export_csv [filters] [--max N] --resume FILE [--checkpoint CKPT]\n"
            "       export_csv [filters] [--since-days N] [--lookback-min M] --sync STATE OUT.csv\n"
            "  --max N            stop after N calls (with --resume: once FILE holds N rows)\n"
            "  --format F         csv (the default: RFC 4180, the columns below) or ndjson\n"
            "                     (one JSON object per line, every field; not with --resume)\n"
            "  --checkpoint CKPT  after every row, save where the export stands to CKPT\n"
            "                     (written to CKPT.tmp, then renamed over CKPT)\n"
            "  --resume FILE      finish the interrupted export in FILE: cut off its partial\n"
            "                     last line, then append to FILE (not stdout) every call whose\n"
            "                     call_uuid is not in FILE yet; continues from CKPT when it\n"
            "                     exists, else starts over. Give the same filters as the first\n"
            "                     run: --days then counts back from the time saved in CKPT.\n"
            "  --sync STATE OUT   append the calls that ended since the last run to OUT (a\n"
            "                     CSV), then replace STATE; the first run (no STATE) starts\n"
            "                     --since-days N days ago (default: the API's window). Safe\n"
            "                     to kill at any point: the next run writes each call once.\n"
            "  --lookback-min M   with --sync: re-read the last M minutes for calls listed\n"
            "                     late (default 60)\n"
            FILTER_FLAGS_HELP);
}

/* ---------------------------------------------------------------- uuid set */

/* A set of strings (open addressing, linear probing). */
typedef struct {
    char **slots;
    size_t cap, len;
} uuid_set;

static size_t str_hash(const char *s)
{
    size_t h = (size_t)14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= (size_t)1099511628211ULL;
    }
    return h;
}

static int set_has(const uuid_set *set, const char *s)
{
    size_t i;
    if (set->cap == 0)
        return 0;
    for (i = str_hash(s) & (set->cap - 1); set->slots[i] != NULL; i = (i + 1) & (set->cap - 1)) {
        if (strcmp(set->slots[i], s) == 0)
            return 1;
    }
    return 0;
}

/* Puts an owned string in its slot (the set has room and does not hold it). */
static void set_place(uuid_set *set, char *s)
{
    size_t i = str_hash(s) & (set->cap - 1);
    while (set->slots[i] != NULL)
        i = (i + 1) & (set->cap - 1);
    set->slots[i] = s;
    set->len++;
}

/* Adds a copy of s. Returns 0, or -1 when out of memory. */
static int set_add(uuid_set *set, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy;
    if (set_has(set, s))
        return 0;
    if ((set->len + 1) * 2 > set->cap) {
        uuid_set bigger;
        size_t i;
        bigger.cap = set->cap ? set->cap * 2 : 1024;
        bigger.len = 0;
        bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
        if (bigger.slots == NULL)
            return -1;
        for (i = 0; i < set->cap; i++) {
            if (set->slots[i] != NULL)
                set_place(&bigger, set->slots[i]);
        }
        free(set->slots);
        *set = bigger;
    }
    if ((copy = malloc(n)) == NULL)
        return -1;
    memcpy(copy, s, n);
    set_place(set, copy);
    return 0;
}

static void set_free(uuid_set *set)
{
    size_t i;
    for (i = 0; i < set->cap; i++)
        free(set->slots[i]);
    free(set->slots);
    set->slots = NULL;
    set->cap = set->len = 0;
}

/* ---------------------------------------------------------------- arguments */

/* Makes *q from the arguments, `--days` counting back from `now`. Returns 0,
 * 1 after --help, -1 on a bad argument (a message is printed). */
static int parse_args(int argc, char **argv, time_t now, calls_query **q, struct options *o)
{
    int i;
    calls_result rc;
    memset(o, 0, sizeof *o);
    if ((rc = calls_query_new(q)) != CALLS_RESULT_OK) {
        report("calls_query_new", rc);
        return -1;
    }
    for (i = 1; i < argc; i++) {
        int missing = 0, r;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if ((v = flag_value(argc, argv, &i, "--max", &missing)) != NULL) {
            if (parse_count("--max", v, &o->max_items))
                return -1;
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--checkpoint", &missing)) != NULL) {
            o->checkpoint = v;
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--resume", &missing)) != NULL) {
            o->resume = v;
            continue;
        }
        if (!missing && strcmp(argv[i], "--sync") == 0) {
            if (i + 2 >= argc) {
                fprintf(stderr, "error: --sync needs STATE and OUT.csv\n");
                return -1;
            }
            o->sync_state = argv[++i];
            o->sync_out = argv[++i];
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--lookback-min", &missing)) != NULL) {
            if (parse_count("--lookback-min", v, &o->lookback_min) || o->lookback_min > 43200) {
                fprintf(stderr, "error: --lookback-min is at most 43200 (30 days)\n");
                return -1;
            }
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--since-days", &missing)) != NULL) {
            if (parse_count("--since-days", v, &o->since_days) || o->since_days > 90) {
                fprintf(stderr, "error: --since-days is at most 90\n");
                return -1;
            }
            continue;
        }
        if (!missing && (v = flag_value(argc, argv, &i, "--format", &missing)) != NULL) {
            if (strcmp(v, "csv") != 0 && strcmp(v, "ndjson") != 0) {
                fprintf(stderr, "error: --format is csv or ndjson, not `%s`\n", v);
                return -1;
            }
            o->ndjson = strcmp(v, "ndjson") == 0;
            continue;
        }
        if (missing) {
            fprintf(stderr, "error: %s needs a value\n", argv[i]);
            return -1;
        }
        r = apply_filter_flag_at(*q, argc, argv, &i, &rc, now);
        if (r < 0)
            return -1;
        if (r == 0) {
            fprintf(stderr, "error: unknown argument `%s`\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    if (o->sync_state && (o->resume || o->checkpoint || o->max_items || o->ndjson)) {
        fprintf(stderr, "error: --sync works alone (no --resume, --checkpoint, --max or ndjson)\n");
        return -1;
    }
    if (!o->sync_state && (o->lookback_min || o->since_days)) {
        fprintf(stderr, "error: --lookback-min and --since-days go with --sync\n");
        return -1;
    }
    if (o->sync_state && strcmp(o->sync_state, o->sync_out) == 0) {
        fprintf(stderr, "error: --sync: STATE and OUT.csv are the same file\n");
        return -1;
    }
    if (o->ndjson && o->resume) {
        fprintf(stderr, "error: --resume works with --format csv only\n");
        return -1;
    }
    if (o->checkpoint && o->resume && strcmp(o->checkpoint, o->resume) == 0) {
        fprintf(stderr, "error: --checkpoint and --resume name the same file\n");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- checkpoint file */

/*
 * Reads a checkpoint file: *started and *checkpoint (malloc'd, to free).
 * Returns 1 when read, 0 when the file does not exist, -1 on an error (a
 * message is printed): a file that exists but is not whole is not ignored.
 */
static int load_checkpoint(const char *path, long long *started, char **checkpoint)
{
    FILE *f = NULL;
    char *text = NULL, *line2, *line3, *end;
    size_t n;
    int ret = -1;

    *checkpoint = NULL;
    if ((f = fopen(path, "rb")) == NULL) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if ((text = malloc(CKPT_MAX_BYTES + 1)) == NULL) {
        fprintf(stderr, "error: out of memory\n");
        goto cleanup;
    }
    n = fread(text, 1, CKPT_MAX_BYTES + 1, f);
    if (ferror(f) || n > CKPT_MAX_BYTES) {
        fprintf(stderr, "error: cannot read %s (or it is too large)\n", path);
        goto cleanup;
    }
    text[n] = '\0';
    /* Three lines: the magic line, "started <seconds>", the checkpoint. */
    line2 = text + sizeof CKPT_MAGIC;
    if (strncmp(text, CKPT_MAGIC "\n", sizeof CKPT_MAGIC) != 0 || strncmp(line2, "started ", 8) != 0) {
        fprintf(stderr, "error: %s is not a checkpoint file of export_csv\n", path);
        goto cleanup;
    }
    errno = 0;
    *started = strtoll(line2 + 8, &end, 10);
    if (errno || end == line2 + 8 || *end != '\n') {
        fprintf(stderr, "error: %s: bad `started` line\n", path);
        goto cleanup;
    }
    line3 = end + 1;
    if ((end = strchr(line3, '\n')) == NULL || end[1] != '\0' || end == line3) {
        fprintf(stderr, "error: %s: the checkpoint line is missing or not whole\n", path);
        goto cleanup;
    }
    *end = '\0';
    n = (size_t)(end - line3) + 1;
    if ((*checkpoint = malloc(n)) == NULL) {
        fprintf(stderr, "error: out of memory\n");
        goto cleanup;
    }
    memcpy(*checkpoint, line3, n);
    ret = 1;

cleanup:
    free(text);
    if (f)
        fclose(f);
    return ret;
}

/* Saves the pager's checkpoint to `path` atomically (path.tmp, then rename).
 * Returns 0, or -1 (a message is printed). */
static int save_checkpoint(const char *path, long long started, const calls_pager *pager)
{
    calls_result rc;
    char *checkpoint = NULL, *tmp = NULL;
    FILE *f = NULL;
    int ret = -1;
    size_t n = strlen(path) + sizeof ".tmp";

    if ((rc = calls_pager_checkpoint(pager, &checkpoint, NULL)) != CALLS_RESULT_OK) {
        report("calls_pager_checkpoint", rc);
        goto cleanup;
    }
    if ((tmp = malloc(n)) == NULL) {
        fprintf(stderr, "error: out of memory\n");
        goto cleanup;
    }
    snprintf(tmp, n, "%s.tmp", path);
    if ((f = fopen(tmp, "wb")) == NULL) {
        fprintf(stderr, "error: cannot write %s: %s\n", tmp, strerror(errno));
        goto cleanup;
    }
    fprintf(f, "%s\nstarted %lld\n%s\n", CKPT_MAGIC, started, checkpoint);
    if (ferror(f) | fclose(f)) {
        f = NULL;
        fprintf(stderr, "error: cannot write %s\n", tmp);
        goto cleanup;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "error: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (f)
        fclose(f);
    if (ret != 0 && tmp != NULL)
        remove(tmp);
    free(tmp);
    calls_string_free(checkpoint);
    return ret;
}

/* ---------------------------------------------------------------- the CSV */

/* The header row, CRLF included. */
static void header_row(char *buf, size_t cap)
{
    size_t k, n = 0;
    buf[0] = '\0';
    for (k = 0; k < NCOLUMNS; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? "," : "", COLUMNS[k]);
    snprintf(buf + n, cap - n, "\r\n");
}

/*
 * Reads the CSV `path` written by an earlier run: adds the call_uuid of each
 * whole row to `seen`, counts the rows, and cuts the file after its last
 * whole record (a record ends with LF outside quotes), so that nothing
 * partial stays. *has_header is 0 when the file was missing, empty or held a
 * partial header (then it is emptied). Returns 0, or -1 (a message is
 * printed), also when the file is not a CSV of export_csv.
 */
static int scan_csv_from(const char *path, long long from, uuid_set *seen, unsigned long long *rows,
                         int *has_header, long long *size);

static int scan_csv(const char *path, uuid_set *seen, unsigned long long *rows, int *has_header)
{
    long long size;
    return scan_csv_from(path, 0, seen, rows, has_header, &size);
}

/* scan_csv(), keeping only the call_uuid of the records that start at byte
 * `from` or later; *size is the file's size after the cut. */
static int scan_csv_from(const char *path, long long from, uuid_set *seen, unsigned long long *rows,
                         int *has_header, long long *size)
{
    char header[1024], first[UUID_MAX + 1];
    FILE *f = NULL;
    size_t hlen, n, field = 0, flen = 0;
    long long pos, good_end = 0;
    int c, in_quotes = 0, quote_closed = 0, cr = 0, ret = -1;

    *rows = 0;
    *has_header = 0;
    *size = 0;
    header_row(header, sizeof header);
    hlen = strlen(header);
    if ((f = fopen(path, "rb")) == NULL) {
        if (errno == ENOENT)
            return 0; /* created when appending */
        fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* The header: whole, partial (dropped), or another file (refused). */
    for (n = 0; n < hlen && (c = getc(f)) != EOF; n++) {
        if (c != (unsigned char)header[n]) {
            fprintf(stderr, "error: %s is not a CSV of export_csv (its header differs)\n", path);
            goto cleanup;
        }
    }
    if (n == hlen) {
        *has_header = 1;
        good_end = (long long)hlen;
        /* The records: only the first field of each is kept. */
        for (pos = good_end; (c = getc(f)) != EOF; pos++) {
            if (in_quotes) {
                if (c == '"') {
                    in_quotes = 0;
                    quote_closed = 1;
                    continue;
                }
            } else if (c == '"' && quote_closed) { /* "" inside quotes */
                in_quotes = 1;
                quote_closed = 0;
            } else {
                quote_closed = 0;
                if (cr && c != '\n' && field == 0 && flen < UUID_MAX)
                    first[flen++] = '\r'; /* a lone CR is data */
                cr = 0;
                if (c == '"') {
                    in_quotes = 1;
                    continue;
                }
                if (c == ',') {
                    field++;
                    continue;
                }
                if (c == '\r') {
                    cr = 1;
                    continue;
                }
                if (c == '\n') { /* a whole record */
                    first[flen] = '\0';
                    if (flen > 0 && good_end >= from && set_add(seen, first) != 0) {
                        fprintf(stderr, "error: out of memory\n");
                        goto cleanup;
                    }
                    (*rows)++;
                    good_end = pos + 1;
                    field = flen = 0;
                    continue;
                }
            }
            if (field == 0) {
                if (flen >= UUID_MAX) {
                    fprintf(stderr, "error: %s: a call_uuid longer than %d bytes\n", path, UUID_MAX);
                    goto cleanup;
                }
                first[flen++] = (char)c;
            }
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "error: cannot read %s\n", path);
        goto cleanup;
    }
    fclose(f);
    f = NULL;
    if (truncate(path, (off_t)good_end) != 0) {
        fprintf(stderr, "error: cannot cut the partial last line of %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    *size = good_end;
    ret = 0;

cleanup:
    if (f)
        fclose(f);
    return ret;
}

/* Writes one call as a CSV row (an absent or null field is empty), or with
 * `ndjson` as one line of JSON. Returns 0, or -1 after report(). */
static int write_row(FILE *out, const calls_call *call, int ndjson)
{
    const char *value;
    size_t k, len;
    if (ndjson) {
        calls_result rc = calls_call_json(call, &value, &len);
        if (rc != CALLS_RESULT_OK) {
            report("calls_call_json", rc);
            return -1;
        }
        fwrite(value, 1, len, out);
        fputc('\n', out);
        return 0;
    }
    for (k = 0; k < NCOLUMNS; k++) {
        if (call_text(call, COLUMNS[k], &value, &len) != 0)
            return -1;
        if (k)
            fputc(',', out);
        csv_field(out, value, len);
    }
    fputs("\r\n", out);
    return 0;
}

/* ---------------------------------------------------------------- sync */

static unsigned long long kill_after_rows; /* EXPORT_CSV_KILL_AFTER=K */
static int kill_before_rename;             /* EXPORT_CSV_KILL_AFTER=state */

/*
 * Reads a sync state file: *state (malloc'd) and *csv_bytes. Returns 1 when
 * read, 0 when it does not exist, -1 on an error (a message is printed).
 */
static int load_sync_state(const char *path, char **state, long long *csv_bytes)
{
    FILE *f;
    char line[64];
    long size;
    size_t n;
    *state = NULL;
    if ((f = fopen(path, "rb")) == NULL) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fgets(line, sizeof line, f) == NULL || strcmp(line, SYNC_MAGIC "\n") != 0 ||
        fgets(line, sizeof line, f) == NULL || sscanf(line, "csv_bytes %lld", csv_bytes) != 1 ||
        *csv_bytes < 0 || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > CKPT_MAX_BYTES * 16) {
        fprintf(stderr, "error: %s is not a sync state file of export_csv\n", path);
        fclose(f);
        return -1;
    }
    *state = malloc((size_t)size + 1);
    if (*state == NULL || fseek(f, 0, SEEK_SET) != 0 || fgets(line, sizeof line, f) == NULL ||
        fgets(line, sizeof line, f) == NULL) {
        fprintf(stderr, "error: cannot read %s\n", path);
        fclose(f);
        return -1;
    }
    n = fread(*state, 1, (size_t)size, f);
    (*state)[n] = '\0';
    while (n > 0 && ((*state)[n - 1] == '\n' || (*state)[n - 1] == '\r'))
        (*state)[--n] = '\0';
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "error: %s has no state line\n", path);
        return -1;
    }
    return 1;
}

/* fsync of a path's directory, so that a rename in it is durable. */
static int sync_dir_of(const char *path)
{
    char *dir = strdup(path), *slash;
    int fd, r = 0;
    if (dir == NULL)
        return -1;
    slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        r = fsync(fd);
        close(fd);
    }
    free(dir);
    return r;
}

/* Writes the sync state atomically: path.tmp, fsync, rename, fsync the dir. */
static int save_sync_state(const char *path, const char *state, long long csv_bytes)
{
    size_t n = strlen(path) + sizeof ".tmp";
    char *tmp = malloc(n);
    FILE *f = NULL;
    int ret = -1;
    if (tmp == NULL)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    if ((f = fopen(tmp, "wb")) == NULL) {
        fprintf(stderr, "error: cannot write %s: %s\n", tmp, strerror(errno));
        goto cleanup;
    }
    fprintf(f, "%s\ncsv_bytes %lld\n%s\n", SYNC_MAGIC, csv_bytes, state);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
        fprintf(stderr, "error: cannot write %s\n", tmp);
        goto cleanup;
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "error: cannot write %s\n", tmp);
        goto cleanup;
    }
    f = NULL;
    if (kill_before_rename)
        raise(SIGKILL); /* test hook: the state written, not yet in place */
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "error: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        goto cleanup;
    }
    if (sync_dir_of(path) != 0) {
        fprintf(stderr, "error: cannot sync the directory of %s\n", path);
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (f)
        fclose(f);
    if (ret != 0)
        remove(tmp);
    free(tmp);
    return ret;
}

/* export_csv --sync STATE OUT.csv. Returns the exit status. */
static int run_sync(calls_query *query, const struct options *o)
{
    calls_client_builder *builder = NULL;
    calls_client *client = NULL;
    calls_pager *pager = NULL;
    calls_call *call = NULL;
    calls_result rc;
    char *state = NULL, *next_state = NULL, *stats = NULL;
    const char *uuid;
    long long csv_bytes = 0, size = 0;
    unsigned long long existing = 0, rows = 0, again = 0;
    uuid_set seen = {NULL, 0, 0};
    FILE *out = NULL;
    int r, has_header = 0, shown = 0, ret = 1, lock;
    const char *k = getenv("EXPORT_CSV_KILL_AFTER");

    if ((lock = lock_run(o->sync_state, "export_csv --sync")) < 0)
        return 1;

    if (k && strcmp(k, "state") == 0)
        kill_before_rename = 1;
    else if (k && *k)
        kill_after_rows = strtoull(k, NULL, 10);
    if ((r = load_sync_state(o->sync_state, &state, &csv_bytes)) < 0)
        goto cleanup;
    if (r == 0 && o->since_days > 0 &&
        set_days_bound(query, "end_time__gte", time(NULL) - (time_t)(o->since_days * 86400ULL), "start", &rc) != 0)
        goto cleanup;
    /* The rows after csv_bytes were written by a run that did not replace
     * the state: the next one delivers them again, and they are skipped. */
    if (scan_csv_from(o->sync_out, csv_bytes, &seen, &existing, &has_header, &size) != 0)
        goto cleanup;
    if (r == 1 && (!has_header || size < csv_bytes)) {
        fprintf(stderr,
                "error: %s is shorter than when %s was written: it is not the file this state belongs "
                "to (remove %s to start a new series)\n",
                o->sync_out, o->sync_state, o->sync_state);
        goto cleanup;
    }
    if ((out = fopen(o->sync_out, "ab")) == NULL) {
        fprintf(stderr, "error: cannot append to %s: %s\n", o->sync_out, strerror(errno));
        goto cleanup;
    }
    if ((rc = calls_client_builder_from_env(&builder)) != CALLS_RESULT_OK) {
        report("calls_client_builder_from_env", rc);
        goto cleanup;
    }
    if ((rc = calls_client_builder_build(builder, &client)) != CALLS_RESULT_OK) {
        report("calls_client_builder_build", rc);
        goto cleanup;
    }
    if ((rc = calls_pager_sync_new(client, query, state, (uint32_t)(o->lookback_min * 60), &pager)) !=
        CALLS_RESULT_OK) {
        report("calls_pager_sync_new", rc);
        goto cleanup;
    }
    shown = progress_to_stderr(pager);
    if (!has_header) {
        char header[1024];
        header_row(header, sizeof header);
        fputs(header, out);
    }
    while ((rc = calls_pager_next_call(pager, &call)) == CALLS_RESULT_OK) {
        if (call_text(call, "call_uuid", &uuid, NULL) != 0)
            goto cleanup;
        if (uuid[0] != '\0' && set_has(&seen, uuid)) {
            again++;
        } else {
            if (write_row(out, call, 0) != 0)
                goto cleanup;
            rows++;
            if (kill_after_rows && rows == kill_after_rows && fflush(out) == 0)
                raise(SIGKILL); /* test hook: rows appended, state not replaced */
        }
        calls_call_free(call);
        call = NULL;
    }
    progress_done(shown);
    shown = 0;
    if (rc != CALLS_RESULT_DONE) {
        report("calls_pager_next_call", rc);
        goto cleanup;
    }
    /* The rows are on disk before the state that covers them. */
    if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0) {
        fprintf(stderr, "error: writing %s failed\n", o->sync_out);
        goto cleanup;
    }
    if ((size = ftell(out)) < 0) {
        fprintf(stderr, "error: cannot tell the size of %s\n", o->sync_out);
        goto cleanup;
    }
    if ((rc = calls_pager_sync_state(pager, &next_state, NULL)) != CALLS_RESULT_OK) {
        report("calls_pager_sync_state", rc);
        goto cleanup;
    }
    if (save_sync_state(o->sync_state, next_state, size) != 0)
        goto cleanup;
    calls_pager_stats(pager, &stats, NULL);
    fprintf(stderr,
            "export_csv: %llu rows appended to %s (%llu already in it from an interrupted run, "
            "%llu skipped as delivered by earlier runs, %llu requests)\n",
            rows, o->sync_out, again, stat_u64(stats, "already_delivered"), stat_u64(stats, "requests"));
    ret = 0;
cleanup:
    progress_done(shown);
    if (out != NULL && fclose(out) != 0 && ret == 0) {
        fprintf(stderr, "error: writing %s failed\n", o->sync_out);
        ret = 1;
    }
    (void)existing;
    calls_call_free(call);
    calls_string_free(next_state);
    calls_string_free(stats);
    free(state);
    set_free(&seen);
    calls_pager_free(pager);
    calls_client_free(client);
    close(lock);
    return ret;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    int ret = 1, r, has_header = 1, shown = 0;
    calls_result rc;
    calls_client *client = NULL;
    calls_query *query = NULL;
    calls_pager *pager = NULL;
    char *checkpoint = NULL;
    const char *uuid;
    calls_call *call = NULL;
    FILE *out = stdout;
    struct options opt;
    uuid_set seen = {NULL, 0, 0};
    long long started = (long long)time(NULL);
    unsigned long long rows = 0, existing = 0, duplicates = 0;

    if ((r = parse_args(argc, argv, (time_t)started, &query, &opt)) != 0) {
        ret = r > 0 ? 0 : 1;
        goto cleanup;
    }
    if (opt.sync_state != NULL) {
        ret = run_sync(query, &opt);
        goto cleanup;
    }
    if (opt.resume != NULL) {
        if (opt.checkpoint != NULL && (r = load_checkpoint(opt.checkpoint, &started, &checkpoint)) != 0) {
            if (r < 0)
                goto cleanup;
            /* The filters again, --days counting back from the saved start. */
            calls_query_free(query);
            query = NULL;
            if (parse_args(argc, argv, (time_t)started, &query, &opt) != 0)
                goto cleanup;
        }
        if (scan_csv(opt.resume, &seen, &existing, &has_header) != 0)
            goto cleanup;
        /* A checkpoint is saved only once the header is written: without it,
         * FILE is not the file the checkpoint belongs to. */
        if (checkpoint != NULL && !has_header) {
            fprintf(stderr,
                    "error: %s has no rows of the export that %s belongs to; remove %s to start over\n",
                    opt.resume, opt.checkpoint, opt.checkpoint);
            goto cleanup;
        }
        if ((out = fopen(opt.resume, "ab")) == NULL) {
            fprintf(stderr, "error: cannot append to %s: %s\n", opt.resume, strerror(errno));
            goto cleanup;
        }
    } else {
        has_header = 0;
    }

    if (pager_from_env(query, checkpoint, opt.resume ? 0 : opt.max_items, &client, &pager) != 0)
        goto cleanup;
    shown = progress_to_stderr(pager);

    if (!has_header && !opt.ndjson) {
        char header[1024];
        header_row(header, sizeof header);
        fputs(header, out);
    }
    if (opt.checkpoint != NULL && (fflush(out) != 0 || save_checkpoint(opt.checkpoint, started, pager) != 0))
        goto cleanup;
    rc = CALLS_RESULT_OK;
    while ((opt.max_items == 0 || existing + rows < opt.max_items) &&
           (rc = calls_pager_next_call(pager, &call)) == CALLS_RESULT_OK) {
        if (call_text(call, "call_uuid", &uuid, NULL) != 0)
            goto cleanup;
        if (opt.resume != NULL && uuid[0] != '\0' && set_has(&seen, uuid)) {
            duplicates++;
        } else {
            if (write_row(out, call, opt.ndjson) != 0)
                goto cleanup;
            rows++;
            if (opt.resume != NULL && uuid[0] != '\0' && set_add(&seen, uuid) != 0) {
                fprintf(stderr, "error: out of memory\n");
                goto cleanup;
            }
        }
        calls_call_free(call);
        call = NULL;
        /* The row is in the file before the checkpoint that covers it. */
        if (opt.checkpoint != NULL && (fflush(out) != 0 || save_checkpoint(opt.checkpoint, started, pager) != 0))
            goto cleanup;
    }
    progress_done(shown);
    shown = 0;
    if (rc != CALLS_RESULT_OK && rc != CALLS_RESULT_DONE) {
        report("calls_pager_next_call", rc);
        goto cleanup;
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "error: writing the CSV failed\n");
        goto cleanup;
    }
    /* After DONE the checkpoint says so: resuming again appends nothing. */
    if (opt.checkpoint != NULL && save_checkpoint(opt.checkpoint, started, pager) != 0)
        goto cleanup;
    if (opt.resume != NULL)
        fprintf(stderr, "export_csv: %llu rows appended to %s, %llu duplicates skipped (already in it), %llu rows in all\n",
                rows, opt.resume, duplicates, existing + rows);
    else
        fprintf(stderr, "export_csv: %llu rows\n", rows);
    ret = 0;

cleanup:
    progress_done(shown);
    if (out != stdout && out != NULL && fclose(out) != 0 && ret == 0) {
        fprintf(stderr, "error: writing %s failed\n", opt.resume);
        ret = 1;
    }
    calls_call_free(call);
    free(checkpoint);
    set_free(&seen);
    calls_pager_free(pager);
    calls_query_free(query);
    calls_client_free(client);
    return ret;
}
