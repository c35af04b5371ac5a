#!/usr/bin/env bash
# AgingPipeline tests: installs Azurite when missing, builds the solution, runs every test project.
# The integration tests start their own Azurite instances on free loopback ports and stop them.
#   ./test.sh                      build the solution, run every tests/*/*.csproj
#   ./test.sh tests/X/X.csproj …   build and run only those test projects
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
LOCAL="$ROOT/.local"
AZURITE_VERSION="3.35.0"
RESULTS="$ROOT/artifacts/test-results"
mkdir -p "$LOCAL" "$RESULTS"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Azurite's install (mostly waiting on the registry) runs while the build (all CPU) does; the tests wait for it.
npm_install=""
if [[ ! -x "$LOCAL/npm/node_modules/.bin/azurite" ]]; then
  echo "==> Installing Azurite $AZURITE_VERSION into .local/npm (alongside the build; output in .local/npm-install.log)"
  npm install --prefix "$LOCAL/npm" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >"$LOCAL/npm-install.log" 2>&1 &
  npm_install=$!
  trap 'kill "$npm_install" 2>/dev/null || true' EXIT
fi

shopt -s nullglob
if (($#)); then
  projects=("$@")
  for project in "${projects[@]}"; do
    echo "==> Building $project"
    dotnet build "$project" --nologo -v quiet
  done
else
  projects=(tests/*/*.csproj)
  echo "==> Building AgingPipeline.sln"
  dotnet build AgingPipeline.sln --nologo -v quiet
fi

# --- Browser tests (tests/AgingPipeline.BrowserTests): Debian's Chromium, installed when missing; never a
# browser downloaded by Playwright. ---
if [[ -n "$npm_install" ]]; then
  if ! wait "$npm_install"; then
    cat "$LOCAL/npm-install.log" >&2
    echo "Installing Azurite $AZURITE_VERSION with npm failed (output above); the tests need it." >&2
    exit 1
  fi
  cat "$LOCAL/npm-install.log"
fi

if [[ " ${projects[*]} " == *AgingPipeline.BrowserTests* ]]; then
  tests/AgingPipeline.BrowserTests/ensure-chromium.sh
fi
# --- end of browser tests block ---

passed=0 failed=0 skipped=0 status=0

# Adds the summary line of a test project's log to the totals:
# "Passed!  - Failed:     0, Passed:    45, Skipped:     0, Total:    45, Duration: …"
count() {
  local name="$1" log="$RESULTS/$1.log" summary
  if summary="$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1)"; then
    failed=$((failed + $(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")))
    passed=$((passed + $(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")))
    skipped=$((skipped + $(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")))
  else
    echo "No test summary for $name: it did not run." >&2
    status=1
  fi
}

dotnet_test() {
  dotnet test "$1" --no-build --nologo --logger "trx;LogFileName=$(basename "$1" .csproj).trx" --results-directory "$RESULTS"
}

# --- Model toolchain smoke test (render → 2 training steps → export → ONNX checks); never a real training.
# Uses Debian's Python with python3-torch/python3-onnx; training/setup.sh installs them when running as root. ---
toolchain_smoke() {
  if ! training/setup.sh; then
    echo "Model toolchain packages are missing (see the line above); its smoke test did not run." >&2
    return 2
  fi
  /usr/bin/python3 -m unittest discover -s training/tests -p 'test_*.py' -v
}

# A whole run: the checks that are pure computation (no services, no clocks of their own: the architecture rules,
# the unit tests, the model toolchain's smoke test) run at low priority beside the tests that drive services, which
# spend most of their time waiting (visibility timeouts, restarts, polling). Their output follows the others'.
alongside=()
alongside_job=""
if ((!$#)); then
  for project in tests/AgingPipeline.ArchitectureTests/AgingPipeline.ArchitectureTests.csproj tests/AgingPipeline.UnitTests/AgingPipeline.UnitTests.csproj; do
    [[ -f "$project" ]] && alongside+=("$project")
  done
  echo "==> Alongside the service tests, at low priority: ${alongside[*]} and the model toolchain smoke test"
  (
    renice -n 10 -p "$BASHPID" >/dev/null
    for project in "${alongside[@]}"; do
      name="$(basename "$project" .csproj)"
      rc=0
      dotnet_test "$project" >"$RESULTS/$name.log" 2>&1 || rc=$?
      echo "$rc" >"$RESULTS/$name.rc"
    done
    rc=0
    toolchain_smoke >"$RESULTS/model-toolchain.log" 2>&1 || rc=$?
    echo "$rc" >"$RESULTS/model-toolchain.rc"
  ) &
  alongside_job=$!
  trap 'kill "$alongside_job" 2>/dev/null || true' EXIT
fi

for project in "${projects[@]}"; do
  if [[ " ${alongside[*]} " == *" $project "* ]]; then
    continue
  fi
  name="$(basename "$project" .csproj)"
  echo "==> dotnet test $name"
  if ! dotnet_test "$project" 2>&1 | tee "$RESULTS/$name.log"; then
    status=1
  fi
  count "$name"
done

if [[ -n "$alongside_job" ]]; then
  wait "$alongside_job"
  for project in "${alongside[@]}"; do
    name="$(basename "$project" .csproj)"
    echo "==> dotnet test $name (ran alongside)"
    cat "$RESULTS/$name.log"
    if [[ "$(cat "$RESULTS/$name.rc")" != 0 ]]; then
      status=1
    fi
    count "$name"
  done
  echo "==> model toolchain smoke test (ran alongside)"
  cat "$RESULTS/model-toolchain.log"
  if [[ "$(cat "$RESULTS/model-toolchain.rc")" == 0 ]]; then
    passed=$((passed + $(grep -cE ' \.\.\. ok$' "$RESULTS/model-toolchain.log")))
  else
    failed=$((failed + 1))
    status=1
  fi
fi

if ((passed == 0)); then
  echo "No test ran." >&2
  status=1
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
