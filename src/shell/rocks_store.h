/* rocks_store.h - store_t (src/core/store.h) over RocksDB's C API.
 *
 * One RocksDB database in a directory, with the column families data, hints,
 * merkle and meta (created when missing). Writes are staged in a write_stage
 * (write_stage.h: the round's writes, deduplicated by key): gets see them at
 * once, and rocks_store_commit writes each staged key once, with its last
 * value, in one atomic, WAL-logged WriteBatch. The server commits once per
 * event-loop round, before it sends any reply, so a write is in RocksDB's WAL
 * before it is acknowledged; sync_commits decides whether that write is also
 * fsync'ed (appendfsync always), else rocks_store_sync_wal does it on a timer
 * (everysec) or nobody does (no).
 *
 * Reads of the data family look in a hot-key cache first (read_cache.h:
 * filled by reads, kept equal to the store by puts and deletes), then go
 * through RocksDB's row cache and a bloom-filtered block cache tuned for
 * point lookups.
 *
 * Expired data: the node reclaims dead keys itself (with its active expiry
 * cycle, keeping its keyspace's key counts exact). Behind it, a compaction
 * filter on the data family decodes each version set (src/core/versions.h)
 * and drops a key every version of which expired (tombstones carry their
 * reclaim time as expiry) more than ROCKS_FILTER_GRACE_MS ago, so expired
 * data the cycle has not reached yet does not pile up on disk either.
 *
 * Scans and del_range first commit what is staged (so a scan sees it, and a
 * range deletion, which RocksDB applies directly, keeps its place in the
 * order of operations); those writes only become durable earlier. A range
 * tombstone slows every later read of its family until compaction drops it,
 * so del_range stages one delete per key for up to ROCKS_DEL_RANGE_KEYS_MAX
 * keys, and compacts a larger range right after deleting it. Scan
 * callbacks may write to the store: a scan reads the range in chunks and
 * re-seeks after each. */
#ifndef DYNIS_SHELL_ROCKS_STORE_H
#define DYNIS_SHELL_ROCKS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/store.h"
#include "util/buf.h"

/* Cache sizes (DESIGN.md section 8: the row cache is what makes GET fast). */
#define ROCKS_ROW_CACHE_BYTES ((size_t)64 * 1024 * 1024)
#define ROCKS_BLOCK_CACHE_MB 64
/* Staged writes (keys, or bytes of keys and values) that make a put or del
 * commit at once instead of at the end of the round. */
#define ROCKS_STAGE_ENTRIES_MAX 65536
#define ROCKS_STAGE_BYTES_MAX ((size_t)64 * 1024 * 1024)
/* How long after the last expiry of a key the compaction filter drops it
 * (the node's own reclaiming normally comes first). */
#define ROCKS_FILTER_GRACE_MS ((uint64_t)60 * 60 * 1000)
/* A scan copies at most this many entries (or bytes) per chunk. */
#define ROCKS_SCAN_CHUNK_ENTRIES 256
#define ROCKS_SCAN_CHUNK_BYTES ((size_t)1024 * 1024)
/* del_range deletes ranges of at most this many keys key by key. */
#define ROCKS_DEL_RANGE_KEYS_MAX 1024

typedef struct rocks_store rocks_store_t;

/* Opens (creating when missing) the database in dir, which must exist.
 * sync_commits: fsync the WAL on every commit. Returns the store, owned by
 * the caller (rocks_store_close), or NULL with RocksDB's reason appended to
 * err. */
rocks_store_t *rocks_store_open(const char *dir, bool sync_commits, buf_t *err);
/* Commits what is staged, syncs the WAL, closes the database and frees rs. */
void rocks_store_close(rocks_store_t *rs);

/* The store_t interface of rs (borrowing rs; valid until close). */
store_t *rocks_store_store(rocks_store_t *rs);

/* Writes the staged batch in one write. Returns STORE_OK (also when nothing
 * was staged) or STORE_EIO with the reason appended to err. A failure is
 * sticky (every later commit fails too): the lost batch may hold writes of
 * earlier requests of the round, and none of them may be acknowledged. */
int rocks_store_commit(rocks_store_t *rs, buf_t *err);
/* True when writes are staged and not yet committed. */
bool rocks_store_pending(const rocks_store_t *rs);
/* True once a commit failed (also an early one of stage_bound or a scan,
 * whose puts had already answered STORE_OK): the server must not
 * acknowledge anything any more. */
bool rocks_store_failed(const rocks_store_t *rs);
/* Syncs the WAL to disk (appendfsync everysec). */
int rocks_store_sync_wal(rocks_store_t *rs, buf_t *err);
void rocks_store_set_sync_commits(rocks_store_t *rs, bool sync_commits);
/* Compacts the whole of cf now (the tests use it to run the filter). */
void rocks_store_compact(rocks_store_t *rs, enum store_cf cf);
/* Changes the compaction filter's grace (tests). */
void rocks_store_set_filter_grace(rocks_store_t *rs, uint64_t grace_ms);

/* A RocksDB integer property of cf ("rocksdb.estimate-live-data-size"...);
 * 0 when RocksDB does not know it. */
uint64_t rocks_store_property(rocks_store_t *rs, enum store_cf cf, const char *name);
/* Bytes held by the row cache and the data family's block cache. */
uint64_t rocks_store_cache_bytes(rocks_store_t *rs);
/* Counters for INFO: commits written and keys the expiry filter dropped. */
uint64_t rocks_store_commits(const rocks_store_t *rs);
uint64_t rocks_store_filtered_keys(const rocks_store_t *rs);

#endif
