/* info.h - the text of INFO: Redis's sections with the field names that
 * monitoring tools read, plus dynis's dynamo section.
 *
 * Sections: server clients memory persistence stats replication cpu cluster
 * keyspace dynamo. "", "default", "all" and "everything" give all of them;
 * any other name gives that section or nothing. */
#ifndef DYNIS_SHELL_INFO_H
#define DYNIS_SHELL_INFO_H

#include "shell/server.h"
#include "util/buf.h"

/* The Redis version dynis reports, for client libraries that check it. */
#define INFO_REDIS_VERSION "7.0.15"

/* Appends section's text (lines ending in \r\n, sections separated by an
 * empty line) to out. */
void info_write(server_t *srv, const char *section, buf_t *out);

#endif
