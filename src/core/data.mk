# src/core/data.mk: sources of this group, added to libdyniscore.a
