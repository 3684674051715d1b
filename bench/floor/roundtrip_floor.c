// The Redis floor of one Celery round trip on this machine, with no Swift in it.
//
// A "worker" thread and a "client" thread talk to Redis through blocking hiredis connections
// and send exactly the commands of a Swift client/worker round trip, minus anything off the
// critical path (the early ack, the per-task SUBSCRIBE: the client subscribes once):
//   client: LPUSH a real Celery message (fixtures/messages/delay_simple.json), then wait for
//           the result notification on its pub/sub connection;
//   worker: BLMOVE wake-up, fetch script (RPOP, kombu's tail match, ZADD + HSET of the unacked
//           record), store script (GET, SETEX, PUBLISH of the result document).
// Prints the p50 / p99 of 2,000 round trips (after 100 warm-up ones) and, for comparison, of
// a plain PING on one connection; then the same round trips with an early ack (the worker's
// default: MULTI, ZREM, HDEL, EXEC on a second connection, from a second thread, as the task
// starts), which shows what acknowledging alongside the task costs even in C.
// Build and run: bench/roundtrip-floor.
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *host = "127.0.0.1";
static int port = 6391;
static char *message;
static size_t message_length;
static const char *queue = "floor.celery";
static const char *channel = "celery-task-meta-floor";
// With a third argument, the task's id: no worker thread; a real worker on queue `celery`
// serves the message and the client waits on celery-task-meta-<id> (deleted after each round).
static char real_channel[128];
static const char *document =
    "{\"status\": \"SUCCESS\", \"result\": 3, \"traceback\": null, \"children\": [], "
    "\"date_done\": \"2026-11-30T15:00:00.000000+00:00\", \"task_id\": \"floor\"}";

static const char *fetch_script =
    "local raw = redis.call('RPOP', KEYS[1]) "
    "if not raw then return false end "
    "local TAIL = '\"delivery_info\": {\"exchange\": \"([^\"\\\\]*)\", \"routing_key\": \"([^\"\\\\]*)\"}, ' .. "
    "'\"priority\": %d+, \"body_encoding\": \"base64\", \"delivery_tag\": \"([^\"\\\\]*)\"}}$' "
    "local e, r, t = string.match(raw, TAIL, -1024) "
    "t = t or 'tag' "
    "redis.call('ZADD', KEYS[3], ARGV[1], t) "
    "redis.call('HSET', KEYS[2], t, '[' .. raw .. ', \"' .. (e or '') .. '\", \"' .. (r or '') .. '\"]') "
    "return {KEYS[1], raw, t}";
static const char *store_script =
    "local existing = redis.call('GET', KEYS[1]) "
    "redis.call('SETEX', KEYS[1], 86400, ARGV[1]) "
    "redis.call('PUBLISH', KEYS[1], ARGV[1]) "
    "return 1";
static char fetch_sha[41], store_sha[41];

static redisContext *connect_or_die(void) {
    redisContext *c = redisConnect(host, port);
    if (c == NULL || c->err) { fprintf(stderr, "cannot connect to %s:%d\n", host, port); exit(1); }
    return c;
}

static redisReply *command_or_die(redisContext *c, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    redisReply *reply = redisvCommand(c, format, ap);
    va_end(ap);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "command failed: %s\n", reply ? reply->str : c->errstr);
        exit(1);
    }
    return reply;
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_percentiles(const char *name, double *samples, int count) {
    qsort(samples, count, sizeof(double), compare);
    printf("%-58s p50 %7.1f us   p99 %7.1f us\n", name, samples[count / 2], samples[count * 99 / 100]);
}

static volatile int stopping = 0;
static int early_ack = 0;
static sem_t ack_requested;
static char ack_tag[256];

// Acknowledges ack_tag each time the worker asks, on a connection of its own.
static void *acknowledger(void *unused) {
    (void)unused;
    redisContext *c = connect_or_die();
    while (1) {
        sem_wait(&ack_requested);
        if (stopping) break;
        redisAppendCommand(c, "MULTI");
        redisAppendCommand(c, "ZREM unacked_index.floor %s", ack_tag);
        redisAppendCommand(c, "HDEL unacked.floor %s", ack_tag);
        redisAppendCommand(c, "EXEC");
        for (int i = 0; i < 4; i++) {
            void *reply;
            if (redisGetReply(c, &reply) != REDIS_OK) { fprintf(stderr, "ack failed\n"); exit(1); }
            freeReplyObject(reply);
        }
    }
    redisFree(c);
    return NULL;
}

