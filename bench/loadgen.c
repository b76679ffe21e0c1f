/* loadgen: N websocket clients on loopback in one thread on one epoll set, measuring
 * delivery of stamped ops. Driven over stdin/stdout by bench/loadgen.py; see there for the
 * command line and the control protocol. C11 + Linux, no third-party code.
 *
 *   cc -O2 -Wall -Wextra -o loadgen bench/loadgen.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE ((size_t)1 << 20)    /* shared read buffer: one read drains a socket */
#define BIG_FRAME (RBUF_SIZE / 2)      /* a pending frame above this is read in place */
#define KEEP_IN 4096                   /* per-connection leftover buffer kept when empty */
#define MAX_MSG ((size_t)64 << 20)     /* largest message accepted (spec: >= 8 MiB) */
#define MAX_HTTP 16384
#define HIST_N ((size_t)1 << 22)       /* exact 1-us buckets up to ~4.2 s, beyond: sorted */
#define MAX_ATTEMPTS 4                 /* the first try + 3 retries */
#define RETRY_DELAY_NS 200000000LL
#define TIMEOUT_SCAN_NS 50000000LL
#define MAX_EVENTS 1024
#define STDIN_ID UINT64_MAX
#define MAX_LOGGED 20                  /* failure messages printed before going quiet */

enum proto { P_PLENARY, P_SOCKETIO };
enum state { S_IDLE, S_CONNECTING, S_UPGRADING, S_WAIT_READY, S_READY, S_RETRY, S_FAILED,
             S_CLOSED };

struct target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[300];
};

struct conn {
    int fd;
    uint8_t state;
    uint8_t attempts;
    uint8_t frag_op;
    bool frag;
    bool want_out;
    bool stalled;       /* told to stop reading: a phone in a pocket */
    const char *kill;   /* set while parsing; the connection is dropped once parsing stops */
    int slot;
    uint32_t target;
    int64_t deadline;   /* handshake deadline, or when to retry */
    int64_t cursor;     /* plenary: last seq seen; socketio: last op seq */
    uint64_t recv;      /* stamped ops since reset */
    uint8_t *in;        /* bytes of an incomplete frame carried to the next read */
    size_t in_len, in_cap, in_need;
    uint8_t *msg;       /* fragments of a message not finished yet */
    size_t msg_len, msg_cap;
    uint8_t *out;       /* what the socket did not take yet */
    size_t out_off, out_len, out_cap;
};

/* -- configuration and state ----------------------------------------------------------- */

static struct target *targets;
static size_t ntargets;
static const char *ws_path = "/";
static enum proto proto = P_PLENARY;
static uint32_t nclients;
static uint32_t concurrency = 64;
static int64_t hs_timeout_ns = 10000000000LL;
static uint8_t *hello_blob;
static size_t *hello_off;
static uint32_t *hello_len;

static struct conn *conns;
static int epfd = -1;
static uint8_t *rbuf;
static uint8_t *scratch;
static size_t scratch_cap;
static int64_t g_now;
static uint64_t rng_state;
static int stdin_polled = 1;

static uint32_t next_new;          /* clients never started below this index */
static uint32_t *retryq;           /* FIFO: the delay is constant, so it is also time order */
static uint32_t rq_head, rq_len;
static int *slot_conn, *free_slots;
static uint32_t nfree_slots, inflight;
static int64_t next_scan;
static uint32_t n_ready, n_failed, n_closed, n_alive, n_stalled;
static bool ready_printed;
static int64_t t_start;
static unsigned logged;

static bool waiting;
static uint64_t wait_k;
static int64_t wait_deadline;
static uint32_t alive_incomplete;  /* ready, open clients below wait_k while waiting */

static char cmdbuf[4096];
static size_t cmd_len;

static struct {
    uint64_t received, dup, frames, bytes;
    int64_t first_ns, last_ns;
    double cpu0;
    uint32_t *hist;
    size_t hist_hi;
    uint32_t *over;
    size_t over_len, over_cap;
    uint32_t max;
} st;

/* -- small helpers ---------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

__attribute__((format(printf, 1, 2)))
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t rng64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p)
        return false;
    *buf = p;
    *cap = n;
    return true;
}

static uint8_t *scratch_for(size_t n)
{
    if (!grow(&scratch, &scratch_cap, n))
        die("out of memory");
    return scratch;
}

static void base64(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = 0;
}

__attribute__((format(printf, 1, 2)))
static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    if (fflush(stdout) != 0)
        exit(0);  /* the driver has gone */
}

/* -- latency samples -------------------------------------------------------------------- */

static void add_sample(uint32_t us)
{
    if (us < HIST_N) {
        st.hist[us]++;
        if (us >= st.hist_hi)
            st.hist_hi = us + 1;
    } else {
        if (st.over_len == st.over_cap) {
            size_t n = st.over_cap ? st.over_cap * 2 : 4096;
            uint32_t *p = realloc(st.over, n * sizeof *p);
            if (!p)
                die("out of memory");
            st.over = p;
            st.over_cap = n;
        }
        st.over[st.over_len++] = us;
    }
    if (us > st.max)
        st.max = us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank over every sample: the smallest value with at least ceil(p*n) at or below. */
static void percentiles(uint32_t out[4])
{
    static const uint64_t per_mille[4] = {500, 900, 990, 999};
    uint64_t n = st.received, ranks[4];
    memset(out, 0, 4 * sizeof *out);
    if (n == 0)
        return;
    for (int k = 0; k < 4; k++) {
        ranks[k] = (n * per_mille[k] + 999) / 1000;
        if (ranks[k] == 0)
            ranks[k] = 1;
    }
    if (st.over_len)
        qsort(st.over, st.over_len, sizeof *st.over, cmp_u32);
    uint64_t cum = 0;
    int k = 0;
    for (size_t v = 0; v < st.hist_hi && k < 4; v++) {
        cum += st.hist[v];
        while (k < 4 && cum >= ranks[k])
            out[k++] = (uint32_t)v;
    }
    for (; k < 4; k++)
        out[k] = st.over[ranks[k] - cum - 1];
}

static void reset_stats(void)
{
    memset(st.hist, 0, st.hist_hi * sizeof *st.hist);
    st.hist_hi = 0;
    st.over_len = 0;
    st.max = 0;
    st.received = st.dup = st.frames = st.bytes = 0;
    st.first_ns = st.last_ns = 0;
    for (uint32_t i = 0; i < nclients; i++)
        conns[i].recv = 0;
    st.cpu0 = cpu_now();
}

/* -- output ----------------------------------------------------------------------------- */

static void set_out(struct conn *c, bool want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = (c->stalled ? 0u : EPOLLIN) | (want ? EPOLLOUT : 0u)};
    ev.data.u64 = (uint64_t)(c - conns);
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->want_out = want;
}

