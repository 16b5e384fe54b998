/* strop.c - parsing and pure evaluation of the string operations of one key.
 *
 * Parsing follows Redis 7.0's t_string.c (parseExtendedStringArgumentsOrReply,
 * getExpireMillisecondsOrReply) and expire.c (expireGenericCommand) closely,
 * including the order in which errors are found, so replies match Redis's byte
 * for byte. Evaluation works on a version set (versions.h) instead of one
 * value; see strop.h for the sibling rules. */
#include "core/strop.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "util/strconv.h"

#define STROP_ERR_SYNTAX "ERR syntax error"
#define STROP_ERR_INT "ERR value is not an integer or out of range"
#define STROP_ERR_GETEX_TIME "ERR invalid expire time in 'getex' command"
#define STROP_ERR_TOO_BIG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
#define STROP_ERR_CONTEXT "ERR invalid context"

/* ---- integers and times ---- */

enum strop_time_status { STROP_TIME_OK, STROP_TIME_NOT_INT, STROP_TIME_INVALID };

/* SET's and GETEX's time argument to absolute ms (getExpireMillisecondsOrReply). */
static enum strop_time_status strop_time_abs(const char *arg, size_t len, enum strop_unit unit,
                                             uint64_t now_ms, int64_t *out)
{
    long long ms;
    if (!strconv_string2ll(arg, len, &ms))
        return STROP_TIME_NOT_INT;
    bool seconds = unit == STROP_UNIT_EX || unit == STROP_UNIT_EXAT;
    if (ms <= 0 || (seconds && ms > INT64_MAX / 1000))
        return STROP_TIME_INVALID;
    if (seconds)
        ms *= 1000;
    if (unit == STROP_UNIT_EX || unit == STROP_UNIT_PX) {
        if (ms > INT64_MAX - (int64_t)now_ms)
            return STROP_TIME_INVALID;
        ms += (int64_t)now_ms;
    }
    *out = ms;
    return STROP_TIME_OK;
}

/* ---- parsing ---- */

/* The option flags of SET and GETEX while parsing (Redis's OBJ_* flags). */
enum {
    OPT_NX = 1 << 0,
    OPT_XX = 1 << 1,
    OPT_GET = 1 << 2,
    OPT_KEEPTTL = 1 << 3,
    OPT_PERSIST = 1 << 4,
    OPT_EX = 1 << 5,
    OPT_PX = 1 << 6,
    OPT_EXAT = 1 << 7,
    OPT_PXAT = 1 << 8,
};
#define OPT_TIMES (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

/* The time option named opt, if it may follow flags: its flag, else 0. */
static unsigned strop_time_option(const char *opt, unsigned flags)
{
    static const struct { const char *name; unsigned flag; enum strop_unit unit; } opts[] = {
        {"ex", OPT_EX, STROP_UNIT_EX},
        {"px", OPT_PX, STROP_UNIT_PX},
        {"exat", OPT_EXAT, STROP_UNIT_EXAT},
        {"pxat", OPT_PXAT, STROP_UNIT_PXAT},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (strcasecmp(opt, opts[i].name) != 0)
            continue;
        unsigned others = (OPT_TIMES & ~opts[i].flag) | OPT_KEEPTTL | OPT_PERSIST;
        return (flags & others) ? 0 : opts[i].flag;
    }
    return 0;
}

static enum strop_unit strop_unit_of(unsigned flags)
{
    if (flags & OPT_PX)
        return STROP_UNIT_PX;
    if (flags & OPT_EXAT)
        return STROP_UNIT_EXAT;
    if (flags & OPT_PXAT)
        return STROP_UNIT_PXAT;
    return STROP_UNIT_EX;
}

