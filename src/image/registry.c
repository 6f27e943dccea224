/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "image/blobstore.h"
#include "image/curl-dl.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "base/log.h"
#include "base/sha256.h"
#include "image/manifest.h"
#include "image/registry-auth.h"
#include "image/registry.h"
#include "base/util.h"

#define DEFAULT_CONFIG_FILE "/etc/berth/config.json"
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define MANIFEST_MAX (4 << 20)
#define CONFIG_MAX (32 << 20)
#define TOKEN_MAX (1 << 20)
#define ERROR_BODY_MAX (64 << 10)
#define PROGRESS_INTERVAL_US 100000
#define DEFAULT_PARALLEL 3
#define DIGEST_HEX(d) ((d) + strlen("sha256:"))

/* ---- the registry client ---------------------------------------------------------------- */

struct token {
        char *scope; /* "" for none */
        char *value;
        struct token *next;
};

struct reg {
        char *key;          /* "127.0.0.1:5000", "docker.io": auth file key, in messages */
        char *host;         /* the host contacted ("registry-1.docker.io" for docker.io) */
        const char *scheme; /* "https", or "http" after an insecure fallback */
        bool verify;        /* verify the server's certificate */
        bool may_http;      /* insecure: fall back to http when https fails */
        char *cert_dir;
        char *ca_pem; /* system bundle + cert_dir's *.crt; NULL: curl's default */
        size_t ca_len;
        char *client_cert, *client_key; /* cert_dir's *.cert + *.key, or NULL */
        char *user, *pass;              /* NULL: anonymous */
        pthread_mutex_t lock;           /* chal and tokens: the pull's threads share them */
        struct berth_auth_challenge chal;
        struct token *tokens;
};

/* One HTTP request. */
struct req {
        const char *url;
        const char *accept[4]; /* Accept values, NULL-terminated */
        const char *scope;     /* token scope; NULL: none */
        const char *range;     /* "N-", or NULL */
        bool anonymous;        /* never send credentials (ping) */
};

/* One response, filled by curl's callbacks. */
struct xfer {
        long status;
        char reason[64];
        char *content_type, *docker_digest, *www_auth, *content_range;
        char *body; /* a 2xx body when there is no sink; else an error body */
        size_t len, max;
        bool too_big;
        /* A blob's sink: written from `offset` on (a 200 to a Range request restarts at 0). */
        int fd;
        int64_t offset, written, limit;
        bool started;
        int sink_errno;
        char sink_msg[256];
        /* progress */
        const atomic_bool *stop;
        struct puller *pl;
        const char *digest;
        uint64_t last_event_us;
        char errbuf[CURL_ERROR_SIZE];
};

static void curl_easy_cleanupp(CURL **c)
{
        if (*c)
                curl_easy_cleanup(*c);
        *c = NULL;
}
#define _autocurl_ _cleanup_(curl_easy_cleanupp)

static void curl_slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
        *l = NULL;
}

static void xfer_init(struct xfer *x, size_t max)
{
        *x = (struct xfer){.fd = -EBADF, .max = max};
}

static void xfer_reset_headers(struct xfer *x)
{
        free(x->content_type);
        free(x->docker_digest);
        free(x->www_auth);
        free(x->content_range);
        x->content_type = x->docker_digest = x->www_auth = x->content_range = NULL;
}

static void xfer_clear(struct xfer *x)
{
        xfer_reset_headers(x);
        free(x->body);
        x->body = NULL;
        x->len = 0;
}

/* ---- curl callbacks --------------------------------------------------------------------- */

static char *header_value(const char *line, size_t n)
{
        const char *colon = memchr(line, ':', n);
        const char *end = line + n;

        if (!colon)
                return NULL;
        colon++;
        while (colon < end && (*colon == ' ' || *colon == '\t'))
                colon++;
        while (end > colon && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return strndup(colon, (size_t) (end - colon));
}

/* Appends a header's value, joining repeated headers with ", ". */
static void header_store(char **slot, const char *line, size_t n)
{
        _autofree_ char *v = header_value(line, n);

        if (!v)
                return;
        if (*slot) {
                char *joined = xasprintf("%s, %s", *slot, v);

                free(*slot);
                *slot = joined;
        } else {
                *slot = steal_ptr(&v);
        }
}

static bool header_is(const char *line, size_t n, const char *name)
{
        size_t len = strlen(name);

        return n > len && line[len] == ':' && strncasecmp(line, name, len) == 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        size_t n = size * nmemb;

        if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
                /* A new response (after a redirect or a 100): forget the previous one's. */
                char reason[64] = "";
                long status = 0;

                xfer_reset_headers(x);
                if (sscanf(line, "HTTP/%*s %ld %63[^\r\n]", &status, reason) >= 1) {
                        x->status = status;
                        snprintf(x->reason, sizeof(x->reason), "%s", reason);
                }
        } else if (header_is(line, n, "Content-Type")) {
                header_store(&x->content_type, line, n);
        } else if (header_is(line, n, "Docker-Content-Digest")) {
                header_store(&x->docker_digest, line, n);
        } else if (header_is(line, n, "WWW-Authenticate")) {
                header_store(&x->www_auth, line, n);
        } else if (header_is(line, n, "Content-Range")) {
                header_store(&x->content_range, line, n);
        }
        return n;
}

static size_t sink_fail(struct xfer *x, int e, const char *msg)
{
        x->sink_errno = e;
        snprintf(x->sink_msg, sizeof(x->sink_msg), "%s", msg);
        return 0;
}

/* The first bytes of a blob: a 200 to a Range request is the whole blob again. */
static int sink_start(struct xfer *x)
{
        int64_t from = -1;

        x->started = true;
        if (x->status == 206) {
                if (!x->content_range ||
                    sscanf(x->content_range, "bytes %" SCNd64 "-", &from) != 1 || from != x->offset)
                        return sink_fail(x, EPROTO, "206 with an unexpected Content-Range"), -1;
                return 0;
        }
        if (x->offset > 0 && (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0))
                return sink_fail(x, errno, "restart download"), -1;
        x->offset = 0;
        return 0;
}

