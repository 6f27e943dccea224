/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth cp (engine-cp.h): docker's path rules, written with Go's path functions as docker's CLI
 * and daemon are, over the copy machinery of cp-tree.c, in a child process that has the
 * container's root in a mount namespace of its own.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "engine/cp-tree.h"
#include "engine/engine-cp.h"
#include "engine/engine.h"
#include "base/log.h"
#include "base/path.h"
#include "base/syscalls.h"
#include "base/util.h"

#define OVERLAYFS_MAGIC 0x794c7630
/* symlinks CopyInfoDestinationPath follows on the host, FollowSymlinkInScope in the container */
#define HOST_MAX_LINKS 10
#define SCOPE_MAX_LINKS 255

void berth_cp_result_clear(struct berth_cp_result *r)
{
        free(r->dest);
        *r = (struct berth_cp_result){0};
}

/* ---- Go's path functions ------------------------------------------------------------------ */

/* filepath.Clean. */
static char *go_clean(const char *path)
{
        bool rooted = path[0] == '/';
        char *out = xcalloc(strlen(path) + 3, 1);
        size_t o = 0, dotdot = 0; /* out[0..dotdot) cannot be backtracked: "/" or "../.." */

        if (rooted)
                out[o++] = '/', dotdot = 1;
        for (const char *p = path; *p; p += strspn(p, "/")) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (o > dotdot) {
                                for (o--; o > dotdot && out[o] != '/'; o--)
                                        ;
                        } else if (!rooted) {
                                o += (size_t) sprintf(out + o, "%s..", o > 0 ? "/" : "");
                                dotdot = o;
                        }
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o != (rooted ? 1u : 0u))
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
        }
        if (o == 0)
                out[o++] = '.';
        out[o] = '\0';
        return out;
}

/* filepath.Base. */
static char *go_base(const char *p)
{
        size_t n = strlen(p);
        const char *start;

        while (n > 0 && p[n - 1] == '/')
                n--;
        if (n == 0)
                return xstrdup(*p ? "/" : ".");
        start = memrchr(p, '/', n);
        start = start ? start + 1 : p;
        return xasprintf("%.*s", (int) (n - (size_t) (start - p)), start);
}

/* filepath.Dir. */
static char *go_dir(const char *p)
{
        const char *slash = strrchr(p, '/');
        _autofree_ char *head = slash ? xasprintf("%.*s", (int) (slash - p + 1), p) : xstrdup("");

        return go_clean(head);
}

static bool has_trailing_sep(const char *p)
{
        size_t n = strlen(p);

        return n > 0 && p[n - 1] == '/';
}

static bool is_current_dir(const char *p)
{
        _autofree_ char *b = go_base(p);

        return streq(b, ".");
}

/* docker's PreserveTrailingDotOrSeparator. */
static char *preserve_trailing(const char *cleaned, const char *orig)
{
        char *r = xstrdup(cleaned);

        if (!is_current_dir(cleaned) && is_current_dir(orig)) {
                _autofree_ char *before = steal_ptr(&r);

                r = xasprintf("%s%s.", before, has_trailing_sep(cleaned) ? "" : "/");
        }
        if (!has_trailing_sep(r) && has_trailing_sep(orig)) {
                _autofree_ char *before = steal_ptr(&r);

                r = xasprintf("%s/", before);
        }
        return r;
}

/* docker's SplitPathDirEntry: "/a/b/" -> "/a", "b"; "/a/b/." -> "/a/b", ".". */
static void split_dir_entry(const char *p, char **ret_dir, char **ret_base)
{
        _autofree_ char *cleaned = go_clean(p);

        if (is_current_dir(p))
                cleaned = xasprintf("%s/.", steal_ptr(&cleaned));
        *ret_dir = go_dir(cleaned);
        *ret_base = go_base(cleaned);
}

static bool asserts_dir(const char *p)
{
        return has_trailing_sep(p) || is_current_dir(p);
}

/* docker's GetRebaseName: resolved keeps path's "/." or "/"; the name to give the copy when the
 * link's target is named otherwise (*ret_rebase, else NULL). */
