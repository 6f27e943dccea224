/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's binary, made read-only before anything is cloned into a container (selfexe.h:
 * why, CVE-2019-5736). Measured on the start path in bench/README.md.
 */
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "base/log.h"
#include "runtime/selfexe.h"
#include "base/util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: an executable memfd where vm.memfd_noexec is set */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
/* Set across the re-exec: a second pass that still finds the binary writable is an error, not a
 * loop. Removed from the environment at once, so nothing the runtime starts inherits it. */
#define REEXEC_ENV "_BERTH_EXE_SEALED"

static bool is_sealed_memfd(void)
{
        _autoclose_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;

        return seals >= 0 && (seals & SEALS) == SEALS;
}

bool berth_exe_is_sealed(void)
{
        struct statfs sf;

        if (statfs("/proc/self/exe", &sf) < 0)
                return false;
        if (sf.f_flags & ST_RDONLY)
                return true;
        return sf.f_type == TMPFS_MAGIC && is_sealed_memfd();
}

int berth_exe_check_sealed(struct berth_error **err)
{
        if (berth_exe_is_sealed())
                return 0;
        return berth_error_setx(err, EPERM,
                                "the runtime's binary is writable through /proc/self/exe: a "
                                "process in the container could overwrite it (CVE-2019-5736); "
                                "the front end must call berth_exe_seal() first");
}

/* "a:b\c" -> "a\:b\\c": overlayfs splits lowerdir at unescaped colons. */
static char *escape_lowerdir(const char *path)
{
        char *out = xcalloc(2 * strlen(path) + 1, 1), *w = out;

        for (const char *r = path; *r; r++) {
                if (*r == ':' || *r == '\\')
                        *w++ = '\\';
                *w++ = *r;
        }
        return out;
}

static int overlay_view(const char *bin, const char *scratch, int *ret_fd, struct berth_error **err)
{
        _autofree_ char *copy = xstrdup(bin), *dir = NULL, *lower = NULL, *top = NULL,
                        *second = NULL;
        _autoclose_ int fs = -EBADF, mnt = -EBADF, fd = -EBADF;
        const char *name = strrchr(bin, '/') + 1;
        struct stat st;

        dir = xstrdup(dirname(copy));
        top = escape_lowerdir(dir);
        second = escape_lowerdir(scratch);
        lower = xasprintf("%s:%s", top, second);
        fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return berth_error_set(err, errno, "fsopen overlay");
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
                return berth_error_set(err, errno, "overlay lowerdir=%s", lower);
        /* xino would only log to dmesg when the layers are on different filesystems */
        (void) fsconfig(fs, FSCONFIG_SET_STRING, "xino", "off", 0);
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return berth_error_set(err, errno, "create overlay lowerdir=%s", lower);
        mnt =
            fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
        if (mnt < 0)
                return berth_error_set(err, errno, "fsmount overlay");
        fd = openat(mnt, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "open %s in the overlay view", name);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return berth_error_setx(err, ENOEXEC, "%s in the overlay view: not a file", name);
        *ret_fd = steal_fd(&fd);
        return 0;
}

static int memfd_copy(const char *name, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), fd = -EBADF;
        struct stat st;
        off_t off = 0;

        if (src < 0 || fstat(src, &st) < 0)
                return berth_error_set(err, errno, "open /proc/self/exe");
        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL)
                fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return berth_error_set(err, errno, "memfd_create");
        while (off < st.st_size)
                if (sendfile(fd, src, &off, (size_t) (st.st_size - off)) <= 0)
                        return berth_error_set(err, errno ? errno : EIO,
                                               "copy the binary into a memfd");
        if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
                return berth_error_set(err, errno, "seal the memfd copy");
        *ret_fd = steal_fd(&fd);
        return 0;
}

int berth_exe_seal(char *const *argv, const char *scratch_dir, struct berth_error **err)
{
        _autoerr_ struct berth_error *why = NULL;
        _autoclose_ int fd = -EBADF;
        _autofree_ char *bin = NULL;
        bool second_pass = getenv(REEXEC_ENV) != NULL;
        uint64_t t = TRACE_T0();

        unsetenv(REEXEC_ENV);
        if (berth_exe_is_sealed())
                return 0;
        if (second_pass)
                return berth_error_setx(err, EPERM,
                                        "seal the runtime binary (CVE-2019-5736): "
                                        "re-executed from a read-only view, yet still writable");
        bin = realpath("/proc/self/exe", NULL);
        if (!bin || overlay_view(bin, scratch_dir, &fd, &why) < 0) {
                berth_log(BERTH_LOG_DEBUG,
                          "read-only overlay view of the runtime binary: %s; "
                          "using a sealed memfd copy",
                          why ? why->msg : strerror(errno));
                if (memfd_copy(program_invocation_short_name, &fd, err) < 0)
                        return berth_error_prefix(err, "seal the runtime binary (CVE-2019-5736)");
        }
        TRACE(t, "read-only view of the runtime binary; re-executing from it");
        setenv(REEXEC_ENV, "1", 1);
        execveat(fd, "", argv, environ, AT_EMPTY_PATH);
        unsetenv(REEXEC_ENV);
        return berth_error_set(err, errno, "seal the runtime binary (CVE-2019-5736): execveat");
}
