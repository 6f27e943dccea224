/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images in files: OCI layouts (a directory, or a tar of one), `docker save` archives (classic
 * and docker 25's OCI-layout form), plain rootfs tars (import), and docker's --change lines.
 *
 * A tar is read once, as a stream, entries in any order: blobs go straight into the blob store
 * (through a pipe that a thread drains into berth_blobstore_put_fd, so no layer is ever held in
 * memory), and so do docker's configs (<id>.json); only index.json and manifest.json are kept in
 * memory. JSON has limits of size and count (JSON_MAX and below).
 * Only then is the archive checked image by image ("plan"): every blob named, every config
 * parsed, every digest compared, before any layer is unpacked or any image recorded. A load that
 * fails there removes the blobs it added, so a bad archive leaves nothing in the store.
 */
#include "image/archive-dl.h"
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/blobstore.h"
#include "image/image-archive.h"
#include "image/imageref.h"
#include "base/log.h"
#include "base/sha256.h"
#include "image/manifest.h"
#include "base/syscalls.h"
#include "base/json.h"
#include "base/util.h"

/*
 * What JSON can take: jansson needs up to ~20 times a document's size for one made of tiny
 * values, so a document is read into memory only when the format needs it (index.json,
 * manifest.json, the manifests and configs they name), each at most JSON_MAX bytes and
 * JSON_VALUES_MAX values. The other *.json members of a tar (docker's configs among them: which
 * ones are needed is known only when manifest.json has been read, often last) are streamed into
 * the blob store like blobs, each at most JSON_MAX bytes and JSON_TOTAL_MAX all together; those
 * no image uses are removed at the end.
 */
#define JSON_MAX (8u << 20)
#define JSON_TOTAL_MAX (64u << 20)
#define JSON_VALUES_MAX (1u << 18)
/* Members kept track of (metadata, blobs, layers, links): entry lookups are linear. */
#define ENTRIES_MAX 16384
#define CHUNK (64 * 1024)
#define BLOBS_DIR "blobs/sha256/"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"
#define ANN_CONTAINERD_NAME "io.containerd.image.name"
#define MAX_LINKS 8
/* libarchive's errno for "not this format" (archive_private.h: EFTYPE, or EILSEQ on Linux). */
#define ARCHIVE_ERRNO_FORMAT EILSEQ

/* ---- blobs added by one operation ------------------------------------------------------ */

/* The blobs an operation added to the store (not there before): removed if it fails. */
struct txn {
        struct berth_blobstore *bs;
        char **added;
        size_t n_added;
};

static void txn_note(struct txn *t, const char *digest)
{
        strv_push(&t->added, &t->n_added, xstrdup(digest));
}

static void txn_rollback(struct txn *t)
{
        for (size_t i = 0; i < t->n_added; i++) {
                _autoerr_ struct berth_error *e = NULL;

                if (berth_blobstore_remove(t->bs, t->added[i], &e) < 0)
                        berth_warn("%s, ignoring", e->msg);
        }
        strv_free(t->added);
        t->added = NULL;
        t->n_added = 0;
}

/* Removes a blob this operation added, now that nothing needs it. */
static void txn_drop(struct txn *t, const char *digest)
{
        for (size_t i = 0; i < t->n_added; i++) {
                _autoerr_ struct berth_error *e = NULL;

                if (!streq(t->added[i], digest))
                        continue;
                if (berth_blobstore_remove(t->bs, digest, &e) < 0)
                        berth_warn("%s, ignoring", e->msg);
                free(t->added[i]);
                t->added[i] = t->added[--t->n_added];
                t->added[t->n_added] = NULL;
                return;
        }
}

static void txn_commit(struct txn *t)
{
        strv_free(t->added);
        t->added = NULL;
        t->n_added = 0;
}

static int txn_put_mem(struct txn *t, const void *data, size_t len, char **ret_digest,
                       struct berth_error **err)
{
        char digest[BERTH_SHA256_DIGEST_LEN + 1];
        bool existed;
        int r;

        berth_sha256_digest(data, len, digest);
        existed = berth_blobstore_has(t->bs, digest);
        r = berth_blobstore_put(t->bs, data, len, digest, NULL, err);
        if (r < 0)
                return r;
        if (!existed)
                txn_note(t, digest);
        if (ret_digest)
                *ret_digest = xstrdup(digest);
        return 0;
}

/* Where streamed content comes from: the current entry of an archive, or an fd. */
struct reader {
        struct archive *a;
        int fd;
};

static ssize_t reader_read(struct reader *rd, void *buf, size_t len, struct berth_error **err)
{
        ssize_t n;

        if (rd->a) {
                n = archive_read_data(rd->a, buf, len);
                if (n < 0)
                        return berth_error_setx(err, EIO, "read: %s", archive_error_string(rd->a));
                return n;
        }
        do
                n = read(rd->fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return berth_error_set(err, errno, "read");
        return n;
}

struct put_job {
        struct berth_blobstore *bs;
        int fd; /* the pipe's read end */
        const char *expected;
        int64_t size;
        char *digest;
        struct berth_error *err;
        int r;
};

static void *put_thread(void *arg)
{
        struct put_job *j = arg;
        char buf[4096];

        j->r = berth_blobstore_put_fd(j->bs, j->fd, j->expected, j->size, &j->digest, &j->err);
        /* The writer is still writing: drain, so it never blocks on a full pipe or gets EPIPE. */
        if (j->r < 0)
                while (read(j->fd, buf, sizeof(buf)) > 0 || errno == EINTR)
                        ;
        return NULL;
}

/* Copies rd into fd while hashing what was written. */
static int pump(struct reader *rd, int fd, EVP_MD_CTX *ctx, struct berth_error **err)
{
        _autofree_ char *buf = xcalloc(1, CHUNK);
        ssize_t n;

        while ((n = reader_read(rd, buf, CHUNK, err)) > 0) {
                if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
                        return berth_error_setx(err, EIO, "EVP_DigestUpdate failed");
                if (write_all(fd, buf, (size_t) n) < 0)
                        return berth_error_set(err, errno, "write to pipe");
        }
        return n < 0 ? (int) n : 0;
}

/*
 * Streams rd into the blob store (expected and size as for berth_blobstore_put_fd). The content
 * is hashed here too: the digest is known before the writer's end of the pipe closes, that is
 * before the blob can be committed, so "was it there before" is answered without a race against
 * ourselves, and a blob this call added is noted in t.
 */
static int txn_put_stream(struct txn *t, struct reader *rd, const char *expected, int64_t size,
                          char **ret_digest, struct berth_error **err)
{
        struct put_job j = {.bs = t->bs, .expected = expected, .size = size};
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _autoclose_ int wfd = -EBADF, rfd = -EBADF;
        char digest[BERTH_SHA256_DIGEST_LEN + 1] = "";
        bool existed = true;
        pthread_t th;
        int p[2], r;

        r = berth_sha256_new(&ctx, err);
        if (r < 0)
                return r;
        if (pipe2(p, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "pipe2");
        rfd = j.fd = p[0];
        wfd = p[1];
        r = pthread_create(&th, NULL, put_thread, &j);
        if (r != 0)
                return berth_error_set(err, r, "pthread_create");
        r = pump(rd, wfd, ctx, err);
        if (berth_sha256_final(ctx, digest, NULL) >= 0)
                existed = berth_blobstore_has(t->bs, digest);
        closep(&wfd);
        pthread_join(th, NULL);
        if (r < 0 || j.r < 0) {
                /* A short read with no size to check against may have committed a stub. */
                if (r < 0 && j.r >= 0 && !existed)
                        berth_blobstore_remove(t->bs, j.digest, NULL);
                free(j.digest);
                if (r < 0) {
                        berth_error_free(j.err);
                        return r;
                }
                if (err)
                        *err = j.err;
                else
                        berth_error_free(j.err);
                return j.r;
        }
        if (!existed)
                txn_note(t, j.digest);
        *ret_digest = j.digest;
        return 0;
}

/* ---- names inside an archive ------------------------------------------------------------ */

/* Normalizes raw, relative to the archive directory base ("" for the top): "./a//b/../c" ->
 * "a/c". An absolute raw is taken from the archive's top when abs_ok, else refused; a ".." above
 * the top is refused (-EINVAL). */
static int archive_path(const char *base, const char *raw, bool abs_ok, char **ret)
{
        _autofree_ char *joined = NULL, *out = NULL;
        size_t o = 0;

        if (raw[0] == '/' && !abs_ok)
                return -EINVAL;
        joined = raw[0] == '/' || !*base ? xstrdup(raw) : xasprintf("%s/%s", base, raw);
        out = xcalloc(strlen(joined) + 1, 1);
        for (const char *p = joined; *p;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (o == 0)
                                return -EINVAL;
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
                p += strspn(p, "/");
        }
        out[o] = '\0';
        *ret = steal_ptr(&out);
        return 0;
}

/* A name from manifest.json or a descriptor, checked: "WHERE: "../x": path leaves the archive". */
static int ref_path(const char *where, const char *raw, char **ret, struct berth_error **err)
{
        if (archive_path("", raw, false, ret) < 0 || !**ret) {
                if (*ret)
                        freep(ret);
                return berth_error_setx(err, EINVAL, "%s: %s: path leaves the archive", where,
                                        QUOTE(raw));
        }
        return 0;
}

static char *blob_path(const char *digest)
{
        return xasprintf(BLOBS_DIR "%s", digest + 7);
}

/* "blobs/sha256/<64 hex>" -> "sha256:<hex>" in expected; false for other names. */
static bool is_blob_name(const char *name, char expected[BERTH_SHA256_DIGEST_LEN + 1])
{
        if (!startswith(name, BLOBS_DIR) || strlen(name) != strlen(BLOBS_DIR) + 64)
                return false;
        snprintf(expected, BERTH_SHA256_DIGEST_LEN + 1, "sha256:%s", name + strlen(BLOBS_DIR));
        return berth_digest_validate(expected, NULL) >= 0;
}

static bool endswith(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && streq(s + n - m, suffix);
}

/* Files kept in memory: the layout's and docker's top documents. */
static bool is_meta_name(const char *name)
{
        return streq(name, "index.json") || streq(name, "oci-layout") ||
               streq(name, "manifest.json");
}

/* Other JSON files (docker's classic configs, <id>.json): streamed, with a cap. */
static bool is_json_name(const char *name)
{
        return endswith(name, ".json") && !startswith(name, "blobs/") && !is_meta_name(name);
}

/* Files streamed into the blob store: layout blobs and docker's layer tars. */
static bool is_stream_name(const char *name)
{
        return startswith(name, "blobs/") || endswith(name, ".tar") || endswith(name, ".tar.gz") ||
               endswith(name, ".tgz") || endswith(name, ".tar.zst");
}

/* ---- the loader ------------------------------------------------------------------------ */

struct entry {
        char *name;   /* normalized */
        char *digest; /* streamed into the blob store */
        int64_t size;
        char *data; /* kept in memory */
        size_t len;
        char *link; /* a symlink or hardlink: the normalized name it points to */
        bool json;  /* a JSON member streamed into the blob store (is_json_name) */
        bool used;  /* an image needs it */
};

/* One image found in the archive, checked and ready to record. */
struct plan {
        char *where;    /* "manifest.json", "index.json: manifests[0]" */
        char *manifest; /* digest of an image manifest in the blob store */
        char **blobs;   /* layer blobs, bottom first */
        char **diff_ids;
        size_t n_layers;
        char **names; /* normalized */
        size_t n_names;
};

struct loader {
        struct berth_store *s;
        const struct berth_layer_opts *lo;
        struct txn txn;
        int dirfd; /* an OCI layout directory, or -EBADF for a tar */
        struct entry *entries;
        size_t n_entries;
        struct plan *plans;
        size_t n_plans;
        char **loaded;
        size_t n_loaded;
        uint64_t json_total; /* bytes of the archive's JSON members */
};

static void entry_clear(struct entry *e)
{
        free(e->name);
        free(e->digest);
        free(e->data);
        free(e->link);
        memset(e, 0, sizeof(*e));
}

static void plan_clear(struct plan *p)
{
        free(p->where);
        free(p->manifest);
        strv_free(p->blobs);
        strv_free(p->diff_ids);
        strv_free(p->names);
        memset(p, 0, sizeof(*p));
}

static void loader_clear(struct loader *l)
{
        for (size_t i = 0; i < l->n_entries; i++)
                entry_clear(&l->entries[i]);
        free(l->entries);
        for (size_t i = 0; i < l->n_plans; i++)
                plan_clear(&l->plans[i]);
        free(l->plans);
        strv_free(l->loaded);
        strv_free(l->txn.added);
        if (l->dirfd >= 0)
                close(l->dirfd);
}

static struct entry *entry_get(struct loader *l, const char *name)
{
        for (size_t i = 0; i < l->n_entries; i++)
                if (streq(l->entries[i].name, name))
                        return &l->entries[i];
        return NULL;
}

/* A new entry; a later entry of the same name replaces an earlier one, as tar does. */
static struct entry *entry_add(struct loader *l, char *name)
{
        struct entry *e = entry_get(l, name);

        if (e) {
                entry_clear(e);
        } else {
                /* read_entry checked the count */
                l->entries = xreallocarray(l->entries, l->n_entries + 1, sizeof(*l->entries));
                e = &l->entries[l->n_entries++];
                memset(e, 0, sizeof(*e));
        }
        e->name = name;
        return e;
}

/* The entry named, links followed. */
static struct entry *entry_find(struct loader *l, const char *name)
{
        struct entry *e = entry_get(l, name);

        for (int i = 0; e && e->link && i < MAX_LINKS; i++)
                e = entry_get(l, e->link);
        return e && !e->link ? e : NULL;
}

static int json_too_big(const char *name, int64_t size, bool at_least, struct berth_error **err)
{
        return berth_error_setx(err, EFBIG,
                                "%s: %s%lld bytes: a JSON file of an image archive is limited "
                                "to %u bytes (%u MiB)",
                                name, at_least ? "more than " : "", (long long) size, JSON_MAX,
                                JSON_MAX >> 20);
}

/* Counts a JSON member of size bytes against the caps, before any of it is read. */
static int json_member_check(struct loader *l, const char *name, int64_t size,
                             struct berth_error **err)
{
        if (size < 0)
                return berth_error_setx(err, EINVAL, "%s: the tar header gives no size", name);
        if (size > JSON_MAX)
                return json_too_big(name, size, false, err);
        l->json_total += (uint64_t) size;
        if (l->json_total > JSON_TOTAL_MAX)
                return berth_error_setx(err, EFBIG,
                                        "%s: the JSON files of the archive take more than %u "
                                        "bytes (%u MiB) together",
                                        name, JSON_TOTAL_MAX, JSON_TOTAL_MAX >> 20);
        return 0;
}

static int read_entry_data(struct archive *a, const char *name, char **ret, size_t *ret_len,
                           struct berth_error **err)
{
        _autofree_ char *buf = NULL;
        size_t len = 0, cap = 0;
        ssize_t n;

        do {
                if (len + CHUNK + 1 > cap) {
                        cap = len + CHUNK + 1;
                        buf = xreallocarray(buf, cap, 1);
                }
                n = archive_read_data(a, buf + len, CHUNK);
                if (n < 0)
                        return berth_error_setx(err, EIO, "%s: read: %s", name,
                                                archive_error_string(a));
                len += (size_t) n;
                if (len > JSON_MAX)
                        return json_too_big(name, JSON_MAX, true, err);
        } while (n > 0);
        buf[len] = '\0';
        *ret = steal_ptr(&buf);
        *ret_len = len;
        return 0;
}

static int read_entry_file(struct loader *l, struct archive *a, struct archive_entry *ae,
                           char **name, struct berth_error **err)
{
        char expected[BERTH_SHA256_DIGEST_LEN + 1];
        struct reader rd = {.a = a, .fd = -EBADF};
        char *data = NULL, *digest = NULL;
        size_t len = 0;
        int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
        bool blob = is_blob_name(*name, expected);
        struct entry *e;
        int r;

        if (is_meta_name(*name)) {
                r = json_member_check(l, *name, size, err);
                if (r >= 0)
                        r = read_entry_data(a, *name, &data, &len, err);
        } else if (is_json_name(*name)) {
                r = json_member_check(l, *name, size, err);
                if (r >= 0 && txn_put_stream(&l->txn, &rd, NULL, size, &digest, err) < 0)
                        r = berth_error_prefix(err, "%s", *name);
        } else if (is_stream_name(*name)) {
                r = txn_put_stream(&l->txn, &rd, blob ? expected : NULL, size, &digest, err);
                if (r < 0)
                        r = berth_error_prefix(err, "%s", *name);
        } else {
                return 0; /* docker's <id>/json, <id>/VERSION: not needed */
        }
        if (r < 0)
                return r;
        e = entry_add(l, steal_ptr(name));
        e->data = data;
        e->len = len;
        e->digest = digest;
        e->size = digest ? size : (int64_t) len;
        e->json = digest && is_json_name(e->name);
        return 0;
}

static int read_entry(struct loader *l, struct archive *a, struct archive_entry *ae,
                      struct berth_error **err)
{
        _autofree_ char *name = NULL, *dir = NULL, *target = NULL;
        const char *raw = archive_entry_pathname(ae);
        const char *hardlink = archive_entry_hardlink(ae);
        char *slash;

        /* A name outside the archive is skipped: nothing is ever written by its name, and a
         * reference to it fails as "not in the archive". */
        if (!raw || archive_path("", raw, true, &name) < 0 || !*name)
                return 0;
        if (l->n_entries >= ENTRIES_MAX && !entry_get(l, name))
                return berth_error_setx(err, E2BIG, "%s: more than %u members (the limit)", name,
                                        ENTRIES_MAX);
        if (hardlink) {
                if (archive_path("", hardlink, true, &target) < 0)
                        return 0;
        } else if (archive_entry_filetype(ae) == AE_IFLNK) {
                dir = xstrdup(name);
                slash = strrchr(dir, '/');
                *(slash ? slash : dir) = '\0';
                if (!archive_entry_symlink(ae) ||
                    archive_path(dir, archive_entry_symlink(ae), true, &target) < 0)
                        return 0;
        } else if (archive_entry_filetype(ae) == AE_IFREG) {
                return read_entry_file(l, a, ae, &name, err);
        } else {
                return 0;
        }
        entry_add(l, steal_ptr(&name))->link = steal_ptr(&target);
        return 0;
}

static int read_archive(struct loader *l, int fd, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        struct archive_entry *ae;
        size_t n = 0;
        int r;

        if (!a)
                return berth_error_setx(err, ENOMEM, "archive_read_new failed");
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        /* libarchive reads the first header to detect the format already here */
        if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
                return berth_error_setx(
                    err, EINVAL, "%s: %s",
                    archive_errno(a) == ARCHIVE_ERRNO_FORMAT ? "not a tar archive" : "read archive",
                    archive_error_string(a));
        for (;; n++) {
                r = archive_read_next_header(a, &ae);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN && n == 0)
                        return berth_error_setx(err, EINVAL, "not a tar archive: %s",
                                                archive_error_string(a));
                if (r < ARCHIVE_WARN)
                        return berth_error_setx(err, EIO, "read archive: %s",
                                                archive_error_string(a));
                r = read_entry(l, a, ae, err);
                if (r < 0)
                        return r;
        }
        if (n == 0)
                return berth_error_setx(err, EINVAL, "not a tar archive: no entries");
        return 0;
}

/* Opens name in the layout directory, never leaving it. */
static int layout_open(struct loader *l, const char *name, int *ret_fd)
{
        struct berth_open_how how = {
            .flags = O_RDONLY | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = sys_openat2(l->dirfd, name, &how);

        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static const char *source_kind(const struct loader *l)
{
        return l->dirfd >= 0 ? "layout" : "archive";
}

static bool source_has(struct loader *l, const char *name)
{
        _autoclose_ int fd = -EBADF;

        if (l->dirfd < 0)
                return entry_find(l, name) != NULL;
        return layout_open(l, name, &fd) >= 0;
}

/* Reads a metadata file or a blob of the source into memory. */
static int source_read(struct loader *l, const char *where, const char *name, char **ret,
                       size_t *ret_len, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        struct entry *e;
        int r;

        if (l->dirfd >= 0) {
                r = layout_open(l, name, &fd);
                if (r < 0)
                        return berth_error_set(err, -r, "%s: %s", where, name);
        } else {
                e = entry_find(l, name);
                if (!e)
                        return berth_error_setx(err, ENOENT, "%s: %s: not in the archive", where,
                                                name);
                e->used = true;
                if (!e->digest) {
                        *ret = xcalloc(e->len + 1, 1);
                        memcpy(*ret, e->data, e->len);
                        *ret_len = e->len;
                        return 0;
                }
                r = berth_blobstore_open_blob(l->txn.bs, e->digest, &fd, err);
                if (r < 0)
                        return berth_error_prefix(err, "%s: %s", where, name);
        }
        r = berth_read_fd(fd, name, JSON_MAX, ret, ret_len, err);
        return r < 0 ? berth_error_prefix(err, "%s", where) : 0;
}

/* Makes sure the blob `name` of the source is in the blob store (checked against expected and
 * size when given) and returns its digest and size. */
static int source_blob(struct loader *l, const char *where, const char *name, const char *expected,
                       int64_t size, char **ret_digest, int64_t *ret_size, struct berth_error **err)
{
        _autofree_ char *digest = NULL;
        _autoclose_ int fd = -EBADF;
        struct reader rd = {.fd = -EBADF};
        struct entry *e = NULL;
        struct stat st;
        int r;

        if (l->dirfd >= 0) {
                r = layout_open(l, name, &fd);
                if (r == -ENOENT)
                        return berth_error_setx(err, ENOENT, "%s: %s: not in the layout", where,
                                                name);
                if (r < 0 || fstat(fd, &st) < 0)
                        return berth_error_set(err, r < 0 ? -r : errno, "%s: %s", where, name);
                rd.fd = fd;
                r = txn_put_stream(&l->txn, &rd, expected, size, &digest, err);
                if (r < 0)
                        return berth_error_prefix(err, "%s: %s", where, name);
                *ret_size = st.st_size;
                *ret_digest = steal_ptr(&digest);
                return 0;
        }
        e = entry_find(l, name);
        if (!e)
                return berth_error_setx(err, ENOENT, "%s: %s: not in the archive", where, name);
        e->used = true;
        if (!e->digest) {
                r = txn_put_mem(&l->txn, e->data, e->len, &e->digest, err);
                if (r < 0)
                        return berth_error_prefix(err, "%s: %s", where, name);
        }
        if (expected && !streq(expected, e->digest))
                return berth_error_setx(err, EBADMSG,
                                        "%s: %s: digest mismatch: expected %s, got %s", where, name,
                                        expected, e->digest);
        if (size >= 0 && size != e->size)
                return berth_error_setx(err, EBADMSG,
                                        "%s: %s: size mismatch: expected %lld bytes, got %lld",
                                        where, name, (long long) size, (long long) e->size);
        *ret_size = e->size;
        *ret_digest = xstrdup(e->digest);
        return 0;
}

/* Refuses a document of more than JSON_VALUES_MAX values (counted by their separators outside
 * strings) before jansson builds them. */
static int json_check_values(const char *what, const char *data, size_t len,
                             struct berth_error **err)
{
        size_t n = 0;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                char c = data[i];

                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                } else if (c == '"') {
                        in_string = true;
                } else if (c == ',' || c == '[' || c == '{' || c == ':') {
                        n++;
                }
        }
        if (n > JSON_VALUES_MAX)
                return berth_error_setx(err, E2BIG,
                                        "%s: more than %u JSON values (the limit for a JSON file "
                                        "of an image archive)",
                                        what, JSON_VALUES_MAX);
        return 0;
}

static int json_parse(const char *what, const char *data, size_t len, json_t **ret,
                      struct berth_error **err)
{
        json_error_t je;
        json_t *j;
        int r;

        r = json_check_values(what, data, len, err);
        if (r < 0)
                return r;
        j = json_loadb(data, len, 0, &je);
        if (!j)
                return berth_error_setx(err, EINVAL, "%s: line %d column %d: %s", what, je.line,
                                        je.column, je.text);
        *ret = j;
        return 0;
}

/* More layers than a container can mount: refused before any of them is looked at (they may
 * be in the blob store already, streamed from the tar: the load's rollback removes them). */
static int too_many_layers(struct loader *l, const char *where, size_t n, struct berth_error **err)
{
        berth_store_layers_error(l->s, n, err);
        return berth_error_prefix(err, "%s", where);
}

/* A name to record: normalized ("busybox" -> "docker.io/library/busybox:latest"). One with a
 * digest, which the store refuses as a name, is refused here: before any image is recorded (a
 * second image named so failed the load after the first one was in the store). */
static int normalize_name(const char *where, const char *raw, char **ret, struct berth_error **err)
{
        _autoref_ struct berth_ref *ref = NULL;
        int r;

        r = berth_ref_parse(raw, &ref, err);
        if (r < 0)
                return berth_error_prefix(err, "%s", where);
        if (ref->digest)
                return berth_error_setx(err, EINVAL, "%s: name %s: a digest cannot be a tag", where,
                                        QUOTE(raw));
        *ret = berth_ref_string(ref);
        return 0;
}

static struct plan *plan_new(struct loader *l, const char *where)
{
        struct plan *p;

        l->plans = xreallocarray(l->plans, l->n_plans + 1, sizeof(*l->plans));
        p = &l->plans[l->n_plans++];
        memset(p, 0, sizeof(*p));
        p->where = xstrdup(where);
        return p;
}

/* Appends a layer (blob: taken) to the plan. */
static void plan_add_layer(struct plan *p, char *blob, const char *diff_id)
{
        size_t n = p->n_layers;

        strv_push(&p->blobs, &n, blob);
        n = p->n_layers;
        strv_push(&p->diff_ids, &n, xstrdup(diff_id));
        p->n_layers = n;
}

static int read_config(struct loader *l, const char *where, const char *digest,
                       struct berth_image_config **ret, struct berth_error **err)
{
        _autofree_ char *data = NULL;
        _autoclose_ int fd = -EBADF;
        size_t len = 0;
        int r;

        r = berth_blobstore_open_blob(l->txn.bs, digest, &fd, err);
        if (r >= 0)
                r = berth_read_fd(fd, "config", JSON_MAX, &data, &len, err);
        if (r >= 0)
                r = json_check_values("config", data, len, err);
        if (r >= 0)
                r = berth_image_config_parse(data, len, ret, err);
        return r < 0 ? berth_error_prefix(err, "%s", where) : 0;
}

static int read_blob(struct loader *l, const char *digest, char **ret, size_t *ret_len,
                     struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r;

        r = berth_blobstore_open_blob(l->txn.bs, digest, &fd, err);
        if (r >= 0)
                r = berth_read_fd(fd, digest, JSON_MAX, ret, ret_len, err);
        if (r >= 0)
                r = json_check_values(digest, *ret, *ret_len, err);
        return r;
}

/* The compression of a blob, from its first bytes. */
static int blob_compression(struct berth_blobstore *bs, const char *digest,
                            enum berth_compression *ret, struct berth_error **err)
{
        static const unsigned char gzip[] = {0x1f, 0x8b}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
        static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0}, bzip2[] = {'B', 'Z', 'h'};
        _autoclose_ int fd = -EBADF;
        unsigned char magic[6] = {0};
        int r;

        r = berth_blobstore_open_blob(bs, digest, &fd, err);
        if (r < 0)
                return r;
        if (pread(fd, magic, sizeof(magic), 0) < 0)
                return berth_error_set(err, errno, "blob %s: read", digest);
        if (memcmp(magic, gzip, sizeof(gzip)) == 0)
                *ret = BERTH_COMPRESSION_GZIP;
        else if (memcmp(magic, zstd, sizeof(zstd)) == 0)
                *ret = BERTH_COMPRESSION_ZSTD;
        else if (memcmp(magic, xz, sizeof(xz)) == 0 || memcmp(magic, bzip2, sizeof(bzip2)) == 0)
                /* no OCI layer media type says xz or bzip2: refused rather than stored as a
                 * plain tar whose digest could never match its diff id */
                return berth_error_setx(err, ENOTSUP,
                                        "blob %s: %s-compressed layers are not "
                                        "supported (use gzip, zstd or a plain tar)",
                                        digest, magic[0] == 'B' ? "bzip2" : "xz");
        else
                *ret = BERTH_COMPRESSION_NONE;
        return 0;
}

static const char *layer_media_type(enum berth_compression c)
{
        return c == BERTH_COMPRESSION_GZIP   ? BERTH_MT_OCI_LAYER_GZIP
               : c == BERTH_COMPRESSION_ZSTD ? BERTH_MT_OCI_LAYER_ZSTD
                                             : BERTH_MT_OCI_LAYER;
}

/* docker-save has no manifest: this writes the OCI one (compact, so deterministic). */
static int put_manifest(struct loader *l, const char *config, int64_t config_size, json_t *layers,
                        char **ret_digest, struct berth_error **err)
{
        _autojson_ json_t *m = NULL;
        _autofree_ char *text = NULL;

        m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
                      BERTH_MT_OCI_MANIFEST, "config", "mediaType", BERTH_MT_OCI_CONFIG, "digest",
                      config, "size", (json_int_t) config_size, "layers", layers);
        text = m ? json_dumps(m, JSON_COMPACT) : NULL;
        if (!text)
                return berth_error_setx(err, ENOMEM, "write manifest: json_dumps failed");
        return txn_put_mem(&l->txn, text, strlen(text), ret_digest, err);
}

