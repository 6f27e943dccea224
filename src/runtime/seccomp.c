/* SPDX-License-Identifier: Apache-2.0 */
#include <seccomp.h> /* libseccomp's; ours is runtime/seccomp.h */

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <jansson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>

#include "base/log.h"
#include "runtime/seccomp.h"
#include "base/syscalls.h"
#include "base/util.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5) /* Linux 5.19 */
#endif

/* seccomp(2), Linux 3.17: glibc 2.36 has no wrapper. Kept here until syscalls.h (not ours) has it.
 */
static inline int sys_seccomp(unsigned op, unsigned flags, const void *args)
{
        return (int) syscall(__NR_seccomp, op, flags, args);
}

struct berth_seccomp_filter {
        struct sock_fprog prog; /* the exported BPF program, owned */
        unsigned flags;         /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
        int listener_sock;      /* listenerPath: connected to the agent, or -1 */
        char *listener_msg;     /* what the agent gets with the listener fd */
        char *warning;          /* syscalls libseccomp does not know, said at each compile */
};

static void ctx_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
        *ctx = NULL;
}
#define _autoscmp_ _cleanup_(ctx_releasep)

static const char *action_name(enum berth_seccomp_action a)
{
        return (unsigned) a < BERTH_SCMP__ACTIONS ? berth_seccomp_action_names[a]
                                                  : "unknown action";
}

/* The libseccomp action for a config action; errnoRet defaults to EPERM, as in runc. Returns
 * -EINVAL for an unknown value. */
static int to_scmp_action(enum berth_seccomp_action a, bool has_errno, uint32_t errno_ret,
                          uint32_t *ret)
{
        uint32_t e = has_errno ? errno_ret : EPERM;

        switch (a) {
        case BERTH_SCMP_KILL:
        case BERTH_SCMP_KILL_THREAD:
                *ret = SCMP_ACT_KILL_THREAD;
                return 0;
        case BERTH_SCMP_KILL_PROCESS:
                *ret = SCMP_ACT_KILL_PROCESS;
                return 0;
        case BERTH_SCMP_TRAP:
                *ret = SCMP_ACT_TRAP;
                return 0;
        case BERTH_SCMP_ERRNO:
                *ret = SCMP_ACT_ERRNO(e);
                return 0;
        case BERTH_SCMP_TRACE:
                *ret = SCMP_ACT_TRACE(e);
                return 0;
        case BERTH_SCMP_ALLOW:
                *ret = SCMP_ACT_ALLOW;
                return 0;
        case BERTH_SCMP_LOG:
                *ret = SCMP_ACT_LOG;
                return 0;
        case BERTH_SCMP_NOTIFY:
                *ret = SCMP_ACT_NOTIFY;
                return 0;
        default:
                return -EINVAL;
        }
}

static int action_for(const char *field, enum berth_seccomp_action a, bool has_errno,
                      uint32_t errno_ret, uint32_t *ret, struct berth_error **err)
{
        int r = to_scmp_action(a, has_errno, errno_ret, ret);

        if (r < 0)
                return berth_error_setx(err, EINVAL, "%s: unknown action %d", field, (int) a);
        if (has_errno && errno_ret > 0xffff)
                return berth_error_setx(err, EINVAL, "%s: errnoRet %u is out of range (0-65535)",
                                        field, errno_ret);
        return 0;
}

/* "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64, through libseccomp's own names ("x86_64"); 0 if
 * unknown. */
static uint32_t arch_from_name(const char *name)
{
        char lower[32];
        size_t i = 0;

        if (!startswith(name, "SCMP_ARCH_"))
                return 0;
        for (const char *s = name + strlen("SCMP_ARCH_"); *s && i < sizeof(lower) - 1; s++)
                lower[i++] = (char) tolower((unsigned char) *s);
        lower[i] = '\0';
        return seccomp_arch_resolve_name(lower);
}

static int add_arch(scmp_filter_ctx ctx, const char *name, struct berth_error **err)
{
        uint32_t arch = arch_from_name(name);
        int r;

        if (arch == 0)
                return berth_error_setx(
                    err, EINVAL, "linux.seccomp.architectures: unknown architecture \"%s\"", name);
        r = seccomp_arch_add(ctx, arch);
        if (r < 0 && r != -EEXIST) /* -EEXIST: the native one is there from the start */
                return berth_error_set(err, -r, "linux.seccomp.architectures: add \"%s\"", name);
        return 0;
}

