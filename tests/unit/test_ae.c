/* test_ae.c - Check suite for src/core/ae: the message codec (round trips,
 * strict rejection), and sessions between two in-memory replicas driven by a
 * bounded message loop: convergence with keys on one side, newer versions and
 * concurrent siblings, tight message bounds, slot masks, traffic that grows
 * with the differences and not with the keys stored, timeouts and stale
 * messages. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/ae.h"
#include "core/mem_store.h"
#include "core/merkle.h"
#include "core/slot.h"
#include "core/versions.h"
#include "util/pcg.h"

#define TEST_KEY_LEN_MAX 32
#define TEST_ROUNDS_MAX 100000
#define TEST_PEER_A 101
#define TEST_PEER_B 202
#define TEST_SCALE_DIFFS 50
#define TEST_SCALE_KEYS_FEW 2000
#define TEST_SCALE_KEYS_MANY 300000
#define TEST_SCALE_BYTES_PER_DIFF 512

typedef struct replica {
    uint64_t id;
    mem_store_t *ms;
    store_t st;
    merkle_t *tree;
    ae_t *ae;
    merkle_slots_t local; /* slots it replicates */
} replica_t;

static void data_key(buf_t *out, const char *key)
{
    size_t len = strlen(key);
    slot_data_key(out, slot_of_key(key, len), key, len);
}

static void key_name(char out[TEST_KEY_LEN_MAX], uint32_t i)
{
    snprintf(out, TEST_KEY_LEN_MAX, "k%u", i);
}

/* The replica's write path: merge incoming into the stored set, update the tree. */
static int replica_merge(void *arg, const void *key, size_t key_len, const versions_t *incoming)
{
    replica_t *r = arg;
    buf_t old = BUF_INIT, enc = BUF_INIT;
    versions_t cur = VERSIONS_INIT, before = VERSIONS_INIT;
    int rc = store_get(&r->st, STORE_CF_DATA, key, key_len, &old);
    if (rc == 1 && versions_decode(&cur, old.data, old.len) != VERSIONS_OK)
        rc = -1;
    if (rc >= 0) {
        versions_copy(&before, &cur);
        rc = 0;
        if (versions_merge(&cur, incoming)) {
            versions_encode(&cur, &enc);
            rc = store_put(&r->st, STORE_CF_DATA, key, key_len, enc.data, enc.len);
            if (rc == 0)
                rc = merkle_update_key(r->tree, key, key_len, &before, &cur);
        }
    }
    versions_free(&cur);
    versions_free(&before);
    buf_free(&old);
    buf_free(&enc);
    return rc;
}

static void replica_local_slots(void *arg, merkle_slots_t *out)
{
    replica_t *r = arg;
    *out = r->local;
}

static void replica_init(replica_t *r, uint64_t id, const ae_config_t *cfg)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    r->ms = mem_store_new();
    r->st = mem_store_as_store(r->ms);
    r->tree = merkle_new(&r->st);
    ck_assert_int_eq(merkle_load(r->tree, NULL), 0);
    merkle_slots_fill(&r->local);
    ae_ops_t ops = {replica_merge, replica_local_slots, r};
    r->ae = ae_new(cfg, &ops, r->tree, &r->st);
}

static void replica_free(replica_t *r)
{
    ae_free(r->ae);
    merkle_free(r->tree);
    mem_store_free(r->ms);
}

/* A coordinator write to key by actor: supersedes what r holds when
 * supersede, else concurrent with it (empty context). */
static void replica_write(replica_t *r, const char *key, uint64_t actor, const char *value,
                          bool supersede)
{
    buf_t dkey = BUF_INIT, old = BUF_INIT, enc = BUF_INIT;
    versions_t vs = VERSIONS_INIT, before = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    data_key(&dkey, key);
    if (store_get(&r->st, STORE_CF_DATA, dkey.data, dkey.len, &old) == 1)
        ck_assert_int_eq(versions_decode(&vs, old.data, old.len), VERSIONS_OK);
    versions_copy(&before, &vs);
    if (supersede)
        versions_context(&vs, &ctx);
    version_write_t w = {&ctx, value, strlen(value), 0, false};
    dot_t dot;
    ck_assert_int_eq(versions_write(&vs, actor, 1000, &w, &dot), VERSIONS_OK);
    versions_encode(&vs, &enc);
    ck_assert_int_eq(store_put(&r->st, STORE_CF_DATA, dkey.data, dkey.len, enc.data, enc.len), 0);
    ck_assert_int_eq(merkle_update_key(r->tree, dkey.data, dkey.len, &before, &vs), 0);
    vclock_free(&ctx);
    versions_free(&vs);
    versions_free(&before);
    buf_free(&dkey);
    buf_free(&old);
    buf_free(&enc);
}