/* Redis's parseExtendedStringArgumentsOrReply over argv[first..argc). */
static int strop_parse_ext(strop_op_t *op, int argc, const char *const *argv,
                           const size_t *argvlen, int first, bool is_set, unsigned *flags_out)
{
    unsigned flags = 0;
    for (int j = first; j < argc; j++) {
        const char *opt = argv[j];
        bool next = j + 1 < argc;
        unsigned tflag = next ? strop_time_option(opt, flags) : 0;
        if (is_set && !strcasecmp(opt, "nx") && !(flags & OPT_XX)) {
            flags |= OPT_NX;
        } else if (is_set && !strcasecmp(opt, "xx") && !(flags & OPT_NX)) {
            flags |= OPT_XX;
        } else if (is_set && !strcasecmp(opt, "get")) {
            flags |= OPT_GET;
        } else if (is_set && !strcasecmp(opt, "keepttl") &&
                   !(flags & (OPT_PERSIST | OPT_TIMES))) {
            flags |= OPT_KEEPTTL;
        } else if (!is_set && !strcasecmp(opt, "persist") &&
                   !(flags & (OPT_KEEPTTL | OPT_TIMES))) {
            flags |= OPT_PERSIST;
        } else if (tflag) {
            flags |= tflag;
            op->expire_arg = argv[j + 1];
            op->expire_arg_len = argvlen[j + 1];
            j++;
        } else {
            return -1;
        }
    }
    *flags_out = flags;
    return 0;
}

static int strop_time_error(enum strop_time_status st, const char *cmd, buf_t *err)
{
    if (st == STROP_TIME_NOT_INT)
        buf_append_str(err, STROP_ERR_INT);
    else
        buf_printf(err, "ERR invalid expire time in '%s' command", cmd);
    return -1;
}

static int strop_parse_set(strop_op_t *op, int argc, const char *const *argv,
                           const size_t *argvlen, uint64_t now_ms, buf_t *err)
{
    unsigned flags;
    if (strop_parse_ext(op, argc, argv, argvlen, 3, true, &flags) != 0) {
        buf_append_str(err, STROP_ERR_SYNTAX);
        return -1;
    }
    op->value = argv[2];
    op->value_len = argvlen[2];
    op->flags = (flags & OPT_NX ? STROP_F_NX : 0) | (flags & OPT_XX ? STROP_F_XX : 0) |
                (flags & OPT_GET ? STROP_F_GET : 0);
    if (flags & OPT_KEEPTTL)
        op->expire = STROP_EXPIRE_KEEPTTL;
    if (flags & OPT_TIMES) {
        op->unit = strop_unit_of(flags);
        enum strop_time_status st =
            strop_time_abs(op->expire_arg, op->expire_arg_len, op->unit, now_ms, &op->when_ms);
        if (st != STROP_TIME_OK)
            return strop_time_error(st, "set", err);
        op->expire = STROP_EXPIRE_AT;
    }
    return 0;
}

static int strop_parse_getex(strop_op_t *op, int argc, const char *const *argv,
                             const size_t *argvlen, buf_t *err)
{
    unsigned flags;
    if (strop_parse_ext(op, argc, argv, argvlen, 2, false, &flags) != 0) {
        buf_append_str(err, STROP_ERR_SYNTAX);
        return -1;
    }
    if (flags & OPT_PERSIST)
        op->expire = STROP_EXPIRE_PERSIST;
    if (flags & OPT_TIMES) {
        op->unit = strop_unit_of(flags);
        op->expire = STROP_EXPIRE_AT; /* when_ms is computed by strop_eval */
    }
    return 0;
}

