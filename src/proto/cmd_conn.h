/* cmd_conn.h - the connection and server commands.
 *
 * PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT COMMAND CONFIG INFO TIME
 * SHUTDOWN, with Redis 7.0's replies and error texts. They change only the
 * client's state (ctx->client, and ctx->reply->resp for HELLO and RESET)
 * and reach the server through ctx->server (INFO text, CLIENT LIST, CONFIG,
 * SHUTDOWN, requirepass). The command table (command.c) checks arity and
 * authentication first; CLIENT, COMMAND and CONFIG check their subcommands'
 * arity themselves, with Redis's "'client|setname'" error texts.
 *
 * QUIT sets client->close_after_reply. SHUTDOWN, like Redis, writes no reply
 * when it succeeds: it calls server->shutdown and the connection closes. */
#ifndef DYNIS_PROTO_CMD_CONN_H
#define DYNIS_PROTO_CMD_CONN_H

#include "proto/command.h"

void cmd_ping(cmd_ctx_t *ctx);
void cmd_echo(cmd_ctx_t *ctx);
void cmd_quit(cmd_ctx_t *ctx);
void cmd_reset(cmd_ctx_t *ctx);
void cmd_hello(cmd_ctx_t *ctx);
void cmd_auth(cmd_ctx_t *ctx);
void cmd_select(cmd_ctx_t *ctx);
void cmd_client(cmd_ctx_t *ctx);
void cmd_command(cmd_ctx_t *ctx);
void cmd_config(cmd_ctx_t *ctx);
void cmd_info(cmd_ctx_t *ctx);
void cmd_time(cmd_ctx_t *ctx);
void cmd_shutdown(cmd_ctx_t *ctx);

#endif