static int docker_layer(struct loader *l, const char *where, const char *raw, const char *diff_id,
                        json_t *layers, struct plan *p, struct berth_error **err)
{
        char expected[BERTH_SHA256_DIGEST_LEN + 1];
        _autofree_ char *name = NULL, *digest = NULL;
        enum berth_compression c;
        int64_t size = 0;
        int r;

        r = ref_path(where, raw, &name, err);
        if (r < 0)
                return r;
        r = source_blob(l, where, name, is_blob_name(name, expected) ? expected : NULL, -1, &digest,
                        &size, err);
        if (r < 0)
                return r;
        r = blob_compression(l->txn.bs, digest, &c, err);
        if (r < 0)
                return berth_error_prefix(err, "%s: %s", where, name);
        /* An uncompressed layer's digest is its diff id: checked now, before anything is kept. */
        if (c == BERTH_COMPRESSION_NONE && !streq(digest, diff_id))
                return berth_error_setx(err, EBADMSG,
                                        "%s: %s: diff id mismatch: the config says %s, got %s",
                                        where, name, diff_id, digest);
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", layer_media_type(c),
                                                "digest", digest, "size", (json_int_t) size));
        plan_add_layer(p, steal_ptr(&digest), diff_id);
        return 0;
}

static int docker_names(const char *where, json_t *tags, struct plan *p, struct berth_error **err)
{
        _autofree_ char *w = xasprintf("%s: RepoTags", where);
        json_t *t;
        size_t i;
        int r;

        if (!tags || json_is_null(tags))
                return 0;
        if (!json_is_array(tags))
                return berth_error_setx(err, EINVAL, "%s: expected an array of strings", w);
        json_array_foreach(tags, i, t)
        {
                char *name = NULL;

                if (!json_is_string(t))
                        return berth_error_setx(err, EINVAL, "%s[%zu]: expected a string", w, i);
                r = normalize_name(w, json_string_value(t), &name, err);
                if (r < 0)
                        return r;
                strv_push(&p->names, &p->n_names, name);
        }
        return 0;
}

