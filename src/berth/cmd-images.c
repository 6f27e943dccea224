/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth images, image inspect, rmi, tag, image prune and pull: docker's flags and output over
 * the image store (imagestore.h) and the registry client (registry.h).
 */
#include <fcntl.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

#include "berth.h"
#include "base/json.h"
#include "image/blobstore.h"
#include "engine/engine.h"
#include "engine/engine-health.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "base/util.h"

#define NONE "<none>"
#define SHORT_ID_LEN 12

static int open_store(struct berth_global *g, struct berth_store **ret)
{
        _autoerr_ struct berth_error *err = NULL;

        if (berth_global_store(g, ret, &err) < 0)
                return berth_print_error(err);
        return 0;
}

/* "sha256:<hex>" -> its first 12 hex digits, or all of it with no_trunc. */
static const char *short_id(const char *id, bool no_trunc, char *buf)
{
        const char *hex = startswith(id, "sha256:") ? id + 7 : id;

        if (no_trunc)
                return id;
        snprintf(buf, SHORT_ID_LEN + 1, "%s", hex);
        return buf;
}

/* "docker.io/library/busybox:latest" -> "docker.io/library/busybox" + "latest". */
static void split_name(const char *name, char **ret_repo, char **ret_tag)
{
        const char *slash = strrchr(name, '/'), *colon = strrchr(slash ? slash : name, ':');

        if (!colon) {
                *ret_repo = xstrdup(name);
                *ret_tag = xstrdup(NONE);
                return;
        }
        *ret_repo = xasprintf("%.*s", (int) (colon - name), name);
        *ret_tag = xstrdup(colon + 1);
}

/* The digest part of the entry of digests ("repo@sha256:...") for repo, or NULL. */
static const char *digest_for(char *const *digests, const char *repo)
{
        size_t n = strlen(repo);

        for (size_t i = 0; digests[i]; i++)
                if (strncmp(digests[i], repo, n) == 0 && digests[i][n] == '@')
                        return digests[i] + n + 1;
        return NULL;
}

static int64_t image_created(const struct berth_image *img)
{
        int64_t t;

        if (berth_parse_rfc3339(img->created, &t) == 0)
                return t;
        return img->added;
}

/* ---- berth images ------------------------------------------------------------------------- */

/* One line of `berth images`: an image under one name (or none). */
struct image_row {
        const struct berth_image *img;
        char *repo; /* normalized repository, or NULL for <none> */
        char *tag;  /* or "<none>" */
        const char *digest;
};

struct images_opts {
        bool quiet, no_trunc, digests;
        const char *format;
        const char *filter; /* REPO[:TAG] */
};

static void rows_free(struct image_row *rows, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(rows[i].repo);
                free(rows[i].tag);
        }
        free(rows);
}

static void rows_add(struct image_row **rows, size_t *n, const struct berth_image *img, char *repo,
                     char *tag, const char *digest)
{
        *rows = xreallocarray(*rows, *n + 1, sizeof(**rows));
        (*rows)[(*n)++] = (struct image_row){img, repo, tag, digest};
}

/* An image's rows: one per name; one per repo digest when it has no name; else <none>. */
static void image_rows(const struct berth_image *img, struct image_row **rows, size_t *n)
{
        char *repo, *tag;

        for (size_t i = 0; img->names[i]; i++) {
                split_name(img->names[i], &repo, &tag);
                rows_add(rows, n, img, repo, tag, digest_for(img->digests, repo));
        }
        if (img->names[0])
                return;
        for (size_t i = 0; img->digests[i]; i++) {
                const char *at = strchr(img->digests[i], '@');

                if (!at)
                        continue;
                repo = xasprintf("%.*s", (int) (at - img->digests[i]), img->digests[i]);
                rows_add(rows, n, img, repo, xstrdup(NONE), at + 1);
        }
        if (!img->digests[0])
                rows_add(rows, n, img, NULL, xstrdup(NONE), NULL);
}

/* Does a row match `berth images REPO[:TAG]`? */
static bool row_matches(const struct image_row *row, const struct berth_ref *want,
                        const char *want_name, bool want_tag)
{
        if (!row->repo || !streq(row->repo, want_name))
                return false;
        if (want->digest && !streq_ptr(row->digest, want->digest))
                return false;
        return !want_tag || streq(row->tag, want->tag);
}

