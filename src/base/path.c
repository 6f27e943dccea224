/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path resolution inside a container's rootfs, one component at a time, so that no symlink in an
 * untrusted rootfs can send a mount outside of it (CVE-2015-3627, CVE-2021-30465). Each step is
 * an openat(O_PATH|O_NOFOLLOW) relative to the directory reached so far; symlinks are read with
 * readlinkat() and spliced into the remaining path. ".." pops the stack of directories we walked
 * through instead of asking the kernel for the parent, so a directory renamed away during the walk
 * cannot take us outside either.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/path.h"
#include "base/util.h"

#define MAX_SYMLINKS 40

struct walk {
        int *fds; /* fds[0] is the root (not owned), fds[1..depth] are owned */
        size_t depth, cap;
        char *rem;        /* what is left to resolve, components separated by '/' */
        size_t link_left; /* bytes at the start of rem that came from a symlink target */
        char *at;         /* the path reached so far inside the root, "" for the root */
        char *link_name;  /* the symlink whose target we are walking, for -EXDEV */
        char *link_target;
        unsigned n_links;
        int flags;
};

static void walk_done(struct walk *w)
{
        for (size_t i = 1; i <= w->depth; i++)
                close(w->fds[i]);
        free(w->fds);
        free(w->rem);
        free(w->at);
        free(w->link_name);
        free(w->link_target);
}

static const char *at_or_root(const struct walk *w)
{
        return w->at[0] ? w->at : "/";
}

static void walk_push(struct walk *w, int fd, const char *name, size_t len)
{
        size_t n = strlen(w->at);

        if (w->depth + 1 >= w->cap) {
                w->cap = w->cap ? w->cap * 2 : 16;
                w->fds = xreallocarray(w->fds, w->cap, sizeof(int));
        }
        w->fds[++w->depth] = fd;
        w->at = xreallocarray(w->at, n + len + 2, 1);
        w->at[n] = '/';
        memcpy(w->at + n + 1, name, len);
        w->at[n + 1 + len] = '\0';
}

static void walk_pop(struct walk *w)
{
        char *slash = strrchr(w->at, '/');

        close(w->fds[w->depth--]);
        if (slash)
                *slash = '\0';
}

static void walk_to_root(struct walk *w)
{
        while (w->depth > 0)
                walk_pop(w);
        w->at[0] = '\0';
}

/*
 * Finds the next component of w->rem: returns its length (0 at the end), points *ret_name at it
 * and *ret_rest at what follows. *ret_from_link tells whether it came from a symlink target.
 */
static size_t next_component(struct walk *w, char **ret_name, char **ret_rest, bool *ret_from_link)
{
        char *p = w->rem, *end;
        size_t consumed;

        while (*p == '/')
                p++;
        end = strchrnul(p, '/');
        *ret_name = p;
        *ret_from_link = (size_t) (p - w->rem) < w->link_left;
        *ret_rest = end;
        while (**ret_rest == '/')
                (*ret_rest)++;
        consumed = (size_t) (*ret_rest - w->rem);
        w->link_left = w->link_left > consumed ? w->link_left - consumed : 0;
        return (size_t) (end - p);
}

/*
 * Replaces the component just taken (which ends at `rest`) by the symlink target. The target
 * counts as "from a symlink" for the escape check; when we are already inside another link's
 * target, that outer link is the one the error names.
 */
static int splice_link(struct walk *w, const char *rest, const char *target, const char *name,
                       struct berth_error **err)
{
        size_t tlen = strlen(target);
        char *rem;

        if (++w->n_links > MAX_SYMLINKS)
                return berth_error_set(err, ELOOP, "resolve \"%s/%s\"", w->at, name);
        rem = xasprintf("%s/%s", target, rest);
        if (w->link_left == 0) {
                free(w->link_name);
                free(w->link_target);
                w->link_name = xasprintf("%s/%s", w->at, name);
                w->link_target = xstrdup(target);
        }
        w->link_left += tlen + 1;
        free(w->rem);
        w->rem = rem;
        if (target[0] == '/')
                walk_to_root(w);
        return 0;
}

static int dot_dot(struct walk *w, bool from_link, struct berth_error **err)
{
        if (w->depth > 0) {
                walk_pop(w);
                return 0;
        }
        /* ".." at the root: the kernel would stay at "/", but only a symlink planted in the
         * rootfs produces that, so it is refused rather than silently clamped. */
        if (from_link)
                return berth_error_setx(err, EXDEV,
                                        "escapes the rootfs through symlink \"%s\" -> \"%s\"",
                                        w->link_name, w->link_target);
        return 0;
}