/* Replicates key from src to dst through dst's write path. */
static void replica_copy(replica_t *dst, replica_t *src, const char *key)
{
    buf_t dkey = BUF_INIT, val = BUF_INIT;
    versions_t vs = VERSIONS_INIT;
    data_key(&dkey, key);
    ck_assert_int_eq(store_get(&src->st, STORE_CF_DATA, dkey.data, dkey.len, &val), 1);
    ck_assert_int_eq(versions_decode(&vs, val.data, val.len), VERSIONS_OK);
    ck_assert_int_eq(replica_merge(dst, dkey.data, dkey.len, &vs), 0);
    versions_free(&vs);
    buf_free(&dkey);
    buf_free(&val);
}

/* key's live sibling count at r (0: absent). */
static uint32_t sibling_count(replica_t *r, const char *key)
{
    buf_t dkey = BUF_INIT, val = BUF_INIT;
    versions_t vs = VERSIONS_INIT;
    data_key(&dkey, key);
    uint32_t n = 0;
    if (store_get(&r->st, STORE_CF_DATA, dkey.data, dkey.len, &val) == 1) {
        ck_assert_int_eq(versions_decode(&vs, val.data, val.len), VERSIONS_OK);
        n = vs.len;
    }
    versions_free(&vs);
    buf_free(&dkey);
    buf_free(&val);
    return n;
}

typedef struct dump {
    buf_t bytes;
} dump_t;

static int dump_fn(void *arg, const void *key, size_t key_len, const void *val, size_t val_len)
{
    dump_t *d = arg;
    buf_put_bytes(&d->bytes, key, key_len);
    buf_put_bytes(&d->bytes, val, val_len);
    return 0;
}

/* Asserts both replicas store the same keys with the same version sets. */
static void assert_same_data(replica_t *a, replica_t *b)
{
    dump_t da = {BUF_INIT}, db = {BUF_INIT};
    ck_assert_int_eq(store_scan(&a->st, STORE_CF_DATA, NULL, 0, NULL, 0, dump_fn, &da), 0);
    ck_assert_int_eq(store_scan(&b->st, STORE_CF_DATA, NULL, 0, NULL, 0, dump_fn, &db), 0);
    ck_assert_uint_eq(da.bytes.len, db.bytes.len);
    ck_assert_int_eq(memcmp(da.bytes.data, db.bytes.data, da.bytes.len), 0);
    ck_assert_uint_eq(merkle_root(a->tree), merkle_root(b->tree));
    buf_free(&da.bytes);
    buf_free(&db.bytes);
}

typedef struct traffic {
    uint64_t msgs;
    uint64_t bytes;
    uint32_t rounds;
} traffic_t;

/* Delivers out's messages between a and b until none is left (bounded). */
static traffic_t pump(replica_t *a, replica_t *b, ae_outbox_t *out)
{
    ae_outbox_t next = AE_OUTBOX_INIT;
    traffic_t t = {0, 0, 0};
    while (out->len > 0 && t.rounds < TEST_ROUNDS_MAX) {
        for (uint32_t i = 0; i < out->len; i++) {
            replica_t *to = out->items[i].peer == b->id ? b : a;
            replica_t *from = to == b ? a : b;
            t.msgs++;
            t.bytes += out->items[i].bytes.len;
            ck_assert_int_eq(ae_handle_message(to->ae, 5000, from->id, out->items[i].bytes.data,
                                               out->items[i].bytes.len, &next),
                             AE_OK);
        }
        ae_outbox_clear(out);
        ae_outbox_t tmp = *out;
        *out = next;
        next = tmp;
        t.rounds++;
    }
    ck_assert_uint_eq(out->len, 0);
    ae_outbox_free(&next);
    return t;
}