static int filter_rows(const char *filter, struct image_row *rows, size_t *n)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoref_ struct berth_ref *ref = NULL;
        _autofree_ char *name = NULL;
        const char *last = strrchr(filter, '/');
        bool want_tag;
        size_t kept = 0;

        if (berth_ref_parse(filter, &ref, &err) < 0)
                return berth_print_error(err);
        name = berth_ref_name(ref);
        want_tag = strchr(last ? last : filter, ':') != NULL;
        for (size_t i = 0; i < *n; i++) {
                if (row_matches(&rows[i], ref, name, want_tag)) {
                        rows[kept++] = rows[i];
                        continue;
                }
                free(rows[i].repo);
                free(rows[i].tag);
        }
        *n = kept;
        return 0;
}

static char *familiar_or_none(const char *repo)
{
        return repo ? berth_ref_familiar(repo) : xstrdup(NONE);
}

static void print_table(const struct image_row *rows, size_t n, const struct images_opts *o)
{
        struct berth_table *t =
            o->digests
                ? berth_table_new(6, "REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE")
                : berth_table_new(5, "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");

        for (size_t i = 0; i < n; i++) {
                const struct berth_image *img = rows[i].img;
                _autofree_ char *repo = familiar_or_none(rows[i].repo);
                _autofree_ char *ago = berth_human_ago(image_created(img));
                _autofree_ char *size = berth_human_size(img->size);
                char buf[SHORT_ID_LEN + 1];
                const char *id = short_id(img->id, o->no_trunc, buf);

                if (o->digests)
                        berth_table_add(t, repo, rows[i].tag,
                                        rows[i].digest ? rows[i].digest : NONE, id, ago, size);
                else
                        berth_table_add(t, repo, rows[i].tag, id, ago, size);
        }
        berth_table_print(t, stdout);
        berth_table_free(t);
}

static void print_quiet(const struct image_row *rows, size_t n, bool no_trunc)
{
        for (size_t i = 0; i < n; i++) {
                char buf[SHORT_ID_LEN + 1];
                bool seen = false;

                /* one line per image, as docker's -q */
                for (size_t j = 0; j < i && !seen; j++)
                        seen = rows[j].img == rows[i].img;
                if (!seen)
                        printf("%s\n", short_id(rows[i].img->id, no_trunc, buf));
        }
}

/* Bytes of an unpacked layer, from layers/<hex>/layer.json (imagestore.h); 0 if unknown. */
static int64_t layer_size(struct berth_store *s, const char *chain_id)
{
        _autofree_ char *dir = berth_store_layer_dir(s, chain_id), *path = NULL, *text = NULL;
        json_auto_t *j = NULL;
        size_t len = strlen(dir);

        if (len > 5 && streq(dir + len - 5, "/diff"))
                dir[len - 5] = '\0';
        path = xasprintf("%s/layer.json", dir);
        if (berth_read_file_at(AT_FDCWD, path, 0, &text, &len, NULL) < 0)
                return 0;
        j = json_loadb(text, len, 0, NULL);
        return json_integer_value(json_object_get(j, "size"));
}

/* Bytes of img's layers that another image also lists. */
static int64_t shared_size(struct berth_store *s, const struct berth_image *img,
                           struct berth_image **all, size_t n_all)
{
        int64_t shared = 0;

        for (size_t l = 0; img->layers[l]; l++) {
                bool other = false;

                for (size_t i = 0; i < n_all && !other; i++)
                        for (size_t k = 0; all[i] != img && all[i]->layers[k] && !other; k++)
                                other = streq(all[i]->layers[k], img->layers[l]);
                if (other)
                        shared += layer_size(s, img->layers[l]);
        }
        return shared;
}

static int64_t containers_using(struct berth_ctr **ctrs, size_t n, const char *id)
{
        int64_t count = 0;

        for (size_t i = 0; i < n; i++)
                count += streq_ptr(ctrs[i]->image, id);
        return count;
}

/* "2023-05-18 22:34:17 +0000 UTC", Go's time.Time.String() as docker prints CreatedAt. */
static void format_created_at(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t) t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm) == 0)
                snprintf(buf, size, "%s", "");
}

