#!/bin/sh
# azd hooks for the signed-in web form and API (docs/deploy.md, "Who can call what").
#
#   preprovision   auth-app.sh ensure    creates the Entra ID app registration once ("aging-pipeline-<env>", this tenant
#                                        only), exposes the delegated scope api://<appId>/access_as_user with v2 tokens,
#                                        creates its service principal, and sets AGING_AUTH_CLIENT_ID for the Bicep
#   postprovision  auth-app.sh redirect  registers WEB_FORM_URL as the registration's single-page-app redirect URI
#                                        (the form redeems its code at the token endpoint itself, with PKCE)
#
# Nothing happens with AGING_ALLOW_ANONYMOUS=true (an open, rate-limited form) or, for `ensure`, when
# AGING_AUTH_CLIENT_ID is set already (bring your own registration). Needs the right to create app registrations
# (the default for members of a tenant, unless an administrator turned it off). azd passes the environment's values as
# environment variables.
set -eu

action="${1:-ensure}"
if [ "${AGING_ALLOW_ANONYMOUS:-false}" = "true" ]; then
  echo "auth-app: AGING_ALLOW_ANONYMOUS=true, the web form and API are open to anyone (rate-limited per client)."
  exit 0
fi

scope_body() {
  # $1 application id, $2 scope id
  cat <<JSON
{
  "identifierUris": ["api://$1"],
  "api": {
    "requestedAccessTokenVersion": 2,
    "oauth2PermissionScopes": [{
      "id": "$2",
      "value": "access_as_user",
      "type": "User",
      "isEnabled": true,
      "adminConsentDisplayName": "Use AgingPipeline",
      "adminConsentDescription": "Upload images and read your own jobs and batches.",
      "userConsentDisplayName": "Use AgingPipeline",
      "userConsentDescription": "Upload images and read your own jobs and batches."
    }]
  }
}
JSON
}

object_id_of() {
  az ad app show --id "$1" --query id --output tsv
}

case "$action" in
  ensure)
    if [ -n "${AGING_AUTH_CLIENT_ID:-}" ]; then
      echo "auth-app: signing in with app registration $AGING_AUTH_CLIENT_ID."
      exit 0
    fi
    : "${AZURE_ENV_NAME:?auth-app: AZURE_ENV_NAME is not set}"
    name="aging-pipeline-$AZURE_ENV_NAME"
    app_id="$(az ad app list --display-name "$name" --query '[0].appId' --output tsv)"
    if [ -z "$app_id" ]; then
      echo "auth-app: creating the app registration $name."
      app_id="$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId --output tsv)"
    fi
    scope_id="$(az ad app show --id "$app_id" --query "api.oauth2PermissionScopes[?value=='access_as_user'].id | [0]" --output tsv)"
    if [ -z "$scope_id" ]; then
      scope_id="$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)"
    fi
    az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$(object_id_of "$app_id")" \
      --headers "Content-Type=application/json" --body "$(scope_body "$app_id" "$scope_id")" --output none
    az ad sp show --id "$app_id" --output none 2>/dev/null || az ad sp create --id "$app_id" --output none
    azd env set AGING_AUTH_CLIENT_ID "$app_id"
    echo "auth-app: the web form signs in with $app_id (scope api://$app_id/access_as_user)."
    ;;
  redirect)
    : "${WEB_FORM_URL:?auth-app: WEB_FORM_URL is not set (run azd provision first)}"
    : "${AGING_AUTH_CLIENT_ID:?auth-app: AGING_AUTH_CLIENT_ID is not set (the preprovision hook sets it)}"
    az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$(object_id_of "$AGING_AUTH_CLIENT_ID")" \
      --headers "Content-Type=application/json" --body "{\"spa\": {\"redirectUris\": [\"$WEB_FORM_URL\"]}}" --output none
    echo "auth-app: $WEB_FORM_URL is the sign-in redirect of $AGING_AUTH_CLIENT_ID."
    ;;
  *)
    echo "usage: auth-app.sh ensure|redirect" >&2
    exit 2
    ;;
esac