static char *rebase_name(const char *path, const char *resolved, char **ret_rebase)
{
        _autofree_ char *pb = NULL, *rb = NULL;
        char *r = xstrdup(resolved);

        if (is_current_dir(path) && !is_current_dir(r))
                r = xasprintf("%s/.", steal_ptr(&r));
        if (has_trailing_sep(path) && !has_trailing_sep(r))
                r = xasprintf("%s/", steal_ptr(&r));
        pb = go_base(path);
        rb = go_base(r);
        *ret_rebase = streq(pb, rb) ? NULL : steal_ptr(&pb);
        return r;
}

/* ---- the container's root ----------------------------------------------------------------- */

struct cp_ctx {
        const struct berth_cp_opts *o;
        const struct berth_ctr *c;
        int rootfd;
        char *root; /* where rootfd is, in our mount namespace */
};

/* docker's CopyInfo. */
struct copy_info {
        char *path;
        bool exists, is_dir;
        char *rebase; /* the name the copy takes (a followed symlink's), or NULL */
};

static void copy_info_clear(struct copy_info *i)
{
        free(i->path);
        free(i->rebase);
        *i = (struct copy_info){0};
}

static int ctr_open_dir(const struct cp_ctx *x, const char *path, int flags)
{
        struct berth_open_how how = {
            .flags = (uint64_t) flags | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        do
                fd = sys_openat2(x->rootfd, *path ? path : "/", &how);
        while (fd < 0 && errno == EAGAIN); /* a rename raced with a ".." step */
        return fd;
}

static int fd_link(int fd, char **ret)
{
        char proc[BERTH_FD_PATH_MAX], buf[PATH_MAX];
        ssize_t n = readlink(berth_fd_path(fd, proc), buf, sizeof(buf) - 1);

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        *ret = xstrdup(buf);
        return 0;
}

/* The path in the container of what fd (resolved inside it) is: "/tmp/d". */
static int ctr_path_of(const struct cp_ctx *x, int fd, char **ret)
{
        _autofree_ char *p = NULL;
        size_t n = strlen(x->root);
        int r = fd_link(fd, &p);

        if (r < 0)
                return r;
        if (streq(p, x->root)) {
                *ret = xstrdup("/");
                return 0;
        }
        if (!startswith(p, x->root) || p[n] != '/')
                return -EXDEV;
        *ret = xstrdup(p + n);
        return 0;
}

/* docker's ResolvePath + Lstat: abs's directory part resolved inside the root (every symlink
 * followed), its last component not ("" and ".": that directory). -errno. */
static int ctr_lstat(const struct cp_ctx *x, const char *abs, int *ret_pfd, char **ret_base,
                     struct stat *st)
{
        const char *slash = strrchr(abs, '/');
        _autofree_ char *dir = xasprintf("%.*s", (int) (slash ? slash - abs + 1 : 0), abs);
        const char *base = slash ? slash + 1 : abs;
        _autoclose_ int pfd = ctr_open_dir(x, dir, O_PATH);
        int r;

        if (pfd < 0)
                return -errno;
        if (!*base || streq(base, "."))
                r = fstat(pfd, st);
        else
                r = fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW);
        if (r < 0)
                return -errno;
        if (ret_pfd)
                *ret_pfd = steal_fd(&pfd);
        if (ret_base)
                *ret_base = xstrdup(*base ? base : ".");
        return 0;
}

/* docker's FollowSymlinkInScope: abs with every symlink resolved inside the root, its last
 * component too, which need not exist. */
static int ctr_follow(const struct cp_ctx *x, const char *abs, char **ret, struct berth_error **err)
{
        _autofree_ char *p = go_clean(abs);

        for (int n = 0; n <= SCOPE_MAX_LINKS; n++) {
                _autofree_ char *dpath = NULL, *base = go_base(p), *dir = go_dir(p);
                _autoclose_ int dfd = ctr_open_dir(x, dir, O_PATH);
                char target[PATH_MAX];
                struct stat st;
                ssize_t len;

                if (dfd < 0 || streq(p, "/") || ctr_path_of(x, dfd, &dpath) < 0) {
                        *ret = steal_ptr(&p); /* a missing parent: the stat that follows fails */
                        return 0;
                }
                free(p);
                p = streq(dpath, "/") ? xasprintf("/%s", base) : xasprintf("%s/%s", dpath, base);
                if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
                        *ret = steal_ptr(&p);
                        return 0;
                }
                len = readlinkat(dfd, base, target, sizeof(target) - 1);
                if (len < 0)
                        return berth_error_set(err, errno, "readlink %s", p);
                target[len] = '\0';
                free(p);
                p = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", dpath, target);
                free(dpath);
                dpath = steal_ptr(&p);
                p = go_clean(dpath);
        }
        return berth_error_setx(err, ELOOP, "too many links in %s", abs);
}

