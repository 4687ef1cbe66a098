# Helpers sourced by .ci/test and .ci/main: set-up of a fresh Debian 12 machine, and processes
# started and stopped by PID. Source it, then call ci_init.
# shellcheck shell=bash

SHENAS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SHENAS_TARGET_DIR=${CARGO_TARGET_DIR:-$SHENAS_ROOT/target}
SHENAS_MIN_CARGO=1.95
# Debian packages: pcscd + vpcd + clients for the PC/SC tests, pkg-config/libpcsclite-dev for
# the pcsc crate, build-essential for -sys crates and libFuzzer, python3-venv/-dev and swig to
# build pyscard (PyPI has no wheel for it here), util-linux/iproute2/procps for the sandboxes,
# openssl as the independent judge of our CMS signatures, libusb-1.0-0-dev for rusb (the USB
# fingerprint scanner driver), polkitd for the test of polkit decisions on a private system bus.
SHENAS_APT_PACKAGES=(
    pcscd libpcsclite-dev pkg-config vsmartcard-vpcd pcsc-tools opensc dbus polkitd iproute2
    util-linux procps python3-venv python3-dev swig build-essential openssl libusb-1.0-0-dev
)
SHENAS_PYSCARD_VERSION=2.3.1
VPCD_PORT=35963

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# --- processes we start, stopped by PID on exit ---------------------------------------------
_CI_PIDS=()
_CI_TMPDIRS=()

_ci_on_exit() {
    local rc=$?
    ci_cleanup
    exit "$rc"
}

