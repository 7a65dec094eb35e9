#!/usr/bin/env bash
# A second, TLS-enabled PostgreSQL cluster on this machine, for the connection tests
# (test/pg-tls.test.ts). Needs root, pg_createcluster (postgresql-common) and openssl.
#
#   eval "$(scripts/ci-tls-cluster.sh up)"   # creates it; prints the ORCH_TLS_* variables to export
#   scripts/ci-tls-cluster.sh down           # removes the cluster and its files
#
# Made fresh each time: a CA and a server certificate (localhost, 127.0.0.1) signed by it, a
# second CA that signed nothing (the "wrong CA"), and a client certificate. Roles:
#   orch_scram    SCRAM-SHA-256, password "p@ss:w/rd%#1", with or without TLS, and on the socket
#   orch_sslonly  SCRAM-SHA-256, hostssl only
#   orch_nossl    SCRAM-SHA-256, hostnossl only
#   orch_cert     client certificate (hostssl ... cert)
# It listens on 127.0.0.1 and 127.0.0.2 (the certificate names only the first).
set -euo pipefail

STATE=${ORCH_TLS_STATE:-/tmp/orchestrate-tls-cluster}
PASSWORD='p@ss:w/rd%#1'

down() {
  if [ -f "$STATE/env" ]; then
    # shellcheck disable=SC1091
    . "$STATE/env"
    pg_dropcluster --stop "$ORCH_TLS_VERSION" "$ORCH_TLS_CLUSTER" >/dev/null 2>&1 || true
  fi
  rm -rf "$STATE"
}

free_port() {
  local port
  for port in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && ! pg_lsclusters -h | awk '{print $3}' | grep -qx "$port"; then
      echo "$port"
      return
    fi
  done
  echo "no free port in 55432-55532" >&2
  exit 1
}

up() {
  down
  mkdir -p "$STATE"
  local version port cluster certs
  version=$(ls /etc/postgresql | sort -n | tail -1)
  port=$(free_port)
  cluster="orch_tls_$port"
  certs="$STATE/certs"
  mkdir -p "$certs"
  (
    cd "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=orchestrate test CA" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=orchestrate wrong CA" -keyout wrong-ca.key -out wrong-ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=orch_cert" -keyout client.key -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt 2>/dev/null
    chmod 600 ./*.key
    chown postgres:postgres server.key server.crt ca.crt
  )
  chmod 755 "$STATE" "$certs"
  pg_createcluster "$version" "$cluster" --port "$port" >/dev/null -- --auth-local=peer --auth-host=scram-sha-256
  local conf="/etc/postgresql/$version/$cluster"
  cat >>"$conf/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1,127.0.0.2'
ssl = on
ssl_cert_file = '$certs/server.crt'
ssl_key_file = '$certs/server.key'
ssl_ca_file = '$certs/ca.crt'
password_encryption = 'scram-sha-256'
EOF
  cat >"$conf/pg_hba.conf" <<EOF
local     all  postgres                    peer
local     all  orch_scram                  scram-sha-256
hostssl   all  orch_cert     127.0.0.0/8   cert
hostssl   all  orch_sslonly  127.0.0.0/8   scram-sha-256
hostnossl all  orch_nossl    127.0.0.0/8   scram-sha-256
host      all  orch_scram    127.0.0.0/8   scram-sha-256
EOF
  pg_ctlcluster "$version" "$cluster" start
  local sql="SET password_encryption = 'scram-sha-256';"
  for role in orch_scram orch_sslonly orch_nossl; do
    sql+=" CREATE ROLE $role LOGIN PASSWORD '${PASSWORD}' CREATEDB;"
  done
  sql+=" CREATE ROLE orch_cert LOGIN CREATEDB; CREATE DATABASE orch_tls;"
  sql+=" GRANT ALL ON DATABASE orch_tls TO orch_scram, orch_sslonly, orch_nossl, orch_cert;"
  sql+=" ALTER DATABASE orch_tls OWNER TO orch_scram;"
  su postgres -c "psql -X -q -p $port -v ON_ERROR_STOP=1" <<<"$sql"
  cat >"$STATE/env" <<EOF
ORCH_TLS_VERSION=$version
ORCH_TLS_CLUSTER=$cluster
ORCH_TLS_PORT=$port
ORCH_TLS_CERTS=$certs
ORCH_TLS_PASSWORD='$PASSWORD'
EOF
  sed 's/^/export /' "$STATE/env"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
