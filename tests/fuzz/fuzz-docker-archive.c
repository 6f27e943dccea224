/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the docker-archive manifest parser (image-archive.c), through the whole
 * `berth load`: each input is the manifest.json of a `docker save` archive whose other members
 * are fixed (made at start, byte for byte the same on every run): a one-layer tar and a config
 * naming it, in the classic places (<L>/layer.tar, <C>.json) and in docker 25's
 * (blobs/sha256/<L>, blobs/sha256/<C>), a second config of two layers (<C2>.json), a symlink
 * (sym/layer.tar), a hardlink (hard.tar) and a symlink loop (loop); L, C and C2 are below.
 * The archive is loaded into a store in a temp dir in /dev/shm. A load that fails must leave the
 * store as it was (no blob, no layer, no image); one that loads is checked (names that parse back)
 * and the store is made anew. Leaks are findings too. Seeds: tests/fuzz/corpus-docker-archive/,
 * which name the members by their hashes (printed at start; the tars are written here, by hand, so
 * that no library's version changes them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/error.h"
#include "base/util.h"
#include "image/image-archive.h"
#include "image/imageref.h"
#include "image/imagestore.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
        fprintf(stderr, "fuzz-docker-archive: %s\n", what);
        abort();
}

/* ---- tars written by hand (ustar), so that the digests never change ---------------------- */

struct tar {
        char *buf;
        size_t len, cap;
};

static void tar_grow(struct tar *t, size_t n)
{
        if (t->len + n > t->cap) {
                t->cap = (t->len + n) * 2;
                t->buf = xreallocarray(t->buf, t->cap, 1);
        }
        memset(t->buf + t->len, 0, n);
}

/* type: '0' file (data, size), '5' directory, '1' hardlink and '2' symlink to link. */
static void tar_add(struct tar *t, const char *name, char type, const char *link, const void *data,
                    size_t size)
{
        char *h;
        unsigned sum = 0;

        if (strlen(name) >= 100 || (link && strlen(link) >= 100))
                die("tar name too long");
        tar_grow(t, 512 + (size + 511) / 512 * 512);
        h = t->buf + t->len;
        memcpy(h, name, strlen(name));
        snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : type == '2' ? 0777 : 0644);
        snprintf(h + 108, 8, "%07o", 0);
        snprintf(h + 116, 8, "%07o", 0);
        snprintf(h + 124, 12, "%011zo", type == '0' ? size : 0);
        snprintf(h + 136, 12, "%011o", 0);
        h[156] = type;
        if (link)
                memcpy(h + 157, link, strlen(link));
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < 512; i++)
                sum += (unsigned char) h[i];
        snprintf(h + 148, 8, "%06o", sum);
        if (type == '0' && size)
                memcpy(h + 512, data, size);
        t->len += 512 + (type == '0' ? (size + 511) / 512 * 512 : 0);
}

static void tar_end(struct tar *t)
{
        tar_grow(t, 1024);
        t->len += 1024;
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1)
                die("sha256");
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- the fixed members ------------------------------------------------------------------ */

static struct tar members; /* every member but manifest.json, without the tar's end */
/* on a tmpfs: the blob store fsyncs every blob it puts, a disk would slow the fuzzer down */
static char root[] = "/dev/shm/berth-fuzz-docker-archive-XXXXXX";
static struct berth_store *store;
static bool verbose; /* FUZZ_VERBOSE=1: each outcome on stderr (to check the seeds) */