static size_t sink_write(struct xfer *x, const char *data, size_t n)
{
        if (!x->started && sink_start(x) < 0)
                return 0;
        if (x->offset + x->written + (int64_t) n > x->limit)
                return sink_fail(x, EBADMSG, "more bytes than the descriptor's size");
        if (write_all(x->fd, data, n) < 0)
                return sink_fail(x, errno, "write");
        x->written += (int64_t) n;
        return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        size_t n = size * nmemb;
        bool ok = x->status >= 200 && x->status < 300;
        size_t max = ok ? x->max : ERROR_BODY_MAX;

        if (ok && x->fd >= 0)
                return sink_write(x, data, n);
        if (x->len + n > max) {
                if (ok) {
                        x->too_big = true;
                        return 0;
                }
                n = max - x->len; /* an error body: keep its start */
        }
        x->body = xreallocarray(x->body, x->len + n + 1, 1);
        memcpy(x->body + x->len, data, n);
        x->len += n;
        x->body[x->len] = '\0';
        return size * nmemb;
}

static void progress_event(struct puller *pl, const char *digest, enum berth_pull_phase phase,
                           int64_t done, int64_t total);

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        struct xfer *x = userdata;
        uint64_t now;

        if (x->stop && atomic_load(x->stop))
                return 1;
        if (!x->pl || x->fd < 0 || !x->started)
                return 0;
        now = berth_now_us();
        if (now - x->last_event_us < PROGRESS_INTERVAL_US && x->offset + x->written < x->limit)
                return 0;
        x->last_event_us = now;
        progress_event(x->pl, x->digest, BERTH_PULL_DOWNLOADING, x->offset + x->written, x->limit);
        return 0;
}

/* ---- requests --------------------------------------------------------------------------- */

