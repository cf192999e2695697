#!/usr/bin/env bash
# Test PKI for the integration tests: a CA the gateway trusts, a second CA
# it does not, and one server certificate per test host name, each built
# to fail (or pass) one particular check of the gateway's upstream TLS
# verification. origin.py serves DIR/NAME.crt + DIR/NAME.key for SNI NAME.
#
# Usage: pki.sh DIR
#
#   testca.crt/.key       the CA named by [upstream] ca_file
#   otherca.crt/.key      a CA nobody trusts
#   vendor.test           good: EC P-256, SHA-256, SAN DNS:vendor.test
#   blocked.test          good
#   oldtls.test           good (origin.py --max-tls 1.1 serves it)
#   expired.test          notAfter in the past              -> X509 error 10
#   notyet.test           notBefore in the future           -> X509 error 9
#   wronghost.test        SAN names only some-other.test    -> host name check
#   selfsigned.test       self-signed leaf                  -> X509 error 18
#   unknownca.test        signed by otherca (leaf only)     -> X509 error 20
#   weakkey.test          RSA 1024 key, signed by testca    -> X509 error 66 (level >= 2)
#   sha1.test             signed by testca with SHA-1       -> X509 error 68 (level >= 1 in OpenSSL 3)
#   nosan.test            the host only in the subject CN, no subjectAltName -> refused (RFC 6125 6.4.4)
#
# Every run makes everything anew (idempotent); nothing is printed unless
# openssl fails. Keys are 0600, certificates 0644.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: pki.sh DIR" >&2
	exit 2
fi
dir=$1
umask 077
mkdir -p "$dir"
work=$(mktemp -d "$dir/.pki.XXXXXX")
trap 'rm -rf "$work"' EXIT

log=$work/openssl.log
ossl() {
	if ! openssl "$@" >>"$log" 2>&1; then
		echo "pki.sh: openssl $1 failed:" >&2
		cat "$log" >&2
		exit 1
	fi
}

# openssl ca dates, in UTC, relative to now.
when() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# Everything is described here; no system openssl.cnf is read.
: >"$work/index.txt"
openssl rand -hex 16 >"$work/serial"
cat >"$work/openssl.cnf" <<EOF
[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = unused

[ ca_ext ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ leaf_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, \$ENV::KU
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = \$ENV::SAN

# A leaf that names its host only in the subject CN.
[ nosan_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# Self-signed leaf: no keyUsage, so that OpenSSL sees it as self-signed
# (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) and not as a leaf of some
# unknown issuer.
[ self_ext ]
basicConstraints       = critical, CA:FALSE
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
subjectAltName         = \$ENV::SAN

[ ca ]
default_ca = signer
[ signer ]
database        = $work/index.txt
new_certs_dir   = $work
serial          = $work/serial
default_md      = sha256
policy          = policy_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
[ policy_any ]
commonName = supplied
EOF
export OPENSSL_CONF=$work/openssl.cnf
export KU=digitalSignature SAN=DNS:unused

ec_key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
rsa_key() { ossl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1"; }

# ca NAME CN
make_ca() {
	ec_key "$work/$1.key"
	ossl req -new -x509 -config "$work/openssl.cnf" -key "$work/$1.key" -subj "/CN=$2" \
		-days 3650 -sha256 -extensions ca_ext -set_serial "0x$(openssl rand -hex 16)" \
		-out "$work/$1.crt"
}

# leaf NAME CA CN SAN START END MD KEYTYPE [EXTENSIONS]
leaf() {
	local name=$1 ca=$2 cn=$3 san=$4 start=$5 end=$6 md=$7 keytype=$8 ext=${9:-leaf_ext}
	case $keytype in
	ec) ec_key "$work/$name.key"; KU=digitalSignature ;;
	rsa*) rsa_key "$work/$name.key" "${keytype#rsa}"; KU=digitalSignature,keyEncipherment ;;
	esac
	SAN=$san
	ossl req -new -config "$work/openssl.cnf" -key "$work/$name.key" -subj "/CN=$cn" -out "$work/$name.csr"
	ossl ca -batch -notext -config "$work/openssl.cnf" -name signer \
		-cert "$work/$ca.crt" -keyfile "$work/$ca.key" \
		-startdate "$start" -enddate "$end" -md "$md" -extensions "$ext" \
		-in "$work/$name.csr" -out "$work/$name.crt"
	rm -f "$work/$name.csr"
}

make_ca testca "fwgate test CA"
make_ca otherca "fwgate untrusted test CA"

from=$(when '1 day ago')
to=$(when '10 years')
for n in vendor.test blocked.test oldtls.test; do
	leaf "$n" testca "$n" "DNS:$n" "$from" "$to" sha256 ec
done
leaf expired.test testca expired.test DNS:expired.test "$(when '2 years ago')" "$(when '1 year ago')" sha256 ec
leaf notyet.test testca notyet.test DNS:notyet.test "$(when '1 year')" "$(when '2 years')" sha256 ec
leaf wronghost.test testca some-other.test DNS:some-other.test "$from" "$to" sha256 ec
leaf unknownca.test otherca unknownca.test DNS:unknownca.test "$from" "$to" sha256 ec
leaf weakkey.test testca weakkey.test DNS:weakkey.test "$from" "$to" sha256 rsa1024
leaf sha1.test testca sha1.test DNS:sha1.test "$from" "$to" sha1 ec
leaf nosan.test testca nosan.test DNS:unused "$from" "$to" sha256 ec nosan_ext

ec_key "$work/selfsigned.test.key"
SAN=DNS:selfsigned.test
ossl req -new -x509 -config "$work/openssl.cnf" -key "$work/selfsigned.test.key" \
	-subj "/CN=selfsigned.test" -days 3650 -sha256 -extensions self_ext \
	-set_serial "0x$(openssl rand -hex 16)" -out "$work/selfsigned.test.crt"

# Into place: keys 0600, certificates 0644, each by rename.
for f in "$work"/*.key; do
	chmod 600 "$f"
	mv -f "$f" "$dir/"
done
for f in "$work"/*.crt; do
	chmod 644 "$f"
	mv -f "$f" "$dir/"
done
