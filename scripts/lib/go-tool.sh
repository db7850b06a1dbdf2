# Builds a Go command from the Go module proxy into the mildnet cache, for
# the setup scripts that source this file. The build is skipped when the
# cached binary is present and runs.
#
# The sourcing script sets these variables and then calls go_tool_setup "$@":
#   GO_TOOL_NAME          binary name, also the cache directory name
#   GO_TOOL_VERSION       module version to build
#   GO_TOOL_PACKAGE       package path of the command, without @version
#   GO_TOOL_MIN_GO        oldest Go release that builds that version
#   GO_TOOL_CHECK_ARGS    array of arguments that make the binary exit 0
#   GO_TOOL_BUILD_TIME    build time estimate for the log
#   GO_TOOL_LDFLAGS       optional -ldflags for go install
# The binary goes to $MILDNET_CACHE_DIR/NAME/VERSION/NAME, where
# MILDNET_CACHE_DIR defaults to $HOME/.cache/mildnet.

go_tool_log() { echo "$(basename "$0" .sh): $*" >&2; }

# Prints the binary's path on stdout, building it first unless it is cached.
# With --print-path it only prints the path and builds nothing.
go_tool_setup() {
  local binary="${MILDNET_CACHE_DIR:-$HOME/.cache/mildnet}/$GO_TOOL_NAME/$GO_TOOL_VERSION/$GO_TOOL_NAME"
  local label="$GO_TOOL_NAME $GO_TOOL_VERSION"

  case "${1:-}" in
    "") ;;
    --print-path) echo "$binary"; return 0 ;;
    *)
      go_tool_log "invalid argument '$1'. Run without arguments to build, or with --print-path to print the binary's path."
      return 2
      ;;
  esac

  if [[ -x "$binary" ]] && "$binary" "${GO_TOOL_CHECK_ARGS[@]}" >/dev/null 2>&1; then
    go_tool_log "$label is already built at $binary"
    echo "$binary"
    return 0
  fi

  if ! command -v go >/dev/null 2>&1; then
    go_tool_log "go not found on PATH. Install Go $GO_TOOL_MIN_GO or newer, which $label needs."
    return 1
  fi

  local install_dir build_dir started
  install_dir="$(dirname "$binary")"
  mkdir -p "$install_dir"
  # Build into a private directory and rename, so that an interrupted build
  # never leaves a half-written binary where the tests look for it.
  build_dir="$(mktemp -d "$install_dir/.build.XXXXXX")"
  # The trap outlives this function, so it expands build_dir now.
  # shellcheck disable=SC2064
  trap "rm -rf $(printf %q "$build_dir")" EXIT

  go_tool_log "building $GO_TOOL_PACKAGE@$GO_TOOL_VERSION ($GO_TOOL_BUILD_TIME)"
  started=$SECONDS
  CGO_ENABLED=0 GOBIN="$build_dir" GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" \
    go install -trimpath -ldflags "${GO_TOOL_LDFLAGS:-}" "$GO_TOOL_PACKAGE@$GO_TOOL_VERSION"

  mv -f "$build_dir/$GO_TOOL_NAME" "$binary"
  "$binary" "${GO_TOOL_CHECK_ARGS[@]}" >&2
  go_tool_log "$label built at $binary in $((SECONDS - started)) s"
  echo "$binary"
}
