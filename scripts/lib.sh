# Shared steps of scripts/test and scripts/demo: install what is missing, start a private
# loopback redis-server, build. Sourced, not run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
WORK="$REPO_ROOT/interop/.work"
mkdir -p "$WORK"

log() { printf '\n==> %s\n' "$*"; }

# Debian packages: Redis, and the C libraries the Swift package links.
ensure_system_packages() {
    local missing=()
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    pkg-config --exists hiredis 2>/dev/null || missing+=(libhiredis-dev)
    pkg-config --exists jansson 2>/dev/null || missing+=(libjansson-dev)
    # kombu's compressions (CCompression): zlib, bzip2 (no .pc file), xz, zstd, brotli.
    pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
    [ -f /usr/include/bzlib.h ] || missing+=(libbz2-dev)
    pkg-config --exists liblzma 2>/dev/null || missing+=(liblzma-dev)
    pkg-config --exists libzstd 2>/dev/null || missing+=(libzstd-dev)
    pkg-config --exists libbrotlienc libbrotlidec 2>/dev/null || missing+=(libbrotli-dev)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    if [ ${#missing[@]} -gt 0 ]; then
        log "Installing ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; return 1; fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    # The Debian package starts a system redis on 6379; this project runs its own servers.
}

# The Python side, pinned in interop/requirements.txt, in .venv.
ensure_python_venv() {
    local stamp="$VENV/.requirements.sha"
    local want
    want="$(sha256sum "$REPO_ROOT/interop/requirements.txt" | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        log "Installing the Python side into .venv (interop/requirements.txt)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/interop/requirements.txt"
        echo "$want" > "$stamp"
    fi
}

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a private, non-persistent redis-server on loopback and exports REDIS_URL; stops it on exit.
start_private_redis() {
    local port="${1:-$(free_port)}"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --logfile "$WORK/redis-$port.log" &
    REDIS_PID=$!
    trap 'kill "$REDIS_PID" 2>/dev/null || true' EXIT
    for _ in $(seq 1 50); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$port" ping >/dev/null || { echo "redis-server did not start on port $port" >&2; return 1; }
    export REDIS_URL="redis://127.0.0.1:$port/0"
    log "redis-server $(redis-server --version | awk '{print $3}') on $REDIS_URL (pid $REDIS_PID)"
}

build_swift() {
    log "swift build"
    (cd "$REPO_ROOT" && set -o pipefail && swift build 2>&1 | grep -v 'prohibited flag(s): -D_FILE_OFFSET_BITS' ) || return 1
    export SWIFT_CELERY_BIN="$REPO_ROOT/.build/debug"
}

# The worker as a Swift server is deployed: the Swift runtime and Foundation linked in statically
# (only the pages the worker touches are resident), not position-independent (no pages dirtied
# by relocations at start-up), libstdc++ linked in statically too (the shared one costs ~1 MB of
# resident pages for the few functions the Swift runtime calls) and no symbol table exported for
# dlopen'ed code, which the worker has none of. Idle RSS (bench/run): 19 MB dynamic, 15.2 MiB with
# the static Swift runtime alone, 13.8 MiB like this.
build_release_worker() {
    local libcxx flags=(--static-swift-stdlib -Xlinker -no-pie -Xlinker --no-export-dynamic)
    libcxx=$(ls /usr/lib/gcc/x86_64-linux-gnu/*/libstdc++.a /usr/lib/gcc/aarch64-linux-gnu/*/libstdc++.a 2>/dev/null | sort -V | tail -1)
    if [ -n "$libcxx" ]; then
        # swiftc's static-stdlib link line asks for -lstdc++; a directory holding only the archive,
        # searched first, makes that the static one.
        mkdir -p "$REPO_ROOT/.build/static-libstdcxx" && ln -sf "$libcxx" "$REPO_ROOT/.build/static-libstdcxx/libstdc++.a"
        flags+=(-Xlinker -L"$REPO_ROOT/.build/static-libstdcxx")
    fi
    log "swift build -c release --product interop-worker ${flags[*]}"
    (cd "$REPO_ROOT" && set -o pipefail && swift build -c release --product interop-worker "${flags[@]}" 2>&1 \
        | grep -v "prohibited flag\|the use of .mktemp. is dangerous") || return 1
}

# Examples/: a package depending on swift-celery by path (the Hummingbird demo and the README's
# quick starts, checked against the README first).
build_examples() {
    log "examples (README quick starts, Hummingbird demo)"
    "$VENV/bin/python" "$REPO_ROOT/scripts/readme_snippets.py" --check || return 1
    (cd "$REPO_ROOT/Examples" && set -o pipefail && swift build 2>&1 | grep -v 'prohibited flag(s): -D_FILE_OFFSET_BITS' ) || return 1
    export EXAMPLES_BIN="$REPO_ROOT/Examples/.build/debug"
}