static void conn_write(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->kill)
        return;
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        while (n) {
            ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                c->kill = "write error";
                return;
            }
            p += w;
            n -= (size_t)w;
        }
        if (!n)
            return;
    }
    if (!grow(&c->out, &c->out_cap, c->out_len + n)) {
        c->kill = "out of memory";
        return;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    set_out(c, true);
}

static void flush_out(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            c->kill = "write error";
            return;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > KEEP_IN) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    set_out(c, false);
}

/* One masked client frame: the server must reject unmasked ones. */
static void send_frame(struct conn *c, unsigned op, const uint8_t *p, size_t n)
{
    size_t hl = 2 + 4 + (n < 126 ? 0 : n < 65536 ? 2 : 8);
    uint8_t *b = scratch_for(hl + n);
    b[0] = (uint8_t)(0x80 | op);
    if (n < 126) {
        b[1] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        b[1] = 0x80 | 126;
        b[2] = (uint8_t)(n >> 8);
        b[3] = (uint8_t)n;
    } else {
        b[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            b[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    uint32_t m = (uint32_t)rng64();
    uint8_t *mask = b + hl - 4;
    memcpy(mask, &m, 4);
    for (size_t i = 0; i < n; i++)
        b[hl + i] = p[i] ^ mask[i & 3];
    conn_write(c, b, hl + n);
}

static void send_text(struct conn *c, const char *s)
{
    send_frame(c, 0x1, (const uint8_t *)s, strlen(s));
}

/* -- connection lifecycle --------------------------------------------------------------- */

static void free_bufs(struct conn *c)
{
    free(c->in);
    free(c->msg);
    free(c->out);
    c->in = c->msg = c->out = NULL;
    c->in_len = c->in_cap = c->in_need = 0;
    c->msg_len = c->msg_cap = 0;
    c->out_off = c->out_len = c->out_cap = 0;
    c->frag = false;
    c->want_out = false;
}

static void release_slot(struct conn *c)
{
    if (c->slot < 0)
        return;
    slot_conn[c->slot] = -1;
    free_slots[nfree_slots++] = c->slot;
    c->slot = -1;
    inflight--;
}

static void attempt_failed(struct conn *c, const char *why)
{
    uint32_t idx = (uint32_t)(c - conns);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free_bufs(c);
    release_slot(c);
    c->kill = NULL;
    c->attempts++;
    if (logged < MAX_LOGGED) {
        logged++;
        note("client %" PRIu32 ": attempt %u failed: %s%s", idx, c->attempts, why,
             logged == MAX_LOGGED ? " (further failures not logged)" : "");
    }
    if (c->attempts < MAX_ATTEMPTS) {
        c->state = S_RETRY;
        c->deadline = mono_ns() + RETRY_DELAY_NS;
        retryq[(rq_head + rq_len++) % nclients] = idx;
    } else {
        c->state = S_FAILED;
        n_failed++;
    }
}

static void became_ready(struct conn *c)
{
    if (c->state == S_READY)
        return;
    c->state = S_READY;
    release_slot(c);
    n_ready++;
    n_alive++;
    if (waiting && c->recv < wait_k)
        alive_incomplete++;
}

static void conn_closed(struct conn *c, const char *why)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free_bufs(c);
    c->kill = NULL;
    c->state = S_CLOSED;
    n_closed++;
    n_alive--;
    if (waiting && c->recv < wait_k && !c->stalled)
        alive_incomplete--;
    if (logged < MAX_LOGGED) {
        logged++;
        note("client %" PRIu32 ": closed: %s", (uint32_t)(c - conns), why);
    }
}

static void conn_lost(struct conn *c, const char *why)
{
    if (c->state == S_READY)
        conn_closed(c, why);
    else if (c->state == S_CONNECTING || c->state == S_UPGRADING || c->state == S_WAIT_READY)
        attempt_failed(c, why);
}

static void send_upgrade(struct conn *c)
{
    struct target *t = &targets[c->target];
    uint8_t raw[16];
    char key[32];
    uint64_t a = rng64(), b = rng64();
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 8);
    base64(raw, 16, key);
    size_t cap = strlen(ws_path) + strlen(t->host) + 256;
    char *req = (char *)scratch_for(cap);
    int n = snprintf(req, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     ws_path, t->host, key);
    c->state = S_UPGRADING;
    set_out(c, false);  /* from connect's EPOLLOUT to reading */
    conn_write(c, (const uint8_t *)req, (size_t)n);
}

static void conn_open(uint32_t idx)
{
    struct conn *c = &conns[idx];
    struct target *t = &targets[c->target];
    c->slot = free_slots[--nfree_slots];
    slot_conn[c->slot] = (int)idx;
    inflight++;
    c->deadline = mono_ns() + hs_timeout_ns;
    c->cursor = 0;
    c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        attempt_failed(c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = connect(c->fd, (struct sockaddr *)&t->addr, t->addrlen);
    if (r < 0 && errno != EINPROGRESS) {
        attempt_failed(c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT};
    ev.data.u64 = idx;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        attempt_failed(c, strerror(errno));
        return;
    }
    c->want_out = true;
    c->state = S_CONNECTING;
    if (r == 0)
        send_upgrade(c);
    if (c->kill)
        attempt_failed(c, c->kill);
}

static void start_more(void)
{
    while (nfree_slots > 0) {
        if (rq_len > 0 && conns[retryq[rq_head]].deadline <= g_now) {
            uint32_t idx = retryq[rq_head];
            rq_head = (rq_head + 1) % nclients;
            rq_len--;
            conn_open(idx);
        } else if (next_new < nclients) {
            conn_open(next_new++);
        } else {
            break;
        }
    }
}

static void scan_timeouts(void)
{
    if (inflight == 0 || g_now < next_scan)
        return;
    next_scan = g_now + TIMEOUT_SCAN_NS;
    for (uint32_t s = 0; s < concurrency; s++) {
        int i = slot_conn[s];
        if (i >= 0 && conns[i].deadline <= g_now)
            attempt_failed(&conns[i], "handshake timed out");
    }
}

/* -- msgpack reading -------------------------------------------------------------------- */

enum { MP_ERR, MP_NIL, MP_BOOL, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARR, MP_MAP, MP_EXT };

struct mpv {
    int kind;
    int64_t i;         /* MP_INT (uint64 above INT64_MAX saturates) */
    uint32_t n;        /* length of str/bin, count of array/map */
    const uint8_t *s;  /* str/bin bytes */
};

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads one header; str/bin/ext/scalars are consumed whole, arrays and maps only the
 * header (their items follow). */
static int mp_next(const uint8_t **pp, const uint8_t *end, struct mpv *v)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return v->kind = MP_ERR;
    uint8_t b = *p++;
    size_t avail = (size_t)(end - p);
    size_t w = 0, skip = 0;  /* width of a length field, and bytes after it to step over */
    v->kind = MP_ERR;
    if (b <= 0x7f) {
        v->kind = MP_INT;
        v->i = b;
    } else if (b >= 0xe0) {
        v->kind = MP_INT;
        v->i = (int8_t)b;
    } else if (b <= 0x8f) {
        v->kind = MP_MAP;
        v->n = b & 0x0f;
    } else if (b <= 0x9f) {
        v->kind = MP_ARR;
        v->n = b & 0x0f;
    } else if (b <= 0xbf) {
        v->kind = MP_STR;
        v->n = b & 0x1f;
    } else {
        switch (b) {
        case 0xc0: v->kind = MP_NIL; break;
        case 0xc2: case 0xc3: v->kind = MP_BOOL; v->i = b & 1; break;
        case 0xc4: case 0xc5: case 0xc6: v->kind = MP_BIN; w = (size_t)1 << (b - 0xc4); break;
        case 0xc7: case 0xc8: case 0xc9: v->kind = MP_EXT; w = (size_t)1 << (b - 0xc7); break;
        case 0xca: v->kind = MP_FLOAT; skip = 4; break;
        case 0xcb: v->kind = MP_FLOAT; skip = 8; break;
        case 0xcc: case 0xcd: case 0xce: case 0xcf: {
            int n = 1 << (b - 0xcc);
            if (avail < (size_t)n)
                return MP_ERR;
            uint64_t u = be(p, n);
            p += n;
            v->kind = MP_INT;
            v->i = u > INT64_MAX ? INT64_MAX : (int64_t)u;
            break;
        }
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            int n = 1 << (b - 0xd0);
            if (avail < (size_t)n)
                return MP_ERR;
            uint64_t u = be(p, n);
            p += n;
            if (n < 8 && (u >> (8 * n - 1)))
                u |= ~(uint64_t)0 << (8 * n);  /* sign-extend */
            v->kind = MP_INT;
            v->i = (int64_t)u;
            break;
        }
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            v->kind = MP_EXT;
            skip = 1 + ((size_t)1 << (b - 0xd4));
            break;
        case 0xd9: case 0xda: case 0xdb: v->kind = MP_STR; w = (size_t)1 << (b - 0xd9); break;
        case 0xdc: case 0xdd:
            if (avail < (size_t)2 << (b - 0xdc))
                return MP_ERR;
            v->kind = MP_ARR;
            v->n = (uint32_t)be(p, 2 << (b - 0xdc));
            p += 2 << (b - 0xdc);
            break;
        case 0xde: case 0xdf:
            if (avail < (size_t)2 << (b - 0xde))
                return MP_ERR;
            v->kind = MP_MAP;
            v->n = (uint32_t)be(p, 2 << (b - 0xde));
            p += 2 << (b - 0xde);
            break;
        default: return MP_ERR;  /* 0xc1 */
        }
        if (w) {
            if (avail < w)
                return v->kind = MP_ERR;
            uint64_t len = be(p, (int)w);
            p += w;
            if (v->kind == MP_EXT)
                len += 1;  /* the type byte */
            else
                v->n = (uint32_t)len;
            skip = (size_t)len;
        }
    }
    if (v->kind == MP_STR && b >= 0xa0 && b <= 0xbf)
        skip = v->n;
    if (skip > (size_t)(end - p))
        return v->kind = MP_ERR;
    v->s = p;
    p += skip;
    *pp = p;
    return v->kind;
}

