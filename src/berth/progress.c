/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker pull's progress display. On a terminal every layer has a line that is redrawn in place
 * (ANSI cursor up/down) with its phase and a bar; otherwise a plain line is written at each
 * phase change only, so a log file gets no bar spam:
 *
 *   a3ed95caeb02: Pulling fs layer
 *   a3ed95caeb02: Download complete
 *   a3ed95caeb02: Pull complete
 */
#include <stdio.h>
#include <string.h>

#include "berth.h"
#include "image/registry.h"
#include "base/util.h"

#define SHORT_ID_LEN 12
#define BAR_WIDTH 50
#define REDRAW_US 100000 /* progress redraws per layer: at most 10 a second */

struct layer_line {
        char id[SHORT_ID_LEN + 1];
        enum berth_pull_phase phase;
        int64_t done, total;
        bool announced;     /* plain: "Pulling fs layer" written */
        bool download_done; /* plain: "Download complete" written */
        bool stale;         /* tty: state newer than what is on screen */
        uint64_t drawn_us;
        int64_t drawn_done;
};

struct berth_progress {
        FILE *f;
        bool tty;
        struct layer_line *lines;
        size_t n;
};

struct berth_progress *berth_progress_new(FILE *f, bool tty)
{
        struct berth_progress *p = xcalloc(1, sizeof(*p));

        p->f = f;
        p->tty = tty;
        return p;
}

void berth_progress_free(struct berth_progress *p)
{
        if (!p)
                return;
        free(p->lines);
        free(p);
}

/* The line of a layer, added at the bottom when new (*ret_new). */
static struct layer_line *line_of(struct berth_progress *p, const char *digest, bool *ret_new)
{
        const char *hex = strchr(digest, ':');
        char id[SHORT_ID_LEN + 1];

        snprintf(id, sizeof(id), "%s", hex ? hex + 1 : digest);
        *ret_new = false;
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->lines[i].id, id))
                        return &p->lines[i];
        p->lines = xreallocarray(p->lines, p->n + 1, sizeof(*p->lines));
        p->lines[p->n] = (struct layer_line){.phase = BERTH_PULL_WAITING, .total = -1};
        memcpy(p->lines[p->n].id, id, sizeof(id));
        *ret_new = true;
        return &p->lines[p->n++];
}

/* "[=====>      ]  3.1MB/9MB", docker's JSONProgress. */
static void format_bar(int64_t done, int64_t total, char *buf, size_t size)
{
        _autofree_ char *cur = berth_human_size(done > 0 ? done : 0);
        _autofree_ char *all = NULL;
        char bar[BAR_WIDTH + 4];
        int pct;

        if (total <= 0) {
                snprintf(buf, size, "%8s", cur);
                return;
        }
        all = berth_human_size(total);
        pct = (int) ((double) done / (double) total * 100) / 2;
        if (pct > BAR_WIDTH)
                pct = BAR_WIDTH;
        if (pct < 0)
                pct = 0;
        memset(bar, '=', (size_t) pct);
        bar[pct] = '>';
        memset(bar + pct + 1, ' ', (size_t) (BAR_WIDTH - pct));
        bar[BAR_WIDTH + 1] = '\0';
        snprintf(buf, size, "[%s] %8s/%s", bar, cur, all);
}

static void format_status(const struct layer_line *l, char *buf, size_t size)
{
        char bar[BAR_WIDTH + 64];

        switch (l->phase) {
        case BERTH_PULL_WAITING:
                snprintf(buf, size, "Waiting");
                return;
        case BERTH_PULL_EXISTS:
                snprintf(buf, size, "Already exists");
                return;
        case BERTH_PULL_DOWNLOADING:
                format_bar(l->done, l->total, bar, sizeof(bar));
                snprintf(buf, size, "Downloading %s", bar);
                return;
        case BERTH_PULL_VERIFYING:
                snprintf(buf, size, "Verifying Checksum");
                return;
        case BERTH_PULL_EXTRACTING:
                if (l->total > 0) {
                        format_bar(l->done, l->total, bar, sizeof(bar));
                        snprintf(buf, size, "Extracting %s", bar);
                } else {
                        snprintf(buf, size, "Extracting");
                }
                return;
        case BERTH_PULL_COMPLETE:
                snprintf(buf, size, "Pull complete");
                return;
        default:
                snprintf(buf, size, "%s", "");
                return;
        }
}

/* Redraws line i in place: up to it, clear, write, back down to below the last line. */
static void draw(struct berth_progress *p, size_t i)
{
        struct layer_line *l = &p->lines[i];
        int up = (int) (p->n - i);
        char status[BAR_WIDTH + 96];

        format_status(l, status, sizeof(status));
        fprintf(p->f, "\033[%dA\r\033[2K%s: %s\r\033[%dB", up, l->id, status, up);
        l->stale = false;
        l->drawn_us = berth_now_us();
        l->drawn_done = l->done;
}

static void tty_event(struct berth_progress *p, struct layer_line *l, bool is_new,
                      bool phase_changed)
{
        size_t i = (size_t) (l - p->lines);
        bool busy = l->phase == BERTH_PULL_DOWNLOADING || l->phase == BERTH_PULL_EXTRACTING;

        if (is_new) {
                fprintf(p->f, "%s: Pulling fs layer\n", l->id);
                l->stale = true;
        }
        if (!is_new && !phase_changed && l->done == l->drawn_done)
                return;
        if (!is_new && !phase_changed && busy && l->done != l->total &&
            berth_now_us() - l->drawn_us < REDRAW_US) {
                l->stale = true;
                return;
        }
        draw(p, i);
}

static void plain_line(struct berth_progress *p, const struct layer_line *l, const char *what)
{
        fprintf(p->f, "%s: %s\n", l->id, what);
}

/* "Pulling fs layer" waits for the first sign of a download: the puller may queue a layer
 * (WAITING) before it finds it in the store, and docker shows only "Already exists" then. */
static void plain_event(struct berth_progress *p, struct layer_line *l, bool is_new,
                        bool phase_changed)
{
        if (!phase_changed && !is_new)
                return;
        if (!l->announced && l->phase != BERTH_PULL_WAITING && l->phase != BERTH_PULL_EXISTS) {
                plain_line(p, l, "Pulling fs layer");
                l->announced = true;
        }
        switch (l->phase) {
        case BERTH_PULL_EXISTS:
                plain_line(p, l, "Already exists");
                break;
        case BERTH_PULL_EXTRACTING:
        case BERTH_PULL_COMPLETE:
                if (!l->download_done)
                        plain_line(p, l, "Download complete");
                l->download_done = true;
                if (l->phase == BERTH_PULL_COMPLETE)
                        plain_line(p, l, "Pull complete");
                break;
        default:
                break;
        }
}

void berth_progress_event(const struct berth_pull_event *ev, void *userdata)
{
        struct berth_progress *p = userdata;
        struct layer_line *l;
        bool is_new, changed;

        if (!p || !ev->digest)
                return;
        l = line_of(p, ev->digest, &is_new);
        changed = l->phase != ev->phase;
        l->phase = ev->phase;
        l->done = ev->done;
        l->total = ev->total;
        if (p->tty)
                tty_event(p, l, is_new, changed);
        else
                plain_event(p, l, is_new, changed);
        fflush(p->f);
}

void berth_progress_finish(struct berth_progress *p)
{
        if (!p)
                return;
        if (p->tty)
                for (size_t i = 0; i < p->n; i++)
                        if (p->lines[i].stale)
                                draw(p, i);
        fflush(p->f);
}
