#!/usr/bin/env bash
# Makes development secrets for the container and Kubernetes setups: a CA,
# a server certificate, and an admin token. NOT for production (one
# self-signed CA, no revocation, keys readable inside their directories).
#
#   deploy/dev-secrets.sh [DIR]        (default deploy/secrets, git-ignored)
#
# DIR/ca/ca.pem, ca.key          the CA; its key stays here, in no container
# DIR/server/server.pem, server.key, ca.pem, tokens
#                                what factlogd mounts at /etc/factlog
# DIR/client/ca.pem, token       what a client needs (the compose cli
#                                service mounts it at /etc/factlog)
#
# The certificate names localhost and 127.0.0.1 (the health probes dial
# those), factlogd (compose) and factlog, factlog.factlog.svc,
# factlog.factlog.svc.cluster.local (Kubernetes); add names with
# FACTLOG_CERT_NAMES="factlog.example other.example".
#
# The token comes from `factlogd token new`: $FACTLOGD if set, else factlogd
# on PATH, else build/server/factlogd, else the factlog image
# ($FACTLOG_IMAGE, default factlog:latest) through docker.
#
# DIR is private (0700); the files in server/ and client/ are world-readable
# so that the containers' user (uid 10001) can read them through a bind
# mount. An existing DIR/server is left alone: delete DIR to start over.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$repo/deploy/secrets}

if [ -e "$dir/server/server.pem" ]; then
  echo "dev-secrets: $dir already holds secrets; delete it to make new ones"
  exit 0
fi

factlogd_token_new() {
  if [ -n "${FACTLOGD:-}" ]; then
    "$FACTLOGD" token new "$@"
  elif command -v factlogd >/dev/null; then
    factlogd token new "$@"
  elif [ -x "$repo/build/server/factlogd" ]; then
    "$repo/build/server/factlogd" token new "$@"
  elif command -v docker >/dev/null; then
    docker run --rm "${FACTLOG_IMAGE:-factlog:latest}" token new "$@"
  else
    echo "dev-secrets: no factlogd to make a token with (build it, or set" \
      "FACTLOGD=/path/to/factlogd)" >&2
    return 1
  fi
}

umask 077
mkdir -p "$dir/ca" "$dir/server" "$dir/client"
chmod 0700 "$dir" "$dir/ca"
chmod 0755 "$dir/server" "$dir/client"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

names="localhost factlogd factlog factlog.factlog.svc"
names+=" factlog.factlog.svc.cluster.local ${FACTLOG_CERT_NAMES:-}"
san="IP:127.0.0.1,IP:::1"
for name in $names; do san+=",DNS:$name"; done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 365 -subj /CN=factlog-dev-ca -keyout "$dir/ca/ca.key" \
  -out "$dir/ca/ca.pem" 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj /CN=localhost -keyout "$dir/server/server.key" \
  -out "$work/server.csr" 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
cat >"$work/server.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
openssl x509 -req -in "$work/server.csr" -CA "$dir/ca/ca.pem" \
  -CAkey "$dir/ca/ca.key" -CAcreateserial -CAserial "$work/ca.srl" \
  -days 365 -extfile "$work/server.ext" -out "$dir/server/server.pem" \
  2>"$work/log" || { cat "$work/log" >&2; exit 1; }

# `factlogd token new` prints the token on its 2nd line and the tokens-file
# line on its 4th, both indented.
factlogd_token_new --principal dev-admin --role admin >"$work/token.out"
token=$(sed -n 2p "$work/token.out" | tr -d '[:space:]')
line=$(sed -n 4p "$work/token.out" | sed 's/^[[:space:]]*//')
case $line in
  "dev-admin admin "*) ;;
  *) echo "dev-secrets: unexpected output of factlogd token new" >&2; exit 1 ;;
esac
printf '%s\n' "$token" >"$dir/client/token"
printf '# PRINCIPAL ROLE SHA256 (factlogd token new); reload with SIGHUP\n%s\n' \
  "$line" >"$dir/server/tokens"

cp "$dir/ca/ca.pem" "$dir/server/ca.pem"
cp "$dir/ca/ca.pem" "$dir/client/ca.pem"
chmod 0644 "$dir"/server/* "$dir"/client/*

cat <<MSG
dev-secrets: wrote $dir
  server/  server.pem server.key tokens ca.pem   (mount at /etc/factlog)
  client/  ca.pem token                          (admin token for dev-admin)
  ca/      ca.pem ca.key                         (keep out of containers)
From this host:
  factlog --server localhost:50051 --tls-ca $dir/client/ca.pem \\
      --token-file $dir/client/token claim list
MSG