struct flag_def {
        const char *name;
        int attr; /* libseccomp attribute, 0 if libseccomp 2.5.4 has none */
        unsigned kernel;
};

static const struct flag_def flag_defs[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 0, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static int add_flag(scmp_filter_ctx ctx, const char *name, unsigned *flags,
                    struct berth_error **err)
{
        for (size_t i = 0; i < ARRAY_SIZE(flag_defs); i++) {
                const struct flag_def *d = &flag_defs[i];
                int r;

                if (!streq(name, d->name))
                        continue;
                /* WAIT_KILLABLE_RECV (Linux 5.19) only means something for a notify listener,
                 * and libseccomp 2.5 has no attribute for it: we load the program ourselves, so
                 * it goes straight to seccomp(2). */
                if (d->attr == 0) {
                        *flags |= d->kernel;
                        return 0;
                }
                /* The attribute lets libseccomp check that the kernel supports the flag. */
                r = seccomp_attr_set(ctx, (enum scmp_filter_attr) d->attr, 1);
                if (r < 0)
                        return berth_error_set(err, -r, "linux.seccomp.flags: \"%s\"", name);
                *flags |= d->kernel;
                return 0;
        }
        return berth_error_setx(err, EINVAL, "linux.seccomp.flags: unknown flag \"%s\"", name);
}

static int add_arches_and_flags(scmp_filter_ctx ctx, const struct berth_seccomp *sc,
                                unsigned *ret_flags, struct berth_error **err)
{
        unsigned flags = 0;
        int r;

        for (char **a = sc->architectures; a && *a; a++) {
                r = add_arch(ctx, *a, err);
                if (r < 0)
                        return r;
        }
        for (char **f = sc->flags; f && *f; f++) {
                r = add_flag(ctx, *f, &flags, err);
                if (r < 0)
                        return r;
        }
        *ret_flags = flags;
        return 0;
}

static const enum scmp_compare cmp_ops[] = {
    [BERTH_SCMP_CMP_NE] = SCMP_CMP_NE,
    [BERTH_SCMP_CMP_LT] = SCMP_CMP_LT,
    [BERTH_SCMP_CMP_LE] = SCMP_CMP_LE,
    [BERTH_SCMP_CMP_EQ] = SCMP_CMP_EQ,
    [BERTH_SCMP_CMP_GE] = SCMP_CMP_GE,
    [BERTH_SCMP_CMP_GT] = SCMP_CMP_GT,
    [BERTH_SCMP_CMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* For SCMP_CMP_MASKED_EQ, `value` is the mask and `valueTwo` the datum (as in runc). */
static int make_conditions(size_t idx, const struct berth_seccomp_rule *rule,
                           struct scmp_arg_cmp **ret, struct berth_error **err)
{
        _autofree_ struct scmp_arg_cmp *cmp = xcalloc(rule->n_args, sizeof(*cmp));

        for (size_t j = 0; j < rule->n_args; j++) {
                const struct berth_seccomp_arg *a = &rule->args[j];

                if (a->index > 5)
                        return berth_error_setx(err, EINVAL,
                                                "linux.seccomp.syscalls[%zu].args[%zu].index: %u "
                                                "is out of range (0-5)",
                                                idx, j, a->index);
                if ((unsigned) a->op >= ARRAY_SIZE(cmp_ops))
                        return berth_error_setx(err, EINVAL,
                                                "linux.seccomp.syscalls[%zu].args[%zu].op: "
                                                "unknown operator %d",
                                                idx, j, (int) a->op);
                cmp[j] = (struct scmp_arg_cmp){.arg = a->index,
                                               .op = cmp_ops[a->op],
                                               .datum_a = a->value,
                                               .datum_b = a->value_two};
        }
        *ret = steal_ptr(&cmp);
        return 0;
}

/* Two conditions on the same argument cannot both hold in one libseccomp rule; runc then adds one
 * rule per condition (any of them matches), and so do we. */
static bool has_repeated_index(const struct berth_seccomp_rule *rule)
{
        unsigned seen = 0;

        for (size_t j = 0; j < rule->n_args; j++) {
                if (seen & (1u << rule->args[j].index))
                        return true;
                seen |= 1u << rule->args[j].index;
        }
        return false;
}

static int add_syscall(scmp_filter_ctx ctx, uint32_t action, int nr,
                       const struct berth_seccomp_rule *rule, const struct scmp_arg_cmp *cmp)
{
        int r = 0;

        if (rule->n_args == 0)
                return seccomp_rule_add_array(ctx, action, nr, 0, NULL);
        if (!has_repeated_index(rule))
                return seccomp_rule_add_array(ctx, action, nr, (unsigned) rule->n_args, cmp);
        for (size_t j = 0; j < rule->n_args && r >= 0; j++)
                r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[j]);
        return r;
}

/* Names libseccomp does not know (syscalls newer than it, or typos): one warning per filter. */
struct unknown_names {
        char *list; /* "\"a\", \"b\"" */
        size_t n;
};

static void unknown_names_clear(struct unknown_names *u)
{
        free(u->list);
        u->list = NULL;
}

static void note_unknown(struct unknown_names *u, const char *name)
{
        _autofree_ char *quoted = xasprintf("\"%s\"", name);
        char *list;

        if (u->list && strstr(u->list, quoted))
                return;
        list = u->list ? xasprintf("%s, %s", u->list, quoted) : steal_ptr(&quoted);
        free(u->list);
        u->list = list;
        u->n++;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t def_action, size_t idx,
                    const struct berth_seccomp_rule *rule, struct unknown_names *unknown,
                    struct berth_error **err)
{
        _autofree_ struct scmp_arg_cmp *cmp = NULL;
        _autofree_ char *field = xasprintf("linux.seccomp.syscalls[%zu]", idx);
        uint32_t action;
        int r;

        r = action_for(field, rule->action, rule->has_errno_ret, rule->errno_ret, &action, err);
        if (r < 0)
                return r;
        r = make_conditions(idx, rule, &cmp, err);
        if (r < 0)
                return r;
        /* libseccomp refuses a rule whose action is the default one (-EACCES); runc skips it. */
        if (action == def_action)
                return 0;
        for (char **name = rule->names; name && *name; name++) {
                int nr;

                /* As runc: once the filter is in, the init writes (the startContainer hooks'
                 * state, a failure for `start`), which must not wait on the agent. */
                if (rule->action == BERTH_SCMP_NOTIFY && streq(*name, "write"))
                        return berth_error_setx(err, EINVAL,
                                                "%s: SCMP_ACT_NOTIFY cannot be used for the "
                                                "write syscall",
                                                field);
                nr = seccomp_syscall_resolve_name(*name);

                if (nr == __NR_SCMP_ERROR) {
                        note_unknown(unknown, *name);
                        continue;
                }
                r = add_syscall(ctx, action, nr, rule, cmp);
                if (r < 0)
                        return berth_error_set(err, -r, "%s: add rule for \"%s\"", field, *name);
        }
        return 0;
}

static char *unknown_warning(const struct unknown_names *u)
{
        const struct scmp_version *v = seccomp_version();

        if (u->n == 0)
                return NULL;
        return xasprintf("linux.seccomp.syscalls: %s unknown to libseccomp %u.%u.%u: %s, ignoring",
                         u->n == 1 ? "syscall" : "syscalls", v ? v->major : 0, v ? v->minor : 0,
                         v ? v->micro : 0, u->list);
}

static int too_long(size_t n, struct berth_error **err)
{
        return berth_error_setx(err, E2BIG,
                                "seccomp filter has %zu instructions, above the kernel's limit "
                                "of %d",
                                n, BPF_MAXINSNS);
}

/* Reads the exported program back: 2.5.4 has no seccomp_export_bpf_mem(). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *ret, struct berth_error **err)
{
        _autoclose_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
        _autofree_ struct sock_filter *insns = NULL;
        struct stat st;
        size_t n;
        int r;

        if (fd < 0)
                return berth_error_set(err, errno, "memfd_create for the seccomp filter");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return berth_error_set(err, -r, "export the seccomp filter to BPF");
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "stat the exported seccomp filter");
        n = (size_t) st.st_size / sizeof(struct sock_filter);
        if (n == 0 || n * sizeof(struct sock_filter) != (size_t) st.st_size)
                return berth_error_setx(err, EIO,
                                        "exported seccomp filter has a bad size (%lld bytes)",
                                        (long long) st.st_size);
        if (n > BPF_MAXINSNS) /* and the kernel's limit is checked again with the stub */
                return too_long(n, err);
        insns = xcalloc(n, sizeof(*insns));
        errno = EIO; /* a short read leaves errno alone */
        if (pread(fd, insns, (size_t) st.st_size, 0) != st.st_size)
                return berth_error_set(err, errno, "read the exported seccomp filter");
        ret->len = (unsigned short) n;
        ret->filter = steal_ptr(&insns);
        return 0;
}

/* ---- ENOSYS for syscalls newer than the profile ----------------------------------------------
 *
 * A profile lists the syscalls of its time. Its default action (mostly EPERM) would also hit
 * every syscall added to the kernel since, and a newer libc that tries one (clone3, faccessat2,
 * openat2, close_range) takes EPERM as a refusal, where on ENOSYS it falls back to the older
 * call. So, as runc does (libcontainer/seccomp/patchbpf), a stub in front of libseccomp's program
 * gives ENOSYS, per architecture, to every syscall number above the highest one the profile names
 * there (in any rule, whatever its action; names libseccomp does not know count for nothing).
 * Everything else goes on to the filter: a syscall the profile leaves out gets the default action
 * when it is older than the profile's newest one, ENOSYS when it is newer.
 *
 * No stub when the default action lets syscalls through (ALLOW, LOG, and TRACE: a tracer handles
 * new syscalls itself) or already is ERRNO(ENOSYS). The architectures are the profile's plus the
 * native one, which libseccomp keeps in every filter (runc 1.1.5 took only the profile's, so a
 * profile without "architectures" had no stub; runc 1.1.13 and 1.2 add the native one, as here).
 * x32 shares x86_64's AUDIT_ARCH and is told apart by bit 30 of the number; on s390(x) a number
 * the kernel does not know arrives as 0 (setup(2), long gone), which gets ENOSYS too.
 */

#define X32_SYSCALL_BIT 0x40000000u
#define STUB_ARCHES 24 /* libseccomp 2.5 knows 19 architectures */
#define STUB_MAX (2 + 5 * STUB_ARCHES)

/* Jump targets while the stub is built: an instruction's index, or one of these. */
enum { TO_NEXT = -1, TO_NEXT_ARCH = -2, TO_ENOSYS = -3, TO_FILTER = -4 };

struct stub_arch {
        uint32_t audit;        /* AUDIT_ARCH_*: seccomp_data.arch */
        uint32_t max, max_x32; /* the highest number named, 0 if none (x32: with bit 30) */
};

struct stub {
        struct sock_filter insn[STUB_MAX];
        int jt[STUB_MAX], jf[STUB_MAX];
        size_t arch_of[STUB_MAX]; /* the section an instruction belongs to */
        size_t start[STUB_ARCHES + 1], n_arches, n;
};

static bool wants_stub(const struct berth_seccomp *sc, uint32_t def_action)
{
        switch (sc->default_action) {
        case BERTH_SCMP_ALLOW:
        case BERTH_SCMP_LOG:
        case BERTH_SCMP_TRACE:
                return false;
        default:
                return def_action != SCMP_ACT_ERRNO(ENOSYS);
        }
}

static uint32_t highest_named(const struct berth_seccomp *sc, uint32_t arch)
{
        uint32_t max = 0;

        for (size_t i = 0; i < sc->n_syscalls; i++)
                for (char **name = sc->syscalls[i].names; name && *name; name++) {
                        /* < 0: unknown, or a pseudo-syscall that this architecture lacks */
                        int nr = seccomp_syscall_resolve_name_arch(arch, *name);

                        if (nr > 0 && (uint32_t) nr > max)
                                max = (uint32_t) nr;
                }
        return max;
}

static void note_arch(const struct berth_seccomp *sc, uint32_t arch, struct stub_arch *v, size_t *n)
{
        uint32_t audit = arch == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : arch;
        size_t i = 0;

        while (i < *n && v[i].audit != audit)
                i++;
        if (i == *n) {
                if (*n == STUB_ARCHES)
                        return;
                v[(*n)++] = (struct stub_arch){.audit = audit};
        }
        if (arch == SCMP_ARCH_X32)
                v[i].max_x32 = highest_named(sc, arch);
        else
                v[i].max = highest_named(sc, arch);
}

/* The native architecture first: its section is the one every syscall goes through. */
static size_t stub_arches(const struct berth_seccomp *sc, struct stub_arch *v)
{
        size_t n = 0, kept = 0;

        note_arch(sc, seccomp_arch_native(), v, &n);
        for (char **a = sc->architectures; a && *a; a++) {
                uint32_t arch = arch_from_name(*a);

                if (arch != 0 && arch != seccomp_arch_native())
                        note_arch(sc, arch, v, &n);
        }
        for (size_t i = 0; i < n; i++)
                if (v[i].max || v[i].max_x32)
                        v[kept++] = v[i];
        return kept;
}

static void emit(struct stub *s, uint16_t code, uint32_t k, int jt, int jf)
{
        s->insn[s->n] = (struct sock_filter){.code = code, .k = k};
        s->jt[s->n] = jt;
        s->jf[s->n] = jf;
        s->arch_of[s->n] = s->n_arches;
        s->n++;
}

#define JEQ (BPF_JMP | BPF_JEQ | BPF_K)
#define JGT (BPF_JMP | BPF_JGT | BPF_K)
#define JSET (BPF_JMP | BPF_JSET | BPF_K)

/* x86_64 and x32 numbers in one section: x32's have bit 30 set. */
static void emit_x86_64(struct stub *s, const struct stub_arch *a)
{
        if (a->max && a->max_x32) {
                emit(s, JSET, X32_SYSCALL_BIT, (int) s->n + 2, TO_NEXT);
                emit(s, JGT, a->max, TO_ENOSYS, TO_FILTER);
                emit(s, JGT, a->max_x32, TO_ENOSYS, TO_FILTER);
        } else if (a->max) {
                emit(s, JSET, X32_SYSCALL_BIT, TO_FILTER, TO_NEXT);
                emit(s, JGT, a->max, TO_ENOSYS, TO_FILTER);
        } else {
                emit(s, JSET, X32_SYSCALL_BIT, TO_NEXT, TO_FILTER);
                emit(s, JGT, a->max_x32, TO_ENOSYS, TO_FILTER);
        }
}

static void emit_section(struct stub *s, const struct stub_arch *a)
{
        s->start[s->n_arches] = s->n;
        emit(s, JEQ, a->audit, TO_NEXT, TO_NEXT_ARCH);
        emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
        if (a->audit == SCMP_ARCH_S390 || a->audit == SCMP_ARCH_S390X)
                emit(s, JEQ, 0, TO_ENOSYS, TO_NEXT);
        if (a->audit == SCMP_ARCH_X86_64)
                emit_x86_64(s, a);
        else
                emit(s, JGT, a->max, TO_ENOSYS, TO_FILTER);
        s->n_arches++;
}

/* Relative offset from instruction i to a target; -1 if out of a conditional jump's reach. */
static int offset(const struct stub *s, size_t i, int to)
{
        size_t enosys = s->n - 1, target;

        switch (to) {
        case TO_NEXT:
                target = i + 1;
                break;
        case TO_NEXT_ARCH:
                target = s->arch_of[i] + 1 < s->n_arches ? s->start[s->arch_of[i] + 1] : s->n;
                break;
        case TO_ENOSYS:
                target = enosys;
                break;
        case TO_FILTER:
                target = s->n;
                break;
        default:
                target = (size_t) to;
        }
        return target > i && target - i - 1 <= 255 ? (int) (target - i - 1) : -1;
}

/* Builds the stub; false if it has nothing to do. */
static bool build_stub(const struct berth_seccomp *sc, struct stub *s)
{
        struct stub_arch arches[STUB_ARCHES];
        size_t n = stub_arches(sc, arches);

        if (n == 0)
                return false;
        s->n = s->n_arches = 0;
        emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
        for (size_t i = 0; i < n; i++)
                emit_section(s, &arches[i]);
        emit(s, BPF_RET | BPF_K, SCMP_ACT_ERRNO(ENOSYS), 0, 0);
        for (size_t i = 0; i < s->n; i++) {
                int jt, jf;

                if (BPF_CLASS(s->insn[i].code) != BPF_JMP)
                        continue;
                jt = offset(s, i, s->jt[i]);
                jf = offset(s, i, s->jf[i]);
                if (jt < 0 || jf < 0) /* cannot happen: the stub has at most 122 instructions */
                        return false;
                s->insn[i].jt = (uint8_t) jt;
                s->insn[i].jf = (uint8_t) jf;
        }
        return true;
}

static int add_enosys_stub(const struct berth_seccomp *sc, uint32_t def_action,
                           struct sock_fprog *prog, struct berth_error **err)
{
        _autofree_ struct stub *s = xcalloc(1, sizeof(*s));
        struct sock_filter *insns;
        uint64_t t = TRACE_T0();
        size_t n;

        if (!wants_stub(sc, def_action) || !build_stub(sc, s))
                return 0;
        TRACE(t, "seccomp ENOSYS stub (%zu architectures, %zu instructions)", s->n_arches, s->n);
        n = s->n + prog->len;
        if (n > BPF_MAXINSNS)
                return too_long(n, err);
        insns = xcalloc(n, sizeof(*insns));
        memcpy(insns, s->insn, s->n * sizeof(*insns));
        memcpy(insns + s->n, prog->filter, prog->len * sizeof(*insns));
        free(prog->filter);
        prog->filter = insns;
        prog->len = (unsigned short) n;
        return 0;
}

/* The kernel refuses WAIT_KILLABLE_RECV without a listener, and TSYNC with one (unless
 * TSYNC_ESRCH): say so by field rather than with seccomp(2)'s EINVAL at start. */
static int check_notify(const struct berth_seccomp *sc, unsigned flags, struct berth_error **err)
{
        if (!sc->listener_path && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
                return berth_error_setx(err, EINVAL,
                                        "linux.seccomp.flags: "
                                        "\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\" needs "
                                        "linux.seccomp.listenerPath");
        if (sc->listener_path && (flags & SECCOMP_FILTER_FLAG_TSYNC))
                return berth_error_setx(err, EINVAL,
                                        "linux.seccomp.flags: "
                                        "\"SECCOMP_FILTER_FLAG_TSYNC\" cannot be used with "
                                        "linux.seccomp.listenerPath");
        return 0;
}

static int build(const struct berth_seccomp *sc, struct berth_seccomp_filter *f,
                 struct berth_error **err)
{
        _autoscmp_ scmp_filter_ctx ctx = NULL;
        _cleanup_(unknown_names_clear) struct unknown_names unknown = {0};
        uint32_t def;
        int r;

        r = action_for("linux.seccomp.defaultAction", sc->default_action, sc->has_default_errno_ret,
                       sc->default_errno_ret, &def, err);
        if (r < 0)
                return r;
        ctx = seccomp_init(def);
        if (!ctx)
                return berth_error_setx(err, EINVAL, "seccomp_init(%s) failed",
                                        action_name(sc->default_action));
        r = add_arches_and_flags(ctx, sc, &f->flags, err);
        if (r >= 0)
                r = check_notify(sc, f->flags, err);
        if (r >= 0 && sc->listener_path)
                f->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        for (size_t i = 0; r >= 0 && i < sc->n_syscalls; i++)
                r = add_rule(ctx, def, i, &sc->syscalls[i], &unknown, err);
        if (r < 0)
                return r;
        f->warning = unknown_warning(&unknown);
        r = export_bpf(ctx, &f->prog, err);
        if (r < 0)
                return r;
        return add_enosys_stub(sc, def, &f->prog, err);
}

/* ---- the compiled program, cached ------------------------------------------------------------
 *
 * libseccomp takes ~7 ms of CPU to compile docker's ~350-syscall profile, more than the rest of a
 * container start; the program only depends on the config, libseccomp's version, the kernel
 * (libseccomp probes its API level) and the machine. So it is kept under the state root, in a
 * directory and files only our euid may write, keyed by all of that as text: the file holds the
 * whole key, compared byte for byte (its name is only a hash), so a stale or colliding entry is
 * never used, and one that fails any check is compiled again.
 */

#define CACHE_DIR ".seccomp:bpf" /* ':' is not allowed in an id: no container can be called so */
/* 2: programs with the ENOSYS stub; those of 1 lack it and are compiled again */
#define CACHE_MAGIC "berth-bpf-2"
#define CACHE_MAX (4u << 20)

struct cache_head {
        char magic[12];
        uint32_t flags, key_len, n_insns, warn_len;
};

static void key_strv(FILE *f, const char *what, char *const *v)
{
        for (; v && *v; v++)
                fprintf(f, "%s %zu:%s\n", what, strlen(*v), *v);
}

static char *cache_key(const struct berth_seccomp *sc)
{
        const struct scmp_version *v = seccomp_version();
        struct utsname u = {0};
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        uname(&u);
        fprintf(f, "libseccomp %u.%u.%u\nkernel %s %s\n", v ? v->major : 0, v ? v->minor : 0,
                v ? v->micro : 0, u.release, u.machine);
        fprintf(f, "default %d %d %u listener %d\n", (int) sc->default_action,
                sc->has_default_errno_ret, sc->default_errno_ret, sc->listener_path != NULL);
        key_strv(f, "arch", sc->architectures);
        key_strv(f, "flag", sc->flags);
        for (size_t i = 0; i < sc->n_syscalls; i++) {
                const struct berth_seccomp_rule *r = &sc->syscalls[i];

                fprintf(f, "rule %d %d %u\n", (int) r->action, r->has_errno_ret, r->errno_ret);
                key_strv(f, " name", r->names);
                for (size_t j = 0; j < r->n_args; j++)
                        fprintf(f, " arg %u %d %" PRIu64 " %" PRIu64 "\n", r->args[j].index,
                                (int) r->args[j].op, r->args[j].value, r->args[j].value_two);
        }
        fclose(f);
        return buf;
}

static uint64_t fnv1a(const char *s)
{
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return h;
}

/* The cache directory, made 0700 if missing; -1 when it is not ours alone (then no caching). */
static int cache_dir_open(const char *root)
{
        _autoclose_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -EBADF;
        struct stat st;

        if (rootfd < 0)
                return -1;
        if (mkdirat(rootfd, CACHE_DIR, 0700) < 0 && errno != EEXIST)
                return -1;
        fd = openat(rootfd, CACHE_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))
                return -1;
        return steal_fd(&fd);
}

static bool cache_load(int dirfd, const char *name, const char *key, struct berth_seccomp_filter *f)
{
        _autoclose_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        _autofree_ char *buf = NULL;
        struct cache_head h;
        struct stat st;
        size_t len, key_len = strlen(key), insns;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
            (st.st_mode & 022) || berth_read_fd(fd, name, CACHE_MAX, &buf, &len, NULL) < 0 ||
            len < sizeof(h))
                return false;
        memcpy(&h, buf, sizeof(h));
        insns = (size_t) h.n_insns * sizeof(struct sock_filter);
        if (memcmp(h.magic, CACHE_MAGIC, sizeof(h.magic)) != 0 || h.key_len != key_len ||
            h.n_insns == 0 || h.n_insns > BPF_MAXINSNS ||
            len != sizeof(h) + key_len + insns + h.warn_len ||
            memcmp(buf + sizeof(h), key, key_len) != 0)
                return false;
        f->flags = h.flags;
        f->prog.len = (unsigned short) h.n_insns;
        f->prog.filter = xcalloc(h.n_insns, sizeof(struct sock_filter));
        memcpy(f->prog.filter, buf + sizeof(h) + key_len, insns);
        if (h.warn_len)
                f->warning = xasprintf("%.*s", (int) h.warn_len, buf + sizeof(h) + key_len + insns);
        return true;
}

