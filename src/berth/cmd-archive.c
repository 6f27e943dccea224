/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth load, save and import: images in files (image-archive.h), docker's flags and output.
 */
#include <unistd.h>

#include "berth.h"
#include "image/image-archive.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "base/util.h"

static int open_store(struct berth_global *g, struct berth_store **ret)
{
        _autoerr_ struct berth_error *err = NULL;

        if (berth_global_store(g, ret, &err) < 0)
                return berth_print_error(err);
        return 0;
}

static int fail(const char *msg)
{
        fprintf(stderr, BERTH_PROG ": %s\n", msg);
        return BERTH_EXIT_ENGINE;
}

/* ---- berth load --------------------------------------------------------------------------- */

static void print_loaded(char *const *loaded)
{
        for (size_t i = 0; loaded && loaded[i]; i++) {
                _autofree_ char *name = NULL;

                if (startswith(loaded[i], "sha256:")) {
                        printf("Loaded image ID: %s\n", loaded[i]);
                        continue;
                }
                name = berth_ref_familiar(loaded[i]);
                printf("Loaded image: %s\n", name);
        }
}

enum { LOAD_INPUT, LOAD_QUIET };
static const struct berth_flag load_flags[] = {
    [LOAD_INPUT] = {"input", 'i', BERTH_FLAG_VALUE, "FILE",
                    "Read from a tar archive file or an OCI layout directory, instead of STDIN"},
    [LOAD_QUIET] = {"quiet", 'q', BERTH_FLAG_BOOL, NULL, "Suppress the load output"},
};
static const struct berth_cmd_spec load_spec = {"load",
                                                "load [OPTIONS]",
                                                "Load an image from a tar archive or STDIN",
                                                load_flags,
                                                ARRAY_SIZE(load_flags),
                                                0,
                                                0,
                                                false};

static int load(struct berth_store *s, const char *path)
{
        _autoerr_ struct berth_error *err = NULL;
        _autostrv_ char **loaded = NULL;
        struct berth_layer_opts lo = {};

        if (berth_image_load(s, path, &lo, &loaded, &err) < 0)
                return berth_print_error(err);
        print_loaded(loaded);
        return 0;
}

static int load_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        const char *path;
        int rc;

        if (!berth_cmd_args(&load_spec, argc, argv, &a, &rc))
                return rc;
        path = a.values[LOAD_INPUT] ? a.values[LOAD_INPUT] : "-";
        if (streq(path, "-") && isatty(STDIN_FILENO))
                rc = fail("requested load from stdin, but stdin is a terminal: use -i FILE or "
                          "redirect");
        if (rc == 0)
                rc = open_store(g, &s);
        if (rc == 0)
                rc = load(s, path);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_load = {"load", "Load an image from a tar archive or STDIN",
                                         load_run};

/* ---- berth save --------------------------------------------------------------------------- */

enum { SAVE_OUTPUT, SAVE_FORMAT };
static const struct berth_flag save_flags[] = {
    [SAVE_OUTPUT] = {"output", 'o', BERTH_FLAG_VALUE, "FILE",
                     "Write to a file (or a directory for oci-dir), instead of STDOUT"},
    [SAVE_FORMAT] = {"format", 0, BERTH_FLAG_VALUE, "FORMAT",
                     "docker-archive (default), oci-archive or oci-dir"},
};
static const struct berth_cmd_spec save_spec = {
    "save",
    "save [OPTIONS] IMAGE [IMAGE...]",
    "Save one or more images to a tar archive (streamed to STDOUT by default)",
    save_flags,
    ARRAY_SIZE(save_flags),
    1,
    -1,
    false};

static int save(struct berth_store *s, const struct berth_args *a)
{
        _autoerr_ struct berth_error *err = NULL;
        enum berth_archive_format f = BERTH_ARCHIVE_DOCKER;
        const char *out = a->values[SAVE_OUTPUT];

        if (a->values[SAVE_FORMAT] &&
            berth_archive_format_parse(a->values[SAVE_FORMAT], &f, &err) < 0)
                return berth_print_error(err);
        if (!out && f == BERTH_ARCHIVE_OCI_DIR)
                return fail("save: --format oci-dir needs -o DIR");
        if (!out && isatty(STDOUT_FILENO))
                return fail("refusing to write an archive to a terminal: use -o FILE or redirect");
        if (berth_image_save(s, (const char *const *) a->pos, f, out ? out : "-", &err) < 0)
                return berth_print_error(err);
        return 0;
}

static int save_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        int rc;

        if (!berth_cmd_args(&save_spec, argc, argv, &a, &rc))
                return rc;
        rc = open_store(g, &s);
        if (rc == 0)
                rc = save(s, &a);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_save = {
    "save", "Save one or more images to a tar archive (streamed to STDOUT by default)", save_run};

/* ---- berth import ------------------------------------------------------------------------- */

enum { IMPORT_CHANGE, IMPORT_MESSAGE, IMPORT_PLATFORM };
static const struct berth_flag import_flags[] = {
    [IMPORT_CHANGE] = {"change", 'c', BERTH_FLAG_LIST, "CHANGE",
                       "Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                       "STOPSIGNAL, USER, VOLUME, WORKDIR)"},
    [IMPORT_MESSAGE] = {"message", 'm', BERTH_FLAG_VALUE, "MSG",
                        "Set a commit message for the imported image"},
    [IMPORT_PLATFORM] = {"platform", 0, BERTH_FLAG_VALUE, "OS/ARCH[/VARIANT]",
                         "Set the platform of the image"},
};
static const struct berth_cmd_spec import_spec = {
    "import",
    "import [OPTIONS] FILE|- [REPOSITORY[:TAG]]",
    "Import the contents from a tarball to create a filesystem image",
    import_flags,
    ARRAY_SIZE(import_flags),
    1,
    2,
    false};

static int import(struct berth_store *s, const struct berth_args *a)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *id = NULL;
        struct berth_import_opts o = {
            .name = a->n_pos > 1 ? a->pos[1] : NULL,
            .message = a->values[IMPORT_MESSAGE],
            .changes = a->lists[IMPORT_CHANGE],
            .platform = a->values[IMPORT_PLATFORM],
        };

        if (streq(a->pos[0], "-") && isatty(STDIN_FILENO))
                return fail("import from stdin, but stdin is a terminal: give a FILE or redirect");
        if (berth_image_import(s, a->pos[0], &o, &id, &err) < 0)
                return berth_print_error(err);
        printf("%s\n", id);
        return 0;
}

static int import_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        int rc;

        if (!berth_cmd_args(&import_spec, argc, argv, &a, &rc))
                return rc;
        rc = open_store(g, &s);
        if (rc == 0)
                rc = import(s, &a);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_import = {
    "import", "Import the contents from a tarball to create a filesystem image", import_run};