/* One element of manifest.json: {"Config": ..., "RepoTags": [...], "Layers": [...]}. */
static int docker_image(struct loader *l, const char *where, json_t *o, struct berth_error **err)
{
        _cleanup_(berth_image_config_freep) struct berth_image_config *cfg = NULL;
        _autofree_ char *config = NULL, *cwhere = xasprintf("%s: Config", where);
        _autojson_ json_t *layers = json_array();
        json_t *jc = json_object_get(o, "Config"), *jl = json_object_get(o, "Layers"), *t;
        char expected[BERTH_SHA256_DIGEST_LEN + 1];
        _autofree_ char *digest = NULL;
        struct plan *p;
        int64_t size = 0;
        size_t i;
        int r;

        if (!json_is_string(jc))
                return berth_error_setx(err, EINVAL, "%s: missing or not a string", cwhere);
        if (!json_is_array(jl))
                return berth_error_setx(err, EINVAL, "%s: Layers: missing or not an array", where);
        if (json_array_size(jl) > berth_store_max_layers(l->s))
                return too_many_layers(l, where, json_array_size(jl), err);
        r = ref_path(cwhere, json_string_value(jc), &config, err);
        if (r >= 0)
                r = source_blob(l, cwhere, config, is_blob_name(config, expected) ? expected : NULL,
                                -1, &digest, &size, err);
        if (r >= 0)
                r = read_config(l, cwhere, digest, &cfg, err);
        if (r < 0)
                return r;
        if (json_array_size(jl) != cfg->n_diff_ids)
                return berth_error_setx(err, EINVAL,
                                        "%s: Layers: %zu entries, but the config has "
                                        "%zu diff ids",
                                        where, json_array_size(jl), cfg->n_diff_ids);
        p = plan_new(l, where);
        json_array_foreach(jl, i, t)
        {
                _autofree_ char *lw = xasprintf("%s: Layers[%zu]", where, i);

                if (!json_is_string(t))
                        return berth_error_setx(err, EINVAL, "%s: expected a string", lw);
                r = docker_layer(l, lw, json_string_value(t), cfg->diff_ids[i], layers, p, err);
                if (r < 0)
                        return r;
        }
        r = put_manifest(l, digest, size, layers, &p->manifest, err);
        if (r < 0)
                return berth_error_prefix(err, "%s", where);
        return docker_names(where, json_object_get(o, "RepoTags"), p, err);
}