static void *worker(void *unused) {
    (void)unused;
    redisContext *c = connect_or_die();
    while (!stopping) {
        freeReplyObject(command_or_die(c, "BLMOVE %s %s RIGHT RIGHT 1", queue, queue));
        redisReply *fetched = command_or_die(c, "EVALSHA %s 3 %s unacked.floor unacked_index.floor %d",
                                             fetch_sha, queue, (int)time(NULL));
        int got = fetched->type == REDIS_REPLY_ARRAY;
        if (got && early_ack && fetched->elements == 3) {
            snprintf(ack_tag, sizeof ack_tag, "%s", fetched->element[2]->str);
            sem_post(&ack_requested);
        }
        freeReplyObject(fetched);
        if (got) freeReplyObject(command_or_die(c, "EVALSHA %s 1 %s %s", store_sha, channel, document));
    }
    redisFree(c);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) port = atoi(argv[1]);
    const char *path = argc > 2 ? argv[2] : "fixtures/messages/delay_simple.json";
    FILE *file = fopen(path, "rb");
    if (!file) { fprintf(stderr, "cannot read %s\n", path); return 1; }
    fseek(file, 0, SEEK_END);
    message_length = ftell(file);
    rewind(file);
    message = malloc(message_length);
    if (fread(message, 1, message_length, file) != message_length) return 1;
    fclose(file);
    while (message_length && (message[message_length - 1] == '\n')) message_length--;

    redisContext *commands = connect_or_die();
    redisReply *r = command_or_die(commands, "SCRIPT LOAD %s", fetch_script);
    strcpy(fetch_sha, r->str); freeReplyObject(r);
    r = command_or_die(commands, "SCRIPT LOAD %s", store_script);
    strcpy(store_sha, r->str); freeReplyObject(r);
    freeReplyObject(command_or_die(commands, "DEL %s unacked.floor unacked_index.floor %s", queue, channel));

    enum { warmup = 100, rounds = 2000 };
    static double samples[rounds];
    for (int i = 0; i < warmup + rounds; i++) {
        double start = now_us();
        freeReplyObject(command_or_die(commands, "PING"));
        if (i >= warmup) samples[i - warmup] = now_us() - start;
    }
    print_percentiles("PING, one blocking hiredis connection", samples, rounds);

    int with_real_worker = argc > 3;
    if (with_real_worker) {
        snprintf(real_channel, sizeof real_channel, "celery-task-meta-%s", argv[3]);
        channel = real_channel;
        queue = "celery";
    }
    redisContext *subscriber = connect_or_die();
    freeReplyObject(command_or_die(subscriber, "SUBSCRIBE %s", channel));
    pthread_t thread, ack_thread;
    sem_init(&ack_requested, 0, 0);
    if (!with_real_worker) {
        pthread_create(&thread, NULL, worker, NULL);
        pthread_create(&ack_thread, NULL, acknowledger, NULL);
    }
  for (int variant = 0; variant < (with_real_worker ? 1 : 2); variant++) {
    early_ack = variant;
    for (int i = 0; i < warmup + rounds; i++) {
        double start = now_us();
        freeReplyObject(command_or_die(commands, "LPUSH %s %b", queue, message, message_length));
        void *notification;
        if (redisGetReply(subscriber, &notification) != REDIS_OK) { fprintf(stderr, "subscriber failed\n"); return 1; }
        freeReplyObject(notification);
        if (i >= warmup) samples[i - warmup] = now_us() - start;
        // The worker records every message; keep unacked small, as acks would. A real worker
        // keeps a stored SUCCESS: delete it so the next round is stored and published again.
        freeReplyObject(command_or_die(commands, with_real_worker ? "DEL %s" : "DEL unacked.floor unacked_index.floor", channel));
    }
    print_percentiles(with_real_worker ? "round trip: this client, the worker on queue celery"
                      : early_ack ? "round trip, with an early ack alongside (2nd connection)"
                                  : "round trip: LPUSH -> BLMOVE, fetch, store -> notification", samples, rounds);
  }
    stopping = 1;
    if (!with_real_worker) {
        pthread_join(thread, NULL);
        sem_post(&ack_requested);
        pthread_join(ack_thread, NULL);
    }
    freeReplyObject(command_or_die(commands, "DEL %s unacked.floor unacked_index.floor %s", queue, channel));
    return 0;
}
