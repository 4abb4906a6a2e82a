/*  =========================================================================
    datapath - the worker's data path: a job's window of candles fetched as
    every job fetched it before the data cache (the whole series, then cut
    in memory), pushed down to the source, and through the cache (cold,
    then warm), from CSV files and from PostgreSQL

        build/bench/datapath [--symbols N] [--candles N] [--jobs N]
                             [--limit N] [--db CONNINFO]

    Writes N symbols of M synthetic one-minute candles as CSV files in a
    temporary directory and, with --db, into the table candles of that
    database (deploy/sql/001 and 002 applied; symbols BENCH000… are
    replaced). Then each mode runs --jobs rounds over the symbols, one job
    a symbol a round, each asking for the latest --limit candles, and
    prints one JSON line: microseconds per fetch (p50, p99) for the first
    round (cold) and the later ones (warm), and the statements sent and
    candles received per job. Every fetch is checked against the whole
    series cut in memory.

    Modes: csv_whole (load the file, cut), csv_cache; with --db also
    pg_whole (the query jobs ran before the cache: every row, the time as
    extract (epoch …) * 1000 computed per row), pg_pushdown (the window in
    the query, no cache), pg_cache, and pg_burst: --jobs jobs started at
    once on each symbol, cold, through one cache (they share its fetch).
    ========================================================================= */

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "sf_cache.h"
#include "sf_candles.h"
#include "sf_source.h"

//  The query every job ran before the data cache, for pg_whole.
#define S_WHOLE_SQL \
    "SELECT (extract (epoch FROM ts) * 1000)::float8, open, high, low, close, volume " \
    "FROM candles WHERE symbol = $1 AND timeframe = $2 ORDER BY ts"

typedef struct {
    size_t symbols;             //  Symbols
    size_t candles;             //  Candles a symbol
    size_t jobs;                //  Jobs a symbol
    size_t limit;               //  Candles a job asks for
    const char *db;             //  PostgreSQL conninfo or NULL
    char dir [64];              //  The CSV files
    sf_candles_t *series;       //  What every symbol holds
} s_bench_t;

static uint32_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint32_t) ((uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000);
}

//  The synthetic series: a random walk of one-minute candles from 2024.
static sf_candles_t *
s_series (size_t size)
{
    sf_candles_t *series = sf_candles_new (size);
    unsigned seed = 7;
    double price = 100;
    for (size_t i = 0; i < size; i++) {
        double open = price;
        price *= exp (((double) rand_r (&seed) / RAND_MAX - 0.5) * 0.002);
        sf_candles_append (series, 1704067200000.0 + 60000.0 * (double) i, open,
                           round (fmax (open, price) * 100050) / 100000,
                           round (fmin (open, price) * 99950) / 100000, round (price * 1e4) / 1e4,
                           (double) (rand_r (&seed) % 5000));
    }
    return series;
}

static void
s_symbol (char *symbol, size_t index)
{
    snprintf (symbol, 16, "BENCH%03u", (unsigned) (index % 1000));
}

//  Write the CSV files.
static void
s_write_csv (s_bench_t *self)
{
    for (size_t s = 0; s < self->symbols; s++) {
        char symbol [16], path [128];
        s_symbol (symbol, s);
        snprintf (path, sizeof path, "%s/%s_1m.csv", self->dir, symbol);
        FILE *file = fopen (path, "w");
        if (!file)
            abort ();
        fprintf (file, "ts,open,high,low,close,volume\n");
        const sf_candles_t *c = self->series;
        for (size_t i = 0; i < c->size; i++)
            fprintf (file, "%.0f,%.17g,%.17g,%.17g,%.17g,%.17g\n", c->ts [i], c->open [i],
                     c->high [i], c->low [i], c->close [i], c->volume [i]);
        fclose (file);
    }
}