static void cache_store(int dirfd, const char *name, const char *key,
                        const struct berth_seccomp_filter *f)
{
        struct cache_head h = {.flags = f->flags,
                               .key_len = (uint32_t) strlen(key),
                               .n_insns = f->prog.len,
                               .warn_len = f->warning ? (uint32_t) strlen(f->warning) : 0};
        size_t insns = (size_t) h.n_insns * sizeof(struct sock_filter);
        size_t len = sizeof(h) + h.key_len + insns + h.warn_len;
        _autofree_ char *buf = xcalloc(1, len);

        memcpy(h.magic, CACHE_MAGIC, sizeof(h.magic));
        memcpy(buf, &h, sizeof(h));
        memcpy(buf + sizeof(h), key, h.key_len);
        memcpy(buf + sizeof(h) + h.key_len, f->prog.filter, insns);
        if (h.warn_len)
                memcpy(buf + sizeof(h) + h.key_len + insns, f->warning, h.warn_len);
        (void) berth_write_file_atomic(dirfd, name, buf, len, 0600, false, NULL);
}

/* Compiles through the cache under root (NULL: no cache). */
static int build_cached(const struct berth_seccomp *sc, const char *root,
                        struct berth_seccomp_filter *f, bool *ret_hit, struct berth_error **err)
{
        _autoclose_ int dirfd = root ? cache_dir_open(root) : -1;
        _autofree_ char *key = NULL;
        char name[32];
        int r;

