/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <jansson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "spec/spec.h"
#include "runtime/state.h"
#include "base/json.h"
#include "base/util.h"

#define ID_MAX 1024

int berth_id_validate(const char *id, struct berth_error **err)
{
        size_t n = id ? strlen(id) : 0;

        if (n == 0)
                return berth_error_setx(err, EINVAL, "container id \"\": must not be empty");
        if (n > ID_MAX)
                return berth_error_setx(err, EINVAL, "container id %s: longer than %d bytes",
                                        QUOTE(id), ID_MAX);
        if (streq(id, ".") || streq(id, ".."))
                goto bad;
        for (const char *p = id; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_+-.", *p))
                        goto bad;
        return 0;
bad:
        return berth_error_setx(
            err, EINVAL, "container id %s: must match [A-Za-z0-9_+.-]+ and not be \".\" or \"..\"",
            QUOTE(id));
}

static int mkdir_p(const char *path, mode_t mode)
{
        _autofree_ char *p = xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int berth_state_root_open(const char *root, int *ret_fd, struct berth_error **err)
{
        int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 && errno == ENOENT) {
                int r = mkdir_p(root, 0711);

                if (r < 0)
                        return berth_error_set(err, -r, "create state root %s", root);
                fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return berth_error_set(err, errno, "open state root %s", root);
        *ret_fd = fd;
        return 0;
}

int berth_state_dir_create(int rootfd, const char *id, int *ret_fd, struct berth_error **err)
{
        int fd;

        if (mkdirat(rootfd, id, 0711) < 0) {
                if (errno == EEXIST)
                        return berth_error_setx(err, EEXIST, "container \"%s\" already exists", id);
                return berth_error_set(err, errno, "create state dir for \"%s\"", id);
        }
        fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                int e = errno;

                unlinkat(rootfd, id, AT_REMOVEDIR);
                return berth_error_set(err, e, "open state dir for \"%s\"", id);
        }
        *ret_fd = fd;
        return 0;
}

int berth_state_dir_remove(int rootfd, const char *id, struct berth_error **err)
{
        _autoclose_ int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return errno == ENOENT
                           ? 0
                           : berth_error_set(err, errno, "open state dir of \"%s\"", id);
        d = fdopendir(fd);
        if (!d)
                return berth_error_set(err, errno, "read state dir of \"%s\"", id);
        fd = -EBADF; /* owned by d now */
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return berth_error_set(err, errno, "remove state dir of \"%s\"", id);
        return 0;
}

static json_t *hooks_json(const struct berth_hook_list *l)
{
        _autofree_ char *s = NULL;

        if (l->n == 0)
                return NULL;
        s = berth_hooks_to_json(l);
        return s ? json_loads(s, 0, NULL) : NULL;
}

/* One "key value" line each; a value with a newline is left out. */
static void add_line(char **text, const char *key, const char *value)
{
        char *old = *text;

        if (!value || strchr(value, '\n'))
                return;
        *text = xasprintf("%s%s %s\n", old, key, value);
        free(old);
}

/* The record that kill, delete --force and list fall back on when state.json is damaged:
 * written before it, each time, in a plain line format that a torn or garbled JSON file does not
 * take with it. */
static int save_recovery(const struct berth_container *c, struct berth_error **err)
{
        char *text = xasprintf("pid %d\nstart %llu\n", (int) c->pid, c->pid_start);
        int r;

        add_line(&text, "cgroup", c->cgroup_path);
        add_line(&text, "bundle", c->bundle);
        r = berth_write_file_atomic(c->dirfd, BERTH_RECOVERY_FILE, text, strlen(text), 0600, false,
                                    err);
        free(text);
        return r;
}

int berth_state_save(const struct berth_container *c, struct berth_error **err)
{
        json_t *o =
            json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s}", "ociVersion",
                      c->oci_version ? c->oci_version : "1.2.0", "id", c->id, "pid", (int) c->pid,
                      "pidStart", (json_int_t) c->pid_start, "bundle", c->bundle, "rootfs",
                      c->rootfs, "created", c->created, "owner", c->owner ? c->owner : "");
        _autofree_ char *text = NULL;
        json_t *h;
        int r;

        if (!o)
                return berth_error_setx(err, ENOMEM, "build state.json");
        json_object_set_new(o, "annotations", berth_json_kv(c->annotations, c->n_annotations));
        if (c->cgroup_path)
                json_object_set_new(o, "cgroupPath", json_string(c->cgroup_path));
        if ((h = hooks_json(&c->poststart)))
                json_object_set_new(o, "poststart", h);
        if ((h = hooks_json(&c->poststop)))
                json_object_set_new(o, "poststop", h);
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return berth_error_setx(err, ENOMEM, "serialize state.json");
        r = save_recovery(c, err);
        if (r < 0)
                return r;
        return berth_write_file_atomic(c->dirfd, BERTH_STATE_FILE, text, strlen(text), 0600, false,
                                       err);
}

static char *dup_json_string(json_t *o, const char *key)
{
        const char *s = json_string_value(json_object_get(o, key));

        return xstrdup(s ? s : "");
}