/* Steps over one whole value, however nested, without recursion. */
static bool mp_skip(const uint8_t **pp, const uint8_t *end)
{
    uint64_t todo = 1;
    struct mpv v;
    while (todo) {
        todo--;
        switch (mp_next(pp, end, &v)) {
        case MP_ERR: return false;
        case MP_ARR: todo += v.n; break;
        case MP_MAP: todo += 2 * (uint64_t)v.n; break;
        default: break;
        }
    }
    return true;
}

/* Reads a map key that is a str; anything else is skipped and reported as no key. */
static bool mp_key(const uint8_t **pp, const uint8_t *end, struct mpv *k, bool *ok)
{
    const uint8_t *start = *pp;
    if (mp_next(pp, end, k) == MP_STR)
        return true;
    *pp = start;
    *ok = mp_skip(pp, end) && mp_skip(pp, end);
    return false;
}

#define KEY_IS(k, lit) ((k).n == sizeof(lit) - 1 && memcmp((k).s, lit, sizeof(lit) - 1) == 0)

/* -- measurement ------------------------------------------------------------------------ */

/* "~<digits>~..." carries the CLOCK_MONOTONIC ns at which the op was sent. */
static bool parse_stamp(const uint8_t *s, size_t n, int64_t *stamp)
{
    if (n < 3 || s[0] != '~')
        return false;
    uint64_t v = 0;
    size_t i = 1;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i < 20)
        v = v * 10 + (uint64_t)(s[i++] - '0');
    if (i == 1 || i >= n || s[i] != '~' || v > INT64_MAX)
        return false;
    *stamp = (int64_t)v;
    return true;
}