/* Runs one session a -> b over shared (NULL: every slot). */
static traffic_t sync_once(replica_t *a, replica_t *b, const merkle_slots_t *shared)
{
    merkle_slots_t all;
    merkle_slots_fill(&all);
    ae_outbox_t out = AE_OUTBOX_INIT;
    ck_assert_int_eq(ae_session_start(a->ae, 1000, b->id, shared ? shared : &all, &out), AE_OK);
    traffic_t t = pump(a, b, &out);
    ck_assert_uint_eq(ae_sessions(a->ae), 0);
    ck_assert_uint_eq(ae_sessions(b->ae), 0);
    ae_outbox_free(&out);
    return t;
}

/* a and b share keys 0..n-1; then each side diverges in its own ways. */
static void build_divergent(replica_t *a, replica_t *b, uint32_t n, uint64_t seed)
{
    char key[TEST_KEY_LEN_MAX];
    pcg32_t rng;
    pcg32_seed(&rng, seed, 7);
    for (uint32_t i = 0; i < n; i++) {
        key_name(key, i);
        replica_write(a, key, 1, "base", true);
        replica_copy(b, a, key);
    }
    for (uint32_t i = 0; i < n / 4; i++) {
        key_name(key, pcg32_bounded(&rng, n));
        switch (pcg32_bounded(&rng, 4)) {
        case 0: /* a newer version on one side */
            replica_write(a, key, 1, "newer-a", true);
            break;
        case 1:
            replica_write(b, key, 2, "newer-b", true);
            break;
        default: /* concurrent writes on both sides */
            replica_write(a, key, 1, "conc-a", true);
            replica_write(b, key, 2, "conc-b", true);
            break;
        }
    }
    for (uint32_t i = 0; i < n / 8; i++) { /* keys only on one side */
        key_name(key, n + i);
        replica_write(i % 2 ? a : b, key, i % 2 ? 1 : 2, "only", true);
    }
}

START_TEST(codec_round_trip_and_strict)
{
    ae_msg_t m, d;
    ae_msg_init(&m);
    m.type = AE_MSG_DIGESTS;
    m.sid = 77;
    m.seq = 3;
    uint8_t start[2] = {0, 5}, k1[4] = {0, 5, 'a', 'b'}, k2[3] = {0, 5, 'c'}, end[3] = {0, 5, 'd'};
    ae_kv_t kv = {{k1, sizeof k1}, {(const uint8_t *)"vv", 2}};
    ae_digest_t digests[2] = {{{k1, sizeof k1}, 11}, {{k2, sizeof k2}, 12}};
    uint64_t buckets = 1ULL << merkle_key_bucket(k1, sizeof k1) |
                       1ULL << merkle_key_bucket(k2, sizeof k2);
    ae_segment_t seg = {5, buckets, {start, 2}, {end, 3}, 0, 2};
    m.kvs = &kv;
    m.n_kvs = 1;
    m.digests = digests;
    m.n_digests = 2;
    m.segments = &seg;
    m.n_segments = 1;
    buf_t b = BUF_INIT;
    ae_msg_encode(&m, &b);
    ck_assert(ae_msg_decode(&d, b.data, b.len));
    ck_assert_uint_eq(d.sid, 77);
    ck_assert_uint_eq(d.seq, 3);
    ck_assert_uint_eq(d.n_kvs, 1);
    ck_assert_uint_eq(d.n_digests, 2);
    ck_assert_uint_eq(d.digests[1].hash, 12);
    ck_assert_uint_eq(d.segments[0].slot, 5);
    ck_assert_uint_eq(d.segments[0].buckets, buckets);
    ck_assert_int_eq(memcmp(d.digests[0].key.p, k1, sizeof k1), 0);
    ae_msg_free(&d);
    for (size_t len = 0; len < b.len; len++) /* every truncation fails */
        ck_assert(!ae_msg_decode(&d, b.data, len));
    buf_append_byte(&b, 0);
    ck_assert(!ae_msg_decode(&d, b.data, b.len));
    /* a digest outside its segment's buckets, or range, is refused */
    seg.buckets = 1ULL << merkle_key_bucket(k1, sizeof k1);
    if (seg.buckets != buckets) {
        buf_clear(&b);
        ae_msg_encode(&m, &b);
        ck_assert(!ae_msg_decode(&d, b.data, b.len));
    }
    seg.buckets = 0;
    buf_clear(&b);
    ae_msg_encode(&m, &b);
    ck_assert(!ae_msg_decode(&d, b.data, b.len));
    seg.buckets = UINT64_MAX;
    digests[1].key = (ae_bytes_t){end, sizeof end};
    buf_clear(&b);
    ae_msg_encode(&m, &b);
    ck_assert(!ae_msg_decode(&d, b.data, b.len));
    buf_free(&b);
}
END_TEST

