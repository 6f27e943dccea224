/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the layer unpacker: each input is unpacked as a layer tar (any filter)
 * into an empty directory, which is then removed again. It also checks the security property:
 * the process runs chrooted in a private tmpfs (needs root: a mount namespace), and after every
 * input nothing but the layer directory may have changed there. Seeds: build any small tar.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "image/archive-dl.h"
#include "image/layer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
        perror(what);
        abort();
}

/* mkdir -p of an absolute path below the cwd, then a bind mount of the host's path there. */
static void bind_in(const char *host)
{
        char path[PATH_MAX];

        if (!realpath(host, path) || !path[1])
                return;
        for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                if (mkdir(path + 1, 0755) < 0 && errno != EEXIST)
                        die(path);
                *p = '/';
        }
        if (mkdir(path + 1, 0755) < 0 && errno != EEXIST)
                die(path);
        if (mount(path, path + 1, NULL, MS_BIND | MS_REC, NULL) < 0)
                die(path);
}

static char top_before[4096];

static int not_layer(const struct dirent *de)
{
        return strcmp(de->d_name, "layer") != 0;
}

/* The names at the top level, sorted ("a/b/..."), the layer left out. */
static void list_top(char *buf, size_t size)
{
        struct dirent **de;
        int n = scandir("/", &de, not_layer, alphasort);
        size_t o = 0;

        if (n < 0)
                die("scandir /");
        buf[0] = '\0';
        for (int i = 0; i < n; i++) {
                if (o < size)
                        o += (size_t) snprintf(buf + o, size - o, "%s/", de[i]->d_name);
                free(de[i]);
        }
        free(de);
}

/* The chroot's mount point, a dir of the host's /tmp, can only be removed once no mount namespace
 * has the tmpfs on it (rmdir of a mount point elsewhere would detach our binds): a child forked
 * before the unshare stays in the host's namespace and removes it when the fuzzer has exited
 * (EOF on the pipe), retrying while the namespace is still being torn down. */
static void remove_after_exit(const char *dir)
{
        int p[2];
        pid_t pid = -1;
        char c;

        if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0)
                die("fork the mount point's remover");
        if (pid > 0) {
                close(p[0]); /* p[1] stays open in the fuzzer until it exits */
                return;
        }
        close(p[1]);
        while (read(p[0], &c, 1) < 0 && errno == EINTR)
                ;
        for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
                usleep(20000);
        _exit(0);
}

/* The corpus and artifact directories (arguments that are directories) and the cwd are bind
 * mounted into the chroot at their own paths, so libFuzzer still finds them. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char root[] = "/tmp/berth-fuzz-layer-XXXXXX", cwd[PATH_MAX];
        struct stat st;

        if (!getcwd(cwd, sizeof(cwd)))
                die("getcwd");
        /* libarchive is dlopen'ed on first use: load it before the chroot hides it */
        if (berth_archive_load(NULL) < 0)
                die("load libarchive");
        if (!mkdtemp(root))
                die("mkdtemp");
        remove_after_exit(root);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("private mount namespace (run as root)");
        if (mount("tmpfs", root, "tmpfs", 0, "mode=0755") < 0 || chdir(root) < 0)
                die("tmpfs");
        if (mkdir("proc", 0555) < 0 || mount("/proc", "proc", NULL, MS_BIND | MS_REC, NULL) < 0)
                die("/proc");
        if (mkdir("etc", 0755) < 0)
                die("etc");
        bind_in(cwd);
        for (int i = 1; i < *argc; i++)
                if ((*argv)[i][0] != '-' && stat((*argv)[i], &st) == 0 && S_ISDIR(st.st_mode))
                        bind_in((*argv)[i]);
        if (chroot(".") < 0 || chdir(cwd) < 0)
                die("chroot");
        list_top(top_before, sizeof(top_before));
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
        (void) st;
        (void) f;
        if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
                die(path);
        return 0;
}

/* The top level is as it was, and the sentinel /etc is still empty. */
static void check_outside(void)
{
        char now[sizeof(top_before)];

        list_top(now, sizeof(now));
        if (strcmp(now, top_before)) {
                fprintf(stderr, "written outside the layer: / was %s, is %s\n", top_before, now);
                abort();
        }
        if (rmdir("/etc") < 0 || mkdir("/etc", 0755) < 0) /* rmdir fails unless empty */
                die("written outside the layer: /etc");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct berth_layer_opts o = {.max_bytes = 1 << 20, .max_entries = 1000};
        struct berth_error *err = NULL;
        int fd = memfd_create("layer", MFD_CLOEXEC), dir = -1;

        if (fd < 0 || write(fd, data, size) != (ssize_t) size || lseek(fd, 0, SEEK_SET) != 0)
                die("memfd");
        if (mkdir("/layer", 0755) < 0 || (dir = open("/layer", O_RDONLY | O_DIRECTORY)) < 0)
                die("/layer");
        (void) berth_layer_unpack(fd, dir, &o, NULL, &err);
        berth_error_free(err);
        close(dir);
        close(fd);
        check_outside();
        if (nftw("/layer", remove_one, 64, FTW_DEPTH | FTW_PHYS) < 0)
                die("remove /layer");
        return 0;
}