static void setup_tls(struct reg *reg, CURL *c, bool to_registry)
{
        if (!reg->verify) {
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (reg->ca_pem) {
                struct curl_blob blob = {
                    .data = reg->ca_pem, .len = reg->ca_len, .flags = CURL_BLOB_NOCOPY};

                curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (to_registry && reg->client_cert) {
                curl_easy_setopt(c, CURLOPT_SSLCERT, reg->client_cert);
                curl_easy_setopt(c, CURLOPT_SSLKEY, reg->client_key);
        }
}

static void setup_request(struct reg *reg, CURL *c, const char *url, struct curl_slist *headers,
                          struct xfer *x)
{
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        setup_tls(reg, c, true);
}

static int curl_errno(CURLcode res)
{
        switch (res) {
        case CURLE_COULDNT_CONNECT:
                return ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return ETIMEDOUT;
        case CURLE_ABORTED_BY_CALLBACK:
                return ECANCELED;
        case CURLE_OUT_OF_MEMORY:
                return ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return EPROTO;
        default:
                return EIO;
        }
}

/* The error of a failed transfer: the sink's, or curl's with advice for certificate problems. */
static int transfer_error(struct reg *reg, CURLcode res, const struct xfer *x, const char *url,
                          struct berth_error **err)
{
        const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);

        if (x->sink_errno)
                return berth_error_setx(err, x->sink_errno, "GET %s: %s", url, x->sink_msg);
        if (x->too_big)
                return berth_error_setx(err, EFBIG, "GET %s: response larger than %zu bytes", url,
                                        x->max);
        if (res == CURLE_ABORTED_BY_CALLBACK)
                return berth_error_setx(err, ECANCELED, "GET %s: cancelled", url);
        if (res == CURLE_PEER_FAILED_VERIFICATION && reg->verify)
                return berth_error_setx(err, EPROTO,
                                        "GET %s: %s (put the CA in %s/ca.crt or use "
                                        "--tls-verify=false)",
                                        url, msg, reg->cert_dir);
        if (res == CURLE_SSL_CONNECT_ERROR && reg->verify)
                return berth_error_setx(err, EPROTO,
                                        "GET %s: %s (if the registry speaks only http, list it in "
                                        "insecure-registries in %s or use --tls-verify=false)",
                                        url, msg, DEFAULT_CONFIG_FILE);
        return berth_error_setx(err, curl_errno(res), "GET %s: %s", url, msg);
}

static int status_errno(long status)
{
        if (status == 401)
                return EACCES;
        if (status == 403)
                return EPERM;
        if (status == 404)
                return ENOENT;
        if (status == 429)
                return EBUSY;
        return status >= 500 ? EIO : EPROTO;
}

/* The registry's own words: {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "..."}]}. */
static char *registry_message(const struct xfer *x)
{
        json_t *j = x->body ? json_loadb(x->body, x->len, 0, NULL) : NULL;
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        const char *msg = json_string_value(json_object_get(e0, "message"));
        char *ret;

        if (!msg || !*msg)
                msg = json_string_value(json_object_get(e0, "code"));
        ret = xstrdup(msg && *msg ? msg : x->reason);
        json_decref(j);
        return ret;
}

static int status_error(struct reg *reg, const struct xfer *x, const char *url,
                        struct berth_error **err)
{
        _autofree_ char *msg = NULL;

        if (x->status == 401 && !reg->user)
                return berth_error_setx(err, EACCES,
                                        "GET %s: 401 unauthorized: log in with berth login %s", url,
                                        reg->key);
        if (x->status == 401)
                return berth_error_setx(err, EACCES,
                                        "GET %s: 401 unauthorized: incorrect username or "
                                        "password for %s",
                                        url, reg->key);
        msg = registry_message(x);
        return berth_error_setx(err, status_errno(x->status), "GET %s: %ld %s", url, x->status,
                                msg);
}

/* ---- authentication --------------------------------------------------------------------- */

static char *basic_header(struct reg *reg)
{
        _autofree_ char *plain = xasprintf("%s:%s", reg->user, reg->pass);
        _autofree_ char *b64 = berth_base64_encode(plain, strlen(plain));

        return xasprintf("Authorization: Basic %s", b64);
}

static char *token_url(CURL *c, const struct berth_auth_challenge *ch, const char *scope)
{
        _autofree_ char *svc = NULL, *sc = NULL;
        char sep = strchr(ch->realm, '?') ? '&' : '?';

        if (ch->service)
                svc = curl_easy_escape(c, ch->service, 0);
        if (scope && *scope)
                sc = curl_easy_escape(c, scope, 0);
        return xasprintf("%s%c%s%s%s%s", ch->realm, sep, svc ? "service=" : "", svc ? svc : "",
                         sc ? (svc ? "&scope=" : "scope=") : "", sc ? sc : "");
}

static int parse_token(const struct xfer *x, const char *url, char **ret, struct berth_error **err)
{
        json_error_t je;
        json_t *j = json_loadb(x->body ? x->body : "", x->len, 0, &je);
        const char *t = json_string_value(json_object_get(j, "token"));

        if (!t)
                t = json_string_value(json_object_get(j, "access_token"));
        if (!j || !t || !*t) {
                json_decref(j);
                return berth_error_setx(err, EPROTO, "GET %s: no token in the response", url);
        }
        *ret = xstrdup(t);
        json_decref(j);
        return 0;
}

/* Gets a token for scope from the challenge's realm (with the credentials if any). */
static int fetch_token(struct reg *reg, CURL *c, const char *scope, char **ret,
                       struct berth_error **err)
{
        _autofree_ char *url = token_url(c, &reg->chal, scope);
        _autofree_ char *auth = reg->user ? basic_header(reg) : NULL;
        _cleanup_(curl_slist_freep) struct curl_slist *h = NULL;
        struct xfer x;
        CURLcode res;
        int r;

        if (auth)
                h = curl_slist_append(h, auth);
        xfer_init(&x, TOKEN_MAX);
        setup_request(reg, c, url, h, &x);
        setup_tls(reg, c, false);
        res = curl_easy_perform(c);
        if (res != CURLE_OK)
                r = transfer_error(reg, res, &x, url, err);
        else if (x.status == 401 && reg->user)
                r = berth_error_setx(err, EACCES,
                                     "GET %s: unauthorized: incorrect username or "
                                     "password",
                                     url);
        else if (x.status != 200)
                r = status_error(reg, &x, url, err);
        else
                r = parse_token(&x, url, ret, err);
        xfer_clear(&x);
        return r < 0 ? berth_error_prefix(err, "get a token") : 0;
}

/* The Authorization header for a request (malloc'ed, NULL for none). Called with reg->lock. */
static int auth_header_locked(struct reg *reg, CURL *c, const char *scope, char **ret,
                              struct berth_error **err)
{
        const char *sc = scope ? scope : "";
        struct token *t;
        char *value = NULL;
        int r;

        *ret = NULL;
        if (reg->chal.scheme == BERTH_AUTH_BASIC) {
                if (reg->user)
                        *ret = basic_header(reg);
                return 0;
        }
        if (reg->chal.scheme != BERTH_AUTH_BEARER)
                return 0;
        for (t = reg->tokens; t; t = t->next)
                if (streq(t->scope, sc))
                        break;
        if (!t) {
                r = fetch_token(reg, c, sc, &value, err);
                if (r < 0)
                        return r;
                t = xcalloc(1, sizeof(*t));
                t->scope = xstrdup(sc);
                t->value = value;
                t->next = reg->tokens;
                reg->tokens = t;
        }
        *ret = xasprintf("Authorization: Bearer %s", t->value);
        return 0;
}

static int auth_header(struct reg *reg, CURL *c, const struct req *rq, char **ret,
                       struct berth_error **err)
{
        int r;

        if (rq->anonymous) {
                *ret = NULL;
                return 0;
        }
        pthread_mutex_lock(&reg->lock);
        r = auth_header_locked(reg, c, rq->scope, ret, err);
        pthread_mutex_unlock(&reg->lock);
        return r;
}

static void tokens_free(struct token *t)
{
        while (t) {
                struct token *next = t->next;

                free(t->scope);
                free(t->value);
                free(t);
                t = next;
        }
}

/* A 401 to an authenticated request: learn the (new) challenge, drop cached tokens. Returns true
 * when a retry may succeed. */
static bool relearn_challenge(struct reg *reg, const struct xfer *x)
{
        struct berth_auth_challenge ch;
        bool retry;

        if (!x->www_auth || berth_auth_challenge_parse(x->www_auth, &ch, NULL) < 0)
                return false;
        pthread_mutex_lock(&reg->lock);
        retry = reg->chal.scheme != ch.scheme || reg->tokens;
        berth_auth_challenge_clear(&reg->chal);
        reg->chal = ch;
        tokens_free(reg->tokens);
        reg->tokens = NULL;
        pthread_mutex_unlock(&reg->lock);
        return retry;
}

static struct curl_slist *request_headers(const struct req *rq, const char *auth)
{
        struct curl_slist *h = NULL;

        for (size_t i = 0; i < ARRAY_SIZE(rq->accept) && rq->accept[i]; i++) {
                _autofree_ char *line = xasprintf("Accept: %s", rq->accept[i]);

                h = curl_slist_append(h, line);
        }
        if (auth)
                h = curl_slist_append(h, auth);
        return h;
}

static int perform_once(struct reg *reg, CURL *c, const struct req *rq, struct xfer *x,
                        struct berth_error **err)
{
        _cleanup_(curl_slist_freep) struct curl_slist *h = NULL;
        _autofree_ char *auth = NULL;
        CURLcode res;
        int r;

        r = auth_header(reg, c, rq, &auth, err);
        if (r < 0)
                return r;
        h = request_headers(rq, auth);
        setup_request(reg, c, rq->url, h, x);
        if (rq->range)
                curl_easy_setopt(c, CURLOPT_RANGE, rq->range);
        res = curl_easy_perform(c);
        if (res != CURLE_OK)
                return transfer_error(reg, res, x, rq->url, err);
        return 0;
}

/* Performs rq; a 401 with a new challenge (or an expired token) is retried once. On success
 * x->status is the final status, whatever it is. */
static int http_do(struct reg *reg, CURL *c, const struct req *rq, struct xfer *x,
                   struct berth_error **err)
{
        int r;

        r = perform_once(reg, c, rq, x, err);
        if (r < 0 || x->status != 401 || rq->anonymous || !relearn_challenge(reg, x))
                return r;
        xfer_clear(x);
        x->status = 0;
        x->started = false;
        return perform_once(reg, c, rq, x, err);
}

/* ---- the client: TLS files, credentials, ping ------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n > m && streq(s + n - m, suffix);
}

/* The names in dir ending in suffix, sorted; NULL-terminated. ENOENT: an empty list. */
static int list_dir(const char *dir, const char *suffix, char ***ret, struct berth_error **err)
{
        _autostrv_ char **v = xcalloc(1, sizeof(char *));
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (!d && errno != ENOENT)
                return berth_error_set(err, errno, "open %s", dir);
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || !has_suffix(de->d_name, suffix))
                        continue;
                v = xreallocarray(v, n + 2, sizeof(char *));
                v[n++] = xstrdup(de->d_name);
                v[n] = NULL;
        }
        if (d)
                closedir(d);
        qsort(v, n, sizeof(char *), cmp_str);
        *ret = steal_ptr(&v);
        return 0;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
        *buf = xreallocarray(*buf, *len + n + 2, 1);
        memcpy(*buf + *len, data, n);
        *len += n;
        if (n && data[n - 1] != '\n')
                (*buf)[(*len)++] = '\n';
        (*buf)[*len] = '\0';
}

