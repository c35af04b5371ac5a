#!/usr/bin/env bash
# AgingPipeline local stack: Azurite + function app (custom handler) + event pump + runner, as defined once in the
# Aspire AppHost (infra/local/AgingPipeline.AppHost), with its dashboard (logs, metrics, traces of every service).
#   ./run.sh          start everything, print the URLs, Ctrl-C stops it all
#   ./run.sh --demo   also upload sample images, wait for the aged outputs and print them
# Everything installed or written lives under .local/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

DEMO=0
for arg in "$@"; do
  case "$arg" in
    --demo) DEMO=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

LOCAL="$ROOT/.local"
LOGS="$LOCAL/logs"
AZURITE_VERSION="3.35.0"
AZURITE="$LOCAL/npm/node_modules/.bin/azurite"
BLOB_PORT="${AZURITE_BLOB_PORT:-10000}"
QUEUE_PORT="${AZURITE_QUEUE_PORT:-10001}"
TABLE_PORT="${AZURITE_TABLE_PORT:-10002}"
FUNC_PORT="${FUNCTIONS_CUSTOMHANDLER_PORT:-7071}"
RUNNER_PORT="${RUNNER_PORT:-7072}"
DASHBOARD_PORT="${DASHBOARD_PORT:-18888}"
OTLP_PORT="${DASHBOARD_OTLP_PORT:-18889}"
ACCOUNT="devstoreaccount1"
ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONNECTION="DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/$ACCOUNT;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/$ACCOUNT;"
CONFIG="${CONFIGURATION:-Debug}"
SAS_LIFETIME="2 hours"
APPHOST_PROJECT="infra/local/AgingPipeline.AppHost/AgingPipeline.AppHost.csproj"
APPHOST_DIR="infra/local/AgingPipeline.AppHost/bin/$CONFIG/net10.0"
mkdir -p "$LOGS"

# shellcheck source=infra/local/supervise.sh
source "$ROOT/infra/local/supervise.sh"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_all
  exit "$status"
}
trap cleanup EXIT INT TERM

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 seconds=$2; shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  echo "$what did not come up in ${seconds}s; see $LOGS" >&2
  return 1
}
http_ok() { curl -fsS -o /dev/null "$1" 2>/dev/null; }

ensure_azurite() {
  if [[ ! -x "$AZURITE" ]]; then
    log "Installing Azurite $AZURITE_VERSION into .local/npm"
    npm install --prefix "$LOCAL/npm" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >"$LOGS/npm-install.log" 2>&1 \
      || { cat "$LOGS/npm-install.log" >&2; exit 1; }
  fi
}

for tool in dotnet node npm curl openssl jq; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install $tool)" >&2; exit 1; }
done

ensure_azurite
# The AppHost references the function app, the event pump and the runner: one build builds all four.
log "Building the stack ($APPHOST_PROJECT)"
dotnet build "$APPHOST_PROJECT" -c "$CONFIG" --nologo -v quiet >"$LOGS/build.log" 2>&1 \
  || { tail -n 40 "$LOGS/build.log" >&2; exit 1; }

for port in "$BLOB_PORT" "$QUEUE_PORT" "$FUNC_PORT" "$RUNNER_PORT" "$DASHBOARD_PORT" "$OTLP_PORT"; do
  if port_open "$port"; then
    echo "Port $port is already in use; stop what holds it or set AZURITE_*_PORT / FUNCTIONS_CUSTOMHANDLER_PORT / RUNNER_PORT / DASHBOARD_PORT / DASHBOARD_OTLP_PORT." >&2
    exit 1
  fi
done

# The AppHost starts the services (Azurite first, then the function app once storage accepts, then the pump and the
# runner once the function app is healthy) and starts a dead one again; supervise (below) starts the AppHost again
# should it die itself.
start_apphost() {
  (cd "$APPHOST_DIR" && \
    ASPNETCORE_URLS="http://127.0.0.1:$DASHBOARD_PORT" ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://127.0.0.1:$OTLP_PORT" \
    ASPIRE_ALLOW_UNSECURED_TRANSPORT=true DOTNET_ENVIRONMENT=Development \
    exec dotnet AgingPipeline.AppHost.dll --Stack:DataDirectory="$LOCAL" --Stack:Configuration="$CONFIG" \
      --Stack:BlobPort="$BLOB_PORT" --Stack:QueuePort="$QUEUE_PORT" --Stack:TablePort="$TABLE_PORT" \
      --Stack:FunctionsPort="$FUNC_PORT" --Stack:RunnerPort="$RUNNER_PORT") >>"$LOGS/apphost.log" 2>&1 &
  track apphost start_apphost $!
}
: >"$LOGS/apphost.log"
mkdir -p "$LOCAL/azurite"
log "Starting the AppHost: Azurite (blob :$BLOB_PORT, queue :$QUEUE_PORT, data in .local/azurite), the function app, the event pump, one runner"
start_apphost
wait_for "The function app" 180 http_ok "http://127.0.0.1:$FUNC_PORT/api/health"
RUNNER_URL="http://127.0.0.1:$RUNNER_PORT"
wait_for "The runner" 180 http_ok "$RUNNER_URL/alive" || true
DASHBOARD_LOGIN="$(grep -o "http://127.0.0.1:$DASHBOARD_PORT/login?t=[0-9a-f]*" "$LOGS/apphost.log" | tail -n 1)"

