# src/core/sync.mk: sources of this group, added to libdyniscore.a