static void make_members(void)
{
        struct tar layer = {0};
        char l[65], c[65], c2[65], name[128];
        char *cfg, *cfg2;

        tar_add(&layer, "etc/", '5', NULL, NULL, 0);
        tar_add(&layer, "hello.txt", '0', NULL, "hi\n", 3);
        tar_end(&layer);
        sha256_hex(layer.buf, layer.len, l);
        cfg = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                        "\"layers\",\"diff_ids\":[\"sha256:%s\"]}}",
                        l);
        cfg2 = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                         "\"layers\",\"diff_ids\":[\"sha256:%s\",\"sha256:%s\"]}}",
                         l, l);
        sha256_hex(cfg, strlen(cfg), c);
        sha256_hex(cfg2, strlen(cfg2), c2);
        fprintf(stderr,
                "fuzz-docker-archive: L %s\nfuzz-docker-archive: C %s\n"
                "fuzz-docker-archive: C2 %s\n",
                l, c, c2);

        snprintf(name, sizeof(name), "%s/layer.tar", l);
        tar_add(&members, name, '0', NULL, layer.buf, layer.len);
        snprintf(name, sizeof(name), "%s.json", c);
        tar_add(&members, name, '0', NULL, cfg, strlen(cfg));
        snprintf(name, sizeof(name), "%s.json", c2);
        tar_add(&members, name, '0', NULL, cfg2, strlen(cfg2));
        snprintf(name, sizeof(name), "blobs/sha256/%s", l);
        tar_add(&members, name, '0', NULL, layer.buf, layer.len);
        snprintf(name, sizeof(name), "blobs/sha256/%s", c);
        tar_add(&members, name, '0', NULL, cfg, strlen(cfg));
        snprintf(name, sizeof(name), "../%s/layer.tar", l);
        tar_add(&members, "sym/layer.tar", '2', name, NULL, 0);
        snprintf(name, sizeof(name), "%s/layer.tar", l);
        tar_add(&members, "hard.tar", '1', name, NULL, 0);
        tar_add(&members, "loop", '2', "loop", NULL, 0);
        free(layer.buf);
        free(cfg);
        free(cfg2);
}

/* ---- the store ------------------------------------------------------------------------- */

static void store_open(void)
{
        struct berth_error *err = NULL;

        if (berth_store_open(root, &store, &err) < 0)
                die(err->msg);
}

static void store_remove(void)
{
        struct berth_error *err = NULL;

        berth_store_free(store);
        store = NULL;
        if (berth_rm_rf_at(AT_FDCWD, root, &err) < 0)
                die(err->msg);
}

static void remove_at_exit(void)
{
        store_remove();
}

/* Entries in root/sub other than . and .. (a missing dir has none). */
static size_t count_entries(const char *sub)
{
        char path[sizeof(root) + 32];
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "%s/%s", root, sub);
        d = opendir(path);
        if (!d)
                return 0;
        while ((de = readdir(d)))
                n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
        closedir(d);
        return n;
}

/* images.json: missing, or no image in it. */
static bool no_images(void)
{
        char path[sizeof(root) + 32], buf[16] = {0};
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), "%s/images.json", root);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        return n >= 0 && (size_t) n == strspn(buf, "[] \n");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void) argc;
        (void) argv;
        verbose = getenv("FUZZ_VERBOSE");
        make_members();
        if (!mkdtemp(root))
                die("mkdtemp /dev/shm/berth-fuzz-docker-archive-XXXXXX");
        store_open();
        atexit(remove_at_exit);
        return 0;
}

static void check_loaded(char **loaded)
{
        struct berth_ref *r = NULL;

        if (!loaded || !loaded[0])
                die("loaded, but no image named");
        for (size_t i = 0; loaded[i]; i++) {
                /* a name, or the id of an unnamed image */
                if (strncmp(loaded[i], "sha256:", 7) == 0)
                        continue;
                if (berth_ref_parse(loaded[i], &r, NULL) < 0)
                        die("a loaded name does not parse");
                berth_ref_free(r);
                r = NULL;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const struct berth_layer_opts lo = {.max_bytes = 1 << 20, .max_entries = 100};
        struct tar t = {0};
        struct berth_error *err = NULL;
        char **loaded = NULL, path[64];
        int fd;

        tar_add(&t, "manifest.json", '0', NULL, data, size);
        tar_grow(&t, members.len);
        memcpy(t.buf + t.len, members.buf, members.len);
        t.len += members.len;
        tar_end(&t);
        fd = memfd_create("docker-archive", MFD_CLOEXEC);
        if (fd < 0 || write(fd, t.buf, t.len) != (ssize_t) t.len)
                die("memfd");
        free(t.buf);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (berth_image_load(store, path, &lo, &loaded, &err) == 0) {
                check_loaded(loaded);
                if (verbose)
                        fprintf(stderr, "fuzz-docker-archive: loaded %s\n", loaded[0]);
                strv_free(loaded);
                store_remove();
                store_open();
        } else {
                if (verbose)
                        fprintf(stderr, "fuzz-docker-archive: %s\n", err->msg);
                if (count_entries("blobs/sha256") || count_entries("layers") || !no_images()) {
                        fprintf(stderr, "fuzz-docker-archive: %s\n", err->msg);
                        die("a load that failed left something in the store");
                }
        }
        berth_error_free(err);
        close(fd);
        return 0;
}