ci_init() {
    trap _ci_on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Remember a PID to stop on exit (stopped in reverse order).
ci_track_pid() { _CI_PIDS+=("$1"); }

_ci_alive() { # running and not a zombie
    local state
    state=$(sed -E 's/.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

# Stop one PID: SIGTERM, then SIGKILL after $2 seconds (default 5); forget it.
ci_stop_pid() {
    local pid=$1 grace=${2:-5} i kept=()
    for i in "${_CI_PIDS[@]}"; do [ "$i" = "$pid" ] || kept+=("$i"); done
    _CI_PIDS=("${kept[@]}")
    if _ci_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < grace * 10; i++)); do
            _ci_alive "$pid" || break
            sleep 0.1
        done
        if _ci_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    wait "$pid" 2>/dev/null || true
}

ci_cleanup() {
    local i
    for ((i = ${#_CI_PIDS[@]} - 1; i >= 0; i--)); do
        ci_stop_pid "${_CI_PIDS[i]}"
    done
    _CI_PIDS=()
    for i in "${_CI_TMPDIRS[@]}"; do rm -rf "$i"; done
    _CI_TMPDIRS=()
}

# ci_tmpdir VAR: sets VAR to a new temporary directory, removed on exit.
ci_tmpdir() {
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/shenas-ci.XXXXXX")
    _CI_TMPDIRS+=("$dir")
    printf -v "$1" '%s' "$dir"
}

# Wait up to $1 seconds for the command "$2..." to succeed.
ci_wait_for() {
    local timeout=$1 i
    shift
    for ((i = 0; i < timeout * 10; i++)); do
        if "$@"; then return 0; fi
        sleep 0.1
    done
    "$@"
}

# --- Rust ---------------------------------------------------------------------------------------
need_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found. Rust >= $SHENAS_MIN_CARGO cannot \
be installed by this script: install rustup (https://rustup.rs), run \
'rustup toolchain install stable' (>= $SHENAS_MIN_CARGO) and put ~/.cargo/bin on PATH."
    local version major minor
    version=$(cargo --version | awk '{print $2}')
    IFS=. read -r major minor _ <<<"$version"
    if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] ||
        ((major < 1 || (major == 1 && minor < ${SHENAS_MIN_CARGO#1.}))); then
        die "cargo $version is too old: this workspace needs cargo >= $SHENAS_MIN_CARGO \
('rustup update stable'); Rust cannot be installed by this script."
    fi
    export PATH
}

# rustfmt and clippy, through rustup when missing.
ensure_rust_components() {
    local missing=() comp
    for comp in fmt clippy; do
        cargo "$comp" --version >/dev/null 2>&1 || missing+=("$comp")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v rustup >/dev/null 2>&1 || die "cargo ${missing[*]} missing and no rustup to add them"
    log "rustup component add rustfmt clippy"
    rustup component add rustfmt clippy
}

# cargo_tool BINARY [CRATE]: `cargo install --locked` it when missing.
ensure_cargo_tool() {
    local bin=$1 crate=${2:-$1}
    command -v "$bin" >/dev/null 2>&1 && return 0
    log "cargo install --locked $crate"
    cargo install --locked "$crate"
}

# --- Debian packages ----------------------------------------------------------------------------
# ensure_apt_packages [PKG...] (default: SHENAS_APT_PACKAGES). As root, installs what is missing;
# otherwise prints the one command that would and exits 1.
ensure_apt_packages() {
    local pkgs=("$@") missing=() p
    [ ${#pkgs[@]} -gt 0 ] || pkgs=("${SHENAS_APT_PACKAGES[@]}")
    command -v dpkg-query >/dev/null 2>&1 ||
        die "not a Debian system (no dpkg-query): install the equivalents of: ${pkgs[*]}"
    for p in "${pkgs[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        printf 'error: missing Debian packages. Install them with:\n  sudo apt-get install -y %s\n' \
            "${missing[*]}" >&2
        exit 1
    fi
    log "apt-get install -y ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# --- Python -------------------------------------------------------------------------------------
# pyscard in target/py-venv (Debian's python3); exports SHENAS_PYTHON for tests.
ensure_pyscard() {
    local venv=$SHENAS_ROOT/target/py-venv
    if ! "$venv/bin/python" -c 'import smartcard.System' >/dev/null 2>&1; then
        log "python venv $venv with pyscard==$SHENAS_PYSCARD_VERSION"
        rm -rf "$venv"
        mkdir -p "$SHENAS_ROOT/target"
        /usr/bin/python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "pyscard==$SHENAS_PYSCARD_VERSION"
    fi
    "$venv/bin/python" -c 'import smartcard.System, smartcard.scard' ||
        die "pyscard does not import from $venv"
    export SHENAS_PYTHON=$venv/bin/python
}

# --- pcscd --------------------------------------------------------------------------------------
pcscd_process_running() { pgrep -x pcscd >/dev/null 2>&1; }
vpcd_listening() { ss -Hltn "sport = :${1:-$VPCD_PORT}" 2>/dev/null | grep -q .; }
_pcscd_ready() { [ -S /run/pcscd/pcscd.comm ] && vpcd_listening "$VPCD_PORT"; }

# start_pcscd LOGFILE: starts `pcscd --foreground --debug --apdu` (root), sets PCSCD_PID, stops
# it on exit, and waits up to 10 s for its socket and vpcd's port.
start_pcscd() {
    local logfile=$1
    [ "$(id -u)" -eq 0 ] || die "starting pcscd needs root"
    pcscd --foreground --debug --apdu >"$logfile" 2>&1 &
    PCSCD_PID=$!
    ci_track_pid "$PCSCD_PID"
    if ! ci_wait_for 10 _pcscd_ready; then
        tail -n 30 "$logfile" >&2 || true
        die "pcscd (pid $PCSCD_PID) did not serve /run/pcscd/pcscd.comm and port $VPCD_PORT \
within 10 s (log: $logfile)"
    fi
    log "pcscd started (pid $PCSCD_PID, log $logfile)"
}

stop_pcscd() {
    if [ -n "${PCSCD_PID:-}" ]; then ci_stop_pid "$PCSCD_PID"; fi
    PCSCD_PID=
}
