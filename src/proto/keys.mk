# src/proto/keys.mk: keyspace command handlers
