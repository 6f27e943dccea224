/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's container records: create, names, lookup, list, remove (nothing is mounted or
 * run here: that is the integration tests' job). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "base/util.h"

#define IMAGE "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define L1 "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L2 "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* dir/name, in one of two static buffers (two may be in use at once). */
static const char *fmt_path(const char *dir, const char *name)
{
        static char buf[2][512];
        static int k;

        k ^= 1;
        snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
        return buf[k];
}

struct fixture {
        char root[64];
        char *runroot;
        struct berth_store *s;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));

        snprintf(f->root, sizeof(f->root), "/tmp/berth-test-engine-ctr.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        f->runroot = xasprintf("%s/run", f->root);
        if (berth_store_open(f->root, &f->s, NULL) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        _autofree_ char *cmd = xasprintf("rm -rf %s", f->root);

        berth_store_free(f->s);
        free(f->runroot);
        free(f);
        return system(cmd) == 0 ? 0 : -1;
}

static struct berth_ctr *make(struct fixture *f, const char *name, struct berth_error **err)
{
        static char *cmd[] = {"sh", NULL}, *env[] = {"PATH=/bin", NULL};
        static char *layers[] = {L1, L2, NULL};
        struct berth_image_config img = {.env = env, .cmd = cmd};
        struct berth_run_opts o = {.name = name, .memory = 1 << 24};
        struct berth_ctr *c = NULL;

        if (berth_ctr_create(f->s, IMAGE, layers, "docker.io/library/busybox:latest", &img, &o, &c,
                             err) < 0)
                return NULL;
        return c;
}

static void test_create_record(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = make(f, "web", NULL), *d = NULL;
        _autofree_ char *path = NULL, *text = NULL;
        _autostrv_ char **lowers = NULL;
        json_t *j;
        struct stat st;

        assert_non_null(c);
        assert_int_equal(strlen(c->id), 64);
        assert_string_equal(c->name, "web");
        assert_string_equal(c->status, "created");
        for (size_t i = 0; i < 4; i++) {
                static const char *const subs[] = {"upper", "work", "rootfs", "bundle"};
                _autofree_ char *p = xasprintf("%s/%s", c->dir, subs[i]);

                assert_int_equal(stat(p, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
        }
        /* what the store's gc reads: "image" and "layers" */
        path = xasprintf("%s/container.json", c->dir);
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, NULL), 0);
        j = json_loads(text, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "image")), IMAGE);
        assert_int_equal(json_array_size(json_object_get(j, "layers")), 2);
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "layers"), 1)), L2);
        json_decref(j);
        /* round trip */
        assert_int_equal(berth_ctr_lookup(f->s, "web", &d, NULL), 0);
        assert_string_equal(d->id, c->id);
        assert_string_equal(d->image_name, "docker.io/library/busybox:latest");
        assert_string_equal(d->cmd[0], "sh");
        assert_null(d->entrypoint);
        assert_int_equal(d->memory, 1 << 24);
        assert_int_equal(strncmp(d->hostname, c->id, 12), 0);
        /* lowers: top first */
        lowers = berth_ctr_lowers(f->s, d);
        assert_int_equal(strv_length(lowers), 2);
        assert_non_null(strstr(lowers[0], "bbbbbbbb"));
        assert_non_null(strstr(lowers[1], "aaaaaaaa"));
        berth_ctr_free(c);
        berth_ctr_free(d);
}

static void test_names(void **state)
{
        struct fixture *f = *state;
        _autoerr_ struct berth_error *e = NULL, *e2 = NULL;
        struct berth_ctr *c = make(f, "dup", NULL), *r = NULL;

        assert_non_null(c);
        assert_null(make(f, "dup", &e));
        assert_int_equal(e->code, EEXIST);
        assert_non_null(
            strstr(e->msg, "the container name \"/dup\" is already in use by container"));
        assert_non_null(strstr(e->msg, c->id));
        assert_null(make(f, "-bad", &e2));
        assert_int_equal(e2->code, EINVAL);
        assert_int_equal(berth_ctr_name_validate("a", NULL), -EINVAL);
        assert_int_equal(berth_ctr_name_validate("a/b", NULL), -EINVAL);
        assert_int_equal(berth_ctr_name_validate("web_1.x-y", NULL), 0);
        /* a random docker-like name */
        r = make(f, NULL, NULL);
        assert_non_null(r);
        assert_non_null(strchr(r->name, '_'));
        berth_ctr_free(r);
        berth_ctr_free(c);
}

