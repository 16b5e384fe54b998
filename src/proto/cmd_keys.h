/* cmd_keys.h - the handlers of the keyspace commands (string and generic).
 *
 * The keyed handlers hand their operations to the cluster node (server_api's
 * node_begin and node_op; one operation per key for MGET MSET DEL EXISTS),
 * which parses them with strop_parse and coordinates them; the reply is
 * rendered from its answers by coord_reply_write.h. DBSIZE FLUSHALL FLUSHDB
 * SCAN KEYS are node-local: they read the node's keyspace
 * (src/core/keyspace.h), and FLUSH* empties it through server_api's node_flush.
 * The command table (command.c) has checked the arity before a handler runs.
 *
 * Replies follow Redis 7.0 for every key with at most one live version. With
 * siblings (several live versions after concurrent writes):
 *   GET                 an array of bulk strings, in sibling order;
 *   MGET                that array as the key's element (a nested array);
 *   SET, DEL, MSET      supersede every sibling;
 *   APPEND STRLEN GETEX GETDEL, SET ... GET, the EXPIRE family, PERSIST,
 *   TTL PTTL            "-CONFLICT key has N siblings; resolve with DYN.GET
 *                       and DYN.PUT".
 * The context commands:
 *   DYN.GET key                          -> [context, value1, value2, ...];
 *       the context is the printable encoding of what is stored (tombstones
 *       included), "" for a key never written; values are the live siblings.
 *   DYN.PUT key context value [EX s|PX ms] -> +OK; the new version supersedes
 *       exactly what the context covers.
 *   DYN.DEL key context                  -> :1 if it superseded a live version,
 *       else :0; writes a tombstone covering the context.
 *   A context that does not decode -> "-ERR invalid context".
 *   DYN.LOCAL key -> DYN.GET's reply for this node's own stored set, with no
 *       quorum and no read repair (for tests and operators comparing
 *       replicas): [""] when the node holds nothing for key; a tombstoned
 *       key gives [context] (a non-empty context, no values). */
#ifndef DYNIS_PROTO_CMD_KEYS_H
#define DYNIS_PROTO_CMD_KEYS_H

#include "proto/command.h"

void cmd_get(cmd_ctx_t *ctx);
void cmd_set(cmd_ctx_t *ctx);
void cmd_del(cmd_ctx_t *ctx);
void cmd_exists(cmd_ctx_t *ctx);
void cmd_mget(cmd_ctx_t *ctx);
void cmd_mset(cmd_ctx_t *ctx);
void cmd_expire(cmd_ctx_t *ctx);
void cmd_pexpire(cmd_ctx_t *ctx);
void cmd_expireat(cmd_ctx_t *ctx);
void cmd_pexpireat(cmd_ctx_t *ctx);
void cmd_ttl(cmd_ctx_t *ctx);
void cmd_pttl(cmd_ctx_t *ctx);
void cmd_persist(cmd_ctx_t *ctx);
void cmd_getdel(cmd_ctx_t *ctx);
void cmd_getex(cmd_ctx_t *ctx);
void cmd_strlen(cmd_ctx_t *ctx);
void cmd_append(cmd_ctx_t *ctx);
void cmd_dbsize(cmd_ctx_t *ctx);
void cmd_flushall(cmd_ctx_t *ctx);
void cmd_flushdb(cmd_ctx_t *ctx);
void cmd_scan(cmd_ctx_t *ctx);
void cmd_keys(cmd_ctx_t *ctx);
void cmd_type(cmd_ctx_t *ctx);
void cmd_dyn_get(cmd_ctx_t *ctx);
void cmd_dyn_put(cmd_ctx_t *ctx);
void cmd_dyn_del(cmd_ctx_t *ctx);
void cmd_dyn_local(cmd_ctx_t *ctx);

#endif
