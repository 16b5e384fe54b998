/* cmd_cluster.h - the CLUSTER command.
 *
 * INFO NODES SLOTS SHARDS MYID KEYSLOT HELP render from the node's ring and
 * view (cluster_reply.h, sources from server_api's cluster_src). The
 * subcommands that change the cluster go to the shell through server_api:
 *   MEET ip port [cport]  numeric address checked as Redis does ("ERR Invalid
 *                         node address specified: ip:port"); the bus at
 *                         cport (default port + 10000) is asked for its node
 *                         id and the node joins the view once it answers;
 *                         replies +OK at once, as Redis does;
 *   FORGET id             removes the node from the view and the ring;
 *   LEAVE                 (dynis) this node leaves the ring, its data moves
 *                         to the remaining nodes. */
#ifndef DYNIS_PROTO_CMD_CLUSTER_H
#define DYNIS_PROTO_CMD_CLUSTER_H

#include "proto/command.h"

void cmd_cluster(cmd_ctx_t *ctx);

#endif
