#!/bin/bash
# Makes the gateway's CA and its certificate (for localhost and 127.0.0.1)
# once, in /certs, which the compose file binds to a folder of the user's:
# ca.pem there is the CA file to trust (KC_CA_FILE, curl --cacert).
set -euo pipefail
cd /certs
if [ ! -s gateway.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=kcconform gateway CA" \
    -keyout ca-key.pem -out ca.pem -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout gateway-key.pem -out gateway.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
  openssl x509 -req -in gateway.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile ext.cnf -out gateway.pem 2>/dev/null
  rm -f gateway.csr ext.cnf ca.srl ca-key.pem
  chmod 644 ca.pem gateway.pem
  echo "gateway: made a CA (/certs/ca.pem) and a certificate for localhost"
fi
exec nginx -c /etc/kcconform-gateway/nginx.conf -g 'daemon off;'