static void test_lookup(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *a = make(f, "one", NULL), *b = make(f, "two", NULL), *c = NULL;
        struct berth_ctr **v = NULL;
        _autoerr_ struct berth_error *e = NULL;
        char prefix[8];
        size_t n = 0;

        assert_int_equal(berth_ctr_lookup(f->s, a->id, &c, NULL), 0);
        assert_string_equal(c->name, "one");
        berth_ctr_free(c);
        snprintf(prefix, sizeof(prefix), "%.6s", b->id);
        assert_int_equal(berth_ctr_lookup(f->s, prefix, &c, NULL), 0);
        assert_string_equal(c->name, "two");
        berth_ctr_free(c);
        assert_int_equal(berth_ctr_lookup(f->s, "/two", &c, NULL), 0);
        berth_ctr_free(c);
        assert_int_equal(berth_ctr_lookup(f->s, "nope", &c, &e), -ENOENT);
        assert_string_equal(e->msg, "no such container: nope");
        assert_int_equal(berth_ctr_list(f->s, &v, &n, NULL), 0);
        assert_int_equal(n, 2);
        berth_ctrs_free(v, n);
        berth_ctr_free(a);
        berth_ctr_free(b);
}

static void test_remove_and_refresh(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = make(f, "gone", NULL), *d = NULL;
        struct stat st;

        assert_non_null(c);
        /* a record left "running" by a berth that was killed: no runtime state, so exited 255 */
        free(c->status);
        c->status = xstrdup("running");
        assert_int_equal(berth_ctr_save(c, NULL), 0);
        berth_ctr_refresh(c, f->runroot);
        assert_string_equal(c->status, "exited");
        assert_int_equal(c->exit_code, 255);
        assert_int_equal(berth_ctr_lookup(f->s, "gone", &d, NULL), 0);
        assert_string_equal(d->status, "exited");
        berth_ctr_free(d);
        assert_int_equal(berth_ctr_remove(c, f->runroot, false, NULL), 0);
        assert_int_equal(stat(c->dir, &st), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(berth_ctr_lookup(f->s, "gone", &d, NULL), -ENOENT);
        berth_ctr_free(c);
}

static void test_inspect_json(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = make(f, "insp", NULL);
        json_t *j = berth_ctr_inspect_json(f->s, c);

        assert_string_equal(json_string_value(json_object_get(j, "Name")), "/insp");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "State"), "Status")), "created");
        assert_true(json_is_false(json_object_get(json_object_get(j, "State"), "OOMKilled")));
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(j, "HostConfig"), "Memory")),
            1 << 24);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "GraphDriver"), "Name")),
            "overlay");
        json_decref(j);
        berth_ctr_free(c);
}

static void write_at(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

/* What the image store's gc, rmi and prune learn from the records. */
static void test_store_users(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *a = NULL;
        struct berth_store_user *v = NULL;
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *cdir = xasprintf("%s/containers", f->root), *upper = NULL,
                        *half = xasprintf("%s/%064d", cdir, 0), *bad = xasprintf("%s/bad", cdir);
        size_t n = 9;

        /* no containers dir yet */
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, NULL), 0);
        assert_int_equal(n, 0);
        assert_null(v);
        a = make(f, "one", NULL);
        assert_non_null(a);
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].id, a->id);
        assert_string_equal(v[0].image, IMAGE);
        assert_int_equal(strv_length(v[0].layers), 2);
        assert_string_equal(v[0].layers[0], L1);
        upper = berth_ctr_upper(a);
        assert_string_equal(v[0].data_dir, upper);
        berth_store_users_free(v, n);

        /* a dir without its record (a crash before the first write) and a stray file hold
         * nothing */
        assert_int_equal(mkdir(half, 0700), 0);
        write_at(bad, "x");
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, NULL), 0);
        assert_int_equal(n, 1);
        berth_store_users_free(v, n);
        assert_int_equal(unlink(bad), 0);

        /* a record that cannot be read stops gc: its layers might be in use */
        assert_int_equal(mkdir(bad, 0700), 0);
        write_at(fmt_path(bad, "container.json"), "{\"layers\": [1]}");
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "/containers: bad/container.json: layers[0]: not a string"));
        write_at(fmt_path(bad, "container.json"), "{\"layers\": \"x\"}");
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "bad/container.json: layers: not an array"));
        write_at(fmt_path(bad, "container.json"), "{\"layers\": [], \"layers\": []}");
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, &e), -EINVAL);
        write_at(fmt_path(bad, "container.json"), "[]");
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "bad/container.json: not a JSON object"));

        /* the store needs no more than image and layers (ps would skip this one) */
        write_at(fmt_path(bad, "container.json"), "{\"image\": \"sha256:9\"}");
        assert_int_equal(berth_ctr_store_users(f->s, &v, &n, NULL), 0);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].id, "bad")) {
                        assert_string_equal(v[i].image, "sha256:9");
                        assert_null(v[i].layers[0]);
                }
        berth_store_users_free(v, n);
        berth_ctr_free(a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_create_record, setup, teardown),
            cmocka_unit_test_setup_teardown(test_names, setup, teardown),
            cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
            cmocka_unit_test_setup_teardown(test_remove_and_refresh, setup, teardown),
            cmocka_unit_test_setup_teardown(test_inspect_json, setup, teardown),
            cmocka_unit_test_setup_teardown(test_store_users, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
