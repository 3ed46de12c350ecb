#!/usr/bin/env bash
# The demo gate's steps as plain commands, the baseline bench/demo-overhead
# compares gate with: build, push, read the digest back, check out the
# consumer (a clone kept between runs, then fetch + checkout), run its tests.
set -euo pipefail
repository=$1 root=$2 work=$3
registry=${repository%%/*} path=${repository#*/}
docker build -q --tag "$repository:bench-hand" --build-arg CONTRACT=v1 "$root/build/demo/image"
docker push -q "$repository:bench-hand"
digest=$(curl -fsSI \
  -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json' \
  "http://$registry/v2/$path/manifests/bench-hand" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}')
if [ -d "$work/consumer" ]; then
  git -C "$work/consumer" fetch -q origin
  git -C "$work/consumer" checkout -q --force origin/main
else
  git clone -q --branch main "$root/build/demo/consumer" "$work/consumer"
fi
cd "$work/consumer"
EMULATOR_IMAGE="$repository@$digest" /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml=reports/junit.xml tests
