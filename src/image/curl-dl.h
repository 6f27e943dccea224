/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libcurl, loaded when the first registry is contacted rather than at every start of berth:
 * linking it costs ~17 ms of CPU per process here (it brings gnutls, krb5, ldap, ssh2, ... and
 * their constructors), more than a whole container start. registry.c includes this header
 * instead of <curl/curl.h>; the curl_* calls it makes go through the table below, which
 * berth_curl_load() fills once with dlopen("libcurl.so.4").
 */

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "base/error.h"

struct berth_curl_api {
        CURLcode (*global_init)(long flags);
        CURL *(*easy_init)(void);
        CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
        CURLcode (*easy_perform)(CURL *c);
        void (*easy_reset)(CURL *c);
        void (*easy_cleanup)(CURL *c);
        const char *(*easy_strerror)(CURLcode code);
        char *(*easy_escape)(CURL *c, const char *s, int len);
        struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
        void (*slist_free_all)(struct curl_slist *l);
};

extern struct berth_curl_api berth_curl;

/* Loads libcurl and calls curl_global_init, once (thread-safe). -ELIBACC: "load libcurl.so.4:
 * <dlerror>", or -EIO naming curl_global_init's error. */
int berth_curl_load(struct berth_error **err);

#undef curl_easy_setopt /* curl.h defines it as itself */
#define curl_global_init (*berth_curl.global_init)
#define curl_easy_init (*berth_curl.easy_init)
#define curl_easy_setopt (*berth_curl.easy_setopt)
#define curl_easy_perform (*berth_curl.easy_perform)
#define curl_easy_reset (*berth_curl.easy_reset)
#define curl_easy_cleanup (*berth_curl.easy_cleanup)
#define curl_easy_strerror (*berth_curl.easy_strerror)
#define curl_easy_escape (*berth_curl.easy_escape)
#define curl_slist_append (*berth_curl.slist_append)
#define curl_slist_free_all (*berth_curl.slist_free_all)
