/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci spec [--bundle B] [--rootless]: writes a starter config.json. */
#include <fcntl.h>

#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

enum { F_BUNDLE, F_ROOTLESS };

static const struct oci_flag flags[] = {
    [F_BUNDLE] = {"bundle", 'b', true, "path to the root of the bundle directory"},
    [F_ROOTLESS] = {"rootless", 0, false, "generate a configuration for a rootless container"},
};

static int cmd_spec(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        const char *bundle = a->values[F_BUNDLE] ? a->values[F_BUNDLE] : ".";
        _autofree_ char *json = NULL;
        _autoclose_ int dirfd = -EBADF, fd = -EBADF;

        dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return berth_error_set(err, errno, "open bundle %s", bundle);
        json = berth_spec_default_json(oci_args_bool(a, F_ROOTLESS), getuid(), getgid());
        if (!json)
                return berth_error_setx(err, ENOMEM, "generate the default spec: out of memory");
        /* O_EXCL: never overwrite a config.json, not even one that appears meanwhile. */
        fd = openat(dirfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0666);
        if (fd < 0 && errno == EEXIST)
                return berth_error_setx(err, EEXIST, "File config.json exists. Remove it first");
        if (fd < 0)
                return berth_error_set(err, errno, "create %s/config.json", bundle);
        if (write_all(fd, json, strlen(json)) < 0 ||
            (json[0] && json[strlen(json) - 1] != '\n' && write_all(fd, "\n", 1) < 0)) {
                int saved = errno;

                (void) unlinkat(dirfd, "config.json", 0);
                return berth_error_set(err, saved, "write %s/config.json", bundle);
        }
        return 0;
}

const struct oci_command oci_cmd_spec = {
    .name = "spec",
    .summary = "create a new specification file",
    .usage = "[command options]",
    .description =
        "\nDESCRIPTION:\n"
        "   The spec command creates the new specification file named \"config.json\" for\n"
        "the bundle.\n\n"
        "The spec generated is just a starter file. Editing of the spec is required to\n"
        "achieve desired results. For example, the newly generated spec includes an args\n"
        "parameter that is initially set to call the \"sh\" command when the container is\n"
        "started.\n\n"
        "You can pass the parameter --rootless to this command to generate a proper\n"
        "rootless spec file, which maps the calling user to root in a user namespace.\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 0,
    .max_args = 0,
    .run = cmd_spec,
};