static int read_hooks(json_t *o, const char *key, struct berth_hook_list *l,
                      struct berth_error **err)
{
        json_t *a = json_object_get(o, key);
        _autofree_ char *s = NULL;

        if (!a)
                return 0;
        s = json_dumps(a, JSON_COMPACT);
        return s ? berth_hooks_from_json(s, l, err) : 0;
}

static void read_annotations(json_t *o, struct berth_container *c)
{
        json_t *a = json_object_get(o, "annotations"), *v;
        const char *k;
        size_t i = 0;

        c->n_annotations = json_object_size(a);
        if (c->n_annotations == 0)
                return;
        c->annotations = xcalloc(c->n_annotations, sizeof(*c->annotations));
        json_object_foreach(a, k, v)
        {
                c->annotations[i].key = xstrdup(k);
                c->annotations[i].value = xstrdup(json_string_value(v) ? json_string_value(v) : "");
                i++;
        }
}

/* state.json as text: a regular file (opened without blocking: a FIFO put there must not hang
 * every command) of at most BERTH_STATE_MAX bytes. -ENOENT if there is none. */
static int read_state_text(int dirfd, char **ret, const char **ret_why, struct berth_error **err)
{
        _autoclose_ int fd = openat(dirfd, BERTH_STATE_FILE,
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;

        *ret_why = NULL;
        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0)
                return berth_error_set(err, errno, "open");
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "stat");
        if (!S_ISREG(st.st_mode))
                *ret_why = "not a regular file";
        else if (st.st_size == 0)
                *ret_why = "empty";
        else if (st.st_size > BERTH_STATE_MAX)
                *ret_why = "larger than 4 MiB";
        if (*ret_why)
                return 0;
        return berth_read_fd(fd, "it", BERTH_STATE_MAX, ret, NULL, err);
}

/* Checks the fields every command relies on; returns why not, or NULL. */
static const char *check_state(json_t *o, const char *id)
{
        json_t *pid = json_object_get(o, "pid"), *start = json_object_get(o, "pidStart");

        if (!json_is_object(o))
                return "not a JSON object";
        if (!json_is_string(json_object_get(o, "id")) ||
            !streq(json_string_value(json_object_get(o, "id")), id))
                return "\"id\" is missing or not this container's";
        if (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
            json_integer_value(pid) > INT32_MAX)
                return "\"pid\" is missing or not a pid";
        if (!json_is_integer(start) || json_integer_value(start) < 0)
                return "\"pidStart\" is missing or not a start time";
        return NULL;
}

/* The damaged-state error: names the file, says why and what still works. */
static int damaged(const struct berth_container *c, const char *why, struct berth_error **err)
{
        return berth_error_setx(err, EBADMSG,
                                "container \"%s\": state file %s/%s/%s is damaged: %s (list, kill "
                                "and delete --force still work)",
                                c->id, c->root, c->id, BERTH_STATE_FILE, why);
}

static int parse_state(struct berth_container *c, const char *text, struct berth_error **err)
{
        _autofree_ char *why = NULL;
        json_error_t jerr;
        json_t *o;
        const char *bad;
        int r;

        o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!o) {
                why = xasprintf("line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
                return damaged(c, why, err);
        }
        bad = check_state(o, c->id);
        if (bad) {
                json_decref(o);
                return damaged(c, bad, err);
        }
        c->pid = (pid_t) json_integer_value(json_object_get(o, "pid"));
        c->pid_start = (unsigned long long) json_integer_value(json_object_get(o, "pidStart"));
        c->oci_version = dup_json_string(o, "ociVersion");
        c->bundle = dup_json_string(o, "bundle");
        c->rootfs = dup_json_string(o, "rootfs");
        c->created = dup_json_string(o, "created");
        c->owner = dup_json_string(o, "owner");
        if (json_string_value(json_object_get(o, "cgroupPath")))
                c->cgroup_path = dup_json_string(o, "cgroupPath");
        read_annotations(o, c);
        r = read_hooks(o, "poststart", &c->poststart, err);
        if (r >= 0)
                r = read_hooks(o, "poststop", &c->poststop, err);
        json_decref(o);
        return r;
}

int berth_state_read(struct berth_container *c, struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *text = NULL;
        const char *bad = NULL;
        int r;

        r = read_state_text(c->dirfd, &text, &bad, &e);
        if (r == -ENOENT) {
                /* a create that died before its first save, or between the two files */
                (void) berth_state_read_recovery(c);
                return 0;
        }
        if (r < 0)
                return damaged(c, e->msg, err);
        if (bad)
                return damaged(c, bad, err);
        return parse_state(c, text, err);
}

/* "key value" -> value, if line starts with key and a space. */
static const char *line_value(const char *line, const char *key)
{
        size_t n = strlen(key);

        return strncmp(line, key, n) == 0 && line[n] == ' ' ? line + n + 1 : NULL;
}

