#!/usr/bin/env bash
# AgingPipeline local stack: Azurite + function app (custom handler) + event pump + runner.
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
ACCOUNT="devstoreaccount1"
ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONNECTION="DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/$ACCOUNT;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/$ACCOUNT;"
CONFIG="${CONFIGURATION:-Debug}"
SAS_LIFETIME="2 hours"
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
RUNNER_PROJECT="gpu-runner/AgingPipeline.Runner/AgingPipeline.Runner.csproj"
PROJECTS=(functions/AgingPipeline.Functions/AgingPipeline.Functions.csproj infra/local/AgingPipeline.EventPump/AgingPipeline.EventPump.csproj)
[[ -f "$RUNNER_PROJECT" ]] && PROJECTS+=("$RUNNER_PROJECT")
for project in "${PROJECTS[@]}"; do
  log "Building $project"
  dotnet build "$project" -c "$CONFIG" --nologo -v quiet >"$LOGS/build-$(basename "$project" .csproj).log" 2>&1 \
    || { tail -n 40 "$LOGS/build-$(basename "$project" .csproj).log" >&2; exit 1; }
done

for port in "$BLOB_PORT" "$QUEUE_PORT" "$FUNC_PORT"; do
  if port_open "$port"; then echo "Port $port is already in use; stop what holds it or set AZURITE_*_PORT / FUNCTIONS_CUSTOMHANDLER_PORT." >&2; exit 1; fi
done

# Each service is started by a function, so that the supervisor below can start it again after it dies.
start_azurite() {
  "$AZURITE" --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    --blobPort "$BLOB_PORT" --queuePort "$QUEUE_PORT" --tablePort "$TABLE_PORT" \
    --location "$LOCAL/azurite" --disableTelemetry --skipApiVersionCheck --loose >>"$LOGS/azurite.log" 2>&1 &
  track azurite start_azurite $!
}
start_functions() {
  (cd "functions/AgingPipeline.Functions/bin/$CONFIG/net10.0" && \
    FUNCTIONS_CUSTOMHANDLER_PORT="$FUNC_PORT" ASPNETCORE_ENVIRONMENT=Development \
    Storage__ConnectionString="$CONNECTION" FunctionApp__EnsureStorageOnStart=true \
    exec dotnet AgingPipeline.Functions.dll) >>"$LOGS/functions.log" 2>&1 &
  track functions start_functions $!
}
start_event_pump() {
  (cd "infra/local/AgingPipeline.EventPump/bin/$CONFIG/net10.0" && \
    DOTNET_ENVIRONMENT=Development Storage__ConnectionString="$CONNECTION" \
    EventPump__FunctionAppUrl="http://127.0.0.1:$FUNC_PORT" EventPump__StateFile="$LOCAL/event-pump/state.json" \
    exec dotnet AgingPipeline.EventPump.dll) >>"$LOGS/event-pump.log" 2>&1 &
  track event-pump start_event_pump $!
}
start_runner() {
  (cd "gpu-runner/AgingPipeline.Runner/bin/$CONFIG/net10.0" && \
    ASPNETCORE_ENVIRONMENT=Development Storage__ConnectionString="$CONNECTION" MALLOC_ARENA_MAX=2 \
    exec dotnet AgingPipeline.Runner.dll --urls "http://127.0.0.1:$RUNNER_PORT") >>"$LOGS/runner.log" 2>&1 &
  track runner start_runner $!
}
for service in azurite functions event-pump runner; do : >"$LOGS/$service.log"; done

log "Starting Azurite (blob :$BLOB_PORT, queue :$QUEUE_PORT) with data in .local/azurite"
mkdir -p "$LOCAL/azurite"
start_azurite
wait_for Azurite 60 port_open "$BLOB_PORT"
wait_for Azurite 30 port_open "$QUEUE_PORT"

log "Starting the function app on http://127.0.0.1:$FUNC_PORT (creates containers and queues)"
start_functions
wait_for "The function app" 90 http_ok "http://127.0.0.1:$FUNC_PORT/api/health"

log "Starting the event pump (uploads → /OnImageUploaded)"
start_event_pump

RUNNER_URL=""
if [[ -f "$RUNNER_PROJECT" ]]; then
  log "Starting one runner on http://127.0.0.1:$RUNNER_PORT"
  start_runner
  RUNNER_URL="http://127.0.0.1:$RUNNER_PORT"
  wait_for "The runner" 120 http_ok "$RUNNER_URL/alive" || true
else
  echo "(no runner project at $RUNNER_PROJECT yet: jobs will wait in the queue)"
fi

SAS="$(infra/local/upload-sas.sh "$ACCOUNT" "$ACCOUNT_KEY" "$SAS_LIFETIME")"
UPLOADS="http://127.0.0.1:$BLOB_PORT/$ACCOUNT/uploads"
cat <<INFO

  Web form / API   http://127.0.0.1:$FUNC_PORT/            (health: /api/health)
  Upload API       curl -F ages=20,60 -F files=@cat.png http://127.0.0.1:$FUNC_PORT/api/uploads
  Job / batch      http://127.0.0.1:$FUNC_PORT/api/jobs/{id}   http://127.0.0.1:$FUNC_PORT/api/batches/{id} (ids the API issued)
  Runner           ${RUNNER_URL:-not running}
  Storage          $CONNECTION
  Logs             $LOGS/

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

log "Running. Ctrl-C stops everything; a service that dies is started again."
supervise
