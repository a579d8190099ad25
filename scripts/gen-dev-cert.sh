#!/usr/bin/env bash
# Makes a throwaway local CA and a server certificate signed by it, for running
# `parley serve` over HTTPS on a developer machine or in the smoke test.
#
#   scripts/gen-dev-cert.sh [OUT_DIR]      (default OUT_DIR: ./certs)
#
# Writes:
#   ca.pem          the CA certificate: give it to clients (curl --cacert ca.pem)
#   ca-key.pem      the CA private key
#   server.pem      the server certificate followed by the CA certificate (the chain parley sends)
#   server-key.pem  the server private key
#
# Keys are EC P-256: fast to generate, accepted by every TLS 1.2/1.3 client. The server
# certificate names localhost, 127.0.0.1 and ::1 in subjectAltName, because clients match
# host names only against the SAN, never the CN. Existing files in OUT_DIR are replaced.
# This is for development only: the CA key sits next to the certificates, unprotected.
set -euo pipefail

out_dir=${1:-./certs}
days_ca=3650
days_server=825  # Apple's limit for TLS server certificates; keeps the certs usable in Safari too.

command -v openssl >/dev/null 2>&1 || { echo "gen-dev-cert: openssl not found on PATH" >&2; exit 1; }

mkdir -p "$out_dir"
# Private keys must not be world-readable, whatever the caller's umask.
umask 077

work=$(mktemp -d)
# The CSR and extension files are scratch: never leave them behind, even on failure.
trap 'rm -rf "$work"' EXIT

# Runs an openssl step quietly: OpenSSL 3 chats on stderr even on success ("Certificate
# request self-signature ok"), but on failure its message is the only clue, so show it then.
quiet() {
    if ! "$@" >"$work/openssl.log" 2>&1; then
        echo "gen-dev-cert: failed: $*" >&2
        cat "$work/openssl.log" >&2
        exit 1
    fi
}

# A random 128-bit serial: re-running the script must not reuse a serial under the same CA
# name, or browsers that cached the old certificate reject the new one.
serial() { echo "0x$(openssl rand -hex 16)"; }

# --- CA -------------------------------------------------------------------------------------
# genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), the form every TLS library reads for any key type.
quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out_dir/ca-key.pem"
cat >"$work/ca.ext" <<'EOF'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
# A self-signed CA from a CSR plus an explicit extension file: `req -x509 -addext` would also
# work, but this form behaves the same on OpenSSL 1.1, 3.x and LibreSSL.
quiet openssl req -new -key "$out_dir/ca-key.pem" -subj "/O=Parley development/CN=Parley Dev CA" \
    -out "$work/ca.csr"
quiet openssl x509 -req -in "$work/ca.csr" -signkey "$out_dir/ca-key.pem" -days "$days_ca" -sha256 \
    -set_serial "$(serial)" -extfile "$work/ca.ext" -out "$out_dir/ca.pem"

# --- server ---------------------------------------------------------------------------------
quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out_dir/server-key.pem"
cat >"$work/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
quiet openssl req -new -key "$out_dir/server-key.pem" -subj "/O=Parley development/CN=localhost" \
    -out "$work/server.csr"
quiet openssl x509 -req -in "$work/server.csr" -CA "$out_dir/ca.pem" -CAkey "$out_dir/ca-key.pem" \
    -days "$days_server" -sha256 -set_serial "$(serial)" -extfile "$work/server.ext" \
    -out "$work/server-cert.pem"

# Leaf first, then its issuer: the order TLS servers send a chain in.
cat "$work/server-cert.pem" "$out_dir/ca.pem" >"$out_dir/server.pem"
# Certificates are public; only the keys stay private.
chmod 644 "$out_dir/ca.pem" "$out_dir/server.pem"

# Catch a broken chain here rather than as a handshake failure later.
quiet openssl verify -CAfile "$out_dir/ca.pem" "$work/server-cert.pem"

cat <<EOF
made in $out_dir:
  ca.pem          local CA certificate (clients: curl --cacert $out_dir/ca.pem)
  ca-key.pem      local CA private key
  server.pem      server certificate + CA chain (localhost, 127.0.0.1, ::1; $days_server days)
  server-key.pem  server private key (EC P-256)
serve HTTPS with:
  parley serve --tls-port 3443 --tls-cert $out_dir/server.pem --tls-key $out_dir/server-key.pem
EOF