//  Replace the symbols' rows in the database. Returns 0 or -1.
static int
s_load_db (s_bench_t *self)
{
    PGconn *conn = PQconnectdb (self->db);
    int rc = -1;
    PGresult *result = NULL;
    if (PQstatus (conn) != CONNECTION_OK)
        goto done;
    result = PQexec (conn, "DELETE FROM candles WHERE symbol LIKE 'BENCH%'");
    if (PQresultStatus (result) != PGRES_COMMAND_OK)
        goto done;
    PQclear (result);
    result = PQexec (conn, "COPY candles FROM STDIN");
    if (PQresultStatus (result) != PGRES_COPY_IN)
        goto done;
    char line [256];
    for (size_t s = 0; s < self->symbols; s++) {
        char symbol [16];
        s_symbol (symbol, s);
        const sf_candles_t *c = self->series;
        for (size_t i = 0; i < c->size; i++) {
            time_t seconds = (time_t) (c->ts [i] / 1000);
            struct tm tm;
            gmtime_r (&seconds, &tm);
            char stamp [32];
            strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S+00", &tm);
            int length = snprintf (line, sizeof line, "%s\t1m\t%s\t%.17g\t%.17g\t%.17g\t%.17g\t"
                                   "%.17g\n", symbol, stamp, c->open [i], c->high [i],
                                   c->low [i], c->close [i], c->volume [i]);
            if (PQputCopyData (conn, line, length) != 1)
                goto done;
        }
    }
    if (PQputCopyEnd (conn, NULL) != 1)
        goto done;
    PQclear (result);
    result = PQgetResult (conn);
    rc = PQresultStatus (result) == PGRES_COMMAND_OK? 0: -1;
done:
    if (rc)
        fprintf (stderr, "datapath: cannot load the database: %s", PQerrorMessage (conn));
    PQclear (result);
    PQfinish (conn);
    return rc;
}

//  --------------------------------------------------------------------------
//  The pre-cache PostgreSQL fetch, as a baseline

typedef struct {
    PGconn *conn;               //  Its connection
} s_whole_t;

static double
s_float8 (const char *data)
{
    uint32_t halves [2];
    memcpy (halves, data, 8);
    uint64_t bits = (uint64_t) ntohl (halves [0]) << 32 | ntohl (halves [1]);
    double value;
    memcpy (&value, &bits, 8);
    return value;
}

//  Every row of symbol, as the worker read them before. NULL on error.
static sf_candles_t *
s_whole_fetch (s_whole_t *self, const char *symbol)
{
    const char *values [2] = { symbol, "1m" };
    PGresult *result = PQexecPrepared (self->conn, "whole", 2, values, NULL, NULL, 1);
    sf_candles_t *candles = NULL;
    if (PQresultStatus (result) == PGRES_TUPLES_OK) {
        int rows = PQntuples (result);
        candles = sf_candles_new ((size_t) rows);
        for (int row = 0; row < rows; row++)
            sf_candles_append (candles, s_float8 (PQgetvalue (result, row, 0)),
                               s_float8 (PQgetvalue (result, row, 1)),
                               s_float8 (PQgetvalue (result, row, 2)),
                               s_float8 (PQgetvalue (result, row, 3)),
                               s_float8 (PQgetvalue (result, row, 4)),
                               s_float8 (PQgetvalue (result, row, 5)));
    }
    PQclear (result);
    return candles;
}

//  --------------------------------------------------------------------------
//  Running a mode

typedef enum { S_CSV_WHOLE, S_CSV_CACHE, S_PG_WHOLE, S_PG_PUSHDOWN, S_PG_CACHE } s_mode_t;

static const char *s_modes [] = { "csv_whole", "csv_cache", "pg_whole", "pg_pushdown",
                                  "pg_cache" };

//  One of the jobs that pg_burst starts at once on a symbol.
typedef struct {
    sf_cache_t *cache;          //  The cache
    sf_source_t *source;        //  Its source
    pthread_barrier_t *start;   //  Where the jobs wait for each other
    sf_request_t request;       //  What to fetch
    size_t size;                //  Candles it got (0: failed)
    uint32_t took;              //  Microseconds
} s_burst_t;

static void *
s_burst_job (void *arg)
{
    s_burst_t *job = (s_burst_t *) arg;
    pthread_barrier_wait (job->start);
    uint32_t start = s_now_us ();
    sf_candles_t *candles;
    sf_error_t error;
    job->size = 0;
    if (sf_cache_fetch (job->cache, job->source, &job->request, &candles, &error) == 0) {
        job->size = candles->size;
        sf_candles_destroy (&candles);
    }
    job->took = s_now_us () - start;
    return NULL;
}