        *ret_hit = false;
        if (dirfd < 0)
                return build(sc, f, err);
        key = cache_key(sc);
        snprintf(name, sizeof(name), "%016" PRIx64 ".bpf", fnv1a(key));
        if (cache_load(dirfd, name, key, f)) {
                *ret_hit = true;
                return 0;
        }
        r = build(sc, f, err);
        if (r >= 0)
                cache_store(dirfd, name, key, f);
        return r;
}

int berth_seccomp_compile(const struct berth_seccomp *sc, const char *cache_root,
                          struct berth_seccomp_filter **ret, struct berth_error **err)
{
        struct berth_seccomp_filter *f;
        uint64_t t = TRACE_T0();
        bool hit;
        int r;

        f = xcalloc(1, sizeof(*f));
        f->listener_sock = -1;
        r = build_cached(sc, cache_root, f, &hit, err);
        if (r < 0) {
                berth_seccomp_filter_free(f);
                return r;
        }
        if (f->warning)
                berth_warn("%s", f->warning);
        TRACE(t, "seccomp compile (%zu rules, %u instructions%s)", sc->n_syscalls, f->prog.len,
              hit ? ", cached" : "");
        *ret = f;
        return 0;
}

static int load_error(const struct berth_seccomp_filter *f, int e, struct berth_error **err)
{
        if (e == EACCES)
                return berth_error_setx(err, e,
                                        "load seccomp filter (%u instructions): %s (needs "
                                        "no_new_privs or CAP_SYS_ADMIN)",
                                        f->prog.len, strerror(e));
        return berth_error_set(err, e, "load seccomp filter (%u instructions, flags 0x%x)",
                               f->prog.len, f->flags);
}