static json_t *row_json(struct berth_store *s, const struct image_row *row,
                        struct berth_image **all, size_t n_all, struct berth_ctr **ctrs,
                        size_t n_ctrs)
{
        const struct berth_image *img = row->img;
        _autofree_ char *repo = familiar_or_none(row->repo);
        _autofree_ char *ago = berth_human_ago(image_created(img));
        _autofree_ char *size = berth_human_size(img->size);
        int64_t shared = shared_size(s, img, all, n_all);
        char created[64];

        format_created_at(image_created(img), created, sizeof(created));
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "ID", img->id,
                         "Repository", repo, "Tag", row->tag, "Digest",
                         row->digest ? row->digest : NONE, "CreatedAt", created, "CreatedSince",
                         ago, "Size", size, "SizeBytes", (json_int_t) img->size, "SharedSizeBytes",
                         (json_int_t) shared, "UniqueSizeBytes", (json_int_t) (img->size - shared),
                         "Containers", (json_int_t) containers_using(ctrs, n_ctrs, img->id));
}

/* --format json: a JSON object per line; --format TEMPLATE: the template per line. */
static int print_formatted(struct berth_store *s, const struct image_row *rows, size_t n,
                           struct berth_image **all, size_t n_all, const char *format)
{
        struct berth_ctr **ctrs = NULL;
        size_t n_ctrs = 0;
        int rc = 0;

        if (berth_ctr_list(s, &ctrs, &n_ctrs, NULL) < 0)
                n_ctrs = 0, ctrs = NULL;
        for (size_t i = 0; i < n && rc == 0; i++) {
                _autoerr_ struct berth_error *err = NULL;
                json_auto_t *j = row_json(s, &rows[i], all, n_all, ctrs, n_ctrs);
                _autofree_ char *text = NULL;

                if (streq(format, "json"))
                        text = json_dumps(j, JSON_COMPACT);
                else if (berth_format_template(format, j, &text, &err) < 0)
                        rc = berth_print_error(err);
                if (text)
                        printf("%s\n", text);
        }
        berth_ctrs_free(ctrs, n_ctrs);
        return rc;
}

static int list_images(struct berth_store *s, const struct images_opts *o)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_image **imgs = NULL;
        struct image_row *rows = NULL;
        size_t n = 0, n_rows = 0;
        int rc = 0;

        if (berth_store_images(s, &imgs, &n, &err) < 0)
                return berth_print_error(err);
        for (size_t i = 0; i < n; i++)
                image_rows(imgs[i], &rows, &n_rows);
        if (o->filter)
                rc = filter_rows(o->filter, rows, &n_rows);
        if (rc == 0 && o->quiet)
                print_quiet(rows, n_rows, o->no_trunc);
        else if (rc == 0 && o->format && !streq(o->format, "table"))
                rc = print_formatted(s, rows, n_rows, imgs, n, o->format);
        else if (rc == 0)
                print_table(rows, n_rows, o);
        rows_free(rows, n_rows);
        berth_images_free(imgs, n);
        return rc;
}

enum { IMG_ALL, IMG_QUIET, IMG_NO_TRUNC, IMG_DIGESTS, IMG_FORMAT };
static const struct berth_flag images_flags[] = {
    [IMG_ALL] = {"all", 'a', BERTH_FLAG_BOOL, NULL, "Show all images"},
    [IMG_QUIET] = {"quiet", 'q', BERTH_FLAG_BOOL, NULL, "Only show image IDs"},
    [IMG_NO_TRUNC] = {"no-trunc", 0, BERTH_FLAG_BOOL, NULL, "Don't truncate output"},
    [IMG_DIGESTS] = {"digests", 0, BERTH_FLAG_BOOL, NULL, "Show digests"},
    [IMG_FORMAT] = {"format", 0, BERTH_FLAG_VALUE, "FORMAT",
                    "\"json\", \"table\" or a template: '{{.Repository}}:{{.Tag}}'"},
};
static const struct berth_cmd_spec images_spec = {"images",
                                                  "images [OPTIONS] [REPOSITORY[:TAG]]",
                                                  "List images",
                                                  images_flags,
                                                  ARRAY_SIZE(images_flags),
                                                  0,
                                                  1,
                                                  false};

