# utils/lib.sh - shared by the utils scripts: where the tree is, and how to
# get an up-to-date build of it in build/ (or another build directory).
DYNIS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# dynis_build DIR [configure options...]: configures (once) and builds the tree
# out of source in DIR.
dynis_build() {
  local dir=$1; shift
  if [ -f "$DYNIS_TOP/config.status" ]; then
    echo "utils: the source tree is configured in place; running 'make distclean' there so builds can go to $dir" >&2
    make -C "$DYNIS_TOP" distclean >/dev/null
  fi
  if [ ! -x "$DYNIS_TOP/configure" ] || [ "$DYNIS_TOP/configure.ac" -nt "$DYNIS_TOP/configure" ]; then
    (cd "$DYNIS_TOP" && autoreconf -i >/dev/null 2>&1) || (cd "$DYNIS_TOP" && autoreconf -i)
  fi
  mkdir -p "$dir"
  if [ ! -f "$dir/config.status" ]; then
    (cd "$dir" && "$DYNIS_TOP/configure" -q "$@")
  fi
  make -C "$dir" -s -j"$JOBS"
}