/* "/" + p, cleaned, keeping a trailing "/." or "/" (docker's container paths). */
static char *ctr_abs(const char *p)
{
        _autofree_ char *joined = xasprintf("/%s", p), *cleaned = go_clean(joined);

        return preserve_trailing(cleaned, p);
}

static int not_found(const struct cp_ctx *x, const char *path, struct berth_error **err)
{
        return berth_error_setx(err, ENOENT, "Could not find the file %s in container %s", path,
                                x->o->container);
}

static int stat_fail(const char *abs, int r, struct berth_error **err)
{
        return berth_error_set(err, -r, "lstat %s", abs);
}

/* ---- out of the container ------------------------------------------------------------------ */

/* -L: a symlink SRC becomes its target (in the container), named as SRC (*ret_rebase). */
static int follow_source(const struct cp_ctx *x, char **src, char **ret_rebase,
                         struct berth_error **err)
{
        _autofree_ char *abs = ctr_abs(*src), *target = NULL;
        struct stat st;
        int r;

        if (ctr_lstat(x, abs, NULL, NULL, &st) < 0 || !S_ISLNK(st.st_mode))
                return 0;
        r = ctr_follow(x, abs, &target, err);
        if (r < 0)
                return r;
        free(steal_ptr(&abs));
        abs = rebase_name(*src, target, ret_rebase);
        free(*src);
        *src = steal_ptr(&abs);
        return 0;
}

static char *host_abs(const char *p)
{
        char cwd[PATH_MAX];
        _autofree_ char *joined = NULL, *cleaned = NULL;

        if (p[0] != '/' && getcwd(cwd, sizeof(cwd)))
                joined = xasprintf("%s/%s", cwd, p);
        cleaned = go_clean(joined ? joined : p);
        return preserve_trailing(cleaned, p);
}

/* docker's ValidateOutputPath. */
static int validate_output(const char *path, struct berth_error **err)
{
        _autofree_ char *cleaned = go_clean(path), *dir = go_dir(cleaned);
        struct stat st;

        if (stat(dir, &st) < 0 && errno == ENOENT)
                return berth_error_setx(
                    err, ENOENT, "invalid output path: directory \"%s\" does not exist", dir);
        if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
                return berth_error_setx(err, EINVAL,
                                        "invalid output path: \"%s\" must be a directory or a "
                                        "regular file: got a device",
                                        path);
        return 0;
}

/* docker's CopyInfoDestinationPath (host): symlinks followed (at most 10), a missing path's
 * parent must be a directory. */
static int host_dest_info(const char *path, struct copy_info *ret, struct berth_error **err)
{
        _autofree_ char *p = xstrdup(path);
        struct stat st;
        int r = lstat(p, &st);

        for (int n = 0; r == 0 && S_ISLNK(st.st_mode); n++) {
                char target[PATH_MAX];
                _autofree_ char *dir = NULL, *base = NULL;
                ssize_t len = readlink(p, target, sizeof(target) - 1);

                if (n >= HOST_MAX_LINKS)
                        return berth_error_setx(err, ELOOP, "too many symlinks in %s", path);
                if (len < 0)
                        return berth_error_set(err, errno, "readlink %s", p);
                target[len] = '\0';
                split_dir_entry(p, &dir, &base);
                free(p);
                free(base);
                base = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", dir, target);
                p = go_clean(base);
                r = lstat(p, &st);
        }
        if (r < 0 && errno != ENOENT)
                return berth_error_set(err, errno, "lstat %s", p);
        if (r < 0) {
                _autofree_ char *dir = NULL, *base = NULL;

                split_dir_entry(p, &dir, &base);
                if (stat(dir, &st) < 0)
                        return berth_error_set(err, errno, "stat %s", dir);
                if (!S_ISDIR(st.st_mode))
                        return berth_error_setx(err, ENOTDIR, "not a directory");
        }
        *ret = (struct copy_info){
            .path = steal_ptr(&p), .exists = r == 0, .is_dir = r == 0 && S_ISDIR(st.st_mode)};
        return 0;
}

/*
 * docker's PrepareArchiveCopy: the directory to extract into (*ret_dir) and the name the copy's
 * top takes there (*ret_top: NULL keeps the source's, src_top).
 */
