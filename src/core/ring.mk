# src/core/ring.mk: sources of this group, added to libdyniscore.a
