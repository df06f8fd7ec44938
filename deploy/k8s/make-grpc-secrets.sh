#!/bin/sh
# Makes the two Secrets the services mount for gRPC authentication (see
# deploy/README.md, "gRPC authentication") when no cert-manager or secret
# manager makes them:
#   niftysave-grpc-tls     ca.crt, tls.crt, tls.key: a private CA and one
#                          certificate for every service, used as server and
#                          as client certificate (mTLS)
#   niftysave-grpc-tokens  tokens (the servers' list) and <caller>.token (the
#                          one each calling service sends)
# Writes the PEM files, the callers' tokens and secrets.yaml into OUT_DIR;
# apply with `kubectl apply -f OUT_DIR/secrets.yaml`. Keep OUT_DIR private:
# it holds the CA key and every token.
#
# usage: make-grpc-secrets.sh OUT_DIR NAMESPACE
set -eu
out=${1:?usage: make-grpc-secrets.sh OUT_DIR NAMESPACE}
ns=${2:?usage: make-grpc-secrets.sh OUT_DIR NAMESPACE}
mkdir -p "$out"
umask 077
cd "$out"

ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -days 3650 -subj /CN=niftysave-grpc-ca \
  -keyout ca.key -out ca.crt 2>/dev/null
san=""
for s in indexer extractor pinner tracker; do
  san="${san}DNS:niftysave-$s,DNS:niftysave-$s.$ns.svc,DNS:niftysave-$s.$ns.svc.cluster.local,"
done
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "${san%,}" > tls.ext
openssl req $ec -subj /CN=niftysave -keyout tls.key -out tls.csr 2>/dev/null
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -days 825 -extfile tls.ext -out tls.crt 2>/dev/null

# The services that call the next one hold operate tokens; `dashboard` is a
# read token for the tracker's clients (pods labelled niftysave.io/client)
# and `operator` an operate token for people (Backfill, RefreshToken).
echo "# <scope> <caller-name> <token>" > tokens
for c in indexer:operate extractor:operate pinner:operate dashboard:read operator:operate; do
  name=${c%%:*}
  token=$(openssl rand -hex 32)
  echo "$token" > "$name.token"
  echo "${c#*:} $name $token" >> tokens
done

kubectl -n "$ns" create secret generic niftysave-grpc-tls --dry-run=client -o yaml \
  --from-file=ca.crt --from-file=tls.crt --from-file=tls.key > secrets.yaml
echo --- >> secrets.yaml
kubectl -n "$ns" create secret generic niftysave-grpc-tokens --dry-run=client -o yaml \
  --from-file=tokens --from-file=indexer.token --from-file=extractor.token \
  --from-file=pinner.token >> secrets.yaml
echo "wrote $out/secrets.yaml (apply it), dashboard.token and operator.token (give them out)"