static int load_docker(struct loader *l, struct berth_error **err)
{
        _autofree_ char *data = NULL;
        _autojson_ json_t *root = NULL;
        json_t *o;
        size_t len = 0, i;
        int r;

        r = source_read(l, "read", "manifest.json", &data, &len, err);
        if (r >= 0)
                r = json_parse("manifest.json", data, len, &root, err);
        if (r < 0)
                return r;
        if (!json_is_array(root) || json_array_size(root) == 0)
                return berth_error_setx(err, EINVAL, "manifest.json: expected a non-empty array");
        json_array_foreach(root, i, o)
        {
                _autofree_ char *where = json_array_size(root) == 1
                                             ? xstrdup("manifest.json")
                                             : xasprintf("manifest.json[%zu]", i);

                if (!json_is_object(o))
                        return berth_error_setx(err, EINVAL, "%s: expected an object", where);
                r = docker_image(l, where, o, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The name an OCI index entry gives its image: containerd's/docker's full name, else a
 * ref.name that is a full reference ("latest" alone names only a tag: the image stays unnamed). */
static int oci_names(const char *where, json_t *ann, struct plan *p, struct berth_error **err)
{
        const char *full = json_string_value(json_object_get(ann, ANN_CONTAINERD_NAME));
        const char *ref = json_string_value(json_object_get(ann, ANN_REF_NAME));
        _autofree_ char *w = xasprintf("%s: annotations", where);
        char *name = NULL;
        int r;

        if (!full && ref && strpbrk(ref, "/:"))
                full = ref;
        if (!full)
                return 0;
        r = normalize_name(w, full, &name, err);
        if (r < 0)
                return r;
        strv_push(&p->names, &p->n_names, name);
        return 0;
}

static int oci_descriptor_blob(struct loader *l, const char *where,
                               const struct berth_descriptor *d, char **ret_digest,
                               struct berth_error **err)
{
        _autofree_ char *name = blob_path(d->digest);
        int64_t size = 0;

        return source_blob(l, where, name, d->digest, d->size, ret_digest, &size, err);
}

static int oci_image(struct loader *l, const char *where, const char *digest,
                     const struct berth_manifest *m, json_t *ann, struct berth_error **err)
{
        _cleanup_(berth_image_config_freep) struct berth_image_config *cfg = NULL;
        _autofree_ char *config = NULL, *cwhere = xasprintf("%s: config", where);
        struct plan *p;
        int r;

        if (m->n_layers > berth_store_max_layers(l->s))
                return too_many_layers(l, where, m->n_layers, err);
        r = oci_descriptor_blob(l, cwhere, &m->config, &config, err);
        if (r >= 0)
                r = read_config(l, cwhere, config, &cfg, err);
        if (r < 0)
                return r;
        if (m->n_layers != cfg->n_diff_ids)
                return berth_error_setx(err, EINVAL,
                                        "%s: %zu layers, but the config has %zu "
                                        "diff ids",
                                        where, m->n_layers, cfg->n_diff_ids);
        p = plan_new(l, where);
        p->manifest = xstrdup(digest);
        for (size_t i = 0; i < m->n_layers; i++) {
                _autofree_ char *lw = xasprintf("%s: layers[%zu]", where, i);
                char *blob = NULL;

                r = oci_descriptor_blob(l, lw, &m->layers[i], &blob, err);
                if (r < 0)
                        return r;
                plan_add_layer(p, blob, cfg->diff_ids[i]);
        }
        return oci_names(where, ann, p, err);
}

/* An entry of index.json: an image manifest, or an index (multi-platform) to pick from. */
static int oci_manifest(struct loader *l, const char *where, const struct berth_descriptor *d,
                        json_t *ann, int depth, struct berth_error **err)
{
        _cleanup_(berth_manifest_freep) struct berth_manifest *m = NULL;
        _autofree_ char *digest = NULL, *data = NULL;
        const struct berth_descriptor *pick = NULL;
        size_t len = 0;
        int r;

        r = oci_descriptor_blob(l, where, d, &digest, err);
        if (r < 0)
                return r;
        r = read_blob(l, digest, &data, &len, err);
        if (r >= 0)
                r = berth_manifest_parse(data, len, d->media_type, &m, err);
        if (r < 0)
                return berth_error_prefix(err, "%s", where);
        if (m->kind == BERTH_MANIFEST_IMAGE)
                return oci_image(l, where, digest, m, ann, err);
        if (depth > 0)
                return berth_error_setx(err, EINVAL,
                                        "%s: an index inside an index inside the "
                                        "layout is not supported",
                                        where);
        r = berth_manifest_pick(m, NULL, &pick, err);
        if (r < 0)
                return berth_error_prefix(err, "%s", where);
        return oci_manifest(l, where, pick, ann, depth + 1, err);
}

static int load_oci(struct loader *l, struct berth_error **err)
{
        _cleanup_(berth_manifest_freep) struct berth_manifest *idx = NULL;
        _autofree_ char *data = NULL;
        _autojson_ json_t *root = NULL;
        json_t *entries;
        size_t len = 0;
        int r;

        r = source_read(l, "read", "index.json", &data, &len, err);
        if (r >= 0)
                r = json_parse("index.json", data, len, &root, err);
        if (r >= 0)
                r = berth_manifest_parse(data, len, BERTH_MT_OCI_INDEX, &idx, err);
        if (r < 0)
                return r;
        if (idx->kind != BERTH_MANIFEST_INDEX)
                return berth_error_setx(err, EINVAL, "index.json: not an image index");
        entries = json_object_get(root, "manifests");
        for (size_t i = 0; i < idx->n_manifests; i++) {
                _autofree_ char *where = xasprintf("index.json: manifests[%zu]", i);
                json_t *ann = json_object_get(json_array_get(entries, i), "annotations");

                r = oci_manifest(l, where, &idx->manifests[i], ann, 0, err);
                if (r < 0)
                        return r;
        }
        if (idx->n_manifests == 0)
                return berth_error_setx(err, EINVAL, "index.json: no images");
        return 0;
}

static int plan_run(struct loader *l, const struct plan *p, struct berth_error **err)
{
        _autofree_ char *parent = NULL;
        char *id = NULL;
        int r;

        for (size_t i = 0; i < p->n_layers; i++) {
                char *chain;

                r = berth_store_layer_add(l->s, parent, p->diff_ids[i], p->blobs[i], l->lo, NULL,
                                          err);
                if (r < 0)
                        return berth_error_prefix(err, "%s: layer %zu", p->where, i);
                chain = berth_chain_id(parent, p->diff_ids[i]);
                free(parent);
                parent = chain;
        }
        if (p->n_names == 0) {
                r = berth_store_image_add(l->s, p->manifest, NULL, NULL, &id, err);
                if (r < 0)
                        return berth_error_prefix(err, "%s", p->where);
                strv_push(&l->loaded, &l->n_loaded, id);
        }
        for (size_t i = 0; i < p->n_names; i++) {
                r = berth_store_image_add(l->s, p->manifest, p->names[i], NULL, NULL, err);
                if (r < 0)
                        return berth_error_prefix(err, "%s", p->where);
                strv_push(&l->loaded, &l->n_loaded, xstrdup(p->names[i]));
        }
        return 0;
}

static bool digest_used(const struct loader *l, const char *digest)
{
        for (size_t i = 0; i < l->n_entries; i++)
                if (l->entries[i].used && streq_ptr(l->entries[i].digest, digest))
                        return true;
        return false;
}

/* The JSON members that no image named were streamed into the blob store: out again. */
static void drop_unused_json(struct loader *l)
{
        for (size_t i = 0; i < l->n_entries; i++) {
                const struct entry *e = &l->entries[i];

                if (e->json && !e->used && !digest_used(l, e->digest))
                        txn_drop(&l->txn, e->digest);
        }
}

static int load_source(struct loader *l, const char *path, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        struct stat st;

        if (streq(path, "-"))
                return read_archive(l, STDIN_FILENO, err);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "open");
        if (S_ISDIR(st.st_mode)) {
                l->dirfd = steal_fd(&fd);
                return 0;
        }
        return read_archive(l, fd, err);
}

static int load_all(struct loader *l, const char *path, struct berth_error **err)
{
        int r;

        r = load_source(l, path, err);
        if (r < 0)
                return r;
        if (source_has(l, "manifest.json"))
                r = load_docker(l, err);
        else if (source_has(l, "index.json"))
                r = load_oci(l, err);
        else
                r = berth_error_setx(err, EINVAL,
                                     "not an image %s: no manifest.json or "
                                     "index.json",
                                     source_kind(l));
        if (r < 0)
                return r;
        drop_unused_json(l);
        /* Everything is checked: only now are layers unpacked and images recorded. Once one is
         * recorded its blobs are the store's, and a later failure must not remove them. */
        for (size_t i = 0; i < l->n_plans; i++) {
                r = plan_run(l, &l->plans[i], err);
                if (r < 0)
                        return r;
                txn_commit(&l->txn);
        }
        return 0;
}

int berth_image_load(struct berth_store *s, const char *path, const struct berth_layer_opts *lo,
                     char ***ret_loaded, struct berth_error **err)
{
        struct loader l = {.s = s, .lo = lo, .txn.bs = berth_store_blobs(s), .dirfd = -EBADF};
        _autoclose_ int lease = -EBADF;
        int r;

        /* Keeps gc off the blobs put before their image is recorded. */
        r = berth_archive_load(err);
        if (r >= 0)
                r = berth_store_lease(s, &lease, err);
        if (r >= 0)
                r = load_all(&l, path, err);
        if (r < 0) {
                txn_rollback(&l.txn);
                loader_clear(&l);
                return berth_error_prefix(err, "load %s", streq(path, "-") ? "stdin" : path);
        }
        txn_commit(&l.txn);
        if (ret_loaded) {
                *ret_loaded = l.loaded ? steal_ptr(&l.loaded) : xcalloc(1, sizeof(char *));
        }
        loader_clear(&l);
        return 0;
}

/* ---- import ----------------------------------------------------------------------------- */

/* The sha256 of a compressed blob's uncompressed stream (its diff id). */
static int blob_diff_id(struct berth_blobstore *bs, const char *digest, char **ret,
                        struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _autoclose_ int fd = -EBADF;
        _autofree_ char *buf = xcalloc(1, CHUNK);
        char diff_id[BERTH_SHA256_DIGEST_LEN + 1];
        struct archive_entry *ae;
        ssize_t n;
        int r;

        r = berth_sha256_new(&ctx, err);
        if (r >= 0)
                r = berth_blobstore_open_blob(bs, digest, &fd, err);
        if (r < 0)
                return r;
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK ||
            archive_read_next_header(a, &ae) != ARCHIVE_OK)
                return berth_error_setx(err, EINVAL, "decompress: %s", archive_error_string(a));
        while ((n = archive_read_data(a, buf, CHUNK)) > 0)
                if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
                        return berth_error_setx(err, EIO, "EVP_DigestUpdate failed");
        if (n < 0)
                return berth_error_setx(err, EIO, "decompress: %s", archive_error_string(a));
        r = berth_sha256_final(ctx, diff_id, err);
        if (r < 0)
                return r;
        *ret = xstrdup(diff_id);
        return 0;
}

/* Refuses what is not a tar before a layer is made of it. */
static int blob_check_tar(struct berth_blobstore *bs, const char *digest, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        _autoclose_ int fd = -EBADF;
        struct archive_entry *ae;
        int r;

        r = berth_blobstore_open_blob(bs, digest, &fd, err);
        if (r < 0)
                return r;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
                return berth_error_setx(err, EINVAL, "not a tar archive: %s",
                                        archive_error_string(a));
        r = archive_read_next_header(a, &ae);
        if (r < ARCHIVE_WARN)
                return berth_error_setx(err, EINVAL, "not a tar archive: %s",
                                        archive_error_string(a));
        return 0;
}

static int import_layer(struct txn *t, const char *path, struct berth_new_layer *nl,
                        char **ret_blob, char **ret_diff_id, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF, bfd = -EBADF;
        struct reader rd = {.fd = STDIN_FILENO};
        _autofree_ char *blob = NULL, *diff_id = NULL;
        enum berth_compression c;
        struct stat st;
        int r;

        if (!streq(path, "-")) {
                fd = rd.fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return berth_error_set(err, errno, "open");
        }
        r = txn_put_stream(t, &rd, NULL, -1, &blob, err);
        if (r >= 0)
                r = blob_check_tar(t->bs, blob, err);
        if (r >= 0)
                r = blob_compression(t->bs, blob, &c, err);
        if (r >= 0 && c != BERTH_COMPRESSION_NONE)
                r = blob_diff_id(t->bs, blob, &diff_id, err);
        if (r < 0)
                return r;
        if (c == BERTH_COMPRESSION_NONE)
                diff_id = xstrdup(blob);
        r = berth_blobstore_open_blob(t->bs, blob, &bfd, err);
        if (r < 0)
                return r;
        if (fstat(bfd, &st) < 0)
                return berth_error_set(err, errno, "blob %s: fstat", blob);
        nl->blob = *ret_blob = steal_ptr(&blob);
        nl->diff_id = *ret_diff_id = steal_ptr(&diff_id);
        nl->media_type = layer_media_type(c);
        nl->size = st.st_size;
        return 0;
}

static int import_changes(const struct berth_import_opts *o, const char *path,
                          struct berth_config_change *c, struct berth_error **err)
{
        int r;

        for (size_t i = 0; o->changes && o->changes[i]; i++) {
                r = berth_config_change_parse(o->changes[i], c, err);
                if (r < 0)
                        return r;
        }
        /* docker's history comment of an import */
        free(c->comment);
        c->comment = o->message ? xstrdup(o->message) : xasprintf("Imported from %s", path);
        return 0;
}

/* A root filesystem tar (debootstrap's, `tar -C / ...`) has device nodes in /dev: left out with
 * one warning, as rootless podman does (an image keeps no devices; a container gets its own
 * /dev). */
static void warn_devices(const char *path, const struct berth_layer_stats *st)
{
        if (st->devices_skipped)
                berth_warn("import %s: %llu device node%s skipped (block and character devices "
                           "are not kept in images)",
                           streq(path, "-") ? "stdin" : path,
                           (unsigned long long) st->devices_skipped,
                           st->devices_skipped == 1 ? "" : "s");
}

int berth_image_import(struct berth_store *s, const char *path, const struct berth_import_opts *o,
                       char **ret_id, struct berth_error **err)
{
        static const struct berth_layer_opts lo = {.skip_devices = true};
        struct berth_layer_stats st = {0};
        struct berth_config_change c = {0};
        struct txn t = {.bs = berth_store_blobs(s)};
        struct berth_new_layer nl = {.opts = &lo, .stats = &st};
        _autofree_ char *blob = NULL, *diff_id = NULL, *name = NULL, *id = NULL;
        _autoclose_ int lease = -EBADF;
        int r;

        r = berth_archive_load(err);
        if (r >= 0)
                r = import_changes(o, path, &c, err);
        if (r >= 0)
                r = berth_store_lease(s, &lease, err);
        if (r >= 0 && o->name)
                r = normalize_name("name", o->name, &name, err);
        if (r >= 0)
                r = import_layer(&t, path, &nl, &blob, &diff_id, err);
        if (r >= 0)
                r = berth_store_image_create(s, NULL, &nl, 1, &c, o->platform, name, &id, err);
        berth_config_change_clear(&c);
        if (r < 0) {
                txn_rollback(&t);
                return berth_error_prefix(err, "import %s", streq(path, "-") ? "stdin" : path);
        }
        txn_commit(&t);
        warn_devices(path, &st);
        if (ret_id)
                *ret_id = steal_ptr(&id);
        return 0;
}
