# Shared by ./run and ./test: find python3 >= 3.11, create or refresh .venv, install the
# station (with EXTRAS) when pyproject.toml or constraints.txt changed. Sourced, not
# executed. Every install is pinned by constraints.txt (pip -c; regenerate it with
# tools/lock), so every machine gets the versions CI tested.
# Raspberry Pi OS marks the system Python externally managed (PEP 668): everything goes
# into the project's own virtual environment.
set -euo pipefail

STATION_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$STATION_ROOT/.venv"

station_die() { echo "station: $*" >&2; exit 1; }

station_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else return 1
    fi
}

station_apt_install() {
    # Installs Debian packages the station needs; explains what to run when it cannot.
    command -v apt-get >/dev/null 2>&1 || station_die "missing $*; install it with your package manager"
    echo "station: installing Debian packages: $*" >&2
    if ! station_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; then
        station_as_root apt-get update -q >/dev/null || true
        station_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
            || station_die "could not install $*; run: sudo apt-get install $*"
    fi
}

station_find_python() {
    for candidate in "${STATION_PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    station_die "Python 3.11 or newer is needed (Raspberry Pi OS Bookworm ships 3.11); install python3"
}

station_is_pi() {
    grep -qs "Raspberry Pi" /proc/device-tree/model 2>/dev/null
}

station_venv() {
    # $1: extras to install, e.g. "test" or "" ; on a Pi the "pi" extra is always added.
    local extras="${1:-}" py stamp want hash
    if station_is_pi; then extras="${extras:+$extras,}pi"; fi
    py="$(station_find_python)"
    local venv_flags=()
    # PyPI has no lgpio wheel for Python 3.13+ (Trixie): on a Pi the venv then sees the
    # system's python3-lgpio (Raspberry Pi OS's archive), as the installer does.
    if station_is_pi && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 13))'; then
        venv_flags=(--system-site-packages)
        "$py" -c 'import lgpio' 2>/dev/null || station_apt_install python3-lgpio
        if [ -x "$VENV/bin/python" ] && ! LG_WD="${TMPDIR:-/tmp}" "$VENV/bin/python" -c 'import lgpio' 2>/dev/null; then
            echo "station: recreating $VENV to see the system's lgpio" >&2
            rm -rf "$VENV"
        fi
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        echo "station: creating $VENV" >&2
        if ! "$py" -m venv "${venv_flags[@]}" "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            # Debian splits venv/ensurepip into python3-venv.
            local ver; ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            station_apt_install "python${ver}-venv" || station_apt_install python3-venv
            "$py" -m venv "${venv_flags[@]}" "$VENV" || station_die "could not create a virtual environment in $VENV"
        fi
    fi
    # Reinstall when pyproject.toml or constraints.txt changed or an extra is wanted that
    # is not installed yet; the stamp keeps the extras, so ./run after ./test does not
    # reinstall.
    stamp="$VENV/.station-installed"
    local pins=()
    [ -f "$STATION_ROOT/constraints.txt" ] && pins=(-c "$STATION_ROOT/constraints.txt")
    hash="$(cat "$STATION_ROOT/pyproject.toml" "${pins[@]:1}" | sha256sum | cut -c1-16)"
    local have_hash="" have_extras="" need=0 extra
    if [ -f "$stamp" ]; then read -r have_hash have_extras < "$stamp" || true; fi
    [ "$have_hash" = "$hash" ] || { need=1; have_extras=""; }
    for extra in ${extras//,/ }; do
        case ",$have_extras," in *",$extra,"*) ;; *) need=1 ;; esac
    done
    if [ "$need" = 1 ]; then
        extras="$(printf '%s\n' ${have_extras//,/ } ${extras//,/ } | sort -u | paste -sd, -)"
        want="$hash $extras"
        echo "station: installing the station into $VENV (first run, pyproject.toml or constraints.txt changed)" >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
        if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}" \
            -e "$STATION_ROOT${extras:+[$extras]}" > "$VENV/pip-install.log" 2>&1; then
            tail -n 40 "$VENV/pip-install.log" >&2
            station_die "installing the station's Python packages failed (pip's message above; whole log in $VENV/pip-install.log)"
        fi
        echo "$want" > "$stamp"
    fi
    # The page's translations: a .po newer than its .mo is compiled (tools/i18n).
    PYBABEL="$VENV/bin/pybabel" "$STATION_ROOT/tools/i18n" compile ||
        station_die "compiling the page's translations failed (tools/i18n compile)"
}