/* The CA bundle: the system's plus every *.crt in cert_dir (none: curl's default). */
static int load_cas(struct reg *reg, struct berth_error **err)
{
        _autostrv_ char **crts = NULL;
        _autofree_ char *pem = NULL;
        size_t len = 0;
        int r;

        r = list_dir(reg->cert_dir, ".crt", &crts, err);
        if (r < 0 || !crts[0])
                return r;
        r = berth_read_file_at(AT_FDCWD, SYSTEM_CA_BUNDLE, 0, &pem, &len, err);
        if (r < 0 && r != -ENOENT)
                return r;
        for (char **p = crts; *p; p++) {
                _autofree_ char *path = xasprintf("%s/%s", reg->cert_dir, *p);
                _autofree_ char *data = NULL;
                size_t n = 0;

                r = berth_read_file_at(AT_FDCWD, path, 0, &data, &n, err);
                if (r < 0)
                        return r;
                append(&pem, &len, data, n);
        }
        reg->ca_pem = steal_ptr(&pem);
        reg->ca_len = len;
        return 0;
}

/* docker's client certificates: NAME.cert with NAME.key. */
static int load_client_cert(struct reg *reg, struct berth_error **err)
{
        _autostrv_ char **certs = NULL;
        int r;

        r = list_dir(reg->cert_dir, ".cert", &certs, err);
        if (r < 0 || !certs[0])
                return r;
        reg->client_cert = xasprintf("%s/%s", reg->cert_dir, certs[0]);
        reg->client_key = xasprintf("%s/%.*s.key", reg->cert_dir,
                                    (int) (strlen(certs[0]) - strlen(".cert")), certs[0]);
        if (access(reg->client_key, R_OK) < 0)
                return berth_error_set(err, errno, "client certificate %s: key %s",
                                       reg->client_cert, reg->client_key);
        return 0;
}

static int load_tls(struct reg *reg, const struct berth_registry_opts *o, struct berth_error **err)
{
        const char *config = o && o->config_file ? o->config_file : DEFAULT_CONFIG_FILE;
        bool insecure = false;
        int r;

        reg->cert_dir = berth_registry_cert_dir(o, reg->key);
        if (!o || o->tls_verify < 0) {
                r = berth_registry_is_insecure(config, reg->key, &insecure, err);
                if (r < 0)
                        return r;
        } else {
                insecure = o->tls_verify == 0;
        }
        reg->verify = !insecure;
        reg->may_http = insecure;
        r = load_cas(reg, err);
        if (r >= 0)
                r = load_client_cert(reg, err);
        return r;
}

/* opts creds, else the auth file's entry, else anonymous. */
static int load_creds(struct reg *reg, const struct berth_registry_opts *o,
                      struct berth_error **err)
{
        _autofree_ char *def = NULL;
        const char *file;
        int r;

        if (o && o->creds)
                return berth_creds_split(o->creds, &reg->user, &reg->pass, err);
        file = o && o->auth_file ? o->auth_file : (def = berth_auth_file_default());
        r = berth_auth_file_get(file, reg->key, &reg->user, &reg->pass, err);
        if (r == -ENOENT) {
                berth_error_freep(err);
                return 0;
        }
        return r;
}

static void reg_free(struct reg *reg)
{
        if (!reg)
                return;
        free(reg->key);
        free(reg->host);
        free(reg->cert_dir);
        free(reg->ca_pem);
        free(reg->client_cert);
        free(reg->client_key);
        free(reg->user);
        free(reg->pass);
        berth_auth_challenge_clear(&reg->chal);
        tokens_free(reg->tokens);
        pthread_mutex_destroy(&reg->lock);
        free(reg);
}

static void reg_freep(struct reg **reg)
{
        reg_free(*reg);
        *reg = NULL;
}
#define _autoreg_ _cleanup_(reg_freep)

/* key: the auth-file key ("docker.io"); host: where to connect. */
static int reg_new(const char *key, const char *host, const struct berth_registry_opts *o,
                   bool with_creds, struct reg **ret, struct berth_error **err)
{
        _autoreg_ struct reg *reg = xcalloc(1, sizeof(*reg));
        int r;

        r = berth_curl_load(err);
        if (r < 0)
                return r;
        pthread_mutex_init(&reg->lock, NULL);
        reg->key = xstrdup(key);
        reg->host = xstrdup(host);
        reg->scheme = "https";
        r = load_tls(reg, o, err);
        if (r >= 0 && with_creds)
                r = load_creds(reg, o, err);
        if (r < 0)
                return r;
        *ret = steal_ptr(&reg);
        return 0;
}

static char *reg_url(const struct reg *reg, const char *fmt_path)
{
        return xasprintf("%s://%s%s", reg->scheme, reg->host, fmt_path);
}

/* GET /v2/ without credentials: is it a registry, which scheme, which challenge. */
static int ping_once(struct reg *reg, CURL *c, bool *ret_answered, struct berth_error **err)
{
        _autofree_ char *url = reg_url(reg, "/v2/");
        struct req rq = {.url = url, .anonymous = true};
        struct xfer x;
        int r;

        xfer_init(&x, ERROR_BODY_MAX);
        r = http_do(reg, c, &rq, &x, err);
        *ret_answered = x.status > 0;
        if (r >= 0 && x.status == 401) {
                if (x.www_auth)
                        r = berth_auth_challenge_parse(x.www_auth, &reg->chal, err);
                else
                        r = berth_error_setx(err, EPROTO, "GET %s: 401 without WWW-Authenticate",
                                             url);
        } else if (r >= 0 && x.status != 200) {
                r = status_error(reg, &x, url, err);
        }
        xfer_clear(&x);
        return r;
}

