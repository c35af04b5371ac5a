#!/bin/sh
# azd `postdeploy` hook. After the first deployment of the function code, turns on the Event Grid subscription
# uploads → OnImageUploaded and provisions again. It cannot exist before: Event Grid validates the webhook when the
# subscription is created, and the webhook's key (the host's eventgrid_extension system key) only exists once the host
# has started with the Event Grid trigger loaded.
#
# azd passes the environment's values (the Bicep outputs among them) as environment variables.
set -eu

if [ "${AGING_UPLOAD_EVENTS:-false}" = "true" ]; then
  echo "postdeploy: the upload event subscription is already on."
  exit 0
fi

: "${AZURE_RESOURCE_GROUP:?postdeploy: AZURE_RESOURCE_GROUP is not set (run azd provision first)}"
: "${AZURE_FUNCTION_APP_NAME:?postdeploy: AZURE_FUNCTION_APP_NAME is not set (run azd provision first)}"
: "${WEB_FORM_URL:?postdeploy: WEB_FORM_URL is not set (run azd provision first)}"

echo "postdeploy: waiting for the function host to create its eventgrid_extension key..."
attempt=0
key=""
while [ "$attempt" -lt 30 ]; do
  # A request starts the host on a scaled-to-zero Flex Consumption app; the host creates the key when it loads the
  # Event Grid trigger.
  curl --silent --output /dev/null --max-time 30 "${WEB_FORM_URL}api/health" || true
  key="$(az functionapp keys list --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" \
    --query "systemKeys.eventgrid_extension" --output tsv 2>/dev/null || true)"
  if [ -n "$key" ]; then
    break
  fi
  attempt=$((attempt + 1))
  sleep 10
done
if [ -z "$key" ]; then
  echo "postdeploy: the eventgrid_extension key did not appear within 5 minutes. Check the function app's logs, then run" >&2
  echo "            azd env set AGING_UPLOAD_EVENTS true && azd provision" >&2
  exit 1
fi

echo "postdeploy: creating the Event Grid subscription (azd provision with AGING_UPLOAD_EVENTS=true)..."
azd env set AGING_UPLOAD_EVENTS true
azd provision --no-prompt
