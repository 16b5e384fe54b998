# src/core/node.mk: sources of this group, added to libdyniscore.a
