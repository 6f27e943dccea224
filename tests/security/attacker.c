/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attacker of tests/security: a static program copied into the bundles' rootfs as /attacker
 * (and run on the host as the racer of the mount tests). Every mode prints records, one a line:
 *
 *   KIND key=value key=value ...
 *
 * Values are %-encoded (bytes <= ' ', '%', '=' and >= 0x7f), so a line splits on spaces. The
 * Python side (tests/security/sec.py) parses the records and judges them: the attacker only
 * reports what it reached, how, and whether it could write it.
 *
 *   reach where=W type=T dev=M:m ino=N inroot=0|1|- w=0|1 link=L [wopen=ok|ERRNO]
 *         an object opened through W (a /proc magic link, or "X/.." of one); for a directory,
 *         inroot says whether walking ".." from it ends at our own "/" (1) or elsewhere (0: a
 *         directory of the host); w: faccessat(W_OK) on it (permissions and read-only mounts)
 *   deny  where=W errno=E      an open that the kernel refused
 *
 * Modes:
 *   scan PID            the fds, cwd, root, exe and mem of PID (the created-state init)
 *   watch DIR COMM      poll the pids that appear after us; scan each until it runs COMM ("-":
 *                       until it is gone) or exits; keep an O_PATH fd on each distinct exe; stop
 *                       when DIR/stop exists, then try to reopen the kept exes for writing (and
 *                       append a marker when that works); write DIR/report and exit
 *   reopen-exe FD       the same write attempt on our own inherited fd FD (preload.c)
 *   swap DIR A B        exchange DIR/A and DIR/B (renameat2 RENAME_EXCHANGE) until killed
 *   cwd                 reach record of our cwd
 *   fds                 our own open fds (reach records, where=fd/N)
 *   stat PATH...        type, rdev, statfs magic, mount fs type and W_OK of each PATH
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define MARKER "\nBERTH-SECURITY-TEST-OVERWRITE\n"
#define MAX_EXES 16
#define MAX_RECORDS 4096
#define WATCH_MAX_SECONDS 300

static struct stat root_st;

/* ---- output ------------------------------------------------------------------------------ */

static FILE *out;

static void enc(char *dst, size_t size, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        size_t n = 0;

        for (; *s && n + 4 < size; s++) {
                unsigned char c = (unsigned char) *s;

                if (c <= ' ' || c == '%' || c == '=' || c >= 0x7f) {
                        dst[n++] = '%';
                        dst[n++] = hex[c >> 4];
                        dst[n++] = hex[c & 15];
                } else {
                        dst[n++] = (char) c;
                }
        }
        dst[n] = '\0';
}

/* Records of watch mode are collected (deduplicated, counted) and written at the end. */
struct record {
        char *line;
        unsigned long count;
};
static struct record records[MAX_RECORDS];
static size_t n_records;
static bool collect;

static void emit(const char *fmt, ...)
{
        char line[8192];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (!collect) {
                fprintf(out, "%s\n", line);
                fflush(out);
                return;
        }
        for (size_t i = 0; i < n_records; i++)
                if (strcmp(records[i].line, line) == 0) {
                        records[i].count++;
                        return;
                }
        if (n_records < MAX_RECORDS) {
                records[n_records].line = strdup(line);
                records[n_records].count = 1;
                if (records[n_records].line)
                        n_records++;
        }
}

static const char *errname(int e)
{
        switch (e) {
        case EACCES:
                return "EACCES";
        case EPERM:
                return "EPERM";
        case ENOENT:
                return "ENOENT";
        case ESRCH:
                return "ESRCH";
        case EROFS:
                return "EROFS";
        case ETXTBSY:
                return "ETXTBSY";
        case ENXIO:
                return "ENXIO";
        case EISDIR:
                return "EISDIR";
        case ENOTDIR:
                return "ENOTDIR";
        case EINVAL:
                return "EINVAL";
        case ELOOP:
                return "ELOOP";
        case EBADF:
                return "EBADF";
        case EBUSY:
                return "EBUSY";
        case ENODEV:
                return "ENODEV";
        case EOPNOTSUPP:
                return "EOPNOTSUPP";
        default: {
                static char buf[32];
                snprintf(buf, sizeof(buf), "E%d", e);
                return buf;
        }
        }
}