/* The container process state (runtime-spec config-linux.md "seccomp", listenerPath) and the
 * listener fd, in one message; then the connection is closed, as runc and crun do. */
static int send_listener(struct berth_seccomp_filter *f, int listener, struct berth_error **err)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } ctl = {0};
        char *text = f->listener_msg ? f->listener_msg : (char *) "{}";
        struct iovec iov = {.iov_base = text, .iov_len = strlen(text)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        ssize_t n;

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &listener, sizeof(int));
        do
                n = sendmsg(f->listener_sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        close(listener);
        closep(&f->listener_sock);
        if (n < 0)
                return berth_error_set(err, errno,
                                       "linux.seccomp.listenerPath: send the listener "
                                       "fd to the agent");
        return 0;
}

int berth_seccomp_load(struct berth_seccomp_filter *f, struct berth_error **err)
{
        uint64_t t = TRACE_T0();
        int r;

        /* Traced before the load: once the filter is in place, even the trace's write(2) may be
         * denied or kill the process. */
        TRACE(t, "seccomp load (%u instructions, flags 0x%x)", f->prog.len, f->flags);
        r = sys_seccomp(SECCOMP_SET_MODE_FILTER, f->flags, &f->prog);
        /* Without seccomp(2) (before Linux 3.17), prctl can load a filter that has no flags. */
        if (r < 0 && errno == ENOSYS && f->flags == 0)
                r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &f->prog, 0, 0);
        if (r < 0)
                return load_error(f, errno, err);
        if (f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
                return f->listener_sock >= 0 ? send_listener(f, r, err) : (close(r), 0);
        if (r > 0) /* SECCOMP_FILTER_FLAG_TSYNC: the id of a thread that could not follow */
                return berth_error_setx(err, ESRCH,
                                        "load seccomp filter: thread %d cannot be synchronized", r);
        return 0;
}

