#!/usr/bin/env bash
# Builds static/dist from node_modules: one CSS file (GOV.UK Frontend 6 + MoJ Frontend, Arial),
# the component scripts, htmx and images. No fonts: the GDS Transport font is never used.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf static/dist.tmp
mkdir -p static/dist.tmp/assets
# The libraries' own deprecation warnings are noise here; a real error is printed in full.
if ! node_modules/.bin/sass --no-source-map --style=compressed --quiet-deps \
    --load-path=node_modules --load-path=. --load-path=static/src \
    static/src/app.scss static/dist.tmp/app.css 2>static/sass.log; then
  cat static/sass.log >&2
  exit 1
fi
rm -f static/sass.log
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js static/dist.tmp/
cp node_modules/@ministryofjustice/frontend/moj/all.bundle.mjs static/dist.tmp/moj-frontend.mjs
cp node_modules/htmx.org/dist/htmx.min.js static/dist.tmp/
cp -r node_modules/govuk-frontend/dist/govuk/assets/images static/dist.tmp/assets/
cp -r node_modules/@ministryofjustice/frontend/moj/assets/images/. static/dist.tmp/assets/images/
if grep -qi "gds transport" static/dist.tmp/app.css; then
  echo "build-assets: the CSS mentions GDS Transport; check the Sass configuration" >&2
  exit 1
fi
rm -rf static/dist
mv static/dist.tmp static/dist
echo "Built static/dist ($(du -sh static/dist | cut -f1))"
