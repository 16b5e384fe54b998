# src/core/strop.mk: sources of this group, added to libdyniscore.a
