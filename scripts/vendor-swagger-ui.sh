#!/usr/bin/env bash
# Refreshes server/docsui/swagger-ui from the npm package swagger-ui-dist at a pinned version.
set -euo pipefail
VERSION=${1:-5.35.0}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "swagger-ui-dist@$VERSION" >/dev/null && tar xzf "swagger-ui-dist-$VERSION.tgz")
dst=server/docsui/swagger-ui
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE favicon-32x32.png; do
  cp "$tmp/package/$f" "$dst/$f"
done
echo "swagger-ui-dist $VERSION (npm), files copied unchanged by scripts/vendor-swagger-ui.sh" > "$dst/VERSION"