//  pg_burst: --jobs jobs at once on each cold symbol, through one cache.
//  Prints its line. Returns 0, or -1 when a fetch failed.
static int
s_burst (s_bench_t *self)
{
    sf_cache_t *cache = sf_cache_new (SF_CACHE_DEFAULT);
    sf_source_t *source = sf_source_pg_new (self->db, 1);
    source = sf_cache_add (cache, &source);
    size_t jobs = self->symbols * self->jobs, wrong = 0;
    uint32_t *took = (uint32_t *) calloc (jobs, sizeof (uint32_t));
    s_burst_t *burst = (s_burst_t *) calloc (self->jobs, sizeof (s_burst_t));
    pthread_t *threads = (pthread_t *) calloc (self->jobs, sizeof (pthread_t));
    pthread_barrier_t start;
    for (size_t s = 0; s < self->symbols; s++) {
        char symbol [16];
        s_symbol (symbol, s);
        pthread_barrier_init (&start, NULL, (unsigned) self->jobs);
        for (size_t j = 0; j < self->jobs; j++) {
            burst [j] = (s_burst_t) { cache, source, &start, sf_request_all (symbol, "1m"), 0, 0 };
            burst [j].request.limit = self->limit;
            pthread_create (&threads [j], NULL, s_burst_job, &burst [j]);
        }
        for (size_t j = 0; j < self->jobs; j++) {
            pthread_join (threads [j], NULL);
            took [s * self->jobs + j] = burst [j].took;
            wrong += burst [j].size != self->limit;
        }
        pthread_barrier_destroy (&start);
    }
    sf_cache_stats_t stats;
    sf_cache_stats (cache, &stats);
    qsort (took, jobs, sizeof (uint32_t), bench_compare_u32);
    printf ("{\"mode\":\"pg_burst\",\"symbols\":%zu,\"candles\":%zu,\"jobs\":%zu,"
            "\"limit\":%zu,\"at_once\":%zu,\"p50_us\":%u,\"p99_us\":%u,"
            "\"queries_per_job\":%.2f,\"joins_per_job\":%.2f,\"rows_per_job\":%.1f,"
            "\"wrong\":%zu}\n", self->symbols, self->candles, jobs, self->limit, self->jobs,
            bench_percentile (took, jobs, 50), bench_percentile (took, jobs, 99),
            (double) (stats.loads + stats.refreshes + stats.direct) / (double) jobs,
            (double) stats.joins / (double) jobs, (double) stats.rows / (double) jobs, wrong);
    fflush (stdout);
    free (took);
    free (burst);
    free (threads);
    sf_cache_destroy (&cache);
    return wrong? -1: 0;
}