static int prepare_copy(const struct copy_info *src, const struct copy_info *dst, char **ret_dir,
                        char **ret_top, struct berth_error **err)
{
        _autofree_ char *dir = NULL, *base = NULL;

        if (dst->exists && dst->is_dir) {
                *ret_dir = xstrdup(dst->path);
                *ret_top = src->rebase ? xstrdup(src->rebase) : NULL;
                return 0;
        }
        if (dst->exists && src->is_dir)
                return berth_error_setx(err, EISDIR, "cannot copy directory");
        if (!dst->exists && !src->is_dir && asserts_dir(dst->path))
                return berth_error_setx(err, ENOENT, "no such directory");
        split_dir_entry(dst->path, &dir, &base);
        *ret_dir = steal_ptr(&dir);
        *ret_top = steal_ptr(&base);
        return 0;
}

static int to_host(const struct cp_ctx *x, int pfd, const char *base, const struct copy_info *src,
                   const char *top, struct berth_cp_result *ret, struct berth_error **err)
{
        _cleanup_(copy_info_clear) struct copy_info dst = {0};
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autofree_ char *path = host_abs(x->o->host_path), *dir = NULL, *new_top = NULL;
        _autoclose_ int dfd = -EBADF;
        struct cp_dir_opts o = {.owner = x->o->archive ? CP_OWNER_KEEP : CP_OWNER_NONE};
        int r;

        r = validate_output(path, err);
        if (r >= 0)
                r = host_dest_info(path, &dst, err);
        if (r >= 0)
                r = prepare_copy(src, &dst, &dir, &new_top, err);
        if (r < 0)
                return r;
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berth_error_set(err, errno, "open %s", dir);
        o.shown = dir;
        r = cp_sink_dir(dfd, &o, &k, err);
        if (r >= 0)
                r = cp_walk(pfd, base, new_top ? new_top : top, k, err);
        if (r >= 0)
                r = cp_sink_finish(k, err);
        if (r < 0)
                return r;
        ret->bytes = cp_sink_bytes(k);
        ret->dest = steal_ptr(&path);
        return 0;
}

static int to_stream(int pfd, const char *base, const char *top, int fd,
                     struct berth_cp_result *ret, struct berth_error **err)
{
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        int r = cp_sink_tar(fd, &k, err);

        if (r >= 0)
                r = cp_walk(pfd, base, top, k, err);
        if (r >= 0)
                r = cp_sink_finish(k, err);
        if (r >= 0)
                ret->bytes = cp_sink_bytes(k);
        return r;
}

static int from_container(const struct cp_ctx *x, struct berth_cp_result *ret,
                          struct berth_error **err)
{
        _cleanup_(copy_info_clear) struct copy_info src = {.path = xstrdup(x->o->ctr_path)};
        _autofree_ char *abs = NULL, *base = NULL, *top = NULL;
        _autoclose_ int pfd = -EBADF;
        struct stat st;
        int r = x->o->follow_link ? follow_source(x, &src.path, &src.rebase, err) : 0;

        if (r < 0)
                return r;
        abs = ctr_abs(src.path);
        r = ctr_lstat(x, abs, &pfd, &base, &st);
        if (r == -ENOENT)
                return not_found(x, src.path, err);
        if (r < 0)
                return stat_fail(abs, r, err);
        src.exists = true;
        src.is_dir = S_ISDIR(st.st_mode);
        top = go_base(abs);
        if (streq(x->o->host_path, "-"))
                return to_stream(pfd, base, top, x->o->stream_fd, ret, err);
        return to_host(x, pfd, base, &src, top, ret, err);
}

/* ---- into the container ----------------------------------------------------------------- */

