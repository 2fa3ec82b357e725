# Sourced by the CLI tests. dataset_path RELATIVE prints the dataset's path under
# $ECCO_DATA_DIR, else $ECCO_DEFAULT_DATA_DIR (../shared/datasets beside the repository).
# When it is absent it exits the test: 77 (ctest: skipped), or 1 when ECCO_REQUIRE_DATA=1.
dataset_path() {
  local base=${ECCO_DATA_DIR:-${ECCO_DEFAULT_DATA_DIR:-}}
  local path="$base/$1"
  if [ -z "$base" ] || [ ! -f "$path" ]; then
    echo "SKIPPED: dataset $1 not found under '${base}' (set ECCO_DATA_DIR)" >&2
    [ "${ECCO_REQUIRE_DATA:-0}" = 1 ] && { echo "FAIL: ECCO_REQUIRE_DATA=1 and the dataset is missing" >&2; exit 1; }
    exit 77
  fi
  printf '%s\n' "$path"
}