START_TEST(codec_start_and_tree)
{
    ae_msg_t m, d;
    ae_node_hash_t nodes[2] = {{3, 30}, {9, 90}};
    uint32_t parents[2] = {0, 1};
    ae_msg_init(&m);
    m.type = AE_MSG_START;
    m.from_initiator = true;
    merkle_slots_clear(&m.slots);
    merkle_slots_add_range(&m.slots, 10, 20);
    merkle_slots_add(&m.slots, SLOT_COUNT - 1);
    m.nodes = nodes;
    m.n_nodes = 1;
    nodes[0].index = 0;
    buf_t b = BUF_INIT;
    ae_msg_encode(&m, &b);
    ck_assert(ae_msg_decode(&d, b.data, b.len));
    ck_assert(d.from_initiator);
    ck_assert_uint_eq(merkle_slots_count(&d.slots), 12);
    ck_assert(merkle_slots_has(&d.slots, SLOT_COUNT - 1));
    ck_assert_uint_eq(d.n_nodes, 1);
    ck_assert_uint_eq(d.nodes[0].hash, 30);
    ae_msg_free(&d);
    /* a TREE: two parents at level 1, children of the first and the second */
    m.type = AE_MSG_TREE;
    m.level = 2;
    nodes[0].index = 3;
    nodes[1].index = 16 + 9;
    m.n_nodes = 2;
    m.parents = parents;
    m.n_parents = 2;
    buf_clear(&b);
    ae_msg_encode(&m, &b);
    ck_assert(ae_msg_decode(&d, b.data, b.len));
    ck_assert_uint_eq(d.n_parents, 2);
    ck_assert_uint_eq(d.parents[1], 1);
    ck_assert_uint_eq(d.n_nodes, 2);
    ck_assert_uint_eq(d.nodes[1].index, 16 + 9);
    ck_assert_uint_eq(d.nodes[1].hash, 90);
    ae_msg_free(&d);
    for (size_t len = 0; len < b.len; len++) /* every truncation fails */
        ck_assert(!ae_msg_decode(&d, b.data, len));
    /* parents out of order, a zero hash, levels 0 and past the leaves: refused */
    parents[0] = 1;
    m.n_nodes = 0;
    buf_clear(&b);
    ae_msg_encode(&m, &b);
    ck_assert(!ae_msg_decode(&d, b.data, b.len));
    parents[0] = 0;
    m.n_nodes = 1;
    nodes[0].hash = 0;
    buf_clear(&b);
    ae_msg_encode(&m, &b);
    ck_assert(!ae_msg_decode(&d, b.data, b.len));
    nodes[0].hash = 30;
    m.n_parents = 1;
    m.level = 1;
    buf_clear(&b);
    ae_msg_encode(&m, &b);
    ck_assert(ae_msg_decode(&d, b.data, b.len));
    ae_msg_free(&d);
    b.data[b.len - 8 - 2 - 1 - 1 - 1] = 0; /* the level byte: 1 parent, step 0, bitmap, hash */
    ck_assert(!ae_msg_decode(&d, b.data, b.len));
    m.level = MERKLE_LEVELS; /* no such level */
    buf_clear(&b);
    ae_msg_encode(&m, &b);
    ck_assert(!ae_msg_decode(&d, b.data, b.len));
    buf_free(&b);
}
END_TEST

/* Random corruptions of real session messages never crash a decoder or a
 * session: each either decodes cleanly or is refused. */
