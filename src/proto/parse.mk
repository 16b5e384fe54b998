# src/proto/parse.mk: parser, reply writer, command table, connection commands