static void got_op(struct conn *c, int64_t seq, const uint8_t *text, size_t tlen)
{
    if (seq <= c->cursor) {
        st.dup++;
        return;
    }
    c->cursor = seq;
    int64_t stamp;
    if (!text || !parse_stamp(text, tlen, &stamp))
        return;
    int64_t d = g_now - stamp;
    uint64_t us = d > 0 ? (uint64_t)d / 1000 : 0;
    add_sample(us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
    if (st.received++ == 0)
        st.first_ns = g_now;
    st.last_ns = g_now;
    if (++c->recv == wait_k && waiting && c->state == S_READY)
        alive_incomplete--;
}

/* -- protocol "plenary" ----------------------------------------------------------------- */

static bool plenary_ops(struct conn *c, const uint8_t **pp, const uint8_t *end)
{
    struct mpv v, k;
    bool ok = true;
    const uint8_t *start = *pp;
    if (mp_next(pp, end, &v) != MP_ARR) {
        *pp = start;
        return mp_skip(pp, end);
    }
    for (uint32_t i = 0; i < v.n; i++) {
        const uint8_t *op_start = *pp;
        struct mpv m;
        if (mp_next(pp, end, &m) != MP_MAP) {
            *pp = op_start;
            if (!mp_skip(pp, end))
                return false;
            continue;
        }
        bool has_seq = false;
        int64_t seq = 0;
        const uint8_t *text = NULL;
        size_t tlen = 0;
        for (uint32_t j = 0; j < m.n; j++) {
            if (!mp_key(pp, end, &k, &ok)) {
                if (!ok)
                    return false;
                continue;
            }
            if (KEY_IS(k, "seq")) {
                struct mpv s;
                const uint8_t *vs = *pp;
                if (mp_next(pp, end, &s) == MP_INT) {
                    has_seq = true;
                    seq = s.i;
                } else {
                    *pp = vs;
                    if (!mp_skip(pp, end))
                        return false;
                }
            } else if (KEY_IS(k, "data")) {
                struct mpv d;
                const uint8_t *vs = *pp;
                if (mp_next(pp, end, &d) != MP_MAP) {
                    *pp = vs;
                    if (!mp_skip(pp, end))
                        return false;
                    continue;
                }
                for (uint32_t q = 0; q < d.n; q++) {
                    if (!mp_key(pp, end, &k, &ok)) {
                        if (!ok)
                            return false;
                        continue;
                    }
                    const uint8_t *ts = *pp;
                    struct mpv t;
                    if (KEY_IS(k, "text") && mp_next(pp, end, &t) == MP_STR) {
                        text = t.s;
                        tlen = t.n;
                    } else {
                        *pp = ts;
                        if (!mp_skip(pp, end))
                            return false;
                    }
                }
            } else if (!mp_skip(pp, end)) {
                return false;
            }
        }
        if (has_seq)
            got_op(c, seq, text, tlen);
    }
    return true;
}

enum { T_OTHER, T_WELCOME, T_SNAPSHOT, T_OPS };

static void plenary_msg(struct conn *c, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    struct mpv v, k;
    bool ok = true;
    if (mp_next(&p, end, &v) != MP_MAP)
        return;
    int t = T_OTHER;
    bool t_seen = false, has_seq = false, has_upto = false, ops_done = false;
    int64_t seq = 0, upto = 0;
    const uint8_t *ops = NULL;  /* "ops" came before "t": read it once "t" is known */
    for (uint32_t i = 0; i < v.n; i++) {
        if (!mp_key(&p, end, &k, &ok)) {
            if (!ok)
                return;
            continue;
        }
        const uint8_t *vs = p;
        struct mpv x;
        if (KEY_IS(k, "t")) {
            if (mp_next(&p, end, &x) == MP_STR) {
                t_seen = true;
                if (KEY_IS(x, "ops"))
                    t = T_OPS;
                else if (KEY_IS(x, "welcome"))
                    t = T_WELCOME;
                else if (KEY_IS(x, "snapshot"))
                    t = T_SNAPSHOT;
                continue;
            }
        } else if (KEY_IS(k, "seq") || KEY_IS(k, "upto")) {
            if (mp_next(&p, end, &x) == MP_INT) {
                if (k.n == 3) {
                    has_seq = true;
                    seq = x.i;
                } else {
                    has_upto = true;
                    upto = x.i;
                }
                continue;
            }
        } else if (KEY_IS(k, "ops")) {
            if (t_seen && t == T_OPS) {
                if (!plenary_ops(c, &p, end))
                    return;
                ops_done = true;
                continue;
            }
            ops = p;
        }
        p = vs;
        if (!mp_skip(&p, end))
            return;
    }
    switch (t) {
    case T_WELCOME:
        if (has_seq)
            c->cursor = seq;
        if (c->state == S_WAIT_READY)
            became_ready(c);
        break;
    case T_SNAPSHOT:
        if (has_seq)
            c->cursor = seq;
        break;
    case T_OPS:
        if (ops && !ops_done)
            plenary_ops(c, &ops, end);
        if (has_upto && upto > c->cursor)
            c->cursor = upto;
        break;
    default:
        break;
    }
}

/* -- protocol "socketio" ---------------------------------------------------------------- */

static const uint8_t *find(const uint8_t *p, size_t n, const char *lit)
{
    return memmem(p, n, lit, strlen(lit));
}

/* JSON strings escape every '"', so "seq": and "text": cannot match inside a string. */
static void socketio_event(struct conn *c, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n, *s = find(p, n, "\"seq\":");
    if (!s)
        return;
    s += 6;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    bool neg = s < end && *s == '-';
    if (neg)
        s++;
    if (s >= end || *s < '0' || *s > '9')
        return;
    int64_t seq = 0;
    while (s < end && *s >= '0' && *s <= '9' && seq < INT64_MAX / 10)
        seq = seq * 10 + (*s++ - '0');
    if (neg)
        seq = -seq;
    const uint8_t *t = find(p, n, "\"text\":");
    if (t) {
        t += 7;
        while (t < end && (*t == ' ' || *t == '\t'))
            t++;
        if (t < end && *t == '"')
            t++;
        else
            t = NULL;
    }
    got_op(c, seq, t, t ? (size_t)(end - t) : 0);
}

static void socketio_msg(struct conn *c, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    switch (p[0]) {
    case '0':  /* Engine.IO open: join the default namespace */
        send_text(c, "40");
        break;
    case '1':  /* Engine.IO close */
        send_frame(c, 0x8, (const uint8_t *)"\x03\xe8", 2);
        c->kill = "engine.io close";
        break;
    case '2':
        if (n == 1)
            send_text(c, "3");
        break;
    case '4':
        if (n < 2)
            break;
        if (p[1] == '0') {
            if (c->state == S_WAIT_READY)
                became_ready(c);
        } else if (p[1] == '1') {
            send_frame(c, 0x8, (const uint8_t *)"\x03\xe8", 2);
            c->kill = "socket.io disconnect";
        } else if (p[1] == '2') {
            socketio_event(c, p + 2, n - 2);
        }
        break;
    default:
        break;
    }
}

/* -- websocket framing ------------------------------------------------------------------ */

static void deliver(struct conn *c, unsigned op, const uint8_t *p, size_t n)
{
    st.frames++;
    st.bytes += n;
    if (proto == P_PLENARY) {
        if (op == 0x2)
            plenary_msg(c, p, n);
    } else if (op == 0x1) {
        socketio_msg(c, p, n);
    }
}

static void on_frame(struct conn *c, bool fin, unsigned op, const uint8_t *p, size_t n)
{
    if (op & 0x8) {
        if (!fin || n > 125) {
            c->kill = "bad control frame";
        } else if (op == 0x9) {
            send_frame(c, 0xA, p, n);
        } else if (op == 0x8) {
            send_frame(c, 0x8, p, n >= 2 ? 2 : 0);  /* echo the code, then drop it */
            c->kill = "server closed";
        }
        return;
    }
    if (op == 0x0) {
        if (!c->frag) {
            c->kill = "continuation without a start";
            return;
        }
    } else if (c->frag) {
        c->kill = "new message inside a fragmented one";
        return;
    } else if (fin) {
        deliver(c, op, p, n);  /* the common case: straight from the read buffer */
        return;
    } else {
        c->frag = true;
        c->frag_op = (uint8_t)op;
        c->msg_len = 0;
    }
    if (c->msg_len + n > MAX_MSG || !grow(&c->msg, &c->msg_cap, c->msg_len + n)) {
        c->kill = "message too large";
        return;
    }
    if (n)
        memcpy(c->msg + c->msg_len, p, n);
    c->msg_len += n;
    if (fin) {
        c->frag = false;
        deliver(c, c->frag_op, c->msg, c->msg_len);
        c->msg_len = 0;
        if (c->msg_cap > KEEP_IN) {
            free(c->msg);
            c->msg = NULL;
            c->msg_cap = 0;
        }
    }
}

static void upgraded(struct conn *c)
{
    uint32_t idx = (uint32_t)(c - conns);
    if (proto == P_SOCKETIO) {
        c->state = S_WAIT_READY;  /* until "40" */
    } else if (hello_blob) {
        c->state = S_WAIT_READY;  /* until "welcome" */
        send_frame(c, 0x2, hello_blob + hello_off[idx], hello_len[idx]);
    } else {
        c->state = S_WAIT_READY;
        became_ready(c);  /* nothing to say hello with: the upgrade is all there is */
    }
}

/* Handles every complete frame in buf; returns the bytes used and sets in_need to the
 * size of the next frame when its header is complete. */
static size_t consume(struct conn *c, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    c->in_need = 0;
    if (c->state == S_UPGRADING) {
        const uint8_t *e = memmem(buf, len, "\r\n\r\n", 4);
        if (!e) {
            if (len > MAX_HTTP)
                c->kill = "upgrade response too long";
            return 0;
        }
        if (len < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
            const uint8_t *eol = memchr(buf, '\r', len);
            if (logged < MAX_LOGGED)
                note("upgrade refused: %.*s", (int)(eol - buf), (const char *)buf);
            c->kill = "upgrade refused";
            return 0;
        }
        off = (size_t)(e - buf) + 4;
        upgraded(c);
    }
    while (!c->kill && len - off >= 2) {
        const uint8_t *h = buf + off;
        size_t avail = len - off, hl = 2;
        uint64_t plen = h[1] & 0x7f;
        if (h[1] & 0x80) {
            c->kill = "masked server frame";
            break;
        }
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = be(h + 2, 2);
            hl = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = be(h + 2, 8);
            hl = 10;
        }
        if (plen > MAX_MSG) {
            c->kill = "frame too large";
            break;
        }
        if (avail - hl < plen) {
            c->in_need = hl + (size_t)plen;
            break;
        }
        on_frame(c, h[0] & 0x80, h[0] & 0x0f, h + hl, (size_t)plen);
        off += hl + (size_t)plen;
    }
    return off;
}