START_TEST(corrupt_messages_are_refused)
{
    ae_config_t cfg;
    replica_t a, b;
    merkle_slots_t all;
    pcg32_t rng;
    ae_outbox_t out = AE_OUTBOX_INIT;
    ae_config_default(&cfg);
    replica_init(&a, TEST_PEER_A, &cfg);
    replica_init(&b, TEST_PEER_B, &cfg);
    build_divergent(&a, &b, 200, 9);
    merkle_slots_fill(&all);
    pcg32_seed(&rng, 5, 5);
    ck_assert_int_eq(ae_session_start(a.ae, 0, b.id, &all, &out), AE_OK);
    for (int step = 0; step < 12 && out.len > 0; step++) {
        buf_t *msg = &out.items[0].bytes;
        replica_t *to = out.items[0].peer == b.id ? &b : &a;
        for (int i = 0; i < 300; i++) {
            buf_t bad = BUF_INIT;
            buf_append(&bad, msg->data, msg->len);
            for (uint32_t f = 0; f < 1 + pcg32_bounded(&rng, 3); f++)
                bad.data[pcg32_bounded(&rng, (uint32_t)bad.len)] ^= (char)(1 + pcg32_bounded(&rng, 255));
            ae_msg_t m;
            if (ae_msg_decode(&m, bad.data, bad.len))
                ae_msg_free(&m);
            buf_free(&bad);
        }
        ae_outbox_t next = AE_OUTBOX_INIT;
        ck_assert_int_eq(ae_handle_message(to->ae, 1, to == &b ? a.id : b.id, msg->data,
                                           msg->len, &next), AE_OK);
        ae_outbox_free(&out);
        out = next;
    }
    /* the intact messages still ran the session to its end */
    ck_assert_uint_eq(out.len, 0);
    ck_assert_uint_eq(ae_stats(a.ae)->completed, 1);
    assert_same_data(&a, &b);
    ae_outbox_free(&out);
    replica_free(&a);
    replica_free(&b);
}
END_TEST

START_TEST(identical_replicas_end_at_root)
{
    ae_config_t cfg;
    replica_t a, b;
    char key[TEST_KEY_LEN_MAX];
    ae_config_default(&cfg);
    replica_init(&a, TEST_PEER_A, &cfg);
    replica_init(&b, TEST_PEER_B, &cfg);
    for (uint32_t i = 0; i < 500; i++) {
        key_name(key, i);
        replica_write(&a, key, 1, "v", true);
        replica_copy(&b, &a, key);
    }
    traffic_t t = sync_once(&a, &b, NULL);
    ck_assert_uint_eq(t.msgs, 2); /* START, END(in sync) */
    ck_assert_uint_eq(ae_stats(a.ae)->in_sync, 1);
    ck_assert_uint_eq(ae_stats(b.ae)->in_sync, 1);
    ck_assert_uint_eq(ae_stats(a.ae)->keys_exchanged, 0);
    replica_free(&a);
    replica_free(&b);
}
END_TEST

static void check_converges(uint32_t keys_per_msg, uint64_t bytes_per_msg, uint64_t seed)
{
    ae_config_t cfg;
    replica_t a, b;
    ae_config_default(&cfg);
    cfg.keys_per_msg_max = keys_per_msg;
    cfg.msg_bytes_max = bytes_per_msg;
    replica_init(&a, TEST_PEER_A, &cfg);
    replica_init(&b, TEST_PEER_B, &cfg);
    build_divergent(&a, &b, 2000, seed);
    ck_assert_uint_ne(merkle_root(a.tree), merkle_root(b.tree));
    sync_once(&a, &b, NULL);
    assert_same_data(&a, &b);
    ck_assert_uint_eq(ae_stats(a.ae)->completed, 1);
    ck_assert_uint_eq(ae_stats(b.ae)->completed, 1);
    ck_assert_uint_eq(ae_stats(a.ae)->failed + ae_stats(b.ae)->failed, 0);
    /* a second session finds nothing to do */
    traffic_t t = sync_once(&b, &a, NULL);
    ck_assert_uint_eq(t.msgs, 2);
    replica_free(&a);
    replica_free(&b);
}

START_TEST(divergent_replicas_converge)
{
    check_converges(256, 1024 * 1024, 1);
}
END_TEST

START_TEST(converge_under_tight_bounds)
{
    check_converges(3, 1, 2);   /* cuts after every few keys, one value per message */
    check_converges(1, 64, 3);
}
END_TEST