static int images_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        int rc;

        if (!berth_cmd_args(&images_spec, argc, argv, &a, &rc))
                return rc;
        rc = open_store(g, &s);
        if (rc == 0) {
                struct images_opts o = {
                    .quiet = berth_args_bool(&a, IMG_QUIET),
                    .no_trunc = berth_args_bool(&a, IMG_NO_TRUNC),
                    .digests = berth_args_bool(&a, IMG_DIGESTS),
                    .format = a.values[IMG_FORMAT],
                    .filter = a.n_pos > 0 ? a.pos[0] : NULL,
                };

                rc = list_images(s, &o);
        }
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_images = {"images", "List images", images_run};

/* ---- berth image inspect ------------------------------------------------------------------ */

/* ["80/tcp"] -> {"80/tcp": {}}, docker's set form; null when empty. */
static json_t *set_or_null(char *const *v)
{
        json_t *o;

        if (!v || !v[0])
                return json_null();
        o = json_object();
        for (size_t i = 0; v[i]; i++)
                json_object_set_new(o, v[i], json_object());
        return o;
}

static json_t *labels_or_null(const struct berth_kv *kv, size_t n)
{
        json_t *o;

        if (n == 0)
                return json_null();
        o = json_object();
        for (size_t i = 0; i < n; i++)
                json_object_set_new(o, kv[i].key, json_string(kv[i].value));
        return o;
}

static json_t *familiar_list(char *const *names)
{
        json_t *a = json_array();

        for (size_t i = 0; names[i]; i++) {
                _autofree_ char *f = berth_ref_familiar(names[i]);

                json_array_append_new(a, json_string(f));
        }
        return a;
}

static int read_config(struct berth_store *s, const char *id, struct berth_image_config **ret,
                       struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        _autofree_ char *text = NULL;
        size_t len;
        int r;

        r = berth_blobstore_open_blob(berth_store_blobs(s), id, &fd, err);
        if (r >= 0)
                r = berth_read_fd(fd, id, 0, &text, &len, err);
        if (r >= 0)
                r = berth_image_config_parse(text, len, ret, err);
        if (r < 0)
                return berth_error_prefix(err, "image config %s", id);
        return 0;
}

static json_t *config_json(const struct berth_image_config *c)
{
        json_t *o = json_pack(
            "{s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:s}", "User", c->user ? c->user : "", "Env",
            berth_json_strv_or_null(c->env), "Cmd", berth_json_strv_or_null(c->cmd), "Entrypoint",
            berth_json_strv_or_null(c->entrypoint), "WorkingDir",
            c->working_dir ? c->working_dir : "", "Labels", labels_or_null(c->labels, c->n_labels),
            "ExposedPorts", set_or_null(c->exposed_ports), "Volumes", set_or_null(c->volumes),
            "StopSignal", c->stop_signal ? c->stop_signal : "");

        if (c->healthcheck) /* the image's HEALTHCHECK, as docker shows it */
                json_object_set_new(o, "Healthcheck", berth_healthcheck_json(c->healthcheck));
        return o;
}

static char *comment_of(const struct berth_image_config *c)
{
        for (size_t i = c->n_history; i > 0; i--)
                if (c->history[i - 1].comment)
                        return c->history[i - 1].comment;
        return "";
}

static int inspect_json(struct berth_store *s, const struct berth_image *img, json_t **ret,
                        struct berth_error **err)
{
        struct berth_image_config *c = NULL;
        json_t *o;
        int r;

        r = read_config(s, img->id, &c, err);
        if (r < 0)
                return r;
        o = json_pack(
            "{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:o}, "
            "s:I, s:s, s:o}",
            "Id", img->id, "RepoTags", familiar_list(img->names), "RepoDigests",
            familiar_list(img->digests), "Parent", "", "Comment", comment_of(c), "Created",
            c->created ? c->created : (img->created ? img->created : ""), "Author",
            c->author ? c->author : "", "Architecture", c->architecture ? c->architecture : "",
            "Variant", c->variant ? c->variant : "", "Os", c->os ? c->os : "", "Config",
            config_json(c), "RootFS", "Type", "layers", "Layers",
            berth_json_strv_or_null(c->diff_ids), "Size", (json_int_t) img->size, "Manifest",
            img->manifest ? img->manifest : "", "Layers", berth_json_strv_or_null(img->layers));
        berth_image_config_free(c);
        if (!o)
                return berth_error_setx(err, ENOMEM, "image %s: building its JSON", img->id);
        *ret = o;
        return 0;
}