/* Short leftovers are copied in front of the next read; a big frame gets its whole size
 * now and is read in place from then on. */
static void keep_leftover(struct conn *c, const uint8_t *p, size_t n)
{
    if (!grow(&c->in, &c->in_cap, c->in_need > BIG_FRAME ? c->in_need : n)) {
        c->kill = "out of memory";
        return;
    }
    memcpy(c->in, p, n);
    c->in_len = n;
}

static void on_readable(struct conn *c)
{
    g_now = mono_ns();
    for (int round = 0; round < 16 && !c->kill; round++) {
        uint8_t *dst;
        size_t room, pre = 0;
        /* A big pending frame is read in place; anything else goes through the shared
         * buffer, with a short leftover copied in front of it. */
        bool in_place = c->in_len > 0 && c->in_need > BIG_FRAME;
        if (in_place) {
            if (!grow(&c->in, &c->in_cap, c->in_need)) {
                c->kill = "out of memory";
                break;
            }
            dst = c->in + c->in_len;
            room = c->in_cap - c->in_len;
        } else {
            pre = c->in_len;
            if (pre)
                memcpy(rbuf, c->in, pre);
            dst = rbuf + pre;
            room = RBUF_SIZE - pre;
        }
        ssize_t r = read(c->fd, dst, room);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->kill = "read error";
            break;
        }
        if (r == 0) {
            c->kill = "eof";
            break;
        }
        size_t got = (size_t)r;
        if (in_place) {
            c->in_len += got;
            size_t used = consume(c, c->in, c->in_len);
            c->in_len -= used;
            if (c->in_len && used)
                memmove(c->in, c->in + used, c->in_len);
        } else {
            size_t total = pre + got;
            size_t used = consume(c, rbuf, total);
            c->in_len = 0;
            if (used < total && !c->kill)
                keep_leftover(c, rbuf + used, total - used);
        }
        if (c->in_len == 0 && c->in_cap > KEEP_IN) {
            free(c->in);
            c->in = NULL;
            c->in_cap = 0;
        }
        if (got < room)
            break;  /* drained: level-triggered epoll reports the rest */
    }
    if (c->kill)
        conn_lost(c, c->kill);
}