static int reg_ping(struct reg *reg, CURL *c, struct berth_error **err)
{
        _autoerr_ struct berth_error *https_err = NULL;
        bool answered = false;
        int r;

        r = ping_once(reg, c, &answered, reg->may_http ? &https_err : err);
        if (r >= 0 || !reg->may_http)
                return r;
        /* An insecure registry that does not speak TLS: plain http, as docker does. A server
         * that answered over https keeps its answer. */
        if (answered)
                return berth_error_setx(err, -r, "%s", https_err->msg);
        reg->scheme = "http";
        r = ping_once(reg, c, &answered, NULL);
        if (r >= 0) {
                berth_log(BERTH_LOG_DEBUG, "registry %s: https failed (%s), using http", reg->key,
                          https_err->msg);
                return 0;
        }
        reg->scheme = "https";
        return berth_error_setx(err, https_err->code, "%s", https_err->msg);
}

/* ---- manifests and blobs ---------------------------------------------------------------- */

struct fetched {
        char *data;
        size_t len;
        char *content_type;
        char digest[BERTH_SHA256_DIGEST_LEN + 1];
};

static void fetched_clear(struct fetched *f)
{
        free(f->data);
        free(f->content_type);
        *f = (struct fetched){0};
}

static int check_manifest_digest(const struct xfer *x, const char *url, const char *want,
                                 const char *got, struct berth_error **err)
{
        if (want && !streq(want, got))
                return berth_error_setx(err, EBADMSG, "GET %s: manifest digest mismatch: got %s",
                                        url, got);
        if (!want && x->docker_digest && startswith(x->docker_digest, "sha256:") &&
            !streq(x->docker_digest, got))
                return berth_error_setx(err, EBADMSG,
                                        "GET %s: manifest digest mismatch: the registry says %s, "
                                        "the content is %s",
                                        url, x->docker_digest, got);
        return 0;
}

/* GET /v2/<path>/manifests/<tag or digest>; a digest is verified, and the digest always
 * computed. */
static int fetch_manifest(struct reg *reg, CURL *c, const char *path, const char *tag,
                          const char *digest, struct fetched *ret, struct berth_error **err)
{
        _autofree_ char *url = NULL, *scope = xasprintf("repository:%s:pull", path);
        struct req rq = {.scope = scope,
                         .accept = {BERTH_MT_OCI_MANIFEST, BERTH_MT_OCI_INDEX,
                                    BERTH_MT_DOCKER_MANIFEST, BERTH_MT_DOCKER_LIST}};
        struct xfer x;
        int r;

        url = xasprintf("%s://%s/v2/%s/manifests/%s", reg->scheme, reg->host, path,
                        digest ? digest : tag);
        rq.url = url;
        xfer_init(&x, MANIFEST_MAX);
        r = http_do(reg, c, &rq, &x, err);
        if (r >= 0 && x.status != 200)
                r = status_error(reg, &x, url, err);
        if (r >= 0) {
                berth_sha256_digest(x.body ? x.body : "", x.len, ret->digest);
                r = check_manifest_digest(&x, url, digest, ret->digest, err);
        }
        if (r >= 0) {
                ret->data = x.body ? steal_ptr(&x.body) : xstrdup("");
                ret->len = x.len;
                ret->content_type = steal_ptr(&x.content_type);
        }
        xfer_clear(&x);
        return r;
}

/* A small blob (a config) into memory, checked and put into the blob store. */
static int fetch_small_blob(struct reg *reg, CURL *c, struct berth_blobstore *blobs,
                            const char *path, const struct berth_descriptor *d, char **ret,
                            size_t *ret_len, struct berth_error **err)
{
        _autofree_ char *scope = xasprintf("repository:%s:pull", path);
        _autofree_ char *url =
            xasprintf("%s://%s/v2/%s/blobs/%s", reg->scheme, reg->host, path, d->digest);
        struct req rq = {.url = url, .scope = scope};
        struct xfer x;
        int r;

        if (d->size > CONFIG_MAX)
                return berth_error_setx(err, EFBIG, "blob %s: %lld bytes, more than %d", d->digest,
                                        (long long) d->size, CONFIG_MAX);
        xfer_init(&x, (size_t) d->size);
        r = http_do(reg, c, &rq, &x, err);
        if (r >= 0 && x.status != 200)
                r = status_error(reg, &x, url, err);
        if (r >= 0)
                r = berth_blobstore_put(blobs, x.body, x.len, d->digest, NULL, err);
        if (r >= 0) {
                *ret = x.body ? steal_ptr(&x.body) : xstrdup("");
                *ret_len = x.len;
        }
        xfer_clear(&x);
        return r;
}

/* ---- layers, in parallel ---------------------------------------------------------------- */

struct layer_job {
        const struct berth_descriptor *d;
        const char *diff_id;
        char *chain, *parent; /* parent NULL at the bottom */
};

struct puller {
        struct berth_store *s;
        struct berth_blobstore *blobs;
        const struct berth_pull_opts *o;
        struct reg *reg;
        const char *path;
        int dl_fd; /* <root>/downloads */
        struct layer_job *jobs;
        size_t n_jobs;
        pthread_mutex_t lock; /* next, first_err */
        size_t next;
        struct berth_error *first_err;
        int first_r;
        atomic_bool stop;
        pthread_mutex_t progress_lock; /* one progress call at a time */
};

static void progress_event(struct puller *pl, const char *digest, enum berth_pull_phase phase,
                           int64_t done, int64_t total)
{
        struct berth_pull_event ev = {
            .digest = digest, .phase = phase, .done = done, .total = total};

        if (!pl->o->progress)
                return;
        pthread_mutex_lock(&pl->progress_lock);
        pl->o->progress(&ev, pl->o->userdata);
        pthread_mutex_unlock(&pl->progress_lock);
}