START_TEST(concurrent_siblings_kept)
{
    ae_config_t cfg;
    replica_t a, b;
    ae_config_default(&cfg);
    replica_init(&a, TEST_PEER_A, &cfg);
    replica_init(&b, TEST_PEER_B, &cfg);
    replica_write(&a, "cart", 1, "apple", false);
    replica_write(&b, "cart", 2, "pear", false);
    replica_write(&a, "only-a", 1, "x", false);
    replica_write(&b, "only-b", 2, "y", false);
    sync_once(&a, &b, NULL);
    assert_same_data(&a, &b);
    ck_assert_uint_eq(sibling_count(&a, "cart"), 2);
    ck_assert_uint_eq(sibling_count(&b, "only-a"), 1);
    ck_assert_uint_eq(sibling_count(&a, "only-b"), 1);
    /* a write that supersedes both siblings wins on both sides after sync */
    replica_write(&b, "cart", 2, "apple+pear", true);
    sync_once(&b, &a, NULL);
    assert_same_data(&a, &b);
    ck_assert_uint_eq(sibling_count(&a, "cart"), 1);
    replica_free(&a);
    replica_free(&b);
}
END_TEST

/* d differences among n keys: what the session moved. */
static traffic_t traffic_for(uint32_t n, uint32_t d)
{
    ae_config_t cfg;
    replica_t a, b;
    char key[TEST_KEY_LEN_MAX];
    ae_config_default(&cfg);
    replica_init(&a, TEST_PEER_A, &cfg);
    replica_init(&b, TEST_PEER_B, &cfg);
    for (uint32_t i = 0; i < n; i++) {
        key_name(key, i);
        replica_write(&a, key, 1, "0123456789", true);
        replica_copy(&b, &a, key);
    }
    for (uint32_t i = 0; i < d; i++) {
        key_name(key, i * 10);
        replica_write(&b, key, 2, "changed", true);
    }
    traffic_t t = sync_once(&a, &b, NULL);
    assert_same_data(&a, &b);
    ck_assert_uint_eq(t.bytes, ae_stats(a.ae)->bytes_sent + ae_stats(b.ae)->bytes_sent);
    /* each differing key is pushed once and comes back merged once */
    ck_assert_uint_eq(ae_stats(a.ae)->keys_exchanged, 2 * d);
    replica_free(&a);
    replica_free(&b);
    return t;
}

START_TEST(traffic_grows_with_differences_not_keys)
{
    traffic_t small = traffic_for(10000, 10);
    traffic_t large = traffic_for(10000, 1000);
    traffic_t few_keys = traffic_for(1000, 10);
    /* ten times the keys, the same differences: about the same traffic */
    ck_assert_uint_eq(small.msgs, few_keys.msgs);
    ck_assert_uint_lt(small.bytes, few_keys.bytes + few_keys.bytes / 2);
    /* 10 differences among 10000 keys: a few KiB, far less than the keys */
    ck_assert_uint_lt(small.bytes, 16 * 1024);
    ck_assert_uint_le(small.msgs, 10); /* START, 6 TREE, DIGESTS, SYNC, DIGESTS */
    ck_assert_uint_gt(large.bytes, 20 * small.bytes);
    /* and per difference, about the same cost */
    ck_assert_uint_lt(large.bytes / 1000, 4 * (small.bytes / 10));
}
END_TEST

/* The scale goal: with many keys per slot (300,000 keys: about 18
 * per slot) as with few (2,000), the bytes a session moves (both sides
 * together) stay under a fixed bound per differing key. (With one leaf per
 * slot they grew with the keys per slot: about 760 bytes per differing key
 * at 300,000 keys.) */
START_TEST(bytes_per_difference_independent_of_keys_stored)
{
    const uint32_t d = TEST_SCALE_DIFFS;
    traffic_t few = traffic_for(TEST_SCALE_KEYS_FEW, d);
    traffic_t many = traffic_for(TEST_SCALE_KEYS_MANY, d);
    fprintf(stderr, "ae bytes for %u differing keys: %llu with %u keys stored, %llu with %u\n",
            d, (unsigned long long)few.bytes, TEST_SCALE_KEYS_FEW,
            (unsigned long long)many.bytes, TEST_SCALE_KEYS_MANY);
    ck_assert_uint_lt(many.bytes, (uint64_t)d * TEST_SCALE_BYTES_PER_DIFF);
    ck_assert_uint_lt(few.bytes, (uint64_t)d * TEST_SCALE_BYTES_PER_DIFF);
}
END_TEST