/* docker's CopyInfoSourcePath (host). *ret_top: the name of the copy's top in the tar. */
static int host_source_info(const char *given, bool follow, struct copy_info *ret, int *ret_pfd,
                            char **ret_base, struct berth_error **err)
{
        _autofree_ char *path = host_abs(given), *resolved = NULL, *dir = NULL, *base = NULL;
        char real[PATH_MAX];
        struct stat st;
        int pfd;

        if (follow) {
                if (!realpath(path, real))
                        return berth_error_set(err, errno, "lstat %s", path);
                resolved = rebase_name(path, real, &ret->rebase);
        } else {
                split_dir_entry(path, &dir, &base);
                if (!realpath(dir, real))
                        return berth_error_set(err, errno, "lstat %s", dir);
                resolved = xasprintf("%s/%s", real, base);
                free(base);
                base = go_base(resolved);
                free(dir);
                dir = go_base(path); /* the name as given */
                if (has_trailing_sep(path) && !streq(dir, base))
                        ret->rebase = steal_ptr(&dir);
        }
        if (lstat(resolved, &st) < 0)
                return berth_error_set(err, errno, "lstat %s", resolved);
        free(steal_ptr(&dir));
        free(steal_ptr(&base));
        split_dir_entry(resolved, &dir, &base);
        pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return berth_error_set(err, errno, "open %s", dir);
        ret->path = steal_ptr(&resolved);
        ret->exists = true;
        ret->is_dir = S_ISDIR(st.st_mode);
        *ret_pfd = pfd;
        *ret_base = steal_ptr(&base);
        return 0;
}

/* The CLI's stat of DEST in the container: a symlink is followed inside it. */
static int ctr_dest_info(const struct cp_ctx *x, struct copy_info *ret, struct berth_error **err)
{
        _autofree_ char *abs = ctr_abs(x->o->ctr_path);
        struct stat st;
        int r;

        ret->path = xstrdup(x->o->ctr_path);
        if (ctr_lstat(x, abs, NULL, NULL, &st) < 0)
                return 0; /* missing: its parent must exist, the extraction says */
        if (S_ISLNK(st.st_mode)) {
                free(ret->path);
                ret->path = NULL;
                r = ctr_follow(x, abs, &ret->path, err);
                if (r < 0)
                        return r;
                if (ctr_lstat(x, ret->path, NULL, NULL, &st) < 0)
                        return 0;
        }
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                return berth_error_setx(err, EINVAL,
                                        "destination \"%s:%s\" must be a directory or a regular "
                                        "file: got a device",
                                        x->o->container, x->o->ctr_path);
        ret->exists = true;
        ret->is_dir = S_ISDIR(st.st_mode);
        return 0;
}

/* Whose files they become: -a with the container's User gives them to that user (resolved in
 * the container's /etc/passwd), else they keep their own uid/gid. */
static int ctr_owner(const struct cp_ctx *x, struct cp_dir_opts *o, struct berth_error **err)
{
        o->owner = CP_OWNER_KEEP;
        if (!x->o->archive || !x->c->user || !*x->c->user)
                return 0;
        o->owner = CP_OWNER_FIXED;
        return berth_user_resolve(x->rootfd, x->c->user, &o->uid, &o->gid, NULL, NULL, err);
}

/* The daemon's side: the extraction point resolved inside the root (its last symlink too),
 * which must be a directory; then the sink writing below it. */
static int extraction_sink(const struct cp_ctx *x, const char *dir, struct cp_sink **ret,
                           char **ret_shown, struct berth_error **err)
{
        _autofree_ char *abs = ctr_abs(dir), *resolved = NULL;
        struct cp_dir_opts o = {.in_root = true};
        _autoclose_ int fd = -EBADF;
        int r = ctr_follow(x, abs, &resolved, err);

        if (r < 0)
                return r;
        fd = ctr_open_dir(x, resolved, O_PATH);
        if (fd < 0 && errno == ENOENT)
                return not_found(x, dir, err);
        if (fd < 0 && errno == ENOTDIR)
                return berth_error_setx(err, ENOTDIR, "extraction point is not a directory");
        if (fd < 0)
                return berth_error_set(err, errno, "open %s", resolved);
        r = ctr_owner(x, &o, err);
        if (r < 0)
                return r;
        o.dir = resolved + 1; /* below the root: "tmp/d" */
        o.shown = resolved;
        *ret_shown = steal_ptr(&resolved);
        return cp_sink_dir(x->rootfd, &o, ret, err);
}

static int from_stream(const struct cp_ctx *x, const struct copy_info *dst,
                       struct berth_cp_result *ret, struct berth_error **err)
{
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autofree_ char *shown = NULL;
        int r;

        if (!dst->is_dir)
                return berth_error_setx(err, ENOTDIR, "destination \"%s:%s\" must be a directory",
                                        x->o->container, x->o->ctr_path);
        r = extraction_sink(x, dst->path, &k, &shown, err);
        if (r >= 0)
                r = cp_untar(x->o->stream_fd, k, err);
        if (r >= 0)
                r = cp_sink_finish(k, err);
        if (r >= 0)
                ret->bytes = cp_sink_bytes(k);
        return r;
}