int berth_image_inspect_json(struct berth_store *s, const char *what, json_t **ret,
                             struct berth_error **err)
{
        struct berth_image *img = NULL;
        int r;

        r = berth_store_image_lookup(s, what, &img, err);
        if (r < 0)
                return r;
        r = inspect_json(s, img, ret, err);
        berth_image_free(img);
        return r;
}

/* Without --format: one JSON array of every image found, as docker prints it. */
static int inspect_all(struct berth_store *s, char **what, int n, const char *format)
{
        json_auto_t *all = json_array();
        int rc = 0;

        for (int i = 0; i < n; i++) {
                _autoerr_ struct berth_error *err = NULL;
                _autofree_ char *text = NULL;
                json_t *o = NULL;

                if (berth_image_inspect_json(s, what[i], &o, &err) < 0) {
                        rc = berth_print_error(err);
                        continue;
                }
                if (!format) {
                        json_array_append_new(all, o);
                        continue;
                }
                if (berth_format_template(format, o, &text, &err) < 0)
                        rc = berth_print_error(err);
                else
                        printf("%s\n", text);
                json_decref(o);
        }
        if (!format) {
                _autofree_ char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

                printf("%s\n", text ? text : "[]");
        }
        return rc;
}

enum { INS_FORMAT };
static const struct berth_flag inspect_flags[] = {
    [INS_FORMAT] = {"format", 'f', BERTH_FLAG_VALUE, "FORMAT",
                    "Format the output using a template: '{{.Id}}', '{{json .Config}}'"},
};
static const struct berth_cmd_spec inspect_spec = {
    "image inspect",
    "image inspect [OPTIONS] IMAGE [IMAGE...]",
    "Display detailed information on one or more images",
    inspect_flags,
    ARRAY_SIZE(inspect_flags),
    1,
    -1,
    false};

static int inspect_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        int rc;

        if (!berth_cmd_args(&inspect_spec, argc, argv, &a, &rc))
                return rc;
        rc = open_store(g, &s);
        if (rc == 0)
                rc = inspect_all(s, a.pos, a.n_pos, a.values[INS_FORMAT]);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_image_inspect = {
    "image inspect", "Display detailed information on one or more images", inspect_run};

/* ---- berth rmi ---------------------------------------------------------------------------- */

static int remove_one(struct berth_store *s, const char *what, bool force)
{
        _autoerr_ struct berth_error *err = NULL;
        _autostrv_ char **removed = NULL;

        if (berth_store_image_remove(s, what, force, berth_ctr_store_users, &removed, &err) < 0)
                return berth_print_error(err);
        for (size_t i = 0; removed && removed[i]; i++)
                printf("%s\n", removed[i]);
        return 0;
}

enum { RMI_FORCE, RMI_NO_PRUNE };
static const struct berth_flag rmi_flags[] = {
    [RMI_FORCE] = {"force", 'f', BERTH_FLAG_BOOL, NULL, "Force removal of the image"},
    [RMI_NO_PRUNE] = {"no-prune", 0, BERTH_FLAG_BOOL, NULL, "Accepted for docker compatibility"},
};
static const struct berth_cmd_spec rmi_spec = {"rmi",
                                               "rmi [OPTIONS] IMAGE [IMAGE...]",
                                               "Remove one or more images",
                                               rmi_flags,
                                               ARRAY_SIZE(rmi_flags),
                                               1,
                                               -1,
                                               false};

static int rmi_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        int rc;

        if (!berth_cmd_args(&rmi_spec, argc, argv, &a, &rc))
                return rc;
        rc = open_store(g, &s);
        /* docker goes on with the next image after a failure, and fails at the end */
        for (int i = 0; rc != BERTH_EXIT_ENGINE && i < a.n_pos; i++)
                if (remove_one(s, a.pos[i], berth_args_bool(&a, RMI_FORCE)) != 0)
                        rc = -1;
        if (rc != 0)
                rc = BERTH_EXIT_ENGINE;
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_rmi = {"rmi", "Remove one or more images", rmi_run};