/* Like pump, over a faulty link: drops and duplicates messages from rng. */
static void pump_faulty(replica_t *a, replica_t *b, ae_outbox_t *out, pcg32_t *rng)
{
    ae_outbox_t next = AE_OUTBOX_INIT;
    for (uint32_t round = 0; out->len > 0 && round < TEST_ROUNDS_MAX; round++) {
        for (uint32_t i = 0; i < out->len; i++) {
            replica_t *to = out->items[i].peer == b->id ? b : a;
            uint32_t copies = pcg32_bounded(rng, 20) == 0 ? 0 : 1 + (pcg32_bounded(rng, 5) == 0);
            for (uint32_t c = 0; c < copies; c++) {
                int rc = ae_handle_message(to->ae, 5000, to == b ? a->id : b->id,
                                           out->items[i].bytes.data, out->items[i].bytes.len,
                                           &next);
                ck_assert(c == 0 ? rc != AE_EMSG : rc == AE_ESTALE || rc == AE_OK);
            }
        }
        ae_outbox_clear(out);
        ae_outbox_t tmp = *out;
        *out = next;
        next = tmp;
    }
    ck_assert_uint_eq(out->len, 0);
    ae_outbox_free(&next);
}

START_TEST(converges_over_faulty_links)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        ae_config_t cfg;
        replica_t a, b;
        pcg32_t rng;
        merkle_slots_t all;
        ae_outbox_t out = AE_OUTBOX_INIT;
        pcg32_seed(&rng, seed, 3);
        ae_config_default(&cfg);
        cfg.keys_per_msg_max = 1 + pcg32_bounded(&rng, 40);
        cfg.msg_bytes_max = 1 + pcg32_bounded(&rng, 2000);
        replica_init(&a, TEST_PEER_A, &cfg);
        replica_init(&b, TEST_PEER_B, &cfg);
        merkle_slots_fill(&all);
        build_divergent(&a, &b, 400, seed);
        uint32_t sessions = 0;
        for (; sessions < 200 && merkle_root(a.tree) != merkle_root(b.tree); sessions++) {
            replica_t *from = sessions % 2 ? &a : &b, *to = from == &a ? &b : &a;
            ck_assert_int_eq(ae_session_start(from->ae, 0, to->id, &all, &out), AE_OK);
            pump_faulty(&a, &b, &out, &rng);
            ae_tick(a.ae, UINT64_MAX / 2, &out); /* whatever was lost times out */
            ae_tick(b.ae, UINT64_MAX / 2, &out);
            ae_outbox_clear(&out);
            ck_assert_uint_eq(ae_sessions(a.ae) + ae_sessions(b.ae), 0);
        }
        ck_assert_uint_lt(sessions, 200);
        assert_same_data(&a, &b);
        ae_outbox_free(&out);
        replica_free(&a);
        replica_free(&b);
    }
}
END_TEST

START_TEST(masks_limit_exchange)
{
    ae_config_t cfg;
    replica_t a, b;
    merkle_slots_t shared;
    ae_config_default(&cfg);
    replica_init(&a, TEST_PEER_A, &cfg);
    replica_init(&b, TEST_PEER_B, &cfg);
    uint16_t s_in = slot_of_key("in", 2), s_out = slot_of_key("out", 3);
    uint16_t s_theirs = slot_of_key("theirs", 6);
    ck_assert(s_in != s_out && s_in != s_theirs && s_out != s_theirs);
    merkle_slots_clear(&shared);
    merkle_slots_add(&shared, s_in);
    merkle_slots_add(&shared, s_theirs);
    merkle_slots_clear(&b.local); /* b does not replicate "theirs"'s slot */
    merkle_slots_add(&b.local, s_in);
    merkle_slots_add(&b.local, s_out);
    replica_write(&a, "in", 1, "x", true);
    replica_write(&a, "out", 1, "x", true);
    replica_write(&a, "theirs", 1, "x", true);
    sync_once(&a, &b, &shared);
    ck_assert_uint_eq(sibling_count(&b, "in"), 1);
    ck_assert_uint_eq(sibling_count(&b, "out"), 0);
    ck_assert_uint_eq(sibling_count(&b, "theirs"), 0);
    replica_free(&a);
    replica_free(&b);
}
END_TEST