static int from_host(const struct cp_ctx *x, const struct copy_info *dst,
                     struct berth_cp_result *ret, struct berth_error **err)
{
        _cleanup_(copy_info_clear) struct copy_info src = {0};
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autofree_ char *base = NULL, *dir = NULL, *top = NULL, *shown = NULL;
        _autoclose_ int pfd = -EBADF;
        int r = host_source_info(x->o->host_path, x->o->follow_link, &src, &pfd, &base, err);

        if (r >= 0)
                r = prepare_copy(&src, dst, &dir, &top, err);
        if (r >= 0)
                r = extraction_sink(x, dir, &k, &shown, err);
        if (r < 0)
                return r;
        /* the tar's names start with the source's base (prepare_copy renames it, or keeps a
         * followed link's name) */
        r = cp_walk(pfd, base, top ? top : base, k, err);
        if (r >= 0)
                r = cp_sink_finish(k, err);
        if (r >= 0)
                ret->bytes = cp_sink_bytes(k);
        return r;
}

static int to_container(const struct cp_ctx *x, struct berth_cp_result *ret,
                        struct berth_error **err)
{
        _cleanup_(copy_info_clear) struct copy_info dst = {0};
        int r = ctr_dest_info(x, &dst, err);

        if (r >= 0)
                r = streq(x->o->host_path, "-") ? from_stream(x, &dst, ret, err)
                                                : from_host(x, &dst, ret, err);
        if (r >= 0)
                ret->dest = xasprintf("%s:%s", x->o->container, dst.path);
        return r;
}

/* ---- the child in a mount namespace of its own ------------------------------------------ */

/* Whether <dir>/rootfs (fd) has the container's overlay on it. */
static bool rootfs_mounted(const char *dir, int fd)
{
        struct stat a, b;
        struct statfs f;

        return stat(dir, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev != b.st_dev &&
               fstatfs(fd, &f) == 0 && f.f_type == OVERLAYFS_MAGIC;
}

/* /etc/hostname, hosts and resolv.conf as the container has them: bound from <dir> onto the
 * file the rootfs has there (resolved inside it), in our namespace only. */
static void bind_etc_files(const struct berth_ctr *c, int rootfd)
{
        static const char *const names[] = {"hostname", "hosts", "resolv.conf"};

        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                struct berth_open_how how = {.flags = O_PATH | O_CLOEXEC,
                                             .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
                _autofree_ char *src = xasprintf("%s/%s", c->dir, names[i]),
                                *dst = xasprintf("etc/%s", names[i]);
                _autoclose_ int fd = sys_openat2(rootfd, dst, &how);
                char proc[BERTH_FD_PATH_MAX];
                struct stat st;

                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || access(src, F_OK) < 0)
                        continue;
                if (mount(src, berth_fd_path(fd, proc), NULL, MS_BIND, NULL) < 0)
                        berth_warn("cp: bind %s on /%s: %s, ignoring", src, dst, strerror(errno));
        }
}

/*
 * The container's root, in our own mount namespace. The start lock (<dir>/start.lock, taken
 * shared: a start in progress is waited for) tells whether it runs: its overlay is on
 * <dir>/rootfs, a copy of which our namespace has. Else we mount it, in our namespace only, and
 * keep the lock (*ret_lock) until the copy ends, so that a start meanwhile waits rather than mount
 * the same upper dir a second time.
 */
static int enter_root(struct berth_store *s, const struct berth_ctr *c, int *ret_fd, int *ret_lock,
                      struct berth_error **err)
{
        _autofree_ char *rootfs = xasprintf("%s/rootfs", c->dir),
                        *lock_path = xasprintf("%s/start.lock", c->dir);
        _autoclose_ int fd = -EBADF, lock = -EBADF;
        int r = berth_lock_file_at(AT_FDCWD, lock_path, LOCK_SH, &lock, err);

        if (r == -ENOENT)
                return berth_error_setx(err, ENOENT, "No such container: %s", c->name);
        if (r < 0)
                return r;
        /* private: neither our overlay mount nor the container's unmount crosses over */
        if (unshare(CLONE_NEWNS) < 0)
                return berth_error_set(err, errno, "cp: unshare the mount namespace");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return berth_error_set(err, errno, "cp: make the mounts private");
        fd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "open %s", rootfs);
        if (!rootfs_mounted(c->dir, fd)) {
                closep(&fd);
                r = berth_ctr_mount(s, c, err);
                if (r < 0)
                        return r;
                fd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return berth_error_set(err, errno, "open %s", rootfs);
                *ret_lock = steal_fd(&lock);
        }
        bind_etc_files(c, fd);
        *ret_fd = steal_fd(&fd);
        return 0;
}

