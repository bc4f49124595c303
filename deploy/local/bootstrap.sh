#!/usr/bin/env bash
# Prints the path of a `uv` executable, installing one into .devinfra/tools when none is on
# PATH, and, as root on Debian, the system packages the project needs (Python venv support,
# Node.js for the local identity provider, RabbitMQ is left to devinfra). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="$root/.devinfra/tools"
UV_VERSION="0.13.9"

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3 python3-venv)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${need_apt[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
  else
    echo "bootstrap: please install ${need_apt[*]}" >&2
    exit 1
  fi
fi

if command -v uv >/dev/null; then
  command -v uv
  exit 0
fi
if [ ! -x "$tools/bin/uv" ]; then
  echo "bootstrap: installing uv $UV_VERSION into $tools" >&2
  if ! python3 -m venv "$tools" >&2; then
    [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
    python3 -m venv "$tools" >&2
  fi
  "$tools/bin/pip" install --quiet "uv==$UV_VERSION" >&2
fi
echo "$tools/bin/uv"