int berth_state_read_recovery(struct berth_container *c)
{
        _autofree_ char *text = NULL, *cgroup = NULL, *bundle = NULL;
        uint64_t pid = UINT64_MAX, start = UINT64_MAX;
        char *save = NULL;
        const char *v;

        if (berth_read_file_at(c->dirfd, BERTH_RECOVERY_FILE, 64 * 1024, &text, NULL, NULL) < 0)
                return -ENOENT;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if ((v = line_value(line, "pid")) && parse_u64(v, &pid) < 0)
                        return -EBADMSG;
                if ((v = line_value(line, "start")) && parse_u64(v, &start) < 0)
                        return -EBADMSG;
                if ((v = line_value(line, "cgroup")) && v[0] == '/')
                        cgroup = xstrdup(v);
                if ((v = line_value(line, "bundle")) && v[0] == '/')
                        bundle = xstrdup(v);
        }
        if (pid > INT32_MAX || start == UINT64_MAX)
                return -EBADMSG;
        c->pid = (pid_t) pid;
        c->pid_start = start;
        if (cgroup) {
                free(c->cgroup_path);
                c->cgroup_path = steal_ptr(&cgroup);
        }
        if (bundle) {
                free(c->bundle);
                c->bundle = steal_ptr(&bundle);
        }
        return 0;
}

int berth_proc_starttime(pid_t pid, unsigned long long *ret, bool *ret_zombie)
{
        char path[64], buf[1024], *p;
        _autoclose_ int fd = -EBADF;
        ssize_t n;
        char state;
        unsigned long long start;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ESRCH;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -ESRCH;
        buf[n] = '\0';
        /* comm may contain spaces and parentheses: fields resume after the last ')'. */
        p = strrchr(buf, ')');
        if (!p ||
            sscanf(
                p + 1,
                " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                &state, &start) != 2)
                return -EINVAL;
        *ret = start;
        if (ret_zombie)
                *ret_zombie = state == 'Z' || state == 'X';
        return 0;
}

void berth_state_refresh(struct berth_container *c)
{
        unsigned long long start;
        bool zombie;
        struct stat st;

        if (c->pid <= 0 || berth_proc_starttime(c->pid, &start, &zombie) < 0 ||
            start != c->pid_start || zombie) {
                c->status = BERTH_STATUS_STOPPED;
                return;
        }
        if (fstatat(c->dirfd, BERTH_EXEC_FIFO, &st, AT_SYMLINK_NOFOLLOW) == 0)
                c->status = BERTH_STATUS_CREATED;
        else
                c->status = BERTH_STATUS_RUNNING;
}

int berth_state_lock(const struct berth_container *c, struct berth_error **err)
{
        while (flock(c->dirfd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return berth_error_set(err, errno, "lock state of \"%s\"", c->id);
        return 0;
}

void berth_state_unlock(const struct berth_container *c)
{
        (void) flock(c->dirfd, LOCK_UN);
}

static const char *file_kind(mode_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFIFO:
                return "a FIFO";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        case S_IFSOCK:
                return "a socket";
        case S_IFLNK:
                return "a symbolic link";
        case S_IFDIR:
                return "a directory";
        default:
                return "something";
        }
}

/* The pid file's directory (O_PATH) and its last component, if what is there (nothing, or a
 * regular file) may be replaced. */
static int open_pid_file_dir(const char *path, int *ret_dfd, char **ret_base,
                             struct berth_error **err)
{
        _autofree_ char *dir = xstrdup(path), *base = xstrdup(path);
        _autoclose_ int dfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        if (dfd < 0)
                return berth_error_set(err, errno, "--pid-file %s: open its directory",
                                       QUOTE(path));
        if (fstatat(dfd, basename(base), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
                return berth_error_setx(err, EEXIST,
                                        "--pid-file %s: %s is there, not a regular file (%s): "
                                        "refusing to write to it or replace it; give the path of "
                                        "a regular file or of none",
                                        QUOTE(path), file_kind(st.st_mode), strerror(EEXIST));
        *ret_dfd = steal_fd(&dfd);
        *ret_base = xstrdup(basename(base));
        return 0;
}

int berth_pid_file_check(const char *path, struct berth_error **err)
{
        _autoclose_ int dfd = -EBADF;
        _autofree_ char *base = NULL;

        return open_pid_file_dir(path, &dfd, &base, err);
}

int berth_pid_file_write(const char *path, pid_t pid, struct berth_error **err)
{
        _autoclose_ int dfd = -EBADF;
        _autofree_ char *base = NULL;
        char text[32];
        int r;

        /* Never written in place: a FIFO would block until a reader comes (crun hangs there),
         * and a device (/dev/null!) must not be written, nor replaced (as runc's rename does). */
        r = open_pid_file_dir(path, &dfd, &base, err);
        if (r < 0)
                return r;
        snprintf(text, sizeof(text), "%d", (int) pid);
        if (berth_write_file_atomic(dfd, base, text, strlen(text), 0644, false, err) < 0)
                return berth_error_prefix(err, "--pid-file %s", QUOTE(path));
        return 0;
}
