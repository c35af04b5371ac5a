#!/usr/bin/env bash
# Prints a service SAS query string for the `uploads` container of a storage account: create + write only, short-lived.
#   infra/local/upload-sas.sh <account> <base64 account key> [lifetime, default "2 hours"]
# Why a service SAS and not an account SAS: an account SAS with write permission reaches every container, so the
# token printed "for uploads" could also overwrite aged outputs or replace a model under models/. This one is signed
# for /blob/<account>/uploads only (sr=c), may create and write blobs (sp=cw) but not read, list or delete them, and
# expires after the lifetime. Used by run.sh and by the test that proves those limits against Azurite.
set -euo pipefail
account="${1:?account name}"
key="${2:?base64 account key}"
lifetime="${3:-2 hours}"
sv="2020-02-10" sp="cw" sr="c" spr="http,https"
expiry="$(date -u -d "+$lifetime" +%Y-%m-%dT%H:%M:%SZ)"
# String to sign of a service SAS, versions 2018-11-09 to 2020-10-02: sp, st, se, canonicalized resource, si, sip,
# spr, sv, sr, snapshot time, rscc, rscd, rsce, rscl, rsct.
fields=("$sp" "" "$expiry" "/blob/$account/uploads" "" "" "$spr" "$sv" "$sr" "" "" "" "" "" "")
sig="$(IFS=$'\n'; printf '%s' "${fields[*]}" \
  | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$key" | base64 -d | od -An -vtx1 | tr -d ' \n')" -binary \
  | base64 -w0)"
uri() { jq -rn --arg v "$1" '$v|@uri'; }
printf 'sv=%s&sr=%s&sp=%s&se=%s&spr=%s&sig=%s' "$sv" "$sr" "$sp" "$(uri "$expiry")" "$spr" "$(uri "$sig")"