/* ---- berth tag ---------------------------------------------------------------------------- */

static const struct berth_cmd_spec tag_spec = {
    "tag",
    "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    NULL,
    0,
    2,
    2,
    false};

static int tag_run(struct berth_global *g, int argc, char **argv)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_args a;
        struct berth_store *s;
        int rc;

        if (!berth_cmd_args(&tag_spec, argc, argv, &a, &rc))
                return rc;
        rc = open_store(g, &s);
        if (rc == 0 && berth_store_tag(s, a.pos[0], a.pos[1], &err) < 0)
                rc = berth_print_error(err);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_tag = {
    "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", tag_run};

/* ---- berth image prune -------------------------------------------------------------------- */

/* docker's PromptForConfirmation: true only for "y" or "Y". */
static bool confirm(const char *warning)
{
        char line[64];

        printf("%s\nAre you sure you want to continue? [y/N] ", warning);
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
                return false;
        line[strcspn(line, "\r\n")] = '\0';
        return streq(line, "y") || streq(line, "Y");
}

static int prune(struct berth_store *s, bool all)
{
        _autoerr_ struct berth_error *err = NULL;
        _autostrv_ char **removed = NULL;
        _autofree_ char *human = NULL;
        int64_t reclaimed = 0;

        if (berth_store_prune(s, all, berth_ctr_store_users, &removed, &reclaimed, &err) < 0)
                return berth_print_error(err);
        if (removed && removed[0]) {
                printf("Deleted Images:\n");
                for (size_t i = 0; removed[i]; i++)
                        printf("deleted: %s\n", removed[i]);
                printf("\n");
        }
        human = berth_human_size(reclaimed);
        printf("Total reclaimed space: %s\n", human);
        return 0;
}

enum { PRUNE_ALL, PRUNE_FORCE };
static const struct berth_flag prune_flags[] = {
    [PRUNE_ALL] = {"all", 'a', BERTH_FLAG_BOOL, NULL,
                   "Remove all unused images, not just dangling ones"},
    [PRUNE_FORCE] = {"force", 'f', BERTH_FLAG_BOOL, NULL, "Do not prompt for confirmation"},
};
static const struct berth_cmd_spec prune_spec = {"image prune",
                                                 "image prune [OPTIONS]",
                                                 "Remove unused images",
                                                 prune_flags,
                                                 ARRAY_SIZE(prune_flags),
                                                 0,
                                                 0,
                                                 false};

static int prune_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        bool all;
        int rc;

        if (!berth_cmd_args(&prune_spec, argc, argv, &a, &rc))
                return rc;
        all = berth_args_bool(&a, PRUNE_ALL);
        if (!berth_args_bool(&a, PRUNE_FORCE) &&
            !confirm(all ? "WARNING! This will remove all images without at least one container "
                           "associated to them."
                         : "WARNING! This will remove all dangling images.")) {
                /* docker: nothing removed, and says so */
                printf("Total reclaimed space: 0B\n");
                berth_args_clear(&a);
                return 0;
        }
        rc = open_store(g, &s);
        if (rc == 0)
                rc = prune(s, all);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_image_prune = {"image prune", "Remove unused images", prune_run};

/* ---- berth pull --------------------------------------------------------------------------- */

struct pull_names {
        char *normalized; /* docker.io/library/busybox:latest */
        char *familiar;   /* busybox:latest */
        char *repo;       /* docker.io/library/busybox */
        char *old_id;     /* the image that had the name before, or NULL */
};

static void pull_names_clear(struct pull_names *n)
{
        free(n->normalized);
        free(n->familiar);
        free(n->repo);
        free(n->old_id);
}

/* docker's "Using default tag" and "TAG: Pulling from PATH" lines are left out: the contract
 * (docs/engine-cli.md) has every progress line start with a layer's 12 hex digits. */
static int pull_prepare(struct berth_store *s, const char *arg, struct pull_names *ret)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoref_ struct berth_ref *ref = NULL;
        struct berth_image *old = NULL;

        if (berth_ref_parse(arg, &ref, &err) < 0)
                return berth_print_error(err);
        ret->normalized = berth_ref_string(ref);
        ret->familiar = berth_ref_familiar(ret->normalized);
        ret->repo = berth_ref_name(ref);
        if (berth_store_image_lookup(s, ret->normalized, &old, NULL) >= 0) {
                ret->old_id = xstrdup(old->id);
                berth_image_free(old);
        }
        return 0;
}