static void on_conn_event(uint32_t idx, uint32_t events)
{
    struct conn *c = &conns[idx];
    switch (c->state) {
    case S_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            attempt_failed(c, strerror(err));
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        send_upgrade(c);
        if (c->kill)
            attempt_failed(c, c->kill);
        return;
    }
    case S_UPGRADING:
    case S_WAIT_READY:
    case S_READY:
        if (events & EPOLLOUT) {
            flush_out(c);
            if (c->kill) {
                conn_lost(c, c->kill);
                return;
            }
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            on_readable(c);
        return;
    default:
        return;  /* a stale event for a socket closed earlier in this batch */
    }
}

/* -- control ---------------------------------------------------------------------------- */

/* A close frame first, so the server under test logs a normal close, not an error. */
static void quit(int code)
{
    static const uint8_t going_away[2] = {0x03, 0xe9};
    for (uint32_t i = 0; i < nclients; i++) {
        struct conn *c = &conns[i];
        if (c->fd < 0)
            continue;
        if (c->state == S_READY || c->state == S_WAIT_READY)
            send_frame(c, 0x8, going_away, 2);
        close(c->fd);
    }
    exit(code);
}

static void print_result(bool timed_out)
{
    uint32_t pct[4], complete = 0;
    percentiles(pct);
    for (uint32_t i = 0; i < nclients; i++)
        if (conns[i].recv >= wait_k && !conns[i].stalled)
            complete++;
    emit("{\"event\":\"result\",\"clients\":%" PRIu32 ",\"ready\":%" PRIu32
         ",\"complete\":%" PRIu32 ",\"closed\":%" PRIu32 ",\"failed\":%" PRIu32
         ",\"received\":%" PRIu64 ",\"dup\":%" PRIu64 ",\"frames\":%" PRIu64
         ",\"bytes\":%" PRIu64 ",\"lat_us\":{\"p50\":%" PRIu32 ",\"p90\":%" PRIu32
         ",\"p99\":%" PRIu32 ",\"p999\":%" PRIu32 ",\"max\":%" PRIu32
         "},\"first_recv_ns\":%" PRId64 ",\"last_recv_ns\":%" PRId64
         ",\"cpu_s\":%.4f,\"timed_out\":%s,\"stalled\":%" PRIu32 "}",
         nclients, n_ready, complete, n_closed, n_failed, st.received, st.dup, st.frames,
         st.bytes, pct[0], pct[1], pct[2], pct[3], st.max, st.first_ns, st.last_ns,
         cpu_now() - st.cpu0, timed_out ? "true" : "false", n_stalled);
}