static int cp_child(struct berth_store *s, const struct berth_ctr *c, const struct berth_cp_opts *o,
                    struct berth_cp_result *ret, struct berth_error **err)
{
        struct cp_ctx x = {.o = o, .c = c, .rootfd = -EBADF};
        _autoclose_ int lock = -EBADF;
        int r;

        signal(SIGPIPE, SIG_IGN); /* a reader gone: EPIPE, an error like any other */
        r = enter_root(s, c, &x.rootfd, &lock, err);
        if (r >= 0 && (r = fd_link(x.rootfd, &x.root)) < 0)
                r = berth_error_set(err, -r, "readlink the container's root");
        if (r >= 0)
                r = o->to_container ? to_container(&x, ret, err) : from_container(&x, ret, err);
        free(x.root);
        closep(&x.rootfd);
        return r;
}

/* Reports "CODE BYTES\n" and the error message or the summary's destination, then exits. */
static _Noreturn void child_main(struct berth_store *s, const struct berth_ctr *c,
                                 const struct berth_cp_opts *o, int fd)
{
        struct berth_cp_result res = {0};
        _autoerr_ struct berth_error *e = NULL;
        int r = cp_child(s, c, o, &res, &e);
        _autofree_ char *msg =
            r < 0
                ? xasprintf("%d 0\n%s", -r, e && e->msg ? e->msg : "unknown error")
                : xasprintf("0 %llu\n%s", (unsigned long long) res.bytes, res.dest ? res.dest : "");

        (void) !write_all(fd, msg, strlen(msg));
        _exit(r < 0 ? 1 : 0);
}

static int child_wait(pid_t pid, int *ret_status)
{
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static int read_report(int fd, pid_t pid, struct berth_cp_result *ret, struct berth_error **err)
{
        _autofree_ char *buf = NULL;
        unsigned long long bytes = 0;
        int code = 0, status = 0, n = 0;
        size_t len = 0;
        int r = berth_read_fd(fd, "cp: the copy's report", 1u << 20, &buf, &len, err);

        if (child_wait(pid, &status) < 0 && r >= 0)
                r = berth_error_set(err, errno, "cp: wait for the copy");
        if (r < 0)
                return r;
        if (sscanf(buf, "%d %llu\n%n", &code, &bytes, &n) < 2 || n == 0) {
                if (WIFSIGNALED(status))
                        return berth_error_setx(err, EINTR, "cp: the copy was killed by signal %d",
                                                WTERMSIG(status));
                return berth_error_setx(err, EIO, "cp: the copy ended without a report");
        }
        if (code != 0)
                return berth_error_setx(err, code, "%s", buf + n);
        ret->bytes = bytes;
        ret->dest = xstrdup(buf + n);
        return 0;
}

int berth_ctr_cp(struct berth_store *s, const struct berth_ctr *c, const struct berth_cp_opts *o,
                 struct berth_cp_result *ret, struct berth_error **err)
{
        _autoclose_ int rd = -EBADF, wr = -EBADF;
        int p[2];
        pid_t pid;

        if (!o->ctr_path || !*o->ctr_path)
                return berth_error_setx(err, EINVAL, "bad parameter: path cannot be empty");
        if (pipe2(p, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "cp: pipe");
        rd = p[0];
        wr = p[1];
        pid = fork();
        if (pid < 0)
                return berth_error_set(err, errno, "cp: fork");
        if (pid == 0) {
                closep(&rd);
                child_main(s, c, o, wr);
        }
        closep(&wr);
        return read_report(rd, pid, ret, err);
}

void berth_cp_split_arg(const char *arg, char **ret_ctr, char **ret_path)
{
        const char *colon = strchr(arg, ':');

        *ret_ctr = NULL;
        if (arg[0] == '/' || arg[0] == '.' || !colon) {
                *ret_path = xstrdup(arg);
                return;
        }
        *ret_ctr = xasprintf("%.*s", (int) (colon - arg), arg);
        *ret_path = xstrdup(colon + 1);
}