int berth_seccomp_listener_connect(const struct berth_seccomp *sc, struct berth_seccomp_filter *f,
                                   struct berth_error **err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        _autoclose_ int fd = -EBADF;
        const char *path = sc->listener_path;

        if (!path)
                return 0;
        if (strlen(path) >= sizeof(addr.sun_path))
                return berth_error_setx(err, ENAMETOOLONG,
                                        "linux.seccomp.listenerPath \"%s\": "
                                        "longer than a unix socket path (%zu bytes)",
                                        path, sizeof(addr.sun_path) - 1);
        strcpy(addr.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berth_error_set(err, errno, "linux.seccomp.listenerPath: socket");
        if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0) /* runc's words */
                return berth_error_set(err, errno,
                                       "linux.seccomp.listenerPath \"%s\": failed to connect "
                                       "with seccomp agent",
                                       path);
        f->listener_sock = steal_fd(&fd);
        return 0;
}

int berth_seccomp_listener_fd(const struct berth_seccomp_filter *f)
{
        return f ? f->listener_sock : -1;
}

void berth_seccomp_listener_state(struct berth_seccomp_filter *f, const struct berth_seccomp *sc,
                                  pid_t pid, const char *state_json)
{
        json_t *o, *state;

        if (!f || f->listener_sock < 0)
                return;
        state = json_loads(state_json, 0, NULL);
        o = json_pack("{s:O?, s:[s], s:i, s:s?, s:o?}", "ociVersion",
                      json_object_get(state, "ociVersion"), "fds", "seccompFd", "pid", (int) pid,
                      "metadata", sc->listener_metadata, "state", state);
        free(f->listener_msg);
        f->listener_msg = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
}

void berth_seccomp_filter_free(struct berth_seccomp_filter *f)
{
        if (!f)
                return;
        free(f->prog.filter);
        free(f->listener_msg);
        free(f->warning);
        if (f->listener_sock >= 0)
                close(f->listener_sock);
        free(f);
}