/* EXPIRE's NX XX GT LT (parseExtendedExpireArgumentsOrReply). */
static int strop_parse_expire_flags(strop_op_t *op, int argc, const char *const *argv,
                                    buf_t *err)
{
    static const struct { const char *name; unsigned flag; } opts[] = {
        {"nx", STROP_F_NX}, {"xx", STROP_F_XX}, {"gt", STROP_F_GT}, {"lt", STROP_F_LT}};
    for (int j = 3; j < argc; j++) {
        size_t i = 0;
        while (i < sizeof opts / sizeof opts[0] && strcasecmp(argv[j], opts[i].name) != 0)
            i++;
        if (i == sizeof opts / sizeof opts[0]) {
            buf_printf(err, "ERR Unsupported option %s", argv[j]);
            return -1;
        }
        op->flags |= opts[i].flag;
    }
    if ((op->flags & STROP_F_NX) && (op->flags & (STROP_F_XX | STROP_F_GT | STROP_F_LT))) {
        buf_append_str(err, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((op->flags & STROP_F_GT) && (op->flags & STROP_F_LT)) {
        buf_append_str(err, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

static int strop_parse_expire(strop_op_t *op, int argc, const char *const *argv,
                              const size_t *argvlen, uint64_t now_ms, buf_t *err)
{
    static const char *const names[] = {"expire", "pexpire", "expireat", "pexpireat"};
    static const enum strop_unit units[] = {STROP_UNIT_EX, STROP_UNIT_PX, STROP_UNIT_EXAT,
                                            STROP_UNIT_PXAT};
    size_t u = 0;
    while (u + 1 < sizeof names / sizeof names[0] && strcasecmp(argv[0], names[u]) != 0)
        u++;
    if (strop_parse_expire_flags(op, argc, argv, err) != 0)
        return -1;
    long long when;
    if (!strconv_string2ll(argv[2], argvlen[2], &when))
        return strop_time_error(STROP_TIME_NOT_INT, names[u], err);
    bool seconds = units[u] == STROP_UNIT_EX || units[u] == STROP_UNIT_EXAT;
    if (seconds) {
        if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000)
            return strop_time_error(STROP_TIME_INVALID, names[u], err);
        when *= 1000;
    }
    int64_t base = units[u] == STROP_UNIT_EX || units[u] == STROP_UNIT_PX ? (int64_t)now_ms : 0;
    if (when > INT64_MAX - base)
        return strop_time_error(STROP_TIME_INVALID, names[u], err);
    op->unit = units[u];
    op->expire = STROP_EXPIRE_AT;
    op->when_ms = when + base;
    return 0;
}

/* DYN.PUT key context value [EX s|PX ms] and DYN.DEL key context. */
static int strop_parse_dyn(strop_op_t *op, int argc, const char *const *argv,
                           const size_t *argvlen, uint64_t now_ms, buf_t *err)
{
    if (!vclock_context_decode(&op->context, argv[2], argvlen[2])) {
        buf_append_str(err, STROP_ERR_CONTEXT);
        return -1;
    }
    if (op->kind == STROP_DYN_DEL)
        return 0;
    op->value = argv[3];
    op->value_len = argvlen[3];
    if (argc == 4)
        return 0;
    unsigned tflag = 0;
    if (argc == 6 && !strcasecmp(argv[4], "ex"))
        tflag = OPT_EX;
    else if (argc == 6 && !strcasecmp(argv[4], "px"))
        tflag = OPT_PX;
    if (!tflag) {
        buf_append_str(err, STROP_ERR_SYNTAX);
        return -1;
    }
    op->unit = strop_unit_of(tflag);
    enum strop_time_status st = strop_time_abs(argv[5], argvlen[5], op->unit, now_ms, &op->when_ms);
    if (st != STROP_TIME_OK)
        return strop_time_error(st, "dyn.put", err);
    op->expire = STROP_EXPIRE_AT;
    return 0;
}

void strop_op_init(strop_op_t *op, enum strop_kind kind)
{
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->value_len_max = VERSIONS_VALUE_MAX;
    vclock_init(&op->context);
}

void strop_op_free(strop_op_t *op)
{
    vclock_free(&op->context);
}

int strop_parse(strop_op_t *op, enum strop_kind kind, int argc, const char *const *argv,
                const size_t *argvlen, uint64_t now_ms, buf_t *err)
{
    strop_op_init(op, kind);
    switch (kind) {
    case STROP_SET:
        return strop_parse_set(op, argc, argv, argvlen, now_ms, err);
    case STROP_GETEX:
        return strop_parse_getex(op, argc, argv, argvlen, err);
    case STROP_EXPIRE:
        return strop_parse_expire(op, argc, argv, argvlen, now_ms, err);
    case STROP_DYN_PUT:
    case STROP_DYN_DEL:
        return strop_parse_dyn(op, argc, argv, argvlen, now_ms, err);
    case STROP_APPEND:
        op->value = argv[2];
        op->value_len = argvlen[2];
        return 0;
    case STROP_TTL:
        if (!strcasecmp(argv[0], "pttl"))
            op->flags |= STROP_F_MS;
        return 0;
    default:
        return 0;
    }
}

/* ---- evaluation ---- */

void strop_result_init(strop_result_t *res)
{
    memset(res, 0, sizeof *res);
    buf_init(&res->value);
    buf_init(&res->scratch);
    vclock_init(&res->context);
}

void strop_result_free(strop_result_t *res)
{
    buf_free(&res->value);
    buf_free(&res->scratch);
    vclock_free(&res->context);
}

void strop_conflict_text(uint32_t n, buf_t *out)
{
    buf_clear(out);
    buf_printf(out, "CONFLICT key has %u siblings; resolve with DYN.GET and DYN.PUT", n);
}

static void strop_reply_int(strop_result_t *res, int64_t v)
{
    res->reply = STROP_REPLY_INT;
    res->integer = v;
}

static void strop_reply_error(strop_result_t *res, const char *text)
{
    res->reply = STROP_REPLY_ERROR;
    res->text = text;
}

/* Replies v's value as one bulk (a copy: the write may free v). */
static void strop_reply_value(strop_result_t *res, const version_t *v)
{
    res->reply = STROP_REPLY_VALUE;
    buf_clear(&res->value);
    buf_append(&res->value, v->value, v->value_len);
}

/* Sets up a write that supersedes everything current holds. value NULL with
 * tombstone set writes a tombstone. value must not borrow from current. */
static void strop_write(strop_result_t *res, const versions_t *current, const void *value,
                        size_t len, uint64_t expire_at_ms, bool tombstone)
{
    res->context.len = 0;
    if (current)
        versions_context(current, &res->context);
    res->has_write = true;
    res->write = (version_write_t){.context = &res->context,
                                   .value = tombstone ? NULL : value,
                                   .value_len = tombstone ? 0 : len,
                                   .expire_at_ms = tombstone ? 0 : expire_at_ms,
                                   .tombstone = tombstone};
}

/* Rewrites v's value with a new expiry (0: none), superseding current. */
static void strop_rewrite(strop_result_t *res, const versions_t *current, const version_t *v,
                          uint64_t expire_at_ms)
{
    buf_clear(&res->scratch);
    buf_append(&res->scratch, v->value, v->value_len);
    strop_write(res, current, res->scratch.data, res->scratch.len, expire_at_ms, false);
}

static void strop_eval_set(const versions_t *cur, uint32_t n, const version_t *v,
                           const strop_op_t *op, strop_result_t *res)
{
    bool get = op->flags & STROP_F_GET;
    if (get && n > 1) {
        res->reply = STROP_REPLY_CONFLICT;
        res->integer = n;
        return;
    }
    if (get && v)
        strop_reply_value(res, v);
    else
        res->reply = get ? STROP_REPLY_NIL : STROP_REPLY_OK;
    if (((op->flags & STROP_F_NX) && n > 0) || ((op->flags & STROP_F_XX) && n == 0)) {
        if (!get)
            res->reply = STROP_REPLY_NIL;
        return;
    }
    uint64_t expire = 0;
    if (op->expire == STROP_EXPIRE_AT)
        expire = (uint64_t)op->when_ms;
    else if (op->expire == STROP_EXPIRE_KEEPTTL && n == 1)
        expire = v->expire_at_ms;
    strop_write(res, cur, op->value, op->value_len, expire, false);
}

static void strop_eval_getex(const versions_t *cur, const version_t *v, uint64_t now_ms,
                             const strop_op_t *op, strop_result_t *res)
{
    int64_t when = 0;
    if (op->expire == STROP_EXPIRE_AT) {
        enum strop_time_status st =
            strop_time_abs(op->expire_arg, op->expire_arg_len, op->unit, now_ms, &when);
        if (st != STROP_TIME_OK) {
            strop_reply_error(res, st == STROP_TIME_NOT_INT ? STROP_ERR_INT : STROP_ERR_GETEX_TIME);
            return;
        }
    }
    strop_reply_value(res, v);
    if (op->expire == STROP_EXPIRE_AT && when <= (int64_t)now_ms)
        strop_write(res, cur, NULL, 0, 0, true);
    else if (op->expire == STROP_EXPIRE_AT)
        strop_rewrite(res, cur, v, (uint64_t)when);
    else if (op->expire == STROP_EXPIRE_PERSIST && v->expire_at_ms != 0)
        strop_rewrite(res, cur, v, 0);
}

/* expireGenericCommand's NX XX GT LT checks: true when the op goes ahead. */
static bool strop_expire_allowed(const version_t *v, const strop_op_t *op)
{
    int64_t current = v->expire_at_ms ? (int64_t)v->expire_at_ms : -1;
    if ((op->flags & STROP_F_NX) && current != -1)
        return false;
    if ((op->flags & STROP_F_XX) && current == -1)
        return false;
    if ((op->flags & STROP_F_GT) && (op->when_ms <= current || current == -1))
        return false;
    if ((op->flags & STROP_F_LT) && current != -1 && op->when_ms >= current)
        return false;
    return true;
}

static void strop_eval_expire(const versions_t *cur, const version_t *v, uint64_t now_ms,
                              const strop_op_t *op, strop_result_t *res)
{
    if (!strop_expire_allowed(v, op)) {
        strop_reply_int(res, 0);
        return;
    }
    strop_reply_int(res, 1);
    if (op->when_ms <= (int64_t)now_ms)
        strop_write(res, cur, NULL, 0, 0, true);
    else
        strop_rewrite(res, cur, v, (uint64_t)op->when_ms);
}

static void strop_eval_append(const versions_t *cur, const version_t *v, const strop_op_t *op,
                              strop_result_t *res)
{
    size_t old = v ? v->value_len : 0;
    if (old > op->value_len_max || op->value_len > op->value_len_max - old) {
        strop_reply_error(res, STROP_ERR_TOO_BIG);
        return;
    }
    buf_clear(&res->scratch);
    if (v)
        buf_append(&res->scratch, v->value, v->value_len);
    buf_append(&res->scratch, op->value, op->value_len);
    strop_write(res, cur, res->scratch.data, res->scratch.len, v ? v->expire_at_ms : 0, false);
    strop_reply_int(res, (int64_t)res->scratch.len);
}

static void strop_eval_ttl(const version_t *v, uint64_t now_ms, const strop_op_t *op,
                           strop_result_t *res)
{
    if (!v) {
        strop_reply_int(res, -2);
        return;
    }
    if (v->expire_at_ms == 0) {
        strop_reply_int(res, -1);
        return;
    }
    int64_t ttl = v->expire_at_ms > now_ms ? (int64_t)(v->expire_at_ms - now_ms) : 0;
    strop_reply_int(res, (op->flags & STROP_F_MS) ? ttl : (ttl + 500) / 1000);
}

/* DYN.PUT and DYN.DEL: writes from the client's context. */
static void strop_eval_dyn(const versions_t *cur, uint64_t now_ms, const strop_op_t *op,
                           strop_result_t *res)
{
    if (op->kind == STROP_DYN_PUT) {
        res->reply = STROP_REPLY_OK;
        res->has_write = true;
    } else {
        int64_t covered = 0;
        for (uint32_t i = 0; cur && i < cur->len; i++)
            covered |= !version_is_dead(&cur->items[i], now_ms) &&
                       vclock_covers(&op->context, cur->items[i].dot);
        strop_reply_int(res, covered);
        res->has_write = covered != 0;
    }
    vclock_copy(&res->context, &op->context);
    bool tomb = op->kind == STROP_DYN_DEL;
    res->write = (version_write_t){.context = &res->context,
                                   .value = tomb ? NULL : op->value,
                                   .value_len = tomb ? 0 : op->value_len,
                                   .expire_at_ms = op->expire == STROP_EXPIRE_AT && !tomb
                                                       ? (uint64_t)op->when_ms
                                                       : 0,
                                   .tombstone = tomb};
}

/* The commands that need exactly one live version (n >= 1 here). */
static void strop_eval_single(const versions_t *cur, const version_t *v, uint64_t now_ms,
                              const strop_op_t *op, strop_result_t *res)
{
    switch (op->kind) {
    case STROP_GETDEL:
        strop_reply_value(res, v);
        strop_write(res, cur, NULL, 0, 0, true);
        break;
    case STROP_GETEX:
        strop_eval_getex(cur, v, now_ms, op, res);
        break;
    case STROP_APPEND:
        strop_eval_append(cur, v, op, res);
        break;
    case STROP_STRLEN:
        strop_reply_int(res, (int64_t)v->value_len);
        break;
    case STROP_EXPIRE:
        strop_eval_expire(cur, v, now_ms, op, res);
        break;
    case STROP_PERSIST:
        strop_reply_int(res, v->expire_at_ms != 0);
        if (v->expire_at_ms != 0)
            strop_rewrite(res, cur, v, 0);
        break;
    default: /* STROP_TTL */
        strop_eval_ttl(v, now_ms, op, res);
        break;
    }
}

/* The reply for a key with no live version, of the commands that need one. */
static void strop_eval_absent(const versions_t *cur, const strop_op_t *op, strop_result_t *res)
{
    switch (op->kind) {
    case STROP_GETDEL:
    case STROP_GETEX:
        res->reply = STROP_REPLY_NIL;
        break;
    case STROP_APPEND:
        strop_eval_append(cur, NULL, op, res);
        break;
    case STROP_TTL:
        strop_eval_ttl(NULL, 0, op, res);
        break;
    default: /* STRLEN EXPIRE PERSIST */
        strop_reply_int(res, 0);
        break;
    }
}

void strop_eval(const versions_t *current, uint64_t now_ms, const strop_op_t *op,
                strop_result_t *res)
{
    uint32_t n = current ? versions_live_count(current, now_ms) : 0;
    const version_t *v = n ? versions_live_at(current, now_ms, 0) : NULL;
    res->has_write = false;
    res->values = NULL;
    res->text = NULL;
    res->integer = 0;
    switch (op->kind) {
    case STROP_GET:
        res->reply = n ? STROP_REPLY_VALUES : STROP_REPLY_NIL;
        res->values = current;
        return;
    case STROP_SET:
        strop_eval_set(current, n, v, op, res);
        return;
    case STROP_DEL:
        strop_reply_int(res, n > 0);
        if (n > 0)
            strop_write(res, current, NULL, 0, 0, true);
        return;
    case STROP_EXISTS:
        strop_reply_int(res, n > 0);
        return;
    case STROP_TYPE:
        res->reply = STROP_REPLY_STATUS;
        res->text = n ? "string" : "none";
        return;
    case STROP_DYN_PUT:
    case STROP_DYN_DEL:
        strop_eval_dyn(current, now_ms, op, res);
        return;
    default:
        break;
    }
    if (n > 1) {
        res->reply = STROP_REPLY_CONFLICT;
        res->integer = n;
    } else if (n == 0) {
        strop_eval_absent(current, op, res);
    } else {
        strop_eval_single(current, v, now_ms, op, res);
    }
}