static const char *type_name(mode_t m)
{
        switch (m & S_IFMT) {
        case S_IFDIR:
                return "dir";
        case S_IFREG:
                return "reg";
        case S_IFIFO:
                return "fifo";
        case S_IFCHR:
                return "chr";
        case S_IFBLK:
                return "blk";
        case S_IFSOCK:
                return "sock";
        case S_IFLNK:
                return "lnk";
        default:
                return "other";
        }
}

/* ---- judging one object ------------------------------------------------------------------ */

static bool same_inode(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Walks ".." from a directory until it stops moving: our "/" for a directory inside our root,
 * the root of another mount namespace for a directory of the host. */
static int walk_top(int fd, struct stat *top)
{
        int cur = fcntl(fd, F_DUPFD_CLOEXEC, 0);

        if (cur < 0)
                return -1;
        for (int i = 0; i < 4096; i++) {
                struct stat a, b;
                int up;

                if (fstat(cur, &a) < 0)
                        break;
                up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (up < 0 || fstat(up, &b) < 0 || same_inode(&a, &b)) {
                        if (up >= 0)
                                close(up);
                        close(cur);
                        *top = a;
                        return 0;
                }
                close(cur);
                cur = up;
        }
        close(cur);
        return -1;
}

static void self_fd_path(int fd, char *buf, size_t size)
{
        snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* One reach record for fd, reached through `where` (link: what readlink said about it). */
static void reach(const char *where, int fd, const char *link, bool try_wopen)
{
        char ewhere[1024], elink[2048], path[64], inroot[4] = "-", wopen[32] = "";
        struct stat st, top;
        int w;

        if (fstat(fd, &st) < 0)
                return;
        if (S_ISDIR(st.st_mode) && walk_top(fd, &top) == 0)
                snprintf(inroot, sizeof(inroot), "%d", same_inode(&top, &root_st) ? 1 : 0);
        self_fd_path(fd, path, sizeof(path));
        w = faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
        /* Opening a host file for writing changes nothing (no O_TRUNC); a fifo is never opened:
         * opening the exec fifo would start the container. */
        if (try_wopen && S_ISREG(st.st_mode)) {
                int wfd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

                snprintf(wopen, sizeof(wopen), " wopen=%s", wfd >= 0 ? "ok" : errname(errno));
                if (wfd >= 0)
                        close(wfd);
        }
        enc(ewhere, sizeof(ewhere), where);
        enc(elink, sizeof(elink), link ? link : "");
        emit("reach where=%s type=%s dev=%u:%u ino=%lu inroot=%s w=%d link=%s%s", ewhere,
             type_name(st.st_mode), major(st.st_dev), minor(st.st_dev), (unsigned long) st.st_ino,
             inroot, w, elink, wopen);
}

static void deny(const char *where, int e)
{
        char ewhere[1024];

        enc(ewhere, sizeof(ewhere), where);
        emit("deny where=%s errno=%s", ewhere, errname(e));
}

static void read_link_at(int dirfd, const char *name, char *buf, size_t size)
{
        ssize_t n = readlinkat(dirfd, name, buf, size - 1);

        buf[n > 0 ? n : 0] = '\0';
}

/* Opens name under the /proc/PID dir pd (a magic link), and reports it, its ".." when it is a
 * directory. Returns the O_PATH fd (caller closes) or -1. */
static int probe(int pd, const char *name, const char *label)
{
        char link[PATH_MAX], up_label[1100];
        struct stat st;
        int fd, up;

        fd = openat(pd, name, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                deny(label, errno);
                return -1;
        }
        read_link_at(pd, name, link, sizeof(link));
        reach(label, fd, link, true);
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                snprintf(up_label, sizeof(up_label), "%s/..", label);
                up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (up >= 0) {
                        reach(up_label, up, "", false);
                        close(up);
                } else {
                        deny(up_label, errno);
                }
        }
        return fd;
}

/* Every fd, cwd, root and exe of the process whose /proc dir is pd; label_prefix names it in
 * the records. Returns the O_PATH fd of its exe (or -1). */
static int scan_pid(int pd, const char *label_prefix)
{
        char label[600];
        struct dirent *e;
        int dfd, exe;
        DIR *d;

        dfd = openat(pd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(label, sizeof(label), "%sfd", label_prefix);
        if (dfd < 0) {
                deny(label, errno);
        } else if (!(d = fdopendir(dfd))) {
                close(dfd);
        } else {
                while ((e = readdir(d))) {
                        char name[300];
                        int fd;

                        if (e->d_name[0] == '.')
                                continue;
                        snprintf(name, sizeof(name), "fd/%s", e->d_name);
                        snprintf(label, sizeof(label), "%sfd/%s", label_prefix, e->d_name);
                        fd = probe(pd, name, label);
                        if (fd >= 0)
                                close(fd);
                }
                closedir(d);
        }
        static const char *const links[] = {"cwd", "root"};
        for (size_t i = 0; i < 2; i++) {
                int fd;

                snprintf(label, sizeof(label), "%s%s", label_prefix, links[i]);
                fd = probe(pd, links[i], label);
                if (fd >= 0)
                        close(fd);
        }
        snprintf(label, sizeof(label), "%sexe", label_prefix);
        exe = probe(pd, "exe", label);
        return exe;
}

static int open_proc_pid(const char *pid)
{
        char path[64];

        snprintf(path, sizeof(path), "/proc/%s", pid);
        return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* ---- scan -------------------------------------------------------------------------------- */

static int mode_scan(const char *pid)
{
        char label[64];
        int pd = open_proc_pid(pid), exe, mem;

        if (pd < 0) {
                fprintf(stderr, "attacker: /proc/%s: %s\n", pid, strerror(errno));
                return 2;
        }
        snprintf(label, sizeof(label), "/proc/%s/", pid);
        exe = scan_pid(pd, label);
        if (exe >= 0)
                close(exe);
        snprintf(label, sizeof(label), "/proc/%s/mem", pid);
        mem = openat(pd, "mem", O_RDWR | O_CLOEXEC);
        if (mem < 0) {
                deny(label, errno);
        } else {
                emit("reach where=%s type=mem dev=0:0 ino=0 inroot=- w=1 link=", label);
                close(mem);
        }
        close(pd);
        return 0;
}

/* ---- the binary ---------------------------------------------------------------------------- */

/* Reopen an O_PATH fd on an exe for writing once nothing executes it any more (ETXTBSY until
 * then), and append the marker if that works: the CVE-2019-5736 overwrite, made harmless by the
 * test running the runtime from a copy. */
static void try_overwrite(int fd, double seconds)
{
        struct timespec t0, now, pause = {0, 5 * 1000 * 1000};
        char path[64];
        struct stat st;
        int w, e = 0;

        if (fstat(fd, &st) < 0)
                return;
        self_fd_path(fd, path, sizeof(path));
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                e = errno;
                if (w >= 0 || e != ETXTBSY)
                        break;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((double) (now.tv_sec - t0.tv_sec) + (double) (now.tv_nsec - t0.tv_nsec) / 1e9 >
                    seconds)
                        break;
                nanosleep(&pause, NULL);
        }
        if (w < 0) {
                emit("exewrite dev=%u:%u ino=%lu open=%s write=-", major(st.st_dev),
                     minor(st.st_dev), (unsigned long) st.st_ino, errname(e));
                return;
        }
        ssize_t n = write(w, MARKER, strlen(MARKER));
        e = errno;
        emit("exewrite dev=%u:%u ino=%lu open=ok write=%s", major(st.st_dev), minor(st.st_dev),
             (unsigned long) st.st_ino, n == (ssize_t) strlen(MARKER) ? "ok" : errname(e));
        close(w);
}

static int mode_reopen_exe(const char *fdstr)
{
        int fd = atoi(fdstr);

        reach("exe", fd, "", false);
        try_overwrite(fd, 2.0);
        return 0;
}

/* ---- watch ------------------------------------------------------------------------------- */

static bool file_exists_at(int dirfd, const char *name)
{
        return faccessat(dirfd, name, F_OK, 0) == 0;
}

static bool read_comm(int pd, char *buf, size_t size)
{
        int fd = openat(pd, "comm", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return false;
        n = read(fd, buf, size - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return true;
}

struct watch {
        const char *comm;
        int exes[MAX_EXES];
        size_t n_exes;
        unsigned long pids, preexec, scans, missed;
};

static void keep_exe(struct watch *w, int exe)
{
        struct stat a, b;

        if (fstat(exe, &a) < 0)
                goto drop;
        for (size_t i = 0; i < w->n_exes; i++)
                if (fstat(w->exes[i], &b) == 0 && same_inode(&a, &b))
                        goto drop;
        if (w->n_exes < MAX_EXES) {
                w->exes[w->n_exes++] = exe;
                return;
        }
drop:
        close(exe);
}

/* Scans one new process as long as it still runs the runtime's code. */
static void watch_pid(struct watch *w, int pd)
{
        char comm[64], label[96];
        bool first = true;

        w->pids++;
        for (unsigned long round = 0; round < 200000; round++) {
                int exe;

                if (!read_comm(pd, comm, sizeof(comm)))
                        break; /* gone */
                if (strcmp(w->comm, "-") != 0 && strcmp(comm, w->comm) == 0) {
                        if (first)
                                w->missed++;
                        break; /* it runs the program now: its fds are the program's */
                }
                if (first)
                        w->preexec++;
                first = false;
                enc(label, sizeof(label), comm);
                strncat(label, ":", sizeof(label) - strlen(label) - 1);
                exe = scan_pid(pd, label);
                if (exe >= 0)
                        keep_exe(w, exe);
                w->scans++;
        }
}

static int highest_pid(void)
{
        DIR *d = opendir("/proc");
        struct dirent *e;
        int max = 0;

        if (!d)
                return 0;
        while ((e = readdir(d))) {
                int p = atoi(e->d_name);

                if (p > max)
                        max = p;
        }
        closedir(d);
        return max;
}

static int write_report(int dirfd, const struct watch *w)
{
        int fd = openat(dirfd, "report.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        FILE *f;

        if (fd < 0 || !(f = fdopen(fd, "w"))) {
                perror("attacker: report.tmp");
                return 2;
        }
        for (size_t i = 0; i < n_records; i++)
                fprintf(f, "%s count=%lu\n", records[i].line, records[i].count);
        fprintf(f, "stats pids=%lu preexec=%lu missed=%lu scans=%lu exes=%zu\n", w->pids,
                w->preexec, w->missed, w->scans, w->n_exes);
        if (fclose(f) != 0 || renameat(dirfd, "report.tmp", dirfd, "report") < 0) {
                perror("attacker: report");
                return 2;
        }
        return 0;
}

static int mode_watch(const char *dir, const char *comm)
{
        struct watch w = {.comm = comm};
        int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int next = highest_pid() + 1;
        time_t t0 = time(NULL);

        if (dirfd < 0) {
                fprintf(stderr, "attacker: %s: %s\n", dir, strerror(errno));
                return 2;
        }
        collect = true;
        /* Tell the test we are polling. */
        close(openat(dirfd, "ready", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        for (unsigned long it = 0;; it++) {
                if ((it & 255) == 0 &&
                    (file_exists_at(dirfd, "stop") || time(NULL) - t0 > WATCH_MAX_SECONDS))
                        break;
                for (int p = next; p < next + 16; p++) {
                        char name[16];
                        int pd;

                        snprintf(name, sizeof(name), "%d", p);
                        pd = open_proc_pid(name);
                        if (pd < 0)
                                continue;
                        watch_pid(&w, pd);
                        close(pd);
                        next = p + 1;
                        break;
                }
        }
        for (size_t i = 0; i < w.n_exes; i++)
                try_overwrite(w.exes[i], 3.0);
        return write_report(dirfd, &w);
}

/* ---- the racer --------------------------------------------------------------------------- */

static int mode_swap(const char *dir, const char *a, const char *b)
{
        int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (d < 0) {
                fprintf(stderr, "attacker: %s: %s\n", dir, strerror(errno));
                return 2;
        }
        for (;;)
                if (syscall(SYS_renameat2, d, a, d, b, RENAME_EXCHANGE) < 0) {
                        fprintf(stderr, "attacker: renameat2 %s/%s %s: %s\n", dir, a, b,
                                strerror(errno));
                        return 2;
                }
}

/* ---- small checks ------------------------------------------------------------------------ */

static int mode_cwd(void)
{
        char cwd[PATH_MAX];
        int fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0) {
                deny("cwd", errno);
                return 0;
        }
        if (!getcwd(cwd, sizeof(cwd)))
                snprintf(cwd, sizeof(cwd), "(getcwd: %s)", errname(errno));
        reach("cwd", fd, cwd, false);
        return 0;
}

static int mode_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;

        if (!d) {
                perror("attacker: /proc/self/fd");
                return 2;
        }
        while ((e = readdir(d))) {
                char label[300], name[300], link[PATH_MAX];
                int fd = atoi(e->d_name);

                if (e->d_name[0] == '.' || fd == dirfd(d))
                        continue;
                snprintf(name, sizeof(name), "/proc/self/fd/%s", e->d_name);
                read_link_at(AT_FDCWD, name, link, sizeof(link));
                snprintf(label, sizeof(label), "fd/%s", e->d_name);
                reach(label, fd, link, false);
        }
        closedir(d);
        return 0;
}

/* The mount fs type of path from our mountinfo (last mount at exactly that point). */
static void mount_type(const char *path, char *buf, size_t size)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char *line = NULL;
        size_t cap = 0;

        snprintf(buf, size, "-");
        if (!f)
                return;
        while (getline(&line, &cap, f) > 0) {
                char mp[PATH_MAX], *sep = strstr(line, " - ");
                char fstype[64];

                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                if (strcmp(mp, path) == 0 && sscanf(sep + 3, "%63s", fstype) == 1)
                        snprintf(buf, size, "%s", fstype);
        }
        free(line);
        fclose(f);
}

static int mode_stat(int argc, char **argv)
{
        for (int i = 0; i < argc; i++) {
                char epath[1024], mtype[64], link[PATH_MAX];
                struct stat st, lst;
                struct statfs sfs;

                enc(epath, sizeof(epath), argv[i]);
                if (lstat(argv[i], &lst) < 0) {
                        emit("stat path=%s errno=%s", epath, errname(errno));
                        continue;
                }
                link[0] = '\0';
                if (S_ISLNK(lst.st_mode))
                        read_link_at(AT_FDCWD, argv[i], link, sizeof(link));
                if (stat(argv[i], &st) < 0) {
                        char elink[2048];

                        enc(elink, sizeof(elink), link);
                        emit("stat path=%s ltype=lnk link=%s errno=%s", epath, elink,
                             errname(errno));
                        continue;
                }
                if (statfs(argv[i], &sfs) < 0)
                        sfs.f_type = 0;
                mount_type(argv[i], mtype, sizeof(mtype));
                char elink[2048];
                enc(elink, sizeof(elink), link);
                emit("stat path=%s ltype=%s type=%s rdev=%u:%u dev=%u:%u ino=%lu magic=0x%lx "
                     "mount=%s w=%d link=%s",
                     epath, type_name(lst.st_mode), type_name(st.st_mode), major(st.st_rdev),
                     minor(st.st_rdev), major(st.st_dev), minor(st.st_dev),
                     (unsigned long) st.st_ino, (unsigned long) sfs.f_type, mtype,
                     access(argv[i], W_OK) == 0, elink);
        }
        return 0;
}

static int usage(void)
{
        fprintf(stderr, "usage: attacker scan PID | watch DIR COMM | reopen-exe FD | "
                        "swap DIR A B | cwd | fds | stat PATH...\n");
        return 2;
}

int main(int argc, char **argv)
{
        out = stdout;
        if (argc < 2)
                return usage();
        if (stat("/", &root_st) < 0) {
                perror("attacker: stat /");
                return 2;
        }
        if (strcmp(argv[1], "scan") == 0 && argc == 3)
                return mode_scan(argv[2]);
        if (strcmp(argv[1], "watch") == 0 && argc == 4)
                return mode_watch(argv[2], argv[3]);
        if (strcmp(argv[1], "reopen-exe") == 0 && argc == 3)
                return mode_reopen_exe(argv[2]);
        if (strcmp(argv[1], "swap") == 0 && argc == 5)
                return mode_swap(argv[2], argv[3], argv[4]);
        if (strcmp(argv[1], "cwd") == 0 && argc == 2)
                return mode_cwd();
        if (strcmp(argv[1], "fds") == 0 && argc == 2)
                return mode_fds();
        if (strcmp(argv[1], "stat") == 0)
                return mode_stat(argc - 2, argv + 2);
        return usage();
}
