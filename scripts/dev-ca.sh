#!/usr/bin/env bash
# Makes a development certificate authority and certificates for the gateway's gRPC port (mutual TLS), with
# openssl. Not for production: the keys are unencrypted and the CA is made on the spot.
#
#   scripts/dev-ca.sh DIR [AGENCY ...]
#
# Writes into DIR (created if needed; an existing CA there is reused):
#   ca.crt, ca.key                 the development CA (ESTELAM_GRPC_TLS_CLIENT_CA=DIR/ca.crt)
#   server.crt, server.key         the gateway's certificate for localhost / 127.0.0.1 / ::1
#                                  (ESTELAM_GRPC_TLS_CERT, ESTELAM_GRPC_TLS_KEY)
#   AGENCY.crt, AGENCY.key         a client certificate per agency, subject CN=AGENCY,O=Estelam Dev
#   AGENCY.fingerprint             its SHA-256 fingerprint (lowercase hex), for the agency's Credential
# An AGENCY written NAME:expired gets a certificate that expired in 2020 (for tests of refusal).
# DIR/.ca holds openssl's bookkeeping (serial numbers) for the next run.
# Register an agency's certificate with a Credential document:
#   spec: { certificate: { subject: "CN=AGENCY,O=Estelam Dev" } }   (or sha256Fingerprint: <AGENCY.fingerprint>)
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
command -v openssl >/dev/null || { echo "dev-ca.sh needs openssl (apt-get install openssl)" >&2; exit 1; }

dir=$1
shift
mkdir -p "$dir"
cd "$dir"

if [[ ! -f ca.key || ! -f ca.crt ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 825 \
    -subj "/O=Estelam Dev/CN=Estelam development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

# A throwaway `openssl ca` setup, so certificates can carry chosen validity dates.
mkdir -p .ca
: > .ca/index.txt
[[ -f .ca/serial ]] || echo 1000 > .ca/serial
cat > .ca/openssl.cnf <<CONF
[ ca ]
default_ca = dev
[ dev ]
dir = .ca
database = .ca/index.txt
serial = .ca/serial
new_certs_dir = .ca
certificate = ca.crt
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
organizationName = optional
commonName = supplied
CONF

issue() { # name subject extensions start end
  local name=$1 subject=$2 ext=$3 start=$4 end=$5
  openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subject" -addext "$ext" 2>/dev/null
  openssl ca -batch -notext -config .ca/openssl.cnf -in "$name.csr" -out "$name.crt" -startdate "$start" -enddate "$end" 2>/dev/null
  rm -f "$name.csr"
  openssl x509 -in "$name.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f' > "$name.fingerprint"
}

now=$(date -u +%Y%m%d%H%M%SZ)
later=$(date -u -d "+825 days" +%Y%m%d%H%M%SZ)
issue server "/O=Estelam Dev/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" "$now" "$later"
for agency in "$@"; do
  name=${agency%%:*}
  if [[ "$agency" == *:expired ]]; then
    issue "$name" "/O=Estelam Dev/CN=$name" "extendedKeyUsage=clientAuth" 20200101000000Z 20200102000000Z
  else
    issue "$name" "/O=Estelam Dev/CN=$name" "extendedKeyUsage=clientAuth" "$now" "$later"
  fi
done
chmod 600 ./*.key
echo "certificates in $dir: ca.crt server.crt $(for a in "$@"; do printf '%s.crt ' "${a%%:*}"; done)"
