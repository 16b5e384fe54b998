/* strop_fixture.h - helpers shared by the string-operation suites
 * (test_strop.c over a bare version set, test_keyspace.c over a store):
 * the command name to strop kind table and the argument lengths of a
 * NULL-terminated argv. Included once by each suite, after check_main.h. */
#ifndef DYNIS_TESTS_STROP_FIXTURE_H
#define DYNIS_TESTS_STROP_FIXTURE_H

#include <string.h>

#include "core/strop.h"

/* The strop kind of the lowercase command name (the test aborts on others). */
static enum strop_kind strop_fixture_kind(const char *name)
{
    static const struct { const char *name; enum strop_kind kind; } kinds[] = {
        {"get", STROP_GET},         {"set", STROP_SET},         {"getdel", STROP_GETDEL},
        {"getex", STROP_GETEX},     {"append", STROP_APPEND},   {"strlen", STROP_STRLEN},
        {"expire", STROP_EXPIRE},   {"pexpire", STROP_EXPIRE},  {"expireat", STROP_EXPIRE},
        {"pexpireat", STROP_EXPIRE}, {"persist", STROP_PERSIST}, {"ttl", STROP_TTL},
        {"pttl", STROP_TTL},        {"del", STROP_DEL},         {"exists", STROP_EXISTS},
        {"type", STROP_TYPE},       {"dyn.put", STROP_DYN_PUT}, {"dyn.del", STROP_DYN_DEL},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].name, name))
            return kinds[i].kind;
    ck_abort_msg("unknown command %s", name);
    return STROP_GET;
}

/* Fills lens (args_max slots, caller's) with the lengths of the
 * NULL-terminated argv and returns argc (the test fails past args_max). */
static int strop_fixture_lens(const char **argv, size_t *lens, int args_max)
{
    int argc = 0;
    while (argv[argc]) {
        ck_assert_int_lt(argc, args_max);
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    return argc;
}

#endif