/* flock that gives up when the pull is being stopped. */
static int lock_blob(struct puller *pl, const char *name, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int fd =
            openat(pl->dl_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd < 0)
                return berth_error_set(err, errno, "open downloads/%s", name);
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return berth_error_set(err, errno, "flock downloads/%s", name);
                if (atomic_load(&pl->stop))
                        return berth_error_setx(err, ECANCELED, "flock downloads/%s: cancelled",
                                                name);
                usleep(50000);
        }
        *ret_fd = steal_fd(&fd);
        return 0;
}

/* GET the blob into fd from `have` bytes on. A 416 (the server has no such range) restarts. */
static int download_to(struct puller *pl, CURL *c, const struct berth_descriptor *d, int fd,
                       int64_t have, struct berth_error **err)
{
        _autofree_ char *scope = xasprintf("repository:%s:pull", pl->path);
        _autofree_ char *url = xasprintf("%s://%s/v2/%s/blobs/%s", pl->reg->scheme, pl->reg->host,
                                         pl->path, d->digest);
        _autofree_ char *range = have > 0 ? xasprintf("%lld-", (long long) have) : NULL;
        struct req rq = {.url = url, .scope = scope, .range = range};
        struct xfer x;
        int r;

        xfer_init(&x, 0);
        x.fd = fd;
        x.offset = have;
        x.limit = d->size;
        x.stop = &pl->stop;
        x.pl = pl;
        x.digest = d->digest;
        if (lseek(fd, have, SEEK_SET) < 0)
                return berth_error_set(err, errno, "lseek");
        r = http_do(pl->reg, c, &rq, &x, err);
        if (r >= 0 && x.status == 416 && have > 0) {
                xfer_clear(&x);
                if (ftruncate(fd, 0) < 0)
                        return berth_error_set(err, errno, "ftruncate");
                return download_to(pl, c, d, fd, 0, err);
        }
        if (r >= 0 && x.status != 200 && x.status != 206)
                r = status_error(pl->reg, &x, url, err);
        if (r >= 0)
                progress_event(pl, d->digest, BERTH_PULL_DOWNLOADING, x.offset + x.written,
                               d->size);
        xfer_clear(&x);
        return r;
}

/* downloads/<hex>.partial, resumed from its size, then moved into the blob store. */
static int download_blob(struct puller *pl, CURL *c, const struct berth_descriptor *d,
                         struct berth_error **err)
{
        _autofree_ char *partial = xasprintf("%s.partial", DIGEST_HEX(d->digest));
        _autoclose_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = openat(pl->dl_fd, partial, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "open downloads/%s", partial);
        if (st.st_size > d->size && ftruncate(fd, 0) < 0)
                return berth_error_set(err, errno, "truncate downloads/%s", partial);
        if (st.st_size > d->size)
                st.st_size = 0;
        if (st.st_size < d->size) {
                r = download_to(pl, c, d, fd, st.st_size, err);
                if (r < 0)
                        return r;
        }
        progress_event(pl, d->digest, BERTH_PULL_VERIFYING, d->size, d->size);
        r = berth_blobstore_put_file(pl->blobs, pl->dl_fd, partial, d->digest, d->size, NULL, err);
        if (r == -EBADMSG) {
                /* Wrong bytes can never be resumed into the right blob: start over next time. The
                 * caller names the layer; say only what came instead. */
                const char *got = strstr((*err)->msg, ": got ");
                _autofree_ char *what = xstrdup(got ? got + 2 : "other bytes");

                unlinkat(pl->dl_fd, partial, 0);
                berth_error_freep(err);
                return berth_error_setx(err, EBADMSG,
                                        "the registry sent bytes that do not match "
                                        "the digest (%s)",
                                        what);
        }
        return r;
}

static int fetch_layer_blob(struct puller *pl, CURL *c, const struct berth_descriptor *d,
                            struct berth_error **err)
{
        _autofree_ char *lock = xasprintf("%s.lock", DIGEST_HEX(d->digest));
        _autoclose_ int fd = -EBADF;
        int r;

        r = lock_blob(pl, lock, &fd, err);
        if (r < 0)
                return r;
        if (!berth_blobstore_has(pl->blobs, d->digest))
                r = download_blob(pl, c, d, err);
        /* Only once the blob is in the store: a later holder of the old lock then finds it. */
        if (r >= 0)
                unlinkat(pl->dl_fd, lock, 0);
        return r;
}

static int layer_run(struct puller *pl, CURL *c, const struct layer_job *j,
                     struct berth_error **err)
{
        const struct berth_descriptor *d = j->d;
        int r;

        if (berth_store_has_layer(pl->s, j->chain) && berth_blobstore_has(pl->blobs, d->digest)) {
                progress_event(pl, d->digest, BERTH_PULL_EXISTS, d->size, d->size);
                return 0;
        }
        r = fetch_layer_blob(pl, c, d, err);
        if (r < 0)
                return r;
        progress_event(pl, d->digest, BERTH_PULL_EXTRACTING, d->size, d->size);
        r = berth_store_layer_add(pl->s, j->parent, j->diff_id, d->digest, &pl->o->layer, NULL,
                                  err);
        if (r < 0)
                return r;
        progress_event(pl, d->digest, BERTH_PULL_COMPLETE, d->size, d->size);
        return 0;
}

static void record_error(struct puller *pl, int r, struct berth_error **e)
{
        pthread_mutex_lock(&pl->lock);
        if (!pl->first_err && r != -ECANCELED) {
                pl->first_err = steal_ptr(e);
                pl->first_r = r;
        }
        pthread_mutex_unlock(&pl->lock);
        atomic_store(&pl->stop, true);
}

static const struct layer_job *next_job(struct puller *pl)
{
        const struct layer_job *j = NULL;

        pthread_mutex_lock(&pl->lock);
        if (!atomic_load(&pl->stop) && pl->next < pl->n_jobs)
                j = &pl->jobs[pl->next++];
        pthread_mutex_unlock(&pl->lock);
        return j;
}

static void *worker(void *arg)
{
        struct puller *pl = arg;
        _autocurl_ CURL *c = curl_easy_init();
        const struct layer_job *j;

        if (!c) {
                struct berth_error *e = NULL;

                berth_error_setx(&e, ENOMEM, "curl_easy_init failed");
                record_error(pl, -ENOMEM, &e);
                berth_error_free(e);
                return NULL;
        }
        while ((j = next_job(pl))) {
                struct berth_error *e = NULL;
                int r = layer_run(pl, c, j, &e);

                if (r < 0) {
                        berth_error_prefix(&e, "layer %s", j->d->digest);
                        record_error(pl, r, &e);
                }
                berth_error_free(e);
        }
        return NULL;
}