//  Run one mode; print its line. Returns 0, or -1 when a fetch failed or
//  returned other candles than expected.
static int
s_run (s_bench_t *self, s_mode_t mode)
{
    sf_cache_t *cache = NULL;
    sf_source_t *source = NULL;
    s_whole_t whole = { NULL };
    if (mode == S_PG_WHOLE) {
        whole.conn = PQconnectdb (self->db);
        PGresult *result = PQprepare (whole.conn, "whole", S_WHOLE_SQL, 0, NULL);
        bool good = PQresultStatus (result) == PGRES_COMMAND_OK;
        PQclear (result);
        if (!good) {
            fprintf (stderr, "datapath: %s", PQerrorMessage (whole.conn));
            PQfinish (whole.conn);
            return -1;
        }
    }
    else
    if (mode != S_CSV_WHOLE) {
        cache = sf_cache_new (mode == S_PG_PUSHDOWN? 0: SF_CACHE_DEFAULT);
        source = mode == S_CSV_CACHE? sf_source_csv_new (self->dir): sf_source_pg_new (self->db, 1);
        source = sf_cache_add (cache, &source);
    }
    sf_request_t want = sf_request_all ("", "1m");
    want.limit = self->limit;
    sf_candles_t *expected = sf_request_cut (&want, self->series);
    uint32_t *cold = (uint32_t *) calloc (self->symbols, sizeof (uint32_t));
    uint32_t *warm = (uint32_t *) calloc (self->symbols * self->jobs, sizeof (uint32_t));
    size_t warm_count = 0, queries = 0, rows = 0, wrong = 0;
    for (size_t round = 0; round < self->jobs; round++)
        for (size_t s = 0; s < self->symbols; s++) {
            char symbol [16];
            s_symbol (symbol, s);
            sf_request_t request = want;
            request.symbol = symbol;
            sf_candles_t *candles = NULL;
            sf_error_t error;
            uint32_t start = s_now_us ();
            if (mode == S_CSV_WHOLE) {
                char path [128];
                snprintf (path, sizeof path, "%s/%s_1m.csv", self->dir, symbol);
                sf_candles_t *all = sf_candles_load_csv (path, &error);
                if (all) {
                    candles = sf_request_cut (&request, all);
                    rows += all->size;
                    sf_candles_destroy (&all);
                }
            }
            else
            if (mode == S_PG_WHOLE) {
                sf_candles_t *all = s_whole_fetch (&whole, symbol);
                if (all) {
                    sf_candles_window (all, NAN, NAN, request.limit);
                    candles = all;
                    rows += self->series->size;
                    queries++;
                }
            }
            else
            if (sf_cache_fetch (cache, source, &request, &candles, &error))
                candles = NULL;
            uint32_t took = s_now_us () - start;
            if (round == 0)
                cold [s] = took;
            else
                warm [warm_count++] = took;
            if (!candles || candles->size != expected->size
            ||  memcmp (candles->ts, expected->ts, expected->size * 8)
            ||  memcmp (candles->close, expected->close, expected->size * 8))
                wrong++;
            sf_candles_destroy (&candles);
        }
    if (cache) {
        sf_cache_stats_t stats;
        sf_cache_stats (cache, &stats);
        if (mode != S_CSV_CACHE)
            queries = stats.loads + stats.refreshes + stats.direct;
        rows = stats.rows;
    }
    size_t jobs = self->symbols * self->jobs;
    qsort (cold, self->symbols, sizeof (uint32_t), bench_compare_u32);
    qsort (warm, warm_count, sizeof (uint32_t), bench_compare_u32);
    printf ("{\"mode\":\"%s\",\"symbols\":%zu,\"candles\":%zu,\"jobs\":%zu,\"limit\":%zu,"
            "\"cold_p50_us\":%u,\"cold_p99_us\":%u,\"warm_p50_us\":%u,\"warm_p99_us\":%u,"
            "\"queries_per_job\":%.2f,\"rows_per_job\":%.1f,\"wrong\":%zu}\n",
            s_modes [mode], self->symbols, self->candles, jobs, self->limit,
            bench_percentile (cold, self->symbols, 50), bench_percentile (cold, self->symbols, 99),
            warm_count? bench_percentile (warm, warm_count, 50): 0,
            warm_count? bench_percentile (warm, warm_count, 99): 0,
            (double) queries / (double) jobs, (double) rows / (double) jobs, wrong);
    fflush (stdout);
    free (cold);
    free (warm);
    sf_candles_destroy (&expected);
    sf_cache_destroy (&cache);
    if (whole.conn)
        PQfinish (whole.conn);
    return wrong? -1: 0;
}

int
main (int argc, char *argv [])
{
    s_bench_t self = { .symbols = 100, .candles = 20000, .jobs = 5, .limit = 500 };
    for (int i = 1; i < argc; i++) {
        long value;
        size_t *field = strcmp (argv [i], "--symbols") == 0? &self.symbols
                      : strcmp (argv [i], "--candles") == 0? &self.candles
                      : strcmp (argv [i], "--jobs") == 0? &self.jobs
                      : strcmp (argv [i], "--limit") == 0? &self.limit: NULL;
        if (field && i + 1 < argc && bench_parse_long (argv [i + 1], 1, 100000000, &value) == 0
        &&  !(field == &self.symbols && value > 1000)) {
            *field = (size_t) value;
            i++;
        }
        else
        if (strcmp (argv [i], "--db") == 0 && i + 1 < argc)
            self.db = argv [++i];
        else {
            fprintf (stderr, "usage: datapath [--symbols N] [--candles N] [--jobs N] "
                     "[--limit N] [--db CONNINFO]\n");
            return 64;
        }
    }
    snprintf (self.dir, sizeof self.dir, "/tmp/sheaf-datapath-XXXXXX");
    if (!mkdtemp (self.dir)) {
        perror ("datapath: mkdtemp");
        return 1;
    }
    self.series = s_series (self.candles);
    s_write_csv (&self);
    //  The files must be older than a racy stamp, or the cache reads them
    //  again at every job (sf_source.h)
    sleep (SF_STAMP_RACY_NS / 1000000000 + 1);
    int rc = s_run (&self, S_CSV_WHOLE) || s_run (&self, S_CSV_CACHE);
    if (rc == 0 && self.db)
        rc = s_load_db (&self) || s_run (&self, S_PG_WHOLE) || s_run (&self, S_PG_PUSHDOWN)
          || s_run (&self, S_PG_CACHE) || s_burst (&self);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", self.dir);
    if (system (command) != 0)
        fprintf (stderr, "datapath: cannot remove %s\n", self.dir);
    sf_candles_destroy (&self.series);
    return rc? 1: 0;
}