START_TEST(timeouts_stale_and_busy)
{
    ae_config_t cfg;
    replica_t a, b;
    merkle_slots_t all;
    ae_outbox_t out = AE_OUTBOX_INIT, reply = AE_OUTBOX_INIT;
    ae_config_default(&cfg);
    cfg.sessions_max = 1;
    replica_init(&a, TEST_PEER_A, &cfg);
    replica_init(&b, TEST_PEER_B, &cfg);
    merkle_slots_fill(&all);
    replica_write(&a, "k", 1, "x", true);
    ck_assert_int_eq(ae_session_start(a.ae, 0, b.id, &all, &out), AE_OK);
    ck_assert_int_eq(ae_session_start(a.ae, 0, b.id, &all, &out), AE_EBUSY);
    ck_assert_uint_eq(ae_next_deadline(a.ae), cfg.timeout_ms);
    /* b answers; a duplicate of the START is ignored */
    ck_assert_int_eq(ae_handle_message(b.ae, 1, a.id, out.items[0].bytes.data,
                                       out.items[0].bytes.len, &reply), AE_OK);
    ck_assert_int_eq(ae_handle_message(b.ae, 1, a.id, out.items[0].bytes.data,
                                       out.items[0].bytes.len, &reply), AE_ESTALE);
    ck_assert_uint_eq(reply.len, 1);
    ck_assert_int_eq(ae_handle_message(a.ae, 1, 999, reply.items[0].bytes.data,
                                       reply.items[0].bytes.len, &out), AE_ESTALE);
    ck_assert_int_eq(ae_handle_message(a.ae, 1, b.id, "\x01", 1, &out), AE_EMSG);
    /* the reply is lost: both sides time out */
    ae_outbox_clear(&out);
    ae_tick(a.ae, cfg.timeout_ms - 1, &out);
    ck_assert_uint_eq(ae_sessions(a.ae), 1);
    ae_tick(a.ae, cfg.timeout_ms, &out);
    ae_tick(b.ae, cfg.timeout_ms + 1, &out);
    ck_assert_uint_eq(ae_sessions(a.ae) + ae_sessions(b.ae), 0);
    ck_assert_uint_eq(ae_stats(a.ae)->failed, 1);
    ck_assert_uint_eq(ae_stats(b.ae)->failed, 1);
    ck_assert_uint_eq(ae_next_deadline(a.ae), UINT64_MAX);
    /* b busy with one session refuses a second peer's START */
    ae_outbox_clear(&out);
    ae_outbox_clear(&reply);
    ck_assert_int_eq(ae_session_start(a.ae, 0, b.id, &all, &out), AE_OK);
    ck_assert_int_eq(ae_handle_message(b.ae, 1, a.id, out.items[0].bytes.data,
                                       out.items[0].bytes.len, &reply), AE_OK);
    ck_assert_int_eq(ae_handle_message(b.ae, 1, 303, out.items[0].bytes.data,
                                       out.items[0].bytes.len, &reply), AE_EBUSY);
    ck_assert_uint_eq(reply.len, 2);
    ae_outbox_free(&out);
    ae_outbox_free(&reply);
    replica_free(&a);
    replica_free(&b);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("ae");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, codec_round_trip_and_strict);
    tcase_add_test(tc, codec_start_and_tree);
    tcase_add_test(tc, corrupt_messages_are_refused);
    tcase_add_test(tc, identical_replicas_end_at_root);
    tcase_add_test(tc, divergent_replicas_converge);
    tcase_add_test(tc, converge_under_tight_bounds);
    tcase_add_test(tc, concurrent_siblings_kept);
    tcase_add_test(tc, traffic_grows_with_differences_not_keys);
    tcase_add_test(tc, bytes_per_difference_independent_of_keys_stored);
    tcase_add_test(tc, converges_over_faulty_links);
    tcase_add_test(tc, masks_limit_exchange);
    tcase_add_test(tc, timeouts_stale_and_busy);
    suite_add_tcase(s, tc);
    return s;
}