static int create_missing(struct walk *w, const char *name, bool last, struct berth_error **err)
{
        int dirfd = w->fds[w->depth];

        if (last && (w->flags & BERTH_RESOLVE_MKFILE)) {
                int fd =
                    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

                if (fd < 0 && errno != EEXIST)
                        return berth_error_set(err, errno, "create \"%s/%s\"", w->at, name);
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        if (!(w->flags & BERTH_RESOLVE_MKDIR))
                return -ENOENT;
        if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "mkdir \"%s/%s\"", w->at, name);
        return 0;
}

static int open_component(struct walk *w, const char *name, bool last, int *ret_fd,
                          struct berth_error **err)
{
        int fd, r;

        fd = openat(w->fds[w->depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT &&
            (w->flags & (BERTH_RESOLVE_MKDIR | BERTH_RESOLVE_MKFILE))) {
                r = create_missing(w, name, last, err);
                if (r < 0 && r != -ENOENT)
                        return r;
                fd = openat(w->fds[w->depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return berth_error_set(err, errno, "open \"%s/%s\"", w->at, name);
        *ret_fd = fd;
        return 0;
}

static int read_link(struct walk *w, int fd, const char *name, char buf[PATH_MAX],
                     struct berth_error **err)
{
        ssize_t n = readlinkat(fd, "", buf, PATH_MAX);

        if (n < 0 || n >= PATH_MAX)
                return berth_error_set(err, n < 0 ? errno : ENAMETOOLONG, "readlink \"%s/%s\"",
                                       w->at, name);
        buf[n] = '\0';
        return 0;
}

/* Resolves one component; on return w->rem holds what is left. */
static int step(struct walk *w, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        char *name, *rest, target[PATH_MAX];
        bool from_link, last;
        size_t len = next_component(w, &name, &rest, &from_link);
        struct stat st;
        int r = 0;

        last = *rest == '\0';
        name[len] = '\0';
        if (len == 0 || streq(name, "."))
                goto next;
        if (streq(name, "..")) {
                r = dot_dot(w, from_link, err);
                goto next;
        }
        r = open_component(w, name, last, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "stat \"%s/%s\"", w->at, name);
        if (S_ISLNK(st.st_mode) && !(last && (w->flags & BERTH_RESOLVE_NOFOLLOW_LAST))) {
                r = read_link(w, fd, name, target, err);
                return r < 0 ? r : splice_link(w, rest, target, name, err);
        }
        if (!last && !S_ISDIR(st.st_mode))
                return berth_error_set(err, ENOTDIR, "open \"%s/%s\"", w->at, name);
        walk_push(w, steal_fd(&fd), name, len);
next:
        memmove(w->rem, rest, strlen(rest) + 1);
        return r;
}

int berth_resolve_in_root(int rootfd, const char *path, int flags, int *ret_fd,
                          struct berth_error **err)
{
        struct walk w = {.rem = xstrdup(path), .at = xstrdup(""), .flags = flags};
        int r = 0, fd;

        w.fds = xreallocarray(NULL, 16, sizeof(int));
        w.cap = 16;
        w.fds[0] = rootfd;
        while (w.rem[0] != '\0' && r >= 0)
                r = step(&w, err);
        if (r >= 0) {
                fd = w.depth > 0 ? steal_fd(&w.fds[w.depth])
                                 : openat(rootfd, ".", O_PATH | O_CLOEXEC);
                if (w.depth > 0)
                        w.depth--;
                if (fd < 0)
                        r = berth_error_set(err, errno, "open \"%s\"", at_or_root(&w));
                else
                        *ret_fd = fd;
        }
        walk_done(&w);
        return r;
}

const char *berth_fd_path(int fd, char buf[BERTH_FD_PATH_MAX])
{
        snprintf(buf, BERTH_FD_PATH_MAX, "/proc/self/fd/%d", fd);
        return buf;
}

/* The lexically clean form of an absolute path ("//dev/./pts/../" -> "/dev"), as Go's
 * filepath.Clean that runc uses for these comparisons. */
static char *clean_path(const char *path)
{
        char *out = xcalloc(strlen(path) + 2, 1), *copy = xstrdup(path), *save = NULL;
        size_t n = 0;

        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        while (n > 0 && out[--n] != '/')
                                ;
                        out[n] = '\0';
                        continue;
                }
                n += (size_t) sprintf(out + n, "/%s", c);
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        free(copy);
        return out;
}

bool berth_path_is(const char *path, const char *clean)
{
        _autofree_ char *p = path ? clean_path(path) : NULL;

        return p && streq(p, clean);
}
