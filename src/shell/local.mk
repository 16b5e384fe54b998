# src/shell: the thin adapters: main, config, the libevent server, the
# RocksDB store, jemalloc figures. Only this directory links the libraries.