/* Runs the jobs on up to max_parallel threads; the first error stops the others. */
static int run_workers(struct puller *pl, struct berth_error **err)
{
        size_t n = pl->o->max_parallel > 0 ? (size_t) pl->o->max_parallel : DEFAULT_PARALLEL;
        pthread_t *threads;
        size_t started = 0;

        if (n > pl->n_jobs)
                n = pl->n_jobs;
        threads = xcalloc(n ? n : 1, sizeof(*threads));
        for (; started < n; started++) {
                int e = pthread_create(&threads[started], NULL, worker, pl);

                if (e) {
                        struct berth_error *te = NULL;

                        berth_error_set(&te, e, "pthread_create");
                        record_error(pl, -e, &te);
                        berth_error_free(te);
                        break;
                }
        }
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        free(threads);
        if (!pl->first_err && atomic_load(&pl->stop))
                return berth_error_setx(err, ECANCELED, "cancelled");
        if (pl->first_err) {
                *err = steal_ptr(&pl->first_err);
                return pl->first_r;
        }
        return 0;
}

static int open_downloads(struct berth_store *s, int *ret_fd, struct berth_error **err)
{
        _autofree_ char *dir = xasprintf("%s/downloads", berth_store_root(s));
        int fd;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "mkdir %s", dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "open %s", dir);
        *ret_fd = fd;
        return 0;
}

/* One job per layer, chain ids computed up front so that any layer can be unpacked first. */
static int plan_layers(struct puller *pl, const struct berth_manifest *m,
                       const struct berth_image_config *cfg, struct berth_error **err)
{
        if (m->n_layers != cfg->n_diff_ids)
                return berth_error_setx(err, EBADMSG,
                                        "manifest has %zu layers but the image config has %zu "
                                        "diff ids",
                                        m->n_layers, cfg->n_diff_ids);
        for (size_t i = 0; i < m->n_layers; i++) {
                enum berth_compression comp;
                int r = berth_layer_compression(m->layers[i].media_type, &comp, err);

                if (r < 0)
                        return berth_error_prefix(err, "layer %s", m->layers[i].digest);
        }
        pl->jobs = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*pl->jobs));
        pl->n_jobs = m->n_layers;
        for (size_t i = 0; i < m->n_layers; i++) {
                struct layer_job *j = &pl->jobs[i];

                j->d = &m->layers[i];
                j->diff_id = cfg->diff_ids[i];
                j->parent = i ? xstrdup(pl->jobs[i - 1].chain) : NULL;
                j->chain = berth_chain_id(j->parent, j->diff_id);
        }
        return 0;
}

static int pull_layers(struct puller *pl, const struct berth_manifest *m,
                       const struct berth_image_config *cfg, struct berth_error **err)
{
        int r;

        r = plan_layers(pl, m, cfg, err);
        if (r < 0)
                return r;
        r = open_downloads(pl->s, &pl->dl_fd, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < pl->n_jobs; i++)
                progress_event(pl, pl->jobs[i].d->digest, BERTH_PULL_WAITING, 0,
                               pl->jobs[i].d->size);
        return run_workers(pl, err);
}

static void puller_clear(struct puller *pl)
{
        for (size_t i = 0; i < pl->n_jobs; i++) {
                free(pl->jobs[i].chain);
                free(pl->jobs[i].parent);
        }
        free(pl->jobs);
        closep(&pl->dl_fd);
        berth_error_free(pl->first_err);
        pthread_mutex_destroy(&pl->lock);
        pthread_mutex_destroy(&pl->progress_lock);
}

/* ---- pull ------------------------------------------------------------------------------- */

/* The image manifest for the platform: the top one, or the index's pick (fetched by digest).
 * ret_top: the digest of what the reference named (the repo digest). */
static int resolve_manifest(struct reg *reg, CURL *c, const struct berth_ref *r,
                            const char *platform, struct fetched *ret, char *ret_top,
                            struct berth_manifest **ret_m, struct berth_error **err)
{
        _cleanup_(berth_manifest_freep) struct berth_manifest *m = NULL;
        const struct berth_descriptor *d;
        int k;

        k = fetch_manifest(reg, c, r->path, r->tag, r->digest, ret, err);
        if (k >= 0)
                k = berth_manifest_parse(ret->data, ret->len, ret->content_type, &m, err);
        if (k < 0)
                return k;
        strcpy(ret_top, ret->digest);
        if (m->kind == BERTH_MANIFEST_INDEX) {
                k = berth_manifest_pick(m, platform, &d, err);
                if (k < 0)
                        return k;
                _autofree_ char *digest = xstrdup(d->digest);

                berth_manifest_freep(&m);
                fetched_clear(ret);
                k = fetch_manifest(reg, c, r->path, NULL, digest, ret, err);
                if (k >= 0)
                        k = berth_manifest_parse(ret->data, ret->len, ret->content_type, &m, err);
                if (k < 0)
                        return k;
                if (m->kind != BERTH_MANIFEST_IMAGE)
                        return berth_error_setx(err, EBADMSG,
                                                "manifest %s: an index inside an index", digest);
        }
        *ret_m = steal_ptr(&m);
        return 0;
}

/* Manifest and config into the blob store, layers pulled; the image recorded. */
static int pull_image(struct puller *pl, CURL *c, const struct berth_ref *r, char **ret_id,
                      struct berth_error **err)
{
        _cleanup_(berth_manifest_freep) struct berth_manifest *m = NULL;
        _cleanup_(berth_image_config_freep) struct berth_image_config *cfg = NULL;
        _autofree_ char *cfg_data = NULL, *name = NULL, *repo_digest = NULL, *tagged = NULL;
        struct fetched f = {0};
        char top[72] = "";
        size_t cfg_len = 0;
        int k;