static void print_pull_status(struct berth_store *s, const struct pull_names *n, const char *id)
{
        struct berth_image *img = NULL;
        const char *digest = NULL;

        if (berth_store_image_lookup(s, id, &img, NULL) >= 0)
                digest = digest_for(img->digests, n->repo);
        if (!digest && img)
                digest = img->manifest;
        if (digest)
                printf("Digest: %s\n", digest);
        if (n->old_id && streq(n->old_id, id))
                printf("Status: Image is up to date for %s\n", n->familiar);
        else
                printf("Status: Downloaded newer image for %s\n", n->familiar);
        berth_image_free(img);
}

enum { PULL_QUIET, PULL_PLATFORM, PULL_TLS_VERIFY, PULL_CERT_DIR, PULL_AUTHFILE, PULL_CREDS };
static const struct berth_flag pull_flags[] = {
    [PULL_QUIET] = {"quiet", 'q', BERTH_FLAG_BOOL, NULL, "Suppress verbose output"},
    [PULL_PLATFORM] = {"platform", 0, BERTH_FLAG_VALUE, "OS/ARCH[/VARIANT]",
                       "Pull the image for this platform"},
    [PULL_TLS_VERIFY] = {"tls-verify", 0, BERTH_FLAG_BOOL, NULL,
                         "Require HTTPS and verify certificates (default true)"},
    [PULL_CERT_DIR] = {"cert-dir", 0, BERTH_FLAG_VALUE, "DIR",
                       "Certificates for the registry (default /etc/berth/certs.d/HOST:PORT)"},
    [PULL_AUTHFILE] = {"authfile", 0, BERTH_FLAG_VALUE, "FILE", "Credentials file"},
    [PULL_CREDS] = {"creds", 0, BERTH_FLAG_VALUE, "USER[:PASS]", "Registry credentials"},
};
static const struct berth_cmd_spec pull_spec = {"pull",
                                                "pull [OPTIONS] NAME[:TAG|@DIGEST]",
                                                "Download an image from a registry",
                                                pull_flags,
                                                ARRAY_SIZE(pull_flags),
                                                1,
                                                1,
                                                false};

/* $BERTH_CONFIG names the engine's config file (insecure-registries); unset or empty: the
 * library's default, /etc/berth/config.json. */
static const char *config_file(void)
{
        const char *s = getenv("BERTH_CONFIG");

        return s && *s ? s : NULL;
}

static int pull(struct berth_store *s, const struct berth_args *a)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *id = NULL, *name = NULL;
        struct pull_names n = {};
        bool quiet = berth_args_bool(a, PULL_QUIET);
        struct berth_progress *p = quiet ? NULL : berth_progress_new(stdout, isatty(STDOUT_FILENO));
        struct berth_pull_opts o = {
            .reg = {.cert_dir = a->values[PULL_CERT_DIR],
                    .tls_verify =
                        a->values[PULL_TLS_VERIFY] ? berth_args_bool(a, PULL_TLS_VERIFY) : -1,
                    .auth_file = a->values[PULL_AUTHFILE],
                    .creds = a->values[PULL_CREDS],
                    .config_file = config_file()},
            .platform = a->values[PULL_PLATFORM],
            .progress = p ? berth_progress_event : NULL,
            .userdata = p,
        };
        int rc;

        rc = pull_prepare(s, a->pos[0], &n);
        if (rc == 0 && berth_pull(s, a->pos[0], &o, &id, &name, &err) < 0)
                rc = berth_print_error(err);
        berth_progress_finish(p);
        if (rc == 0 && !quiet)
                print_pull_status(s, &n, id);
        if (rc == 0)
                printf("%s\n", name ? name : n.normalized);
        berth_progress_free(p);
        pull_names_clear(&n);
        return rc;
}

static int pull_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        struct berth_store *s;
        int rc;

        if (!berth_cmd_args(&pull_spec, argc, argv, &a, &rc))
                return rc;
        rc = open_store(g, &s);
        if (rc == 0)
                rc = pull(s, &a);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_pull = {"pull", "Download an image from a registry", pull_run};
