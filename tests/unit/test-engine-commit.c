/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth diff and commit's engine side (engine-commit.c): the new image's name and config, and a
 * whole diff and commit on a temp store, from a container record whose upper dir is written by
 * hand (nothing is mounted or run: a container without runtime state is not paused).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/util.h"
#include "engine/engine-commit.h"
#include "engine/engine.h"
#include "image/blobstore.h"
#include "image/changes.h"
#include "image/imagestore.h"
#include "image/manifest.h"

#define DIGEST "sha256:1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
        char root[64];
        char *runroot;
        struct berth_store *s;
        struct berth_ctr *c;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        struct berth_config_change ch = {
            .env = (char *[]){"PATH=/bin", NULL},
            .cmd = (char *[]){"sh", NULL},
            .set_cmd = true,
        };
        struct berth_image_config img = {
            .env = (char *[]){"PATH=/bin", NULL},
            .cmd = (char *[]){"sh", NULL},
        };
        struct berth_run_opts o = {
            .name = "box",
            .cmd = (char *[]){"top", "-b", NULL},
            .env = (char *[]){"A=1", NULL},
            .workdir = "/srv",
            .user = "1000",
        };
        _autofree_ char *id = NULL;

        snprintf(f->root, sizeof(f->root), "/tmp/berth-test-engine-commit.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        f->runroot = xasprintf("%s/run", f->root);
        if (berth_store_open(f->root, &f->s, NULL) < 0)
                return -1;
        /* an image without layers, and a container of it */
        if (berth_store_image_create(f->s, NULL, NULL, 0, &ch, NULL, "base", &id, NULL) < 0 ||
            berth_ctr_create(f->s, id, (char *[]){NULL}, "docker.io/library/base:latest", &img, &o,
                             &f->c, NULL) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        _autofree_ char *cmd = xasprintf("rm -rf %s", f->root);

        berth_ctr_free(f->c);
        berth_store_free(f->s);
        free(f->runroot);
        free(f);
        return system(cmd) == 0 ? 0 : -1;
}

static void write_upper(struct fixture *f, const char *path, const char *text)
{
        _autofree_ char *upper = berth_ctr_upper(f->c), *p = xasprintf("%s/%s", upper, path);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static void test_name(void **state)
{
        _autoerr_ struct berth_error *e = NULL;
        char *name = (char *) "unset";

        assert_int_equal(berth_commit_name(NULL, &name, &e), 0);
        assert_null(name);
        assert_int_equal(berth_commit_name("snap", &name, &e), 0);
        assert_string_equal(name, "docker.io/library/snap:latest");
        free(name);
        assert_int_equal(berth_commit_name("127.0.0.1:5000/a/b:1", &name, &e), 0);
        assert_string_equal(name, "127.0.0.1:5000/a/b:1");
        free(name);
        assert_int_equal(berth_commit_name("snap@" DIGEST, &name, &e), -EINVAL);
        assert_string_equal(e->msg, "invalid reference \"snap@" DIGEST
                                    "\": refusing to create a tag with a digest reference");
        assert_true(berth_commit_name("Not A Name", &name, &e) < 0);
}

static void test_config(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_config_change_clear) struct berth_config_change ch = {0};
        _cleanup_(berth_config_change_clear) struct berth_config_change bad = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct berth_commit_opts o = {
            .author = "me",
            .message = "",
            .changes = (char *[]){"ENV B=2", "WORKDIR /w", NULL},
        };

        assert_int_equal(berth_commit_config(f->c, &o, &ch, &e), 0);
        /* the container's config ... */
        assert_true(strv_contains(ch.env, "A=1"));
        assert_true(strv_contains(ch.env, "PATH=/bin"));
        assert_true(ch.set_cmd);
        assert_string_equal(ch.cmd[0], "top");
        assert_string_equal(ch.cmd[1], "-b");
        assert_true(ch.set_entrypoint);
        assert_null(ch.entrypoint);
        assert_string_equal(ch.user, "1000");
        /* ... with the -c lines on top */
        assert_true(strv_contains(ch.env, "B=2"));
        assert_string_equal(ch.working_dir, "/w");
        /* the history entry: an empty message is none */
        assert_string_equal(ch.author, "me");
        assert_null(ch.comment);
        assert_string_equal(ch.created_by, "berth commit");

        o.changes = (char *[]){"FROM x", NULL};
        assert_true(berth_commit_config(f->c, &o, &bad, &e) < 0);
        assert_non_null(strstr(e->msg, "FROM"));
}

static void test_diff(void **state)
{
        struct fixture *f = *state;
        _autoerr_ struct berth_error *e = NULL;
        struct berth_change *v = NULL;
        size_t n = 0;

        write_upper(f, "new", "x\n");
        assert_int_equal(berth_ctr_diff(f->s, "box", &v, &n, &e), 0);
        assert_int_equal(n, 1);
        assert_int_equal(v[0].kind, 'A');
        assert_string_equal(v[0].path, "/new");
        berth_changes_free(v, n);
        assert_int_equal(berth_ctr_diff(f->s, "nope", &v, &n, &e), -ENOENT);
        assert_string_equal(e->msg, "no such container: nope");
}

static void test_commit(void **state)
{
        struct fixture *f = *state;
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *id = NULL, *text = NULL, *layer = NULL, *file = NULL;
        struct berth_commit_opts o = {
            .container = f->c->id,
            .name = "docker.io/library/snap:1",
            .message = "saved",
            .changes = (char *[]){"ENV B=2", NULL},
            .pause = true, /* no runtime state: not running, nothing to pause */
        };
        struct berth_image_config *cfg = NULL;
        struct berth_image *img = NULL;
        struct stat st;
        size_t len = 0;
        int fd = -1;

        write_upper(f, "new", "x\n");
        if (berth_ctr_commit(f->s, f->runroot, &o, &id, &e) < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(berth_store_image_lookup(f->s, "snap:1", &img, &e), 0);
        assert_string_equal(img->id, id);
        assert_int_equal(strv_length(img->layers), 1);
        layer = berth_store_layer_dir(f->s, img->layers[0]);
        file = xasprintf("%s/new", layer);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_size, 2);

        assert_int_equal(berth_blobstore_open_blob(berth_store_blobs(f->s), id, &fd, &e), 0);
        assert_int_equal(berth_read_fd(fd, id, 0, &text, &len, &e), 0);
        close(fd);
        assert_int_equal(berth_image_config_parse(text, len, &cfg, &e), 0);
        assert_string_equal(cfg->cmd[0], "top");
        assert_true(strv_contains(cfg->env, "A=1"));
        assert_true(strv_contains(cfg->env, "B=2"));
        assert_string_equal(cfg->working_dir, "/srv");
        assert_string_equal(cfg->user, "1000");
        assert_string_equal(cfg->history[cfg->n_history - 1].comment, "saved");
        berth_image_config_free(cfg);
        berth_image_free(img);

        /* errors: the lookup's as they are, the others name the commit */
        o.container = "nope";
        assert_int_equal(berth_ctr_commit(f->s, f->runroot, &o, &id, &e), -ENOENT);
        assert_string_equal(e->msg, "no such container: nope");
        o.container = "box";
        o.changes = (char *[]){"FROM x", NULL};
        assert_true(berth_ctr_commit(f->s, f->runroot, &o, &id, &e) < 0);
        assert_true(startswith(e->msg, "commit \"box\": "));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_name),
            cmocka_unit_test_setup_teardown(test_config, setup, teardown),
            cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
            cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
        };

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (layers keep their owners)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