static void check_wait(void)
{
    if (!waiting)
        return;
    bool done = alive_incomplete == 0;
    if (!done && mono_ns() < wait_deadline)
        return;
    waiting = false;
    print_result(!done);
}

static void run_command(char *line)
{
    char *cmd = strtok(line, " \t\r");
    if (!cmd)
        return;
    if (strcmp(cmd, "reset") == 0) {
        reset_stats();
        emit("{\"event\":\"reset\"}");
    } else if (strcmp(cmd, "wait") == 0) {
        char *ks = strtok(NULL, " \t\r"), *ts = strtok(NULL, " \t\r"), *e1 = NULL, *e2 = NULL;
        unsigned long long k = ks ? strtoull(ks, &e1, 10) : 0;
        double t = ts ? strtod(ts, &e2) : 0;
        if (!ks || !ts || *e1 || *e2 || t < 0) {
            emit("{\"event\":\"error\",\"message\":\"usage: wait K SECONDS\"}");
            return;
        }
        waiting = true;
        wait_k = k;
        wait_deadline = mono_ns() + (int64_t)(t * 1e9);
        alive_incomplete = 0;
        for (uint32_t i = 0; i < nclients; i++)
            if (conns[i].state == S_READY && conns[i].recv < wait_k && !conns[i].stalled)
                alive_incomplete++;
        check_wait();
    } else if (strcmp(cmd, "stall") == 0) {
        /* Every Nth ready client stops reading for good; the server must cope. */
        char *ns = strtok(NULL, " \t\r"), *e1 = NULL;
        unsigned long every = ns ? strtoul(ns, &e1, 10) : 0;
        if (!ns || *e1 || every == 0) {
            emit("{\"event\":\"error\",\"message\":\"usage: stall N\"}");
            return;
        }
        for (uint32_t i = 0; i < nclients; i += (uint32_t)every) {
            struct conn *c = &conns[i];
            if (c->state != S_READY || c->stalled)
                continue;
            c->stalled = true;
            n_stalled++;
            struct epoll_event ev = {.events = c->want_out ? EPOLLOUT : 0u};
            ev.data.u64 = (uint64_t)i;
            epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        }
        emit("{\"event\":\"stalled\",\"stalled\":%" PRIu32 "}", n_stalled);
    } else if (strcmp(cmd, "quit") == 0) {
        quit(0);
    } else {
        emit("{\"event\":\"error\",\"message\":\"unknown command\"}");
    }
}

/* Commands wait while a "wait" runs: one reply per command, in order. */
static void run_commands(void)
{
    while (!waiting) {
        char *nl = memchr(cmdbuf, '\n', cmd_len);
        if (!nl)
            return;
        *nl = 0;
        size_t used = (size_t)(nl - cmdbuf) + 1;
        run_command(cmdbuf);
        memmove(cmdbuf, cmdbuf + used, cmd_len - used);
        cmd_len -= used;
    }
}

static void read_stdin(void)
{
    if (cmd_len == sizeof cmdbuf)
        cmd_len = 0;  /* a line this long is no command */
    ssize_t r = read(0, cmdbuf + cmd_len, sizeof cmdbuf - cmd_len);
    if (r < 0 && errno == EINTR)
        return;
    if (r <= 0)
        quit(0);
    cmd_len += (size_t)r;
}

/* -- setup ------------------------------------------------------------------------------ */

static void parse_targets(char *spec)
{
    size_t n = 1;
    for (char *s = spec; *s; s++)
        n += *s == ',';
    targets = calloc(n, sizeof *targets);
    if (!targets)
        die("out of memory");
    for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
        char host[256], *port;
        if (tok[0] == '[') {
            char *rb = strchr(tok, ']');
            if (!rb || rb[1] != ':' || (size_t)(rb - tok - 1) >= sizeof host)
                die("bad target '%s' (want HOST:PORT)", tok);
            memcpy(host, tok + 1, (size_t)(rb - tok - 1));
            host[rb - tok - 1] = 0;
            port = rb + 2;
        } else {
            char *colon = strrchr(tok, ':');
            if (!colon || (size_t)(colon - tok) >= sizeof host)
                die("bad target '%s' (want HOST:PORT)", tok);
            memcpy(host, tok, (size_t)(colon - tok));
            host[colon - tok] = 0;
            port = colon + 1;
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
        int rc = getaddrinfo(host, port, &hints, &res);
        if (rc != 0)
            die("cannot resolve '%s': %s", tok, gai_strerror(rc));
        struct target *t = &targets[ntargets++];
        memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
        t->addrlen = res->ai_addrlen;
        freeaddrinfo(res);
        snprintf(t->host, sizeof t->host, "%s", tok);
    }
    if (ntargets == 0)
        die("no targets");
}