SAS="$(infra/local/upload-sas.sh "$ACCOUNT" "$ACCOUNT_KEY" "$SAS_LIFETIME")"
UPLOADS="http://127.0.0.1:$BLOB_PORT/$ACCOUNT/uploads"
cat <<INFO

  Web form / API   http://127.0.0.1:$FUNC_PORT/            (health: /api/health)
  Upload API       curl -F ages=20,60 -F files=@cat.png http://127.0.0.1:$FUNC_PORT/api/uploads
  Job / batch      http://127.0.0.1:$FUNC_PORT/api/jobs/{id}   http://127.0.0.1:$FUNC_PORT/api/batches/{id} (ids the API issued)
  Runner           $RUNNER_URL
  Dashboard        ${DASHBOARD_LOGIN:-http://127.0.0.1:$DASHBOARD_PORT (login link in $LOGS/apphost.log)}
                   every service's console and structured logs, metrics, and each upload's trace (pump → function → queue → runner)
  Storage          $CONNECTION
  Logs             $LOGS/ (one file per service, apphost.log for the AppHost)

  Drop an image straight into storage (no API; the event pump picks it up). The SAS below may only create and
  write blobs in uploads/ (no reading, listing, or writing to aged/ or models/) and expires in $SAS_LIFETIME:
    curl -X PUT -H 'x-ms-blob-type: BlockBlob' -H 'x-ms-meta-ages: 20,60' --data-binary @cat.png "$UPLOADS/drop/cat.png?$SAS"
  A folder of direct writes is not a batch (GET /api/batches/drop is 404); follow each job by its id (logs of the pump).

INFO

if ((DEMO)); then
  log "Demo: uploading sample images"
  mapfile -t samples < <(find tests/fixtures -maxdepth 2 -name '*.png' | sort | head -n 3)
  if ((${#samples[@]} == 0)); then
    convert -size 256x256 gradient:'#f4c7a1-#8a5a44' "$LOCAL/demo-sample.png"
    samples=("$LOCAL/demo-sample.png")
  fi
  form=(-F "ages=20,40,70")
  for file in "${samples[@]}"; do form+=(-F "files=@$file;type=image/png"); done
  accepted="$(curl -fsS "${form[@]}" "http://127.0.0.1:$FUNC_PORT/api/uploads")"
  batch="$(jq -r .batchId <<<"$accepted")"
  echo "$accepted" | jq -r '.jobs[] | "  \(.fileName) → job \(.jobId)"'
  direct="${samples[0]}"
  curl -fsS -X PUT -H 'x-ms-blob-type: BlockBlob' -H 'x-ms-meta-ages: 30,60' -H "x-ms-meta-batchid: $batch" \
    --data-binary "@$direct" "$UPLOADS/$batch/direct-write.png?$SAS"
  echo "  direct-write.png (written straight into uploads/$batch/)"
  log "Waiting for batch $batch"
  for ((i = 0; i < 600; i++)); do
    status="$(curl -fsS "http://127.0.0.1:$FUNC_PORT/api/batches/$batch")"
    printf '\r  %s' "$(jq -c .counts <<<"$status")"
    [[ "$(jq -r .done <<<"$status")" == true ]] && break
    sleep 1
  done
  echo
  out="$LOCAL/demo-output/$batch"
  mkdir -p "$out"
  for job in $(jq -r '.jobs[].jobId' <<<"$status"); do
    detail="$(curl -fsS "http://127.0.0.1:$FUNC_PORT/api/jobs/$job")"
    echo "  $(jq -r '"\(.originalName): \(.state)\(if .error then " (\(.error.code): \(.error.message))" else "" end)"' <<<"$detail")"
    while IFS=$'\t' read -r age url; do
      [[ -z "$age" ]] && continue
      file="${url%%\?*}"; file="$out/${file##*/}"
      curl -fsS -o "$file" "$url" && echo "    age $age → $file"
    done < <(jq -r '.outputs[] | [.age, .url] | @tsv' <<<"$detail")
  done
fi

log "Running. Ctrl-C stops everything; a service that dies is started again (the AppHost logs a line saying so)."
supervise