        k = resolve_manifest(pl->reg, c, r, pl->o->platform, &f, top, &m, err);
        /* m is set when k >= 0: spelled out for -Wnull-dereference, which cannot know that the
         * error setters return a negative value */
        if (k >= 0 && !m)
                k = -EIO;
        /* an image no container could mount: refused before anything of it is stored */
        if (k >= 0 && m->n_layers > berth_store_max_layers(pl->s))
                k = berth_store_layers_error(pl->s, m->n_layers, err);
        if (k >= 0)
                k = berth_blobstore_put(pl->blobs, f.data, f.len, f.digest, NULL, err);
        if (k >= 0)
                k = fetch_small_blob(pl->reg, c, pl->blobs, r->path, &m->config, &cfg_data,
                                     &cfg_len, err);
        if (k >= 0)
                k = berth_image_config_parse(cfg_data, cfg_len, &cfg, err);
        if (k >= 0)
                k = pull_layers(pl, m, cfg, err);
        if (k < 0) {
                fetched_clear(&f);
                return k;
        }
        name = berth_ref_name(r);
        repo_digest = xasprintf("%s@%s", name, top);
        /* docker tags only what was pulled by tag alone. */
        if (r->tag && !r->digest)
                tagged = xasprintf("%s:%s", name, r->tag);
        k = berth_store_image_add(pl->s, f.digest, tagged, repo_digest, ret_id, err);
        fetched_clear(&f);
        return k;
}

int berth_pull(struct berth_store *s, const char *ref, const struct berth_pull_opts *o,
               char **ret_id, char **ret_name, struct berth_error **err)
{
        static const struct berth_pull_opts defaults = {.reg = {.tls_verify = -1}};
        _autoref_ struct berth_ref *r = NULL;
        _autoreg_ struct reg *reg = NULL;
        _autocurl_ CURL *c = NULL;
        _autofree_ char *full = NULL, *id = NULL;
        _autoclose_ int lease = -EBADF;
        struct puller pl = {.s = s, .o = o ? o : &defaults, .dl_fd = -EBADF};
        int k;

        k = berth_ref_parse(ref, &r, err);
        if (k < 0)
                return berth_error_prefix(err, "pull");
        full = berth_ref_string(r);
        k = reg_new(r->domain, berth_ref_registry_host(r), &pl.o->reg, true, &reg, err);
        if (k >= 0 && !(c = curl_easy_init()))
                k = berth_error_setx(err, ENOMEM, "curl_easy_init failed");
        if (k >= 0)
                k = reg_ping(reg, c, err);
        /* gc must not sweep the blobs and layers of this pull before its image is recorded */
        if (k >= 0)
                k = berth_store_lease(s, &lease, err);
        if (k < 0)
                return berth_error_prefix(err, "pull %s", full);
        pl.reg = reg;
        pl.path = r->path;
        pl.blobs = berth_store_blobs(s);
        pthread_mutex_init(&pl.lock, NULL);
        pthread_mutex_init(&pl.progress_lock, NULL);
        atomic_init(&pl.stop, false);
        k = pull_image(&pl, c, r, &id, err);
        puller_clear(&pl);
        if (k < 0)
                return berth_error_prefix(err, "pull %s", full);
        if (ret_id)
                *ret_id = steal_ptr(&id);
        if (ret_name)
                *ret_name = steal_ptr(&full);
        return 0;
}

/* ---- login, logout ---------------------------------------------------------------------- */

/* GET /v2/ with the credentials: Basic, or a Bearer token got with them. */
static int check_login(struct reg *reg, CURL *c, struct berth_error **err)
{
        _autofree_ char *url = NULL;
        struct req rq = {0};
        struct xfer x;
        int r;

        r = reg_ping(reg, c, err);
        if (r < 0 || reg->chal.scheme == BERTH_AUTH_NONE)
                return r;
        url = reg_url(reg, "/v2/");
        rq.url = url;
        xfer_init(&x, ERROR_BODY_MAX);
        r = perform_once(reg, c, &rq, &x, err);
        /* A 401 from the token endpoint (with the credentials) or from /v2/ says the same. */
        if (r == -EACCES || (r >= 0 && x.status == 401)) {
                berth_error_freep(err);
                r = berth_error_setx(err, EACCES, "unauthorized: incorrect username or password");
        } else if (r >= 0 && x.status != 200) {
                r = status_error(reg, &x, url, err);
        }
        xfer_clear(&x);
        return r;
}

int berth_login(const char *registry, const char *user, const char *password,
                const struct berth_registry_opts *o, struct berth_error **err)
{
        static const struct berth_registry_opts defaults = {.tls_verify = -1};
        _autofree_ char *key = NULL, *def = NULL;
        _autoreg_ struct reg *reg = NULL;
        _autocurl_ CURL *c = NULL;
        const char *file;
        int r;

        r = berth_registry_key(registry, &key, err);
        if (r < 0)
                return berth_error_prefix(err, "login");
        if (!user || !*user)
                return berth_error_setx(err, EINVAL, "login to %s: empty user name", key);
        o = o ? o : &defaults;
        r = reg_new(key, streq(key, "docker.io") ? "registry-1.docker.io" : key, o, false, &reg,
                    err);
        if (r >= 0 && !(c = curl_easy_init()))
                r = berth_error_setx(err, ENOMEM, "curl_easy_init failed");
        if (r >= 0) {
                reg->user = xstrdup(user);
                reg->pass = xstrdup(password ? password : "");
                r = check_login(reg, c, err);
        }
        file = o->auth_file ? o->auth_file : (def = berth_auth_file_default());
        if (r >= 0)
                r = berth_auth_file_set(file, key, user, password ? password : "", err);
        if (r < 0)
                return berth_error_prefix(err, "login to %s", key);
        return 0;
}

int berth_logout(const char *registry, const struct berth_registry_opts *o,
                 struct berth_error **err)
{
        _autofree_ char *key = NULL, *def = NULL;
        const char *file;
        int r;

        r = berth_registry_key(registry, &key, err);
        if (r < 0)
                return berth_error_prefix(err, "logout");
        file = o && o->auth_file ? o->auth_file : (def = berth_auth_file_default());
        r = berth_auth_file_remove(file, key, err);
        if (r == -ENOENT)
                return r; /* "not logged in to HOST" */
        if (r < 0)
                return berth_error_prefix(err, "logout from %s", key);
        return 0;
}