static void load_hellos(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    size_t cap = 0, len = 0;
    for (;;) {
        if (!grow(&hello_blob, &cap, len + 65536))
            die("out of memory");
        size_t r = fread(hello_blob + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f))
        die("cannot read %s", path);
    fclose(f);
    hello_off = malloc(nclients * sizeof *hello_off + 1);
    hello_len = malloc(nclients * sizeof *hello_len + 1);
    if (!hello_off || !hello_len)
        die("out of memory");
    size_t off = 0;
    for (uint32_t i = 0; i < nclients; i++) {
        if (len - off < 4)
            die("%s holds %" PRIu32 " records, %" PRIu32 " needed", path, i, nclients);
        uint32_t n = (uint32_t)be(hello_blob + off, 4);
        off += 4;
        if (len - off < n)
            die("%s: record %" PRIu32 " is cut short", path, i);
        hello_off[i] = off;
        hello_len[i] = n;
        off += n;
    }
    if (off != len)
        note("%s: %zu bytes after record %" PRIu32 " ignored", path, len - off, nclients);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t need = (rlim_t)nclients + 8;  /* stdio, epoll, a spare */
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        struct rlimit up = {need, need};  /* allowed for root only; tried anyway */
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return;
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        note("cannot raise the open file limit: %s", strerror(errno));
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        note("open file limit %llu is below %llu: some clients will fail",
             (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

static void usage(void)
{
    die("usage: loadgen --targets HOST:PORT[,HOST:PORT...] --path PATH "
        "--proto plenary|socketio --clients N [--hellos FILE] [--concurrency 64] "
        "[--handshake-timeout SECONDS]");
}

static unsigned long parse_count(const char *s, const char *what, unsigned long max)
{
    char *e;
    errno = 0;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || *e || !*s || v > max)
        die("bad %s '%s'", what, s);
    return v;
}

int main(int argc, char **argv)
{
    char *target_spec = NULL;
    const char *hellos = NULL;
    bool have_clients = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        char *v = argv[++i];
        if (strcmp(a, "--targets") == 0) {
            target_spec = v;
        } else if (strcmp(a, "--path") == 0) {
            ws_path = v;
        } else if (strcmp(a, "--proto") == 0) {
            if (strcmp(v, "plenary") == 0)
                proto = P_PLENARY;
            else if (strcmp(v, "socketio") == 0)
                proto = P_SOCKETIO;
            else
                die("unknown --proto '%s'", v);
        } else if (strcmp(a, "--clients") == 0) {
            nclients = (uint32_t)parse_count(v, "--clients", 10000000);
            have_clients = true;
        } else if (strcmp(a, "--hellos") == 0) {
            hellos = v;
        } else if (strcmp(a, "--concurrency") == 0) {
            concurrency = (uint32_t)parse_count(v, "--concurrency", 1000000);
            if (concurrency == 0)
                die("--concurrency must be at least 1");
        } else if (strcmp(a, "--handshake-timeout") == 0) {
            char *e;
            double s = strtod(v, &e);
            if (*e || !(s > 0))
                die("bad --handshake-timeout '%s'", v);
            hs_timeout_ns = (int64_t)(s * 1e9);
        } else {
            usage();
        }
    }
    if (!target_spec || !have_clients)
        usage();
    signal(SIGPIPE, SIG_IGN);
    parse_targets(target_spec);
    if (hellos) {
        if (proto == P_PLENARY)
            load_hellos(hellos);
        else
            note("--hellos is for --proto plenary: ignored");
    }
    raise_nofile();

    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32);
    rng_state = seed;

    if (concurrency > nclients)
        concurrency = nclients ? nclients : 1;
    conns = calloc(nclients ? nclients : 1, sizeof *conns);
    retryq = calloc(nclients ? nclients : 1, sizeof *retryq);
    slot_conn = malloc(concurrency * sizeof *slot_conn);
    free_slots = malloc(concurrency * sizeof *free_slots);
    rbuf = malloc(RBUF_SIZE);
    st.hist = calloc(HIST_N, sizeof *st.hist);
    if (!conns || !retryq || !slot_conn || !free_slots || !rbuf || !st.hist)
        die("out of memory");
    for (uint32_t s = 0; s < concurrency; s++) {
        slot_conn[s] = -1;
        free_slots[nfree_slots++] = (int)(concurrency - 1 - s);
    }
    for (uint32_t i = 0; i < nclients; i++) {
        conns[i].fd = -1;
        conns[i].slot = -1;
        conns[i].target = (uint32_t)(i % ntargets);
    }

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1: %s", strerror(errno));
    struct epoll_event sev = {.events = EPOLLIN};
    sev.data.u64 = STDIN_ID;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &sev) < 0) {
        if (errno != EPERM)
            die("cannot poll stdin: %s", strerror(errno));
        stdin_polled = 0;  /* a regular file: always readable, read it between batches */
    }

    t_start = mono_ns();
    g_now = t_start;
    reset_stats();
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        g_now = mono_ns();
        start_more();
        scan_timeouts();
        if (!ready_printed && n_ready + n_failed == nclients) {
            ready_printed = true;
            emit("{\"event\":\"ready\",\"clients\":%" PRIu32 ",\"ready\":%" PRIu32
                 ",\"failed\":%" PRIu32 ",\"connect_s\":%.3f}",
                 nclients, n_ready, n_failed, (double)(g_now - t_start) / 1e9);
        }
        check_wait();
        run_commands();
        if (!stdin_polled && !waiting)
            read_stdin();

        int64_t until = INT64_MAX;
        if (inflight > 0)
            until = next_scan > g_now ? next_scan : g_now + TIMEOUT_SCAN_NS;
        if (rq_len > 0 && conns[retryq[rq_head]].deadline < until)
            until = conns[retryq[rq_head]].deadline;
        if (waiting && wait_deadline < until)
            until = wait_deadline;
        int timeout = -1;
        if (until != INT64_MAX)
            timeout = until <= g_now ? 0 : (int)((until - g_now + 999999) / 1000000);
        if (!stdin_polled && !waiting && timeout < 0)
            timeout = 10;
        int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == STDIN_ID)
                read_stdin();
            else
                on_conn_event((uint32_t)evs[i].data.u64, evs[i].events);
        }
    }
}
